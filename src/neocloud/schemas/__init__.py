"""The API's wire models, shared by the server and the SDK so both speak exactly the same types."""

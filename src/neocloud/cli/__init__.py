"""The `neocloud` command line; it talks to the server only through the SDK."""

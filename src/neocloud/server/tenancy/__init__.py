"""Orgs, projects, members and API keys (creation, rotation) behind /v1/orgs, /v1/keys, /v1/me."""

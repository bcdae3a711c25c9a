"""Business operations behind the routers; each takes a session and the caller."""

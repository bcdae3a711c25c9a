"""HTTP routers: parse, authorise (via the Caller dependency), call a service, serialise."""

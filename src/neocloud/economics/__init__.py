"""Economics: what capacity costs the provider, and the margin earned on it (pure core)."""

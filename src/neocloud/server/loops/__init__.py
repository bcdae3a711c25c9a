"""Control loops: each reads durable state, acts, and writes durable state; safe to restart."""

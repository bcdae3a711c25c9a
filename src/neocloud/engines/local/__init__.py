"""The local engine: job attempts as supervised processes on this machine."""

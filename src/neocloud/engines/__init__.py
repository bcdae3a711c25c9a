"""Engines: adapters that actually run jobs (local processes, Slurm, Ray, Kubernetes)."""

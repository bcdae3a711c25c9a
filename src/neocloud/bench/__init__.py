"""Benchmarks: commands that measure speed and scale and print figures (never timed tests)."""

"""`neocloud whatif`'s orchestration: validate inputs, replay the simulator, conclude."""

"""The Slurm engine: neocloud places the work, Slurm runs it there."""

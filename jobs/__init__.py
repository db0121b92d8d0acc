"""Slurm job templates, the sweep driver (jobs/sweep.py) and cluster profiles."""

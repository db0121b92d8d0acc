"""Unit tests of the sweep driver (no Slurm needed): python3 -m unittest discover -s jobs/tests -t ."""

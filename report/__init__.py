"""Report generator of the hpc-batch toolkit: run records in, Markdown/HTML/PDF report out (see README.md)."""

#!/usr/bin/python3
"""Entry point of the sweep driver: `jobs/sweep.py submit|status|reconcile|recorded|profiles|list|
cancel|export|compare ...`. The driver is the package jobs/sweep/ (its docstring, jobs/README.md);
this file only makes it importable when run as a script and calls its command line.

The package's names are also this module's (lock_append and the rest), so a program that loads
this file by path uses the same functions as `from jobs import sweep`."""

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Run as a script, sys.path[0] is jobs/, where `sweep` would name the package on its own (a second
# copy of every module, with its own SweepError); the repository root makes it jobs.sweep.
if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.join(REPO, "jobs"):
    del sys.path[0]
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from jobs.sweep import *  # noqa: E402,F401,F403
from jobs.sweep import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())

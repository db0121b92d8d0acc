"""Sweep driver: run a grid of k-means / regression runs as Slurm jobs (or directly) and resume it.

    jobs/sweep.py submit GRID [--profile stokes|local|direct|FILE] [--dry-run] [--wait] [...]
    jobs/sweep.py status GRID [...]          what is recorded, what is missing and why
    jobs/sweep.py reconcile --sweep-dir DIR  (the report job) list missing cells, record failures
    jobs/sweep.py profiles                   the cluster profiles in jobs/profiles/
    jobs/sweep.py list [--results DIR]       the sweeps submitted, with done/queued/missing runs
    jobs/sweep.py cancel SWEEP               scancel its jobs (SWEEP: a name or the grid file)
    jobs/sweep.py export SWEEP --csv         its records, one flattened row each
    jobs/sweep.py compare SWEEP_A SWEEP_B    the same cells side by side (medians, ratio, test)

A grid (INI or JSON, see jobs/README.md) gives workloads x datasets x forms (seq, omp, mpi) x
nodes x tasks per node x threads x repetitions. Every (cell, repetition) is one run of one
executable that appends one record to the records file, tagged "<sweep>/<cell>/rep<i>".
`submit` renders one job script per resource shape from jobs/templates/run.sbatch.in (a job
array over the repetitions when more than one is missing), submits them with --parsable and
then a report job with --dependency=afterany:<ids> --kill-on-invalid-dep=yes that runs
`make report`. Re-running `submit` skips every (cell, repetition) that already has a valid
record and every one still queued, so only missing or failed runs are submitted again.

The package's modules, one concern each: common (errors, helpers), profiles, grid (cells),
recorded (the one "already recorded" rule), plan (jobs of one shape), render (job scripts),
slurm and direct (the two schedulers, one interface), state (plan.json, submissions), reconcile
(status, failure records), context, submit, cli. Standard library only; Python 3.6 or newer.
Exit status: 0 ok, 1 a job, sbatch or a check failed, 2 a usage or grid error (nothing submitted).
"""

from .common import (APPS, FORMS, exit_meaning, threaded_forms, PROG, REPO, RunError, SweepError, check_text, fmt_time,  # noqa: F401
                     int_list, json_objects, lock_append, parse_time, read_jsonl, read_records, run_cmd,
                     safe_dir_name, slug)
from .profiles import bin_sets, load_profile, profile_names, resolve_capacity  # noqa: F401
from .grid import Cell, expand, expand_noting, form_axes, load_grid_file, normalise_grid, tag_of  # noqa: F401
from .recorded import classify, load_index, record_matches, recorded_in_sweep, same_request  # noqa: F401
from .plan import Job, array_spec, plan_jobs  # noqa: F401
from .context import Ctx, build_ctx, check_inputs  # noqa: F401
from .render import cell_command, directive_or_cli, render_job, render_report  # noqa: F401
from .slurm import SlurmScheduler, job_states, queued_ids  # noqa: F401
from .direct import DirectScheduler  # noqa: F401
from .state import latest_submission_of, load_submissions, save_plan  # noqa: F401
from .reconcile import cmd_reconcile, failure_record, format_status, sweep_status  # noqa: F401
from .submit import cmd_submit  # noqa: F401
from .cli import main  # noqa: F401

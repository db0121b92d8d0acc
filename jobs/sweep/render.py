"""Rendering: the job scripts (jobs/templates/run.sbatch.in, one per resource shape, an array over
the repetitions) and the report job (report.sbatch.in), with the profile's #SBATCH lines."""

import json
import math
import os
import re
import shlex

from jobs import options as opts
from .common import MPI_FORMS, REPO, TEMPLATES, exit_meaning, threaded_forms, SweepError, fmt_time, parse_time
from .grid import tag_of
from .plan import array_spec
from .profiles import bin_sets


DIRECTIVE_PLAIN = re.compile(r"[A-Za-z0-9_./:%+=,@-]+")


def directive_or_cli(opt, value, cli):
    """An #SBATCH line when Slurm's directive parser can carry the value, else the option goes on
    the sbatch command line (argv: no quoting problems at all) and the line says so."""
    value = str(value)
    if DIRECTIVE_PLAIN.fullmatch(value):
        return "#SBATCH %s=%s" % (opt, value)
    if not re.search(r'["\\#\n\r\0]', value):
        return '#SBATCH %s="%s"' % (opt, value)
    cli.append("%s=%s" % (opt, value))
    return "# %s is given on the sbatch command line (its value has characters #SBATCH cannot carry)" % opt


def render_template(name, values):
    with open(os.path.join(TEMPLATES, name), encoding="utf-8") as fh:
        text = fh.read()
    missing = []

    def sub(m):
        k = m.group(1)
        if k not in values:
            missing.append(k)
            return m.group(0)
        return str(values[k])
    out = re.sub(r"@([A-Z_]+)@", sub, text)
    if missing:
        raise SweepError("template %s: no value for %s" % (name, ", ".join(sorted(set(missing)))))
    return out


def setup_block(profile):
    lines = []
    if profile["modules"].split():
        lines.append("module load " + " ".join(shlex.quote(m) for m in profile["modules"].split()))
    if profile["setup"].strip():
        for l in profile["setup"].strip("\n").splitlines():
            if re.match(r"\s*(\.|source)\s", l):
                lines.append("# shellcheck source=/dev/null")
            lines.append(l.rstrip())
    return "\n".join(lines) if lines else "# (none: the executables and tools are found on PATH)"


def common_directives(profile, cli, exclusive=True):
    """The profile's #SBATCH lines; exclusive=False for the 1-CPU report job, which must not be
    charged a whole node (a Stokes node is 48 cores) for its minutes of work."""
    d = []
    for key, opt in (("partition", "--partition"), ("account", "--account"),
                     ("constraint", "--constraint"), ("qos", "--qos")):
        if profile[key]:
            d.append(directive_or_cli(opt, profile[key], cli))
    if profile["exclusive"] and exclusive:
        d.append("#SBATCH --exclusive")
    for opt in profile["sbatch_options"].split():
        d.append("#SBATCH " + opt)
    return d


def exit_cases():
    """The `case` arms that name a run's exit status in the job script's log, from exit_meaning()
    (the executables' table and the shell's codes)."""
    return "\n".join("      %d) why=%s ;;" % (code, shlex.quote(meaning)) for code, meaning in sorted(exit_meaning().items()))


def checkpoint_word(cell, rep):
    """The checkpoint file of one run, as a shell word ($CKPT_DIR is set by the script)."""
    return '"$CKPT_DIR"/%s' % shlex.quote("%s-rep%d.h5" % (cell.id, rep))


def cell_command(cell, rep, sweep, profile):
    """The argv (as shell words) of one run; $BIN and $RECORDS are set by the script."""
    exe = '"$BIN"/%s_%s' % (cell.app, cell.backend)
    # Every run checkpoints, so a job stopped by Slurm's warning signal before its time
    # limit (--signal=B:USR1@T in the template) continues where it stopped once requeued.
    args = ["--data", shlex.quote(cell.dataset), "--record", '"$RECORDS"',
            "--tag", shlex.quote(tag_of(sweep, cell.id, rep)),
            "--checkpoint", checkpoint_word(cell, rep), "--resume"]
    if cell.form in threaded_forms():
        args += ["--threads", '"$OMP_NUM_THREADS"']
    for k, v in cell.params.items():
        args += [opts.find_param(cell.app, k).flag, shlex.quote(repr(v) if isinstance(v, float) else str(v))]
    if cell.form in MPI_FORMS:
        if profile["launcher"] == "srun":
            launch = ["srun", "--mpi=" + shlex.quote(profile["srun_mpi"]), "--nodes=%d" % cell.nodes,
                      "--ntasks=%d" % cell.ranks, "--ntasks-per-node=%d" % cell.tasks_per_node,
                      "--cpus-per-task=%d" % cell.run_threads]
        else:
            launch = [shlex.quote(profile["mpiexec"]), "-n", str(cell.ranks)]
            if cell.form == "hybrid":
                launch += profile["mpiexec_bind"].replace("{threads}", str(cell.threads)).split()
        return launch + [exe] + args
    return [exe] + args


def job_time(ctx, njob_cells):
    if ctx.grid["time"]:
        secs = ctx.grid["time"]
    else:
        per = ctx.grid["time_per_run"] or parse_time(ctx.profile["time_per_run"])
        secs = max(parse_time(ctx.profile["min_time"]), per * njob_cells + 60)
        secs = int(math.ceil(secs / 60.0)) * 60
    if ctx.profile["max_time"] and secs > parse_time(ctx.profile["max_time"]):
        raise SweepError("a job needs --time=%s, more than the profile's max_time %s; split the grid or lower "
                         "time_per_run" % (fmt_time(secs), ctx.profile["max_time"]))
    return secs


def render_job(ctx, job):
    n, t, c = job.shape
    shape_txt = "n%d-t%d-c%d" % (n, t, c)
    job.name = "%s-%s" % (ctx.slug, shape_txt)
    job.cli = []
    out = os.path.join(ctx.logs_dir, "%x-%A_%a.out" if job.is_array else "%x-%j.out")
    directives = [directive_or_cli("--output", out, job.cli)]
    if job.is_array:
        directives.append("#SBATCH --array=%s" % array_spec(job.reps))
    directives.append(directive_or_cli("--chdir", REPO, job.cli))
    directives += common_directives(ctx.profile, job.cli)
    job.time = job_time(ctx, max(len(v) for v in job.reps_cells.values()))
    cases = []
    for r in job.reps:
        cases.append("  %d)" % r)
        for cell in job.reps_cells[r]:
            cases.append("    run_cell %s %d %s %s" % (shlex.quote(cell.id), r, checkpoint_word(cell, r),
                                                      " ".join(cell_command(cell, r, ctx.sweep, ctx.profile))))
        cases.append("    ;;")
    ncells = sum(len(v) for v in job.reps_cells.values())
    values = {
        "HEADER": "sweep %s, shape %s: %d run(s), profile %s" % (json.dumps(ctx.sweep), shape_txt, ncells,
                                                                   ctx.profile["name"]),
        "JOB_NAME": job.name, "NODES": n, "TASKS_PER_NODE": t, "CPUS_PER_TASK": c,
        "TIME": fmt_time(job.time), "DIRECTIVES": "\n".join(directives),
        # The warning signal comes a tenth of the time limit before it (30 s to 5 min): time
        # for the running cell to finish its iteration and write its checkpoint.
        "SIGNAL_SECS": min(300, max(30, job.time // 10)),
        "ARRAY_NOTE": ("Array elements = repetitions %s; each runs the cells missing for its repetition."
                       % array_spec(job.reps)) if job.is_array else "Repetition %d." % job.reps[0],
        "REPO": shlex.quote(REPO), "BIN": shlex.quote(ctx.bin_dir), "RECORDS": shlex.quote(ctx.records),
        "BIN_SETS": " ".join(shlex.quote(d) for d in bin_sets(ctx.profile)),
        "JOBS_DIR": shlex.quote(ctx.jobs_dir), "SWEEP_DIR": shlex.quote(ctx.sweep_dir),
        "PYTHON": shlex.quote(ctx.profile["python"]), "SWEEP_JSON": shlex.quote(json.dumps(ctx.sweep)),
        "SHAPE": shape_txt, "PROFILE": ctx.profile["name"], "SETUP": setup_block(ctx.profile),
        "DEFAULT_REP": job.reps[0], "EXIT_CASES": exit_cases(), "CASES": "\n".join(cases),
    }
    job.script = render_template("run.sbatch.in", values)
    return job


MAKE_SAFE = re.compile(r"[A-Za-z0-9_./+,@-]+")


def render_report(ctx, dep_ids):
    cli = []
    directives = [directive_or_cli("--output", os.path.join(ctx.logs_dir, "%x-%j.out"), cli),
                  directive_or_cli("--chdir", REPO, cli)]
    directives += common_directives(ctx.profile, cli, exclusive=False)
    rec, out = ctx.records, ctx.report_out
    make = ctx.profile["make"]
    if MAKE_SAFE.fullmatch(rec) and MAKE_SAFE.fullmatch(out):
        words = [make, "report", "RECORDS=" + rec, "REPORT_OUT=" + out]
        cmd = " ".join(shlex.quote(w) for w in words)
    else:
        # make cannot pass a path with spaces or make metacharacters in a variable: run what
        # `make report` runs, the report script with the interpreter tools/find-python.sh picks.
        words = ["report/make_report.py", "--out", out, rec]
        cmd = ('REPORT_PY=$(tools/find-python.sh /usr/bin/python3 python3)\n'
               '"${REPORT_PY:-python3}" report/make_report.py --out %s %s  # what `make report` runs'
               % (shlex.quote(out), shlex.quote(rec)))
    values = {
        "HEADER": "sweep %s: report job, profile %s" % (json.dumps(ctx.sweep), ctx.profile["name"]),
        "JOB_NAME": ctx.slug + "-report", "TIME": ctx.profile["report_time"] and fmt_time(parse_time(ctx.profile["report_time"])),
        "DIRECTIVES": "\n".join(directives),
        "DEPENDENCY": "afterany:" + ":".join(dep_ids) if dep_ids else "no dependency",
        "REPO": shlex.quote(REPO), "PYTHON": shlex.quote(ctx.profile["python"]),
        "SWEEP_DIR": shlex.quote(ctx.sweep_dir), "PROFILE": ctx.profile["name"],
        "SETUP": setup_block(ctx.profile), "REPORT_CMD": cmd,
        "REPORT_CMD_ECHO": " ".join(shlex.quote(w) for w in words),
    }
    return render_template("report.sbatch.in", values), cli

"""The sweep driver's commands for looking at sweeps after submitting them: list, cancel, export,
compare, and the progress lines of `submit --wait`. jobs/sweep.py parses the command line and
calls these; the sweep's state is what `submit` left in <results>/sweeps/<name>/ (plan.json,
submissions.jsonl). Standard library only (compare also uses report/stats.py, also stdlib)."""

import csv
import json
import os
import shutil
import sys
import time

from jobs import sweep as sw

# The first CSV columns, in this order; every other flattened key follows, sorted (jobs/README.md).
LEAD_COLUMNS = ["tag", "sweep", "cell", "rep", "status", "app", "backend", "ranks", "threads", "workers", "nodes",
                "dataset.path", "time_s.total"]


def sweep_dir_of(arg, results):
    """A sweep named on the command line: its name, or the grid file that names it."""
    name = arg
    if os.path.isfile(arg):
        name = sw.normalise_grid(sw.load_grid_file(arg), "grid %s" % arg)["name"]
    d = os.path.join(results, "sweeps", sw.safe_dir_name(name))
    if not os.path.isfile(os.path.join(d, "plan.json")):
        raise sw.SweepError("no sweep %s under %s (submitted sweeps: `jobs/sweep.py list --results %s`)"
                            % (json.dumps(name), os.path.join(results, "sweeps"), results))
    return d


def load_plan(sweep_dir):
    try:
        with open(os.path.join(sweep_dir, "plan.json"), encoding="utf-8") as fh:
            plan = json.load(fh)
    except (OSError, ValueError) as e:
        raise sw.SweepError("%s: no readable plan.json (%s)" % (sweep_dir, e))
    plan["cell_objs"] = [sw.Cell.from_json(c) for c in plan["cells"]]
    return plan


def counts(plan, sweep_dir, alive=None):
    """(expected, done, queued, missing) runs of a sweep; queued = missing but in a job squeue lists."""
    records = sw.read_records(plan["records"])
    done, missing = sw.classify(plan["cell_objs"], plan["repetitions"], plan["sweep"], records,
                                sw.load_index(plan["jobs_dir"]))
    latest = sw.latest_submission_of(sw.load_submissions(sweep_dir))
    if alive is None:
        ids = sorted({str(s["job_id"]) for s in latest.values() if s.get("scheduler") != "direct"})
        alive = sw.queued_ids(ids)
    queued = {p for p in missing if p in latest and str(latest[p]["job_id"]) in alive}
    return len(done) + len(missing), len(done), len(queued), len(missing) - len(queued)


def cmd_list(args):
    base = os.path.join(args.results, "sweeps")
    names = sorted(n for n in os.listdir(base) if os.path.isfile(os.path.join(base, n, "plan.json"))) \
        if os.path.isdir(base) else []
    if not names:
        print("%s: no sweeps under %s" % (sw.PROG, base))
        return 0
    print("%-24s %-8s %5s %5s %6s %7s  %s" % ("sweep", "profile", "runs", "done", "queued", "missing", "planned (UTC)"))
    for n in names:
        d = os.path.join(base, n)
        plan = load_plan(d)
        total, done, queued, missing = counts(plan, d)
        print("%-24s %-8s %5d %5d %6d %7d  %s" % (plan["sweep"], plan.get("profile", "?"), total, done, queued,
                                                 missing, plan.get("utc", "?")))
    return 0


def cmd_cancel(args):
    d = sweep_dir_of(args.sweep, args.results)
    ids = sorted({str(s["job_id"]) for s in sw.load_submissions(d)
                  if s.get("scheduler") != "direct" and s.get("job_id")}, key=lambda i: (len(i), i))
    if not ids:
        print("%s: sweep %s submitted no Slurm jobs" % (sw.PROG, os.path.basename(d)))
        return 0
    if not shutil.which("scancel"):
        raise sw.RunError("scancel is not on PATH (is this a Slurm login node?)")
    alive = sorted(sw.queued_ids(ids), key=lambda i: (len(i), i)) if shutil.which("squeue") else ids
    if not alive:
        print("%s: none of the sweep's jobs (%s) is queued or running" % (sw.PROG, ", ".join(ids)))
        return 0
    rc, _, err = sw.run_cmd(["scancel"] + alive)
    if rc != 0:
        raise sw.RunError("scancel %s: %s" % (" ".join(alive), err.strip() or "exit %d" % rc))
    print("%s: cancelled job(s) %s of sweep %s; records already written are kept, and `submit` again "
          "resubmits what is missing" % (sw.PROG, ", ".join(alive), os.path.basename(d)))
    return 0


def flatten(obj, prefix=""):
    """{'a': {'b': 1}, 'l': [1, 2]} -> {'a.b': 1, 'l': '[1, 2]'}: nested objects become dotted
    columns, lists stay JSON text in one column."""
    out = {}
    for k, v in obj.items():
        key = prefix + k
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        elif isinstance(v, list):
            out[key] = json.dumps(v)
        else:
            out[key] = v
    return out


def sweep_records(plan):
    """The sweep's records (by their tag, "<sweep>/<cell>/rep<i>"), flattened, with sweep/cell/rep."""
    prefix = plan["sweep"] + "/"
    rows = []
    for r in sw.read_records(plan["records"]):
        tag = r.get("tag")
        if not isinstance(tag, str) or not tag.startswith(prefix):
            continue
        cell, _, rep = tag[len(prefix):].rpartition("/")
        row = flatten(r)
        row.update(sweep=plan["sweep"], cell=cell, rep=rep[3:] if rep.startswith("rep") else rep)
        rows.append(row)
    return rows


def cmd_export(args):
    plan = load_plan(sweep_dir_of(args.sweep, args.results))
    rows = sweep_records(plan)
    keys = set().union(*rows) if rows else set()
    columns = [c for c in LEAD_COLUMNS if c in keys or c in ("tag", "sweep", "cell", "rep", "status")]
    columns += sorted(keys - set(columns))
    fh = open(args.out, "w", newline="", encoding="utf-8") if args.out else sys.stdout
    try:
        w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for row in rows:
            w.writerow({k: ("" if v is None else json.dumps(v) if isinstance(v, bool) else v) for k, v in row.items()})
    finally:
        if args.out:
            fh.close()
    if args.out:
        print("%s: %d record(s) of sweep %s -> %s" % (sw.PROG, len(rows), plan["sweep"], args.out))
    return 0


def verdict_text(v):
    """The report's three verdicts (report/stats.py compare), with p and the test used."""
    word = {"faster": "faster", "slower": "slower", "same": "no detectable difference"}[v["verdict"]]
    if v["ci"] is None:   # samples so small that no outcome reaches the test's level
        return "%s (too few repetitions for the test to reach p < %g)" % (word, v["alpha"])
    return "%s (p = %.3g, %s)" % (word, v["p"], v["method"])


def cmd_compare(args):
    sys.path.insert(0, sw.REPO)
    from report import stats   # stdlib only; the report's own comparison
    plans = [load_plan(sweep_dir_of(s, args.results)) for s in (args.sweep_a, args.sweep_b)]
    times = []
    for plan in plans:
        by_cell = {}
        for row in sweep_records(plan):
            t = row.get("time_s.total")
            if row.get("status") == "ok" and isinstance(t, (int, float)):
                by_cell.setdefault(row["cell"], []).append(float(t))
        times.append(by_cell)
    common = sorted(set(times[0]) & set(times[1]))
    a_name, b_name = plans[0]["sweep"], plans[1]["sweep"]
    if not common:
        print("%s: sweeps %s and %s have no cell with ok records in common" % (sw.PROG, a_name, b_name))
        return 1
    print("cell times (time_s.total, median of the ok runs): A = %s, B = %s; ratio = median B / median A; "
          "verdict: is B faster than A (the report's test: two-sided Mann-Whitney U, report/README.md)"
          % (a_name, b_name))
    print("%-44s %3s %10s %3s %10s %7s  %s" % ("cell", "nA", "median A", "nB", "median B", "B/A", "verdict"))
    for cell in common:
        a, b = times[0][cell], times[1][cell]
        ma, mb = stats.median(a), stats.median(b)
        detail = verdict_text(stats.compare(a, b))
        print("%-44s %3d %10.4g %3d %10.4g %7.3f  %s" % (cell, len(a), ma, len(b), mb, mb / ma if ma else float("nan"),
                                                        detail))
    only = sorted(set(times[0]) ^ set(times[1]))
    if only:
        print("%d cell(s) in only one of the sweeps: %s" % (len(only), ", ".join(only)))
    return 0


class Progress(object):
    """What `submit --wait` prints while it waits: a line when the counts change, polling with
    backoff (2 s doubling to 30 s) instead of asking squeue every second."""
    FIRST_S, MAX_S = 2.0, 30.0

    def __init__(self, plan_dir, out=None):
        self.dir, self.out = plan_dir, out or sys.stdout
        self.start = time.time()
        self.last = None
        self.delay = self.FIRST_S

    def line(self, alive):
        plan = load_plan(self.dir)
        total, done, queued, missing = counts(plan, self.dir, alive)
        failed = sum(1 for r in sw.read_records(plan["records"])
                     if isinstance(r.get("tag"), str) and r["tag"].startswith(plan["sweep"] + "/")
                     and r.get("status") != "ok")
        state = (done, queued, failed)
        if state == self.last:
            return None
        first_done = self.last[0] if self.last else done
        self.last = state
        elapsed = time.time() - self.start
        eta = ""
        if done > first_done and queued:
            rate = (done - first_done) / elapsed
            eta = ", about %s left" % sw.fmt_time(int(queued / rate) + 1)
        return "%s: %d/%d runs recorded, %d queued, %d failed record(s), %s elapsed%s" % (
            sw.PROG, done, total, queued, failed, sw.fmt_time(int(elapsed)), eta)

    def wait(self, ids, deadline, sleep=time.sleep):
        """Polls until no id is queued; raises RunError past the deadline."""
        while True:
            alive = sw.queued_ids(ids)
            text = self.line(alive)
            if text:
                print(text, file=self.out, flush=True)
                self.delay = self.FIRST_S
            if not alive:
                return
            if time.time() > deadline:
                raise sw.RunError("jobs %s still queued past --wait-timeout" % ", ".join(sorted(alive)))
            sleep(min(self.delay, max(0.0, deadline - time.time()) + 0.1))
            self.delay = min(self.delay * 2, self.MAX_S)

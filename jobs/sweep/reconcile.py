"""Status and reconcile (the report job): which runs are recorded, why the others are missing,
and failure records for those that finished without one."""

import json
import os
import time

from jobs import records_file
from .common import SweepError, lock_append, read_records
from .grid import Cell, tag_of
from .recorded import classify, load_index, same_value
from .slurm import job_states
from .state import element_id, explain, latest_submission_of, load_submissions


def sweep_status(sweep, reps, cells, records_path, jobs_dir, sweep_dir):
    records = read_records(records_path)
    index = load_index(jobs_dir)
    done, missing = classify(cells, reps, sweep, records, index)
    subs = load_submissions(sweep_dir)
    latest = latest_submission_of(subs)
    need = set()
    for pair in missing:
        s = latest.get(pair)
        if s and s.get("scheduler") != "direct":
            need.add(element_id(s, pair[1]))
            need.add(str(s["job_id"]))
    states = job_states(sorted(need)) if need else {}
    rows = []
    for cid, rep in sorted(missing):
        fin, status, msg = explain(cid, rep, latest.get((cid, rep)), states, jobs_dir, index)
        rows.append({"cell": cid, "rep": rep, "finished": fin, "status": status, "message": msg,
                     "job": (lambda s: element_id(s, rep) if s and s.get("scheduler") != "direct" else None)(
                         latest.get((cid, rep)))})
    return done, rows, records, index


def failure_record(cell, rep, sweep, status, message, job, records, index):
    """A run/1 record with status failed/timeout, so the report lists the missing cell. Its params
    and dataset are copied from an ok record of the same workload when there is one (so it joins
    that group in the report)."""
    params, dataset = dict(cell.params), {"path": cell.dataset}
    for r in records:
        if (r.get("status") == "ok" and r.get("app") == cell.app and (r.get("dataset") or {}).get("path") == cell.dataset
                and all(same_value((r.get("params") or {}).get(k), v) for k, v in cell.params.items())):
            params, dataset = dict(r.get("params") or {}), dict(r.get("dataset") or {})
            break
    threads = cell.run_threads
    jid, task = (job.split("_", 1) + [None])[:2] if job else (None, None)
    slurm_id = None
    if jid:
        for e in index.values():
            if str(e.get("array_job_id")) == jid and str(e.get("array_task_id")) == str(task):
                slurm_id = str(e.get("slurm_job_id"))
        if task is None:
            slurm_id = jid
    return {"schema": "run/1", "app": cell.app, "backend": cell.backend, "ranks": cell.ranks, "threads": threads,
            "workers": cell.ranks * threads, "nodes": cell.nodes, "hosts": [], "dataset": dataset, "params": params,
            "status": status, "tag": tag_of(sweep, cell.id, rep), "error": message, "result": {}, "time_s": {},
            "prov": {"slurm_job_id": slurm_id, "slurm_array_task_id": task, "sweep_job": job,
                     "source": "jobs/sweep.py reconcile",
                     "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}}


def cell_type(cell_id):
    """The cell's kind without its shape: kmeans.mnist10k.omp.n1-t2-c2 -> kmeans.mnist10k.omp."""
    return cell_id.rsplit(".", 1)[0]


def format_status(sweep, reps, cells, done, rows, grouped=False):
    """The status lines: a total, then every missing run with why (grouped: one line per cell type
    instead, with its counts and the first missing run's reason; `status -v` gives every run)."""
    total = len(cells) * reps
    lines = ["sweep %s: %d run(s) expected (%d cell(s) x %d repetition(s)): %d recorded, %d missing"
             % (json.dumps(sweep), total, len(cells), reps, len(done), len(rows))]
    if not grouped:
        for r in rows:
            lines.append("  MISSING %s rep%d: %s" % (r["cell"], r["rep"], r["message"]))
        return lines
    kinds = {}
    for c in cells:
        kinds.setdefault(cell_type(c.id), {"expected": 0, "missing": []})["expected"] += reps
    for r in rows:
        kinds[cell_type(r["cell"])]["missing"].append(r)
    width = max(len(k) for k in kinds) if kinds else 0
    for kind, k in sorted(kinds.items()):
        miss = k["missing"]
        line = "  %-*s %d/%d recorded" % (width, kind, k["expected"] - len(miss), k["expected"])
        if miss:
            line += ", %d missing: %s rep%d: %s%s" % (len(miss), miss[0]["cell"], miss[0]["rep"], miss[0]["message"],
                                                     " (and %d more)" % (len(miss) - 1) if len(miss) > 1 else "")
        lines.append(line)
    if rows:
        lines.append("  (every missing run and why: status -v)")
    return lines


def cmd_reconcile(args):
    sweep_dir = args.sweep_dir
    try:
        with open(os.path.join(sweep_dir, "plan.json"), encoding="utf-8") as fh:
            plan = json.load(fh)
    except (OSError, ValueError) as e:
        raise SweepError("%s: no readable plan.json (%s); was this sweep submitted?" % (sweep_dir, e))
    cells = [Cell.from_json(c) for c in plan["cells"]]
    merged = 0 if args.no_write else records_file.merge_spool(plan["records"])
    done, rows, records, index = sweep_status(plan["sweep"], plan["repetitions"], cells, plan["records"],
                                              plan["jobs_dir"], sweep_dir)
    lines = format_status(plan["sweep"], plan["repetitions"], cells, done, rows)
    if merged:
        lines.append("merged %d record(s) from %s into %s" % (merged, records_file.spool_dir(plan["records"]),
                                                            plan["records"]))
    by_id = {c.id: c for c in cells}
    have = {(r.get("tag"), (r.get("prov") or {}).get("sweep_job")) for r in records if r.get("status") != "ok"}
    new = []
    for r in rows:
        if not r["finished"]:
            continue
        key = (tag_of(plan["sweep"], r["cell"], r["rep"]), r["job"])
        if key in have:
            continue
        new.append(json.dumps(failure_record(by_id[r["cell"]], r["rep"], plan["sweep"], r["status"], r["message"],
                                             r["job"], records, index), sort_keys=True))
    if new and not args.no_write:
        lock_append(plan["records"], new)
        lines.append("appended %d failure record(s) to %s (earlier records untouched); re-run the same sweep "
                     "command to resubmit the missing cells" % (len(new), plan["records"]))
    elif not rows:
        lines.append("every run of the sweep has a valid record")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        with open(os.path.join(sweep_dir, "status.txt"), "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    return 0

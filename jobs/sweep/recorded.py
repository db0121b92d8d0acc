"""The one "already recorded" rule: does the records file hold a valid record of this cell and
repetition? Used by submit/status (classify) and by the job scripts before and after each run
(`jobs/sweep.py recorded`, see recorded_main)."""

import json
import os

from jobs import options as opts
from .common import read_jsonl, read_records
from .grid import Cell, tag_of


def same_value(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b))
    return str(a) == str(b)


def load_index(jobs_dir):
    """slurm_job_id -> index entry written by each job (nodes, node list, provenance dir)."""
    return {str(e.get("slurm_job_id")): e for e in read_jsonl(os.path.join(jobs_dir, "index.jsonl"))}


def record_matches(rec, cell, tag, index):
    """A valid record of this cell and repetition: status ok, the tag, and the configuration."""
    if rec.get("status") != "ok" or rec.get("tag") != tag:
        return False
    if rec.get("app") != cell.app or rec.get("backend") != cell.backend:
        return False
    if rec.get("ranks") != cell.ranks or rec.get("threads") != cell.run_threads:
        return False
    nodes = rec.get("nodes")
    if nodes != cell.nodes:
        # Fake nodes of one machine share a host name, so the record counts one node; the job's
        # own index entry has Slurm's node count.
        job = str((rec.get("prov") or {}).get("slurm_job_id"))
        try:
            nodes = int(index.get(job, {}).get("nodes"))
        except (TypeError, ValueError):
            nodes = None
        if nodes != cell.nodes:
            return False
    ds = rec.get("dataset") or {}
    if ds.get("path") != cell.dataset:
        return False
    rp = rec.get("params") or {}
    for k, v in cell.params.items():
        o = opts.find_param(cell.app, k)
        if o is not None and not o.recorded:
            continue
        if not same_request(k, v, rp):
            return False
    return True


def same_request(key, asked, rp):
    """Was a run recorded with params rp asked for key = asked? Records keep the request
    verbatim (`"lr": "auto"`; the rate used is result.lr_used), so an auto run is found again
    instead of being resubmitted for ever, and a run at a fixed rate never passes for an auto
    one. Records written before that (up to 2026-12) kept the derived rate in `lr` beside
    `lr_auto: true`; they are matched the same way."""
    if key not in rp:
        return False
    if isinstance(asked, str) and str(rp[key]) == asked:
        return True
    if asked == "auto":
        return rp.get(key + "_auto") is True
    if rp.get(key + "_auto") is True:
        return False
    return same_value(rp[key], asked)


def classify(cells, reps, sweep, records, index):
    """-> (done, missing): sets of (cell id, rep)."""
    by_tag = {}
    for r in records:
        by_tag.setdefault(r.get("tag"), []).append(r)
    done, missing = set(), set()
    for c in cells:
        for i in range(reps):
            t = tag_of(sweep, c.id, i)
            if any(record_matches(r, c, t, index) for r in by_tag.get(t, ())):
                done.add((c.id, i))
            else:
                missing.add((c.id, i))
    return done, missing


def recorded_in_sweep(sweep_dir, cell_id, rep):
    """Does the records file of the sweep submitted into sweep_dir hold a valid record of
    (cell_id, rep)? The job scripts ask this (`jobs/sweep.py recorded`) before a run, to skip
    what a requeued job already ran, and after it, to tell a finished run from an interrupted
    one; the cell's configuration comes from the sweep's plan.json."""
    with open(os.path.join(sweep_dir, "plan.json"), encoding="utf-8") as fh:
        plan = json.load(fh)
    cells = [Cell.from_json(c) for c in plan["cells"] if c["id"] == cell_id]
    if not cells:
        return False
    tag = tag_of(plan["sweep"], cell_id, rep)
    index = load_index(plan["jobs_dir"])
    return any(record_matches(r, cells[0], tag, index) for r in read_records(plan["records"]))

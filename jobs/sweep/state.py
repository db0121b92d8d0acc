"""The sweep's state files under <results>/sweeps/<name>/ (plan.json, submissions.jsonl) and the
jobs' traces (index.jsonl, cells.log), and why a run without a record is missing."""

import json
import os
import time

from .common import exit_meaning, read_jsonl
from .slurm import ACTIVE


def load_submissions(sweep_dir):
    return read_jsonl(os.path.join(sweep_dir, "submissions.jsonl"))


def save_plan(ctx, cells):
    os.makedirs(ctx.sweep_dir, exist_ok=True)
    plan = {"sweep": ctx.sweep, "repetitions": ctx.grid["repetitions"], "records": ctx.records,
            "jobs_dir": ctx.jobs_dir, "report_out": ctx.report_out, "profile": ctx.profile["name"],
            "scheduler": ctx.profile["scheduler"], "cells": [c.to_json() for c in cells],
            "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    tmp = os.path.join(ctx.sweep_dir, "plan.json.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(plan, fh, indent=1)
        fh.write("\n")
    os.replace(tmp, os.path.join(ctx.sweep_dir, "plan.json"))


def latest_submission_of(subs):
    """(cell id, rep) -> the latest run submission that included it."""
    latest = {}
    for s in subs:
        if s.get("kind") != "run":
            continue
        for cid, rep in s.get("pairs", []):
            latest[(cid, rep)] = s
    return latest


def element_id(sub, rep):
    return "%s_%d" % (sub["job_id"], rep) if sub.get("array") else str(sub["job_id"])


def cells_log_of(jobs_dir, index, sub, rep):
    """The provenance dir of the job (element) that ran this repetition, and its cells.log events."""
    if sub.get("scheduler") == "direct":
        jid = (sub.get("direct_jobs") or {}).get(str(rep))
    elif sub.get("array"):
        jid = None
        for e in index.values():
            if str(e.get("array_job_id")) == str(sub["job_id"]) and str(e.get("array_task_id")) == str(rep):
                jid = e.get("dir")
    else:
        jid = str(sub["job_id"])
    if not jid:
        return None, []
    path = os.path.join(jobs_dir, jid, "cells.log")
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return os.path.join(jobs_dir, jid), [l.split() for l in fh if l.strip()]
    except OSError:
        return (os.path.join(jobs_dir, jid) if os.path.isdir(os.path.join(jobs_dir, jid)) else None), []


def explain(cid, rep, sub, states, jobs_dir, index):
    """-> (finished, status, message) for a (cell, rep) without a valid record."""
    if sub is None:
        return False, None, "not submitted yet"
    if sub.get("scheduler") == "direct":
        eid = (sub.get("direct_jobs") or {}).get(str(rep), "direct run")
    else:
        eid = element_id(sub, rep)
    st = states.get(eid) or states.get(str(sub.get("job_id"))) or {}
    state = (st.get("state") or "").split()[0] if st else ""
    if sub.get("scheduler") == "direct":
        state = (sub.get("direct_states") or {}).get(str(rep), "")
    if state in ACTIVE:
        return False, None, "job %s is %s" % (eid, state.lower())
    pdir, events = cells_log_of(jobs_dir, index, sub, rep)
    me = "%s rep%d" % (cid, rep)
    started = ended = killed = None
    for ev in events:
        if len(ev) >= 3 and ev[1] == cid and ev[2] == "rep%d" % rep:
            if ev[0] == "start":
                started = ev
            elif ev[0] == "end":
                ended = ev
            elif ev[0] == "killed":
                killed = ev
    where = " (provenance: %s)" % pdir if pdir else ""
    timeout = state == "TIMEOUT"
    if not state and not events:
        return True, "failed", ("job %s: no trace (not in the queue, no provenance dir); it may have failed before "
                                "starting, or Slurm forgot it" % eid)
    if ended and len(ended) >= 4 and ended[3] != "0":
        rc = int(ended[3]) if ended[3].isdigit() else -1
        return True, "failed", "job %s: %s exited with status %s (%s)%s" % (
            eid, me, ended[3], exit_meaning().get(rc, "failed"), where)
    if ended:
        return True, "failed", "job %s: %s exited 0 but no valid record was found in the records file%s" % (eid, me, where)
    if started or killed:
        if timeout:
            return True, "timeout", ("job %s was killed at its time limit (TIMEOUT) while running %s; raise time or "
                                     "time_per_run%s" % (eid, me, where))
        return True, "failed", "job %s ended (%s) while running %s%s" % (eid, state or "killed", me, where)
    if timeout:
        return True, "timeout", ("job %s was killed at its time limit (TIMEOUT) before reaching %s; raise time or "
                                 "time_per_run%s" % (eid, me, where))
    if state:
        return True, "failed", "job %s ended %s without running %s%s%s" % (
            eid, state, me, (" (exit %s)" % st.get("exit")) if st.get("exit") else "", where)
    return True, "failed", "job %s ended without running %s%s" % (eid, me, where)

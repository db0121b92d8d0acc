"""Cluster profiles: jobs/profiles/NAME.conf ([profile] section), checked, and the node shape
they offer (cores per node, node count)."""

import configparser
import os
import re

from .common import PROFILES_DIR, REPO, SweepError, check_text, parse_time, run_cmd


PROFILE_DEFAULTS = {
    "description": "", "scheduler": "slurm", "partition": "", "account": "", "constraint": "",
    "qos": "", "cores_per_node": "auto", "max_nodes": "auto", "launcher": "srun", "srun_mpi": "pmi2",
    "mpiexec": "mpiexec.hydra", "mpiexec_bind": "-bind-to core:{threads}", "time_per_run": "00:05:00", "min_time": "00:02:00", "max_time": "",
    "report_time": "00:15:00", "exclusive": "no", "modules": "", "setup": "", "sbatch_options": "",
    "python": "/usr/bin/python3", "make": "make", "bin_dir": "build/release/bin", "bin_sets": "",
}
PROFILE_OVERRIDABLE = set(PROFILE_DEFAULTS) - {"setup"}


def profile_names():
    try:
        return sorted(f[:-5] for f in os.listdir(PROFILES_DIR) if f.endswith(".conf"))
    except OSError:
        return []


def load_profile(name_or_path, overrides=None):
    """A cluster profile: jobs/profiles/NAME.conf or a path to such a file ([profile] section)."""
    if os.sep in name_or_path or name_or_path.endswith(".conf"):
        path = name_or_path
    else:
        path = os.path.join(PROFILES_DIR, name_or_path + ".conf")
    if not os.path.isfile(path):
        raise SweepError("unknown cluster profile %r (no file %s); available: %s"
                         % (name_or_path, path, ", ".join(profile_names()) or "none"))
    cp = configparser.ConfigParser(interpolation=None)
    try:
        cp.read(path, encoding="utf-8")
    except configparser.Error as e:
        raise SweepError("profile %s: %s" % (path, e))
    if not cp.has_section("profile"):
        raise SweepError("profile %s has no [profile] section" % path)
    p = dict(PROFILE_DEFAULTS)
    for k, v in cp.items("profile"):
        if k not in PROFILE_DEFAULTS:
            raise SweepError("profile %s: unknown key %r (known: %s)" % (path, k, ", ".join(sorted(PROFILE_DEFAULTS))))
        p[k] = v.strip() if k != "setup" else v
    for k, v in (overrides or {}).items():
        if k not in PROFILE_OVERRIDABLE:
            raise SweepError("cannot set profile key %r (settable: %s)" % (k, ", ".join(sorted(PROFILE_OVERRIDABLE))))
        p[k] = check_text("profile " + k, v).strip()
    p["name"] = os.path.basename(path)[:-5] if path.endswith(".conf") else path
    p["path"] = path
    if p["scheduler"] not in ("slurm", "direct"):
        raise SweepError("profile %s: scheduler must be slurm or direct, not %r" % (path, p["scheduler"]))
    if p["launcher"] not in ("srun", "mpiexec"):
        raise SweepError("profile %s: launcher must be srun or mpiexec, not %r" % (path, p["launcher"]))
    if p["scheduler"] == "direct" and p["launcher"] == "srun":
        raise SweepError("profile %s: the direct scheduler (no Slurm) needs launcher = mpiexec" % path)
    for k in ("partition", "account", "constraint", "qos", "srun_mpi"):
        if p[k] and not re.fullmatch(r"[A-Za-z0-9_.,:&|!*\[\]()+=@-]+", p[k]):
            raise SweepError("profile %s: %s=%r has characters Slurm does not use there" % (path, k, p[k]))
    # Options after `mpiexec -n P` for hybrid cells ({threads}: threads per rank): each rank gets
    # its own cores, or OMP_PROC_BIND=close puts every rank's threads on the same first cores.
    if not re.fullmatch(r"(?:[A-Za-z0-9_.,:= -]|\{threads\})*", p["mpiexec_bind"]):
        raise SweepError("profile %s: mpiexec_bind=%r: only options and {threads} are allowed" % (path, p["mpiexec_bind"]))
    for k in ("mpiexec", "python", "make"):
        check_text("profile " + k, p[k])
        if not p[k]:
            raise SweepError("profile %s: %s must not be empty" % (path, k))
    for k in ("time_per_run", "min_time", "report_time"):
        parse_time(p[k], "profile %s" % k)
    if p["max_time"]:
        parse_time(p["max_time"], "profile max_time")
    if p["exclusive"].lower() not in ("yes", "no", "true", "false", "1", "0"):
        raise SweepError("profile %s: exclusive must be yes or no" % path)
    p["exclusive"] = p["exclusive"].lower() in ("yes", "true", "1")
    for m in p["modules"].split():
        if not re.fullmatch(r"[A-Za-z0-9_.+/@-]+", m):
            raise SweepError("profile %s: module name %r has unexpected characters" % (path, m))
    for opt in p["sbatch_options"].split():
        if not re.fullmatch(r"--[a-z][a-z-]*(=[A-Za-z0-9_.,:/@%+=-]*)?", opt):
            raise SweepError("profile %s: sbatch_options entry %r is not of the form --name[=value]" % (path, opt))
    return p


def resolve_capacity(profile):
    """cores_per_node and max_nodes as integers (max_nodes None = not checked here)."""
    cores, maxn = profile["cores_per_node"], profile["max_nodes"]
    info = None
    if profile["scheduler"] == "slurm" and "auto" in (cores, maxn):
        argv = ["sinfo", "-h", "-N", "-o", "%N %c"]
        if profile["partition"]:
            argv[1:1] = ["-p", profile["partition"]]
        rc, out, err = run_cmd(argv)
        if rc != 0:
            raise SweepError("profile %s: cores_per_node/max_nodes = auto needs `sinfo`, which failed: %s"
                             % (profile["name"], (err or out).strip() or "rc %d" % rc))
        rows = [l.split() for l in out.splitlines() if len(l.split()) == 2]
        if not rows:
            raise SweepError("profile %s: sinfo lists no nodes%s" % (profile["name"],
                             " in partition " + profile["partition"] if profile["partition"] else ""))
        info = {n: int(c) for n, c in rows}
    if cores == "auto":
        cores = max(info.values()) if info else (os.cpu_count() or 1)
    if maxn == "auto":
        maxn = len(info) if info else 1
    try:
        cores = int(cores)
        maxn = int(maxn) if maxn not in ("", None) else None
    except ValueError:
        raise SweepError("profile %s: cores_per_node and max_nodes must be integers or auto" % profile["name"])
    if profile["scheduler"] == "direct":
        maxn = 1
    return cores, maxn


def bin_sets(profile):
    """The profile's per-CPU-family binary folders (absolute), most specific first: the job runs
    the first whose executables start on its node (they check the CPU at start-up and exit 1
    when it lacks what they were built for), else bin_dir, the portable set."""
    return [os.path.abspath(os.path.join(REPO, d)) for d in profile["bin_sets"].split()]

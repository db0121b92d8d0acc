#!/usr/bin/python3
"""Simulation against measurement on this machine: the simulated time per iteration (epoch) of
kmeans_smpi / nlreg_smpi on jobs/platforms/local.xml at 1 and 2 ranks beside the measured one
of kmeans_mpi / nlreg_mpi with the same arguments (time_s.per_iter of the records, medians of
REPS runs each), and their ratio. A measurement, not a test: it prints, it asserts nothing.
Every run appends its record (tag check-local) to --record, so `make report` shows the same
table ("Simulation against measurement on this machine").

    jobs/platforms/check_local.py [--reps 5] [--record results/runs.jsonl] [--bin build/release/bin]
                                  [--smpi-bin build/smpi/bin] [--mpiexec mpiexec.hydra]

Run it on a quiet machine: both the measured runs and the simulated compute bursts (timed on
this host, then rescaled) take whatever the other processes leave them.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# (label, app, arguments); {tmp} is the run's temporary directory. The regression on 400,000
# points (made here with mkdata) has compute bursts of about 60 us per epoch and rank, against
# about 4 us on the 20K set: it separates the platform file's error from SMPI's own cost per
# burst, which only short bursts notice.
WORKLOADS = [
    ("kmeans", "kmeans", ["--data", "datasets/mnist10k.h5", "--k", "10", "--iters", "20", "--seed", "42",
                          "--init", "random"]),
    ("nlreg", "nlreg", ["--data", "datasets/regression20k.h5", "--epochs", "2000", "--lr", "1e-4"]),
    ("nlreg 400K", "nlreg", ["--data", "{tmp}/quad400k.h5", "--epochs", "200", "--lr", "1e-6"]),
]
MAKE_400K = ["quadratic", "--n", "400000", "--a", "1", "--b", "2", "--c", "3", "--noise", "1", "--seed", "1",
             "--out", "{tmp}/quad400k.h5"]


def per_iter(cmd, records):
    """Runs cmd (which appends one record to `records`) and returns that record's time_s.per_iter."""
    before = os.path.getsize(records) if os.path.exists(records) else 0
    subprocess.run(cmd, check=True, cwd=ROOT, env=dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1"))
    with open(records) as f:
        f.seek(before)
        return json.loads(f.read().splitlines()[-1])["time_s"]["per_iter"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "bin"))
    ap.add_argument("--smpi-bin", default=os.path.join(ROOT, "build", "smpi", "bin"))
    ap.add_argument("--mpiexec", default="mpiexec.hydra")
    ap.add_argument("--record", default=os.path.join(ROOT, "results", "runs.jsonl"),
                    help="append every run's record here (default: results/runs.jsonl)")
    args = ap.parse_args()
    smpi_run = os.path.join(ROOT, "jobs", "smpi-run")
    print(f"| app | ranks | measured per iteration (median of {args.reps}) | simulated on local.xml "
          f"(median of {args.reps}) | simulated / measured |")
    print("|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        records = os.path.abspath(args.record)
        os.makedirs(os.path.dirname(records), exist_ok=True)
        subprocess.run([os.path.join(args.bin, "mkdata"), *(a.format(tmp=tmp) for a in MAKE_400K)], check=True,
                       stdout=subprocess.DEVNULL)
        for label, app, wargs in WORKLOADS:
            for ranks in (1, 2):
                common = [*(a.format(tmp=tmp) for a in wargs), "--record", records, "--quiet", "--tag", "check-local"]
                measured, sim = [], []
                for _ in range(args.reps):   # interleaved, so drift of the machine hits both alike
                    measured.append(per_iter([args.mpiexec, "-n", str(ranks), os.path.join(args.bin, f"{app}_mpi"),
                                              *common], records))
                    sim.append(per_iter([smpi_run, "local", str(ranks), os.path.join(args.smpi_bin, f"{app}_smpi"),
                                         *common], records))
                m, s = statistics.median(measured), statistics.median(sim)
                print(f"| {label} | {ranks} | {m * 1e6:,.1f} us | {s * 1e6:,.1f} us | {s / m:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

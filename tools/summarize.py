#!/usr/bin/env python3
"""Prints the comparison table of a set of run records (standard library only).

One row per (app, dataset, backend, workers): repetitions, median total time,
median time per iteration or epoch, speedup of the median against the
sequential run of the same group, and whether every run of the group produced
the same result as the sequential one (digest of labels and centroids, or of
a, b, c). The full analysis, with confidence intervals and plots, is `make report`.
"""
import argparse
import json
import statistics
import sys


def load(paths, tag):
    records = []
    for path in paths:
        try:
            with open(path) as f:
                for number, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    try:
                        r = json.loads(line)
                    except json.JSONDecodeError:
                        print(f"summarize: {path}:{number}: not JSON, skipped", file=sys.stderr)
                        continue
                    if r.get("status") == "ok" and (tag is None or r.get("tag") == tag):
                        records.append(r)
        except OSError as e:
            print(f"summarize: {e}", file=sys.stderr)
    return records


def digest(r):
    res = r["result"]
    if r["app"] == "kmeans":
        return (res.get("labels_sha256"), res.get("centroids_sha256"))
    return (res.get("params_sha256"),)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("records", nargs="+")
    parser.add_argument("--tag", help="only records with this tag")
    args = parser.parse_args()
    records = load(args.records, args.tag)
    if not records:
        print("summarize: no successful records" + (f" with tag {args.tag}" if args.tag else ""), file=sys.stderr)
        return 1

    groups = {}
    for r in records:
        key = (r["app"], r["dataset"]["path"], json.dumps(r["params"], sort_keys=True))
        groups.setdefault(key, {}).setdefault((r["backend"], r["workers"]), []).append(r)

    order = {"seq": 0, "omp": 1, "mpi": 2}
    for (app, data, params), cells in sorted(groups.items()):
        seq = cells.get(("seq", 1))
        base = statistics.median(r["time_s"]["total"] for r in seq) if seq else None
        ref = digest(seq[0]) if seq else None
        p = json.loads(params)
        what = (f"k={p['k']} iters<={p['iters']} init={p['init']}" if app == "kmeans"
                else f"epochs={p['epochs']} lr={p['lr']}")
        print(f"\n{app} on {data} ({what})")
        unit = "ms/iter" if app == "kmeans" else "us/epoch"
        scale = 1e3 if app == "kmeans" else 1e6
        print(f"  {'backend':8}{'workers':>8}{'reps':>6}{'median s':>11}{unit:>10}{'speedup':>9}  "
              f"{'quality':<26}same result as seq")
        for (backend, workers), runs in sorted(cells.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])):
            t = statistics.median(r["time_s"]["total"] for r in runs)
            per = statistics.median(r["time_s"]["per_iter"] for r in runs) * scale
            speed = f"{base / t:8.2f}x" if base else "      n/a"
            res = runs[0]["result"]
            if app == "kmeans":
                acc = res.get("accuracy")
                quality = f"inertia {res['inertia']:.2f}" + (f" acc {acc:.4f}" if acc is not None else "")
            else:
                quality = f"a,b,c {res['a']:.4f},{res['b']:.4f},{res['c']:.4f}"
            same = "n/a" if ref is None else ("yes" if all(digest(r) == ref for r in runs) else "NO")
            print(f"  {backend:8}{workers:>8}{len(runs):>6}{t:>11.4f}{per:>10.3f}{speed}  {quality:<26}{same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

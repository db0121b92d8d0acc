#!/usr/bin/env bash
# The main job without Slurm: every executable at 1..MAX_WORKERS workers, REPS
# repetitions, each run appending its record to RECORDS; then a comparison
# table of this invocation's runs. Repetitions are the outer loop, so slow
# drift of a shared machine spreads over all configurations alike.
#
# Environment (set by `make local`): BIN_DIR, MPIEXEC, RECORDS, REPS, MAX_WORKERS,
# PYTHON; optional KMEANS_ARGS, NLREG_ARGS, DATASETS_KMEANS, MSTEPS (k-means M-steps,
# default "reduce owner").
set -euo pipefail

BIN_DIR=${BIN_DIR:-build/release/bin}
MPIEXEC=${MPIEXEC:-mpiexec.hydra}
RECORDS=${RECORDS:-results/runs.jsonl}
REPS=${REPS:-5}
MAX_WORKERS=${MAX_WORKERS:-$(nproc)}
PYTHON=${PYTHON:-python3}
TAG=${TAG:-local-$(date -u +%Y%m%dT%H%M%SZ)}
KMEANS_ARGS=${KMEANS_ARGS:---k 10 --iters 100 --seed 42 --init random}
NLREG_ARGS=${NLREG_ARGS:---epochs 10000 --lr 1e-4}
DATASETS_KMEANS=${DATASETS_KMEANS:-datasets/mnist10k.h5 datasets/digits.h5}
MSTEPS=${MSTEPS:-reduce owner}
REGRESSION_DATA=datasets/regression20k.h5

# Timed runs: one worker per core at most, and no BLAS threads behind our back.
export OPENBLAS_NUM_THREADS=1

case "$REPS" in ''|*[!0-9]*|0) echo "run-local: REPS must be a positive integer, got '$REPS'" >&2; exit 2;; esac
case "$MAX_WORKERS" in ''|*[!0-9]*|0) echo "run-local: MAX_WORKERS must be a positive integer" >&2; exit 2;; esac
for exe in kmeans_seq kmeans_omp kmeans_mpi nlreg_seq nlreg_omp nlreg_mpi; do
  [ -x "$BIN_DIR/$exe" ] || { echo "run-local: $BIN_DIR/$exe is missing: run make first" >&2; exit 1; }
done
command -v "$MPIEXEC" >/dev/null || { echo "run-local: MPI launcher '$MPIEXEC' not found (make deps, or MPIEXEC=...)" >&2; exit 1; }

# MPICH's ranks busy-poll while they wait: when another process takes a core,
# every collective waits for a scheduler tick (milliseconds instead of
# microseconds), so MPI timings on a busy machine mean little. Say so up front.
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
if awk -v l="$load" 'BEGIN { exit !(l > 0.5) }'; then
  echo "run-local: warning: load average is $load before the runs start; other processes will distort" \
       "the timings (MPI's busy-polling collectives most of all). Quiet the machine for numbers to report." >&2
fi

mkdir -p "$(dirname "$RECORDS")"
runs=0
one() {  # one <app> <backend> <workers> <data> <args...>
  local app=$1 backend=$2 workers=$3 data=$4; shift 4
  local cmd=("$BIN_DIR/${app}_${backend}" --data "$data" --record "$RECORDS" --tag "$TAG" --quiet "$@")
  case "$backend" in
    # Threads are pinned, one per core. Only here: the OpenMP runtime in every
    # executable would also pin the main thread of each MPI rank to the first
    # core, putting all ranks on one core.
    omp) cmd=(env OMP_PROC_BIND=close OMP_PLACES=cores "${cmd[@]}" --threads "$workers") ;;
    mpi) cmd=("$MPIEXEC" -n "$workers" "${cmd[@]}") ;;
  esac
  "${cmd[@]}"
  runs=$((runs + 1))
}

echo "run-local: tag $TAG, $REPS repetitions, 1..$MAX_WORKERS workers, records -> $RECORDS"
for rep in $(seq 1 "$REPS"); do
  for data in $DATASETS_KMEANS; do
    [ -f "$data" ] || continue
    # Both M-steps: the all-reduce one and the assignment's per-cluster one
    # (each worker owns clusters); the report compares them.
    for mstep in $MSTEPS; do
      # shellcheck disable=SC2086
      one kmeans seq 1 "$data" $KMEANS_ARGS --mstep "$mstep"
      for w in $(seq 1 "$MAX_WORKERS"); do
        # shellcheck disable=SC2086
        one kmeans omp "$w" "$data" $KMEANS_ARGS --mstep "$mstep"
        # shellcheck disable=SC2086
        one kmeans mpi "$w" "$data" $KMEANS_ARGS --mstep "$mstep"
      done
    done
  done
  # shellcheck disable=SC2086
  one nlreg seq 1 "$REGRESSION_DATA" $NLREG_ARGS
  for w in $(seq 1 "$MAX_WORKERS"); do
    # shellcheck disable=SC2086
    one nlreg omp "$w" "$REGRESSION_DATA" $NLREG_ARGS
    # shellcheck disable=SC2086
    one nlreg mpi "$w" "$REGRESSION_DATA" $NLREG_ARGS
  done
  echo "run-local: repetition $rep of $REPS done ($runs runs)"
done

"$PYTHON" tools/summarize.py --tag "$TAG" "$RECORDS"

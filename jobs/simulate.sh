#!/usr/bin/env bash
# The scaling sweep on a simulated platform (make simulate): kmeans_smpi and nlreg_smpi through
# jobs/smpi-run at each rank count of RANKS, JOBS smpiruns at a time (SMPI runs every simulated
# rank in one host process, so a run uses one core whatever the count; the largest counts go
# first, so the cores stay busy to the end). Few iterations and
# epochs: the simulated time per iteration (time_s.per_iter) is what the sweep is for, and it
# does not depend on how many are run. Each run appends its record to SIM_RECORDS, tagged
# simulate/<platform>/<workload>/<iterations>.
#
# Strong scaling (the same data at every count): k-means on MNIST, the regression on the 20K set;
# with SCRATCH set, also k-means on blobs of BLOBS_ROWS x 64 (10^6 and 10^7) and the regression on
# REGRESSION_ROWS (10^8) points. Weak scaling (with SCRATCH): k-means on blobs of WEAK_ROWS rows
# per rank, one data set per count, all tagged alike (the report recognises the series by its
# rows per rank).
# The generated data sets are written by MKDATA into SCRATCH once and kept there, not in the
# tree; they are read with --verify-data never (written moments before; hashing 2.6 GB in every
# run would cost host time, not simulated time per iteration).
#
# Environment (set by make simulate): SMPI_BIN, SIM_RECORDS, PLATFORM, RANKS, KMEANS_ITERS,
# NLREG_EPOCHS, LARGE_ITERS, LARGE_EPOCHS, BLOBS_ROWS, REGRESSION_ROWS, WEAK_ROWS, MSTEPS, SCRATCH
# (empty: in-tree data only), MKDATA, JOBS.
set -euo pipefail

SMPI_BIN=${SMPI_BIN:-build/smpi/bin}
SIM_RECORDS=${SIM_RECORDS:-results/simulated.jsonl}
PLATFORM=${PLATFORM:-stokes}
RANKS=${RANKS:-1 2 4 8 16 32 48 64 128 256 512 1024}
KMEANS_ITERS=${KMEANS_ITERS:-5}
NLREG_EPOCHS=${NLREG_EPOCHS:-20}
LARGE_ITERS=${LARGE_ITERS:-2}
LARGE_EPOCHS=${LARGE_EPOCHS:-3}
BLOBS_ROWS=${BLOBS_ROWS:-1000000 10000000}
REGRESSION_ROWS=${REGRESSION_ROWS:-100000000}
WEAK_ROWS=${WEAK_ROWS:-10000}
MSTEPS=${MSTEPS:-reduce owner}
SCRATCH=${SCRATCH:-}
MKDATA=${MKDATA:-build/release/bin/mkdata}
JOBS=${JOBS:-1}
HERE=$(cd "$(dirname "$0")" && pwd)

for exe in kmeans_smpi nlreg_smpi; do
  [ -x "$SMPI_BIN/$exe" ] || { echo "simulate: $SMPI_BIN/$exe is missing: run make smpi" >&2; exit 1; }
done
for v in $RANKS $BLOBS_ROWS "$REGRESSION_ROWS" "$JOBS" "$KMEANS_ITERS" "$NLREG_EPOCHS" "$LARGE_ITERS" "$LARGE_EPOCHS" \
         "$WEAK_ROWS"; do
  case "$v" in ''|*[!0-9]*|0) echo "simulate: RANKS, row counts, JOBS, iterations and epochs must be whole numbers >= 1, got '$v'" >&2
                              exit 2;; esac
done
mkdir -p "$(dirname "$SIM_RECORDS")"

# make <file> <mkdata arguments...>: once; mkdata replaces its output atomically.
make_data() {
  local out=$1; shift
  [ -f "$out" ] || "$MKDATA" "$@" --out "$out" >/dev/null
}
blobs() {  # blobs <rows> <file>: the generated k-means data, float32, d = 64, 10 clusters
  make_data "$2" blobs --n "$1" --d 64 --k 10 --seed 3 --dtype float32
}
short() {  # 1000000 -> 1e6; other counts as they are (file names, and so the tags)
  if [[ $1 =~ ^10+$ ]]; then echo "1e$((${#1} - 1))"; else echo "$1"; fi
}

# (data file, iterations) of the strong-scaling k-means sweeps, and of the regression's.
kmeans_data=("datasets/mnist10k.h5 $KMEANS_ITERS")
nlreg_data=("datasets/regression20k.h5 $NLREG_EPOCHS")
if [ -n "$SCRATCH" ]; then
  [ -x "$MKDATA" ] || { echo "simulate: $MKDATA is missing: run make" >&2; exit 1; }
  mkdir -p "$SCRATCH/weak-$WEAK_ROWS"
  start=$SECONDS
  for rows in $BLOBS_ROWS; do
    file="$SCRATCH/blobs-$(short "$rows")x64.h5"
    blobs "$rows" "$file"
    # Up to 10^6 rows an iteration is short enough for as many as MNIST's; beyond, LARGE_ITERS.
    kmeans_data+=("$file $( ((rows <= 1000000)) && echo "$KMEANS_ITERS" || echo "$LARGE_ITERS")")
  done
  file="$SCRATCH/quadratic-$(short "$REGRESSION_ROWS").h5"
  make_data "$file" quadratic --n "$REGRESSION_ROWS" --a 2 --b -3 --c 5 --noise 1 --seed 3
  nlreg_data+=("$file $LARGE_EPOCHS")
  for r in $RANKS; do blobs $((r * WEAK_ROWS)) "$SCRATCH/weak-$WEAK_ROWS/blobs-$r.h5"; done
  echo "simulate: data in $SCRATCH ready ($((SECONDS - start)) s of host time)"
fi

# Every run is one line of the job list (its words shell-quoted), run JOBS at a time below.
jobs_file=$(mktemp "${TMPDIR:-/tmp}/simulate-jobs.XXXXXX")
trap 'rm -f "$jobs_file"' EXIT
one() {  # one <ranks> <app> <tag> <data> <args...>
  local ranks=$1 app=$2 tag=$3 data=$4; shift 4
  local verify=()
  [ -n "$SCRATCH" ] && [[ $data == "$SCRATCH"/* ]] && verify=(--verify-data never)
  printf '%q ' "$HERE/smpi-run" "$PLATFORM" "$ranks" "$SMPI_BIN/${app}_smpi" --record "$SIM_RECORDS" --tag "$tag" \
      --quiet --data "$data" "${verify[@]}" "$@" >>"$jobs_file"
  echo >>"$jobs_file"
}
kmeans() {  # kmeans <ranks> <tag prefix> <data> <iterations>
  local mstep
  for mstep in $MSTEPS; do
    one "$1" kmeans "$2-$mstep/iters-$4" "$3" --k 10 --iters "$4" --seed 42 --init random --mstep "$mstep"
  done
}

for r in $(printf '%s\n' $RANKS | sort -rn); do
  for entry in "${kmeans_data[@]}"; do
    read -r data iters <<<"$entry"
    kmeans "$r" "simulate/$PLATFORM/kmeans-$(basename "$data" .h5)" "$data" "$iters"
  done
  [ -n "$SCRATCH" ] && kmeans "$r" "simulate/$PLATFORM/kmeans-weak-${WEAK_ROWS}-per-rank" \
      "$SCRATCH/weak-$WEAK_ROWS/blobs-$r.h5" "$LARGE_ITERS"
  for entry in "${nlreg_data[@]}"; do
    read -r data epochs <<<"$entry"
    one "$r" nlreg "simulate/$PLATFORM/nlreg-$(basename "$data" .h5)/epochs-$epochs" "$data" \
        --epochs "$epochs" --lr 1e-4
  done
done

runs=$(wc -l <"$jobs_file")
echo "simulate: $PLATFORM, ranks $RANKS; k-means ${MSTEPS// /, }; $runs runs, $JOBS at a time; records -> $SIM_RECORDS"
start=$SECONDS
xargs -d '\n' -P "$JOBS" -I{} bash -c '{}' <"$jobs_file" ||
  { echo "simulate: some runs failed (their errors above); the others' records are in $SIM_RECORDS" >&2; exit 1; }
echo "simulate: $runs simulated runs appended to $SIM_RECORDS ($((SECONDS - start)) s of host time)"

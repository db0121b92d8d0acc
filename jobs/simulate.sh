#!/usr/bin/env bash
# The scaling sweep on a simulated platform (make simulate): kmeans_smpi and nlreg_smpi through
# jobs/smpi-run at each rank count of RANKS, one smpirun at a time (SMPI runs every simulated
# rank in one host process, so a run uses one core whatever the count). Strong scaling: the
# same data at every count. Few iterations and epochs: the simulated time per iteration
# (time_s.per_iter) is what the sweep is for, and it does not depend on how many are run.
# Each run appends its record to SIM_RECORDS, tagged simulate/<platform>/<workload>/<iterations>.
#
# Environment (set by make simulate): SMPI_BIN, SIM_RECORDS, PLATFORM, RANKS, KMEANS_ITERS,
# NLREG_EPOCHS, MSTEPS, BLOBS (a blobs file to add to the k-means sweep, or empty).
set -euo pipefail

SMPI_BIN=${SMPI_BIN:-build/smpi/bin}
SIM_RECORDS=${SIM_RECORDS:-results/simulated.jsonl}
PLATFORM=${PLATFORM:-stokes}
RANKS=${RANKS:-1 2 4 8 16 32 48 64 128 256 512 1024}
KMEANS_ITERS=${KMEANS_ITERS:-5}
NLREG_EPOCHS=${NLREG_EPOCHS:-20}
MSTEPS=${MSTEPS:-reduce owner}
BLOBS=${BLOBS:-}
HERE=$(cd "$(dirname "$0")" && pwd)

for exe in kmeans_smpi nlreg_smpi; do
  [ -x "$SMPI_BIN/$exe" ] || { echo "simulate: $SMPI_BIN/$exe is missing: run make smpi" >&2; exit 1; }
done
for r in $RANKS; do
  case "$r" in ''|*[!0-9]*|0) echo "simulate: RANKS must be whole numbers >= 1, got '$r'" >&2; exit 2;; esac
done
mkdir -p "$(dirname "$SIM_RECORDS")"

runs=0
one() {  # one <ranks> <app> <tag> <args...>
  local ranks=$1 app=$2 tag=$3; shift 3
  "$HERE/smpi-run" "$PLATFORM" "$ranks" "$SMPI_BIN/${app}_smpi" --record "$SIM_RECORDS" --tag "$tag" --quiet "$@"
  runs=$((runs + 1))
}

kmeans_data=(datasets/mnist10k.h5)
[ -n "$BLOBS" ] && kmeans_data+=("$BLOBS")
echo "simulate: $PLATFORM, ranks $RANKS; k-means $KMEANS_ITERS iterations (${MSTEPS// /, }), regression" \
     "$NLREG_EPOCHS epochs; records -> $SIM_RECORDS"
for r in $RANKS; do
  start=$SECONDS
  for data in "${kmeans_data[@]}"; do
    name=$(basename "$data" .h5)
    for mstep in $MSTEPS; do
      one "$r" kmeans "simulate/$PLATFORM/kmeans-$name-$mstep/iters-$KMEANS_ITERS" --data "$data" --k 10 \
          --iters "$KMEANS_ITERS" --seed 42 --init random --mstep "$mstep"
    done
  done
  one "$r" nlreg "simulate/$PLATFORM/nlreg-regression20k/epochs-$NLREG_EPOCHS" \
      --data datasets/regression20k.h5 --epochs "$NLREG_EPOCHS" --lr 1e-4
  echo "simulate: $r ranks done ($((SECONDS - start)) s of host time)"
done
echo "simulate: $runs simulated runs appended to $SIM_RECORDS"

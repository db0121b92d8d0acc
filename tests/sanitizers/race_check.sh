#!/usr/bin/env bash
# Data-race check of the OpenMP code: the OpenMP and hybrid executables built
# with ThreadSanitizer (build/tsan, `make race-build`) run on small data at 2, 3
# and 4 threads, every k-means M-step, initialisation and algorithm, with --out and a
# record (the gathers), and through agreed-error paths. TSan sees the OpenMP
# runtime's synchronisation through Archer (OMP_TOOL_LIBRARIES=libarcher.so).
#
# Environment, each setting needed and nothing suppressed:
#   TSAN_OPTIONS ignore_noninstrumented_modules=1  accesses inside the uninstrumented
#       libomp, OpenBLAS, HDF5 and MPICH are not checked (Archer's documented
#       setting; libomp's own synchronisation reaches TSan through Archer)
#   UCX_MEM_MMAP_HOOK_MODE=none  UCX (linked through MPICH) hooks madvise, which
#       glibc calls while a thread exits, after TSan has torn down that thread's
#       state: SIGSEGV at every thread exit otherwise. The hooks only serve UCX's
#       registration cache for network transfers, unused on one node.
#   OMP_WAIT_POLICY  active (spinning barriers, invisible to TSan but for Archer) up to
#       2 threads; passive above, as 3 or 4 threads on 2 cores would spin for ages.
#
# Usage: TSAN_BIN=build/tsan/bin ARCHER_LIB=/usr/lib/llvm-14/lib/libarcher.so \
#        tests/sanitizers/race_check.sh          (what `make race-check` runs)
# Exit status 0 when every run ended as expected with no ThreadSanitizer report.
set -u
BIN=${TSAN_BIN:-build/tsan/bin}
ARCHER=${ARCHER_LIB:?ARCHER_LIB must name libarcher.so}
MPIEXEC=${MPIEXEC:-mpiexec.hydra}
DATA=${DATA:-datasets}
export OMP_TOOL_LIBRARIES=$ARCHER
export TSAN_OPTIONS="ignore_noninstrumented_modules=1 halt_on_error=0 exitcode=66 history_size=4 ${TSAN_OPTIONS:-}"
export UCX_MEM_MMAP_HOOK_MODE=none
export OPENBLAS_NUM_THREADS=1
export ARCHER_OPTIONS=verbose=1

tmp=$(mktemp -d /tmp/hpcb-race-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
runs=0 failed=0 races=0
start_all=$(date +%s)

# check EXPECTED_STATUS LABEL COMMAND...: runs it, looks for TSan reports.
check() {
  local want=$1 label=$2
  shift 2
  local log=$tmp/run.log t0=$EPOCHREALTIME
  "$@" > "$log" 2>&1
  local rc=$?
  local n
  n=$(grep -c "WARNING: ThreadSanitizer" "$log")
  local archer
  archer=$(grep -c "Archer detected OpenMP application with TSan" "$log")
  local took
  took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  runs=$((runs + 1))
  if [ "$n" -gt 0 ] || [ "$rc" -ne "$want" ] || [ "$archer" -eq 0 ]; then
    failed=$((failed + 1))
    races=$((races + n))
    echo "race-check: FAILED $label: exit $rc (expected $want), $n race report(s), Archer loaded: $archer (${took} s)"
    grep -E -A14 "WARNING: ThreadSanitizer" "$log" | head -60
    [ "$n" -eq 0 ] && tail -15 "$log"
  else
    echo "race-check: ok  $label (${took} s)"
  fi
}

km() { echo "$BIN/kmeans_omp"; }
algos="lloyd"
"$BIN/kmeans_omp" --help 2>/dev/null | grep -q -- "--algorithm" && algos="lloyd hamerly elkan"

# Control: without Archer, TSan must report the barrier-separated accesses of the
# team's collectives (false positives; with spinning barriers, which TSan cannot
# see, unlike sleeping ones): proof that the build is instrumented and
# that the clean runs below are clean because of what Archer tells TSan.
control=$(OMP_TOOL_LIBRARIES= OMP_WAIT_POLICY=active "$BIN/kmeans_omp" --threads 2 --data "$DATA/blobs-small.h5" --k 4 --iters 2 \
  --record none --quiet 2>&1 | grep -c "WARNING: ThreadSanitizer")
if [ "$control" -eq 0 ]; then
  echo "race-check: FAILED control: no ThreadSanitizer report without Archer; is $BIN built with -fsanitize=thread?"
  exit 1
fi
# And with Archer: a real race must be reported, its race-free twin must not.
racy=$(OMP_WAIT_POLICY=active "$BIN/race_control" racy 2>&1 | grep -c "WARNING: ThreadSanitizer")
clean=$(OMP_WAIT_POLICY=active "$BIN/race_control" 2>&1 | grep -c "WARNING: ThreadSanitizer")
if [ "$racy" -eq 0 ] || [ "$clean" -ne 0 ]; then
  echo "race-check: FAILED control: race_control reported $racy race(s) with a race and $clean without"
  exit 1
fi
echo "race-check: controls: without Archer $control (false) reports; with Archer a real race found ($racy), none in its fixed twin"

for t in 2 3 4; do
  if [ "$t" -le 2 ]; then export OMP_WAIT_POLICY=active; else export OMP_WAIT_POLICY=passive; fi
  for mstep in reduce owner; do
    for init in random kmeans++; do
      check 0 "kmeans_omp t=$t blobs f32 mstep=$mstep init=$init" \
        "$(km)" --threads "$t" --data "$DATA/blobs-small.h5" --k 8 --iters 6 --mstep "$mstep" --init "$init" \
        --record "$tmp/runs.jsonl" --quiet
    done
  done
  for a in $algos; do
    check 0 "kmeans_omp t=$t blobs f64 algorithm=$a --out" \
      "$(km)" --threads "$t" --data "$DATA/blobs-f64.h5" --k 5 --iters 8 --algorithm "$a" \
      --out "$tmp/km.h5" --record "$tmp/runs.jsonl" --quiet
  done
  check 0 "kmeans_omp t=$t mnist uint8" \
    "$(km)" --threads "$t" --data "$DATA/mnist10k.h5" --k 10 --iters 3 --record none --quiet
  check 0 "kmeans_omp t=$t digits uint8 tol" \
    "$(km)" --threads "$t" --data "$DATA/digits.h5" --k 10 --iters 50 --tol 1e-3 --record none --quiet
  check 0 "nlreg_omp t=$t regression20k --out" \
    "$BIN/nlreg_omp" --threads "$t" --data "$DATA/regression20k.h5" --epochs 30 \
    --out "$tmp/nl.h5" --record "$tmp/runs.jsonl" --quiet
  # Agreed errors: found by one thread, every thread must leave its collectives.
  check 1 "kmeans_omp t=$t error missing /X" \
    "$(km)" --threads "$t" --data "$DATA/quad-small.h5" --k 3 --record none --quiet
  check 1 "kmeans_omp t=$t error k > n" \
    "$(km)" --threads "$t" --data "$DATA/blobs-f64.h5" --k 6000 --record none --quiet
  check 1 "nlreg_omp t=$t error diverges" \
    "$BIN/nlreg_omp" --threads "$t" --data "$DATA/regression20k.h5" --epochs 200 --lr 0.1 --record none --quiet
done

# Hybrid: 2 ranks x 2 threads (thread 0 of each rank calls MPI).
export OMP_WAIT_POLICY=passive
check 0 "kmeans_hybrid 2x2 blobs f32 mstep=owner --out" \
  "$MPIEXEC" -n 2 "$BIN/kmeans_hybrid" --threads 2 --data "$DATA/blobs-small.h5" --k 8 --iters 5 --mstep owner \
  --out "$tmp/kh.h5" --record "$tmp/runs.jsonl" --quiet
check 0 "nlreg_hybrid 2x2 regression20k" \
  "$MPIEXEC" -n 2 "$BIN/nlreg_hybrid" --threads 2 --data "$DATA/regression20k.h5" --epochs 20 \
  --record "$tmp/runs.jsonl" --quiet

echo "race-check: $runs runs, $failed failed, $races race reports ($(( $(date +%s) - start_all )) s)"
[ "$failed" -eq 0 ]

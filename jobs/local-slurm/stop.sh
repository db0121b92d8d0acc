#!/usr/bin/env bash
# jobs/local-slurm/stop.sh - stop what jobs/local-slurm/start.sh started, by PID file only
# (adapted from the team's local-slurm recipe).
# Usage: [SLURM_LOCAL_DIR=...] jobs/local-slurm/stop.sh [--keep-munge]
#   1. cancels all jobs (if slurmctld answers) and waits up to 30 s for them to end, so that no
#      slurmstepd is left behind;
#   2. stops every slurmd whose PID file is in the runtime dir, then slurmctld;
#   3. stops munged only if start.sh started it (and not with --keep-munge).
# Each PID is checked against the process name before it is signalled (no pkill/killall).
set -uo pipefail

RUN="${SLURM_LOCAL_DIR:-/tmp/hpcb-local-slurm}"
KEEP_MUNGE=0
[ "${1:-}" = "--keep-munge" ] && KEEP_MUNGE=1

alive() { [ -s "$1" ] && local p && p=$(cat "$1") && [ -r "/proc/$p/comm" ] && [ "$(cat "/proc/$p/comm")" = "$2" ]; }
# stop NAME PIDFILE...: SIGTERM all at once (each daemon needs ~2 s to exit), wait up to 10 s,
# then SIGKILL what is left; removes the PID files
stop() {
  local name=$1 f pid pids=() _
  shift
  for f in "$@"; do
    [ -s "$f" ] || continue
    pid=$(cat "$f")
    if alive "$f" "$name"; then kill -TERM "$pid" && pids+=("$pid"); else echo "$name (pid $pid) was not running"; fi
    rm -f "$f"
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  for _ in $(seq 50); do kill -0 "${pids[@]}" 2>/dev/null || break; sleep 0.2; done
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; echo "killed $name (pid $pid) with SIGKILL"; fi
  done
  for _ in $(seq 10); do kill -0 "${pids[@]}" 2>/dev/null || break; sleep 0.1; done
  echo "stopped $name (pid ${pids[*]})"
}

if alive "$RUN/slurmctld.pid" slurmctld && scontrol ping >/dev/null 2>&1; then
  jobs=$(squeue -h -o '%i' 2>/dev/null | tr '\n' ' ')
  if [ -n "${jobs// /}" ]; then
    echo "cancelling jobs: $jobs"
    # shellcheck disable=SC2086
    scancel $jobs
    for _ in $(seq 150); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.2; done
  fi
fi

shopt -s nullglob
stop slurmd "$RUN"/slurmd-*.pid
stop slurmctld "$RUN/slurmctld.pid"

if [ "$KEEP_MUNGE" = 0 ] && [ -s "$RUN/munged.pid" ]; then
  if [ "$(cat "$RUN/munged.pid")" = "$(cat /run/munge/munged.pid 2>/dev/null)" ]; then
    stop munged "$RUN/munged.pid"
  else
    echo "munged was not started by start.sh (or already gone); left alone"
    rm -f "$RUN/munged.pid"
  fi
fi

# SLURM_LOCAL_CGROUP=v1 leaves an empty /sys/fs/cgroup/<controller>/slurm_<node> per node: remove
# those of our nodes (rmdir only removes empty cgroups)
for d in "$RUN"/spool/*/; do
  n=$(basename "$d")
  for cg in /sys/fs/cgroup/*/"slurm_$n"; do
    [ -d "$cg" ] && find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
done

left=$(ps -C slurmstepd -o pid= | tr -s ' \n' ' ')
[ -n "${left// /}" ] && echo "WARNING: slurmstepd processes still running: $left"
exit 0

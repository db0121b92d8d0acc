#!/bin/sh
# jobs/local-slurm/epilog.sh - the local cluster's job epilog (Epilog= in the generated
# slurm.conf): kills every process the ending job left behind on this machine.
#
# proctrack/linuxproc (the default here; no cgroups needed) finds a job's processes by
# their parent chain, so a process whose parent died (reparented to init) escapes the
# kill at the time limit and runs on outside any job. Every process started in a job
# inherits SLURM_JOB_ID in its environment, so the epilog finds them by that instead
# (one grep over all environments: the node stays "completing" while this runs) and kills
# those that no Slurm daemon is an ancestor of. Processes under a slurmd or slurmstepd are
# live: a requeued job keeps its id and may already run again, and the job's epilogs on its
# other fake nodes (which share this machine) carry the id too. Runs as root, once per node.
[ -n "${SLURM_JOB_ID:-}" ] || exit 0

under_slurm() {  # under_slurm PID: a Slurm daemon is among its ancestors
  p=$1
  while [ -n "$p" ] && [ "$p" -gt 1 ]; do
    p=$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$p/status" 2>/dev/null)
    [ -n "$p" ] || return 1
    case "$(cat "/proc/$p/comm" 2>/dev/null)" in slurmd|slurmstepd|slurmctld) return 0 ;; esac
  done
  return 1
}

# shellcheck disable=SC2013  # one path a line, no spaces in /proc paths
for env in $(grep -lzx "SLURM_JOB_ID=$SLURM_JOB_ID" /proc/[0-9]*/environ 2>/dev/null); do
  dir=${env%/environ}
  pid=${dir#/proc/}
  [ "$pid" = "$$" ] && continue
  read -r comm <"$dir/comm" 2>/dev/null || continue
  case "$comm" in slurmd|slurmstepd|slurmctld|munged) continue ;; esac
  under_slurm "$pid" && continue
  kill -KILL "$pid" 2>/dev/null && echo "epilog: job $SLURM_JOB_ID left pid $pid ($comm): killed" >&2
done
exit 0

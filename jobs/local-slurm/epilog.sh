#!/bin/sh
# jobs/local-slurm/epilog.sh - the local cluster's job epilog (Epilog= in the generated
# slurm.conf): kills every process the ending job left behind on this machine.
#
# proctrack/linuxproc (the default here; no cgroups needed) finds a job's processes by
# their parent chain, so a process whose parent died (reparented to init) escapes the
# kill at the time limit and runs on outside any job. Every process started in a job
# inherits SLURM_JOB_ID in its environment, so the epilog finds them by that instead:
# one grep over all environments (the node stays "completing" while this runs, so it
# must be quick). Slurm's own daemons are never touched. Runs as root, once per node.
[ -n "${SLURM_JOB_ID:-}" ] || exit 0
# shellcheck disable=SC2013  # one path a line, no spaces in /proc paths
for env in $(grep -lzx "SLURM_JOB_ID=$SLURM_JOB_ID" /proc/[0-9]*/environ 2>/dev/null); do
  dir=${env%/environ}
  pid=${dir#/proc/}
  [ "$pid" = "$$" ] && continue
  read -r comm <"$dir/comm" 2>/dev/null || continue
  case "$comm" in slurmd|slurmstepd|slurmctld|munged|grep) continue ;; esac
  # The epilogs of the job's other nodes (fake nodes share this machine) carry its id too:
  # they are slurmd's children.
  ppid=$(sed -n 's/^PPid:[[:space:]]*//p' "$dir/status" 2>/dev/null)
  [ -n "$ppid" ] && [ "$(cat "/proc/$ppid/comm" 2>/dev/null)" = slurmd ] && continue
  kill -KILL "$pid" 2>/dev/null && echo "epilog: job $SLURM_JOB_ID left pid $pid ($comm): killed" >&2
done
exit 0

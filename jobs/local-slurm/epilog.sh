#!/bin/sh
# jobs/local-slurm/epilog.sh - the local cluster's job epilog (Epilog= in the generated
# slurm.conf): kills every process the ending job left behind on this machine.
#
# proctrack/linuxproc (the default here; no cgroups needed) finds a job's processes by
# their parent chain, so a process whose parent died (reparented to init) escapes the
# kill at the time limit and runs on outside any job. Every process started in a job
# inherits SLURM_JOB_ID in its environment, so the epilog finds them by that instead.
# Slurm's own daemons are never touched. Runs as root (SlurmdUser), once per node.
[ -n "${SLURM_JOB_ID:-}" ] || exit 0
for dir in /proc/[0-9]*; do
  pid=${dir#/proc/}
  [ "$pid" = "$$" ] && continue
  case "$(cat "$dir/comm" 2>/dev/null)" in slurmd|slurmstepd|slurmctld|munged|"") continue ;; esac
  if grep -qzx "SLURM_JOB_ID=$SLURM_JOB_ID" "$dir/environ" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null && echo "epilog: job $SLURM_JOB_ID left pid $pid ($(cat "$dir/comm" 2>/dev/null)): killed" >&2
  fi
done
exit 0

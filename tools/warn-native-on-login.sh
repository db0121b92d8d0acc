#!/bin/sh
# Usage: tools/warn-native-on-login.sh ARCH_FLAGS
# Prints a warning (never fails) when the build targets this CPU (-march=native) on a machine
# whose Slurm jobs run elsewhere: a login node. The compute nodes of a mixed partition (Stokes's
# `normal` mixes Skylake to Sapphire Rapids) may lack this CPU's instructions; the binaries then
# refuse to start there (src/app/cpu_check.cpp) rather than die of an illegal instruction, but
# the jobs still fail. Heuristic: a slurm.conf (SLURM_CONF or /etc/slurm/slurm.conf) whose
# SlurmctldHost is not this machine; inside a job (SLURM_JOB_ID set) nothing is said. A
# configless site (no local slurm.conf) is not detected.
case " $1 " in *" -march=native "*) ;; *) exit 0 ;; esac
[ -z "${SLURM_JOB_ID:-}" ] || exit 0
conf="${SLURM_CONF:-/etc/slurm/slurm.conf}"
[ -r "$conf" ] || exit 0
ctl=$(sed -n 's/^[[:space:]]*\(SlurmctldHost\|ControlMachine\)[[:space:]]*=[[:space:]]*\([^([:space:]]*\).*/\2/p' "$conf" | head -1)
case "$ctl" in
  ""|localhost|127.0.0.1|"$(hostname)"|"$(hostname -s 2>/dev/null)") exit 0 ;;
esac
echo "make: warning: building with -march=native on a Slurm login node (controller: $ctl): the" \
     "binaries need this CPU's instructions and will refuse to start on older compute nodes;" \
     "build for the partition instead, e.g. make TARGET=x86-64-v3 (README, cluster section)" >&2

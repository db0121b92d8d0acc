# jobs/jobs.mk - Slurm sweeps, included by the top-level Makefile (which defines BIN_DIR, MPIEXEC,
# PYTHON and Q). Everything here uses only the standard library of /usr/bin/python3.
#
#   make test-jobs        unit tests of the sweep driver (no Slurm needed; builds first: the options come from --describe)
#   make test-slurm       end-to-end test on a real throwaway Slurm cluster on this machine (root;
#                         Debian packages slurm-wlm munge; about 2 minutes); last line "N passed, M failed"
#   make sweep GRID=jobs/grids/local-small.ini [PROFILE=local|stokes|direct] [SWEEP_ARGS='--dry-run ...']
#   make sweep-status GRID=...
#   make slurm-start / slurm-stop   the local test cluster (jobs/local-slurm/), for trying sweeps

SWEEP_PY          ?= $(firstword $(wildcard /usr/bin/python3) python3)
SLURM_DEBS        := slurm-wlm munge
SLURM_TEST_TIMEOUT ?= 600
GRID              ?= jobs/grids/local-small.ini
PROFILE           ?=
SWEEP_ARGS        ?=
SWEEP_COMMON       = $(if $(PROFILE),--profile $(PROFILE)) --bin $(BIN_DIR) $(SWEEP_ARGS)

.PHONY: test-jobs test-slurm sweep sweep-status slurm-start slurm-stop

test-jobs: all
	$(Q)$(SWEEP_PY) -m unittest discover -s jobs/tests -t .

# Installs nothing: CI installs the packages first (make deps EXTRA_DEBS='slurm-wlm munge').
test-slurm: all datasets
	$(Q)for c in sbatch srun squeue scontrol sinfo slurmctld slurmd munged munge; do \
	  command -v $$c >/dev/null 2>&1 || { echo "test-slurm: '$$c' not found: install the Debian packages" \
	    "$(SLURM_DEBS) (make deps EXTRA_DEBS='$(SLURM_DEBS)'); this target installs nothing itself" >&2; exit 1; }; \
	done
	$(Q)test "$$(id -u)" = 0 || { echo "test-slurm: must run as root (it starts munged, slurmctld and slurmd)" >&2; exit 1; }
	$(Q)timeout -k 30 $(SLURM_TEST_TIMEOUT) $(SWEEP_PY) jobs/tests/slurm_e2e.py --bin $(BIN_DIR) --mpiexec $(MPIEXEC)

sweep: all datasets
	$(Q)$(SWEEP_PY) jobs/sweep.py submit $(GRID) $(SWEEP_COMMON)

sweep-status:
	$(Q)$(SWEEP_PY) jobs/sweep.py status $(GRID) $(SWEEP_COMMON)

slurm-start:
	$(Q)jobs/local-slurm/start.sh

slurm-stop:
	$(Q)jobs/local-slurm/stop.sh

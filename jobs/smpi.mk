# jobs/smpi.mk - the simulated MPI backend (SimGrid SMPI), included by the top-level Makefile
# (which defines LIB_SRC, CXXSTD, WARN, OPT.release, CPPFLAGS, PROV_DEFS, GIT_STAMP, PYTHON and Q).
#
#   make smpi             build/smpi/bin/kmeans_smpi and nlreg_smpi: the MPI team code compiled
#                         with smpicxx against serial HDF5 (the only difference: io/h5_read.cpp)
#   make test-smpi        bitwise tests at 1, 3 and 64 simulated ranks (tests/smpi)
#   make smpi-calibrate   regenerate jobs/platforms/local.xml from this machine's benchmarks
#   make simulate         the scaling sweep on the simulated Stokes (jobs/simulate.sh) into SIM_RECORDS,
#                         then smpi-check-local
#   make smpi-check-local local.xml against measurement at 1 and 2 ranks (jobs/platforms/check_local.py),
#                         records into SIM_RECORDS
# Run one by hand: jobs/smpi-run PLATFORM RANKS EXE [ARGS...] (jobs/platforms/README.md).

SMPICXX     ?= smpicxx
# Objects are compiled by the compiler smpicxx wraps, with SMPI's mpi.h and only its clock
# (src/common/smpi_clock.hpp); smpicxx links them into the shared object smpirun loads.
SMPI_CC     ?= g++
SMPI_HDF5_PC ?= hdf5-serial
SMPI_DEBS   := libsimgrid-dev libhdf5-dev
SMPI_DIR    := build/smpi
SMPI_OBJ    := $(SMPI_DIR)/obj
SMPI_BIN    := $(SMPI_DIR)/bin
SMPI_EXES   := $(SMPI_BIN)/kmeans_smpi $(SMPI_BIN)/nlreg_smpi
SMPI_LIB_OBJ := $(LIB_SRC:src/%.cpp=$(SMPI_OBJ)/%.o)

# Always release flags. SimGrid's headers are system headers here (no warnings of theirs).
SMPI_PKG_CFLAGS = $(eval SMPI_PKG_CFLAGS := $$(shell $(PKG_CONFIG) --cflags $(SMPI_HDF5_PC) $(BLAS_PC) zlib libcrypto))$(SMPI_PKG_CFLAGS)
SMPI_PKG_LIBS   = $(eval SMPI_PKG_LIBS := $$(shell $(PKG_CONFIG) --libs $(SMPI_HDF5_PC) $(BLAS_PC) zlib libcrypto))$(SMPI_PKG_LIBS)
SMPI_CXXFLAGS   = $(CXXSTD) $(WARN) $(OPT.release) -fopenmp -fPIC -DHPCB_SMPI -isystem /usr/include/smpi -include src/common/smpi_clock.hpp $(CXXFLAGS) $(SMPI_PKG_CFLAGS)

.PHONY: smpi smpi-check test-smpi smpi-calibrate simulate smpi-check-local

smpi: $(SMPI_EXES)

smpi-check:
	@command -v $(SMPICXX) >/dev/null 2>&1 && $(PKG_CONFIG) --exists $(SMPI_HDF5_PC) || \
	  { echo "make smpi: needs the Debian packages $(SMPI_DEBS) (apt-get install $(SMPI_DEBS), or make deps)" >&2; exit 1; }

# smpicxx links a shared object that smpirun loads once per simulated rank.
define smpi_exe_rule
$(SMPI_BIN)/$(1)_smpi: $(SMPI_OBJ)/$(1)/$(1)_main.o $(SMPI_OBJ)/team/team_mpi.o $(SMPI_LIB_OBJ)
	@mkdir -p $$(@D)
	@echo "  SMPILD  $$@"
	$$(Q)$$(SMPICXX) -fopenmp -o $$@ $$^ $$(SMPI_PKG_LIBS) -lm
endef
$(foreach a,$(APPS),$(eval $(call smpi_exe_rule,$(a))))

$(SMPI_OBJ)/%.o: src/%.cpp | smpi-check
	@mkdir -p $(@D)
	@echo "  SMPICXX $<"
	$(Q)$(SMPI_CC) $(CPPFLAGS) $(SMPI_CXXFLAGS) -c -o $@ $<

$(SMPI_OBJ)/app/provenance.o: src/app/provenance.cpp $(GIT_STAMP) | smpi-check
	@mkdir -p $(@D)
	@echo "  SMPICXX $<"
	$(Q)$(SMPI_CC) $(CPPFLAGS) $(SMPI_CXXFLAGS) $(PROV_DEFS) -c -o $@ $<

-include $(shell find $(SMPI_OBJ) -name '*.d' 2>/dev/null)

# ---- tests, calibration ----------------------------------------------------------
# CI: make deps (installs SMPI_DEBS), then make smpi test-smpi. A few minutes on 2 cores.
test-smpi: smpi all datasets check-python
	$(Q)HPCB_SMPI_BIN=$(abspath $(SMPI_BIN)) $(PYTHON) tests/run_tests.py --only smpi --bin $(BIN_DIR) \
	  --mpiexec "$(MPIEXEC)" --python "$(PYTHON)"

# local.xml from this machine: the distance kernel's rate on one core and MPI alpha-beta.
SMPI_SPEED_JSON := results/bench/smpi_host_speed.json
smpi-calibrate: $(BENCH_BIN) bench-mpi
	@mkdir -p results/bench
	$(Q)OPENBLAS_NUM_THREADS=1 $(BENCH_BIN) --benchmark_filter='BM_Assign<std::uint8_t>/10000/784/10$$' \
	  --benchmark_min_time=0.5 --benchmark_out=$(SMPI_SPEED_JSON) --benchmark_out_format=json >/dev/null
	$(Q)$(PYTHON) jobs/platforms/calibrate.py $(SMPI_SPEED_JSON) results/bench/alpha_beta.json \
	  > jobs/platforms/local.xml.tmp && mv jobs/platforms/local.xml.tmp jobs/platforms/local.xml
	@echo "smpi-calibrate: wrote jobs/platforms/local.xml"

# ---- the simulated scaling sweep -----------------------------------------------------
# jobs/simulate.sh on stokes.xml, ranks 1 to 1,024 (48 per node, then whole nodes as smpi-run
# packs them), both M-steps. Strong scaling: k-means on MNIST and the regression on the 20K set;
# with SIM_LARGE=1 also k-means on blobs of 10^6 x 64 and 10^7 x 64 and the regression on 10^8
# points, and weak scaling (k-means on SIM_WEAK_ROWS blobs rows per rank), their data written by
# mkdata into SIM_SCRATCH (not kept in the tree; about 6 GB, written once). Only
# SIM_KMEANS_ITERS iterations / SIM_NLREG_EPOCHS epochs (SIM_LARGE_* on the generated data): the
# sweep is for the simulated time per iteration (time_s.per_iter), which does not depend on their
# number; the tags say how many. SIM_JOBS smpiruns at a time (each runs all its simulated ranks
# in one host process, on one core). Host time: jobs/platforms/README.md.
SIM_RECORDS      ?= results/simulated.jsonl
SIM_PLATFORM     ?= stokes
SIM_RANKS        ?= 1 2 4 8 16 32 48 64 128 256 512 1024
SIM_KMEANS_ITERS ?= 5
SIM_NLREG_EPOCHS ?= 20
SIM_LARGE        ?= 1
SIM_LARGE_ITERS  ?= 2
SIM_LARGE_EPOCHS ?= 3
SIM_WEAK_ROWS    ?= 10000
SIM_SCRATCH      ?= $(or $(TMPDIR),/tmp)/hpcb-simulate
SIM_JOBS         ?= 1
simulate: smpi all datasets
	$(Q)SMPI_BIN=$(SMPI_BIN) SIM_RECORDS=$(SIM_RECORDS) PLATFORM=$(SIM_PLATFORM) RANKS="$(SIM_RANKS)" \
	  KMEANS_ITERS=$(SIM_KMEANS_ITERS) NLREG_EPOCHS=$(SIM_NLREG_EPOCHS) LARGE_ITERS=$(SIM_LARGE_ITERS) \
	  LARGE_EPOCHS=$(SIM_LARGE_EPOCHS) WEAK_ROWS=$(SIM_WEAK_ROWS) MKDATA=$(MKDATA) JOBS=$(SIM_JOBS) \
	  SCRATCH=$(if $(filter 1,$(SIM_LARGE)),$(SIM_SCRATCH)) jobs/simulate.sh
	$(Q)$(MAKE) --no-print-directory smpi-check-local

# The simulation's check (a): local.xml against kmeans_mpi / nlreg_mpi on this machine, 1 and 2
# ranks, medians of SIM_CHECK_REPS interleaved runs (about 30 s); run it on a quiet machine.
SIM_CHECK_REPS ?= 5
smpi-check-local: smpi all datasets
	$(Q)$(PYTHON) jobs/platforms/check_local.py --reps $(SIM_CHECK_REPS) --record $(SIM_RECORDS) --bin $(BIN_DIR) \
	  --smpi-bin $(SMPI_BIN) --mpiexec "$(MPIEXEC)"

# hpc-batch toolkit: k-means and nonlinear regression, sequential / OpenMP / MPI.
#
# Front door:  make            build the six executables and the data tool
#              make datasets   convert the raw inputs in datasets/raw to HDF5
#              make test       unit + end-to-end tests; last line "N passed, M failed"
#              make local      the main job: build, data, runs at 1..cores workers, report
#              make report     write report/out from the run records
#              make bench      Google Benchmark microbenchmarks -> results/bench/*.json
#              make info       the toolchain and library versions found
#              make deps       install missing Debian packages (apt-get)
#
# Every tool is a variable, so a cluster module or Spack environment works unchanged:
#   make MPICXX=mpicxx HDF5_PC=hdf5 BLAS_PC=openblas MPIEXEC=srun
# Configurations: make BUILD=release (default) | BUILD=debug (-O1, ASan + UBSan, the same
# -march as release: the sanitizers check the kernels this machine's release build runs).
# make V=1 shows the full commands.

ifneq ($(and $(filter deps,$(MAKECMDGOALS)),$(filter-out deps,$(MAKECMDGOALS))),)
include tools/deps-first.mk
else

BUILD     ?= release
MPICXX    ?= mpicxx.mpich
MPIEXEC   ?= mpiexec.hydra
MPI_PC    ?= mpich
HDF5_PC   ?= hdf5-mpich
BLAS_PC   ?= openblas
PKG_CONFIG ?= pkg-config
ARCH      ?= -march=native
# TARGET=<cpu>: a binary set for one CPU family, e.g. TARGET=x86-64-v3 (runs on every node of a
# mixed partition such as Stokes's `normal`), skylake-avx512, icelake-server, sapphirerapids;
# built with ARCH=-march=<cpu> into build/<config>-<cpu>/ so the sets live side by side.
TARGET    ?=
ifneq ($(TARGET),)
  ARCH := -march=$(TARGET)
endif
# Interpreters tried, in order, for the Python parts (report, end-to-end tests);
# the first that imports numpy and matplotlib wins (see tools/find-python.sh).
PYTHON_CANDIDATES ?= /usr/bin/python3 python3
PYTHON    ?= $(shell tools/find-python.sh $(PYTHON_CANDIDATES))
NPROC     ?= $(shell nproc 2>/dev/null || echo 1)

BUILD_DIR := build/$(BUILD)$(if $(TARGET),-$(TARGET))
OBJ_DIR   := $(BUILD_DIR)/obj
BIN_DIR   := $(BUILD_DIR)/bin

ifeq ($(V),1)
  Q :=
else
  Q := @
endif

OPT.release := -O3 $(ARCH) -DNDEBUG
# -g1: line tables and functions (inlined ones too), all a sanitizer's report shows, at
# two thirds of -g's compile time (kmeans_core.cpp 35 s against 58); CXXFLAGS=-g for a debugger.
OPT.debug   := -O1 $(ARCH) -g1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDOPT.release :=
LDOPT.debug   := -fsanitize=address,undefined
ifeq ($(OPT.$(BUILD)),)
  $(error BUILD must be release or debug, not '$(BUILD)')
endif

# Evaluated on first use, not when the Makefile is read, so that `make deps all`
# builds with the packages the first goal just installed.
PKG_CFLAGS = $(eval PKG_CFLAGS := $$(shell $(PKG_CONFIG) --cflags $(HDF5_PC) $(BLAS_PC) zlib libcrypto))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $$(shell $(PKG_CONFIG) --libs $(HDF5_PC) $(BLAS_PC) zlib libcrypto))$(PKG_LIBS)

GIT_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
GIT_DIRTY  := $(shell git diff --quiet HEAD -- 2>/dev/null && echo 0 || echo 1)

CXXSTD   := -std=c++20
WARN     := -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion -Wno-psabi
CPPFLAGS += -Isrc -MMD -MP
CXXFLAGS ?=
ALL_CXXFLAGS = $(CXXSTD) $(WARN) $(OPT.$(BUILD)) -fopenmp $(CXXFLAGS) $(PKG_CFLAGS)
# The exact flags are compiled into every binary so each run record says how it was built.
PROV_DEFS = -DHPCB_GIT_COMMIT='"$(GIT_COMMIT)"' -DHPCB_GIT_DIRTY=$(GIT_DIRTY) \
            -DHPCB_CXXFLAGS='"$(strip $(CXXSTD) $(OPT.$(BUILD)) -fopenmp $(CXXFLAGS))"'
LDLIBS   += $(PKG_LIBS) -lm
LDFLAGS  += $(LDOPT.$(BUILD)) -fopenmp

# ---- sources -----------------------------------------------------------------
# Per backend: its team file and its process start-up (src/team/*_process.cpp); the MPI layer
# (src/team/mpi_team.cpp) only where there is MPI.
BACKENDS := seq omp mpi hybrid
MPI_LAYER_SRC   := src/team/mpi_team.cpp src/team/mpi_process.cpp
TEAM_SRC_seq    := src/team/team_seq.cpp src/team/local_process.cpp
TEAM_SRC_omp    := src/team/team_omp.cpp src/team/local_process.cpp
TEAM_SRC_mpi    := src/team/team_mpi.cpp $(MPI_LAYER_SRC)
TEAM_SRC_hybrid := src/team/team_hybrid.cpp $(MPI_LAYER_SRC)
$(foreach b,$(BACKENDS),$(eval TEAM_$(b) := $(TEAM_SRC_$(b):src/%.cpp=$(OBJ_DIR)/%.o)))
# Library: everything but the mains and the backends' files.
LIB_SRC  := $(filter-out %_main.cpp $(foreach b,$(BACKENDS),$(TEAM_SRC_$(b))),$(wildcard src/*/*.cpp))
LIB_OBJ  := $(LIB_SRC:src/%.cpp=$(OBJ_DIR)/%.o)
# The data tool needs only the I/O and common parts.
DATA_OBJ := $(filter $(OBJ_DIR)/common/% $(OBJ_DIR)/io/% $(OBJ_DIR)/tools/%,$(LIB_OBJ))
# The team code of the seq and omp backends, which must compile without MPI's headers
# (check-no-mpi reads the headers each object was compiled with from its .d file).
NO_MPI_OBJ := $(sort $(TEAM_seq) $(TEAM_omp) $(OBJ_DIR)/team/group_team.o $(OBJ_DIR)/team/host_name.o)
APPS     := kmeans nlreg
EXES     := $(foreach a,$(APPS),$(foreach b,$(BACKENDS),$(BIN_DIR)/$(a)_$(b)))
TOOLS    := $(BIN_DIR)/mkdata

TEST_SRC := $(wildcard tests/unit/*.cpp)
TEST_OBJ := $(TEST_SRC:tests/%.cpp=$(OBJ_DIR)/tests/%.o)
TEST_BIN := $(BIN_DIR)/unit_tests

BENCH_SRC := $(wildcard bench/*.cpp)
BENCH_OBJ := $(BENCH_SRC:bench/%.cpp=$(OBJ_DIR)/bench/%.o)
BENCH_BIN := $(BIN_DIR)/microbench

.PHONY: all check-no-mpi test unit-test e2e-test bench datasets report local info deps clean check-python
.DEFAULT_GOAL := all

all: $(EXES) $(TOOLS) native-on-login-check

# -march=native on a login node builds for the wrong CPU (tools/warn-native-on-login.sh).
.PHONY: native-on-login-check
native-on-login-check:
	@tools/warn-native-on-login.sh "$(ARCH)"

# Variables are escaped (doubled dollar) so they expand when the recipe runs, not when $$(call)
# builds the rule while the Makefile is read: in `make deps all` the pkg-config
# answers must come after deps has installed the packages.
define exe_rule
$(BIN_DIR)/$(1)_$(2): $(OBJ_DIR)/$(1)/$(1)_main.o $(TEAM_$(2)) $(LIB_OBJ)
	@mkdir -p $$(@D)
	@echo "  LD      $$@"
	$$(Q)$$(MPICXX) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach a,$(APPS),$(foreach b,$(BACKENDS),$(eval $(call exe_rule,$(a),$(b)))))

$(BIN_DIR)/mkdata: $(OBJ_DIR)/tools/mkdata_main.o $(DATA_OBJ) $(OBJ_DIR)/app/cpu_check.o
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(MPICXX) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(OBJ_DIR)/%.o: src/%.cpp
	@mkdir -p $(@D)
	@echo "  CXX     $<"
	$(Q)$(MPICXX) $(CPPFLAGS) $(ALL_CXXFLAGS) -c -o $@ $<

# Provenance: only this object sees the commit and flags. The stamp file changes
# only when they do, so a commit rebuilds one object and relinks, nothing more.
GIT_STAMP := $(BUILD_DIR)/git-stamp
STAMP_TEXT := $(GIT_COMMIT) $(GIT_DIRTY) $(CXXSTD) $(OPT.$(BUILD)) $(CXXFLAGS)
$(shell mkdir -p $(BUILD_DIR); [ "$$(cat $(GIT_STAMP) 2>/dev/null)" = "$(STAMP_TEXT)" ] || echo "$(STAMP_TEXT)" > $(GIT_STAMP))
$(OBJ_DIR)/app/provenance.o: src/app/provenance.cpp $(GIT_STAMP)
	@mkdir -p $(@D)
	@echo "  CXX     $<"
	$(Q)$(MPICXX) $(CPPFLAGS) $(ALL_CXXFLAGS) $(PROV_DEFS) -c -o $@ $<

# The CPU check (src/app/cpu_check.cpp) runs before any code built for the target, so it is
# itself built without the target's -m flags, and told which instruction sets they enable.
ISA_FLAGS  = $(filter -m%,$(OPT.$(BUILD)) $(CXXFLAGS))
TARGET_ISA = $(shell $(MPICXX) $(ISA_FLAGS) -dM -E -x c++ /dev/null | \
               sed -n 's/^\#define __\(SSE4_2\|POPCNT\|AVX[0-9A-Z]*\|FMA\|BMI2\{0,1\}\)__ 1$$/\1/p' | tr '\n' ' ')
$(OBJ_DIR)/app/cpu_check.o: src/app/cpu_check.cpp $(GIT_STAMP)
	@mkdir -p $(@D)
	@echo "  CXX     $<"
	$(Q)$(MPICXX) $(CPPFLAGS) $(filter-out -m%,$(ALL_CXXFLAGS)) -DHPCB_TARGET_ISA='"$(strip $(TARGET_ISA))"' \
	  -DHPCB_TARGET_ARCH='"$(or $(strip $(ISA_FLAGS)),no -march)"' -c -o $@ $<

$(OBJ_DIR)/tests/%.o: tests/%.cpp
	@mkdir -p $(@D)
	@echo "  CXX     $<"
	$(Q)$(MPICXX) $(CPPFLAGS) $(ALL_CXXFLAGS) -c -o $@ $<

$(OBJ_DIR)/bench/%.o: bench/%.cpp
	@mkdir -p $(@D)
	@echo "  CXX     $<"
	$(Q)$(MPICXX) $(CPPFLAGS) $(ALL_CXXFLAGS) -c -o $@ $<

$(TEST_BIN): $(TEST_OBJ) $(TEAM_seq) $(LIB_OBJ)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(MPICXX) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lgtest -lgtest_main -pthread

$(BENCH_BIN): $(BENCH_OBJ) $(TEAM_seq) $(LIB_OBJ)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(MPICXX) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell $(PKG_CONFIG) --libs benchmark 2>/dev/null || echo -lbenchmark) -pthread

-include $(shell find $(OBJ_DIR) -name '*.d' 2>/dev/null)

# ---- data and jobs ---------------------------------------------------------------
include datasets/datasets.mk
-include jobs/jobs.mk
-include jobs/smpi.mk
# The simulated MPI executables (jobs/smpi.mk) link the MPI layer too.
$(foreach a,$(APPS),$(eval $(SMPI_BIN)/$(a)_smpi: $(MPI_LAYER_SRC:src/%.cpp=$(SMPI_OBJ)/%.o)))
-include tests/fuzz/fuzz.mk

# ---- tests -------------------------------------------------------------------
# TEST_ARGS: extra arguments for tests/run_tests.py, e.g. TEST_ARGS='--only unit e2e'.
TEST_ARGS ?=
# The LD_PRELOAD shim that forces interleaved record appends (tests/e2e/test_record_lock.py).
SHIM := build/shims/split_write.so
$(SHIM): tests/shims/split_write.c
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) -O1 -Wall -Wextra -shared -fPIC -o $@ $< -ldl

check-no-mpi: $(NO_MPI_OBJ)
	$(Q)if grep -l '/mpi\.h\b' $(NO_MPI_OBJ:.o=.d); then \
	  echo "check-no-mpi: the objects above include mpi.h; the seq and omp backends must not" >&2; exit 1; fi
	@echo "check-no-mpi: $(words $(NO_MPI_OBJ)) seq/omp team objects compiled without mpi.h"

test: all check-no-mpi $(TEST_BIN) $(SHIM) datasets check-python
	$(Q)$(PYTHON) tests/run_tests.py --bin $(BIN_DIR) --mpiexec "$(MPIEXEC)" --python "$(PYTHON)" $(TEST_ARGS)

# ---- benchmarks --------------------------------------------------------------
# 9 repetitions of each benchmark (bench/README.md): the JSON keeps every repetition and the
# aggregates (mean, median, stddev, cv), the console shows the aggregates. min_time takes its
# unit suffix from Google Benchmark 1.8 on; 1.7 (Debian 12) parses a plain number of seconds
# and rejects "0.2s". OPENBLAS_CORETYPE: tools/blas_coretype.py (no SGEMM on a generic kernel).
BENCH_REPS     ?= 9
BENCH_MIN_TIME ?= 0.2$(shell $(PKG_CONFIG) --atleast-version=1.8 benchmark 2>/dev/null && echo s)
bench: $(BENCH_BIN) datasets check-python
	@mkdir -p results/bench
	$(Q)coretype="$$($(PYTHON) tools/blas_coretype.py --binary $(BENCH_BIN))" && \
	env OPENBLAS_NUM_THREADS=1 $$coretype $(BENCH_BIN) --benchmark_out=results/bench/microbench.json.tmp \
	  --benchmark_out_format=json --benchmark_min_time=$(BENCH_MIN_TIME) \
	  --benchmark_repetitions=$(BENCH_REPS) --benchmark_display_aggregates_only=true \
	  --benchmark_context=git=$(GIT_COMMIT),git_dirty=$(GIT_DIRTY)
	@mv results/bench/microbench.json.tmp results/bench/microbench.json

# ---- comparison with peers, MPI cost constants, cost model ---------------------------
.PHONY: compare bench-mpi cost-model
compare: all datasets check-python
	$(Q)$(PYTHON) tools/compare.py --bin $(BIN_DIR) --mpiexec "$(MPIEXEC)" --record $(RECORDS) --out results/compare.json

# The probe lives in bench/mpi/ because bench/*.cpp is linked into microbench.
$(BIN_DIR)/alpha_beta: bench/mpi/alpha_beta.cpp
	@mkdir -p $(@D)
	@echo "  CXX     $<"
	$(Q)$(MPICXX) $(CXXSTD) -O2 -o $@ $<
bench-mpi: $(BIN_DIR)/alpha_beta
	@mkdir -p results/bench
	$(MPIEXEC) -n 2 $(BIN_DIR)/alpha_beta > results/bench/alpha_beta.json.tmp
	@mv results/bench/alpha_beta.json.tmp results/bench/alpha_beta.json
cost-model: check-python
	$(Q)$(PYTHON) bench/cost_model.py --json results/bench/cost_model.json

# ---- the main job and the report ----------------------------------------------
# After the sweep, each alone on the cores and one after another (separate makes, so a -j cannot
# overlap them): the cost model's inputs (MPI alpha-beta, about 1 s; the kernel microbenchmarks,
# 9 repetitions each, 83 s on 2 idle cores) and the comparison with peers (223 s with its 10^6-row scale case;
# PEERS=0 skips it), then the
# report with all its sections.
RECORDS ?= results/runs.jsonl
REPS    ?= 7
PEERS   ?= 1
local: all datasets check-python
	$(Q)MPIEXEC="$(MPIEXEC)" BIN_DIR=$(BIN_DIR) RECORDS=$(RECORDS) REPS=$(REPS) MAX_WORKERS=$(NPROC) \
	  jobs/run-local.sh
	$(Q)$(MAKE) --no-print-directory bench-mpi
	$(Q)$(MAKE) --no-print-directory bench
	$(Q)$(if $(filter 0,$(PEERS)),echo "local: PEERS=0: comparison with peers skipped",$(MAKE) --no-print-directory compare)
	$(Q)$(MAKE) --no-print-directory report

REPORT_OUT ?= report/out
report: check-python
	$(Q)$(PYTHON) report/make_report.py --out $(REPORT_OUT) $(if $(TAG),--tag '$(TAG)') $(RECORDS) \
	  $(wildcard $(SIM_RECORDS) results/bench/*.json results/compare.json)

check-python:
	@test -n "$(PYTHON)" || { echo "error: no Python among '$(PYTHON_CANDIDATES)' can import numpy and matplotlib;" \
	  "install python3-numpy python3-matplotlib (make deps) or pass PYTHON=/path/to/python3" >&2; exit 1; }

# ---- toolchain -----------------------------------------------------------------
info:
	@echo "build        $(BUILD) -> $(BUILD_DIR)"
	@echo "compiler     $$($(MPICXX) --version 2>/dev/null | head -1) (via $(MPICXX))"
	@echo "MPI          $$($(PKG_CONFIG) --modversion $(MPI_PC) 2>/dev/null || echo 'not found') ($(MPI_PC)); launcher $(MPIEXEC): $$(command -v $(MPIEXEC) || echo 'not found')"
	@echo "HDF5         $$($(PKG_CONFIG) --modversion $(HDF5_PC) 2>/dev/null || echo 'not found') ($(HDF5_PC))"
	@echo "OpenBLAS     $$($(PKG_CONFIG) --modversion $(BLAS_PC) 2>/dev/null || echo 'not found') ($(BLAS_PC))"
	@echo "benchmark    $$($(PKG_CONFIG) --modversion benchmark 2>/dev/null || echo 'not found')"
	@echo "python       $(or $(PYTHON),none with numpy+matplotlib)"
	@echo "flags        $(ALL_CXXFLAGS)"
	@echo "git          $(GIT_COMMIT) (dirty=$(GIT_DIRTY))"
	@echo "cores        $(NPROC)"

# Build and run: compilers, MPICH, parallel HDF5, OpenBLAS, header-only JSON and
# CLI libraries, zlib and OpenSSL (gzip and SHA-256 for the data tool), and the
# report's Python (Debian's interpreter); scikit-learn only for its digits file.
DEB_PKGS  := make g++ pkg-config git mpich libmpich-dev libhdf5-mpich-dev hdf5-tools libopenblas-dev \
             nlohmann-json3-dev libcli11-dev zlib1g-dev libssl-dev \
             python3 python3-numpy python3-matplotlib python3-sklearn python3-faiss
# Tests and benchmarks: GoogleTest, Google Benchmark, h5py (crafting bad input
# files), Chromium (the report page check), Slurm and munge (a real local cluster),
# clang with libFuzzer and LLVM's OpenMP runtime (fuzzing, the Archer race check),
# GNU time (peak memory in the stress tests), ShellCheck (the rendered sweep scripts),
# SciPy (the reference the report's statistics are tested against), PyYAML (the Spack files' checks).
TEST_DEBS := libgtest-dev libbenchmark-dev python3-h5py chromium slurm-wlm munge \
             clang libclang-rt-14-dev libomp-14-dev time shellcheck python3-scipy python3-yaml
# The simulated backend (jobs/smpi.mk): SimGrid SMPI and serial HDF5.
TEST_DEBS += $(SMPI_DEBS)
deps:
	$(Q)tools/install-deps.sh $(DEB_PKGS) $(TEST_DEBS) $(EXTRA_DEBS)

# `make deps X`: the Makefile reads only tools/deps-first.mk (top of this file), which installs
# and then runs a new make for X.

# A machine where nothing is installed until make deps runs, simulated with fake
# dpkg-query, apt-get, pkg-config and python3 (tests/fresh/fresh_machine.sh).
.PHONY: test-fresh
# The README's test command, with the suites that need no further build (the end-to-end
# suites run in make test itself).
# Both README commands in one fresh copy: the main job cut to one short repetition (the point is
# that it builds and runs from nothing, not its numbers), then the unit suite.
FRESH_LOCAL := REPS=1 PEERS=0 BENCH_REPS=1 BENCH_MIN_TIME=0.01 \
               'KMEANS_ARGS=--k 10 --iters 5 --seed 42 --init random' 'NLREG_ARGS=--epochs 200 --lr 1e-4'
test-fresh:
	$(Q)tests/fresh/fresh_machine.sh deps local test $(FRESH_LOCAL) TEST_ARGS='--only unit'

# ---- install -------------------------------------------------------------------
# PREFIX/bin: the executables and mkdata. PREFIX/share/hpc-batch: the repository's layout for
# everything the jobs use (job scripts and sweep driver, report generator, the datasets converted
# and raw with their conversion, this Makefile), with build/<config>/bin a link to PREFIX/bin, so jobs/sweep.py and
# the job scripts work from there unchanged (give --results and --records outside the install).
# DESTDIR stages the tree for packaging (spack/packages/hpc-batch/package.py uses PREFIX).
PREFIX  ?= /usr/local
DESTDIR ?=
SHARE_DIR = $(DESTDIR)$(PREFIX)/share/hpc-batch
INSTALL_TREES := jobs report tools datasets/raw
INSTALL_FILES := Makefile README.md datasets/datasets.mk datasets/README.md datasets/PROVENANCE.md
.PHONY: install
install: all datasets
	$(Q)test -n "$(PREFIX)" || { echo "install: PREFIX is empty" >&2; exit 1; }
	$(Q)install -d "$(DESTDIR)$(PREFIX)/bin" "$(SHARE_DIR)/$(BUILD_DIR)"
	$(Q)install -m 755 $(EXES) $(TOOLS) "$(DESTDIR)$(PREFIX)/bin/"
	$(Q)find $(INSTALL_TREES) -type f ! -path '*/tests/*' ! -path '*/__pycache__/*' ! -path 'report/out/*' \
	  ! -name '*.pyc' | while read -r f; do \
	    if [ -x "$$f" ]; then m=755; else m=644; fi; install -D -m $$m "$$f" "$(SHARE_DIR)/$$f" || exit 1; done
	$(Q)for f in $(INSTALL_FILES) $(DATASET_FILES); do install -D -m 644 "$$f" "$(SHARE_DIR)/$$f" || exit 1; done
	$(Q)ln -sfn "$$(echo $(BUILD_DIR) | sed 's|[^/]*|..|g')/../../bin" "$(SHARE_DIR)/$(BUILD_DIR)/bin"
	@echo "installed: $(DESTDIR)$(PREFIX)/bin (executables), $(SHARE_DIR) (jobs, report, datasets)"

clean:
	rm -rf build

endif  # not `make deps X` (tools/deps-first.mk)

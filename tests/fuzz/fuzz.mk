# Make fragment for reliability checks, included by the top-level Makefile
# (which defines BUILD_DIR, OBJ_DIR, BIN_DIR, PKG_CONFIG, HDF5_PC, BLAS_PC, PYTHON, Q).
#
#   make fuzz          every fuzz target for FUZZ_SECONDS (default 20) each, CI-sized
#   make fuzz FUZZ_SECONDS=600      the long runs
#   make fuzz-build    only build the libFuzzer binaries (build/fuzz/fuzz_<target>)
#   make test-asan     the unit and end-to-end tests on the ASan + UBSan build (build/debug)
#   make race-check    ThreadSanitizer + Archer on the OpenMP and hybrid executables (build/tsan)
#   make stress        tests/stress: 7 ranks on 2 cores, k = 1000, 1e8 regression points, 1e7 x 64 k-means
#                      (a 1.6 GB file in TMPDIR, skipped when disk or memory lack room); ~35 s
#
# The fuzzers are built with clang (libFuzzer: Debian clang, libclang-rt-14-dev);
# the race check with g++ and LLVM's OpenMP runtime (libomp-14-dev). Nothing here
# changes the normal build. Details: tests/fuzz/README.md.

FUZZ_CXX      ?= clang++
BLAS_PC       ?= openblas
FUZZ_DIR      := build/fuzz
FUZZ_TARGETS  := idx csv h5
FUZZ_SECONDS  ?= 20

FUZZ_PKG_CFLAGS = $(eval FUZZ_PKG_CFLAGS := $$(shell $(PKG_CONFIG) --cflags $(HDF5_PC) zlib libcrypto))$(FUZZ_PKG_CFLAGS)
FUZZ_PKG_LIBS   = $(eval FUZZ_PKG_LIBS := $$(shell $(PKG_CONFIG) --libs $(HDF5_PC) zlib libcrypto))$(FUZZ_PKG_LIBS)
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CXXFLAGS := -std=c++20 -g1 -O1 -fno-omit-frame-pointer $(FUZZ_SAN) -Isrc -Itests/fuzz -MMD -MP

# The parser sources each target links: instrumented for coverage (fuzzer-no-link).
FUZZ_SRC.idx := src/io/idx.cpp
FUZZ_SRC.csv := src/io/csv.cpp
FUZZ_SRC.h5  := src/io/h5_read.cpp src/io/h5_probe.cpp src/io/h5_write.cpp src/io/h5_dtype.cpp src/common/sha256.cpp
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)

.PHONY: fuzz fuzz-build fuzz-toolchain test-asan race-check race-build stress

fuzz-build: $(FUZZ_BINS)

fuzz-toolchain:
	@command -v $(FUZZ_CXX) > /dev/null || { echo "fuzz: $(FUZZ_CXX) not found (Debian: clang libclang-rt-14-dev)" >&2; exit 1; }

$(FUZZ_DIR)/obj/%.o: src/%.cpp | fuzz-toolchain
	@mkdir -p $(@D)
	@echo "  FUZZCXX $<"
	$(Q)$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_PKG_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/obj/fuzz/%.o: tests/fuzz/%.cpp | fuzz-toolchain
	@mkdir -p $(@D)
	@echo "  FUZZCXX $<"
	$(Q)$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_PKG_CFLAGS) -c -o $@ $<

# Link flags escaped so they expand at recipe time (after make deps), as in the Makefile's exe_rule.
define fuzz_rule
$(FUZZ_DIR)/fuzz_$(1): $(FUZZ_DIR)/obj/fuzz/fuzz_$(1).o $(FUZZ_SRC.$(1):src/%.cpp=$(FUZZ_DIR)/obj/%.o)
	@echo "  FUZZLD  $$@"
	$$(Q)$$(FUZZ_CXX) $$(FUZZ_SAN) -fsanitize=fuzzer -o $$@ $$^ $$(FUZZ_PKG_LIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_rule,$(t))))

# Each target runs from its committed seeds, the saved regression inputs and what
# earlier runs here found (build/fuzz/corpus/<target>, where new inputs go).
# tests/fuzz/run_fuzz.py runs them and says what they found; a finding in our
# code fails the target and leaves the input in build/fuzz/artifacts/<target>/:
# replay it with `build/fuzz/fuzz_<target> FILE`, fix, then keep it in
# tests/fuzz/regressions/<target>/ (tests/unit/test_fuzz_regressions.cpp replays
# those in every `make test`). Crashes inside the HDF5 library itself are
# triaged apart and replayed through the release executables (which walk each
# input in a child process first): they fail the run unless the executables
# end cleanly (tests/fuzz/README.md). So `make fuzz` needs `make` too.
fuzz: $(FUZZ_BINS) all check-python
	$(Q)$(PYTHON) tests/fuzz/run_fuzz.py --bin $(FUZZ_DIR) --seconds $(FUZZ_SECONDS) --exe-bin $(BIN_DIR)

# ---- sanitizers ------------------------------------------------------------------
# The compiled code's tests on the ASan + UBSan build: the unit and end-to-end suites
# (the report's and the job scripts' suites are Python alone, which the sanitizers do
# not see), with HPCB_SANITIZED=1 so that sweeps over many worker counts take a
# representative few (tests/e2e/util.py). HWLOC_COMPONENTS=-pci: hwloc's PCI
# plugin, which MPICH's MPI_Init loads, leaks ~1 KB and is unloaded before exit,
# so LeakSanitizer reports it with no symbols to suppress by; without PCI
# discovery (unused on one node) there is nothing to report. Nothing else is
# suppressed: tests/sanitizers/README.md.
SAN_ENV := HWLOC_COMPONENTS=-pci ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1 \
           UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
test-asan:
	$(Q)$(SAN_ENV) HPCB_SANITIZED=1 $(MAKE) --no-print-directory BUILD=debug test TEST_ARGS='--only unit e2e'

# ThreadSanitizer must see every synchronisation: LLVM's OpenMP runtime (libomp)
# reports its barriers, locks and task edges to TSan through Archer
# (libarcher.so, an OMPT tool); GCC's libgomp reports nothing, so TSan would
# flag every barrier-separated access. The code is compiled by the usual g++
# (clang 14 cannot compile this C++20 code: it lacks lambda captures of
# structured bindings) and linked against libomp, which implements the GOMP_*
# entry points g++ emits.
LLVM_LIBDIR  ?= $(patsubst %/,%,$(dir $(firstword $(wildcard /usr/lib/llvm-*/lib/libarcher.so))))
ARCHER_LIB   ?= $(LLVM_LIBDIR)/libarcher.so
TSAN_DIR     := build/tsan
TSAN_CXXFLAGS := -std=c++20 -g1 -O1 -fno-omit-frame-pointer -Wno-psabi $(ARCH) -fsanitize=thread -fopenmp -Isrc -MMD -MP \
                 -DHPCB_CXXFLAGS='"-std=c++20 -O1 -fsanitize=thread -fopenmp (race check, libomp)"'
# Recursive (=), like the pkg-config flags: libomp is found only after make deps.
TSAN_LDFLAGS = -fsanitize=thread $(LLVM_LIBDIR)/libomp.so -Wl,-rpath,$(LLVM_LIBDIR)
TSAN_PKG_CFLAGS = $(eval TSAN_PKG_CFLAGS := $$(shell $(PKG_CONFIG) --cflags $(HDF5_PC) $(BLAS_PC) zlib libcrypto))$(TSAN_PKG_CFLAGS)
TSAN_PKG_LIBS   = $(eval TSAN_PKG_LIBS := $$(shell $(PKG_CONFIG) --libs $(HDF5_PC) $(BLAS_PC) zlib libcrypto))$(TSAN_PKG_LIBS)
TSAN_LIB_SRC := $(filter-out src/tools/%,$(LIB_SRC))
TSAN_LIB_OBJ := $(TSAN_LIB_SRC:src/%.cpp=$(TSAN_DIR)/obj/%.o)
TSAN_BINS    := $(foreach a,kmeans nlreg,$(foreach b,omp hybrid,$(TSAN_DIR)/bin/$(a)_$(b)))

$(TSAN_DIR)/obj/%.o: src/%.cpp
	@mkdir -p $(@D)
	@echo "  TSANCXX $<"
	$(Q)$(MPICXX) $(TSAN_CXXFLAGS) $(TSAN_PKG_CFLAGS) -c -o $@ $<

define tsan_rule
$(TSAN_DIR)/bin/$(1)_$(2): $(TSAN_DIR)/obj/$(1)/$(1)_main.o $(TEAM_SRC_$(2):src/%.cpp=$(TSAN_DIR)/obj/%.o) $(TSAN_LIB_OBJ)
	@mkdir -p $$(@D)
	@echo "  TSANLD  $$@"
	$$(Q)$$(MPICXX) -o $$@ $$^ $$(TSAN_LDFLAGS) $$(TSAN_PKG_LIBS) -lm
endef
$(foreach a,kmeans nlreg,$(foreach b,omp hybrid,$(eval $(call tsan_rule,$(a),$(b)))))

$(TSAN_DIR)/bin/race_control: tests/sanitizers/race_control.cpp
	@mkdir -p $(@D)
	@echo "  TSANCXX $<"
	$(Q)$(MPICXX) $(TSAN_CXXFLAGS) -o $@ $< $(TSAN_LDFLAGS)

race-build: $(TSAN_BINS) $(TSAN_DIR)/bin/race_control

race-check: $(TSAN_BINS) $(TSAN_DIR)/bin/race_control datasets
	$(Q)test -f "$(ARCHER_LIB)" || { echo "race-check: libarcher.so not found (Debian: libomp-14-dev)" >&2; exit 1; }
	$(Q)ARCHER_LIB=$(ARCHER_LIB) TSAN_BIN=$(TSAN_DIR)/bin tests/sanitizers/race_check.sh

# ---- stress ----------------------------------------------------------------------
stress: all datasets check-python
	$(Q)$(PYTHON) tests/run_tests.py --only stress --bin $(BIN_DIR) --mpiexec "$(MPIEXEC)" --python "$(PYTHON)"

-include $(shell find $(FUZZ_DIR)/obj $(TSAN_DIR)/obj -name '*.d' 2>/dev/null)

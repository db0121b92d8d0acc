# Make fragment, included by the top-level Makefile (which defines BIN_DIR and Q):
# `make datasets` converts the raw inputs in datasets/raw and generates the small
# synthetic sets. Layout and formulas: datasets/README.md.

DATA_DIR   := datasets
RAW_DIR    := $(DATA_DIR)/raw
MKDATA     := $(BIN_DIR)/mkdata
# scikit-learn's copy of the UCI digits (Debian package python3-sklearn); optional.
DIGITS_SRC ?= /usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz

MNIST_RAW  := $(RAW_DIR)/mnist/t10k-images-idx3-ubyte.gz $(RAW_DIR)/mnist/t10k-labels-idx1-ubyte.gz
REGR_RAW   := $(RAW_DIR)/regression/20K_Datapoints.csv
REGR_SOURCE := 20K_Datapoints.csv: the nonlinear-regression data of the parallel-computing course COP 6526 (course material); x = column X, y = column Y

DATASET_FILES := $(addprefix $(DATA_DIR)/,mnist10k.h5 regression20k.h5 blobs-small.h5 \
                   blobs-f64.h5 quad-small.h5)
ifneq ($(wildcard $(DIGITS_SRC)),)
  DATASET_FILES += $(DATA_DIR)/digits.h5
endif

.PHONY: datasets datasets-verify-raw datasets-clean

datasets: $(DATASET_FILES)
ifeq ($(wildcard $(DIGITS_SRC)),)
	@echo "datasets: skipping digits.h5: $(DIGITS_SRC) not found (install python3-sklearn or set DIGITS_SRC=...)"
endif

# Every conversion waits for the checksum check (order-only: a passing check
# does not by itself make the outputs stale).
datasets-verify-raw: $(RAW_DIR)/SHA256SUMS
	$(Q)cd $(RAW_DIR) && sha256sum --check --quiet --strict SHA256SUMS || \
	  { echo "datasets: raw files in $(RAW_DIR) are missing or do not match SHA256SUMS" \
	         "(see datasets/PROVENANCE.md for their origin)" >&2; exit 1; }

# A raw file that is not there cannot be made: say so plainly.
$(RAW_DIR)/%:
	@echo "datasets: raw file $@ is missing (see datasets/PROVENANCE.md for its origin)" >&2; exit 1

$(DATA_DIR)/mnist10k.h5: $(MNIST_RAW) $(MKDATA) | datasets-verify-raw
	@echo "  MKDATA  $@"
	$(Q)$(MKDATA) mnist --images $(word 1,$(MNIST_RAW)) --labels $(word 2,$(MNIST_RAW)) --out $@

$(DATA_DIR)/regression20k.h5: $(REGR_RAW) $(MKDATA) | datasets-verify-raw
	@echo "  MKDATA  $@"
	$(Q)$(MKDATA) csv --in $< --out $@ --source "$(REGR_SOURCE)"

$(DATA_DIR)/digits.h5: $(DIGITS_SRC) $(MKDATA)
	@echo "  MKDATA  $@"
	$(Q)$(MKDATA) digits --in $< --out $@

$(DATA_DIR)/blobs-small.h5: $(MKDATA)
	@echo "  MKDATA  $@"
	$(Q)$(MKDATA) blobs --n 20000 --d 16 --k 8 --seed 1 --dtype float32 --out $@

$(DATA_DIR)/blobs-f64.h5: $(MKDATA)
	@echo "  MKDATA  $@"
	$(Q)$(MKDATA) blobs --n 5000 --d 8 --k 5 --seed 2 --dtype float64 --out $@

$(DATA_DIR)/quad-small.h5: $(MKDATA)
	@echo "  MKDATA  $@"
	$(Q)$(MKDATA) quadratic --n 5000 --a 2 --b -3 --c 5 --noise 0.5 --seed 3 --out $@

datasets-clean:
	rm -f $(DATA_DIR)/*.h5

# `make deps X ...` (the README's commands): nothing of X may be read or built before the
# packages are in, because X's compiler and linker flags come from pkg-config and its Python
# from tools/find-python.sh. So this make reads nothing else (the top-level Makefile includes
# only this file when deps is a goal beside others): it runs `make deps`, then one new make per
# goal, in the order given, each reading the Makefile after the install and building in
# parallel (-j$(JOBS), default: the online CPUs). Variables given on the command line
# (TEST_ARGS=..., REPS=...) reach those makes as usual through MAKEFLAGS.
JOBS ?= $(shell nproc 2>/dev/null || echo 1)
AFTER_DEPS := $(filter-out deps,$(MAKECMDGOALS))

.NOTPARALLEL:
.PHONY: deps $(AFTER_DEPS)
deps:
	+@$(MAKE) --no-print-directory deps
$(AFTER_DEPS): deps
	+@$(MAKE) --no-print-directory -j$(JOBS) $@

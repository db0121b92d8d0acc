// Force-included into every object of the simulated build (jobs/smpi.mk), in place of the
// smpi_helpers.h that SimGrid's smpicxx force-includes: clock_gettime becomes SMPI's simulated
// clock, so the timers of common/timer.hpp measure simulated seconds with unchanged code.
// Only the clock: smpi_helpers.h also turns malloc, free and exit into macros, which breaks
// C++ headers (CLI11's App::exit) and is not needed (no shared-memory folding is used).
#pragma once

#include <smpi/smpi_helpers_internal.h>

#define clock_gettime(x, y) smpi_clock_gettime((x), (y))

#!/usr/bin/env python3
"""The OpenBLAS core type (kernel set) a timed program should run with.

Debian's OpenBLAS is built with DYNAMIC_ARCH: at load time it picks a kernel set
from the CPUID. A release older than the CPU does not recognise it and falls back
to a generic kernel (e.g. 0.3.21 on a recent Xeon: "Prescott", SSE3 only), about 5x
slower for SGEMM than the AVX-512 kernel the CPU can run. Timing numpy,
scikit-learn, faiss or our own SGEMM reference on that fallback would compare
against a handicapped library, so every timed command gets the best core type for
the CPU through OPENBLAS_CORETYPE in that command's environment only, when:

  - OPENBLAS_CORETYPE is unset (a user or an administrator who set it may be
    avoiding a kernel that is wrong or crashes on this machine: kept as set), and
  - the detected core type has no AVX2 kernels while the CPU has AVX2 (+FMA) or
    AVX-512 (F, DQ, CD, BW, VL, as OpenBLAS's SkylakeX kernels need).

Used by tools/compare.py (the peers) and `make bench` (the SGEMM microbenchmarks):

    blas_coretype.py --binary PROGRAM   print OPENBLAS_CORETYPE=<core> for the OpenBLAS
                                        PROGRAM links (nothing when no override is due);
                                        the decision and its reason go to stderr
"""
import argparse
import ctypes
import os
import re
import subprocess
import sys

# OpenBLAS core types (openblas_get_corename(), compared in lower case) whose kernels use
# AVX-512, and those that use at least AVX2 + FMA.
AVX512_CORES = {"skylakex", "cooperlake", "sapphirerapids"}
AVX2_CORES = AVX512_CORES | {"haswell", "zen"}
# The CPU features OpenBLAS requires before it runs those kernels (driver/others/dynamic.c).
AVX512_FLAGS = {"avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl"}
AVX2_FLAGS = {"avx2", "fma"}


def best_core(flags):
    """The fastest OpenBLAS core type whose kernels the CPU with these /proc/cpuinfo flags
    can run, or None when only the older kernels apply."""
    flags = set(flags)
    if AVX512_FLAGS <= flags:
        return "SkylakeX"
    if AVX2_FLAGS <= flags:
        return "Haswell"
    return None


def choose(flags, detected, env_value):
    """What a timed command's OPENBLAS_CORETYPE should be.

    flags: the CPU's /proc/cpuinfo flags; detected: the core type OpenBLAS picks (its
    openblas_get_corename()) or None when unknown; env_value: OPENBLAS_CORETYPE as
    inherited (None or "" when unset). Returns (core, reason): core is the value to set
    in the command's environment, or None to leave the environment as it is."""
    if env_value:
        return None, f"OPENBLAS_CORETYPE={env_value} is set: kept (OpenBLAS runs {detected or 'it'})"
    if not detected:
        return None, "no OpenBLAS core type detected: environment unchanged"
    best = best_core(flags)
    if best is None:
        return None, f"OpenBLAS chose {detected}; the CPU has no AVX2: kept"
    if detected.lower() in AVX2_CORES:
        return None, f"OpenBLAS chose {detected}, an AVX2 or AVX-512 kernel: kept"
    return best, f"OpenBLAS chose {detected}, a generic kernel for this CPU (it has " \
                 f"{'AVX-512' if best == 'SkylakeX' else 'AVX2'}): OPENBLAS_CORETYPE={best} for the timed command"


def cpu_flags(path="/proc/cpuinfo"):
    """The first processor's flags."""
    try:
        with open(path, errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def library_core(path):
    """openblas_get_corename() of the OpenBLAS at `path` loaded into this process (which
    honours this process's OPENBLAS_CORETYPE), or None."""
    try:
        lib = ctypes.CDLL(path)
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode(errors="replace").strip() or None
    except (OSError, AttributeError):
        return None


def linked_openblas(binary):
    """The libopenblas a dynamically linked program resolves (ldd), or None."""
    try:
        out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=False).stdout
    except OSError:
        return None
    m = re.search(r"libopenblas\S*\s+=>\s+(\S+)", out)
    return m.group(1) if m else None


def python_cores():
    """The core types of the OpenBLAS libraries loaded into this process (threadpoolctl;
    import numpy and the libraries first), as a sorted list."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return sorted({i.get("architecture") for i in threadpool_info()
                   if i.get("internal_api") == "openblas" and i.get("architecture")})


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True, help="the program whose OpenBLAS decides")
    args = parser.parse_args()
    lib = linked_openblas(args.binary)
    detected = library_core(lib) if lib else None
    core, reason = choose(cpu_flags(), detected, os.environ.get("OPENBLAS_CORETYPE"))
    print(f"blas_coretype: {reason}", file=sys.stderr)
    if core:
        print(f"OPENBLAS_CORETYPE={core}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

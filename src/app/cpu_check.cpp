// Start-up check that this CPU has every instruction set the binary was compiled for.
//
// A binary built with ARCH=-march=native on a new login node, or with -march=skylake-avx512 for
// one CPU family, dies with SIGILL (no message, exit 132) on an older node of a mixed partition.
// This check turns that into one line on stderr and exit status 1.
//
// It must run before any code compiled for the target executes, so:
//  - the Makefile compiles this file WITHOUT $(ARCH) (baseline x86-64 code only) and passes
//    HPCB_TARGET_ISA, the instruction-set macros the compiler defines for $(ARCH) (from
//    `$(MPICXX) $(ARCH) -dM -E`, e.g. "AVX AVX2 FMA AVX512F"), and HPCB_TARGET_ARCH, the flag;
//  - it runs as a priority-101 constructor, before the executable's own static initialisers
//    (compiled for the target). glibc passes argc/argv to constructors, so the message starts
//    with the program's name like every other error line.
#include <unistd.h>

#include <cstring>

#ifndef HPCB_TARGET_ISA
#define HPCB_TARGET_ISA ""
#endif
#ifndef HPCB_TARGET_ARCH
#define HPCB_TARGET_ARCH "(default)"
#endif

#if defined(__x86_64__)
namespace {

struct Feature {
  const char* macro;  // as in __<macro>__, the word in HPCB_TARGET_ISA
  const char* name;   // __builtin_cpu_supports name, also shown to the user
  bool (*present)();  // the running CPU has it (the builtin takes literals only)
};

#define HPCB_FEATURE(macro, name) \
  Feature { macro, name, [] { return __builtin_cpu_supports(name) != 0; } }

// x86-64-v3 (SSE4.2, POPCNT, AVX, AVX2, FMA, BMI1/2) and the AVX-512 subsets in which Skylake-SP,
// Cascade Lake, Ice Lake and Sapphire Rapids differ. A macro not listed here is not checked.
const Feature kFeatures[] = {
    HPCB_FEATURE("SSE4_2", "sse4.2"),         HPCB_FEATURE("POPCNT", "popcnt"),
    HPCB_FEATURE("AVX", "avx"),               HPCB_FEATURE("AVX2", "avx2"),
    HPCB_FEATURE("FMA", "fma"),               HPCB_FEATURE("BMI", "bmi"),
    HPCB_FEATURE("BMI2", "bmi2"),             HPCB_FEATURE("AVX512F", "avx512f"),
    HPCB_FEATURE("AVX512BW", "avx512bw"),     HPCB_FEATURE("AVX512CD", "avx512cd"),
    HPCB_FEATURE("AVX512DQ", "avx512dq"),     HPCB_FEATURE("AVX512VL", "avx512vl"),
    HPCB_FEATURE("AVX512VNNI", "avx512vnni"), HPCB_FEATURE("AVX512IFMA", "avx512ifma"),
    HPCB_FEATURE("AVX512VBMI", "avx512vbmi"), HPCB_FEATURE("AVX512VBMI2", "avx512vbmi2"),
    HPCB_FEATURE("AVX512BITALG", "avx512bitalg"), HPCB_FEATURE("AVX512VPOPCNTDQ", "avx512vpopcntdq"),
    HPCB_FEATURE("AVX512BF16", "avx512bf16"),
// Sapphire Rapids' FP16: GCC 12 knows the name; clang 14 (the fuzz and race-check builds) does not.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
    HPCB_FEATURE("AVX512FP16", "avx512fp16"),
#endif
};

constexpr char kTargetIsa[] = HPCB_TARGET_ISA;

bool built_for(const char* macro) {
  const std::size_t len = std::strlen(macro);
  for (const char* p = kTargetIsa; (p = std::strstr(p, macro)) != nullptr; p += len) {
    const bool starts = p == kTargetIsa || p[-1] == ' ';
    if (starts && (p[len] == ' ' || p[len] == '\0')) return true;
  }
  return false;
}

// write(2), not stdio: nothing here may depend on initialisation that has not run yet.
void say(const char* text) {
  if (write(STDERR_FILENO, text, std::strlen(text)) < 0) { /* nowhere left to report it */ }
}

__attribute__((constructor(101))) void require_cpu_features(int argc, char** argv, char**) {
  __builtin_cpu_init();
  const char* missing[sizeof kFeatures / sizeof kFeatures[0]];
  std::size_t n_missing = 0;
  for (const Feature& f : kFeatures)
    if (built_for(f.macro) && !f.present()) missing[n_missing++] = f.name;
  if (n_missing == 0) return;
  const char* prog = argc > 0 && argv != nullptr && argv[0] != nullptr ? argv[0] : "hpc-batch";
  if (const char* slash = std::strrchr(prog, '/')) prog = slash + 1;
  say(prog);
  say(": this CPU lacks");
  for (std::size_t i = 0; i < n_missing; ++i) {
    say(i == 0 ? " " : ", ");
    say(missing[i]);
  }
  say(", which this binary was built for (" HPCB_TARGET_ARCH "); run the build for this node's CPU"
      " family or one made with ARCH=-march=x86-64-v3 (README, \"Binaries for a mixed partition\")\n");
  _exit(1);
}

}  // namespace
#endif  // __x86_64__

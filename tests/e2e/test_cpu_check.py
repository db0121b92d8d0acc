"""The start-up CPU check (src/app/cpu_check.cpp): a binary built for instruction sets this CPU
lacks stops with one line and exit status 1, before any of its own code (static initialisers
included) runs, instead of dying on an illegal instruction; and the Makefile compiles the check
without -march while telling it what the target enables."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from tests.e2e.util import ROOT
from tests.skips import skip_anywhere

# (macro word in HPCB_TARGET_ISA, its /proc/cpuinfo flag, the name the message uses)
CANDIDATES = [("AVX512FP16", "avx512_fp16", "avx512fp16"), ("AVX512BF16", "avx512_bf16", "avx512bf16"),
              ("AVX512VNNI", "avx512_vnni", "avx512vnni"), ("AVX512F", "avx512f", "avx512f"),
              ("AVX2", "avx2", "avx2")]

# If the check let it through, this program would die of SIGILL in a static initialiser.
TRAP_MAIN = """
static int trap() { __builtin_trap(); return 0; }
static int initialised = trap();
int main() { return initialised; }
"""


def cpu_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


@unittest.skipUnless(os.uname().machine == "x86_64", "the check is for x86-64")
class CpuCheck(unittest.TestCase):
    def compile(self, tmp, isa):
        cxx = shutil.which("g++") or shutil.which("c++")
        main = os.path.join(tmp, "main.cpp")
        with open(main, "w") as f:
            f.write(TRAP_MAIN)
        exe = os.path.join(tmp, "kmeans_fake")
        subprocess.run([cxx, "-std=c++20", "-O2", f'-DHPCB_TARGET_ISA="{isa}"',
                        '-DHPCB_TARGET_ARCH="-march=future"', os.path.join(ROOT, "src", "app", "cpu_check.cpp"),
                        main, "-o", exe], check=True, capture_output=True)
        return exe

    def test_missing_instruction_set_is_one_line_and_exit_1(self):
        have = cpu_flags()
        missing = next((c for c in CANDIDATES if c[1] not in have), None)
        if missing is None:
            skip_anywhere(self, "this CPU has every candidate instruction set")
        with tempfile.TemporaryDirectory() as tmp:
            p = subprocess.run([self.compile(tmp, "SSE4_2 AVX " + missing[0])], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1, p.stderr)
        lines = p.stderr.splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith(f"kmeans_fake: this CPU lacks {missing[2]}, which this binary was "
                                            "built for (-march=future)"), lines[0])

    def test_present_instruction_sets_pass(self):
        have = cpu_flags()
        present = " ".join(c[0] for c in CANDIDATES if c[1] in have)
        with tempfile.TemporaryDirectory() as tmp:
            p = subprocess.run([self.compile(tmp, present)], capture_output=True, text=True)
        self.assertEqual(p.returncode, -4, "the program itself should have run (and trapped): " + p.stderr)

    def test_makefile_builds_the_check_without_march_and_passes_the_target(self):
        # A make of its own: not the variables of a make this suite may run under (test-asan's BUILD=debug).
        env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
        # -B: the command is printed also where that object is already built (a TARGET build here).
        p = subprocess.run(["make", "-n", "-B", "V=1", "BUILD=release", "TARGET=x86-64-v3",
                            "build/release-x86-64-v3/obj/app/cpu_check.o"],
                           capture_output=True, text=True, cwd=ROOT, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        commands = p.stdout.replace("\\\n", " ").splitlines()   # continuation lines joined
        line = next(l for l in commands if "cpu_check.cpp" in l and " -c " in l)
        self.assertNotIn("-march", line.split("-DHPCB_TARGET_ARCH")[0])
        isa = re.search(r"-DHPCB_TARGET_ISA='\"([^\"]*)\"'", line).group(1).split()
        for word in ("AVX", "AVX2", "FMA", "BMI2"):
            self.assertIn(word, isa)
        self.assertNotIn("AVX512F", isa)
        self.assertIn("-DHPCB_TARGET_ARCH='\"-march=x86-64-v3\"'", line)


if __name__ == "__main__":
    unittest.main()


class NativeOnLoginWarning(unittest.TestCase):
    """`make` warns when -march=native builds on a login node (tools/warn-native-on-login.sh):
    a slurm.conf whose controller is another machine, outside a job."""
    SCRIPT = os.path.join(ROOT, "tools", "warn-native-on-login.sh")

    def run_with(self, conf_text, arch, **env):
        with tempfile.NamedTemporaryFile("w", suffix=".conf") as conf:
            conf.write(conf_text)
            conf.flush()
            full = {k: v for k, v in os.environ.items() if k != "SLURM_JOB_ID"}
            full.update(SLURM_CONF=conf.name, **env)
            return subprocess.run([self.SCRIPT, arch], env=full, capture_output=True, text=True)

    def test_login_node_native_warns(self):
        p = self.run_with("SlurmctldHost=ctl-01(10.0.0.1)\n", "-march=native")
        self.assertEqual(p.returncode, 0)
        self.assertIn("warning: building with -march=native on a Slurm login node (controller: ctl-01)", p.stderr)

    def test_portable_target_or_inside_job_or_local_controller_is_quiet(self):
        self.assertEqual(self.run_with("SlurmctldHost=ctl-01\n", "-march=x86-64-v3").stderr, "")
        self.assertEqual(self.run_with("SlurmctldHost=ctl-01\n", "-march=native", SLURM_JOB_ID="7").stderr, "")
        self.assertEqual(self.run_with("SlurmctldHost=localhost\n", "-march=native").stderr, "")
        self.assertEqual(self.run_with(f"SlurmctldHost={os.uname().nodename}\n", "-march=native").stderr, "")

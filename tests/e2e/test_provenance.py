"""The machine in the run record's prov (README "Run records"), checked against what Python
reads independently from /proc/cpuinfo, /proc/meminfo, /etc/os-release, uname and the
process's own command line; and values from the environment that are not UTF-8 still give
a valid record."""
import os
import platform
import shutil
import subprocess
import unittest

from tests.e2e.util import appended_record, command, DATA, TempDir, run, SANITIZED

ISA = ("avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni")


def cpuinfo_first():
    fields = {}
    with open("/proc/cpuinfo", errors="replace") as f:
        for line in f:
            if not line.strip():
                if fields:
                    break
                continue
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    return fields


def mem_total_bytes():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return None


class MachineFields(unittest.TestCase):
    def record(self, backend, workers, env_prefix=()):
        with TempDir() as tmp:
            args = ["--data", os.path.join(DATA, "regression20k.h5"), "--epochs", "5", "--record", tmp.records,
                    "--quiet"]
            proc = run("nlreg", backend, workers, args, prefix=env_prefix)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            return appended_record(proc)["prov"], command("nlreg", backend, workers, args)

    def test_cpu_memory_os_kernel(self):
        prov, _ = self.record("seq", 1)
        cpu = cpuinfo_first()
        flags = set(cpu.get("flags", "").split())
        self.assertEqual(prov["cpu"], cpu["model name"])
        self.assertEqual(prov["cpu_vendor"], cpu["vendor_id"])
        self.assertEqual(prov["cpu_family"], int(cpu["cpu family"]))
        self.assertEqual(prov["cpu_model_number"], int(cpu["model"]))
        self.assertEqual(prov["cpu_stepping"], int(cpu["stepping"]))
        for flag in ISA:
            self.assertEqual(flag in prov["cpu_flags"], flag in flags, flag)
        self.assertLessEqual(set(prov["cpu_flags"]), flags)
        self.assertEqual(prov["hypervisor"], "hypervisor" in flags)
        if "hypervisor" not in flags:
            self.assertIsNone(prov["hypervisor_vendor"])
        elif shutil.which("lscpu"):
            out = subprocess.run(["lscpu"], capture_output=True, text=True, env=dict(os.environ, LC_ALL="C")).stdout
            vendor = next((line.split(":", 1)[1].strip() for line in out.splitlines()
                           if line.startswith("Hypervisor vendor:")), None)
            if vendor:  # lscpu names the same CPUID signature: "KVM" for "KVMKVMKVM", "Microsoft" for "Microsoft Hv"
                self.assertIn(vendor[:3].lower(), prov["hypervisor_vendor"].lower())
        self.assertEqual(prov["cores"], os.cpu_count())
        self.assertEqual(prov["cpus_allowed"], len(os.sched_getaffinity(0)))
        self.assertEqual(prov["memory_bytes"], mem_total_bytes())
        self.assertEqual(prov["os"], platform.freedesktop_os_release()["PRETTY_NAME"])
        u = os.uname()
        self.assertEqual(prov["kernel"], f"{u.sysname} {u.release}")
        self.assertEqual(prov["arch"], u.machine)
        self.assertIn("-march=native" if not SANITIZED else "-fsanitize=address", prov["flags"])
        self.assertTrue(prov["compiler"].startswith("g++ "))

    def test_cpus_allowed_under_openmp_binding(self):
        # With OMP_PROC_BIND the OpenMP runtime binds the initial thread to one CPU before main;
        # the record must still name the CPUs the process was given (the OpenMP places),
        # and a narrower set given by OMP_PLACES.
        given = len(os.sched_getaffinity(0))
        for bind in ("close", "spread", "true"):
            prov, _ = self.record("omp", 2, env_prefix=("env", f"OMP_PROC_BIND={bind}"))
            self.assertEqual(prov["cpus_allowed"], given, bind)
        first = min(os.sched_getaffinity(0))
        prov, _ = self.record("omp", 1, env_prefix=("env", "OMP_PROC_BIND=close", f"OMP_PLACES={{{first}}}"))
        self.assertEqual(prov["cpus_allowed"], 1)

    def test_blas_core_and_override(self):
        prov, _ = self.record("seq", 1, env_prefix=("env", "-u", "OPENBLAS_CORETYPE"))
        self.assertIsNone(prov["openblas_coretype"])
        self.assertTrue(prov["blas_core"])
        self.assertIn(prov["blas_core"].lower(), prov["blas"].lower())  # the config string names the core too
        # Forcing a core type: the record says it was forced and which core was loaded.
        prov, _ = self.record("seq", 1, env_prefix=("env", "OPENBLAS_CORETYPE=Prescott"))
        self.assertEqual(prov["openblas_coretype"], "Prescott")
        self.assertEqual(prov["blas_core"].lower(), "prescott")

    def test_command_line(self):
        for backend, workers in (("seq", 1), ("mpi", 2)):
            with self.subTest(backend=backend):
                prov, argv = self.record(backend, workers)
                exe = argv.index(next(a for a in argv if a.endswith(f"nlreg_{backend}")))
                # Each rank's own command line: what follows the launcher.
                self.assertEqual(prov["argv"], argv[exe:])

    def test_non_utf8_environment(self):
        prov, _ = self.record("seq", 1, env_prefix=("env", b"SLURM_JOB_ID=12\xff3", "OMP_PROC_BIND=close"))
        self.assertEqual(prov["slurm_job_id"], "12\ufffd3")


if __name__ == "__main__":
    unittest.main()

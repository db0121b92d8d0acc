"""The setup section shows the provenance fields the records carry (prov), one row per
distinct value, with the launch command free of per-run options."""

import copy
import unittest

from report.tests import helpers
from report import compose, records

BASE = helpers.first_record()
PROV = {"cpu_vendor": "AuthenticAMD", "cpu_family": 25, "cpu_model_number": 17, "cpu_stepping": 1,
        "cpu_flags": ["avx2", "avx512f"], "hypervisor": True, "hypervisor_vendor": "KVMKVMKVM",
        "memory_bytes": 25276071936, "os": "Debian GNU/Linux 12 (bookworm)", "kernel": "Linux 6.1", "arch": "x86_64",
        "blas_core": "Cooperlake", "openblas_coretype": None, "omp_proc_bind": "close", "omp_places": "cores",
        "cpus_allowed": 2}


def run(tag):
    rec = copy.deepcopy(BASE)
    rec["prov"] = dict(rec["prov"], **PROV, argv=["/b/kmeans_omp", "--data", "/d/mnist10k.h5", "--record",
                                                  "/r/runs.jsonl", "--tag", tag, "--threads", "1"])
    rec["backend"] = "omp"
    fields, reason = records.validate(rec)
    assert fields is not None, reason
    return records.Run(source="mem", line=0, **fields)


class TestProvenance(unittest.TestCase):
    def test_fields_shown(self):
        class Loaded:
            runs = [run("rep0"), run("rep1")]
            benches, files, warnings = [], [], []

            def unreadable(self):
                return []
        blocks = compose.provenance_blocks(Loaded(), [], [])
        table = next(b for b in blocks if b[0] == "table")
        rows = {(r[0], r[1]): r[2] for r in table[2]}
        self.assertEqual(rows[("CPU id", "AuthenticAMD family 25 model 17 stepping 1")], "2")
        self.assertEqual(rows[("CPU flags", "avx2, avx512f")], "2")
        self.assertIn(("hypervisor", "yes (KVMKVMKVM)"), rows)
        self.assertIn(("memory", "23.5 GiB"), rows)
        self.assertIn(("OpenBLAS core type", "Cooperlake (OPENBLAS_CORETYPE=unset)"), rows)
        self.assertIn(("thread binding", "omp: OMP_PROC_BIND=close, OMP_PLACES=cores, CPUs allowed 2"), rows)
        # Two tags, one launch command: the per-run options are left out.
        self.assertEqual(rows[("launch command", "kmeans_omp --data mnist10k.h5 --threads 1")], "2")


if __name__ == "__main__":
    unittest.main()

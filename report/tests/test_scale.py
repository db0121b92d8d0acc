"""The report on a large records file (20,000 synthetic records shaped like real ones): it
completes, and its outputs agree with each other and with the input. No time limit is asserted
(timings on shared machines drift); the scale itself is what once made it take minutes."""

import json
import os
import shutil
import tempfile
import unittest

from report.tests import helpers, synth_records

N = 20_000
FAILED_EVERY = 1000


class TestScale(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        cls.records = os.path.join(cls.tmp, "runs.jsonl")
        cls.cells = synth_records.write(N, cls.records, seed=3, failed_every=FAILED_EVERY)
        cls.out = os.path.join(cls.tmp, "out")
        cls.proc = helpers.run_cli("--quiet", "--out", cls.out, cls.records, timeout=1800)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def load(self, name):
        with open(os.path.join(self.out, name)) as f:
            return json.load(f)

    def test_completes(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        for name in ("report.md", "report.html", "report.pdf", "summary.json", "answers.json"):
            self.assertGreater(os.path.getsize(os.path.join(self.out, name)), 0, name)

    def test_every_record_is_counted_once(self):
        summary = self.load("summary.json")
        ok = sum(c["n"] for g in summary["groups"] for c in g["cells"])
        failed = sum(g["failed_runs"] for g in summary["groups"])
        self.assertEqual(failed, N // FAILED_EVERY)
        self.assertEqual(ok + failed, N)
        self.assertEqual(sum(len(g["cells"]) for g in summary["groups"]), self.cells)

    def test_answers_agree_with_summary(self):
        answers = self.load("answers.json")
        self.assertEqual(answers["schema"], "answers/1")
        cells = {(g["gid"], c["backend"], tuple((c["nodes"], c["ranks"], c["threads"]))): c
                 for g in self.load("summary.json")["groups"] for c in g["cells"]}
        self.assertTrue(answers["comparisons"])
        for a in answers["comparisons"]:
            cell = cells[(a["group"], a["backend"], tuple(a["config"]))]
            base = cells[(a["group"], a["base"]["backend"], tuple(a["base"]["config"]))]
            self.assertEqual((a["n"], a["n_base"]), (len(a["times"]), len(a["base_times"])))
            self.assertEqual((a["times"], a["base_times"]), (cell["times_s"], base["times_s"]))
            self.assertIn(a["verdict"], ("faster", "slower", "no detectable difference"))
            self.assertEqual(a["verdict"] != "no detectable difference", a["p_value"] < a["alpha"], a["family"])
            self.assertAlmostEqual(a["ratio"], base["median_s"] / cell["median_s"])
            lo, hi = a["ci"]
            if a["verdict"] == "faster":
                self.assertGreater(lo, 1)
            elif a["verdict"] == "slower":
                self.assertLess(hi, 1)

    def test_scaling_is_found(self):
        # The generator's MNIST k-means has a 5% serial part: 2 to 32 threads are clearly faster.
        mnist_omp = [a for a in self.load("answers.json")["comparisons"]
                     if a["dataset"] == "datasets/mnist10k.h5" and a["backend"] == "omp" and a["question"] == "a"
                     and a["base"]["backend"] == "omp" and a["workers"] > 1]
        self.assertEqual(len(mnist_omp), 5)
        self.assertTrue(all(a["verdict"] == "faster" for a in mnist_omp), mnist_omp)


if __name__ == "__main__":
    unittest.main()

"""The summary page (report/handin.py): its sentences follow answers.json and the recorded
phases, reconcile the datasets, cite tables and figures by number, and change with the data."""

import copy
import unittest

from report.tests import helpers
from report import answers, fmt, handin, records, summary

BASE = helpers.first_record()
SEVEN = [1.00, 1.01, 1.02, 1.03, 1.04, 1.05, 1.06]


def run(backend, workers, total, io_share=0.05, comm_share=0.0, path="datasets/mnist10k.h5", n=10000,
        mstep="reduce", cores=2, **result):
    rec = copy.deepcopy(BASE)
    rec.update(backend=backend, workers=workers, ranks=workers if backend == "mpi" else 1,
               threads=1 if backend == "mpi" else workers,
               time_s={"total": total, "io": total * io_share, "init": 0.0,
                       "compute": total * (1 - io_share - comm_share), "comm": total * comm_share})
    rec["dataset"] = dict(rec["dataset"], path=path, n=n, sha256=path)
    rec["params"] = dict(rec["params"], mstep=mstep)
    rec["prov"] = dict(rec["prov"], cores=cores)
    rec["result"] = dict(rec["result"], iterations=10, **result)
    fields, reason = records.validate(rec)
    assert fields is not None, reason
    return records.Run(source="mem", line=0, **fields)


def reps(backend, workers, times, **kw):
    return [run(backend, workers, t, **kw) for t in times]


def page(runs, refs=None):
    sums = summary.summarise_all(records.group(runs))
    doc = answers.answers_json(sums)
    return sums, doc, text_of(doc, sums, refs)


def text_of(doc, sums, refs=None):
    blocks = handin.blocks(doc, sums, refs or handin.Refs({}, {}))
    heads = [b[2] for b in blocks if b[0] == "h"][1:]
    paras = [b[1] for b in blocks if b[0] == "p"][1:]
    return dict(zip(("a", "b", "c", "mstep", "regression"), paras)), heads


class TestSummaryFromFixture(unittest.TestCase):
    def setUp(self):
        loaded = records.load([helpers.fixture("runs.jsonl")], warn=lambda m: None)
        self.sums = summary.summarise_all(records.group(records.scaling_runs(loaded.runs)))
        self.doc = answers.answers_json(self.sums)

    def entry(self, question, backend, workers, base):
        return next(e for e in self.doc["comparisons"] if e["question"] == question and e["backend"] == backend
                    and e["workers"] == workers and e["base"]["backend"] == base)

    def phase(self, backend, workers, app="kmeans"):
        return next(x for x in self.doc["phases"] if x["backend"] == backend and x["workers"] == workers
                    and x["app"] == app)

    def test_sentences_quote_answers_json_and_phases(self):
        text, heads = text_of(self.doc, self.sums)
        self.assertEqual(len(heads), 5)
        best = self.entry("a", "omp", 4, "omp")
        self.assertIn("On mnist10k, 10,000 samples, more threads make it faster at every count tested (p = 2 and 4)",
                      text["a"])
        self.assertIn(f"the largest speedup over one thread, {fmt.ratio(best['ratio'])}, is at p = 4", text["a"])
        # The reason: the one-thread run's computing share, and synchronisation per iteration at p = 4.
        base, at4 = self.phase("omp", 1), self.phase("omp", 4)
        self.assertIn(f"computing, {100 * (1 - base['setup_share']):.0f}% of a one-thread run", text["a"])
        self.assertIn(f"synchronising takes {fmt.si_time(at4['comm_per_iter_s'])} per iteration against "
                      f"{fmt.si_time(at4['compute_per_iter_s'])} of computing", text["a"])
        self.assertIn("accuracy 0.5439 (Hungarian one-to-one matching", text["c"])
        self.assertIn("random initial centroids", text["c"])
        self.assertIn("Only the reduce M-step was measured", text["mstep"])
        seq2 = self.entry("regression", "mpi", 2, "seq")
        self.assertIn(f"MPI at p = 2 is faster (speedup {fmt.ratio(seq2['ratio'])}", text["regression"])
        for t in text.values():
            for gs in self.sums:
                self.assertNotIn(gs.gid, t)

    def test_sentences_change_with_the_data(self):
        before, _ = text_of(self.doc, self.sums)
        doc = copy.deepcopy(self.doc)
        for e in doc["comparisons"]:
            if e["question"] == "a":
                e["verdict"], e["ratio"] = "slower", 0.5
        for x in doc["phases"]:
            if x["backend"] == "omp" and x["workers"] == 1:
                x["setup_share"], x["io_s"], x["init_s"] = 0.6, 0.3, 0.0
        after, _ = text_of(doc, self.sums)
        self.assertNotEqual(before["a"], after["a"])
        self.assertIn("more threads make it slower", after["a"])
        self.assertIn("speedup over one thread is 0.500", after["a"])
        self.assertIn("too short to gain: reading the file and setting up take 60% of a one-thread run", after["a"])
        self.assertEqual(before["b"], after["b"])

    def test_tables_and_figures_cited_by_number(self):
        gid = next(gs.gid for gs in self.sums if gs.group.app == "kmeans")
        refs = handin.Refs({("form", gid, "omp"): 7}, {f"{gid}-speedup": 3, f"{gid}-time": 2})
        text, _ = text_of(self.doc, self.sums, refs)
        self.assertIn("(Table 7, Figures 2 and 3)", text["a"])


class TestSummaryReconciles(unittest.TestCase):
    def test_two_datasets_one_gains_one_too_short(self):
        runs = (reps("omp", 1, SEVEN) + reps("omp", 2, [t / 1.9 for t in SEVEN])
                + reps("omp", 1, SEVEN, path="datasets/digits.h5", n=1797, io_share=0.5)
                + reps("omp", 2, [t * 0.99 for t in SEVEN], path="datasets/digits.h5", n=1797, io_share=0.5))
        sums, doc, (text, _) = page(runs)
        a = text["a"]
        self.assertIn("on mnist10k, 10,000 samples, more threads make it faster at p = 2, the only count above 1 "
                      "on this 2-core machine: the speedup over one thread is 1.900", a)
        self.assertIn("On digits, 1,797 samples, more threads make no detectable difference at p = 2, the only "
                      "count above 1 on this 2-core machine", a)
        self.assertIn("the run is too short to gain: reading the file and setting up take 50% of a one-thread run",
                      a)
        for gs in sums:
            self.assertNotIn(gs.gid, a)

    def test_both_msteps_compared(self):
        runs = []
        for mstep, f in (("reduce", 1.0), ("owner", 1.3)):
            runs += reps("mpi", 1, [t * f for t in SEVEN], mstep=mstep)
            runs += reps("mpi", 2, [t * f / 1.9 for t in SEVEN], mstep=mstep)
        sums, doc, (text, _) = page(runs)
        ms = [e for e in doc["comparisons"] if e["question"] == "mstep"]
        self.assertEqual(len(ms), 2)
        self.assertTrue(all(e["same_result"] and e["verdict"] == "slower" for e in ms))
        self.assertIn("bitwise the same labels and centroids in all 2 configurations", text["mstep"])
        self.assertIn("its time is slower at mpi p = 1", text["mstep"])
        # The questions are answered from the all-reduce runs, named by data alone.
        self.assertNotIn("mstep = ", text["b"])
        self.assertIn("On mnist10k, 10,000 samples, more ranks make it faster", text["b"])

    def test_different_results_between_msteps_are_said(self):
        runs = (reps("mpi", 1, SEVEN) + reps("mpi", 1, SEVEN, mstep="owner", labels_sha256="e" * 64))
        _, doc, (text, _) = page(runs)
        self.assertIn("the same labels and centroids in 0 of 1 configurations", text["mstep"])


if __name__ == "__main__":
    unittest.main()

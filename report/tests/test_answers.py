"""The generated answers follow the decision rules, including the cases the data cannot answer."""

import unittest

from report.tests import helpers
from report import answers, records, summary

BASE = helpers.first_record()


def run(app, backend, workers, total, **result):
    """A valid record derived from the fixture's first line."""
    rec = dict(BASE, app=app, backend=backend, workers=workers,
               ranks=workers if backend == "mpi" else 1, threads=1 if backend == "mpi" else workers,
               time_s={"total": total, "compute": total * 0.9, "comm": 0.0, "io": total * 0.05})
    if app == "nlreg":
        rec["params"] = {"epochs": 100, "lr": 0.0001}
        rec["result"] = {"a": 1.0, "b": 2.0, "c": 3.0, "mse": 0.5, "mse_optimum": 0.4, "params_sha256": "abc"}
    rec["result"] = dict(rec["result"], **result)
    fields, reason = records.validate(rec)
    assert fields is not None, reason
    return records.Run(source="mem", line=0, **fields)


def answer_set(runs):
    sums = summary.summarise_all(records.group(runs))
    return {a.key: a for a in answers.all_answers(sums)}


def reps(app, backend, workers, times, **result):
    return [run(app, backend, workers, t, **result) for t in times]


SEVEN = [1.00, 1.01, 1.02, 1.03, 1.04, 1.05, 1.06]


class TestScalingAnswers(unittest.TestCase):
    def test_faster_with_ci(self):
        a = answer_set(reps("kmeans", "omp", 1, SEVEN) + reps("kmeans", "omp", 2, [t / 1.9 for t in SEVEN])
                       + reps("kmeans", "omp", 4, [t / 3.1 for t in SEVEN]))["a"]
        self.assertTrue(a.short.startswith("Faster at every tested count"), a.short)
        self.assertIn("95% CI", " ".join(a.details))

    def test_the_only_count_above_one_is_named_so(self):
        a = answer_set(reps("kmeans", "omp", 1, SEVEN) + reps("kmeans", "omp", 2, [t / 1.9 for t in SEVEN]))["a"]
        self.assertTrue(a.short.startswith("Faster at p = 2, the only count above 1"), a.short)
        self.assertNotIn("every tested count", a.short)
        self.assertIn("Karp-Flatt", " ".join(a.details))

    def test_prose_quotes_answers_json(self):
        runs = reps("kmeans", "mpi", 1, SEVEN) + reps("kmeans", "mpi", 2, [t / 1.9 for t in SEVEN])
        sums = summary.summarise_all(records.group(runs))
        doc = answers.answers_json(sums)
        for e in doc["comparisons"]:
            e["verdict"], e["ratio"], e["p_value"] = "slower", 0.123, 0.0321
        b = {a.key: a for a in answers.all_answers(sums, doc=doc)}["b"]
        self.assertTrue(b.short.startswith("Slower at p = 2"), b.short)
        self.assertIn("speedup 0.123", " ".join(b.details))
        self.assertIn("p = 0.032;", " ".join(b.details))

    def test_group_ids_stay_out_of_sentences(self):
        runs = reps("kmeans", "omp", 1, SEVEN) + reps("kmeans", "omp", 2, [t / 1.9 for t in SEVEN])
        other = [run("kmeans", "omp", r.workers, r.total) for r in runs]
        for r in other:
            r.params = dict(r.params, seed=7)
        sums = summary.summarise_all(records.group(runs + other))
        self.assertEqual(len(sums), 2)
        a = {a.key: a for a in answers.all_answers(sums)}["a"]
        for gs in sums:
            self.assertNotIn(gs.gid, a.short)
        self.assertIn("seed = 7", a.short)

    def test_partly_and_slower(self):
        runs = (reps("kmeans", "omp", 1, SEVEN) + reps("kmeans", "omp", 2, [t / 1.9 for t in SEVEN])
                + reps("kmeans", "omp", 4, [t * 1.5 for t in SEVEN]))
        a = answer_set(runs)["a"]
        self.assertTrue(a.short.startswith("Faster at p = 2"), a.short)
        self.assertIn(", but slower at p = 4", a.short)
        self.assertIn("slower at p = 4", a.short)
        only_slower = answer_set(reps("kmeans", "mpi", 1, SEVEN) + reps("kmeans", "mpi", 2, [t * 2 for t in SEVEN]))
        self.assertTrue(only_slower["b"].short.startswith("Slower at p = 2"), only_slower["b"].short)

    def test_one_repetition_cannot_answer(self):
        a = answer_set([run("kmeans", "omp", 1, 1.0), run("kmeans", "omp", 2, 0.5)])["a"]
        self.assertIn("cannot answer", a.short)
        self.assertIn("one repetition", a.short)

    def test_one_worker_count_cannot_answer(self):
        a = answer_set(reps("kmeans", "omp", 1, SEVEN))["a"]
        self.assertIn("cannot answer", a.short)
        self.assertIn("one worker count", a.short)

    def test_missing_form_and_missing_cell(self):
        runs = (reps("kmeans", "omp", 1, SEVEN) + reps("kmeans", "omp", 2, SEVEN) + reps("kmeans", "omp", 4, SEVEN)
                + reps("kmeans", "mpi", 1, SEVEN) + reps("kmeans", "mpi", 2, [t / 2 for t in SEVEN]))
        got = answer_set(runs)
        self.assertIn("cannot answer for p = 4", got["b"].short)
        self.assertTrue(got["a"].short.startswith("No detectable difference"), got["a"].short)
        no_mpi = answer_set(reps("kmeans", "omp", 1, SEVEN) + reps("kmeans", "omp", 2, SEVEN))["b"]
        self.assertIn("cannot answer: no successful mpi runs in this group", no_mpi.short)

    def test_no_runs_of_a_workload(self):
        got = answer_set(reps("kmeans", "seq", 1, SEVEN))
        self.assertIn("no successful regression runs", got["regression"].short)


class TestResultAnswers(unittest.TestCase):
    def test_identical(self):
        runs = reps("kmeans", "seq", 1, SEVEN) + reps("kmeans", "mpi", 2, SEVEN) + reps("kmeans", "mpi", 4, SEVEN)
        c = answer_set(runs)["c"]
        self.assertTrue(c.short.startswith("No:"), c.short)
        self.assertIn("identical at every worker count (p = 1, 2, 4)", c.short)

    def test_differs_by(self):
        runs = (reps("kmeans", "seq", 1, SEVEN) + reps("kmeans", "mpi", 2, SEVEN)
                + reps("kmeans", "mpi", 4, SEVEN, inertia=389424.3, accuracy=0.5441, labels_sha256="f" * 64))
        c = answer_set(runs)["c"]
        self.assertTrue(c.short.startswith("Yes: the clustering result changes with the worker count (within mpi)"),
                        c.short)
        # accuracy 0.5441 - 0.5439 = 0.0002; inertia 389424.3 - 389424.1 = 0.2
        self.assertIn("accuracy (Hungarian one-to-one matching of clusters to labels; random initial centroids) "
                      "differs by 0.000200", c.short)
        self.assertIn("inertia differs by 0.200", c.short)
        self.assertIn("labels (labels_sha256) differs (2 distinct values)", c.short)
        self.assertIn("0.5439 (seq p=1; mpi p=2) vs 0.5441 (mpi p=4)", c.short)

    def test_accuracy_not_recorded_does_not_crash(self):
        runs = reps("kmeans", "seq", 1, SEVEN, accuracy=None, nmi=None) + \
            reps("kmeans", "omp", 2, SEVEN, accuracy=None, nmi=None)
        c = answer_set(runs)["c"]
        self.assertIn("accuracy (Hungarian one-to-one matching of clusters to labels; random initial centroids): "
                      "not recorded", " ".join(c.details))
        self.assertTrue(c.short.startswith("No:"), c.short)

    def test_regression_parameters_and_runtimes(self):
        runs = (reps("nlreg", "seq", 1, [1.0, 1.1, 1.2, 1.3, 1.4]) + reps("nlreg", "omp", 2, [0.5, 0.51, 0.52, 0.53, 0.54])
                + reps("nlreg", "mpi", 2, [0.6, 0.61, 0.62, 0.63, 0.64], a=1.0000001))
        r = answer_set(runs)["regression"]
        self.assertIn("Fastest parallel median: omp at p = 2", r.short)
        # a differs between forms (mpi vs the rest), not with the worker count within a form
        self.assertIn("Not with the worker count", r.short)
        self.assertIn("a differs by 1.00e-7", r.short)
        self.assertIn("Mann-Whitney", " ".join(r.details))
        self.assertIn("measured at p = 2, the only count above 1", r.short)
        more = answer_set(runs + reps("nlreg", "omp", 4, [0.3, 0.31, 0.32, 0.33, 0.34]))["regression"]
        self.assertNotIn("the only count above 1", more.short)


if __name__ == "__main__":
    unittest.main()

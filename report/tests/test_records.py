"""Loading, validation and grouping of run records."""

import json
import os
import shutil
import tempfile
import unittest

from report.tests import helpers
from report import records, summary


class TestLoading(unittest.TestCase):
    def test_malformed_lines_are_skipped_with_file_and_line(self):
        path = helpers.fixture("malformed.jsonl")
        warnings = []
        loaded = records.load([path], warn=warnings.append)
        self.assertEqual(len(loaded.runs), 3)
        self.assertEqual([r.line for r in loaded.runs], [1, 3, 8])
        # Line 4 is blank (ignored silently); 2, 5, 6 and 7 are bad in four different ways.
        self.assertEqual(len(warnings), 4, warnings)
        for line, words in ((2, "malformed JSON"), (5, "backend"), (6, "not a JSON object"),
                            (7, "workers=3")):
            hits = [w for w in warnings if w.startswith(f"{path}:{line}:")]
            self.assertEqual(len(hits), 1, f"no single warning for line {line}: {warnings}")
            self.assertIn(words, hits[0])

    def test_validation_rules(self):
        good = helpers.first_record()
        self.assertIsNotNone(records.validate(good)[0])
        for change, words in (({"schema": "run/2"}, "schema"), ({"ranks": 0}, "ranks"),
                              ({"ranks": True}, "ranks"), ({"time_s": {"total": -1}}, "time_s.total"),
                              ({"time_s": {"io": 0.1}}, "time_s.total"), ({"dataset": {}}, "dataset")):
            fields, reason = records.validate(dict(good, **change))
            self.assertIsNone(fields, change)
            self.assertIn(words, reason)
        # A failed run needs no result or times; unknown extra fields are ignored.
        fields, _ = records.validate({"schema": "run/1", "app": "kmeans", "backend": "mpi", "status": "failed",
                                      "ranks": 4, "threads": 1, "something_new": [1, 2]})
        self.assertIsNotNone(fields)
        # workers may be absent: it is ranks * threads
        no_workers = dict(good)
        del no_workers["workers"]
        self.assertEqual(records.validate(no_workers)[0]["workers"], 1)

    def test_benchmark_json_detected_by_content_not_name(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        bench_as_jsonl = os.path.join(tmp, "looks_like_records.jsonl")
        runs_as_json = os.path.join(tmp, "looks_like_bench.json")
        shutil.copy(helpers.fixture("microbench.json"), bench_as_jsonl)
        shutil.copy(helpers.fixture("malformed.jsonl"), runs_as_json)
        loaded = records.load([bench_as_jsonl, runs_as_json])
        self.assertEqual(len(loaded.benches), 1)
        self.assertEqual(loaded.benches[0].path, bench_as_jsonl)
        self.assertEqual(len(loaded.runs), 3)
        rows = summary.summarise_benches(loaded.benches)
        self.assertEqual([r.name for r in rows], ["BM_Assign/10000/784/10", "BM_TreeSum/1048576"])
        # three repetitions, ns -> s: 8.1e6 ns * (1.00, 1.03, 0.99); median 8.1e6 ns = 8.1 ms
        self.assertEqual(len(rows[0].real_s), 3)
        self.assertAlmostEqual(rows[0].median, 8.1e-3)

    def test_one_line_benchmark_and_byte_order_mark(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        with open(helpers.fixture("microbench.json")) as f:
            bench = json.load(f)
        one_line = os.path.join(tmp, "bench.json")
        with open(one_line, "w") as f:
            f.write(json.dumps(bench) + "\n")
        bom = os.path.join(tmp, "runs.jsonl")
        with open(helpers.fixture("runs.jsonl"), "rb") as src, open(bom, "wb") as dst:
            dst.write(b"\xef\xbb\xbf" + src.read())
        loaded = records.load([one_line, bom])
        self.assertEqual([b.path for b in loaded.benches], [one_line])
        self.assertEqual(loaded.runs[0].line, 1)
        self.assertEqual(loaded.warnings, [])

    def test_only_the_fields_the_report_reads_are_kept_and_shared(self):
        loaded = records.load([helpers.fixture("runs.jsonl")])
        a, b = loaded.runs[0], loaded.runs[1]
        self.assertIs(a.dataset, b.dataset)            # one object for the same dataset
        self.assertIs(a.params, b.params)
        self.assertNotIn("inertia_trace", a.result)    # drawn nowhere
        self.assertIn("inertia", a.result)
        reg = [r for r in loaded.runs if isinstance(r.result.get("loss_trace"), dict)]
        self.assertTrue(reg)
        # Equal values of different JSON types are not merged (1 and 1.0 and true differ).
        share = records._Shared()
        self.assertIs(share({"x": 1}), share({"x": 1}))
        self.assertIsNot(share({"x": 1}), share({"x": True}))
        self.assertIsInstance(share({"x": 1.0})["x"], float)

    def test_missing_file_is_listed_not_fatal(self):
        loaded = records.load(["/nonexistent/runs.jsonl", helpers.fixture("malformed.jsonl")])
        self.assertEqual(len(loaded.runs), 3)
        self.assertEqual(loaded.unreadable()[0][0], "/nonexistent/runs.jsonl")


class TestGrouping(unittest.TestCase):
    def test_different_data_and_params_never_averaged(self):
        loaded = records.load([helpers.fixture("grouping.jsonl")])
        groups = records.group(loaded.runs)
        self.assertEqual(len(groups), 3)
        sums = {(g.dataset["path"], g.params["k"]): s for g, s in zip(groups, summary.summarise_all(groups))}
        self.assertEqual(set(sums), {("datasets/mnist10k.h5", 10), ("datasets/digits.h5", 10),
                                     ("datasets/mnist10k.h5", 5)})
        # Medians per group computed by hand from the fixture: every group has 3 seq and 3 omp runs.
        expect = {("datasets/mnist10k.h5", 10): (1.1, 0.6), ("datasets/digits.h5", 10): (0.011, 0.025),
                  ("datasets/mnist10k.h5", 5): (2.2, 1.1)}
        for key, (seq_med, omp_med) in expect.items():
            gs = sums[key]
            self.assertEqual(gs.seq.n, 3)
            self.assertAlmostEqual(gs.seq.median, seq_med)
            self.assertAlmostEqual(gs.cells["omp"][0].median, omp_med)
        # k=5 runs twice as long: averaging groups would have hidden that.
        self.assertAlmostEqual(sums[("datasets/mnist10k.h5", 5)].cells["omp"][0].vs_seq.speedup, 2.2 / 1.1)

    def test_path_is_the_fallback_key(self):
        base = helpers.first_record()
        a = dict(base, dataset={"path": "a.h5"})
        b = dict(base, dataset={"path": "b.h5"})
        runs = [records.Run(source="x", line=i, **records.validate(r)[0]) for i, r in enumerate((a, b, a))]
        groups = records.group(runs)
        self.assertEqual(sorted(len(g.runs) for g in groups), [1, 2])


if __name__ == "__main__":
    unittest.main()

"""The cost-model, Stokes-prediction and peer-comparison sections.

One report is built from fixtures/runs.jsonl with every input these sections read -- the
toolkit's `make compare` records (compare-runs.jsonl), kernel microbenchmarks (kernels.json),
alpha_beta.json and compare.json -- and its numbers are checked against bench/cost_model.py
(imported here on its own) and against arithmetic done by hand on the fixtures. The case
without those inputs is checked on the section builders directly (fast) and on the fixture
report of test_report.py.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from report import compose, fmt, model, peers, records
from report.tests import helpers

OUT = None
BUILD = None
INPUTS = ("runs.jsonl", "compare-runs.jsonl", "kernels.json", "alpha_beta.json", "compare.json")
COST_MODEL = os.path.join(helpers.REPO, "bench", "cost_model.py")


def setUpModule():
    global OUT, BUILD
    OUT = tempfile.mkdtemp(prefix="hpcb-report-perf-")
    BUILD = helpers.run_cli("--out", OUT, "--quiet", *map(helpers.fixture, INPUTS))
    if BUILD.returncode != 0:
        shutil.rmtree(OUT, ignore_errors=True)
        raise AssertionError(f"building the report failed (exit {BUILD.returncode}): {BUILD.stderr.strip()}")


def tearDownModule():
    shutil.rmtree(OUT, ignore_errors=True)


def read(name):
    with open(os.path.join(OUT, name)) as f:
        return f.read()


def fixture_json(name):
    with open(helpers.fixture(name)) as f:
        return json.load(f)


def fixture_records(name="runs.jsonl"):
    with open(helpers.fixture(name)) as f:
        return [json.loads(line) for line in f if line.strip()]


# bench/cost_model.py as its own module instance, independent of the report's import.
cm = model.import_cost_model("cost_model_under_test")
COSTS = cm.row_costs(fixture_json("kernels.json"))[0]


class TestBuild(unittest.TestCase):
    def test_side_files_read_without_warnings(self):
        # alpha_beta.json is one JSON line: read as a record, it would warn about a bad schema.
        self.assertEqual(BUILD.stderr, "")
        md = read("report.md")
        for path, kind in (("alpha_beta.json", "alpha-beta"), ("compare.json", "compare")):
            self.assertRegex(md, rf"\| {helpers.fixture(path)} \| {kind} \| 1 \|")

    def test_sections_and_figures(self):
        md = read("report.md")
        for heading in ("## Cost model against measurement", "## Prediction for a Stokes-sized sweep",
                        "## Comparison with peers"):
            self.assertIn(heading, md)
        self.assertNotIn("Built-in values stand in", md)
        # Two modelled groups (k-means, regression): two panels of 4.6 x 4.4 in at 150 dpi.
        for name, size in (("model-vs-measured", (1380, 660)), ("stokes-prediction", (1800, 675))):
            self.assertEqual(helpers.png_header(os.path.join(OUT, "figures", name + ".png"))[:2], size)
            self.assertIn(f"(figures/{name}.png)", md)
            var, ink = helpers.pixel_stats(os.path.join(OUT, "figures", name + ".png"))
            self.assertGreater(var, 100, name)


class TestModelAgainstMeasurement(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.summary = json.loads(read("summary.json"))
        cls.groups = {g["gid"].split("-")[0]: g for g in cls.summary["cost_model"]["groups"]}
        cls.first = {r["app"]: r for r in reversed(fixture_records())}   # first record of each app

    def test_modelled_groups(self):
        self.assertEqual(sorted(self.groups), ["kmeans", "nlreg"])
        self.assertEqual(self.summary["cost_model"]["row_costs_source"], helpers.fixture("kernels.json"))

    def test_numbers_are_cost_models(self):
        m = cm.machine("here", alpha_beta=fixture_json("alpha_beta.json"), cores=4)   # fixture prov.cores
        md = read("report.md")
        for app, g in self.groups.items():
            r = self.first[app]
            w = cm.workload_for(app, r["dataset"], r["params"])
            for pt in g["points"]:
                pred = cm.predict(m, w, pt["workers"], pt["nodes"], COSTS)
                self.assertEqual(pt["model_total_s"], pred.total_s, (app, pt))
                self.assertEqual(pt["model_comm_s"], pred.comm_s, (app, pt))
                self.assertAlmostEqual(pt["ratio"], pt["measured_median_s"] / pred.total_s, places=12)
                row = (f"| {pt['backend']} | {pt['workers']} | {pt['n']} | {fmt.si_time(pt['measured_median_s'])} | "
                       f"{fmt.si_time(pt['measured_q3_s'] - pt['measured_q1_s'])} | {fmt.si_time(pred.total_s)} | "
                       f"{fmt.si_time(pred.compute_s)} | {fmt.si_time(pred.comm_s)} | {fmt.ratio(pt['ratio'])} |")
                self.assertIn(row, md)

    def test_model_by_hand(self):
        # MNIST: 40 blocks of 250 rows; kernels.json's median (not its aggregate) 0.90 ms / 10,000 rows.
        pts = {(p["backend"], p["workers"]): p for p in self.groups["kmeans"]["points"]}
        self.assertAlmostEqual(pts[("seq", 1)]["model_total_s"], 10000 * 9e-8, delta=1e-15)
        # p = 2: the all-reduce of 10 x 785 int64 = 62,800 B: 2 alpha + 2 (1/2) 62,800 beta (alpha
        # 0.2 us, beta 8e-11 s/B); no tree sum (the inertia comes from the cluster sums).
        comm = 2 * 2e-7 + 62800 * 8e-11
        self.assertAlmostEqual(pts[("mpi", 2)]["model_compute_s"], 5000 * 9e-8, delta=1e-15)
        self.assertAlmostEqual(pts[("mpi", 2)]["model_comm_s"], comm, delta=1e-15)
        # Regression: 79 blocks of 253 or 254 rows, counted as 79 x 254 = 20,066 samples x 2.5 us / 20,000.
        reg = {(p["backend"], p["workers"]): p for p in self.groups["nlreg"]["points"]}
        self.assertAlmostEqual(reg[("seq", 1)]["model_total_s"], 20066 * 1.25e-10, delta=1e-18)

    def test_measured_is_median_of_per_iter(self):
        per_iter = sorted(r["time_s"]["per_iter"] for r in fixture_records()
                          if r["status"] == "ok" and (r["app"], r["backend"]) == ("kmeans", "seq"))
        self.assertEqual(len(per_iter), 7)
        pts = {(p["backend"], p["workers"]): p for p in self.groups["kmeans"]["points"]}
        self.assertEqual(pts[("seq", 1)]["measured_median_s"], per_iter[3])

    def test_findings_say_where_and_why(self):
        k = " ".join(self.groups["kmeans"]["findings"])
        self.assertRegex(k, r"At p = 1 \(seq\) the runs take .* \(12\.91x\)\. The model's per-row cost is the kernel "
                            r"`BM_AssignInt/10000/784/10/1` \(`BM_AssignInt/10000/784/10/0`, else "
                            r"`BM_Assign<std::uint8_t>/10000/784/10` where that was not measured\) alone; it leaves out "
                            r"the M-step")
        r = " ".join(self.groups["nlreg"]["findings"])
        self.assertIn("The gap shrinks with p", r)
        self.assertIn(self.groups["kmeans"]["findings"][0], read("report.md"))


class TestFindingsRules(unittest.TestCase):
    """The other branches of model.findings, on hand-made points."""

    def group(self, points):
        from report.summary import Cell
        pts = [model.Point(Cell(b, 1, p if b == "mpi" else 1, 1 if b == "mpi" else p, runs=[]), [med], med, med, med,
                           comm, cm.Prediction(comp, mcomm)) for b, p, med, comm, comp, mcomm in points]
        return model.ModelGroup(None, cm.WORKLOADS["mnist"], {}, pts)

    def test_agreement_and_growing_gap(self):
        inp = model.inputs(records.Loaded())
        mg = self.group([("seq", 1, 1.05e-3, 0.0, 1e-3, 0.0), ("mpi", 2, 0.78e-3, 50e-6, 0.5e-3, 5e-6)])
        first, second = model.findings(mg, inp)
        self.assertIn("(1.05x): within 15%", first)
        self.assertIn("At p = 2 (mpi) measured/model is 1.54 (p = 1: 1.05)", second)
        self.assertIn("The gap grows with p", second)
        self.assertIn("(45.0 us per iteration beyond its message cost here)", second)

    def test_faster_than_model_names_the_cost_source(self):
        inp = model.inputs(records.Loaded())
        (text,) = model.findings(self.group([("seq", 1, 0.5e-3, 0.0, 1e-3, 0.0)]), inp)
        self.assertIn("(0.50x): the runs are faster than the model", text)
        self.assertIn(cm.DEFAULT_SOURCE, text)


class TestStokes(unittest.TestCase):
    def test_table_is_the_models_sweep(self):
        pred = json.loads(read("summary.json"))["stokes_prediction"]["workloads"]
        md = read("report.md")
        stokes = cm.machine("stokes")
        for w in cm.WORKLOADS.values():
            rows = cm.sweep(stokes, w, cm.stokes_configs(), COSTS)
            self.assertEqual(pred[w.label], rows)
            self.assertEqual([(r["ranks"], r["nodes"]) for r in rows],
                             [(1, 1), (48, 1), (96, 2), (192, 4), (384, 8), (768, 16)])
            cells = [fmt.si_time(rows[0]["total_s"])] + [
                f"{fmt.si_time(r['total_s'])} ({fmt.sig(r['speedup'], 3)}x{'*' if r['efficiency'] > 1.2 else ''})"
                for r in rows[1:]]
            self.assertIn(f"| {w.label} | " + " | ".join(cells) + " |", md)

    def test_labelled_as_prediction_with_assumptions(self):
        md = read("report.md")
        self.assertIn("**A prediction from stated assumptions, not a measurement.**", md)
        self.assertIn("`bench/COST_MODEL.md`", md)
        self.assertIn("- 48 cores per node, one MPI rank per core", md)
        # 1e8 samples on 16 nodes: 2 MB per rank drops into cache, flagged as not to be trusted.
        self.assertIn("x*) |", md)


class TestPeers(unittest.TestCase):
    def test_kmeans_table(self):
        md = read("report.md")
        # compare.json medians by hand: sklearn 1.00 ms / toolkit omp 0.25 ms = 4; faiss 2.15 / 0.86 = 2.5;
        # toolkit elkan 0.44 / lloyd 0.86 = 0.512; the five repetitions are 0.98 .. 1.05 of the median.
        for row in ("| sklearn lloyd | 4 | 100 | 5 | 1.00 ms | 980 us..1.05 ms | toolkit lloyd (omp) | 4.000 | "
                    "389424.10 | 0.5439 | - |",
                    "| faiss lloyd | 1 | 100 | 5 | 2.15 ms | 2.11 ms..2.26 ms | toolkit lloyd (seq) | 2.500 |",
                    "| toolkit elkan (seq) | 1 | 100 | 5 | 440 us | 431 us..462 us | toolkit lloyd (seq) | 0.512 | "
                    "389424.10 | 0.5439 | 12.0% |",
                    "| toolkit lloyd (seq) | 1 | 100 | 5 | 860 us | 843 us..903 us | - | - |"):
            self.assertIn(row, md)

    def test_regression_table(self):
        # numpy 24.75 us / nlreg_seq 3.39 us = 7.301
        self.assertIn("| numpy GD | 1 | 10000 | 5 | 24.8 us | 24.3 us..26.0 us | nlreg_seq | 7.301 | 9.50218167 | "
                      "11.8612626 | 10.7566802 | 440.940218 |", read("report.md"))

    def test_quality_agreement_and_skipped(self):
        md = read("report.md")
        self.assertIn("the final inertia of all 11 rows is 389424.10 (relative spread 2.0e-10) and the accuracy is "
                      "0.5439: every implementation reaches the same clustering", md)
        self.assertIn("a, b, c and the MSE of all 4 rows are identical: the same fit", md)
        self.assertIn("- sklearn elkan x4: RuntimeError: example failure", md)

    def test_disagreement_is_said(self):
        loaded = records.Loaded()
        data = fixture_json("compare.json")
        data["kmeans"]["rows"][-1]["accuracy"] = 0.51
        loaded.side["compare"] = [("c.json", data)]
        self.assertIn("do not reach the same clustering", " ".join(peers.load(loaded).agreement()))


    def test_paired_ratios_where_interleaved(self):
        loaded = records.Loaded()
        data = fixture_json("compare.json")
        # The fixture's rows were not interleaved: no pairing, no sentence.
        loaded.side["compare"] = [("c.json", data)]
        cmp = peers.load(loaded)
        self.assertIsNone(cmp.paired)
        self.assertNotIn("ran interleaved", str(compose.compare_blocks(cmp, 0)))
        # Interleaved: run i of every row is from round i. Rounds 1 and 3 of the toolkit's omp
        # Lloyd are slow (0.30 and 0.50 ms against 0.25 and 0.2575): their speedups drop, the
        # median over the rounds stays 3.44x, where the ratio of the medians would be 0.86 / 0.2625
        # = 3.28x.
        data["kmeans"]["interleaved"] = True
        for row in data["kmeans"]["rows"]:
            if row["impl"] == "toolkit lloyd" and row["backend"] == "omp":
                row["per_iter_s"][0], row["per_iter_s"][2] = 0.30e-3, 0.50e-3
        loaded.side["compare"] = [("c.json", data)]
        cmp = peers.load(loaded)
        # sklearn lloyd 6.2 / 0.86 = 7.2; its elkan 5.0 against hamerly 0.47 and elkan 0.44: 10.6, 11.4.
        self.assertEqual(cmp.paired_sentence(),
                         "The forms ran interleaved, one run of each per round, so each round's runs can be paired; "
                         "medians over the rounds of each round's ratio: the toolkit's time on one thread over its "
                         "time on 4: lloyd 3.44x, hamerly 3.13x, elkan 3.14x; scikit-learn's time over the toolkit's "
                         "on one thread (its Elkan against Hamerly): lloyd 7.2x, hamerly 10.6x, elkan 11.4x.")
        self.assertIn(cmp.paired_sentence(), str(compose.compare_blocks(cmp, 0)))

    def test_ceiling_and_regression_pairs_where_measured(self):
        loaded = records.Loaded()
        data = fixture_json("compare.json")
        data["kmeans"]["interleaved"] = data["regression"]["interleaved"] = True
        # Four copies of seq Lloyd at once, each 1.25x its time alone in every round: 4 / 1.25.
        seq = next(r for r in data["kmeans"]["rows"] if r["impl"] == "toolkit lloyd" and r["backend"] == "seq")
        data["kmeans"]["ceiling"] = {"copies": 4, "per_iter_s": {"lloyd": [[1.25 * t] * 4 for t in seq["per_iter_s"]]}}
        # nlreg_seq over nlreg_omp is 2.26 and over nlreg_mpi 2.11875 in every round; four copies
        # of nlreg_seq at once each took twice its time alone: 4 / 2.
        nl_seq = next(r for r in data["regression"]["rows"] if r.get("backend") == "seq")
        data["regression"]["ceiling"] = {"copies": 4, "per_iter_s": [[2 * t] * 4 for t in nl_seq["per_iter_s"]]}
        loaded.side["compare"] = [("c.json", data)]
        cmp = peers.load(loaded)
        self.assertIn("lloyd 3.44x (ceiling 3.20x), hamerly 3.13x, elkan 3.14x", cmp.paired_sentence())
        self.assertAlmostEqual(cmp.regression_paired["ceiling"], 2.0)
        self.assertEqual(cmp.regression_sentence(),
                         "The regression forms ran interleaved too; medians over the rounds of nlreg_seq's time over "
                         "the form's on 4 workers: nlreg_omp 2.26x, nlreg_mpi 2.12x; the machine's ceiling (as many "
                         "independent one-worker runs at once, one per core: their throughput over one alone; a "
                         "perfect machine gives 4x): 2.00x.")
        blocks = str(compose.compare_blocks(cmp, 0))
        self.assertIn(cmp.regression_sentence(), blocks)
        # MPI rows: the libraries stay compared with the omp rows, a pruned mpi row with mpi Lloyd.
        mpi = [dict(r, backend="mpi", per_iter_s=[2 * t for t in r["per_iter_s"]]) for r in data["kmeans"]["rows"]
               if r["impl"].startswith("toolkit") and r["backend"] == "omp"]
        data["kmeans"]["rows"] = mpi + data["kmeans"]["rows"]  # first: a base by thread count alone finds them
        cmp = peers.load(loaded)
        for r in cmp.kmeans:
            if not r.toolkit and r.threads == 4:
                self.assertEqual(r.base.backend, "omp", r.label())
            if r.toolkit and r.backend == "mpi":
                self.assertEqual(r.base.label(), "toolkit lloyd (seq)" if "lloyd" in r.impl else "toolkit lloyd (mpi)")
        self.assertIn("over its time on 4 MPI ranks: lloyd 1.72x", cmp.paired_sentence())
        self.assertIn("Ceiling: the machine's ceiling", blocks)
        # Not interleaved (older compare.json): no regression pairs.
        data["regression"]["interleaved"] = False
        self.assertIsNone(peers.load(loaded).regression_sentence())

    def test_scale_case(self):
        loaded = records.Loaded()
        data = fixture_json("compare.json")
        row = {"backend": None, "iterations": 20, "inertia": 379561817.4, "accuracy": 0.7397}
        data["kmeans_scale"] = {
            "dataset": "blobs 1000000 x 64 float32", "k": 16, "max_iter": 20, "tol": 0, "init": "first 16 rows",
            "rows": [dict(row, impl="toolkit lloyd", backend="seq", threads=1, per_iter_s=[0.060, 0.057, 0.055],
                          distance_fraction=1.0),
                     dict(row, impl="toolkit hamerly", backend="seq", threads=1, per_iter_s=[0.019, 0.015, 0.018],
                          distance_fraction=0.182),
                     dict(row, impl="sklearn lloyd", threads=1, per_iter_s=[0.114, 0.120, 0.150]),
                     dict(row, impl="sklearn elkan", threads=1, per_iter_s=[0.160, 0.171, 0.150])],
            "stream_pass": {"per_pass_s": [0.030, 0.020, 0.031]}}
        loaded.side["compare"] = [("c.json", data)]
        cmp = peers.load(loaded)
        # Hamerly against toolkit Lloyd, sklearn Lloyd against toolkit Lloyd; no toolkit Elkan row:
        # sklearn Elkan has no base.
        self.assertEqual([r.ratio for r in cmp.scale], [None, 0.018 / 0.057, 0.120 / 0.057, None])
        # medians: 57, 18, 120 and 160 ms over a 30 ms pass
        self.assertEqual(cmp.stream_sentence(),
                         "One pass over the same rows (numpy column sums, one thread, measured in the same run) takes "
                         "30.00 ms (median); one iteration on one thread takes toolkit lloyd (seq) 1.90x, "
                         "toolkit hamerly (seq) 0.60x, sklearn lloyd 4.00x, sklearn elkan 5.33x of that pass.")
        self.assertIn("k-means at scale: the final inertia of all 4 rows is 379561817.40", " ".join(cmp.agreement()))
        text = str(compose.compare_blocks(cmp, 0))
        self.assertIn("k-means at scale", text)
        self.assertIn("'sklearn lloyd', '1', '20', '3', '120 ms'", text)
        self.assertIn("'18.2%'", text)

    def test_no_scale_case_in_older_files(self):
        loaded = records.Loaded()
        loaded.side["compare"] = [("c.json", fixture_json("compare.json"))]
        cmp = peers.load(loaded)
        self.assertEqual((cmp.scale, cmp.stream_sentence()), ([], None))
        self.assertNotIn("k-means at scale", str(compose.compare_blocks(cmp, 0)))


class TestCompareRecordsKeptApart(unittest.TestCase):
    def test_not_in_scaling_groups(self):
        loaded = records.load([helpers.fixture("runs.jsonl"), helpers.fixture("compare-runs.jsonl")])
        tagged = [r for r in loaded.runs if r.tag == "compare"]
        self.assertEqual(len(tagged), 15)
        groups = records.group(records.scaling_runs(loaded.runs))
        self.assertEqual(len(groups), 2)
        self.assertFalse(any(r.tag == "compare" for g in groups for r in g.runs + g.failed))

    def test_report_groups_unchanged_by_compare_records(self):
        # The compare regression records share data and params with the regression group and run
        # ten times faster: had they been grouped, the sequential cell would have n = 8.
        groups = json.loads(read("summary.json"))["groups"]
        self.assertEqual(len(groups), 2)
        nl = next(g for g in groups if g["app"] == "nlreg")
        seq = next(c for c in nl["cells"] if c["backend"] == "seq")
        totals = sorted(r["time_s"]["total"] for r in fixture_records()
                        if (r["app"], r["backend"], r["status"]) == ("nlreg", "seq", "ok"))
        self.assertEqual(seq["n"], 5)
        self.assertEqual(seq["median_s"], totals[2])
        md = read("report.md")
        self.assertIn("15 records tagged `compare` only under Comparison with peers", md)
        self.assertIn("The 15 run records tagged `compare` in the inputs are the toolkit's runs of this comparison", md)


class TestAbsentInputs(unittest.TestCase):
    def text(self, blocks):
        return json.dumps(blocks, default=str)

    def test_sections_say_which_command_fills_them(self):
        inp = model.inputs(records.Loaded())
        self.assertFalse(inp.measured_costs)
        self.assertIsNone(inp.alpha_beta)
        text = self.text(compose.model_blocks(inp, [], None, [0]))
        for command in ("`make bench`", "`make bench-mpi`", "`make local`"):
            self.assertIn(command, text)
        self.assertIn("`make compare`", self.text(compose.compare_blocks(None, 0)))
        stokes = self.text(compose.stokes_blocks(inp, model.stokes(inp), None, [0]))
        self.assertIn(cm.DEFAULT_SOURCE, stokes)

    def test_side_files_alone_are_no_records(self):
        out = tempfile.mkdtemp(prefix="hpcb-report-")
        self.addCleanup(shutil.rmtree, out)
        p = helpers.run_cli("--out", out, helpers.fixture("compare.json"), helpers.fixture("alpha_beta.json"))
        self.assertEqual(p.returncode, 1)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        self.assertIn("compare.json: compare file", p.stderr)


class TestCostModelScript(unittest.TestCase):
    def test_cli_still_prints_and_writes_json(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        out = os.path.join(tmp, "cm.json")
        p = subprocess.run([sys.executable, COST_MODEL, "--machine", "stokes", "--json", out], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.count("| nodes | ranks | compute | comm |"), 4)
        with open(out) as f:
            data = json.load(f)
        self.assertEqual([len(rows) for rows in data["workloads"].values()], [6, 6, 6, 6])

    def test_workload_matching(self):
        mnist = {"n": 10000, "d": 784, "dtype": "uint8", "path": "datasets/mnist10k.h5"}
        km = {"k": 10, "algorithm": "lloyd", "mstep": "reduce"}
        self.assertEqual(cm.workload_for("kmeans", mnist, km).kernel, "mnist_lloyd")
        self.assertEqual(cm.workload_for("kmeans", dict(mnist, n=60000), km).n, 60000)
        blobs = {"n": 10_000_000, "d": 64, "dtype": "float32"}
        self.assertEqual(cm.workload_for("kmeans", blobs, km).kernel, "blobs_lloyd")
        for params in (dict(km, k=5), dict(km, algorithm="elkan"), dict(km, mstep="owner")):
            self.assertIsNone(cm.workload_for("kmeans", mnist, params), params)
        self.assertIsNone(cm.workload_for("kmeans", dict(mnist, d=64), km))       # digits: 64 uint8 features
        self.assertEqual(cm.workload_for("nlreg", {"n": 20000}, {"solver": "gd"}).unit, "epoch")
        self.assertIsNone(cm.workload_for("nlreg", {"n": 20000}, {"solver": "normal"}))

    def test_kernel_fallback(self):
        # MNIST's kernel: the integer E-step's benchmark by pairs where it ran, else by chunks,
        # else the float kernel's.
        def bench(name, ms):
            return {"name": name, "run_name": name, "run_type": "iteration", "cpu_time": ms, "time_unit": "ms"}
        float_only = {"benchmarks": [bench("BM_Assign<std::uint8_t>/10000/784/10", 1.3)]}
        self.assertAlmostEqual(cm.row_costs(float_only)[0]["mnist_lloyd"][0], 1.3e-3 / 10000)
        chunks = {"benchmarks": float_only["benchmarks"] + [bench("BM_AssignInt/10000/784/10/0", 0.9)]}
        self.assertAlmostEqual(cm.row_costs(chunks)[0]["mnist_lloyd"][0], 0.9e-3 / 10000)
        both = {"benchmarks": chunks["benchmarks"] + [bench("BM_AssignInt/10000/784/10/1", 0.8)]}
        self.assertAlmostEqual(cm.row_costs(both)[0]["mnist_lloyd"][0], 0.8e-3 / 10000)
        skipped = {"benchmarks": float_only["benchmarks"] +
                   [dict(bench(f"BM_AssignInt/10000/784/10/{form}", 0.0), error_occurred=True) for form in (0, 1)]}
        self.assertAlmostEqual(cm.row_costs(skipped)[0]["mnist_lloyd"][0], 1.3e-3 / 10000)

    def test_nodes_without_network_constants(self):
        # The local Slurm cluster's runs on 2 "nodes" of this machine: its model has no
        # network, so the steps across nodes cost what the steps inside one do.
        here = cm.machine("here", alpha_beta=fixture_json("alpha_beta.json"), cores=2)
        self.assertIsNone(here["alpha_inter"])
        w = cm.WORKLOADS["mnist"]
        two_nodes = cm.predict(here, w, 4, 2, COSTS)
        one_node = cm.predict(dict(here, cores_per_node=4), w, 4, 1, COSTS)
        self.assertGreater(two_nodes.comm_s, 0)
        self.assertAlmostEqual(two_nodes.comm_s, one_node.comm_s, delta=1e-15)


if __name__ == "__main__":
    unittest.main()


class TestStreamBound(unittest.TestCase):
    """The dense iteration against the streaming pass over the same rows, from one file."""

    def row(self, name, real, source="/r/microbench.json"):
        from report.summary import BenchRow
        return BenchRow(source=source, name=name, threads=1, real_s=real, cpu_s=real, rates={}, from_aggregate=False)

    def test_ratio_of_medians_from_the_same_file(self):
        rows = [self.row("BM_LloydIteration<float>/1000000/64/16", [0.090, 0.084, 0.080]),
                self.row("BM_StreamPass<float>/1000000/64", [0.014, 0.012, 0.021])]
        (text,) = compose.stream_bound_sentences(rows)
        self.assertIn("1,000,000 x 64 float rows with k = 16", text)
        self.assertIn("%.2fx one streaming pass" % (0.084 / 0.014), text)
        self.assertIn("medians over 3 and 3 repetitions, microbench.json", text)

    def test_roofline_against_the_same_files_sgemm_and_stream(self):
        from report.summary import BenchRow, FLOPS_COUNTER

        def row(name, flops=None, bw=None, source="/r/microbench.json"):
            rates = {k: v for k, v in ((FLOPS_COUNTER, flops), ("bytes_per_second", bw)) if v}
            return BenchRow(source=source, name=name, threads=1, real_s=[1.0], cpu_s=[1.0], rates=rates,
                            from_aggregate=False)
        rows = [row("BM_Assign<float>/1000000/64/16", flops=60e9, bw=7e9),
                row("BM_Sgemm/10000/784/10", flops=40e9), row("BM_Sgemm/10000/784/256", flops=80e9),
                row("BM_StreamPass<float>/1000000/64", bw=20e9),
                row("BM_Accumulate<float>/100000/64", bw=5e9),          # no flop rate: not a row
                row("BM_Assign<float>/1/1/1", flops=10e9, source="/other/microbench.json")]
        got = {r[0]: r for r in compose.roofline_rows(rows)}
        self.assertEqual(set(got), {"BM_Assign<float>/1000000/64/16", "BM_Assign<float>/1/1/1"})
        self.assertEqual(got["BM_Assign<float>/1000000/64/16"][2:], ["60.0", "0.75", "7.00", "0.35"])
        self.assertEqual(got["BM_Assign<float>/1/1/1"][2:], ["10.0", "n/a", "n/a", "n/a"])

    def test_phases_of_the_solver_runs(self):
        import json
        import tempfile
        from report import records, summary
        entry = {"name": "BM_KMeansRun/elkan", "run_name": "BM_KMeansRun/elkan", "run_type": "iteration",
                 "iterations": 6, "real_time": 103.0, "cpu_time": 102.0, "time_unit": "ms", "threads": 1,
                 "time_per_iteration": 1.0e-3, "prep_s": 5e-5, "assign_s": 8.5e-4, "sums_s": 5e-5, "means_s": 1e-5,
                 "comm_s": 0.0, "moved_fraction": 0.0115, "distance_fraction": 0.12,
                 "rows_read_fraction": 0.35, "items_per_second": 9.7e6}
        with tempfile.TemporaryDirectory() as tmp:
            path = f"{tmp}/microbench.json"
            with open(path, "w") as f:
                json.dump({"context": {}, "benchmarks": [entry, dict(entry, name="BM_Other", run_name="BM_Other")]}, f)
            rows = summary.summarise_benches(records.load([path]).benches)
        by = {r.name: r for r in rows}
        self.assertEqual(by["BM_KMeansRun/elkan"].counters["assign_s"], 8.5e-4)
        self.assertNotIn("items_per_second", by["BM_KMeansRun/elkan"].counters)  # a rate, kept in rates
        (row,) = compose.phase_rows(rows)
        self.assertEqual(row[0], "elkan")
        self.assertEqual(row[4], "850 us (85%)")
        self.assertEqual(row[-3:], ["1.15%", "12.0%", "35.0%"])

    def test_no_sentence_without_the_matching_pass(self):
        rows = [self.row("BM_LloydIteration<float>/1000000/64/16", [0.08]),
                self.row("BM_StreamPass<float>/1000000/32", [0.01]),
                self.row("BM_StreamPass<float>/1000000/64", [0.01], source="/other/microbench.json")]
        self.assertEqual(compose.stream_bound_sentences(rows), [])

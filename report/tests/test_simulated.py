"""The simulated section (report/simulated.py): SMPI records are shown beside the cost model,
labelled as simulated, every disagreement beyond 25% is listed with a reason, and they never
enter a measured group, answer or verdict. Synthetic records (synth_records.smpi_record) whose
simulated times are the model's own prediction times a chosen factor, so which points disagree
is known from the factors, not hard-coded."""

import json
import os
import random
import shutil
import tempfile
import unittest

from report import model, records, simulated
from report.tests import helpers, synth_records

# (app, dataset, ranks, factor over the model): factors 1.1 and 0.9 agree, 2.0 and 0.5 do not.
POINTS = [("kmeans", "mnist", 1, 1.0), ("kmeans", "mnist", 4, 1.1), ("kmeans", "mnist", 32, 2.0),
          ("kmeans", "mnist", 64, 0.9), ("kmeans", "mnist", 256, 3.0),
          ("nlreg", "regression", 1, 1.0), ("nlreg", "regression", 96, 0.5)]


def write_smpi(path, inp, points=POINTS, mstep="reduce", spread=None):
    m = model.cost_model.machine("stokes")
    with open(path, "a") as f:
        for i, (app, ds, ranks, factor) in enumerate(points):
            params = dict(synth_records.KM_PARAMS if app == "kmeans" else synth_records.NL_PARAMS, mstep=mstep) \
                if app == "kmeans" else synth_records.NL_PARAMS
            w = model.cost_model.workload_for(app, synth_records.DATASETS[ds], dict(params, mstep="reduce"))
            pred = model.cost_model.predict(m, w, ranks, -(-ranks // 48), inp.costs)
            rec = synth_records.smpi_record(i, app, ds, ranks, factor * pred.total_s, factor * pred.comm_s, mstep)
            if spread:  # the ranks' least and most compute over the loop, as fractions of it
                t = rec["time_s"]
                t["compute_min"], t["compute_max"] = spread[0] * t["compute"], spread[1] * t["compute"]
            f.write(json.dumps(rec) + "\n")


def load(path):
    loaded = records.load([path])
    return loaded, model.inputs(loaded)


class TestSeries(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.path = os.path.join(self.tmp, "sim.jsonl")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def series(self, **kw):
        _, inp = load(helpers.fixture("runs.jsonl"))
        write_smpi(self.path, inp, **kw)
        loaded, inp = load(self.path)
        measured, sim = simulated.split(loaded.runs)
        self.assertEqual(measured, [])
        return simulated.series(sim, inp)

    def test_ratios_and_disagreements_follow_the_factors(self):
        ss = self.series()
        got = {(s.app, pt.ranks): pt for s in ss for pt in s.points}
        for app, _, ranks, factor in POINTS:
            with self.subTest(app=app, ranks=ranks):
                self.assertAlmostEqual(got[(app, ranks)].ratio, factor, places=9)
                self.assertEqual(got[(app, ranks)].disagrees, not (0.8 <= factor <= 1.25))
        listed = {(s.app, pt.ranks) for s, pt, _ in simulated.disagreements(ss)}
        self.assertEqual(listed, {(a, r) for a, _, r, f in POINTS if not 0.8 <= f <= 1.25})

    def test_reasons_name_idle_ranks_and_the_collectives(self):
        ss = self.series()
        why = {(s.app, pt.ranks): " ".join(w) for s, pt, w in simulated.disagreements(ss)}
        # MNIST has ceil(10000 / 256) = 40 row blocks: at 256 ranks 216 hold no rows; at 32, none idle.
        self.assertIn("idle ranks: 216 of 256", why[("kmeans", 256)])
        self.assertNotIn("idle ranks", why[("kmeans", 32)])
        # Communication scaled by the same factor as the total: the collectives differ too.
        self.assertIn("collective algorithm", why[("kmeans", 32)])

    def test_waiting_for_the_slowest_rank(self):
        even = {(s.app, pt.ranks): " ".join(w) for s, pt, w in simulated.disagreements(self.series())}
        self.assertNotIn("waiting: ", even[("kmeans", 32)])
        shutil.rmtree(self.tmp)
        os.makedirs(self.tmp)
        uneven = {(s.app, pt.ranks): " ".join(w) for s, pt, w in simulated.disagreements(self.series(spread=(0.4, 1)))}
        self.assertIn("waiting: the ranks' compute over the loop ranges", uneven[("kmeans", 32)])
        # Ranks without rows compute nothing: no imbalance to speak of there.
        self.assertNotIn("waiting: ", uneven[("kmeans", 256)])

    def test_compute_growing_with_ranks(self):
        # At 32 ranks the simulated compute is 2x the model's and 1x at 1 rank: the gap came with P.
        why = {(s.app, pt.ranks): " ".join(w) for s, pt, w in simulated.disagreements(self.series())}
        self.assertIn("at 1 rank the ratio is 1.00x, so the rest came with P", why[("kmeans", 32)])
        # At 96 ranks (factor 0.5) the simulation computes less than the model: no growth to explain.
        self.assertNotIn("came with P", why[("nlreg", 96)])

    def test_owner_mstep_uses_the_reduce_model_and_says_so(self):
        ss = self.series(points=POINTS[:2], mstep="owner")
        self.assertEqual(len(ss), 1)
        self.assertIn("owner", ss[0].model_note)
        self.assertIsNotNone(ss[0].points[0].model)

    def test_peak_sentence(self):
        ss = self.series()
        km = next(s for s in ss if s.app == "kmeans")
        best = max(km.points, key=lambda pt: km.points[0].median / pt.median)
        self.assertIn(f"speedup peaks at {best.ranks} ranks", simulated.peak_sentence(km))
        self.assertIn("simulated on stokes", simulated.peak_sentence(km))


class TestWeakScaling(unittest.TestCase):
    """make simulate's weak-scaling sweep: one tag, one data set of rows x ranks rows per count. The
    runs make one series, each count beside the model of its own data; times are the model's times
    FACTOR, so the ratios are known."""
    FACTOR = 1.1
    ROWS = 10000
    TAG = "simulate/stokes/kmeans-weak-10000-per-rank-reduce/iters-2"

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.path = os.path.join(self.tmp, "sim.jsonl")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def write(self, counts, rows_of=lambda ranks, rows: rows * ranks, tag=TAG):
        _, inp = load(helpers.fixture("runs.jsonl"))
        m = model.cost_model.machine("stokes")
        with open(self.path, "a") as f:
            for i, ranks in enumerate(counts):
                n = rows_of(ranks, self.ROWS)
                ds = {"d": 64, "dtype": "float32", "n": n, "sha256": f"{n:064x}", "path": f"/scratch/blobs-{n}.h5"}
                pred = model.cost_model.predict(m, model.cost_model.workload_for("kmeans", ds, synth_records.KM_PARAMS),
                                                ranks, -(-ranks // 48), inp.costs)
                rec = synth_records.smpi_record(i, "kmeans", "mnist", ranks, self.FACTOR * pred.total_s,
                                                self.FACTOR * pred.comm_s)
                rec["dataset"], rec["tag"] = ds, tag
                f.write(json.dumps(rec) + "\n")
        loaded, inp = load(self.path)
        return simulated.series(simulated.split(loaded.runs)[1], inp)

    def test_one_series_each_count_beside_its_own_model(self):
        ss = self.write((1, 4, 64, 1024))
        self.assertEqual(len(ss), 1)
        s = ss[0]
        self.assertEqual(s.rows_per_rank, self.ROWS)
        self.assertEqual([pt.ranks for pt in s.points], [1, 4, 64, 1024])
        for pt in s.points:
            self.assertAlmostEqual(pt.ratio, self.FACTOR, places=9)
        self.assertIn("weak scaling (10000 rows per rank", s.label)
        # Each count's rows fill its own blocks: none idle.
        self.assertTrue(all(pt.blocks >= pt.ranks for pt in s.points))
        sentence = simulated.peak_sentence(s)
        self.assertIn(f"efficiency (time at 1 over time at 1024) of {s.points[0].median / s.points[-1].median:.2f}",
                      sentence)
        self.assertNotIn("speedup", sentence)
        self.assertEqual(simulated.to_json(ss)[0]["rows_per_rank"], self.ROWS)

    def test_rows_not_proportional_to_ranks_is_no_weak_series(self):
        ss = self.write((1, 4, 64), rows_of=lambda ranks, rows: rows + ranks)
        self.assertEqual(len(ss), 3)
        self.assertTrue(all(s.rows_per_rank is None and len(s.points) == 1 for s in ss))

    def test_strong_series_of_one_tag_stays_strong(self):
        ss = self.write((1, 4, 64), rows_of=lambda ranks, rows: rows)
        self.assertEqual([(s.rows_per_rank, len(s.points)) for s in ss], [(None, 3)])


class TestAgainstMeasured(unittest.TestCase):
    """(a) of the checks: simulated runs on local.xml beside measured MPI runs of the same app, data,
    parameters and ranks on the same machine. Measured times are chosen, the simulated ones set
    to them times a factor, so which configurations are within 25% is known from the factors."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.path = os.path.join(self.tmp, "local.jsonl")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def write(self, recs):
        with open(self.path, "w") as f:
            for r in recs:
                f.write(json.dumps(r) + "\n")
        loaded, inp = load(self.path)
        measured, sim = simulated.split(loaded.runs)
        return simulated.against_measured(simulated.series(sim, inp), sim, measured)

    @staticmethod
    def measured(i, app, ds, ranks, per_iter, **prov):
        rec = synth_records.record(random.Random(i), i, app, ds, 1.0, 0.0, ("mpi", 1, ranks, 1))
        rec["time_s"]["per_iter"] = per_iter
        rec["prov"] = dict(rec["prov"], **prov)
        return rec

    def test_pairs_by_app_data_params_ranks_and_machine(self):
        recs = []
        # (app, data, ranks, measured per iteration, simulated / measured)
        cases = [("kmeans", "mnist", 1, 3e-3, 0.96), ("kmeans", "mnist", 2, 1.8e-3, 1.02),
                 ("nlreg", "regression", 2, 5e-6, 1.5)]
        for i, (app, ds, ranks, t, factor) in enumerate(cases):
            for rep in range(3):
                recs.append(self.measured(10 * i + rep, app, ds, ranks, t * (1 + 0.01 * rep)))
                recs.append(synth_records.smpi_record(100 + 10 * i + rep, app, ds, ranks, factor * t * (1 + 0.01 * rep),
                                                      0.0, platform="local", per_node=1))
        # Not twins: another machine, other parameters, another rank count, a stokes simulation.
        recs.append(self.measured(50, "kmeans", "mnist", 1, 1.0, cpu="another CPU"))
        other = self.measured(51, "kmeans", "mnist", 1, 1.0)
        other["params"] = dict(other["params"], iters=7)
        recs.append(other)
        recs.append(self.measured(52, "kmeans", "mnist", 4, 1.0))
        recs.append(synth_records.smpi_record(53, "kmeans", "mnist", 1, 1.0, 0.0, platform="stokes"))
        checks = self.write(recs)
        got = {(c.label.split()[0], c.ranks): c for c in checks}
        self.assertEqual(set(got), {("kmeans", 1), ("kmeans", 2), ("nlreg", 2)})
        for app, _, ranks, _, factor in cases:
            c = got[(app, ranks)]
            self.assertEqual(len(c.measured), 3)
            self.assertAlmostEqual(c.ratio, factor, places=9)
            self.assertEqual(c.within, 0.8 <= factor <= 1.25)
        # The report's table and sentence; the one beyond 25% is a 5 us epoch: short bursts.
        out = os.path.join(self.tmp, "out")
        proc = helpers.run_cli("--quiet", "--out", out, self.path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(os.path.join(out, "report.md")) as f:
            md = f.read()
        self.assertIn("### Simulation against measurement on this machine (local.xml)", md)
        self.assertIn("within 25% of the measured one at 2 of 3 configurations", md)
        self.assertIn("SMPI's own cost per burst", md)
        with open(os.path.join(out, "summary.json")) as f:
            rows = json.load(f)["simulated_against_measured"]
        self.assertEqual(sorted(r["within"] for r in rows), [False, True, True])

    def test_no_twins_no_check(self):
        recs = [synth_records.smpi_record(1, "kmeans", "mnist", 1, 1e-3, 0.0, platform="local", per_node=1)]
        self.assertEqual(self.write(recs), [])


class TestReport(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        cls.sim = os.path.join(cls.tmp, "simulated.jsonl")
        _, inp = load(helpers.fixture("runs.jsonl"))
        write_smpi(cls.sim, inp)
        cls.out = os.path.join(cls.tmp, "out")
        cls.proc = helpers.run_cli("--quiet", "--out", cls.out, helpers.fixture("runs.jsonl"), cls.sim)
        cls.plain = os.path.join(cls.tmp, "plain")
        cls.plain_proc = helpers.run_cli("--quiet", "--out", cls.plain, helpers.fixture("runs.jsonl"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def read(self, out, name):
        with open(os.path.join(out, name)) as f:
            return json.load(f) if name.endswith(".json") else f.read()

    def test_section_table_and_figure(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        md = self.read(self.out, "report.md")
        self.assertIn("## Simulated scaling (SimGrid SMPI, not measured)", md)
        self.assertIn("simulated / model", md)
        self.assertIn("idle ranks", md)
        self.assertTrue(os.path.exists(os.path.join(self.out, "figures", "simulated-vs-model.png")))
        sim = self.read(self.out, "summary.json")["simulated"]
        self.assertEqual(sum(len(s["points"]) for s in sim), len(POINTS))
        self.assertEqual(sum(pt["disagrees"] for s in sim for pt in s["points"]),
                         sum(1 for *_, f in POINTS if not 0.8 <= f <= 1.25))

    def test_never_in_measured_groups_or_verdicts(self):
        summary = self.read(self.out, "summary.json")
        self.assertNotIn("smpi", {c["backend"] for g in summary["groups"] for c in g["cells"]})
        answers = self.read(self.out, "answers.json")
        self.assertNotIn("smpi", json.dumps(answers["comparisons"]))
        # The measured part is the same as without the simulated records.
        self.assertEqual(answers, self.read(self.plain, "answers.json"))

    def test_without_simulated_records(self):
        self.assertEqual(self.plain_proc.returncode, 0, self.plain_proc.stderr)
        self.assertNotIn("Simulated scaling", self.read(self.plain, "report.md"))
        self.assertEqual(self.read(self.plain, "summary.json")["simulated"], [])


if __name__ == "__main__":
    unittest.main()

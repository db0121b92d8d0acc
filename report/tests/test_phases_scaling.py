"""Phase bars that equal their totals, and scaling models that claim no more than the points hold."""

import unittest

from report.tests import helpers  # noqa: F401  (puts the repository on sys.path)

import matplotlib
matplotlib.use("Agg")

from report import answers, figures, summary
from report.records import Group, Run


def run(backend, ranks, total, **phases):
    return Run(app="kmeans", backend=backend, nodes=1, ranks=ranks, threads=1, workers=ranks,
               dataset={"path": "d.h5"}, params={}, status="ok", result={},
               time_s={"total": total, **phases}, prov={"cores": 8}, hosts=["h"], tag=None, source="t", line=1)


def phase_run(backend, ranks, total, compute, comm, io, init, metrics, spread=None):
    extra = {} if spread is None else dict(zip(("compute_min", "compute_max", "comm_min", "comm_max"), spread))
    return run(backend, ranks, total, compute=compute, comm=comm, iterations=compute + comm, io=io, init=init,
               metrics=metrics, **extra)


def group(runs):
    return Group(key=("k",), gid="g", app="kmeans", dataset={"path": "d.h5"}, params={}, runs=runs)


class PhaseBars(unittest.TestCase):
    def setUp(self):
        # Phase medians taken one by one would be compute 0.6, comm 0.3, io 0.2: 1.1 > the median total 1.0.
        self.runs = [phase_run("mpi", 2, 1.0, 0.5, 0.2, 0.2, 0.05, 0.01, (0.45, 0.5, 0.2, 0.25)),
                     phase_run("mpi", 2, 0.9, 0.6, 0.1, 0.1, 0.05, 0.01),
                     phase_run("mpi", 2, 1.3, 0.7, 0.3, 0.25, 0.02, 0.01),
                     phase_run("mpi", 1, 2.0, 1.8, 0.0, 0.1, 0.05, 0.01)]
        self.gs = summary.summarise(group(self.runs), {"mpi"})

    def test_cell_phases_come_from_the_median_run(self):
        c = next(c for c in self.gs.all_cells() if c.workers == 2)
        self.assertIs(c.phase_run, self.runs[0])
        self.assertEqual(c.phases["metrics"], 0.01)
        self.assertEqual(c.spread["compute"], (0.45, 0.5))

    def test_bar_heights_equal_the_totals_written_on_them(self):
        fig = figures.fig_phases(self.gs)
        ax = fig.fig.axes[0]
        heights = {}
        for patch in ax.patches:
            x = round(patch.get_x() + patch.get_width() / 2, 6)
            heights[x] = heights.get(x, 0.0) + patch.get_height()
        labels = {round(t.get_position()[0], 6): float(t.get_text()) for t in ax.texts}
        self.assertEqual(sorted(heights), sorted(labels))
        for x, h in heights.items():
            self.assertAlmostEqual(h, labels[x], places=9)
        self.assertEqual(sorted(labels.values()), [1.0, 2.0])
        self.assertIn("metrics", [t.get_text() for t in ax.get_legend().get_texts()])
        self.assertIn("compute_min..max", fig.caption)

    def test_phases_above_the_total_are_scaled_and_said(self):
        old = run("omp", 1, 1.0, compute=0.8, comm=0.4, iterations=1.0, io=0.1)
        h, total, scale = figures.phase_bars(summary.make_cell("omp", (1, 1, 1), [old]))
        self.assertAlmostEqual(sum(h.values()), total)
        self.assertLess(scale, 1.0)


def speedup_runs(backend, points, base=1.0, reps=3):
    """Runs of `backend` at 1 worker (time `base`) and at each (p, speedup)."""
    out = [run(backend, 1, base * (1 + 0.01 * i)) for i in range(reps)]
    for p, s in points:
        out += [run(backend, p, base / s * (1 + 0.01 * i)) for i in range(reps)]
    return out


class ScalingModels(unittest.TestCase):
    def model(self, points):
        gs = summary.summarise(group(speedup_runs("mpi", points)), {"mpi"})
        return gs, gs.scaling["mpi"]

    def test_one_count_above_one_gives_karp_flatt_and_no_fit(self):
        gs, m = self.model([(2, 1.6)])
        self.assertEqual(m.kind, "karp-flatt")
        self.assertAlmostEqual(m.value, (1 / 1.6 - 1 / 2) / (1 - 1 / 2), places=9)
        self.assertIsNone(gs.amdahl["mpi"])
        text = answers.scaling_text(m, "mpi")
        self.assertIn("Karp-Flatt", text)
        self.assertIn("no scaling model", text)
        self.assertNotIn("1/f", text)

    def test_a_slowdown_is_stated_not_clamped(self):
        # Karp-Flatt 1.21 at p = 2, as digits MPI had: S = 1 / (1/2 + 1.21/2) < 1.
        gs, m = self.model([(2, 1 / (0.5 + 1.21 / 2))])
        self.assertLess(m.points[0][1], 1)
        self.assertAlmostEqual(m.value, 1.21, places=9)
        self.assertIn("slower than on one worker", answers.scaling_text(m, "mpi"))
        self.assertIsNone(gs.amdahl["mpi"])

    def test_three_counts_fit_amdahl_with_residuals(self):
        f = 0.1
        gs, m = self.model([(p, 1 / (f + (1 - f) / p)) for p in (2, 4)])
        self.assertEqual(m.kind, "amdahl")
        self.assertAlmostEqual(m.value, f, places=6)
        self.assertAlmostEqual(gs.amdahl["mpi"], m.value)
        self.assertEqual([p for p, _, _ in m.residuals], [2, 4])
        text = answers.scaling_text(m, "mpi")
        self.assertIn("residual", text)
        self.assertIn("p = 4", text)

    def test_fitted_fraction_above_one_is_not_clipped(self):
        gs, m = self.model([(2, 0.8), (4, 0.6)])
        self.assertEqual(m.kind, "amdahl")
        self.assertGreater(m.value, 1)
        self.assertIsNone(gs.amdahl["mpi"])
        self.assertIn("slower with more workers", answers.scaling_text(m, "mpi"))


if __name__ == "__main__":
    unittest.main()

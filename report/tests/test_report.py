"""End to end: build the report from the committed fixtures and check what a reader gets.

One build of fixtures/runs.jsonl + fixtures/microbench.json is shared by the tests here
(setUpModule), so the whole file stays well under a minute on two cores.
"""

import csv
import glob
import itertools
import json
import math
import os
import re
import shutil
import tempfile
import unittest
import xml.etree.ElementTree as ET

from report.tests import helpers
from tests.skips import skip_anywhere

OUT = None
BUILD = None

# Times copied from fixtures/runs.jsonl (k-means, 7 repetitions each); checked against the file below.
SEQ = [0.4525, 0.4763, 0.4366, 0.463, 0.4428, 0.4546, 0.4537]
OMP1 = [0.4522, 0.4496, 0.4569, 0.4562, 0.4565, 0.4572, 0.4461]
OMP2 = [0.2406, 0.2448, 0.2488, 0.2444, 0.2513, 0.2486, 0.2464]
STD_PX, WIDE_PX, BENCH_PX = (1200, 750), (1800, 675), (1350, 450)   # 8x5, 12x4.5, 9x(2+0.5*2) in at 150 dpi
MODEL_PX = (1380, 660)   # model-vs-measured: two panels (k-means, regression) of 4.6 x 4.4 in
# 4 for the k-means group (its results are identical at every count: one sentence replaces the
# quality figure), 5 for the regression group, bench, model-vs-measured, stokes-prediction
N_FIGURES = 12


def setUpModule():
    global OUT, BUILD
    OUT = tempfile.mkdtemp(prefix="hpcb-report-")
    BUILD = helpers.run_cli("--out", OUT, "--quiet", helpers.fixture("runs.jsonl"), helpers.fixture("microbench.json"))
    if BUILD.returncode != 0:
        # One clear error instead of every test below failing on missing files.
        shutil.rmtree(OUT, ignore_errors=True)
        raise AssertionError(f"building the fixture report failed (exit {BUILD.returncode}): {BUILD.stderr.strip()}")


def tearDownModule():
    shutil.rmtree(OUT, ignore_errors=True)


def read(name):
    with open(os.path.join(OUT, name)) as f:
        return f.read()


class TestBuild(unittest.TestCase):
    def test_exit_and_outputs(self):
        self.assertEqual(BUILD.returncode, 0, BUILD.stderr)
        self.assertEqual(BUILD.stderr, "")
        for name in ("report.md", "report.html", "report.pdf", "summary.json"):
            self.assertGreater(os.path.getsize(os.path.join(OUT, name)), 1000, name)

    def test_absent_inputs_say_how_to_fill_them(self):
        # No alpha_beta.json, no compare.json, and microbench.json lacks the model's kernels.
        md = read("report.md")
        self.assertIn("Built-in values stand in for missing inputs: `make bench` measures this machine's per-row "
                      "costs (results/bench/microbench.json); `make bench-mpi` its MPI latency and bandwidth", md)
        self.assertIn("Not measured yet: `make compare` writes results/compare.json", md)
        self.assertIn("## Prediction for a Stokes-sized sweep", md)

    def test_pdf(self):
        with open(os.path.join(OUT, "report.pdf"), "rb") as f:
            data = f.read()
        self.assertTrue(data.startswith(b"%PDF-"))
        self.assertTrue(data.rstrip().endswith(b"%%EOF"))
        pages = len(re.findall(rb"/Type /Page\b", data))
        self.assertGreaterEqual(pages, N_FIGURES + 3, "every figure on a page plus text pages")


class TestTables(unittest.TestCase):
    """Table numbers against arithmetic done here, by hand, on the fixture's times."""

    @classmethod
    def setUpClass(cls):
        times = {}
        with open(helpers.fixture("runs.jsonl")) as f:
            for line in f:
                r = json.loads(line)
                if r["status"] == "ok" and r["app"] == "kmeans":
                    times.setdefault((r["backend"], r["workers"]), []).append(r["time_s"]["total"])
        cls.fixture_times = times
        cls.summary = json.loads(read("summary.json"))

    def cell(self, app, backend, workers):
        for g in self.summary["groups"]:
            if g["app"] == app:
                for c in g["cells"]:
                    if (c["backend"], c["workers"]) == (backend, workers):
                        return c
        self.fail(f"no cell {app} {backend} p={workers}")

    def test_fixture_is_what_the_test_assumes(self):
        self.assertEqual(self.fixture_times[("seq", 1)], SEQ)
        self.assertEqual(self.fixture_times[("omp", 1)], OMP1)
        self.assertEqual(self.fixture_times[("omp", 2)], OMP2)

    def test_kmeans_omp_two_threads(self):
        # sorted OMP2: 0.2406 0.2444 0.2448 [0.2464] 0.2486 0.2488 0.2513 -> median 0.2464
        # quartiles at positions 1.5 and 4.5: 0.2444 + 0.5*0.0004 = 0.2446, 0.2486 + 0.5*0.0002 = 0.2487
        median, q1, q3 = 0.2464, 0.2446, 0.2487
        base_one = 0.4562          # sorted OMP1: 0.4461 0.4496 0.4522 [0.4562] 0.4565 0.4569 0.4572
        base_seq = 0.4537          # sorted SEQ: 0.4366 0.4428 0.4525 [0.4537] 0.4546 0.4630 0.4763
        s_one = base_one / median  # 1.8515
        s_seq = base_seq / median  # 1.8413
        kf = (1 / s_one - 1 / 2) / (1 - 1 / 2)   # 0.0802
        c = self.cell("kmeans", "omp", 2)
        self.assertEqual(c["n"], 7)
        self.assertAlmostEqual(c["median_s"], median, places=12)
        self.assertAlmostEqual(c["iqr_s"], q3 - q1, places=12)
        self.assertEqual(c["median_ci_s"], [0.2406, 0.2513])        # n=7: min and max (coverage 0.984)
        self.assertAlmostEqual(c["vs_one"]["speedup"], s_one, places=12)
        self.assertAlmostEqual(c["vs_one"]["efficiency"], s_one / 2, places=12)
        self.assertAlmostEqual(c["vs_seq"]["speedup"], s_seq, places=12)
        self.assertAlmostEqual(c["vs_seq"]["efficiency"], s_seq / 2, places=12)
        self.assertAlmostEqual(c["karp_flatt"], kf, places=12)
        # Hodges-Lehmann CI of the speedup at Holm's level for the smaller of two p-values (0.025),
        # by brute force: the U distribution of 7 + 7 from all C(14, 7) = 3432 rank sets, then the
        # k-th smallest and largest of the 49 log-time differences base - run.
        us = sorted(sum(ranks) - 28 for ranks in itertools.combinations(range(1, 15), 7))
        k = max(j for j in range(1, 25) if 2 * sum(1 for u in us if u <= j - 1) / len(us) < 0.025)
        base = self.cell("kmeans", "omp", 1)["times_s"]
        diffs = sorted(math.log(b) - math.log(x) for b in base for x in c["times_s"])
        lo, hi = c["vs_one"]["ci"]
        self.assertEqual(c["vs_one"]["alpha"], 0.025)
        self.assertAlmostEqual(lo, math.exp(diffs[k - 1]), places=12)
        self.assertAlmostEqual(hi, math.exp(diffs[49 - k]), places=12)
        self.assertEqual(c["vs_one"]["verdict"], "faster")
        # The same numbers, rounded, in the Markdown table (mean 1.7249/7 = 0.24641); the phase
        # columns are those of the run whose total is the median, 0.2464 s (not the io median 0.0209).
        row = ("| 1 | 1 | 2 | 2 | 7 | 0.2464 | 0.2464 | 0.004100 | [0.2406, 0.2513] | 1.841 [1.772, 1.924] (p=<0.001) + | 0.921 "
               "| 1.851 [1.809, 1.869] (p=<0.001) + | 0.926 | 0.080 | 0.2199 | 0.003000 | 0.02060 |")
        self.assertIn(row, read("report.md"))

    def test_baselines_named_with_absolute_time(self):
        md = read("report.md")
        self.assertIn("S/E vs seq: the sequential run, median 0.4537 s (n=7)", md)
        self.assertIn("S/E vs p=1: the single-worker omp run (1 node, 1 rank, 1 thread), median 0.4562 s (n=7)", md)

    def test_small_samples_say_na_and_use_rank_test(self):
        md = read("report.md")
        # nlreg has 5 repetitions: no CI of the median; omp p=2 vs seq separates completely, p = 2/252
        self.assertIn("n/a (n=5<6)", md)
        c = self.cell("nlreg", "omp", 2)
        self.assertIsNone(c["median_ci_s"])
        self.assertEqual(c["vs_seq"]["method"], "exact")
        self.assertAlmostEqual(c["vs_seq"]["p_value"], 2 / 252)

    def test_failed_and_missing_runs_listed(self):
        md = read("report.md")
        self.assertIn("runs.jsonl:80 | nlreg | mpi | 1 x 4 x 1 | failed | mpiexec.hydra: rank 3 killed by signal 9", md)
        self.assertRegex(md, r"\| nlreg-regression20k-[0-9a-f]{8} \| mpi \| 4 \| 1 failed \|")


class TestAnswers(unittest.TestCase):
    def test_answers_cite_numbers_and_figures(self):
        answers = {a["key"]: a for a in json.loads(read("summary.json"))["answers"]}
        self.assertEqual(set(answers), {"a", "b", "c", "regression"})
        self.assertTrue(answers["a"]["short"].startswith("Faster at every tested count above one thread"))
        self.assertIn("speedup 1.851 (Mann-Whitney p = <0.001 at level 0.025 (Holm, 2 comparisons); 97.5% CI "
                      "1.809-1.869): faster", " ".join(answers["a"]["details"]))
        self.assertTrue(answers["b"]["short"].startswith("Faster"))
        self.assertIn("identical at every worker count (p = 1, 2, 4)", answers["c"]["short"])
        self.assertIn("cannot answer for mpi p = 4", answers["regression"]["short"])
        self.assertIn("a, b and c are identical at every worker count", answers["regression"]["short"])
        md = read("report.md")
        self.assertRegex(md, r"Figures: `kmeans-mnist10k-[0-9a-f]{8}-time`")


class TestFigures(unittest.TestCase):
    def expected(self):
        groups = json.loads(read("summary.json"))["groups"]
        names = {"bench": BENCH_PX, "model-vs-measured": MODEL_PX, "stokes-prediction": WIDE_PX}
        for g in groups:
            for kind in ("time", "speedup", "efficiency", "phases"):
                names[f"{g['gid']}-{kind}"] = STD_PX
            if g["app"] == "nlreg":
                names[f"{g['gid']}-loss"] = WIDE_PX
        return names

    def test_identical_quality_is_one_sentence(self):
        md = read("report.md")
        self.assertIn("Result quality: every one of the 49 runs", md)
        self.assertIn("accuracy 0.5439 (Hungarian one-to-one matching of clusters to labels, random initial "
                      "centroids)", md)
        self.assertNotIn("majority", md)

    def test_tables_numbered_with_csv_of_their_records(self):
        md = read("report.md")
        self.assertIn("**Table 2** ([CSV](table-02.csv): the records it came from)", md)
        with open(os.path.join(OUT, "table-02.csv")) as fh:
            rows = list(csv.DictReader(fh))
        self.assertEqual(len(rows), 21)          # omp at p = 1, 2, 4, seven runs each
        self.assertEqual({r["backend"] for r in rows}, {"omp"})
        html = read("report.html")
        self.assertIn('<nav id="contents">', html)
        self.assertIn('<a href="table-02.csv">CSV</a>', html)
        self.assertIn('<a href="figures/' , html)
        self.assertLess(html.index("Summary"), html.index("Answers"))

    def test_every_figure_png_and_svg(self):
        expected = self.expected()
        self.assertEqual(len(expected), N_FIGURES)
        found = {os.path.splitext(os.path.basename(p))[0] for p in glob.glob(os.path.join(OUT, "figures", "*"))}
        self.assertEqual(found, set(expected))
        for name, size in expected.items():
            png = os.path.join(OUT, "figures", name + ".png")
            w, h, depth, ctype = helpers.png_header(png)
            self.assertEqual((w, h), size, name)
            self.assertEqual(depth, 8)
            root = ET.parse(os.path.join(OUT, "figures", name + ".svg")).getroot()
            self.assertEqual(root.tag, "{http://www.w3.org/2000/svg}svg", name)
            self.assertGreater(len(list(root.iter())), 50, f"{name}.svg looks empty")

    def test_figures_are_not_blank(self):
        var, ink = helpers.pixel_stats(os.path.join(OUT, "figures", "bench.png"))
        self.assertGreater(var, 100)
        self.assertGreater(ink, 0.01)

    def test_svg_has_no_date(self):
        for svg in glob.glob(os.path.join(OUT, "figures", "*.svg")):
            with open(svg) as f:
                self.assertNotIn("<dc:date>", f.read(), svg)

    def test_markdown_and_html_reference_every_figure(self):
        md, html = read("report.md"), read("report.html")
        for name in self.expected():
            self.assertIn(f"(figures/{name}.png)", md)
            self.assertIn(f'id="fig-{name}"', html)


class TestHtml(unittest.TestCase):
    def test_self_contained_and_script_free(self):
        html = read("report.html")
        self.assertNotIn("<script", html.lower())
        srcs = re.findall(r'\bsrc="([^"]*)"', html)
        self.assertEqual(len(srcs), N_FIGURES)
        self.assertTrue(all(s.startswith("data:image/png;base64,") for s in srcs))
        self.assertNotRegex(html, r'<link\b|href="https?:')
        ids = re.findall(r'\bid="([^"]*)"', html)
        self.assertEqual(len(ids), len(set(ids)), "duplicate element ids")

    def browser(self):
        if os.environ.get("HPCB_NO_CHROMIUM") == "1":
            skip_anywhere(self, "HPCB_NO_CHROMIUM=1: browser check skipped on request")
        path = helpers.find_chromium()
        if path is None:
            self.fail("headless Chromium not found (looked for $HPCB_CHROMIUM, /usr/bin/chromium, chromium, "
                      "chromium-browser): install the Debian package 'chromium', or set HPCB_NO_CHROMIUM=1 "
                      "to skip this check knowingly")
        return path

    def test_renders_in_chromium_without_errors(self):
        browser = self.browser()
        shot = os.path.join(OUT, "screenshot.png")
        url = "file://" + os.path.abspath(os.path.join(OUT, "report.html"))
        p = helpers.chromium(browser, url, f"--screenshot={shot}", "--window-size=1200,2000",
                             "--enable-logging=stderr", "--v=0")
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        self.assertEqual(helpers.console_lines(p.stderr), [])
        self.assertEqual(helpers.png_header(shot)[:2], (1200, 2000))
        var, ink = helpers.pixel_stats(shot)
        self.assertGreater(var, 100, "screenshot is blank")
        self.assertGreater(ink, 0.02, "screenshot is nearly all white")

    def test_dom_has_the_sections(self):
        browser = self.browser()
        url = "file://" + os.path.abspath(os.path.join(OUT, "report.html"))
        p = helpers.chromium(browser, url, "--dump-dom")
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        for anchor in ("answers", "method", "setup-and-provenance", "failed-runs", "missing-cells",
                       "checklist-hoefler-belli-s-twelve-rules"):
            self.assertIn(f'id="{anchor}"', p.stdout)
        self.assertEqual(p.stdout.count("<img "), N_FIGURES)

    def test_console_check_catches_script_errors(self):
        # The detector itself must work, or the test above would pass vacuously.
        browser = self.browser()
        page = os.path.join(OUT, "broken.html")
        with open(page, "w") as f:
            f.write("<!DOCTYPE html><html><body><p>x</p><script>undefinedFunction();</script></body></html>")
        p = helpers.chromium(browser, "file://" + page, "--dump-dom", "--enable-logging=stderr", "--v=0")
        self.assertTrue(helpers.console_lines(p.stderr), "a page with a script error produced no console line")


class TestSkippedInput(unittest.TestCase):
    def test_malformed_lines_warn_and_report_still_builds(self):
        out = tempfile.mkdtemp(prefix="hpcb-report-")
        self.addCleanup(shutil.rmtree, out)
        path = helpers.fixture("malformed.jsonl")
        p = helpers.run_cli("--out", out, "--quiet", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stderr.splitlines()
        self.assertEqual(len(lines), 4, p.stderr)
        for n in (2, 5, 6, 7):
            self.assertTrue(any(ln.startswith(f"make_report: warning: {path}:{n}: ") for ln in lines), (n, lines))
        with open(os.path.join(out, "report.md")) as f:
            self.assertIn(f"{path}:2: malformed JSON", f.read())


class TestNoRecords(unittest.TestCase):
    def assert_one_line_error(self, *args):
        out = tempfile.mkdtemp(prefix="hpcb-report-")
        self.addCleanup(shutil.rmtree, out)
        p = helpers.run_cli("--out", out, *args)
        self.assertEqual(p.returncode, 1, p.stderr)
        lines = p.stderr.splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertTrue(lines[0].startswith("make_report: error: "), lines[0])
        self.assertFalse(os.path.exists(os.path.join(out, "report.html")))
        return lines[0]

    def test_no_files(self):
        self.assert_one_line_error()

    def test_missing_file(self):
        self.assertIn("/nonexistent/runs.jsonl", self.assert_one_line_error("/nonexistent/runs.jsonl"))

    def test_empty_files(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        a, b = os.path.join(tmp, "a.jsonl"), os.path.join(tmp, "b.jsonl")
        open(a, "w").close()
        with open(b, "w") as f:
            f.write("\n\n")
        self.assert_one_line_error(a, b)

    def test_benchmarks_alone_are_not_records(self):
        self.assert_one_line_error(helpers.fixture("microbench.json"))

    def test_only_bad_lines(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        bad = os.path.join(tmp, "bad.jsonl")
        with open(bad, "w") as f:
            f.write('{"schema": "run/1"\nnot json\n')
        out = os.path.join(tmp, "out")
        p = helpers.run_cli("--out", out, bad)
        self.assertEqual(p.returncode, 1)
        lines = p.stderr.splitlines()
        self.assertEqual([ln.split(": ")[1] for ln in lines], ["warning", "warning", "error"], lines)
        self.assertIn(f"{bad}:2:", lines[1])


class TestGroupsAndDeterminism(unittest.TestCase):
    def test_groups_apart_and_identical_rebuild(self):
        outs = [tempfile.mkdtemp(prefix="hpcb-report-") for _ in range(2)]
        for out in outs:
            self.addCleanup(shutil.rmtree, out)
            p = helpers.run_cli("--out", out, "--quiet", helpers.fixture("grouping.jsonl"))
            self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(outs[0], "report.md")) as f:
            md = f.read()
        self.assertEqual(len(re.findall(r"^### Group `kmeans-", md, flags=re.M)), 3)
        self.assertIn("S/E vs seq: the sequential run, median 1.100 s (n=3)", md)     # mnist, k=10
        self.assertIn("S/E vs seq: the sequential run, median 0.01100 s (n=3)", md)   # digits
        self.assertIn("S/E vs seq: the sequential run, median 2.200 s (n=3)", md)     # mnist, k=5
        # Same data, same bytes: no dates or random ids in any output.
        files = sorted(os.path.relpath(p, outs[0]) for p in glob.glob(os.path.join(outs[0], "**", "*"), recursive=True)
                       if os.path.isfile(p))
        self.assertGreater(len(files), 10)
        for rel in files:
            with open(os.path.join(outs[0], rel), "rb") as a, open(os.path.join(outs[1], rel), "rb") as b:
                self.assertEqual(a.read(), b.read(), f"{rel} differs between two builds")


if __name__ == "__main__":
    unittest.main()


class FigureWriterChild(unittest.TestCase):
    """The PNG and SVG files are written by a forked child (make_report._save_in_child): its
    failure must reach the exit status, not be lost with the child."""

    def test_child_failure_is_reported(self):
        from report import figures, make_report
        saved = figures.save

        def broken(f, outdir):
            raise OSError("disk full")
        figures.save = broken
        try:
            pid = make_report._save_in_child([figures.Figure("x", "", None, (1, 1))], tempfile.gettempdir())
        finally:
            figures.save = saved
        self.assertEqual(make_report._child_failure(pid), "exit 1")

    def test_child_success(self):
        from report import figures, make_report
        saved = figures.save
        figures.save = lambda f, outdir: None
        try:
            pid = make_report._save_in_child([figures.Figure("x", "", None, (1, 1))], tempfile.gettempdir())
        finally:
            figures.save = saved
        self.assertIsNone(make_report._child_failure(pid))


class TagPrefix(unittest.TestCase):
    """make_report --tag PREFIX reports only the records whose tag starts with PREFIX, and says so."""

    def test_selection_and_no_match(self):
        src = helpers.fixture("runs.jsonl")
        with open(src) as fh:
            lines = [json.loads(line) for line in fh if line.strip()]
        tags = sorted({r.get("tag") for r in lines if isinstance(r.get("tag"), str)})
        self.assertTrue(tags, "the fixture's records carry tags")
        prefix = tags[0]
        want = sum(1 for r in lines if isinstance(r.get("tag"), str) and r["tag"].startswith(prefix))
        out = tempfile.mkdtemp(prefix="hpcb-report-tag-")
        try:
            p = helpers.run_cli("--out", out, "--quiet", "--tag", prefix, src)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(out, "report.md")) as fh:
                text = fh.read()
            self.assertIn(f"Inputs: {want} valid run record", text)
            self.assertIn(f"(only those whose tag starts with `{prefix}`)", text)
            p = helpers.run_cli("--out", out, "--quiet", "--tag", "no-such-sweep/", src)
            self.assertEqual(p.returncode, 1)
            self.assertEqual(p.stderr.strip(), "make_report: error: no run records with a tag starting with 'no-such-sweep/'")
        finally:
            shutil.rmtree(out, ignore_errors=True)

"""--describe: every executable prints its option schema and exit codes as JSON (hpcb-describe/1),
and the schema is the truth: its flags are the ones --help lists, its defaults are what a run
records, its bounds and choices are the ones the executable enforces, its exit codes are
error.hpp's; the README's option table agrees with it."""
import json
import os
import re
import subprocess
import unittest

import numpy as np

from tests.e2e.util import BIN, MPIEXEC, ROOT, TempDir, read_records, run, write_points, write_xy

APPS = ("kmeans", "nlreg")
BACKENDS = ("seq", "omp", "mpi", "hybrid")
TYPES = {"int", "uint64", "float", "choice", "text", "flag"}
ROLES = {"param", "sweep", "none"}
FIELDS = {"flag", "key", "type", "default", "required", "min", "max", "min_exclusive", "choices", "words",
          "path_allowed", "meaning", "backends", "role", "recorded", "hidden"}


def describe(app, backend):
    """Under MPI on 2 ranks: the document must still be printed once."""
    exe = os.path.join(BIN, f"{app}_{backend}")
    argv = ([MPIEXEC, "-n", "2"] if backend in ("mpi", "hybrid") else []) + [exe, "--describe"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def schema(app, backend="seq"):
    proc = describe(app, backend)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def help_flags(app):
    out = subprocess.run([os.path.join(BIN, app + "_seq"), "--help"], capture_output=True, text=True).stdout
    return {m.group(1) for m in re.finditer(r"^\s+(?:-\w,)?(--[a-z][a-z0-9-]*)", out, re.M)}


class Describe(unittest.TestCase):
    def test_every_executable_prints_its_schema(self):
        for app in APPS:
            for backend in BACKENDS:
                with self.subTest(app=app, backend=backend):
                    proc = describe(app, backend)
                    self.assertEqual(proc.returncode, 0, proc.stderr)
                    self.assertEqual(proc.stderr, "")
                    d = json.loads(proc.stdout)  # one document: printed once, also under mpiexec
                    self.assertEqual((d["schema"], d["program"], d["app"], d["backend"]),
                                     ("hpcb-describe/1", f"{app}_{backend}", app, backend))
                    flags = [o["flag"] for o in d["options"]]
                    self.assertEqual(len(flags), len(set(flags)), flags)
                    for o in d["options"]:
                        self.assertEqual(set(o), FIELDS, o["flag"])
                        self.assertIn(o["type"], TYPES, o["flag"])
                        self.assertIn(o["role"], ROLES, o["flag"])
                        self.assertEqual(o["key"], o["flag"][2:].replace("-", "_"))
                        self.assertTrue(o["meaning"], o["flag"])
                        self.assertTrue(set(o["backends"]) <= set(BACKENDS) and o["backends"], o["flag"])
                        self.assertEqual(o["type"] == "choice", bool(o["choices"]), o["flag"])
                        if o["recorded"]:
                            self.assertEqual(o["role"], "param", o["flag"])
                    by = {o["flag"]: o for o in d["options"]}
                    self.assertEqual(by["--threads"]["backends"], ["omp", "hybrid"])
                    for flag, role in [("--help", "none"), ("--describe", "none"), ("--data", "sweep"),
                                       ("--threads", "sweep"), ("--record", "sweep"), ("--tag", "sweep"),
                                       ("--checkpoint", "sweep"), ("--resume", "sweep"), ("--out", "none"),
                                       ("--quiet", "none"), ("--oversubscribe", "none")]:
                        self.assertEqual(by[flag]["role"], role, flag)
                    self.assertTrue(by["--data"]["required"])

    def test_exit_codes_are_those_the_executables_end_with(self):
        d = schema("kmeans")
        codes = {c["code"]: c for c in d["exit_codes"]}
        self.assertEqual(sorted(codes), [0, 1, 2, 3, 4])
        self.assertIn("--resume", codes[4]["meaning"])
        for c in d["exit_codes"]:
            self.assertTrue(c["name"] and c["meaning"], c)
        # The --help header is written from the same table.
        out = subprocess.run([os.path.join(BIN, "kmeans_seq"), "--help"], capture_output=True, text=True).stdout
        self.assertIn(", ".join(f"{c['code']} {c['name']}" for c in d["exit_codes"]), " ".join(out.split()))

    def test_flags_are_those_of_help(self):
        for app in APPS:
            with self.subTest(app=app):
                visible = {o["flag"] for o in schema(app)["options"] if not o["hidden"]}
                self.assertEqual(visible, help_flags(app))

    def test_app_options(self):
        km = {o["flag"]: o for o in schema("kmeans")["options"]}
        self.assertEqual(km["--mstep"]["choices"], ["reduce", "owner"])
        self.assertEqual(km["--algorithm"]["choices"], ["lloyd", "hamerly", "elkan"])
        self.assertEqual((km["--init"]["words"], km["--init"]["path_allowed"]), (["random", "kmeans++"], True))
        self.assertEqual((km["--seed"]["type"], km["--seed"]["max"]), ("uint64", 2 ** 64 - 1))
        self.assertEqual((km["--k"]["min"], km["--k"]["max"]), (1, 2 ** 31 - 1))
        nl = {o["flag"]: o for o in schema("nlreg")["options"]}
        self.assertEqual((nl["--lr"]["words"], nl["--lr"]["min"], nl["--lr"]["min_exclusive"]), (["auto"], 0, True))
        self.assertEqual(nl["--solver"]["choices"], ["gd", "normal"])
        self.assertIsNone(nl["--target-mse"]["default"])
        self.assertNotIn("--k", nl)

    def test_defaults_are_what_a_run_records(self):
        """A run without options records, for each recorded option, the schema's default; the
        recorded options are exactly the record's params (besides the fixed start a0, b0, c0)."""
        with TempDir() as tmp:
            pts = tmp.file("p.h5")
            write_points(pts, np.random.default_rng(1).normal(size=(60, 2)))
            xy = tmp.file("xy.h5")
            x = np.linspace(0, 1, 50)
            write_xy(xy, x, x * x)
            for app, data, extra in [("kmeans", pts, ["--k", "3"]), ("nlreg", xy, ["--epochs", "5"])]:
                with self.subTest(app=app):
                    opts = [o for o in schema(app)["options"] if o["recorded"]]
                    proc = run(app, "seq", 1, ["--data", data, "--quiet", "--record", tmp.records] + extra)
                    self.assertEqual(proc.returncode, 0, proc.stderr)
                    params = read_records(tmp.records)[-1]["params"]
                    self.assertEqual({o["key"] for o in opts}, set(params) - {"a0", "b0", "c0"})
                    given = {extra[0]}
                    for o in opts:
                        if o["flag"] not in given:
                            self.assertEqual(params[o["key"]], o["default"], o["flag"])

    def test_bounds_and_choices_are_enforced(self):
        """Each bound and choice the schema states is the executable's: a value just outside is
        refused (exit 2, the flag named), nothing is run."""
        for app in APPS:
            for o in schema(app)["options"]:
                bad = None
                if o["type"] == "int" and o["min"] is not None:
                    bad = str(o["min"] - 1)
                elif o["type"] == "float" and o["min"] is not None:
                    bad = repr(o["min"] if o["min_exclusive"] else o["min"] - 1e-3)
                elif o["type"] == "choice":
                    bad = "x" + o["choices"][0]
                if bad is None:
                    continue
                with self.subTest(app=app, flag=o["flag"], value=bad):
                    proc = run(app, "seq", 1, ["--data", "/nonexistent.h5", "--record", "none", o["flag"], bad])
                    self.assertEqual(proc.returncode, 2, proc.stderr)
                    self.assertIn(o["flag"], proc.stderr)


def readme_options():
    """flag -> (default cell, meaning cell) of the README's option table."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    start = text.index("| option | default | meaning |")
    rows = {}
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        flag = re.search(r"`(--[a-z][a-z0-9-]*)", cells[0]).group(1)
        rows[flag] = (cells[1], cells[2])
    return rows


def readme_default(cell):
    if cell == "(required)":
        return "required"
    if cell in ("none", "off"):
        return None
    cell = cell.strip("`")
    try:
        return float(cell)
    except ValueError:
        return cell


class ReadmeTable(unittest.TestCase):
    def test_readme_table_agrees_with_the_schema(self):
        rows = readme_options()
        schemas = {o["flag"]: o for app in APPS for o in schema(app)["options"] if not o["hidden"]}
        self.assertEqual(set(rows), set(schemas), "flags in the README table vs --describe")
        for flag, o in schemas.items():
            with self.subTest(flag=flag):
                default, meaning = rows[flag]
                want = default if default == "required" else readme_default(default)
                if o["required"]:
                    self.assertEqual(want, "required")
                elif o["type"] == "flag" or o["default"] is None:
                    self.assertIsNone(want)
                elif isinstance(o["default"], (int, float)):
                    self.assertEqual(want, float(o["default"]))
                else:
                    self.assertEqual(want, o["default"])
                for word in o["choices"] + o["words"]:
                    self.assertIn(f"`{word}`", default + " " + meaning, word)


if __name__ == "__main__":
    unittest.main()

"""The reader of the executables' `--describe` schema (jobs/options.py: describe, parse_schema,
options_from_schema, exit_meanings). The fixtures in describe/ were written from the facts of
jobs/options.py's table and the executables' --help when the executables did not yet print the
schema; the tests check that the reader turns them into exactly the table's rules, and, once the
built executables print the schema, that it carries the same facts."""

import json
import os
import subprocess
import tempfile
import unittest

from jobs import options, sweep
from jobs.tests.helpers import write_exe

HERE = os.path.dirname(os.path.abspath(__file__))
RULES = ("apps", "role", "kind", "lo", "hi", "lo_open", "choices", "words", "recorded", "path_allowed")


def fixture(app):
    with open(os.path.join(HERE, "describe", app + ".json"), encoding="utf-8") as fh:
        return options.parse_schema(fh.read(), app + ".json")


def rules(opts, app):
    return {o.flag: tuple(getattr(o, r) if r != "apps" else app in o.apps for r in RULES) for o in opts}


class TestSchemaReader(unittest.TestCase):

    def test_fixture_gives_the_tables_rules(self):
        for app in options.APPS:
            table = [o for o in options.OPTIONS if app in o.apps]
            self.assertEqual(rules(options.options_from_schema(fixture(app)), app), rules(table, app), app)

    def test_values_checked_alike(self):
        read = {o.key: o for o in options.options_from_schema(fixture("nlreg")) + options.options_from_schema(fixture("kmeans"))}
        for key, value in (("lr", "auto"), ("lr", "0.5"), ("seed", str(2 ** 64 - 1)), ("solver", "normal"),
                           ("algorithm", "elkan"), ("k", "3")):
            self.assertEqual(options.check_value(read[key], value), options.check_value(options.find_param(
                "nlreg" if key in ("lr", "solver") else "kmeans", key), value))
        for key, value in (("lr", "0"), ("seed", str(2 ** 64)), ("solver", "lbfgs"), ("k", "0")):
            with self.assertRaises(options.OptionError):
                options.check_value(read[key], value)

    def test_threads_apply_to_the_threaded_forms(self):
        (threads,) = [o for o in options.options_from_schema(fixture("kmeans")) if o.flag == "--threads"]
        self.assertEqual(set(threads.backends), set(sweep.common.THREADED_FORMS))

    def test_exit_codes_are_the_sweeps(self):
        meanings = options.exit_meanings(fixture("kmeans"))
        self.assertEqual(sorted(meanings), [0, 1, 2, 3, 4])
        for code in (1, 2, 3, 4):
            self.assertEqual(meanings[code], sweep.EXIT_MEANING[code])

    def test_refuses_what_is_not_the_schema(self):
        for text in ("not json", "[]", json.dumps({"schema": "other/1", "options": [], "exit_codes": []}),
                     json.dumps({"schema": options.SCHEMA, "options": {}})):
            with self.assertRaises(options.OptionError):
                options.parse_schema(text, "x")
        doc = fixture("kmeans")
        doc["options"][0]["type"] = "complex"
        with self.assertRaises(options.OptionError):
            options.options_from_schema(doc)

    def test_describe_runs_the_executable_once(self):
        with tempfile.TemporaryDirectory() as d:
            calls = os.path.join(d, "calls")
            write_exe(os.path.join(d, "nlreg_seq"), "#!/bin/bash\necho \"$@\" >>%s\ncat %s\n"
                      % (calls, os.path.join(HERE, "describe", "nlreg.json")))
            write_exe(os.path.join(d, "kmeans_seq"), "#!/bin/bash\necho 'kmeans_seq: unknown --describe' >&2\nexit 2\n")
            for _ in range(2):
                self.assertEqual(options.describe("nlreg", d)["app"], "nlreg")
            with open(calls) as fh:
                self.assertEqual(fh.read().split(), ["--describe"])
            with self.assertRaises(options.OptionError):
                options.describe("kmeans", d)

    def test_built_executables_print_the_same_facts(self):
        bins = options.default_bin_dir()
        exe = os.path.join(bins, "kmeans_seq")
        if not os.access(exe, os.X_OK) or subprocess.run([exe, "--describe"], stdout=subprocess.DEVNULL,
                                                         stderr=subprocess.DEVNULL).returncode != 0:
            self.skipTest("the built executables do not print --describe yet")
        for app in options.APPS:
            self.assertEqual(rules(options.options_from_schema(options.describe(app, bins)), app),
                             rules(options.options_from_schema(fixture(app)), app), app)


if __name__ == "__main__":
    unittest.main()

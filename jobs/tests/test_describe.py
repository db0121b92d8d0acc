"""The reader of the executables' `--describe` schema (jobs/options.py: describe, parse_schema,
options_from_schema, exit_names), against the built executables (the one source of the options)
and against fake executables for its error paths."""

import json
import os
import tempfile
import unittest

from jobs import options, sweep
from jobs.tests.helpers import write_exe


class TestSchemaReader(unittest.TestCase):

    def test_grid_parameters_are_the_recorded_params_options(self):
        # Every option a run records in `params` is one a grid can set, and back (the sweep's
        # "already recorded" rule compares exactly those).
        for app in options.APPS:
            params = set(options.grid_params(app))
            recorded = {o.key for o in options.options_of(app).values() if o.role == "param" and o.recorded}
            self.assertLessEqual(recorded, params, app)
            self.assertIn("checkpoint_every", params - recorded)

    def test_values_checked_by_the_schemas_rules(self):
        for app, key, value, want in (("nlreg", "lr", "auto", "auto"), ("nlreg", "lr", "0.5", 0.5),
                                      ("kmeans", "seed", str(2 ** 64 - 1), 2 ** 64 - 1),
                                      ("nlreg", "solver", "normal", "normal"), ("kmeans", "algorithm", "elkan", "elkan"),
                                      ("kmeans", "k", "3", 3), ("kmeans", "init", "kmeans++", "kmeans++")):
            self.assertEqual(options.check_value(options.find_param(app, key), value), want)
        for app, key, value in (("nlreg", "lr", "0"), ("kmeans", "seed", str(2 ** 64)), ("nlreg", "solver", "lbfgs"),
                                ("kmeans", "k", "0"), ("kmeans", "k", "0x10"), ("kmeans", "mstep", "all")):
            with self.assertRaises(options.OptionError):
                options.check_value(options.find_param(app, key), value)

    def test_threads_apply_to_the_threaded_forms(self):
        self.assertEqual(set(sweep.threaded_forms()), {"omp", "hybrid"})

    def test_exit_codes(self):
        names = options.exit_names()
        self.assertEqual(sorted(names), [0, 1, 2, 3, 4])
        self.assertEqual(names[2], "usage error")

    def test_refuses_what_is_not_the_schema(self):
        for text in ("not json", "[]", json.dumps({"schema": "other/1", "options": [], "exit_codes": []}),
                     json.dumps({"schema": options.SCHEMA, "options": {}})):
            with self.assertRaises(options.OptionError):
                options.parse_schema(text, "x")
        doc = options.describe("kmeans")
        bad = dict(doc, options=[dict(doc["options"][0], type="complex")])
        with self.assertRaises(options.OptionError):
            options.options_from_schema(bad)

    def test_describe_runs_the_executable_once_and_names_a_failure(self):
        schema = json.dumps(options.describe("nlreg"))
        with tempfile.TemporaryDirectory() as d:
            calls = os.path.join(d, "calls")
            with open(os.path.join(d, "schema.json"), "w") as fh:
                fh.write(schema)
            write_exe(os.path.join(d, "nlreg_seq"), "#!/bin/bash\necho \"$@\" >>%s\ncat %s\n"
                      % (calls, os.path.join(d, "schema.json")))
            write_exe(os.path.join(d, "kmeans_seq"), "#!/bin/bash\necho 'kmeans_seq: unknown --describe' >&2\nexit 2\n")
            for _ in range(2):
                self.assertEqual(options.describe("nlreg", d)["app"], "nlreg")
            with open(calls) as fh:
                self.assertEqual(fh.read().split(), ["--describe"])
            with self.assertRaisesRegex(options.OptionError, "exit 2"):
                options.describe("kmeans", d)
            with self.assertRaisesRegex(options.OptionError, "build the executables"):
                options.describe("kmeans", os.path.join(d, "nowhere"))


if __name__ == "__main__":
    unittest.main()

"""Resume: which (cell, repetition) pairs count as done, from a fake records file."""

import json
import os
import unittest

from jobs import sweep
from jobs.tests.helpers import SweepTestCase

GRID = """
[sweep]
name = res
repetitions = 2
forms = seq omp mpi
nodes = 1 2
tasks_per_node = 1
threads = 2

[workload nlreg]
app = nlreg
datasets = datasets/quad-small.h5
epochs = 50
lr = 0.001
"""


def rec(tag, backend, ranks=1, threads=1, nodes=1, epochs=50, lr=0.001, status="ok", path="datasets/quad-small.h5",
        job=None, app="nlreg"):
    return {"schema": "run/1", "app": app, "backend": backend, "ranks": ranks, "threads": threads, "nodes": nodes,
            "status": status, "tag": tag, "dataset": {"path": path, "sha256": ""},
            "params": {"epochs": epochs, "lr": lr, "a0": 0.0, "b0": 0.0, "c0": 0.0},
            "prov": {"slurm_job_id": job}}


class TestResume(SweepTestCase):

    def setUp(self):
        super().setUp()
        self.g = sweep.normalise_grid(sweep.load_grid_file(self.grid(GRID)))
        self.cells = sweep.expand(self.g, sweep.load_profile("local"), 2, 4)
        self.ids = sorted(c.id for c in self.cells)

    def classify(self, records, index=None):
        return sweep.classify(self.cells, 2, "res", records, index or {})

    def test_cells_and_tags(self):
        self.assertEqual(self.ids, ["nlreg.quad-small.mpi.n1-t1-c1", "nlreg.quad-small.mpi.n2-t1-c1",
                                    "nlreg.quad-small.omp.n1-t1-c2", "nlreg.quad-small.seq.n1-t1-c1"])
        self.assertEqual(sweep.tag_of("res", self.ids[0], 1), "res/nlreg.quad-small.mpi.n1-t1-c1/rep1")

    def test_only_matching_valid_records_count(self):
        t = "res/nlreg.quad-small.seq.n1-t1-c1/rep0"
        omp = "res/nlreg.quad-small.omp.n1-t1-c2/rep1"
        records = [
            rec(t, "seq"),                                            # valid
            rec(omp, "omp", threads=2, lr=0.0010000000000000002),     # valid (float noise)
            rec("res/nlreg.quad-small.seq.n1-t1-c1/rep1", "seq", epochs=51),      # other params
            rec("res/nlreg.quad-small.mpi.n1-t1-c1/rep0", "mpi", status="failed"),  # failed run
            rec("res/nlreg.quad-small.mpi.n1-t1-c1/rep1", "mpi", ranks=2),         # other rank count
            rec("other/nlreg.quad-small.omp.n1-t1-c2/rep0", "omp", threads=2),    # other sweep
            rec("res/nlreg.quad-small.omp.n1-t1-c2/rep0", "omp", threads=1),      # other thread count
            rec("res/nlreg.quad-small.seq.n1-t1-c1/rep1", "omp"),                 # other backend
            rec("res/nlreg.quad-small.seq.n1-t1-c1/rep1", "seq", path="datasets/x.h5"),  # other data
            rec("res/nlreg.quad-small.seq.n1-t1-c1/rep1", "seq", app="kmeans"),  # other app
        ]
        done, missing = self.classify(records)
        self.assertEqual(done, {("nlreg.quad-small.seq.n1-t1-c1", 0), ("nlreg.quad-small.omp.n1-t1-c2", 1)})
        self.assertEqual(len(missing), 8 - 2)

    def test_node_count_from_the_job_index_for_fake_nodes(self):
        # fake nodes share one host name: the record says 1 node, the job's index entry says 2
        t = "res/nlreg.quad-small.mpi.n2-t1-c1/rep0"
        records = [rec(t, "mpi", ranks=2, nodes=1, job="77")]
        done, _ = self.classify(records)
        self.assertEqual(done, set())
        done, _ = self.classify(records, {"77": {"slurm_job_id": "77", "nodes": 2}})
        self.assertEqual(done, {("nlreg.quad-small.mpi.n2-t1-c1", 0)})
        # a real 2-node record needs no index; a 1-node job does not count as 2
        self.assertEqual(self.classify([rec(t, "mpi", ranks=2, nodes=2)])[0], {("nlreg.quad-small.mpi.n2-t1-c1", 0)})
        self.assertEqual(self.classify(records, {"77": {"nodes": 1}})[0], set())

    def test_missing_pairs_become_one_job_per_shape(self):
        t = "res/nlreg.quad-small.%s/rep%d"
        records = [rec(t % ("seq.n1-t1-c1", 0), "seq"), rec(t % ("seq.n1-t1-c1", 1), "seq"),
                   rec(t % ("mpi.n1-t1-c1", 0), "mpi"), rec(t % ("omp.n1-t1-c2", 0), "omp", threads=2)]
        done, missing = self.classify(records)
        jobs = sweep.plan_jobs(self.cells, missing)
        got = {j.shape: {r: [c.id for c in cs] for r, cs in j.reps_cells.items()} for j in jobs}
        self.assertEqual(got, {(1, 1, 1): {1: ["nlreg.quad-small.mpi.n1-t1-c1"]},
                               (1, 1, 2): {1: ["nlreg.quad-small.omp.n1-t1-c2"]},
                               (2, 1, 1): {0: ["nlreg.quad-small.mpi.n2-t1-c1"], 1: ["nlreg.quad-small.mpi.n2-t1-c1"]}})
        self.assertEqual([j.is_array for j in jobs], [False, False, True])

    def test_lr_auto_is_matched_by_what_the_record_says_was_asked(self):
        # The record keeps the rate used (a number) and lr_auto; a grid asking lr = auto must find
        # such a record again, and never take a run at a fixed rate for it (or the reverse).
        g = sweep.normalise_grid(sweep.load_grid_file(self.grid(GRID.replace("lr = 0.001", "lr = auto"))))
        cells = [c for c in sweep.expand(g, sweep.load_profile("local"), 2, 4) if c.form == "seq"]
        t = "res/nlreg.quad-small.seq.n1-t1-c1/rep0"
        auto = rec(t, "seq", lr=0.3711)
        auto["params"]["lr_auto"] = True
        fixed = rec(t, "seq", lr=0.3711)
        fixed["params"]["lr_auto"] = False
        verbatim = rec(t, "seq", lr="auto")         # a record that stores the request itself
        self.assertEqual(sweep.classify(cells, 1, "res", [auto], {})[0], {(cells[0].id, 0)})
        self.assertEqual(sweep.classify(cells, 1, "res", [verbatim], {})[0], {(cells[0].id, 0)})
        self.assertEqual(sweep.classify(cells, 1, "res", [fixed], {})[0], set())
        # the fixed-rate grid does not take the auto run for one at its rate either
        fixed_cells = [c for c in self.cells if c.form == "seq"]
        auto_at_grid_rate = rec(t, "seq", lr=0.001)
        auto_at_grid_rate["params"]["lr_auto"] = True
        self.assertEqual(sweep.classify(fixed_cells, 1, "res", [auto_at_grid_rate], {})[0], set())
        self.assertEqual(sweep.classify(fixed_cells, 1, "res", [rec(t, "seq", lr=0.001)], {})[0],
                         {(fixed_cells[0].id, 0)})

    def test_options_not_in_the_record_do_not_block_resume(self):
        g = sweep.normalise_grid(sweep.load_grid_file(self.grid(GRID + "checkpoint_every = 10\n")))
        cells = [c for c in sweep.expand(g, sweep.load_profile("local"), 2, 4) if c.form == "seq"]
        t = "res/nlreg.quad-small.seq.n1-t1-c1/rep0"
        self.assertEqual(sweep.classify(cells, 1, "res", [rec(t, "seq")], {})[0], {(cells[0].id, 0)})

    def test_records_file_with_junk_lines(self):
        os.makedirs(self.results)
        with open(self.records, "w") as fh:
            fh.write("not json\n\n[1, 2]\n" + json.dumps(rec("res/nlreg.quad-small.seq.n1-t1-c1/rep0", "seq")) + "\n{\"trunc")
        done, missing = self.classify(sweep.read_jsonl(self.records))
        self.assertEqual(done, {("nlreg.quad-small.seq.n1-t1-c1", 0)})


if __name__ == "__main__":
    unittest.main()

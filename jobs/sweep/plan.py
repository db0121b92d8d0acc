"""Planning: the runs to do, grouped into jobs of one resource shape (an array over the
repetitions when more than one is missing)."""


def array_spec(reps):
    """[0,1,2,4] -> '0-2,4'."""
    reps = sorted(reps)
    parts, start = [], reps[0]
    for a, b in zip(reps, reps[1:] + [None]):
        if b != a + 1:
            parts.append(str(start) if start == a else "%d-%d" % (start, a))
            start = b
    return ",".join(parts)


class Job(object):
    """One submission: the cells of one shape, for one or more repetitions (an array)."""

    def __init__(self, shape, reps_cells):
        self.shape = shape
        self.reps_cells = reps_cells       # {rep: [Cell]}
        self.script = self.cli = self.name = self.time = None

    @property
    def reps(self):
        return sorted(self.reps_cells)

    @property
    def is_array(self):
        return len(self.reps_cells) > 1

    def pairs(self):
        return [(c.id, r) for r in self.reps for c in self.reps_cells[r]]


def plan_jobs(cells, missing):
    by_id = {c.id: c for c in cells}
    order = {c.id: i for i, c in enumerate(cells)}      # grid order: workloads, datasets, forms as listed
    shapes = {}
    for cid, rep in sorted(missing):
        c = by_id[cid]
        shapes.setdefault(c.shape, {}).setdefault(rep, []).append(c)
    jobs = []
    for shape in sorted(shapes):
        rc = shapes[shape]
        for r in rc:
            rc[r].sort(key=lambda c: order[c.id])
        jobs.append(Job(shape, rc))
    return jobs

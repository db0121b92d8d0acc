"""The Spack environments and the toolkit's recipe, checked without Spack.

No Spack here (and no network), so nothing is concretized. What can be checked is: every spec in
spack.yaml, spack/envs/*/spack.yaml and the depends_on() lines of spack/packages/hpc-batch/package.py
names only variants (and values) the recipes declare, as listed with their source in
spack/recipe-variants.json; the choices the cluster needs are there (a fabric that reaches
InfiniBand, pmi=pmi2 for `srun --mpi=pmi2`, GCC 11 or newer, an explicit portable target,
googletest); the two environments differ only in MPI; and the environment provides what the
recipe depends on, with the same variants.
"""
import ast
import json
import os
import re
import unittest

from tests.e2e.util import ROOT

try:
    import yaml
except ImportError:  # Debian: python3-yaml (in the Makefile's TEST_DEBS)
    yaml = None

TABLE = os.path.join(ROOT, "spack", "recipe-variants.json")
MAIN_ENV = os.path.join(ROOT, "spack.yaml")
SITE_ENV = os.path.join(ROOT, "spack", "envs", "site-mpi", "spack.yaml")
RECIPE = os.path.join(ROOT, "spack", "packages", "hpc-batch", "package.py")
# Packages the Spack environment adds for MPI itself; the site-MPI environment leaves them out.
MPI_STACK = {"mpich", "libfabric", "ucx"}


def parse_spec(text):
    """A Spack spec string as [(package, {variant: value}, compiler)], the root first, then each ^dep.
    Booleans are True/False; multi-valued variants are sets of strings."""
    nodes = []
    for part in re.split(r"\s*\^\s*", text.strip()):
        tokens = re.findall(r"[+~][\w-]+|[\w-]+=[\w.,:-]+|%[\w@.:-]+|@[\w.:,-]+|[\w-]+", part)
        if not tokens or not re.fullmatch(r"[a-z][\w-]*", tokens[0]):
            raise ValueError(f"spec {text!r}: no package name at {part!r}")
        name, variants, compiler = tokens[0], {}, None
        for tok in tokens[1:]:
            if tok[0] in "+~":
                variants[tok[1:]] = tok[0] == "+"
            elif tok[0] == "%":
                compiler = tok[1:]
            elif tok[0] == "@":
                continue
            else:
                key, value = tok.split("=", 1)
                variants[key] = set(value.split(","))
        rest = re.sub(r"[+~][\w-]+|[\w-]+=[\w.,:-]+|%[\w@.:-]+|@[\w.:,-]+|[\w-]+", "", part).strip()
        if rest:
            raise ValueError(f"spec {text!r}: cannot read {rest!r}")
        nodes.append((name, variants, compiler))
    return nodes


def spec_problems(text, table):
    """What in a spec string the recipes' table does not allow (empty list: nothing)."""
    problems = []
    try:
        nodes = parse_spec(text)
    except ValueError as e:
        return [str(e)]
    for name, variants, _ in nodes:
        if name not in table:
            problems.append(f"{text!r}: package {name} is not in {os.path.basename(TABLE)}")
            continue
        declared = table[name]["variants"]
        for key, value in variants.items():
            if key not in declared:
                problems.append(f"{text!r}: {name} has no variant {key!r} ({table[name]['source']})")
            elif isinstance(value, set):
                if declared[key] is None:
                    problems.append(f"{text!r}: {name} variant {key} is boolean, not key=value")
                else:
                    problems += [f"{text!r}: {name} {key}={v} is not one of {declared[key]}"
                                 for v in sorted(value - set(declared[key]))]
            elif declared[key] is not None:
                problems.append(f"{text!r}: {name} variant {key} takes a value ({declared[key]})")
        for a, b in table[name].get("conflicts", []):
            if satisfies(variants, a) and satisfies(variants, b):
                problems.append(f"{text!r}: the {name} recipe declares {a} in conflict with {b}")
    return problems


def satisfies(variants, constraint):
    """Whether the variants given in a spec set `constraint` ('+x', '~x' or 'key=value')."""
    if constraint[0] in "+~":
        return variants.get(constraint[1:]) == (constraint[0] == "+")
    key, value = constraint.split("=", 1)
    return isinstance(variants.get(key), set) and value in variants[key]


def env_specs(path):
    with open(path) as f:
        return yaml.safe_load(f)["spack"]


def recipe_calls(path):
    """The recipe's depends_on/variant/conflicts calls, read with ast (Spack cannot be imported here)."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    calls = {"depends_on": [], "variant": [], "conflicts": []}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in calls:
            args = [a.value for a in node.args if isinstance(a, ast.Constant)]
            kwargs = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
            calls[node.func.id].append((args, kwargs))
    return calls


@unittest.skipIf(yaml is None, "PyYAML (python3-yaml) is not installed")
class SpackEnvironment(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(TABLE) as f:
            cls.table = {k: v for k, v in json.load(f).items() if not k.startswith("_")}
        cls.main = env_specs(MAIN_ENV)
        cls.site = env_specs(SITE_ENV)

    def by_name(self, env):
        return {parse_spec(s)[0][0]: parse_spec(s)[0] for s in env["specs"]}

    def test_every_spec_uses_declared_variants(self):
        for path, env in ((MAIN_ENV, self.main), (SITE_ENV, self.site)):
            for spec in env["specs"]:
                with self.subTest(env=os.path.relpath(path, ROOT), spec=spec):
                    self.assertEqual(spec_problems(spec, self.table), [])

    def test_the_checker_catches_wrong_variants(self):
        # So that test_every_spec_uses_declared_variants can fail: each of these is a mistake.
        for bad in ("mpich +hydra pmi=pmix", "mpich netmod=infiniband", "libfabric fabrics=verbs,ib",
                    "hdf5 +parallel", "openblas +openmp", "nosuchpackage", "mpich pmi2"):
            with self.subTest(spec=bad):
                self.assertNotEqual(spec_problems(bad, self.table), [])

    def test_mpi_reaches_infiniband_and_srun(self):
        specs = self.by_name(self.main)
        _, mpich, _ = specs["mpich"]
        self.assertEqual(mpich.get("pmi"), {"pmi2"}, "srun --mpi=pmi2 needs pmi=pmi2")
        self.assertNotEqual(mpich.get("hydra"), False, "the profiles use mpiexec.hydra too")
        netmod = mpich.get("netmod", {"ofi"})  # ofi is the recipe's default
        if netmod == {"ofi"}:
            _, fabric, _ = specs["libfabric"]
            self.assertIn("verbs", fabric.get("fabrics", set()),
                          "libfabric's default fabrics (sockets,tcp,udp) do not reach InfiniBand")
            self.assertIn("rxm", fabric["fabrics"], "MPICH's ch4:ofi needs rxm on top of verbs")
            self.assertIn("shm", fabric["fabrics"], "ranks on one node talk through shm")
        else:
            self.assertEqual(netmod, {"ucx"})
            _, ucx, _ = specs["ucx"]
            self.assertTrue(ucx.get("verbs"), "ucx without +verbs does not reach InfiniBand")

    def test_compiler_and_target(self):
        for path, env in ((MAIN_ENV, self.main), (SITE_ENV, self.site)):
            with self.subTest(env=os.path.relpath(path, ROOT)):
                self.assertRegex(str(env["packages"]["all"]["require"]), r"target=\w+",
                                 "without a target Spack builds for the login node's CPU")
                for name, (_, _, compiler) in self.by_name(env).items():
                    if name in ("nlohmann-json", "cli11", "openssl", "py-matplotlib", "py-numpy"):
                        continue  # header-only, or not compiled with the toolkit
                    self.assertEqual(compiler, "gcc@11:", f"{name}: the toolkit needs GCC 11 (std::bit_cast)")

    def test_googletest_and_benchmark_are_provided(self):
        for env in (self.main, self.site):
            self.assertIn("googletest", self.by_name(env))
            self.assertIn("benchmark", self.by_name(env))

    def test_site_mpi_environment_differs_only_in_mpi(self):
        main = {n: v for n, v in self.by_name(self.main).items() if n not in MPI_STACK}
        self.assertEqual(self.by_name(self.site), main)
        self.assertNotIn("mpich", self.by_name(self.site))
        for name, cfg in self.site["packages"].items():
            if "externals" in cfg:
                self.assertFalse(cfg.get("buildable", True), f"{name}: the site's MPI, never a Spack build")

    def test_lock_and_view_are_ignored(self):
        with open(os.path.join(ROOT, ".gitignore")) as f:
            ignored = f.read().split()
        for entry in (".spack-env/", "spack.lock"):
            self.assertTrue(any(entry.strip("/") in line for line in ignored), entry)


@unittest.skipIf(yaml is None, "PyYAML (python3-yaml) is not installed")
class SpackRecipe(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(TABLE) as f:
            cls.table = {k: v for k, v in json.load(f).items() if not k.startswith("_")}
        cls.calls = recipe_calls(RECIPE)
        cls.env = {parse_spec(s)[0][0]: parse_spec(s)[0] for s in env_specs(MAIN_ENV)["specs"]}

    def dependencies(self):
        """(spec string, kwargs) of every depends_on but the build-only compilers and tools."""
        return [(args[0], kw) for args, kw in self.calls["depends_on"]
                if parse_spec(args[0])[0][0] not in ("c", "cxx", "gmake", "pkgconfig")]

    def test_dependencies_use_declared_variants(self):
        for spec, _ in self.dependencies():
            with self.subTest(spec=spec):
                self.assertEqual(spec_problems(spec, self.table), [])

    def test_environment_provides_what_the_recipe_needs(self):
        provided = set(self.env) | {"mpi", "zlib-api", "python"}  # virtuals, and python from py-*
        for spec, _ in self.dependencies():
            name, variants, _ = parse_spec(spec)[0]
            with self.subTest(dependency=spec):
                self.assertIn(name, provided, "spack.yaml lacks a package the recipe depends on")
                if name in self.env:
                    env_variants = self.env[name][1]
                    for key, value in variants.items():
                        self.assertEqual(env_variants.get(key), value,
                                         f"spack.yaml's {name} and the recipe disagree on {key}")

    def test_recipe_builds_with_the_variables_the_makefile_reads(self):
        with open(RECIPE) as f:
            recipe = f.read()
        with open(os.path.join(ROOT, "Makefile")) as f:
            makefile = f.read()
        for var in re.findall(r'"([A-Z_]+)=', recipe):
            with self.subTest(variable=var):
                self.assertRegex(makefile, rf"(?m)^{var}\s*\?=", f"the Makefile has no {var} to set")
        self.assertRegex(makefile, r"(?m)^install:", "the recipe runs `make install`")


if __name__ == "__main__":
    unittest.main()

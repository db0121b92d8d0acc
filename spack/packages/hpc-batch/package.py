# Spack recipe of the toolkit itself (k-means and nonlinear regression; seq / OpenMP / MPI / hybrid).
# Use: `spack repo add spack` (this folder), then `spack install hpc-batch` or, from a checkout,
# `spack develop --path . hpc-batch@main` inside the environment. Variant and dependency names are
# checked against spack/recipe-variants.json by tests/spack/test_spack_env.py. Written for
# Spack 0.23 or newer (the `cxx` language virtual); never concretized here (no Spack on the
# development machine): run `spack spec hpc-batch` on the cluster first.
from spack.package import *  # noqa: F401,F403

try:  # Spack >= 1.0 moved the build systems into the builtin repository
    from spack_repo.builtin.build_systems.makefile import MakefilePackage  # noqa: F811
except ImportError:
    pass

# The -march values the toolkit is built for on a mixed partition (README, "Binaries for a mixed
# partition"); x86-64-v3 runs on every node of Stokes's `normal` partition and its login nodes.
MARCH_VALUES = ("x86-64-v3", "skylake-avx512", "icelake-server", "sapphirerapids", "native")


class HpcBatch(MakefilePackage):
    """Batch toolkit: k-means and nonlinear regression on HDF5 data, sequential, OpenMP, MPI
    and hybrid executables sharing one kernel core, JSON-lines run records, Slurm sweeps."""

    homepage = "https://example.invalid/hpc-batch"
    # No public repository yet: `spack develop --path . hpc-batch@main` builds a local checkout;
    # set git to the site's clone to let `spack install hpc-batch@main` fetch it.
    git = "https://example.invalid/hpc-batch.git"

    version("main", branch="main")

    variant("march", default="x86-64-v3", values=MARCH_VALUES, multi=False,
            description="-march for the kernels (x86-64-v3 runs on every node of a mixed partition)")
    variant("report", default=True, description="Python and matplotlib for the report job")

    depends_on("cxx", type="build")
    depends_on("gmake", type="build")
    depends_on("pkgconfig", type="build")
    depends_on("mpi")
    depends_on("hdf5 +mpi +hl ~cxx")
    depends_on("openblas threads=openmp")
    depends_on("nlohmann-json")
    depends_on("cli11")
    depends_on("openssl")
    depends_on("zlib-api")
    depends_on("googletest ~gmock", type="test")
    depends_on("python", type="run", when="+report")
    depends_on("py-numpy", type="run", when="+report")
    depends_on("py-matplotlib", type="run", when="+report")

    # std::bit_cast and std::from_chars on double need GCC 11.
    conflicts("%gcc@:10", msg="hpc-batch needs GCC 11 or newer (std::bit_cast, from_chars on double)")

    def _make_args(self):
        spec = self.spec
        mpi = spec["mpi"]
        return [
            "MPICXX=" + mpi.mpicxx,
            "MPI_PC=" + ("mpich" if mpi.name == "mpich" else "ompi" if mpi.name == "openmpi" else mpi.name),
            "MPIEXEC=" + join_path(mpi.prefix.bin, "mpiexec"),
            "HDF5_PC=hdf5",
            "BLAS_PC=openblas",
            "ARCH=-march=" + spec.variants["march"].value,
            "PYTHON=" + (spec["python"].command.path if spec.satisfies("+report") else "python3"),
        ]

    def build(self, spec, prefix):
        make(*self._make_args())

    def check(self):
        make("test", *self._make_args())

    def install(self, spec, prefix):
        make("install", "PREFIX=" + prefix, *self._make_args())

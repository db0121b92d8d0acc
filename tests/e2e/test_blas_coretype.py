"""The OpenBLAS core type chosen for timed commands (tools/blas_coretype.py): a generic
fallback is replaced by the best kernel set the CPU runs, an explicit OPENBLAS_CORETYPE is
kept, a good detection is kept. Pure logic: no timing."""
import importlib.util
import os
import unittest
from unittest import mock

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location("blas_coretype", os.path.join(ROOT, "tools", "blas_coretype.py"))
bc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bc)
_spec = importlib.util.spec_from_file_location("compare_under_test", os.path.join(ROOT, "tools", "compare.py"))
compare = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare)

OLD = {"sse2", "sse3", "ssse3", "sse4_1", "sse4_2", "avx"}
AVX2 = OLD | {"avx2", "fma"}
AVX512 = AVX2 | {"avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl", "avx512_vnni", "hypervisor"}


class Choice(unittest.TestCase):
    def test_generic_fallback_replaced(self):
        for flags, detected, want in ((AVX512, "Prescott", "SkylakeX"), (AVX2, "Prescott", "Haswell"),
                                      (AVX512, "Sandybridge", "SkylakeX"), (AVX2, "Nehalem", "Haswell"),
                                      (AVX512, "Core2", "SkylakeX")):
            with self.subTest(detected=detected, avx512=flags is AVX512):
                core, reason = bc.choose(flags, detected, None)
                self.assertEqual(core, want)
                self.assertIn(detected, reason)
                self.assertEqual(bc.choose(flags, detected, "")[0], want)  # empty counts as unset

    def test_explicit_setting_kept(self):
        core, reason = bc.choose(AVX512, "Prescott", "Haswell")
        self.assertIsNone(core)
        self.assertIn("OPENBLAS_CORETYPE=Haswell", reason)

    def test_good_detection_kept(self):
        for flags, detected in ((AVX512, "SkylakeX"), (AVX512, "Cooperlake"), (AVX512, "Zen"), (AVX2, "Haswell"),
                                (AVX512, "SAPPHIRERAPIDS")):
            with self.subTest(detected=detected):
                self.assertIsNone(bc.choose(flags, detected, None)[0])

    def test_cpu_without_avx2_kept(self):
        self.assertIsNone(bc.choose(OLD, "Sandybridge", None)[0])
        self.assertIsNone(bc.choose(OLD | {"avx2"}, "Prescott", None)[0])  # AVX2 without FMA: no Haswell kernels

    def test_partial_avx512_gets_haswell(self):
        # SkylakeX kernels need BW, DQ, VL and CD besides F (e.g. Knights Landing has F without BW).
        self.assertEqual(bc.choose(AVX2 | {"avx512f", "avx512cd"}, "Prescott", None)[0], "Haswell")

    def test_unknown_detection_unchanged(self):
        self.assertIsNone(bc.choose(AVX512, None, None)[0])

    def test_this_machine_consistent(self):
        # Whatever this machine is, the chosen core is one the CPU can run.
        flags = bc.cpu_flags()
        best = bc.best_core(flags)
        core, _ = bc.choose(flags, "Prescott", None)
        self.assertEqual(core, best)
        if best == "SkylakeX":
            self.assertLessEqual(bc.AVX512_FLAGS, flags)


class CompareDecision(unittest.TestCase):
    """make compare's decision from what its probe child reports (the probe faked)."""

    def decide(self, cores, env_value):
        env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
        if env_value is not None:
            env["OPENBLAS_CORETYPE"] = env_value
        with mock.patch.object(compare, "run_peer", return_value=({"cores": cores}, None)), \
                mock.patch.dict(os.environ, env, clear=True):
            return compare.decide_blas()

    def test_generic_probe_gets_best_core(self):
        best = bc.best_core(bc.cpu_flags())
        d = self.decide(["Prescott"], None)
        self.assertEqual(d["openblas_coretype_set"], best)
        self.assertEqual(d["detected"], ["Prescott"])
        # Two OpenBLAS builds in one process: any generic one decides.
        self.assertEqual(self.decide(["Haswell", "Prescott"], None)["openblas_coretype_set"], best)

    def test_user_setting_and_good_core_kept(self):
        d = self.decide(["Prescott"], "Prescott")
        self.assertIsNone(d["openblas_coretype_set"])
        self.assertEqual(d["openblas_coretype_env"], "Prescott")
        self.assertIsNone(self.decide(["SkylakeX"], None)["openblas_coretype_set"])


if __name__ == "__main__":
    unittest.main()

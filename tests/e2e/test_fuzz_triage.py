"""How tests/fuzz/run_fuzz.py sorts a replayed fuzz input (classify()): ours, which fails the
fuzz run, or the HDF5 library's. Reports shaped like AddressSanitizer's; pure logic, no
fuzzing."""
import importlib.util
import os
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location("run_fuzz", os.path.join(ROOT, "tests", "fuzz", "run_fuzz.py"))
run_fuzz = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_fuzz)

HDF5_READ = """==1==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x60d000006060 at pc 0x1 bp 0x2 sp 0x3
READ of size 64 at 0x60d000006060 thread T0
    #0 0x558801b9b4e3 in __interceptor_memcpy (/b/fuzz_h5+0x964e3)
    #1 0x7f77a4395b87  (/lib/x86_64-linux-gnu/libhdf5_mpich.so.103+0x195b87)
    #2 0x7f77a43b9734 in H5O__msg_iterate_real (/lib/x86_64-linux-gnu/libhdf5_mpich.so.103+0x1b9734)
    #3 0x7f77a425e7c9 in H5Aexists_by_name (/lib/x86_64-linux-gnu/libhdf5_mpich.so.103+0x5e7c9)
    #4 0x558801c51267 in hpcb::H5Reader::string_attr(std::string const&) const /r/src/io/h5_read.cpp:127:42
    #5 0x558801c41563 in LLVMFuzzerTestOneInput /r/tests/fuzz/fuzz_h5.cpp:11:3
"""
OUR_BLOCK = """    #0 0x558801c040de in {call} (/b/fuzz_h5+0xff0de)
    #1 0x558801c42d30 in hpcb::fuzz::h5_target(std::string const&, bool) /r/tests/fuzz/targets.hpp:179:37
    #2 0x558801c41563 in LLVMFuzzerTestOneInput /r/tests/fuzz/fuzz_h5.cpp:11:3
"""


class Classify(unittest.TestCase):
    def test_hdf5_reading_beside_a_freed_block_of_ours_is_hdf5s(self):
        # The report of a fuzz run (December 2026): HDF5 read 128 bytes past a block our code
        # had allocated and freed before the call (an exception object).
        text = (HDF5_READ + "0x60d000006060 is located 128 bytes to the right of 144-byte region\n"
                "freed by thread T0 here:\n" + OUR_BLOCK.format(call="free") +
                "previously allocated by thread T0 here:\n" + OUR_BLOCK.format(call="malloc"))
        verdict, why = run_fuzz.classify(text, 1)
        self.assertEqual(verdict, "hdf5", why)
        self.assertIn("libhdf5", why)

    def test_hdf5_overrunning_a_live_buffer_of_ours_is_ours(self):
        # A buffer we handed HDF5 too small: ours even though HDF5 wrote past it.
        text = (HDF5_READ + "0x60d000006060 is located 0 bytes to the right of 8-byte region\n"
                "allocated by thread T0 here:\n" + OUR_BLOCK.format(call="malloc"))
        verdict, why = run_fuzz.classify(text, 1)
        self.assertEqual(verdict, "ours", why)
        self.assertIn("memory of our code overrun", why)

    def test_a_crash_in_our_frame_is_ours(self):
        text = HDF5_READ.replace("#1 0x7f77a4395b87  (/lib/x86_64-linux-gnu/libhdf5_mpich.so.103+0x195b87)",
                                 "#1 0x5588 in hpcb::H5Reader::root_string() /r/src/io/h5_read.cpp:40:1")
        self.assertEqual(run_fuzz.classify(text, 1)[0], "ours")

    def test_no_failure_is_gone(self):
        self.assertEqual(run_fuzz.classify("", 0)[0], "gone")


if __name__ == "__main__":
    unittest.main()

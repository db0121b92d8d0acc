#!/usr/bin/env python3
"""Runs the fuzz targets for a fixed time each and says what they found (`make fuzz`).

    run_fuzz.py --bin build/fuzz --seconds 20 [--only idx csv h5 records]

idx, csv: libFuzzer on our parsers alone; the first crash, leak, timeout or
escaped exception stops the run and fails it (the input is saved under
build/fuzz/artifacts/<target>/).

h5: the HDF5 library (Debian's 1.10.8) itself crashes within seconds on damaged
files, so this target runs in libFuzzer's fork mode, which keeps going after a
crash, and every saved input is replayed and triaged by where it failed:
  - ours: the first frame that is not the C/C++ runtime, the sanitizer or libFuzzer
    is in our code (src/, tests/fuzz/), or the memory that was overrun was
    allocated by our code or is on one of our stack frames (a buffer we passed
    HDF5 that was too small), or an exception escaped (only our code throws);
    any such finding fails the run;
  - hdf5: everything else under libhdf5. The fuzz target calls HDF5 directly,
    but the executables first walk each input in a child process
    (src/io/h5_probe.hpp), so such an input is replayed through them
    (--exe-bin: kmeans_seq and nlreg_seq, --data INPUT): each must end cleanly,
    with exit status 0, or 1 and one line on stderr. One that crashes, hangs or
    says more fails the run; the others are kept under
    build/fuzz/artifacts/h5/hdf5-library/ as candidates for
    tests/fuzz/regressions/h5/hdf5-crash-*;
  - not reproducible (the replay alone does not fail): kept under
    build/fuzz/artifacts/h5/unreproduced/ and a failure too, since a crash
    that depends on what ran before is still a crash.

records: the Python harness fuzz_records.py on report/records.py.

The last line is "fuzz: ok" or "fuzz: FAILED"; the exit status says the same.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

RUNTIME = re.compile(r"__interceptor_|__asan|__sanitizer|__ubsan|__lsan|fuzzer::|LLVMFuzzer|libFuzzer|"
                     r"/libc\.so|/libc-|libstdc\+\+|libgcc_s|/ld-linux|sysdeps/|"
                     r"\bin (malloc|calloc|realloc|free|memcpy|memmove|memset|strdup|strlen|strcmp|strncpy|"
                     r"operator new|operator delete)\b|__libc_start|_start\b|/usr/include/c\+\+/")
OURS = re.compile(r"(/|^| )src/[a-z_]+/[a-z_0-9]+\.(cpp|hpp)|tests/fuzz/|hpcb::")
FRAME = re.compile(r"^\s*#\d+ 0x[0-9a-f]+")
# For the HDF5 target: HDF5 mallocs whatever size a damaged header claims. Without
# ASan that is a failed malloc or untouched memory and an error return; under ASan
# a granted 16 GB costs 2 GB of shadow memory, so allocations beyond 2 GB fail (return
# NULL) as a malloc would, instead of ending the run as out-of-memory. HDF5 also
# leaks on its error paths (H5Dopen2), so leak detection is off for this target.
HDF5_ASAN = ":allocator_may_return_null=1:max_allocation_size_mb=2048:detect_leaks=0"


def frames(block):
    return [l for l in block if FRAME.match(l)]


def first_real(frame_lines):
    for f in frame_lines:
        if not RUNTIME.search(f):
            return f
    return None


def split_report(text):
    """The sanitizer report's sections: (crash stack, allocation or stack-object section)."""
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines) if "ERROR: AddressSanitizer" in l or "ERROR: libFuzzer" in l
                  or "runtime error:" in l or "ERROR: LeakSanitizer" in l), None)
    if start is None:
        return [], [], lines
    rest = lines[start:]
    # The first stack; then, for memory errors, where the memory came from.
    crash, i = [], 0
    while i < len(rest) and not FRAME.match(rest[i]):
        i += 1
    while i < len(rest) and FRAME.match(rest[i]):
        crash.append(rest[i])
        i += 1
    origin = []
    for j in range(i, len(rest)):
        if re.search(r"allocated by thread|freed by thread|is located in stack of thread|located .* of global", rest[j]):
            origin = rest[j:j + 12]
            break
    return crash, origin, rest


def triage(binary, artifact, extra_env):
    """Replays one saved input; returns (verdict, one-line reason). verdict: ours, hdf5, gone."""
    env = dict(os.environ, **extra_env)
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + HDF5_ASAN
    # A small malloc limit turns "used too much memory" into the stack of the big allocation.
    cmd = [binary, artifact, "-timeout=10", "-rss_limit_mb=2048", "-malloc_limit_mb=512"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=60, env=env)
        text = proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as e:
        return "hdf5" if "libhdf5" in str(e.stderr or "") else "ours", "replay hung past 60 s"
    return classify(text, proc.returncode)


def classify(text, returncode):
    """The verdict on one replay's output and exit status (triage())."""
    if returncode == 0:
        return "gone", "does not fail when replayed alone"
    if "terminate called after throwing" in text or "uncaught exception" in text:
        m = re.search(r"what\(\):\s*(.*)", text)
        return "ours", "exception escaped: " + (m.group(1) if m else "?")
    crash, origin, _ = split_report(text)
    top = first_real(crash)
    if "out-of-memory (used:" in text and "out-of-memory (malloc(" not in text:
        # Resident memory grew past the limit without one big allocation: blame the
        # live allocations, which libFuzzer lists with their stacks.
        if any(OURS.search(l) for l in text.splitlines() if FRAME.match(l)):
            return "ours", "out-of-memory, with allocations of our code among the live ones"
        return "hdf5", "out-of-memory, none of the live allocations ours"
    kind = re.search(r"ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer): ([\w-]+(?: \w+)?)", text)
    kind = kind.group(2).replace(" on", "").replace(" after", "") if kind else ("undefined behaviour" if "runtime error:" in text else "crash")
    # An overflow of a buffer our code allocated is ours even inside HDF5 (we passed
    # it too small). Not so a use-after-free: HDF5 keeps no pointer of ours past a
    # call, so a freed block of ours that HDF5 reads was reused behind a dangling
    # pointer of its own. Nor an access beside a block of ours that was already freed
    # (ASan names the nearest block, here with where it was freed): we no longer held
    # it, so we passed it to no one; HDF5 read past memory of its own.
    overflow = "overflow" in kind or "underflow" in kind
    freed = bool(origin) and "freed by thread" in origin[0]
    if overflow and origin and not freed and any(OURS.search(l) for l in frames(origin) or origin[:1]):
        return "ours", f"{kind}: memory of our code overrun, from {top.strip() if top else '?'}"
    if top is None:
        return "ours", f"{kind}: no usable stack"
    where = re.sub(r"^\s*#\d+ 0x[0-9a-f]+ (in )?", "", top)
    where = re.sub(r" \(BuildId.*", "", where).strip()
    where = re.sub(r"^\((.*)\)$", r"\1", where)
    if OURS.search(top):
        return "ours", f"{kind} in {where}"
    if "libhdf5" in top:
        return "hdf5", f"{kind} in {where}"
    return "ours", f"{kind} in {where} (neither our code nor HDF5: treated as ours)"


EXE_TIMEOUT_S = 120  # above the probe's own limit (kWalkTimeoutS, src/io/h5_probe.hpp)


def replay_executables(exe_bin, artifact):
    """Runs kmeans_seq and nlreg_seq on the input; returns the problems (empty: both ended cleanly)."""
    problems = []
    for prog in ("kmeans_seq", "nlreg_seq"):
        exe = os.path.join(exe_bin, prog)
        if not os.path.exists(exe):
            problems.append(f"{exe} is missing (make)")
            continue
        try:
            proc = subprocess.run([exe, "--data", artifact, "--record", "none", "--quiet"], capture_output=True,
                                  text=True, errors="replace", timeout=EXE_TIMEOUT_S, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            problems.append(f"{prog} hung past {EXE_TIMEOUT_S} s")
            continue
        lines = [l for l in proc.stderr.splitlines() if l.strip()]
        if proc.returncode < 0 or proc.returncode > 128:
            problems.append(f"{prog} died (status {proc.returncode})")
        elif proc.returncode not in (0, 1):
            problems.append(f"{prog} exit status {proc.returncode}")
        elif proc.returncode == 1 and (len(lines) != 1 or not lines[0].startswith(prog + ": ")):
            problems.append(f"{prog} exit 1 with {len(lines)} stderr lines: {proc.stderr[:200]!r}")
    return problems


def remove_leftovers():
    """Input files of fuzz processes that crashed (targets.hpp MemFile) are left behind: remove them."""
    for d in ("/dev/shm", os.environ.get("TMPDIR") or "/tmp"):
        try:
            names = os.listdir(d)
        except OSError:
            continue
        for n in names:
            m = re.match(r"hpcb-fuzz-(\d+)-\d+$", n)
            if m and not os.path.exists(f"/proc/{m.group(1)}"):
                try:
                    os.remove(os.path.join(d, n))
                except OSError:
                    pass


def run_libfuzzer(name, binary, seconds, work, fork, env_extra, exe_bin):
    corpus = os.path.join(work, "corpus", name)
    artifacts = os.path.join(work, "artifacts", name)
    os.makedirs(corpus, exist_ok=True)
    os.makedirs(artifacts, exist_ok=True)
    dirs = [corpus] + [d for d in (os.path.join(HERE, "corpus", name), os.path.join(HERE, "regressions", name))
                       if os.path.isdir(d)]
    before = set(os.listdir(artifacts))
    opts = [f"-max_total_time={seconds}", "-timeout=10", "-rss_limit_mb=2048", "-print_final_stats=1",
            f"-artifact_prefix={artifacts}/"]
    env = dict(os.environ, **env_extra)
    if fork:
        # HDF5's endless loops on damaged files are its bugs too: give up on an input after 5 s.
        opts[1] = "-timeout=5"
        opts += ["-fork=1", "-ignore_crashes=1", "-ignore_ooms=1", "-ignore_timeouts=1"]
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + HDF5_ASAN
        opts += ["-malloc_limit_mb=1000000"]  # HDF5 asks for whatever a header claims; only real use counts
    log = os.path.join(work, f"fuzz_{name}.log")
    start = time.time()
    with open(log, "w") as f:
        rc = subprocess.run([binary] + dirs + opts, stdout=f, stderr=subprocess.STDOUT, env=env,
                            timeout=seconds + 300).returncode
    took = time.time() - start
    remove_leftovers()
    text = open(log, errors="replace").read()
    execs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", text)
    if fork:
        m = re.findall(r"#(\d+): cov: (\d+)", text)
        execs = [m[-1][0]] if m else execs
    cov = re.findall(r"cov: (\d+)", text)
    stats = (f"{took:.0f} s, {execs[-1] if execs else '?'} inputs, coverage {cov[-1] if cov else '?'} edges, "
             f"corpus {len(os.listdir(corpus))} files")
    new = sorted(set(os.listdir(artifacts)) - before - {"hdf5-library", "unreproduced"})
    if not fork:
        if rc != 0 or new:
            print(f"fuzz {name}: FAILED ({stats}); log {log}, input {', '.join(new) or '?'}")
            for line in text.splitlines():
                if re.search(r"ERROR|runtime error|terminate called|what\(\)|^\s*#[0-9] ", line):
                    print("    " + line[:200])
            return False
        print(f"fuzz {name}: ok, {stats}, no findings")
        return True
    ours, library, unguarded, gone = [], {}, [], []
    lib_dir = os.path.join(artifacts, "hdf5-library")
    gone_dir = os.path.join(artifacts, "unreproduced")
    for a in new:
        path = os.path.join(artifacts, a)
        verdict, why = triage(binary, path, env_extra)
        if verdict == "ours":
            ours.append((a, why))
        elif verdict == "hdf5":
            library.setdefault(why, 0)
            library[why] += 1
            os.makedirs(lib_dir, exist_ok=True)
            kept = os.path.join(lib_dir, a)
            shutil.move(path, kept)
            problems = replay_executables(exe_bin, kept)
            if problems:
                unguarded.append((kept, why, problems))
        else:
            os.makedirs(gone_dir, exist_ok=True)
            shutil.move(path, os.path.join(gone_dir, a))
            gone.append(os.path.join(gone_dir, a))
    # Fork mode exits with the status of the last job that failed, which the
    # artifacts account for; what must not happen is a failure with nothing saved,
    # or a run that did not get to its end.
    failures = re.findall(r"oom/timeout/crash: (\d+)/(\d+)/(\d+)", text)
    lost = bool(failures) and sum(map(int, failures[-1])) > 0 and not new
    unfinished = "INFO: exiting:" not in text and "INFO: fuzzed for" not in text
    failed = ours or unguarded or gone or lost or unfinished
    print(f"fuzz {name}: {'FAILED' if failed else 'ok'}, {stats}; {len(ours)} findings in our code; HDF5 library "
          f"failed on {sum(library.values())} inputs ({len(library)} kinds, kept in {lib_dir}), "
          f"{len(unguarded)} of them not survived by the executables; {len(gone)} not reproducible")
    for a, why in ours:
        print(f"    OURS {os.path.join(artifacts, a)}: {why}")
    for kept, why, problems in unguarded:
        print(f"    UNGUARDED {kept}: {why[:100]}; {'; '.join(problems)}")
    for path in gone:
        print(f"    UNREPRODUCED {path}: failed in the fuzz run, not when replayed alone")
    for why, n in sorted(library.items(), key=lambda kv: -kv[1])[:8]:
        print(f"    hdf5 x{n}: {why[:150]} (the executables survive it)")
    if lost or unfinished:
        print(f"    libFuzzer's fork mode {'lost the inputs of failed jobs' if lost else 'did not finish'} "
              f"(status {rc}); log {log}")
    if library and not unguarded:
        print("    keep new kinds as tests/fuzz/regressions/h5/hdf5-crash-<what> (make test replays them)")
    return not failed


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=os.path.join(ROOT, "build", "fuzz"), help="folder of fuzz_<target>")
    p.add_argument("--work", default=None, help="corpus, artifacts and logs (default: --bin)")
    p.add_argument("--seconds", type=int, default=20)
    p.add_argument("--only", nargs="*", default=["idx", "csv", "h5", "records"])
    p.add_argument("--triage", metavar="DIR", help="only replay and triage the h5 inputs in DIR")
    p.add_argument("--exe-bin", default=os.path.join(ROOT, "build", "release", "bin"),
                   help="folder of kmeans_seq and nlreg_seq, through which HDF5-library crash inputs are replayed")
    args = p.parse_args()
    if args.triage:
        verdicts = {}
        for name in sorted(os.listdir(args.triage)):
            path = os.path.join(args.triage, name)
            if os.path.isfile(path):
                verdict, why = triage(os.path.join(args.bin, "fuzz_h5"), path, {})
                verdicts.setdefault((verdict, why), []).append(name)
        for (verdict, why), names in sorted(verdicts.items(), key=lambda kv: (kv[0][0], -len(kv[1]))):
            print(f"{verdict:5} x{len(names):<3} {why[:140]}  e.g. {names[0]}")
        return 1 if any(v in ("ours", "gone") for v, _ in verdicts) else 0
    work = args.work or args.bin
    ok = True
    for name in args.only:
        if name == "records":
            r = subprocess.run([sys.executable, os.path.join(HERE, "fuzz_records.py"), "--seconds", str(args.seconds),
                                "--artifacts", os.path.join(work, "artifacts", "records")])
            ok &= r.returncode == 0
            continue
        binary = os.path.join(args.bin, f"fuzz_{name}")
        if not os.path.exists(binary):
            print(f"fuzz {name}: FAILED, {binary} is missing (make fuzz-build)")
            ok = False
            continue
        ok &= run_libfuzzer(name, binary, args.seconds, work, fork=(name == "h5"), env_extra={},
                            exe_bin=args.exe_bin)
    print("fuzz: ok" if ok else "fuzz: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

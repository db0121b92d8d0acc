#!/usr/bin/env bash
# Simulates a machine where nothing is installed until `make deps` runs, and
# runs the README's commands there in a fresh copy of the working tree.
#
# Fake tools, first on PATH:
#   dpkg-query  knows no package until apt-get has run (so deps installs all);
#   apt-get     records its arguments and marks the packages as installed;
#   pkg-config  knows no package until then, afterwards the real one answers;
#   python3     (PYTHON_CANDIDATES) cannot import numpy until then.
# The packages are really present on this machine, so once the fake apt-get has
# "installed" them the build can succeed, but only if nothing asked pkg-config
# (or looked for Python) while the Makefile was being read, before deps ran.
#
# Usage: tests/fresh/fresh_machine.sh [make goals and variables...]   (default: deps all)
# Exit 0 and "fresh: N passed, 0 failed" when every check holds.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
GOALS=("$@")
[ ${#GOALS[@]} -gt 0 ] || GOALS=(deps all)

WORK="$(mktemp -d "${TMPDIR:-/tmp}/hpcb-fresh.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
FAKE="$WORK/fakebin" STATE="$WORK/state" CLONE="$WORK/clone"
mkdir -p "$FAKE" "$STATE" "$CLONE"

real_pkg_config="$(command -v pkg-config)" || { echo "fresh machine: pkg-config not found" >&2; exit 1; }
real_python=/usr/bin/python3

cat >"$FAKE/dpkg-query" <<FAKE
#!/bin/sh
# Nothing is installed before apt-get ran; after it, everything asked for is.
if [ -e "$STATE/installed" ]; then printf 'install ok installed'; exit 0; fi
for p in "\$@"; do case "\$p" in -*) ;; *) echo "dpkg-query: no packages found matching \$p" >&2 ;; esac; done
exit 1
FAKE
cat >"$FAKE/apt-get" <<FAKE
#!/bin/sh
echo "\$*" >>"$STATE/apt-get.log"
case " \$* " in *" install "*) touch "$STATE/installed" ;; esac
exit 0
FAKE
cat >"$FAKE/pkg-config" <<FAKE
#!/bin/sh
if [ ! -e "$STATE/installed" ]; then
  echo "pkg-config called before make deps installed anything: \$*" >>"$STATE/early-calls.log"
  echo "Package was not found in the pkg-config search path" >&2
  exit 1
fi
exec "$real_pkg_config" "\$@"
FAKE
cat >"$FAKE/python3" <<FAKE
#!/bin/sh
if [ ! -e "$STATE/installed" ]; then
  echo "python3 called before make deps installed anything: \$*" >>"$STATE/early-calls.log"
  echo "ModuleNotFoundError: No module named 'numpy'" >&2
  exit 1
fi
exec "$real_python" "\$@"
FAKE
cat >"$FAKE/sudo" <<'FAKE'
#!/bin/sh
exec "$@"
FAKE
chmod +x "$FAKE"/*

# A fresh copy of the working tree: tracked files and untracked ones git does not
# ignore (so uncommitted work is tested too), nothing built, its own git history.
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard) |
  (cd "$ROOT" && tar --null --files-from=- -cf - 2>/dev/null) | tar -C "$CLONE" -xf -
(cd "$CLONE" && git init -q && git add -A && git -c user.name=fresh -c user.email=fresh@localhost commit -qm snapshot)

passed=0 failed=0
check() {  # check "description" command...
  local what="$1"; shift
  if "$@"; then passed=$((passed + 1)); echo "ok      $what"
  else failed=$((failed + 1)); echo "FAILED  $what"; fi
}

echo "fresh machine: make ${GOALS[*]} in $CLONE (log: make.log)"
PATH="$FAKE:$PATH" PYTHON_CANDIDATES="$FAKE/python3" \
  make -C "$CLONE" -j"$(nproc)" "${GOALS[@]}" >"$WORK/make.log" 2>&1
rc=$?
check "make ${GOALS[*]} exits 0 (got $rc)" test "$rc" -eq 0
[ "$rc" -eq 0 ] || tail -30 "$WORK/make.log"
check "make deps ran apt-get install" grep -qE '(^| )install ' "$STATE/apt-get.log"
check "nothing asked pkg-config or Python before deps" test ! -s "$STATE/early-calls.log"
[ -s "$STATE/early-calls.log" ] && head -5 "$STATE/early-calls.log"
if printf '%s\n' "${GOALS[@]}" | grep -qx test; then
  check "the test command ran its suites with no failure" grep -qE '^[0-9]+ passed, 0 failed' "$WORK/make.log"
fi
if printf '%s\n' "${GOALS[@]}" | grep -qx local; then
  check "the main job wrote run records" test -s "$CLONE/results/runs.jsonl"
  check "the main job wrote the report" test -s "$CLONE/report/out/report.html"
fi
for exe in kmeans_seq kmeans_omp kmeans_mpi kmeans_hybrid nlreg_seq nlreg_omp nlreg_mpi nlreg_hybrid mkdata; do
  check "$exe built and runs --help" sh -c "'$CLONE/build/release/bin/$exe' --help >/dev/null"
done
echo "fresh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

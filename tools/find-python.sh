#!/bin/sh
# Print the first interpreter among the arguments that can import numpy and
# matplotlib (the report's needs); print nothing when none can. On Debian the
# python3 first on PATH may be a separate build without Debian's packages.
for py in "$@"; do
  if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import numpy, matplotlib' >/dev/null 2>&1; then
    command -v "$py"
    exit 0
  fi
done
exit 0

#!/usr/bin/env bash
# The async face's throughput table (README, "The async face, measured"): builds sdam and
# SDAMScenarios in release mode, sets up PyMongo (.build-venv), then runs throughput.py.
#   ./throughput.sh                    3 runs of 10 s per cell (about 10 minutes)
#   ./throughput.sh --runs 1 --window 5
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
"$root/scripts/setup.sh"
. "$root/Benchmarks/common.sh"
"$root/scripts/interop-setup.sh" >&2
build_release_subjects
print_machine
exec python3 "$here/throughput.py" --sdam "$root/.build/release/sdam" --ours "$root/.build-bench/release/SDAMScenarios" \
  --pymongo "$root/.build-venv/bin/python $here/peer_pymongo.py" "$@"

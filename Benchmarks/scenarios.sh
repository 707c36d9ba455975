#!/usr/bin/env bash
# Timed scenarios of the whole driver against `sdam simulate` (a separate process), each run
# in a fresh process, repeated; prints a markdown table (median, min, max) and JSON.
#
#   ./scenarios.sh            3/7/50-member discovery, stepdown -> write, 100/1,000/5,000 mongos
#                             with 500 ms and 10 s heartbeats over 20 s windows, streaming (about 15 minutes)
#   ./scenarios.sh --quick    fewer runs, 5 s windows, no 5,000 (about 3 minutes)
#   Any SDAMScenarios option passes through: --runs N, --cost-runs N, --window S, --json FILE.
#
# Builds (release) `sdam` into ../.build and SDAMScenarios into ../.build-bench.
set -euo pipefail
# Absolute paths and no `cd`, so that a relative --json FILE is where the caller means.
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
. "$root/Benchmarks/common.sh"
build_release_subjects
print_machine
exec "$root/.build-bench/release/SDAMScenarios" --sdam "$root/.build/release/sdam" "$@"

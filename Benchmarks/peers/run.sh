#!/usr/bin/env bash
# The peers side by side: the same scenarios run by this driver (SDAMScenarios), by the C
# driver in pooled mode (Debian's libmongoc) and by PyMongo, each against its own
# `sdam simulate`, then one table with medians (min–max) and the ratios to ours.
#
#   ./run.sh           5 runs per scenario, 3 per monitoring-cost case, 20 s windows,
#                      100/1,000/5,000/10,000 mongos (over an hour: the peers run a thread per
#                      server; past 5,000 the mongos span two simulators, 5,000 each)
#   ./run.sh --quick   3 runs, 1 per cost case, 5 s windows, 100/1,000 mongos (about 10 minutes)
#   Other options pass to compare.py: --runs N --cost-runs N --window S --sizes 100,1000 --timeout S
#   (per run) --only mongos (these scenarios only) --json FILE
#
# Installs what it needs: libmongoc-dev (apt), PyMongo (scripts/interop-setup.sh: pip, into
# .build-venv). The C program is built into .build-peers.
set -euo pipefail
# Absolute paths and no `cd`, so that a relative --json FILE is where the caller means.
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/.build-peers"
mkdir -p "$out"
"$root/scripts/setup.sh"
. "$root/Benchmarks/common.sh"
if ! pkg-config --exists libmongoc-1.0 2>/dev/null || ! command -v gcc >/dev/null 2>&1; then
  install_debian_packages run.sh libmongoc-dev pkg-config gcc
fi
# PyMongo: the interop tests' virtual environment (.build-venv), made by their setup script.
"$root/scripts/interop-setup.sh" >&2
gcc -O2 -Wall -o "$out/peer_libmongoc" "$here/peer_libmongoc.c" $(pkg-config --cflags --libs libmongoc-1.0) -lpthread -lm >&2
build_release_subjects
print_machine
exec python3 "$here/compare.py" --sdam "$root/.build/release/sdam" \
  --ours "$root/.build-bench/release/SDAMScenarios" \
  --libmongoc "$out/peer_libmongoc" \
  --pymongo "$root/.build-venv/bin/python $here/peer_pymongo.py" "$@"

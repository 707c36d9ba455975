#!/usr/bin/env bash
# Single-threaded clients side by side (issue 16): ours, libmongoc's single-threaded
# mongoc_client_t, and the Perl driver, each against its own `sdam simulate`.
#
#   ./single_threaded.sh [--runs N] [--json FILE]     (5 runs: about 5 minutes)
#
# Installs what it needs from Debian: libmongoc-dev, libmongodb-perl, pkg-config, gcc.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/.build-peers"
mkdir -p "$out"
"$root/scripts/setup.sh"
. "$root/Benchmarks/common.sh"
if ! pkg-config --exists libmongoc-1.0 2>/dev/null || ! command -v gcc >/dev/null 2>&1 || ! perl -MMongoDB -e1 2>/dev/null; then
  install_debian_packages single_threaded.sh libmongoc-dev libmongodb-perl pkg-config gcc
fi
gcc -O2 -Wall -o "$out/peer_libmongoc_single" "$here/peer_libmongoc_single.c" $(pkg-config --cflags --libs libmongoc-1.0) >&2
build_release_subjects
print_machine
exec python3 "$here/single_threaded.py" --sdam "$root/.build/release/sdam" \
  --ours "$root/.build-bench/release/SDAMScenarios subject --sdam $root/.build/release/sdam" \
  --libmongoc "$out/peer_libmongoc_single" \
  --perl "perl $here/peer_perl.pl" "$@"

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
if ! pkg-config --exists libmongoc-1.0 2>/dev/null || ! command -v gcc >/dev/null 2>&1 || ! perl -MMongoDB -e1 2>/dev/null; then
  SUDO=""; if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  echo "single_threaded.sh: installing libmongoc-dev, libmongodb-perl, pkg-config and gcc" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libmongoc-dev libmongodb-perl pkg-config gcc >/dev/null
fi
gcc -O2 -Wall -o "$out/peer_libmongoc_single" "$here/peer_libmongoc_single.c" $(pkg-config --cflags --libs libmongoc-1.0) >&2
(cd "$root" && swift build -c release --product sdam >&2)
(cd "$root/Benchmarks" && swift build -c release --build-path "$root/.build-bench" --product SDAMScenarios >&2)
echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), Linux $(uname -r)."
exec python3 "$here/single_threaded.py" --sdam "$root/.build/release/sdam" \
  --ours "$root/.build-bench/release/SDAMScenarios subject --sdam $root/.build/release/sdam" \
  --libmongoc "$out/peer_libmongoc_single" \
  --perl "perl $here/peer_perl.pl" "$@"

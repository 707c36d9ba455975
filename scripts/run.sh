#!/usr/bin/env bash
# The main job: set up, build, and run the official spec tests over ../shared/specs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product sdam
exec .build/release/sdam spec-test "$@"

#!/usr/bin/env bash
# Every test: set up, build with warnings as errors, and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/interop-setup.sh
swift build --build-tests -Xswiftc -warnings-as-errors
swift test --skip-build

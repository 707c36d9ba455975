#!/usr/bin/env bash
# The main job: set up, build, and watch a deployment. With no arguments it monitors a
# simulated three-member replica set (started in-process on loopback, discovered from one seed)
# for 10 seconds and prints one line per SDAM and heartbeat event; any arguments are passed to
# `sdam watch` instead (a mongodb:// URI, --json, --duration S).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product sdam
if [ "$#" -eq 0 ]; then
  exec .build/release/sdam watch --duration 10
fi
exec .build/release/sdam watch "$@"

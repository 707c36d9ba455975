#!/usr/bin/env bash
# Builds the examples and runs PeopleService against a simulated replica set: one insert and one
# find over HTTP, then SIGTERM, which must end it gracefully (exit 0) within 10 s.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
swift build --package-path "$here" -Xswiftc -warnings-as-errors
port=$((20000 + RANDOM % 20000))
PORT=$port "$here/.build/debug/PeopleService" --simulate &
pid=$!
trap 'kill -9 $pid 2>/dev/null || true' EXIT
python3 - "$port" <<'PY'
import json, sys, time, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}/people"
for _ in range(100):
    try:
        urllib.request.urlopen(base, timeout=2).read()
        break
    except OSError:
        time.sleep(0.1)
post = urllib.request.Request(base, data=json.dumps({"name": "Ada", "age": 36}).encode(), method="POST")
inserted = json.load(urllib.request.urlopen(post, timeout=5))
assert inserted["n"] == 1, inserted
found = json.load(urllib.request.urlopen(base + "?name=Ada", timeout=5))
assert [p["name"] for p in found["cursor"]["firstBatch"]] == ["Ada"], found
print("smoke: PeopleService inserted and found Ada through the async face")
PY
kill -TERM $pid
for _ in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $pid 2>/dev/null; then echo "smoke: PeopleService did not stop within 10 s of SIGTERM" >&2; exit 1; fi
wait $pid
echo "smoke: PeopleService shut down gracefully"

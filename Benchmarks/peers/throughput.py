"""The async face's throughput side by side: `ping` round trips per second and their latency
(p50, p99) with 1, 64 and 1,000 concurrent callers, and the monitor's timer lag p99 meanwhile,
for this driver's async face (operations on the pool's own loop, and on the monitor's loop), its
blocking pool (one thread per caller), and PyMongo's asyncio AsyncMongoClient. Each run is a
fresh process against its own `sdam simulate` (a three-member set, polling, heartbeat 500 ms).

    python throughput.py --sdam SDAM --ours SDAMScenarios --pymongo "PYTHON peer_pymongo.py"
                         [--runs 3] [--window 10] [--concurrency 1,64,1000] [--json FILE]

Prints one markdown table of medians (min–max over the runs).
"""
import argparse
import json
import shlex
import statistics
import subprocess
import sys

SUBJECTS = [
    ("ours, async (own loop)", "ours", ["async"], ["own-loop"]),
    ("ours, async (monitor's loop)", "ours", ["async"], ["monitor-loop"]),
    ("ours, blocking (a thread each)", "ours", ["blocking"], []),
    ("PyMongo AsyncMongoClient", "pymongo", ["async"], []),
]
FIGURES = [("opsPerSec", "round trips/s", "{:,.0f}"), ("p50MS", "p50", "{:.2f} ms"), ("p99MS", "p99", "{:.2f} ms"),
           ("lagP99MS", "check timer lag p99", "{:.1f} ms"), ("loopDelayP99MS", "monitor loop delay p99", "{:.2f} ms")]


def run_one(command, sdam, mode, concurrency, window, extra):
    argv = command + ["subject", "throughput"] + mode + [str(concurrency), str(window)] + extra + ["--sdam", sdam]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=window + 120)
    line = next((l for l in out.stdout.splitlines() if l.startswith("{")), None)
    if out.returncode != 0 or line is None:
        sys.stderr.write(f"throughput: {' '.join(argv)} failed: {out.stderr[-500:]}\n")
        return None
    return json.loads(line)


def cell(values, fmt):
    if not values:
        return "–"
    median = statistics.median(values)
    if len(values) == 1:
        return fmt.format(median)
    return f"{fmt.format(median)} ({fmt.format(min(values)).split(' ')[0]}–{fmt.format(max(values))})"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sdam", required=True)
    parser.add_argument("--ours", required=True)
    parser.add_argument("--pymongo", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--window", type=float, default=10)
    parser.add_argument("--concurrency", default="1,64,1000")
    parser.add_argument("--json")
    args = parser.parse_args()
    commands = {"ours": [args.ours], "pymongo": shlex.split(args.pymongo)}
    levels = [int(c) for c in args.concurrency.split(",")]
    results = []
    for concurrency in levels:
        for name, who, mode, extra in SUBJECTS:
            for _ in range(args.runs):
                result = run_one(commands[who], args.sdam, mode, concurrency, args.window, extra)
                if result is not None:
                    if result.get("errors"):
                        sys.stderr.write(f"throughput: {name} at {concurrency}: {result['errors']} errors, e.g. {result['firstError']}\n")
                    results.append({"subject": name, "concurrency": concurrency, **result})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    print(f"| callers | driver | {' | '.join(title for _, title, _ in FIGURES)} | threads |")
    print("| --: | --- |" + " --: |" * (len(FIGURES) + 1))
    for concurrency in levels:
        for name, _, _, _ in SUBJECTS:
            rows = [r for r in results if r["subject"] == name and r["concurrency"] == concurrency]
            cells = [cell([r[key] for r in rows if key in r], fmt) for key, _, fmt in FIGURES]
            threads = cell([r["threads"] for r in rows], "{:.0f}")
            print(f"| {concurrency:,} | {name} | {' | '.join(cells)} | {threads} |")
    print(f"\n{args.runs} runs of {args.window:g} s each (after 1 s of warm-up); median (min–max).")


if __name__ == "__main__":
    main()

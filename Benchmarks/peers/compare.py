"""Runs the same scenarios with the three drivers in turn (ours, libmongoc pooled, PyMongo),
each run in a fresh process against its own `sdam simulate`, and prints one markdown table:
median (min–max) per driver, and the peers' medians as ratios of ours.

    python3 compare.py --sdam PATH --ours CMD --libmongoc CMD --pymongo CMD [--quick] [--runs N]
        [--cost-runs N] [--window S] [--sizes 100,1000,5000,10000] [--timeout S] [--only mongos,...]
        [--json FILE]
Each CMD is a command line (split on spaces) that accepts `subject SCENARIO ARGS --sdam PATH`.
"""
import argparse
import json
import shlex
import statistics
import subprocess
import sys


def cases(args):
    out = []
    for m in (3, 7, 50):
        out.append((f"discovery, {m} members, one secondary seed", ["discovery", str(m)], args.runs,
                    [("primaryMS", "primary known (ms)"), ("allMS", "all members known (ms)")]))
    out.append(("stepdown -> next successful write (election at once)", ["stepdown", "0"], args.runs,
                [("toWriteMS", "stepdown to successful write (ms)")]))
    out.append(("stepdown -> waiting write succeeds (1000 ms election)", ["stepdown", "1000"], args.runs,
                [("toWriteMS", "stepdown to successful write (ms)"), ("afterElectionMS", "after the election (ms)")]))
    out.append(("stepdown -> waiting write succeeds (1000 ms election), streaming servers (4.4+)", ["stepdown", "1000", "stream"],
                args.runs, [("toWriteMS", "stepdown to successful write (ms)"), ("afterElectionMS", "after the election (ms)")]))
    for mode, servers in (("poll", "polling servers (4.2)"), ("stream", "streaming servers (4.4+)")):
        out.append((f"stepdown seen by an idle pool, heartbeat 10 s, {servers}", ["idle-stepdown", mode], args.runs,
                    [("newPrimaryMS", "stepdown to new primary selected (ms)")]))
    for n in args.sizes:
        # Past 5,000 mongos only the 500 ms heartbeat: the question there is whether one
        # monitor thread keeps the rhythm (the simulated mongos then span two simulators).
        for hb in ((500, 10000) if n <= 5000 else (500,)):
            # A rate needs two periods in the window: a quick run's 5 s window gives none for 10 s.
            measurable = hb * 2 <= args.window * 1000
            metrics = COST + ([("checksPerServerPerMin", f"checks/server/min (configured {60000 // hb})")] if measurable else [])
            if hb == 500:
                metrics = [("knownMS", "all known after start (ms)")] + metrics + [
                    ("lagP50MS", "timer lag p50 (ms)"), ("lagP99MS", "timer lag p99 (ms)"),
                    # On two cores the simulators compete with the client for the same cores.
                    ("simulatorCpuSecPerMin", "simulators' CPU s per minute (same cores)")]
            out.append((f"{n} mongos, heartbeat {hb} ms, {args.window:g} s window",
                        ["mongos", str(n), str(hb), str(args.window)], args.cost_runs, metrics))
    for n in (n for n in args.sizes if n <= 1000):
        out.append((f"{n} mongos, streaming, heartbeat 10000 ms, {args.window:g} s window",
                    ["mongos", str(n), "10000", str(args.window), "stream"], args.cost_runs,
                    [("knownMS", "all known after start (ms)")] + COST + PER_SERVER
                    + ([("checksPerServerPerMin", "awaited replies/server/min (maxAwaitTimeMS 10 s: 6)")]
                       if args.window >= 20 else [])))
    return out


COST = [("threads", "threads"), ("rssMiB", "RSS (MiB)"), ("cpuSecPerMin", "CPU s per minute")]
# What monitoring costs per server, above what the process used before the client existed.
PER_SERVER = [("threadsPerServer", "threads per server"), ("descriptorsPerServer", "descriptors per server"),
              ("kibPerServer", "RSS per server (KiB)"), ("cpuMsPerServerPerMin", "CPU ms per server per minute")]


def with_per_server_figures(r):
    """Adds the per-server figures to one run's result, from its totals and baselines."""
    n = r.get("count")
    if not n:
        return r
    r = dict(r)
    if "threads" in r and "baseThreads" in r:
        r["threadsPerServer"] = (r["threads"] - r["baseThreads"]) / n
    if "descriptors" in r and "baseDescriptors" in r:
        r["descriptorsPerServer"] = (r["descriptors"] - r["baseDescriptors"]) / n
    if "rssMiB" in r and "baseRssMiB" in r:
        r["kibPerServer"] = (r["rssMiB"] - r["baseRssMiB"]) * 1024 / n
    if "cpuSecPerMin" in r:
        r["cpuMsPerServerPerMin"] = r["cpuSecPerMin"] * 1000 / n
    return r


def run_subject(command, scenario_args, sdam, timeout):
    try:
        p = subprocess.run(shlex.split(command) + ["subject"] + scenario_args + ["--sdam", sdam],
                           capture_output=True, text=True, timeout=timeout)
        stdout, failure = p.stdout, (p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1]
    except subprocess.TimeoutExpired as e:
        # A program prints its result before it shuts its client down: a slow shutdown still
        # leaves the figures. (Its simulators quit when their stdin, the killed program's
        # pipe, closes.)
        out = e.stdout or ""
        stdout, failure = out.decode() if isinstance(out, bytes) else out, f"did not finish: killed after {timeout:g} s"
    lines = [l for l in stdout.splitlines() if l.startswith("{")]
    if not lines:
        return None, failure[:120]
    return with_per_server_figures(json.loads(lines[-1])), None


def fmt(values):
    if not values:
        return "–"
    return f"{statistics.median(values):.1f} ({min(values):.1f}–{max(values):.1f})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sdam", required=True)
    ap.add_argument("--ours", required=True)
    ap.add_argument("--libmongoc", required=True)
    ap.add_argument("--pymongo", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--cost-runs", type=int)
    ap.add_argument("--window", type=float)
    ap.add_argument("--sizes")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--only", help="run only the cases of these scenarios, e.g. mongos or discovery,stepdown")
    ap.add_argument("--json")
    args = ap.parse_args()
    args.runs = args.runs or (3 if args.quick else 5)
    args.cost_runs = args.cost_runs or (1 if args.quick else 3)
    args.window = args.window or (5.0 if args.quick else 20.0)
    args.sizes = [int(x) for x in (args.sizes or ("100,1000" if args.quick else "100,1000,5000,10000")).split(",")]
    drivers = [("ours", args.ours), ("libmongoc", args.libmongoc), ("pymongo", args.pymongo)]

    chosen = [c for c in cases(args) if not args.only or c[1][0] in args.only.split(",")]
    results = {}  # (case label, driver) -> (list of result dicts, error)
    names = {}
    for label, scenario_args, runs, _ in chosen:
        for driver, command in drivers:
            got, error = [], None
            for i in range(runs):
                print(f"{driver}: run {i + 1}/{runs}: {label}", file=sys.stderr, flush=True)
                result, error = run_subject(command, scenario_args, args.sdam, args.timeout)
                if result is None:
                    break
                names[driver] = result.get("driver", driver)
                got.append(result)
            results[(label, driver)] = (got, error if not got else None)

    print("Drivers: " + ", ".join(f"{d} = {names.get(d, d)}" for d, _ in drivers))
    print()
    print("| Scenario | Figure | ours | libmongoc pooled | PyMongo | libmongoc / ours | PyMongo / ours |")
    print("|:--|:--|--:|--:|--:|--:|--:|")
    table = []
    for label, _, _, metrics in chosen:
        for key, metric in metrics:
            cells, medians = [], {}
            for driver, _ in drivers:
                got, error = results[(label, driver)]
                values = [r[key] for r in got if key in r and r[key] is not None and r[key] >= 0] if got else []
                if error:
                    # A run that started and ran out of time says so; a driver that refused
                    # the scenario "cannot".
                    cells.append(error if "did not finish" in error else f"cannot: {error}")
                else:
                    cells.append(fmt(values))
                    if values:
                        medians[driver] = statistics.median(values)
            ratios = []
            for peer in ("libmongoc", "pymongo"):
                ours, theirs = medians.get("ours"), medians.get(peer)
                ratios.append(f"{theirs / ours:.2f}x" if ours and theirs is not None else "–")
            print(f"| {label} | {metric} | " + " | ".join(cells + ratios) + " |")
            table.append({"scenario": label, "metric": key, **{d: results[(label, d)][0] and
                          [r.get(key) for r in results[(label, d)][0]] for d, _ in drivers}})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(table, f, indent=1)


if __name__ == "__main__":
    main()

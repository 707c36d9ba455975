"""Single-threaded clients side by side (issue 16): ours (SingleThreadedClient, via
`SDAMScenarios subject st-...`), the C driver's single-threaded client (a mongoc_client_t
without a pool, peer_libmongoc_single) and the Perl driver (Debian's libmongodb-perl,
peer_perl.pl). Each run is a fresh process against its own `sdam simulate`, which this script
starts and controls; it prints one markdown table, median (min-max) per driver.

    python3 single_threaded.py --sdam PATH --ours CMD --libmongoc CMD --perl CMD [--runs N] [--json FILE]
Each CMD is a command line (split on spaces) that accepts `SCENARIO URI`.
"""
import argparse
import json
import shlex
import statistics
import subprocess
import sys
import time


class Simulator:
    def __init__(self, sdam, members, election_delay_ms=0):
        args = [sdam, "simulate", "--replica-set", "rs0", "--members", str(members)]
        if election_delay_ms:
            args += ["--election-delay-ms", str(election_delay_ms)]
        self.process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("sdam simulate exited before it was ready")
            if line.startswith("ready "):
                self.addresses = line.split()[1].split(",")
                break

    def send(self, command):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if not answer.startswith("ok"):
            raise RuntimeError(f"{command}: {answer}")

    def stop(self):
        try:
            self.process.stdin.write("quit\n")
            self.process.stdin.close()
        except BrokenPipeError:
            pass
        self.process.wait(timeout=30)


def run_peer(command, scenario, uri, on_ready=None, timeout=120):
    process = subprocess.Popen(shlex.split(command) + [scenario, uri], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    result = None
    try:
        for line in process.stdout:
            line = line.strip()
            if line == "ready" and on_ready:
                on_ready()
                process.stdin.write("go\n")
                process.stdin.flush()
            elif line.startswith("{"):
                result = json.loads(line)
        process.wait(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
    if result is None:
        raise RuntimeError(f"{command} {scenario}: no result; stderr: {process.stderr.read()[-500:]}")
    return result


def cases():
    out = []
    for m in (3, 7, 50):
        out.append((f"discovery, {m} members, one secondary seed: first write", m, 0, "st-discovery",
                    lambda sim: f"mongodb://{sim.addresses[1]}/?replicaSet=rs0", None,
                    [("firstWriteMS", "first write (ms), scan included"), ("membersKnown", "members known after it"),
                     ("threads", "threads"), ("connections", "connections")]))
    out.append(("failover: primary killed, 1000 ms election, serverSelectionTryOnce=false", 3, 1000, "st-failover",
                lambda sim: f"mongodb://{','.join(sim.addresses)}/?replicaSet=rs0&serverSelectionTryOnce=false&serverSelectionTimeoutMS=10000",
                lambda sim: sim.send(f"kill {sim.addresses[0]}"),
                [("toWriteMS", "kill to successful write (ms)"), ("attempts", "write attempts"), ("threads", "threads"),
                 ("connections", "connections")]))
    for m, hung in ((3, 1), (50, 1), (50, 2)):
        label = "one member hung" if hung == 1 else f"{hung} members hung"
        out.append((f"scan, {m} members (all seeds), {label}, connectTimeoutMS=1000", m, 0, "st-scan",
                    lambda sim: f"mongodb://{','.join(sim.addresses)}/?replicaSet=rs0&connectTimeoutMS=1000",
                    ("hang", hung),
                    [("scanMS", "first scan (ms)"), ("threads", "threads"), ("connections", "connections")]))
    return out


def summary(values):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    med = statistics.median(values)
    fmt = (lambda v: f"{v:,.0f}") if max(values) >= 100 or all(float(v).is_integer() for v in values) else (lambda v: f"{v:.1f}")
    if min(values) == max(values):
        return fmt(med)
    return f"{fmt(med)} ({fmt(min(values))}–{fmt(max(values))})"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sdam", required=True)
    parser.add_argument("--ours", required=True)
    parser.add_argument("--libmongoc", required=True)
    parser.add_argument("--perl", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json")
    args = parser.parse_args()
    drivers = [("ours", args.ours), ("libmongoc single-threaded", args.libmongoc), ("Perl", args.perl)]
    results = []
    print("| scenario | figure | " + " | ".join(name for name, _ in drivers) + " |")
    print("| --- | --- | " + " | ".join("--:" for _ in drivers) + " |")
    for title, members, delay, scenario, uri_of, action, metrics in cases():
        runs = {name: [] for name, _ in drivers}
        for _ in range(args.runs):
            for name, command in drivers:
                sim = Simulator(args.sdam, members, delay)
                try:
                    on_ready = None
                    if isinstance(action, tuple) and action[0] == "hang":
                        for address in sim.addresses[1:1 + action[1]]:
                            sim.send(f"hang {address}")
                    elif action is not None:
                        on_ready = (lambda a=action, s=sim: a(s))
                    try:
                        runs[name].append(run_peer(command, scenario, uri_of(sim), on_ready))
                    except Exception as error:  # a failed run is reported, not fatal
                        print(f"{name} {title}: {error}", file=sys.stderr)
                finally:
                    sim.stop()
        results.append({"scenario": title, "runs": runs})
        for key, label in metrics:
            cells = [summary([r.get(key) for r in runs[name]]) for name, _ in drivers]
            print(f"| {title} | {label} | " + " | ".join(cells) + " |", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()

"""The scenarios of SDAMScenarios, run by PyMongo against `sdam simulate` started as a child
process. Same arguments, same JSON keys as `SDAMScenarios subject ...`:

    python peer_pymongo.py subject discovery MEMBERS --sdam PATH
    python peer_pymongo.py subject stepdown ELECTION_DELAY_MS [poll|stream] --sdam PATH
    python peer_pymongo.py subject idle-stepdown poll|stream --sdam PATH
    python peer_pymongo.py subject mongos COUNT HEARTBEAT_MS WINDOW_S [poll|stream] --sdam PATH
    python peer_pymongo.py subject throughput async CONCURRENCY WINDOW_S --sdam PATH
        (asyncio: AsyncMongoClient, CONCURRENCY tasks running ping in a loop)

Checks are counted and timed through PyMongo's own heartbeat listeners, which run on its
monitor threads when a check starts and succeeds.
"""
import json
import os
import random
import resource
import subprocess
import sys
import threading
import time

import pymongo
from pymongo import monitoring
from pymongo.errors import PyMongoError


def now_ms():
    return time.monotonic() * 1000


class Simulator:
    def __init__(self, sdam, args):
        self.proc = subprocess.Popen([sdam, "simulate"] + args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for line in self.proc.stdout:
            if line.startswith("ready "):
                self.addresses = line[6:].strip().split(",")
                return
        raise SystemExit("the simulator did not become ready")

    def send(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer.startswith("ok"):
            raise SystemExit(f"simulator: {command}: {answer}")

    def stop(self):
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        self.proc.wait()

    def cpu_seconds(self):
        """The simulator's CPU seconds so far (user + system, /proc/PID/stat)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# A simulator holds a listener and an accepted connection per mongos, and a process may hold
# 20,000 descriptors here: at most this many mongos per `sdam simulate` (as SDAMScenarios).
MONGOS_PER_SIMULATOR = 5000


def mongos_split(count):
    """How COUNT mongos are spread over simulators: as evenly as possible, none over the cap."""
    parts = max(1, -(-count // MONGOS_PER_SIMULATOR))
    return [count // parts + (1 if i < count % parts else 0) for i in range(parts)]


class MongosSimulators:
    """COUNT simulated mongos over as many simulators as the cap asks, one seed list."""

    def __init__(self, sdam, count, args):
        self.sims = []
        try:
            for size in mongos_split(count):
                self.sims.append(Simulator(sdam, ["--mongos", str(size)] + args))
        except BaseException:
            self.stop()
            raise
        self.addresses = [a for sim in self.sims for a in sim.addresses]

    def cpu_seconds(self):
        return sum(sim.cpu_seconds() for sim in self.sims)

    def stop(self):
        for sim in self.sims:
            sim.stop()


def percentile(values, p):
    if not values:
        return -1
    values = sorted(values)
    rank = max(0, min(len(values) - 1, -(-int(p * len(values)) // 100) - 1))
    return values[rank]


def wait_until(condition, seconds, failure=lambda: "condition not met in time"):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(failure())
        time.sleep(0.0002)


class Recorder(monitoring.ServerHeartbeatListener):
    def __init__(self, members=0, mongos=0, heartbeat_ms=0):
        self.lock = threading.Lock()
        self.members, self.mongos, self.heartbeat_ms = members, mongos, heartbeat_ms
        self.primary_at = self.all_at = self.all_mongos_at = None
        self.known_mongos = set()
        self.recording = False
        self.last_start, self.successes, self.lags = {}, {}, []


    # heartbeats
    def started(self, event):
        t = now_ms()
        with self.lock:
            if self.recording:
                last = self.last_start.get(event.connection_id)
                if last is not None:
                    self.lags.append(t - last - self.heartbeat_ms)
                self.last_start[event.connection_id] = t

    def succeeded(self, event):
        t = now_ms()
        with self.lock:
            # Heartbeat events are published by the monitor thread itself, just before the
            # topology applies the reply (SDAM events come up to 1 s later from a queue).
            if self.mongos and event.connection_id not in self.known_mongos:
                self.known_mongos.add(event.connection_id)
                if len(self.known_mongos) == self.mongos:
                    self.all_mongos_at = t
            count, first, _ = self.successes.get(event.connection_id, (0, t, t))
            self.successes[event.connection_id] = (count + 1, first, t)

    def failed(self, event): pass

    def start_window(self):
        """Starts recording; of each server's successes keeps only the last, as the anchor its
        in-window rate is measured from."""
        with self.lock:
            self.recording = True
            self.successes = {a: (1, last, last) for a, (_, _, last) in self.successes.items()}


def driver_name():
    return f"pymongo {pymongo.version}"


def discovery(sdam, members):
    sim = Simulator(sdam, ["--replica-set", "rs0", "--members", str(members)])
    rec = Recorder(members=members)
    start = now_ms()
    client = pymongo.MongoClient(f"mongodb://{sim.addresses[1]}/?replicaSet=rs0", event_listeners=[rec])
    # PyMongo delivers SDAM events from a queue drained once a second, so a listener's clock
    # would be up to 1 s late: read the client's topology description instead.
    primary_at = None
    while True:
        types = [s.server_type_name for s in client.topology_description.server_descriptions().values()]
        t = now_ms()
        if primary_at is None and "RSPrimary" in types:
            primary_at = t
        if primary_at is not None and sum(x in ("RSPrimary", "RSSecondary") for x in types) == members:
            all_at = t
            break
        if t - start > 30000:
            raise SystemExit("discovery did not finish in 30 s")
        time.sleep(0.0002)
    result = {"members": members, "primaryMS": primary_at - start, "allMS": all_at - start}
    client.close()
    sim.stop()
    return result


def stepdown(sdam, delay, mode):
    sim = Simulator(sdam, ["--replica-set", "rs0", "--members", "3", "--election-delay-ms", str(delay)] + MODE_ARGS[mode])
    client = pymongo.MongoClient(f"mongodb://{','.join(sim.addresses)}/?replicaSet=rs0&serverSelectionTimeoutMS=10000&retryWrites=false")
    collection = client.bench.bench
    collection.insert_one({"x": 1})
    start = now_ms()
    sim.send("stepdown")
    attempts, first_error = 0, "none"
    while True:
        attempts += 1
        try:
            collection.insert_one({"x": 1})
            break
        except PyMongoError as error:
            if attempts == 1:
                details = getattr(error, "details", None) or {}
                first_error = details.get("codeName") if isinstance(details, dict) and details.get("codeName") else type(error).__name__
            if now_ms() - start > 10000:
                raise SystemExit("no successful write 10 s after the stepdown")
    to_write = now_ms() - start
    client.close()
    sim.stop()
    return {"mode": mode, "electionDelayMS": delay, "toWriteMS": to_write, "afterElectionMS": to_write - delay,
            "firstError": first_error, "attempts": attempts}


# `stream` simulates MongoDB 4.4+ (topologyVersion, awaitable hellos): the driver streams,
# as its default serverMonitoringMode=auto asks; `poll` simulates 4.2: the driver polls.
MODE_ARGS = {"poll": [], "stream": ["--topology-version"]}


def primary_address(client):
    for address, server in client.topology_description.server_descriptions().items():
        if server.server_type_name == "RSPrimary":
            return address
    return None


def idle_stepdown(sdam, mode):
    """A stepdown while the client is idle, default 10 s heartbeat: the time until the driver's
    topology names the new primary (what selecting a server for a write returns). Idle for
    0.5 s plus a random part of a heartbeat first, as SDAMScenarios does."""
    sim = Simulator(sdam, ["--replica-set", "rs0", "--members", "3"] + MODE_ARGS[mode])
    client = pymongo.MongoClient(f"mongodb://{','.join(sim.addresses)}/?replicaSet=rs0&serverSelectionTimeoutMS=30000")
    wait_until(lambda: sum(s.server_type_name in ("RSPrimary", "RSSecondary")
                           for s in client.topology_description.server_descriptions().values()) == 3, 30)
    old = primary_address(client)
    idle = 0.5 + random.uniform(0, 10)
    time.sleep(idle)
    start = now_ms()
    sim.send("stepdown")
    polls = 0
    while True:
        polls += 1
        current = primary_address(client)
        if current is not None and current != old:
            break
        if now_ms() - start > 30000:
            raise SystemExit("no new primary 30 s after the stepdown")
        time.sleep(0.0002)
    new_primary = now_ms() - start
    client.close()
    sim.stop()
    return {"mode": mode, "idleS": idle, "newPrimaryMS": new_primary, "selections": polls}


def descriptors():
    return len(os.listdir("/proc/self/fd"))


def checks_per_minute(successes):
    """A server's achieved rate: its successes in the window over the time from its last
    success before the window to its last in it (as SDAMScenarios computes it)."""
    if not successes or successes[0] < 2 or successes[2] <= successes[1]:
        return 0
    count, first, last = successes
    return (count - 1) / ((last - first) / 1000) * 60


def rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0


def cpu_seconds():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def mongos(sdam, count, heartbeat, window, mode):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sim = MongosSimulators(sdam, count, MODE_ARGS[mode])
    rec = Recorder(mongos=count, heartbeat_ms=heartbeat)
    base_threads, base_rss, base_fds = len(os.listdir("/proc/self/task")), rss_mib(), descriptors()
    start = now_ms()
    client = pymongo.MongoClient(f"mongodb://{','.join(sim.addresses)}/?heartbeatFrequencyMS={heartbeat}", event_listeners=[rec])

    def unfinished():
        with rec.lock:
            known = len(rec.known_mongos)
        return f"did not finish: {known} of {count} mongos known after 120 s"

    wait_until(lambda: rec.all_mongos_at is not None, 120, unfinished)
    known = rec.all_mongos_at - start
    rec.start_window()
    cpu0, sim_cpu0, w0 = cpu_seconds(), sim.cpu_seconds(), time.monotonic()
    time.sleep(window)
    cpu1, sim_cpu1, elapsed = cpu_seconds(), sim.cpu_seconds(), time.monotonic() - w0
    threads, rss, fds = len(os.listdir("/proc/self/task")), rss_mib(), descriptors()
    with rec.lock:
        rec.recording = False
        rates = [checks_per_minute(rec.successes.get(a)) for a in rec.known_mongos]
        lags = list(rec.lags)
    result = {"count": count, "heartbeatMS": heartbeat, "windowS": elapsed, "knownMS": known,
              "threads": threads, "baseThreads": base_threads, "rssMiB": rss, "baseRssMiB": base_rss,
              "descriptors": fds, "baseDescriptors": base_fds,
              "cpuSecPerMin": (cpu1 - cpu0) / elapsed * 60,
              "simulators": len(sim.sims), "simulatorCpuSecPerMin": (sim_cpu1 - sim_cpu0) / elapsed * 60,
              "checksPerServerPerMin": percentile(rates, 50),
              "configuredPerMin": 60000 / heartbeat, "lagP50MS": percentile(lags, 50), "lagP99MS": percentile(lags, 99)}
    print(json.dumps({"driver": driver_name(), "scenario": "mongos", **result}), flush=True)
    client.close()
    sim.stop()
    return None


def throughput(sdam, concurrency, window):
    """SDAMScenarios' throughput scenario with PyMongo's asyncio client: CONCURRENCY tasks
    each run `ping` in a loop for a window after a second of warm-up, against a simulated
    three-member set (polling, heartbeatFrequencyMS=500); commands per second, latency, and the
    timer lag of the monitors, which run as tasks on the same event loop."""
    import asyncio
    from pymongo import AsyncMongoClient

    heartbeat = 500
    sim = Simulator(sdam, ["--replica-set", "rs0", "--members", "3"])
    rec = Recorder(heartbeat_ms=heartbeat)
    latencies, errors, loop_delays = [], [], []

    async def run():
        client = AsyncMongoClient(f"mongodb://{sim.addresses[0]}/?replicaSet=rs0&heartbeatFrequencyMS={heartbeat}"
                                  "&serverMonitoringMode=poll", event_listeners=[rec])
        await client.admin.command("ping")
        warm = time.monotonic() + 1
        end = warm + window

        async def worker():
            local = []
            while time.monotonic() < end:
                started = time.monotonic()
                try:
                    await client.admin.command("ping")
                except PyMongoError as error:
                    errors.append(str(error))
                ended = time.monotonic()
                if started >= warm and ended <= end:
                    local.append((ended - started) * 1000)
            latencies.extend(local)

        # The monitors run as tasks on this event loop: a probe thread posts a callback to it
        # every 5 ms and records how long it waited to run (as SDAMScenarios does for its loop).
        loop = asyncio.get_running_loop()

        def probe():
            while time.monotonic() < end:
                posted = time.monotonic()
                if posted >= warm:
                    loop.call_soon_threadsafe(lambda p=posted: loop_delays.append((time.monotonic() - p) * 1000))
                time.sleep(0.005)

        prober = threading.Thread(target=probe, daemon=True)
        prober.start()
        tasks = [asyncio.create_task(worker()) for _ in range(concurrency)]
        await asyncio.sleep(max(0, warm - time.monotonic()))
        rec.start_window()
        cpu0 = cpu_seconds()
        await asyncio.sleep(window / 2)
        threads = len(os.listdir("/proc/self/task")) - 1  # less the probe's thread
        await asyncio.gather(*tasks)
        prober.join()
        cpu1 = cpu_seconds()
        await client.close()
        return threads, cpu1 - cpu0

    threads, cpu = asyncio.run(run())
    sim.stop()
    with rec.lock:
        lags = list(rec.lags)
    return {"mode": "asyncio", "concurrency": concurrency, "windowS": window,
            "opsPerSec": len(latencies) / window, "p50MS": percentile(latencies, 50), "p99MS": percentile(latencies, 99),
            "lagP50MS": percentile(lags, 50), "lagP99MS": percentile(lags, 99), "lagSamples": len(lags),
            "loopDelayP50MS": percentile(loop_delays, 50), "loopDelayP99MS": percentile(loop_delays, 99),
            "threads": threads, "cpuSecPerMin": cpu / window * 60, "errors": len(errors), "firstError": errors[0] if errors else ""}


def main():
    args = sys.argv[1:]
    sdam = None
    if "--sdam" in args:
        i = args.index("--sdam")
        sdam = args[i + 1]
        del args[i:i + 2]
    if not sdam or len(args) < 2 or args[0] != "subject":
        raise SystemExit("usage: peer_pymongo.py subject SCENARIO ARGS --sdam PATH")
    scenario, rest = args[1], args[2:]
    if scenario == "discovery" and len(rest) == 1:
        result = discovery(sdam, int(rest[0]))
    elif scenario == "stepdown" and len(rest) in (1, 2) and (len(rest) == 1 or rest[1] in MODE_ARGS):
        result = stepdown(sdam, int(rest[0]), rest[1] if len(rest) == 2 else "poll")
    elif scenario == "idle-stepdown" and len(rest) == 1 and rest[0] in MODE_ARGS:
        result = idle_stepdown(sdam, rest[0])
    elif scenario == "mongos" and len(rest) in (3, 4) and (len(rest) == 3 or rest[3] in MODE_ARGS):
        result = mongos(sdam, int(rest[0]), int(rest[1]), float(rest[2]), rest[3] if len(rest) == 4 else "poll")
    elif scenario == "throughput" and len(rest) == 3 and rest[0] == "async":
        result = throughput(sdam, int(rest[1]), float(rest[2]))
    else:
        raise SystemExit(f"unknown scenario: {' '.join(args[1:])}")
    if result is not None:
        print(json.dumps({"driver": driver_name(), "scenario": scenario, **result}), flush=True)


if __name__ == "__main__":
    main()

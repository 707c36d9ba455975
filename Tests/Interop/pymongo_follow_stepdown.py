"""PyMongo against the simulated replica set, for the Swift interop tests: a driver we did not
write discovers the set from one seed and follows a stepdown.

Usage: pymongo_follow_stepdown.py SEED MEMBERS

SEED is the one address PyMongo is given (host:port), MEMBERS every member's address,
comma-separated. The script connects with replicaSet=rs0, waits until PyMongo knows every
member and the primary, inserts a document, and prints `ready PRIMARY`. It then waits for a
line `go` on stdin (the test steps the primary down first), inserts until an insert succeeds,
and prints one JSON line: {"old", "new", "ms", "discoveryMS", "attempts", "errors"}, where ms
is the time from `go` to the successful insert and discoveryMS the time from creating the
client to knowing every member. Exits 0 when the new primary differs from the old one, 1 (with a
message on stderr) on any failure, 3 when the packages are missing.
"""
import json
import sys
import time

try:
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError
except ImportError as error:
    print(f"pymongo_follow_stepdown: {error}; run scripts/interop-setup.sh", file=sys.stderr)
    sys.exit(3)

DISCOVERY_TIMEOUT_S = 10
WRITE_TIMEOUT_S = 30


def fail(message):
    print(f"pymongo_follow_stepdown: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def address(pair):
    host, port = pair
    return f"{host}:{port}"


def discovered(client, members):
    """Whether PyMongo knows exactly `members`, each as a primary or secondary, one primary.

    Read from the client's topology description rather than an SDAM listener: PyMongo hands
    events to listeners in batches once a second (EVENTS_QUEUE_FREQUENCY), which would hide
    the discovery time.
    """
    servers = client.topology_description.server_descriptions()
    known = {address(a): s.server_type_name for a, s in servers.items()}
    return (set(known) == set(members)
            and all(t in ("RSPrimary", "RSSecondary") for t in known.values())
            and list(known.values()).count("RSPrimary") == 1)


def main():
    if len(sys.argv) != 3:
        fail("usage: pymongo_follow_stepdown.py SEED MEMBERS")
    seed, members = sys.argv[1], sys.argv[2].split(",")
    opened = time.monotonic()
    client = MongoClient(
        f"mongodb://{seed}/?replicaSet=rs0&serverSelectionTimeoutMS=5000&connectTimeoutMS=2000",
    )
    try:
        while not discovered(client, members):
            if time.monotonic() - opened > DISCOVERY_TIMEOUT_S:
                fail(f"after {DISCOVERY_TIMEOUT_S} s PyMongo knows {client.topology_description}")
            time.sleep(0.002)
        discovery_ms = (time.monotonic() - opened) * 1000
        collection = client.interop.stepdown
        collection.insert_one({"phase": "before"})
        old = address(client.primary)
        print(f"ready {old}", flush=True)

        line = sys.stdin.readline().strip()
        if line != "go":
            fail(f"expected `go` on stdin, read {line!r}")
        start = time.monotonic()
        deadline = start + WRITE_TIMEOUT_S
        attempts, errors = 0, []
        while True:
            attempts += 1
            try:
                collection.insert_one({"phase": "after", "attempt": attempts})
                break
            except PyMongoError as error:
                errors.append(f"{type(error).__name__}: {error}"[:300])
                if time.monotonic() > deadline:
                    fail(f"no insert succeeded within {WRITE_TIMEOUT_S} s: {errors}")
        elapsed_ms = (time.monotonic() - start) * 1000
        new = address(client.primary) if client.primary else None
        print(json.dumps({"old": old, "new": new, "ms": round(elapsed_ms, 1),
                          "discoveryMS": round(discovery_ms, 1),
                          "attempts": attempts, "errors": errors}), flush=True)
        if new == old:
            fail(f"the write succeeded but the primary is still {old}")
    finally:
        client.close()


if __name__ == "__main__":
    main()

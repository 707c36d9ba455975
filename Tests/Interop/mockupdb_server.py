"""MockupDB servers for the Swift interop tests: a peer we did not write, for our pool to
discover and use.

Usage: mockupdb_server.py [--replica-set NAME --members N]

Without options it starts one standalone on 127.0.0.1; with them, N replica set members of
set NAME, the first the primary. It prints one line `port P1 [P2 ...]` once every server
listens, then answers hello/isMaster, ping and insert (ok: 1) until its stdin closes. Then it
stops the servers and prints one line `received JSON`: every request the servers saw, in
order, as {"port", "opcode", "name", "db", "keys", "backpressure"}, so that the test can check
what the pool sent. Handshakes come over OP_MSG (our pool's, as the handshake spec requires) or
OP_QUERY (older drivers'); the one responder answers both, each in its own opcode. Exits 0;
3 when the packages are missing.
"""
import argparse
import json
import sys
import threading

try:
    from mockupdb import MockupDB
except ImportError as error:
    print(f"mockupdb_server: {error}; run scripts/interop-setup.sh", file=sys.stderr)
    sys.exit(3)


def hello_reply(index, ports, replica_set):
    """What a server of wire version 21 answers to hello: a standalone, or one member of a set."""
    reply = {
        "ismaster": True,
        "isWritablePrimary": True,
        "helloOk": True,
        "maxWireVersion": 21,
        "minWireVersion": 0,
        "maxBsonObjectSize": 16 * 1024 * 1024,
        "maxMessageSizeBytes": 48_000_000,
        "maxWriteBatchSize": 100_000,
        "logicalSessionTimeoutMinutes": 30,
    }
    if replica_set:
        hosts = [f"127.0.0.1:{port}" for port in ports]
        primary = index == 0
        reply.update(
            ismaster=primary,
            isWritablePrimary=primary,
            secondary=not primary,
            setName=replica_set,
            hosts=hosts,
            primary=hosts[0],
            me=hosts[index],
            setVersion=1,
        )
    return reply


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--replica-set", default=None)
    parser.add_argument("--members", type=int, default=1)
    options = parser.parse_args()
    count = options.members if options.replica_set else 1

    received = []
    lock = threading.Lock()
    servers = [MockupDB(request_timeout=30) for _ in range(count)]
    ports = [server.run() for server in servers]
    for index, (server, port) in enumerate(zip(servers, ports)):
        hello = hello_reply(index, ports, options.replica_set)

        # One responder for every request, so that each is recorded and none is left queued
        # unanswered. MockupDB's own name matchers are not used: a bare name matches neither
        # isMaster (case) nor {insert: "things"} (the value).
        def respond(request, port=port, hello=hello):
            name = request.command_name or ""
            with lock:
                received.append({
                    "port": port,
                    "opcode": type(request).__name__,
                    "name": name,
                    "db": request.doc.get("$db", request.namespace),
                    "keys": list(request.doc.keys()),
                    "backpressure": request.doc.get("backpressure"),
                })
            if name.lower() in ("hello", "ismaster"):
                return request.ok(hello)
            if name == "ping":
                return request.ok()
            if name == "insert":
                return request.ok(n=len(request.doc.get("documents", [])))
            return request.command_err(code=59, errmsg=f"no such command: '{name}'")

        server.autoresponds(respond)

    print("port " + " ".join(str(port) for port in ports), flush=True)
    sys.stdin.read()  # until the test closes our stdin (or dies)
    for server in servers:
        server.stop()
    with lock:
        print("received " + json.dumps(received), flush=True)


if __name__ == "__main__":
    main()

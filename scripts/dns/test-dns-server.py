#!/usr/bin/env python3
"""An authoritative DNS server for the tests, on UDP and TCP, serving records it is told.

Started by the tests' DNS sandbox (Sources/MongoSimulator/DNSSandbox.swift) inside a network
namespace of their own, so it reaches no one else's resolver. It uses dnslib (PyPI, installed
into .build-venv by scripts/interop-setup.sh) to read queries and write answers.

Standard input carries one JSON object per line; each replaces what is served and is
acknowledged with "ok" on standard output:

    {"mode": "answer" | "silent" | "servfail",
     "records": [{"name": "...", "type": "A" | "AAAA" | "SRV" | "TXT", "ttl": 86400,
                  "data": "127.0.0.1" | {"priority": 0, "weight": 0, "port": 27017,
                  "target": "..."} | ["string", ...]}]}

"silent" drops every query (a server that stopped answering), "servfail" answers SERVFAIL. A
name with no record of any type is NXDOMAIN; one with records of other types answers NOERROR
with none. UDP answers over 512 bytes are truncated (TC), so resolvers retry over TCP. End of
standard input stops the server.
"""
import argparse
import json
import socket
import struct
import sys
import threading

from dnslib import AAAA, QTYPE, RCODE, RR, SRV, TXT, A, DNSRecord

LOCK = threading.Lock()
STATE = {"mode": "answer", "records": {}}


def load(config):
    records = {}
    for record in config.get("records", []):
        name = record["name"].lower().rstrip(".")
        records.setdefault(name, []).append(record)
    with LOCK:
        STATE["mode"] = config.get("mode", "answer")
        STATE["records"] = records


def rdata(record):
    kind, data = record["type"], record["data"]
    if kind == "A":
        return A(data)
    if kind == "AAAA":
        return AAAA(data)
    if kind == "SRV":
        return SRV(priority=data.get("priority", 0), weight=data.get("weight", 0), port=data["port"],
                   target=data["target"])
    if kind == "TXT":
        return TXT([s.encode() for s in data])
    raise ValueError("unknown record type " + kind)


def answer(packet, over_tcp):
    """The reply's bytes, or None to stay silent."""
    try:
        request = DNSRecord.parse(packet)
    except Exception:
        return None
    with LOCK:
        mode = STATE["mode"]
        records = STATE["records"]
    if mode == "silent":
        return None
    reply = request.reply()
    if mode == "servfail":
        reply.header.rcode = RCODE.SERVFAIL
        return reply.pack()
    name = str(request.q.qname).lower().rstrip(".")
    kind = QTYPE[request.q.qtype]
    found = records.get(name)
    if found is None:
        reply.header.rcode = RCODE.NXDOMAIN
    else:
        for record in found:
            if record["type"] == kind:
                reply.add_answer(RR(rname=request.q.qname, rtype=getattr(QTYPE, kind), ttl=record.get("ttl", 86400),
                                    rdata=rdata(record)))
    data = reply.pack()
    if not over_tcp and len(data) > 512:
        truncated = request.reply()
        truncated.header.tc = 1
        data = truncated.pack()
    return data


def serve_udp(sock):
    while True:
        packet, peer = sock.recvfrom(4096)
        data = answer(packet, over_tcp=False)
        if data is not None:
            sock.sendto(data, peer)


def read_exactly(conn, count):
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def serve_tcp_connection(conn):
    with conn:
        conn.settimeout(10)
        try:
            while True:
                header = read_exactly(conn, 2)
                if header is None:
                    return
                packet = read_exactly(conn, struct.unpack("!H", header)[0])
                if packet is None:
                    return
                data = answer(packet, over_tcp=True)
                if data is None:
                    continue
                conn.sendall(struct.pack("!H", len(data)) + data)
        except OSError:
            return


def serve_tcp(sock):
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=serve_tcp_connection, args=(conn,), daemon=True).start()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=53)
    args = parser.parse_args()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((args.address, args.port))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((args.address, args.port))
    tcp.listen(16)
    threading.Thread(target=serve_udp, args=(udp,), daemon=True).start()
    threading.Thread(target=serve_tcp, args=(tcp,), daemon=True).start()
    print("ready", flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            load(json.loads(line))
            print("ok", flush=True)
        except Exception as error:  # a bad command is reported, and the server goes on
            print("error " + str(error).replace("\n", " "), flush=True)


if __name__ == "__main__":
    main()

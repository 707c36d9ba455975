"""PyMongo against the simulator over TLS (and, when the URI carries credentials, with SCRAM),
for the Swift interop tests: an independent client proves the simulator's server side.

Usage: pymongo_secured.py URI

Connects with the URI as given (the test puts tls=true, tlsCAFile and any credentials in it),
inserts a document, finds it, and prints one JSON line: {"ok": true, "found": N} on success or
{"ok": false, "error": TEXT, "type": NAME} when PyMongo raised. Exits 0 either way (the test
judges), 3 when the packages are missing.
"""
import json
import sys

try:
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError
except ImportError as error:
    print(f"pymongo_secured: {error}; run scripts/interop-setup.sh", file=sys.stderr)
    sys.exit(3)


def main():
    uri = sys.argv[1]
    client = MongoClient(uri, serverSelectionTimeoutMS=5000, connectTimeoutMS=5000, retryWrites=False)
    try:
        collection = client["interop"]["secured"]
        collection.insert_one({"x": 42})
        found = len(list(collection.find({"x": 42})))
        print(json.dumps({"ok": True, "found": found}), flush=True)
    except PyMongoError as error:
        print(json.dumps({"ok": False, "error": str(error), "type": type(error).__name__}), flush=True)
    finally:
        client.close()


if __name__ == "__main__":
    main()

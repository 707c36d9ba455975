#!/usr/bin/env bash
# Sets up the Python peers the interop tests run against (Tests/Interop): a virtual environment
# at .build-venv/ with PyMongo and MockupDB from PyPI, and dnslib for the tests' DNS server. Installs only what is missing, so a second
# run takes well under a second. The Swift tests fail, naming this script, when it has not run.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.build-venv
PY="$VENV/bin/python"

fail() {
  echo "interop-setup: $*" >&2
  exit 1
}

# A fresh Debian has python3 without its venv module (a separate package): install what is
# missing, as scripts/setup.sh does for libev-dev.
apt_install() {
  command -v apt-get >/dev/null 2>&1 || return 1
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "interop-setup: installing $*" >&2
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  apt_install python3 python3-venv || true
fi
command -v python3 >/dev/null 2>&1 || fail "python3 is not on PATH; install Python 3 (Debian: apt-get install python3 python3-venv)"

if [ ! -x "$PY" ]; then
  echo "interop-setup: creating $VENV" >&2
  python3 -m venv "$VENV" || {
    rm -rf "$VENV"
    fail "python3 -m venv failed (Debian: apt-get install python3-venv)"
  }
fi

# One import of the packages decides whether anything needs installing. dnslib is the DNS
# server of the seedlist discovery tests (scripts/dns/test-dns-server.py).
if ! "$PY" -c 'import pymongo, mockupdb, dnslib' >/dev/null 2>&1; then
  echo "interop-setup: installing pymongo, mockupdb and dnslib into $VENV" >&2
  "$PY" -m pip install -q --disable-pip-version-check pymongo mockupdb dnslib ||
    fail "pip could not install pymongo, mockupdb and dnslib from PyPI into $VENV"
  "$PY" -c 'import pymongo, mockupdb, dnslib' || fail "pymongo, mockupdb or dnslib still does not import after pip install"
fi

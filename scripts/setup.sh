#!/usr/bin/env bash
# Installs what the build needs on Debian when it is missing: libev-dev (Debian's package has
# no pkg-config file; the CLibev module map links `ev` by name), libssl-dev (TLS and the
# cryptography of authentication; COpenSSL links ssl and crypto) and the openssl command, which
# the tests use to make their certificates at run time. Safe to run again.
set -euo pipefail
missing=()
[ -f /usr/include/ev.h ] || missing+=(libev-dev)
[ -f /usr/include/openssl/ssl.h ] || missing+=(libssl-dev)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v swift >/dev/null 2>&1; then
  echo "setup: swift is not on PATH; install Swift 6 (https://www.swift.org/install/linux/)" >&2
  exit 1
fi

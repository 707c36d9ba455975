#!/usr/bin/env bash
# Installs what the build needs on Debian when it is missing: libev-dev (Debian's package has
# no pkg-config file; the CLibev module map links `ev` by name). Safe to run again.
set -euo pipefail
if [ ! -f /usr/include/ev.h ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  echo "setup: installing libev-dev" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libev-dev >/dev/null
fi
if ! command -v swift >/dev/null 2>&1; then
  echo "setup: swift is not on PATH; install Swift 6 (https://www.swift.org/install/linux/)" >&2
  exit 1
fi

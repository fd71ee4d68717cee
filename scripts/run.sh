#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running relay: install what
# is missing, build, and run on the embedded default configuration (UDP and
# TCP on 0.0.0.0:5514, JSON records on standard output). Extra arguments go
# to syslog-relay (e.g. -c /etc/syslog-relay/relay.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target syslog-relay
exec build/syslog-relay "$@"

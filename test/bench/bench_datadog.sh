#!/usr/bin/env bash
# bench_datadog.sh: records per second through the relay to a local TLS
# intake (transport syslog-tls), end to end: one TCP sender -> tcp input
# -> pipeline -> datadog output -> TLS -> dd_intake.py --count-only.
#
#   SR_BIN=build/syslog-relay test/bench/bench_datadog.sh [RECORDS] [MSG_BYTES]
#
# The clock starts when the sender connects and stops when
# syslog_relay_output_messages_total{output="dd"} reaches RECORDS (every
# record handed to the kernel on the TLS connection); the intake then
# confirms it counted every line. Not a test: run it by hand on an idle
# machine, and record the result in docs/datadog.md.
. "$(dirname "$0")/../integration/lib.sh"
N=${1:-200000}
SIZE=${2:-200}
KEY=0123456789abcdef0123456789abcdef
sr_certs "$T/certs"
python3 "$SR_SOURCE/test/integration/dd_intake.py" tls --count-only \
    --cert "$T/certs/server.crt" --key "$T/certs/server.key" --api-key "$KEY" \
    --port-file "$T/intake.port" --out "$T/intake" &
sr_track $!
for i in $(seq 1 100); do [ -s "$T/intake.port" ] && break; sleep 0.05; done
cat >"$T/relay.yaml" <<YAML
log_level: info
inputs:
  - {name: tcp-in, type: tcp, listen: "127.0.0.1:0"}
outputs:
  - name: dd
    type: datadog
    api_key: "$KEY"
    host: localhost
    port: $(cat "$T/intake.port")
    ca_file: $T/certs/ca.crt
    source: bench
    tags: ["env:bench"]
metrics:
  listen: "127.0.0.1:0"
YAML
sr_start_relay "$T/relay.yaml"
TCP=$(sr_port tcp-in)
MPORT=$(sr_port metrics)
[ -n "$MPORT" ] && [ -n "$TCP" ] || sr_fail "could not find the relay's ports"
delivered() {
    curl -s "http://127.0.0.1:$MPORT/metrics" |
        awk '$1 == "syslog_relay_output_messages_total{output=\"dd\"}" {print $2}'
}
python3 - "$TCP" "$N" "$SIZE" "$T/t0" <<'PY'
import socket, sys, time
port, n, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
pad = b"x" * max(0, size - 60)
s = socket.create_connection(("127.0.0.1", port))
open(sys.argv[4], "w").write("%.6f\n" % time.time())
chunk = []
for i in range(n):
    chunk.append(b"<14>1 2026-11-21T19:22:07.581Z bench app - - - %08d %s\n" % (i, pad))
    if len(chunk) == 1000:
        s.sendall(b"".join(chunk)); chunk = []
s.sendall(b"".join(chunk))
s.close()
PY
while :; do
    d=$(delivered)
    [ "${d:-0}" -ge "$N" ] && break
    kill -0 "$SR_PID" 2>/dev/null || sr_fail "relay died"
    sleep 0.05
done
t1=$(date +%s.%N)
python3 -c "import sys; t0=float(open(sys.argv[1]).read()); n=int(sys.argv[2]); \
dt=float(sys.argv[3])-t0; print('%d records of ~%s bytes in %.2f s: %.0f records/s' % (n, sys.argv[4], dt, n/dt))" \
    "$T/t0" "$N" "$t1" "$SIZE"
kill -TERM "$SR_PID"; wait "$SR_PID"
for i in $(seq 1 50); do grep -q '^eof' "$T/intake/events" && break; sleep 0.1; done
echo "intake counted: $(awk '/^eof/ {s += $2} END {print s}' "$T/intake/events") lines"

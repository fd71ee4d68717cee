#!/usr/bin/env bash
# Datadog output, transport https, against dd_intake.py's HTTPS intake
# (a CA made now; the intake checks DD-API-KEY, gzip, JSON shape, limits).
#  1. 500, 500, 429 are retried until accepted: every record arrives once,
#     with ddsource, ddtags, hostname, service, status, message, syslog.
#  2. 403, 413 and 400 are final: those batches are dropped and counted
#     under syslog_relay_dropped_messages_total{reason="datadog_rejected"},
#     and later batches go through.
#  3. Limits (the first answer held until all is queued): 2500 small records go in requests of at most 1000 entries;
#     120 records of 60000 bytes are cut to max_message_size (counted) and
#     split into requests of at most 5 MB uncompressed.
. "$(dirname "$0")/lib.sh"
KEY=0123456789abcdef0123456789abcdef
INTAKE="python3 $SR_SOURCE/test/integration/dd_intake.py"
sr_certs "$T/certs"

start_intake() { # NAME [extra args]
    local name=$1 i
    shift
    $INTAKE https --cert "$T/certs/server.crt" --key "$T/certs/server.key" --api-key "$KEY" \
        --port-file "$T/$name.port" --out "$T/$name" --require-gzip "$@" 2>"$T/$name.err" &
    sr_track $!
    for i in $(seq 1 100); do
        [ -s "$T/$name.port" ] && return 0
        sleep 0.05
    done
    sr_fail "intake $name did not start: $(cat "$T/$name.err")"
}
start_intake retry --fail 500:2 --fail 429:1
start_intake final --fail 403:1 --fail 413:1 --fail 400:1
start_intake big --hold-first "$T/release"

output() { # NAME INTAKE INPUT [extra yaml lines]
    cat <<YAML
  - name: $1
    type: datadog
    transport: https
    api_key: "$KEY"
    host: localhost
    port: $(cat "$T/$2.port")
    ca_file: $T/certs/ca.crt
    inputs: [$3]
YAML
}
{
    cat <<YAML
log_level: debug
shutdown_timeout: 5s
inputs:
  - {name: retry-in, type: tcp, listen: "127.0.0.1:0"}
  - {name: final-in, type: tcp, listen: "127.0.0.1:0"}
  - {name: big-in, type: tcp, listen: "127.0.0.1:0"}
outputs:
YAML
    output dd-retry retry retry-in
    cat <<'YAML'
    service: svc
    source: 'my "src"'
    tags: ["env:test", "team:a,b"]
YAML
    output dd-final final final-in
    output dd-big big big-in
    # all 2621 records (7.5 MB) must queue behind the held answer
    echo "    buffer: {flow_window: 64MiB}"
    echo "    max_message_size: 50000"
    cat <<'YAML'
metrics:
  listen: "127.0.0.1:0"
YAML
} >"$T/relay.yaml"
sr_start_relay "$T/relay.yaml"

send() { # PORT frames...: LF-framed on one TCP connection
    python3 - "$@" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"".join(m.encode() + b"\n" for m in sys.argv[2:]))
s.close()
PY
}
field() { # FILE MESSAGE-SUBSTRING KEY: a field of the one entry with that message
    python3 - "$@" <<'PY'
import json, sys
hits = [json.loads(l) for l in open(sys.argv[1]) if sys.argv[2] in json.loads(l)["message"]]
if len(hits) != 1:
    sys.exit("%d entries with %r" % (len(hits), sys.argv[2]))
v = hits[0]
for k in sys.argv[3].split("."):
    v = v[k]
print(json.dumps(v))
PY
}

# ---- 1. retried until accepted ----------------------------------------------
send "$(sr_port retry-in)" \
    '<165>1 2026-11-21T19:22:07.581Z web01 nginx 42 ID7 [ex@1 k="v"] hello "one"' \
    '<11>Nov 21 22:42:19 host3 app3[77]: three-one-sixty-four' \
    '<14>1 2026-11-21T19:22:08Z web02 - - - - no app name' \
    'no pri at all' \
    '<15>1 2026-11-21T19:22:09Z web03 a - - - five'
sr_wait_lines "$T/retry/accepted" 5 30
sleep 0.5
sr_assert_eq 5 "$(wc -l <"$T/retry/accepted")" "entries accepted after retries"
sr_assert_eq "500 500 429 202" "$(awk '{printf "%s%s", s, $1; s=" "}' "$T/retry/requests")" \
    "answers, in order"
awk '$4 != "gzip" {exit 1}' "$T/retry/requests" || sr_fail "a request was not gzip'ed"
A=$T/retry/accepted
sr_assert_eq '"my \"src\""' "$(field "$A" 'hello' ddsource)" "ddsource"
sr_assert_eq '"env:test,team:a,b"' "$(field "$A" 'hello' ddtags)" "ddtags"
sr_assert_eq '"web01"' "$(field "$A" 'hello' hostname)" "hostname"
sr_assert_eq '"nginx"' "$(field "$A" 'hello' service)" "service from APP-NAME"
sr_assert_eq '"notice"' "$(field "$A" 'hello' status)" "status notice"
sr_assert_eq '"hello \"one\""' "$(field "$A" 'hello' message)" "message"
sr_assert_eq '"2026-11-21T19:22:07.581Z"' "$(field "$A" 'hello' syslog.timestamp)" "timestamp"
sr_assert_eq '{"ex@1": {"k": "v"}}' "$(field "$A" 'hello' syslog.structured_data)" "SD"
sr_assert_eq '"42"' "$(field "$A" 'hello' syslog.procid)" "procid"
sr_assert_eq '"svc"' "$(field "$A" 'no app name' service)" "service from config"
sr_assert_eq '"error"' "$(field "$A" 'three-one' status)" "3164 status"
sr_assert_eq '"host3"' "$(field "$A" 'three-one' hostname)" "3164 hostname"
sr_assert_eq '"rfc3164"' "$(field "$A" 'three-one' syslog.format)" "3164 format"
sr_assert_eq '"127.0.0.1"' "$(field "$A" 'no pri at all' hostname)" "raw: sender as hostname"
sr_assert_eq '"debug"' "$(field "$A" 'five' status)" "debug status"
sr_ok "500, 500, 429 retried; every record delivered exactly once with its fields"

# ---- 2. final answers: dropped and counted ------------------------------------
FIN=$(sr_port final-in)
for i in 1 2 3; do
    send "$FIN" "<13>1 2026-11-21T19:22:10Z h a - - - rejected $i"
    sr_wait_lines "$T/final/requests" "$i" 20
done
send "$FIN" "<13>1 2026-11-21T19:22:10Z h a - - - accepted 4"
sr_wait_lines "$T/final/accepted" 1 20
sleep 0.5
sr_assert_eq "403 413 400 202" "$(awk '{printf "%s%s", s, $1; s=" "}' "$T/final/requests")" \
    "answers, in order (none retried)"
sr_assert_eq 1 "$(wc -l <"$T/final/accepted")" "entries accepted"
grep -q 'accepted 4' "$T/final/accepted" || sr_fail "the last record did not arrive"
sr_assert_eq 3 "$(sr_metric 'syslog_relay_dropped_messages_total{reason="datadog_rejected"}')" \
    "dropped as datadog_rejected"
grep -q 'dd-final.*HTTP 403.*Forbidden' "$T/relay.log" || sr_fail "403 body not logged"
sr_ok "403, 413 and 400 dropped, counted and logged; later batches delivered"

# ---- 3. batch limits and truncation --------------------------------------------
send "$(sr_port big-in)" "<14>1 2026-11-21T19:22:11Z h a - - - first, answer held"
sr_wait_metric 'syslog_relay_output_queue_messages{output="dd-big"}' 1 10 >/dev/null
python3 - "$(sr_port big-in)" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"".join(b"<14>1 2026-11-21T19:22:11Z h a - - - small %d\n" % i for i in range(2500)))
for i in range(120):
    body = (b"big %03d " % i) + bytes(48 + (i * 7 + j) % 79 for j in range(60000))
    s.sendall(b"<14>1 2026-11-21T19:22:12Z h a - - - " + body + b"\n")
s.close()
PY
# release the first answer once all 2621 records are queued
sr_assert_eq 2621 "$(sr_wait_metric 'syslog_relay_output_queue_messages{output="dd-big"}' 2621 30)" "queued"
touch "$T/release"
sr_wait_lines "$T/big/accepted" 2621 60
sleep 0.5
sr_assert_eq 2621 "$(wc -l <"$T/big/accepted")" "entries accepted"
sr_assert_eq 0 "$(wc -l <"$T/big/rejected")" "requests rejected by the intake"
awk '$1 != 202 || $2 > 1000 || $3 > 5000000 {exit 1}' "$T/big/requests" ||
    sr_fail "a request broke a limit: $(cat "$T/big/requests")"
# the first answer was held until everything was queued, so later batches
# were full: one hit the entry cap and one was split at the byte cap
awk '$2 == 1000 {e = 1} $3 > 4500000 {b = 1} END {exit !(e && b)}' "$T/big/requests" ||
    sr_fail "no request reached the limits: $(cat "$T/big/requests")"
python3 - "$T/big/accepted" <<'PY' || sr_fail "big entries not cut as expected"
import json, sys
n = 0
for l in open(sys.argv[1]):
    m = json.loads(l)["message"]
    if m.startswith("big "):
        n += 1
        assert len(m.encode()) == 50000, len(m.encode())
        assert m.endswith("...[TRUNCATED]"), m[-20:]
assert n == 120, n
PY
sr_assert_eq 120 "$(sr_metric 'syslog_relay_output_truncated_total{output="dd-big"}')" \
    "truncated"
grep -q "$KEY" "$T/relay.log" && sr_fail "the API key appears in the relay log"
sr_ok "2621 records in requests within 1000 entries and 5 MB; 120 cut and counted"

sr_stop_relay
sr_ok "datadog https"

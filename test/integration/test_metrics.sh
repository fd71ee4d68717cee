#!/usr/bin/env bash
# /metrics and /health: every INTERFACE.md family with HELP and TYPE from
# the start, counters that match the traffic sent, and a slow or malformed
# HTTP client that cannot stall syslog traffic or the endpoint.
. "$(dirname "$0")/lib.sh"

cat >"$T/relay.yaml" <<YAML
inputs:
  - name: u
    type: udp
    listen: "127.0.0.1:0"
  - name: t
    type: tcp
    listen: "127.0.0.1:0"
outputs:
  - name: f
    type: file
    path: $T/out.json
metrics:
  listen: "127.0.0.1:0"
YAML
sr_start_relay "$T/relay.yaml"
MP=$(sr_port metrics); TCP=$(sr_port t); UDP=$(sr_port u)
curl -s "http://127.0.0.1:$MP/metrics" >"$T/m0"
for fam in syslog_relay_input_messages_total syslog_relay_input_bytes_total \
    syslog_relay_input_connections syslog_relay_parse_errors_total syslog_relay_redactions_total \
    syslog_relay_output_messages_total syslog_relay_output_errors_total \
    syslog_relay_output_queue_messages syslog_relay_dropped_messages_total; do
    grep -q "^# HELP $fam " "$T/m0" || sr_fail "no HELP for $fam"
    grep -q "^# TYPE $fam \(counter\|gauge\)$" "$T/m0" || sr_fail "no TYPE for $fam"
done
grep -q '^# TYPE syslog_relay_input_connections gauge$' "$T/m0" || sr_fail "connections is not a gauge"
grep -q '^syslog_relay_output_messages_total{output="f"} 0$' "$T/m0" || sr_fail "output series not at 0"

# A client that sends half a request and stalls, and one that sends junk.
exec 7<>/dev/tcp/127.0.0.1/"$MP"
printf 'GET /metr' >&7
exec 8<>/dev/tcp/127.0.0.1/"$MP"
head -c 20000 /dev/urandom >&8 2>/dev/null
# Traffic still flows and the endpoint still answers meanwhile.
python3 - "$TCP" "$UDP" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
for i in range(300):
    s.sendall(b"<13>1 - - - - - - tcp %d\n" % i)
s.sendall(b"not syslog at all\n")
s.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(50):
    u.sendto(b"<13>Nov 21 10:00:00 h app: udp %d" % i, ("127.0.0.1", int(sys.argv[2])))
PY
sr_wait_lines "$T/out.json" 351
sleep 0.2 # stats are published every 50 ms
m() { curl -s --max-time 5 "http://127.0.0.1:$MP/metrics" | awk -v k="$1" '$1 == k {print $2}'; }
sr_assert_eq 301 "$(m 'syslog_relay_input_messages_total{input="t"}')" "tcp messages"
sr_assert_eq 1 "$(m 'syslog_relay_parse_errors_total{input="t"}')" "tcp parse errors"
[ "$(m 'syslog_relay_input_messages_total{input="u"}')" -ge 45 ] || sr_fail "udp messages"
sr_assert_eq 351 "$(m 'syslog_relay_output_messages_total{output="f"}')" "delivered"
sr_assert_eq 0 "$(m 'syslog_relay_output_queue_messages{output="f"}')" "queue drained"
sr_assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MP/nope")" "404"
sr_assert_eq 405 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$MP/metrics")" "405"
sr_assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MP/health")" "health"
exec 7>&- 8>&-
sr_stop_relay
sr_ok "metrics and health"

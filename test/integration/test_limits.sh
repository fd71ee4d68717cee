#!/usr/bin/env bash
# Input limits: max_message_size truncates (counted, the rest of the frame
# skipped, the next frame intact) on TCP and UDP; max_connections refuses
# the connection over the limit (counted) while existing ones keep working;
# idle_timeout closes a silent connection.
. "$(dirname "$0")/lib.sh"
R="python3 $SR_SOURCE/test/integration/records.py"

cat >"$T/relay.yaml" <<YAML
workers: 1
inputs:
  - name: t
    type: tcp
    listen: "127.0.0.1:0"
    max_message_size: 1KiB
    max_connections: 3
    idle_timeout: 2s
  - name: u
    type: udp
    listen: "127.0.0.1:0"
    max_message_size: 1KiB
outputs:
  - name: f
    type: file
    path: $T/out.json
metrics:
  listen: "127.0.0.1:0"
YAML
sr_start_relay "$T/relay.yaml"
TCP=$(sr_port t); UDP=$(sr_port u)
python3 - "$TCP" "$UDP" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
big = b"<13>1 - h app - - - big " + b"A" * 5000
s.sendall(big + b"\n" + b"<13>1 - h app - - - after big\n")
body = b"<13>1 - h app - - - oct " + b"B" * 3000
s.sendall(b"%d %s" % (len(body), body) + b"<13>1 - h app - - - after oct\n")
s.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"<13>1 - h app - - - udp " + b"C" * 3000, ("127.0.0.1", int(sys.argv[2])))
PY
sr_wait_lines "$T/out.json" 5
python3 - "$T/out.json" <<'PY' || sr_fail "truncation"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
msgs = {r["message"][:9]: r for r in recs}
assert len(recs) == 5, len(recs)
for k in ("big AAAAA", "oct BBBBB", "udp CCCCC"):
    r = msgs[k]
    assert len(r["message"]) < 1024, (k, len(r["message"]))
    assert len(r["message"]) > 900, (k, len(r["message"]))
assert "after big" in msgs and "after oct" in msgs, list(msgs)
PY
sleep 0.2
sr_assert_eq 2 "$(sr_metric 'syslog_relay_input_truncated_total{input="t"}')" "tcp truncations"
sr_assert_eq 1 "$(sr_metric 'syslog_relay_input_truncated_total{input="u"}')" "udp truncations"

# max_connections: three stay open, the fourth is closed at once.
python3 - "$TCP" <<'PY' || sr_fail "max_connections"
import socket, sys, time
port = int(sys.argv[1])
keep = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
time.sleep(0.3)
extra = socket.create_connection(("127.0.0.1", port))
extra.settimeout(5)
assert extra.recv(1) == b"", "the connection over the limit was not closed"
for i, s in enumerate(keep):
    s.sendall(b"<13>1 - h app - - - kept %d\n" % i)
for s in keep:
    s.close()
PY
sr_wait_lines "$T/out.json" 8
[ "$(sr_metric 'syslog_relay_input_rejected_connections_total{reason="max_connections"}')" -ge 1 ] ||
    sr_fail "max_connections rejection not counted"
grep -q 'max_connections (3) reached' "$T/relay.log" || sr_fail "no max_connections log line"

# idle_timeout: a silent connection is closed by the relay within a few seconds.
python3 - "$TCP" <<'PY' || sr_fail "idle_timeout"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"<13>1 - h app - - - then silence\n")
s.settimeout(10)
t = time.time()
assert s.recv(1) == b""
assert time.time() - t < 9
PY
sr_wait_lines "$T/out.json" 9
sr_assert_eq 0 "$(sr_metric 'syslog_relay_input_connections{input="t"}')" "open connections"
sr_stop_relay
sr_ok "limits"

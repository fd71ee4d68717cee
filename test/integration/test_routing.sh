#!/usr/bin/env bash
# Routing with outputs that encode on the workers (file) beside one that
# takes records on the main loop (redis), through the real binary: each
# output gets exactly the messages its `inputs` and `min_severity` let
# through, once each and in each connection's order, in its own format;
# enough messages that the workers' chunks fill and are handed over
# mid-read; and the per-output metrics count messages, not chunks.
. "$(dirname "$0")/lib.sh"

RPORT=$(sr_free_port)
sr_start_redis "$RPORT"
rcli() { redis-cli -p "$RPORT" "$@"; }
sr_wait_redis

cat >"$T/relay.yaml" <<YAML
workers: 2
metrics:
  listen: "127.0.0.1:0"
inputs:
  - name: a
    type: tcp
    listen: "127.0.0.1:0"
  - name: b
    type: tcp
    listen: "127.0.0.1:0"
outputs:
  - name: all
    type: file
    path: "$T/all.json"
    format: json
  - name: a_warn
    type: file
    path: "$T/a_warn.raw"
    format: raw
    inputs: [a]
    min_severity: warning
  - name: b_redis
    type: redis
    url: "redis://127.0.0.1:$RPORT/0"
    key: b
    inputs: [b]
YAML
sr_start_relay "$T/relay.yaml"
PA=$(sr_port a)
PB=$(sr_port b)

# Input a: 40,000 messages (about 4 MB, so chunks fill mid-read), severity
# cycling 0-7. Input b: 3,000 messages on its own connection.
NA=40000
NB=3000
python3 - "$PA" "$PB" "$NA" "$NB" "$T" <<'PY'
import socket, sys
pa, pb, na, nb, t = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
def frames(tag, n):
    for i in range(n):
        sev = i % 8
        yield sev, b"<%d>1 2026-11-22T10:00:00Z h app - - - %s %06d sev %d %s" % (
            8 + sev, tag, i, sev, b"p" * (i % 300))
sent_warn = []
sa = socket.create_connection(("127.0.0.1", pa))
sb = socket.create_connection(("127.0.0.1", pb))
buf = []
for sev, f in frames(b"a", na):
    if sev <= 4:
        sent_warn.append(f)
    buf.append(f + b"\n")
    if len(buf) == 500:
        sa.sendall(b"".join(buf))
        buf = []
sa.sendall(b"".join(buf))
for _, f in frames(b"b", nb):
    sb.sendall(b"%d %s" % (len(f), f))
sa.close()
sb.close()
open(t + "/a_warn.expected", "wb").write(b"".join(f + b"\n" for f in sent_warn))
PY
[ $? = 0 ] || sr_fail "the sender failed"
NW=$(wc -l <"$T/a_warn.expected")
sr_wait_lines "$T/all.json" $((NA + NB)) 60
sr_wait_lines "$T/a_warn.raw" "$NW" 30
for i in $(seq 1 300); do
    [ "$(rcli LLEN b)" -ge "$NB" ] && break
    sleep 0.1
done

sr_assert_eq $((NA + NB)) "$(sr_metric 'syslog_relay_output_messages_total{output="all"}')" \
    "messages counted for all"
sr_assert_eq "$NW" "$(sr_metric 'syslog_relay_output_messages_total{output="a_warn"}')" \
    "messages counted for a_warn"
sr_assert_eq "$NB" "$(sr_metric 'syslog_relay_output_messages_total{output="b_redis"}')" \
    "messages counted for b_redis"
for o in all a_warn b_redis; do
    sr_assert_eq 0 "$(sr_metric "syslog_relay_output_queue_messages{output=\"$o\"}")" \
        "queue of $o drained"
done
rcli LRANGE b 0 -1 >"$T/b_redis.json"
sr_stop_relay

python3 - "$T" "$NA" "$NB" <<'PY'
import json, sys
t, na, nb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seen = {"a": [], "b": []}
for line in open(t + "/all.json", encoding="utf-8"):
    r = json.loads(line)
    tag, seq, _, sev = r["message"].split(" ")[:4]
    assert r["input"] == tag, (r["input"], tag)
    assert r["severity"] == int(sev), line
    seen[tag].append(int(seq))
assert seen["a"] == list(range(na)), "input a: not every message once, in order"
assert seen["b"] == list(range(nb)), "input b: not every message once, in order"
b = [json.loads(l) for l in open(t + "/b_redis.json", encoding="utf-8") if l.strip()]
assert [int(r["message"].split(" ")[1]) for r in b] == list(range(nb)), "redis: not b's messages in order"
assert all(r["input"] == "b" for r in b), "redis got a message from input a"
PY
[ $? = 0 ] || sr_fail "the file output 'all' or the redis list holds the wrong messages"
cmp -s "$T/a_warn.expected" "$T/a_warn.raw" ||
    sr_fail "a_warn: not exactly input a's messages of severity warning or above, as sent, in order"
sr_ok "each output got what its filters let through, once and in order; metrics count messages"

#!/usr/bin/env bash
# Redis goes away under load and comes back: every record arrives. A
# sender streams numbered records over TCP for about 4 s; after 1 s the
# redis-server (with an append-only file, so what it acknowledged survives
# its own restart) is stopped, stays down 3 s, and is started again on the
# same port. The relay keeps the records in its queue meanwhile and sends
# again whatever was not acknowledged. Checked: every sequence number is in
# the list; with duplicates removed the list is in order; duplicates (the
# at-least-once case) are counted and reported, not failed.
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null || sr_fail "redis-server is not installed (apt-get install -y redis-server)"

RPORT=$(sr_free_port)
REDIS_PID=
redis_up() {
    redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly yes \
        --appendfsync everysec --dir "$T" --appenddirname aof >>"$T/redis.log" 2>&1 &
    REDIS_PID=$!
    sr_track "$REDIS_PID"
    for i in $(seq 1 100); do
        [ "$(redis-cli -p "$RPORT" PING 2>/dev/null)" = PONG ] && return 0
        sleep 0.05
    done
    sr_fail "redis-server did not start"
}
rcli() { redis-cli -p "$RPORT" "$@"; }
redis_up

cat >"$T/relay.yaml" <<YAML
inputs:
  - name: tcp-in
    type: tcp
    listen: "127.0.0.1:0"
outputs:
  - name: q
    type: redis
    url: "redis://127.0.0.1:$RPORT"
    key: q
    batch_size: 50
metrics:
  listen: "127.0.0.1:0"
YAML
sr_start_relay "$T/relay.yaml"
TCP=$(sr_port tcp-in)
N=12000

# About 3000 records a second for 4 s.
python3 - "$TCP" "$N" <<'PY' &
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
t0 = time.monotonic()
for i in range(n):
    s.sendall(b"<14>1 - h app - - - seq %06d\n" % i)
    if i % 300 == 299:
        ahead = t0 + (i + 1) / 3000.0 - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
s.close()
PY
SENDER=$!
sr_track "$SENDER"

sleep 1
before=$(rcli LLEN q)
[ "$before" -gt 0 ] || sr_fail "nothing reached Redis in the first second"
kill -TERM "$REDIS_PID"
wait "$REDIS_PID" 2>/dev/null
sleep 3
queued=$(sr_metric 'syslog_relay_output_queue_messages{output="q"}')
[ "${queued:-0}" -gt 0 ] || sr_fail "the relay's queue did not hold records while Redis was down"
sr_ok "Redis down: $before records were in the list, the relay holds $queued"
redis_up

wait "$SENDER" || sr_fail "the sender failed"
for i in $(seq 1 300); do
    [ "$(rcli LLEN q)" -ge "$N" ] && [ "$(sr_metric 'syslog_relay_output_queue_messages{output="q"}')" = 0 ] && break
    sleep 0.1
done
rcli LRANGE q 0 -1 >"$T/list.txt"
python3 - "$T/list.txt" "$N" <<'PY' || sr_fail "records lost or out of order"
import json, sys
path, n = sys.argv[1], int(sys.argv[2])
seqs = [int(json.loads(l)["message"].split()[1]) for l in open(path) if l.strip()]
seen, order = set(), []
for q in seqs:
    if q not in seen:
        seen.add(q)
        order.append(q)
missing = sorted(set(range(n)) - seen)
if missing:
    print("missing %d records, first %r" % (len(missing), missing[:10]), file=sys.stderr)
    sys.exit(1)
if order != list(range(n)):
    bad = next(i for i, q in enumerate(order) if q != i)
    print("out of order at %d: %r" % (bad, order[bad - 2:bad + 3]), file=sys.stderr)
    sys.exit(1)
print("all %d records; %d duplicates (at-least-once)" % (n, len(seqs) - n))
PY
grep -q 'connection to .* lost\|cannot connect' "$T/relay.log" || sr_fail "no log line about the outage"
grep -c 'connected to 127.0.0.1' "$T/relay.log" | grep -qv '^1$' || sr_fail "never reconnected"
sr_ok "every record arrived after Redis was restarted"
sr_stop_relay

#!/usr/bin/env bash
# max_length: the relay never pushes the list past the bound. 3000 records
# arrive while nobody reads the list: Redis holds exactly max_length (200)
# entries, never more (LLEN polled while sending), and the rest waits in
# the relay's queue (syslog_relay_output_queue_messages). Then
# redis_drain.lua, as Logstash runs it, drains the list: the relay refills
# it as room appears, the bound still holds, and the drainer gets every
# record once, in order, after which the relay's queue is empty.
. "$(dirname "$0")/lib.sh"

RPORT=$(sr_free_port)
sr_start_redis "$RPORT"
rcli() { redis-cli -p "$RPORT" "$@"; }
sr_wait_redis

MAX=200
N=3000
cat >"$T/relay.yaml" <<YAML
inputs:
  - name: tcp-in
    type: tcp
    listen: "127.0.0.1:0"
outputs:
  - name: m
    type: redis
    url: "redis://127.0.0.1:$RPORT"
    key: m
    max_length: $MAX
    batch_size: 64
    poll_interval: 50ms
metrics:
  listen: "127.0.0.1:0"
YAML
sr_start_relay "$T/relay.yaml"
TCP=$(sr_port tcp-in)

# A watcher samples LLEN every 20 ms and keeps the largest value.
(
    max=0
    while [ ! -f "$T/stop-watch" ]; do
        l=$(rcli LLEN m 2>/dev/null)
        [ -n "$l" ] && [ "$l" -gt "$max" ] && max=$l && echo "$max" >"$T/maxlen"
        sleep 0.02
    done
) &
sr_track $!

python3 - "$TCP" "$N" <<'PY'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
for i in range(n):
    s.sendall(b"<14>1 - h app - - - seq %06d\n" % i)
s.close()
PY

held=0
for i in $(seq 1 100); do
    q=$(sr_metric 'syslog_relay_output_queue_messages{output="m"}')
    if [ "$(rcli LLEN m)" = "$MAX" ] && [ "${q:-0}" -ge $((N - MAX)) ]; then held=1; break; fi
    sleep 0.1
done
[ $held = 1 ] || sr_fail "list at $(rcli LLEN m), queue at $q: expected $MAX and >= $((N - MAX))"
sleep 0.5
sr_assert_eq "$MAX" "$(rcli LLEN m)" "list length while nobody reads"
grep -q 'is at max_length' "$T/relay.log" || sr_fail "no log line about the full list"
sr_ok "list held at $MAX while the relay queued $q records"

# Drain like Logstash: batches of 125, a short sleep when empty.
script=$(cat "$SR_SOURCE/test/integration/redis_drain.lua")
: >"$T/drained.txt"
for i in $(seq 1 600); do
    rcli EVAL "$script" 1 m 124 >"$T/batch.txt"
    if grep -q . "$T/batch.txt"; then
        cat "$T/batch.txt" >>"$T/drained.txt"
    else
        [ "$(wc -l <"$T/drained.txt")" -ge "$N" ] && break
        sleep 0.05
    fi
done
touch "$T/stop-watch"
python3 - "$T/drained.txt" "$N" <<'PY' || sr_fail "the drainer did not get every record once, in order"
import json, sys
seqs = [int(json.loads(l)["message"].split()[1]) for l in open(sys.argv[1]) if l.strip()]
if seqs != list(range(int(sys.argv[2]))):
    print("got %d records; first differences: %r" % (len(seqs),
          [(i, q) for i, q in enumerate(seqs) if q != i][:5]), file=sys.stderr)
    sys.exit(1)
PY
maxseen=$(cat "$T/maxlen")
[ "$maxseen" -le "$MAX" ] || sr_fail "the list reached $maxseen entries, over max_length $MAX"
for i in $(seq 1 50); do
    [ "$(sr_metric 'syslog_relay_output_queue_messages{output="m"}')" = 0 ] && break
    sleep 0.1
done
sr_assert_eq 0 "$(sr_metric 'syslog_relay_output_queue_messages{output="m"}')" "relay queue after draining"
sr_assert_eq 0 "$(rcli LLEN m)" "list after draining"
sr_ok "drained all $N records in order; the list never exceeded $MAX (max seen $maxseen)"
sr_stop_relay

# A list filled exactly by the batches sent so far: the next record waits
# in the queue, and the log still says why.
{ echo "shutdown_timeout: 1s"; sed -e 's/key: m$/key: exact/' -e "s/max_length: $MAX/max_length: 50/" "$T/relay.yaml"; } >"$T/exact.yaml"
sr_start_relay "$T/exact.yaml"
send_seq() { # FROM COUNT
    python3 - "$(sr_port tcp-in)" "$1" "$2" <<'PY'
import socket, sys
port, first, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
s = socket.create_connection(("127.0.0.1", port))
for i in range(first, first + n):
    s.sendall(b"<14>1 - h app - - - seq %06d\n" % i)
s.close()
PY
}
send_seq 0 50
for i in $(seq 1 100); do
    [ "$(rcli LLEN exact)" = 50 ] && break
    sleep 0.05
done
sr_assert_eq 50 "$(rcli LLEN exact)" "list filled exactly"
grep -q 'is at max_length' "$T/relay.log" && sr_fail "said the list is full before anything waited"
send_seq 50 1
for i in $(seq 1 100); do
    grep -q 'list "exact" is at max_length 50' "$T/relay.log" && break
    sleep 0.05
done
grep -q 'list "exact" is at max_length 50' "$T/relay.log" ||
    sr_fail "a record waits for room and the log does not say the list is full"
sr_assert_eq 50 "$(rcli LLEN exact)" "list still at max_length"
sr_stop_relay
sr_ok "a list filled exactly by whole batches: the waiting record is explained in the log"

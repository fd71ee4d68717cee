#!/usr/bin/env bash
# bench_redis.sh: records per second from the relay into a Redis list, with
# and without pipelining. Not a test: it prints a table.
#
#   SR_BIN=build/syslog-relay bash test/bench/bench_redis.sh [N]
#
# For each setting it starts a fresh redis-server on a loopback port with
# writes paused (CLIENT PAUSE ... WRITE), a relay whose TCP input feeds one
# redis output, preloads N records into the relay (they queue, as RPUSH
# does not answer), then unpauses Redis and times how long it takes until
# LLEN reaches N. So the figure is the output's own rate (encoding, RESP,
# round trips), not the sender's or the parser's.
set -u
SR_BIN=${SR_BIN:?SR_BIN must name the syslog-relay binary}
N=${1:-200000}
T=$(mktemp -d /tmp/sr-bench.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

run() { # LABEL BATCH_SIZE PIPELINE CODEC
    local label=$1 bs=$2 pl=$3 codec=$4 rport rpid relay tcp t0 t1 i
    rport=$(free_port)
    redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$T" \
        >"$T/redis.log" 2>&1 &
    rpid=$!
    PIDS+=("$rpid")
    for i in $(seq 1 100); do [ "$(redis-cli -p "$rport" PING 2>/dev/null)" = PONG ] && break; sleep 0.05; done
    redis-cli -p "$rport" CLIENT PAUSE 600000 WRITE >/dev/null
    cat >"$T/relay.yaml" <<YAML
inputs:
  - name: t
    type: tcp
    listen: "127.0.0.1:0"
outputs:
  - name: r
    type: redis
    url: "redis://127.0.0.1:$rport"
    key: bench
    codec: $codec
    batch_size: $bs
    pipeline: $pl
    reply_timeout: 10m
    buffer: { max_memory: 1GiB }
YAML
    "$SR_BIN" -c "$T/relay.yaml" 2>"$T/relay.log" &
    relay=$!
    PIDS+=("$relay")
    for i in $(seq 1 400); do grep -q ' started$' "$T/relay.log" && break; sleep 0.05; done
    tcp=$(sed -n 's/.* "t" (tcp) listening on .*:\([0-9]*\)$/\1/p' "$T/relay.log")
    python3 - "$tcp" "$N" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
buf = b"".join(b"<14>1 2024-05-06T07:08:09.123456Z host app 1234 ID7 - benchmark record %08d "
               b"with some padding to look like a log line\n" % i for i in range(int(sys.argv[2])))
s.sendall(buf)
s.close()
PY
    sleep 2 # let the relay parse and queue everything
    t0=$(date +%s.%N)
    redis-cli -p "$rport" CLIENT UNPAUSE >/dev/null
    while :; do
        l=$(redis-cli -p "$rport" LLEN bench 2>/dev/null)
        [ -n "$l" ] && [ "$l" -ge "$N" ] && break
        sleep 0.005
    done
    t1=$(date +%s.%N)
    printf '%-34s %10.0f records/s\n' "$label" "$(echo "$N / ($t1 - $t0)" | bc -l)"
    kill "$relay" "$rpid"
    wait "$relay" "$rpid" 2>/dev/null
}

echo "N=$N records, one redis output, loopback"
run "no pipelining, 1 record/RPUSH" 1 1 json
run "no pipelining, 500 records/RPUSH" 500 1 json
run "pipeline 8, 1 record/RPUSH" 1 8 json
run "pipeline 8, 500 records/RPUSH" 500 8 json
run "pipeline 8, 500/RPUSH, msgpack" 500 8 msgpack
run "pipeline 8, 500/RPUSH, ecs" 500 8 ecs

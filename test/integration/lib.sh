# lib.sh: helpers for integration tests (sourced, never run).
#
# Each test starts the real binary ($SR_BIN) with its own config in a
# fresh temp dir, on port 0 where it can: the relay logs one line per
# bound listener,
#     ... info input "NAME" (tcp) listening on 127.0.0.1:PORT
# and "... info syslog-relay X.Y.Z started" once everything is up.
# Every process a test starts is recorded and ended by PID on exit.
set -u
SR_BIN=${SR_BIN:?SR_BIN must name the syslog-relay binary}
SR_SOURCE=${SR_SOURCE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
T=$(mktemp -d /tmp/sr-test.XXXXXX)
SR_PIDS=()
SR_PID=
SR_FAILED=0

sr_cleanup() {
    local p
    for p in "${SR_PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    for p in "${SR_PIDS[@]}"; do
        wait "$p" 2>/dev/null
    done
    if [ "$SR_FAILED" = 0 ] && [ -z "${SR_KEEP:-}" ]; then
        rm -rf "$T"
    else
        echo "(test files kept in $T)" >&2
    fi
}
trap sr_cleanup EXIT

sr_fail() {
    SR_FAILED=1
    echo "FAIL: $*" >&2
    if [ -f "$T/relay.log" ]; then
        echo "--- relay log (last 40 lines) ---" >&2
        tail -n 40 "$T/relay.log" >&2
    fi
    exit 1
}

sr_ok() { echo "ok: $*"; }

sr_assert_eq() { # expected actual what
    [ "$1" = "$2" ] || sr_fail "$3: expected '$1', got '$2'"
}

# Remember a background process so cleanup ends it.
sr_track() { SR_PIDS+=("$1"); }

# sr_stalled_fifo PATH: a FIFO whose reader never reads, so a relay's
# open succeeds and its writes stall once the pipe is full. The holder is
# a process of its own (tracked), so cleanup unblocks the relay whatever
# happens; `cat PATH` later drains it.
sr_stalled_fifo() {
    mkfifo "$1"
    sleep 300 <>"$1" &
    sr_track $!
}

# sr_send_seq PORT N: in the background, N LF-framed RFC 5424 lines
# "seq %08d" of about 100 bytes over one TCP connection. Sets SR_SENDER
# to its PID (tracked).
sr_send_seq() {
    python3 - "$1" "$2" <<'PY' &
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
pad = b"x" * 60
for i in range(int(sys.argv[2])):
    s.sendall(b"<13>1 - h app - - - seq %08d %s\n" % (i, pad))
s.close()
PY
    SR_SENDER=$!
    sr_track "$SR_SENDER"
}

# sr_start_relay CONFIG [LOG]: start the relay, wait until it says started.
sr_start_relay() {
    local cfg=$1 log=${2:-$T/relay.log} i
    : >"$log"
    "$SR_BIN" -c "$cfg" >"$T/relay.out" 2>"$log" &
    SR_PID=$!
    sr_track "$SR_PID"
    for i in $(seq 1 200); do
        if grep -q ' started$' "$log"; then
            return 0
        fi
        if ! kill -0 "$SR_PID" 2>/dev/null; then
            sr_fail "relay exited during start-up"
        fi
        sleep 0.05
    done
    sr_fail "relay did not start within 10 s"
}

# sr_port NAME [LOG]: the port input NAME bound (or the metrics listener: NAME=metrics).
sr_port() {
    local log=${2:-$T/relay.log}
    sed -n "s/.* \"$1\" ([a-z]*) listening on .*:\([0-9]*\)$/\1/p" "$log" | head -n 1
}

# sr_stop_relay: SIGTERM, wait (at most 30 s), expect exit status 0.
sr_stop_relay() {
    local i st
    kill -TERM "$SR_PID" 2>/dev/null
    for i in $(seq 1 300); do
        kill -0 "$SR_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$SR_PID" 2>/dev/null; then
        kill -KILL "$SR_PID"
        sr_fail "relay did not stop within 30 s of SIGTERM"
    fi
    wait "$SR_PID"
    st=$?
    [ "$st" = 0 ] || sr_fail "relay exited with status $st"
}

# sr_free_port: a TCP port free on 127.0.0.1 right now.
sr_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# sr_start_redis PORT [ARGS...]: a redis-server on 127.0.0.1:PORT with
# no persistence, files in $T (log: $T/redis.log), plus ARGS; tracked.
sr_start_redis() {
    command -v redis-server >/dev/null ||
        sr_fail "redis-server is not installed (apt-get install -y redis-server)"
    redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no --dir "$T" "${@:2}" \
        >"$T/redis.log" 2>&1 &
    sr_track $!
}

# sr_wait_redis: wait (at most 5 s) until the caller's rcli answers PING.
sr_wait_redis() {
    local i
    for i in $(seq 1 100); do
        [ "$(rcli PING 2>/dev/null)" = PONG ] && return 0
        sleep 0.05
    done
    sr_fail "redis-server did not start (see $T/redis.log)"
}

# sr_wait_lines FILE N [SECONDS]: wait until FILE has at least N lines.
sr_wait_lines() {
    local f=$1 n=$2 secs=${3:-20} i have
    for i in $(seq 1 $((secs * 10))); do
        have=$( [ -f "$f" ] && wc -l <"$f" || echo 0)
        [ "$have" -ge "$n" ] && return 0
        sleep 0.1
    done
    have=$( [ -f "$f" ] && wc -l <"$f" || echo 0)
    sr_fail "$f has $have lines, expected $n within ${secs}s"
}

# sr_metric NAME_WITH_LABELS: a value from /metrics (needs metrics.listen).
sr_metric() {
    local port
    port=$(sr_port metrics)
    curl -s "http://127.0.0.1:$port/metrics" | awk -v k="$1" '$1 == k {print $2}'
}

# sr_wait_metric NAME_WITH_LABELS VALUE [SECONDS]: wait (default 5 s) until
# the metric reads VALUE; prints what it read last, for sr_assert_eq.
sr_wait_metric() {
    local v= i
    for i in $(seq 1 $((${3:-5} * 10))); do
        v=$(sr_metric "$1")
        [ "$v" = "$2" ] && break
        sleep 0.1
    done
    echo "$v"
}

# sr_certs DIR: a CA, a server cert for localhost/127.0.0.1, a client cert
# signed by the CA, and a second CA nobody trusts, made with openssl now.
sr_certs() {
    local d=$1
    mkdir -p "$d"
    (
        cd "$d" || exit 1
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 \
            -subj "/CN=sr-test-ca" 2>/dev/null
        openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.crt \
            -days 2 -subj "/CN=sr-other-ca" 2>/dev/null
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n' >san.ext
        openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
            -subj "/CN=localhost" 2>/dev/null
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
            -out server.crt -days 2 -extfile san.ext 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr \
            -subj "/CN=sr-client" 2>/dev/null
        openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
            -out client.crt -days 2 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -keyout rogue.key -out rogue.csr \
            -subj "/CN=sr-rogue" 2>/dev/null
        openssl x509 -req -in rogue.csr -CA other-ca.crt -CAkey other-ca.key \
            -CAcreateserial -out rogue.crt -days 2 2>/dev/null
    ) || sr_fail "could not make certificates"
}

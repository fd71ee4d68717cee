#!/usr/bin/env bash
# Connections are spread over the input workers by count, whichever
# worker's SO_REUSEPORT socket the kernel picked: 12 long-lived senders
# (8 TCP, 4 TLS, opened one after another) on 2 workers end up 6 and 6,
# every message arrives once, and the TLS handshake and framing work on
# connections a worker adopted from another. Without the hand-over the
# kernel's hash splits them evenly in about 1 run of 4. Then 16
# connections made at once end up 8 and 8.
. "$(dirname "$0")/lib.sh"
C=$T/certs
sr_certs "$C"
cat >"$T/relay.yaml" <<YAML
log_level: debug
workers: 2
inputs:
  - name: t
    type: tcp
    listen: "127.0.0.1:0"
  - name: s
    type: tls
    listen: "127.0.0.1:0"
    cert_file: $C/server.crt
    key_file: $C/server.key
outputs:
  - name: f
    type: file
    path: $T/out.json
YAML
sr_start_relay "$T/relay.yaml"
TCP=$(sr_port t); TLS=$(sr_port s)

# Open each connection, send one message, and wait for it to be written
# before opening the next, so that each accept sees the counts settled.
# Then a second message on every connection, and close them all.
timeout 60 python3 - "$TCP" "$TLS" "$C/ca.crt" "$T/out.json" <<'PY' || sr_fail "senders failed"
import os, socket, ssl, sys, time
tcp, tls, ca, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)

def lines():
    try:
        with open(out, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0

socks = []
for i in range(12):
    s = socket.create_connection(("127.0.0.1", tls if i % 3 == 2 else tcp))
    if i % 3 == 2:
        s = ctx.wrap_socket(s, server_hostname="localhost")
    socks.append(s)
    s.sendall(b"<13>1 - h app - - - conn %d first\n" % i)
    deadline = time.monotonic() + 10
    while lines() < i + 1:
        if time.monotonic() > deadline:
            sys.exit("message %d not written" % i)
        time.sleep(0.02)
for i, s in enumerate(socks):
    s.sendall(b"<13>1 - h app - - - conn %d second\n" % i)
for s in socks:
    s.close()
PY
sr_wait_lines "$T/out.json" 24
python3 - "$T/out.json" <<'PY' || sr_fail "messages"
import json, sys
msgs = sorted(json.loads(l)["message"] for l in open(sys.argv[1]))
want = sorted("conn %d %s" % (i, w) for i in range(12) for w in ("first", "second"))
assert msgs == want, msgs
PY
sr_ok "24 messages from 12 connections arrived once each"

per() { grep -c "connection from 127.0.0.1:[0-9]* on worker $1\$" "$T/relay.log"; }
sr_assert_eq 6 "$(per 0)" "connections on worker 0"
sr_assert_eq 6 "$(per 1)" "connections on worker 1"
sr_assert_eq 8 "$(grep -c 'input "t": connection from .* on worker' "$T/relay.log")" "TCP connections"
sr_assert_eq 4 "$(grep -c 'input "s": connection from .* on worker' "$T/relay.log")" "TLS connections"
sr_ok "12 connections spread 6 and 6 over 2 workers"

# A burst: 16 connections made while the relay is stopped (SIGSTOP), so
# that each worker finds its share of the kernel's split waiting and
# accepts it in one go. A socket handed over has to leave its first
# worker's count at once: counted until its handle closed, every accept
# of the burst saw the other worker as the less loaded one (4
# connections from loggen ended up 4:0 or 3:1).
timeout 60 python3 - "$TCP" "$T/out.json" "$SR_PID" <<'PY' || sr_fail "burst senders failed"
import os, signal, socket, sys, time
tcp, out, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
os.kill(pid, signal.SIGSTOP)
try:
    socks = [socket.create_connection(("127.0.0.1", tcp)) for _ in range(16)]
    for i, s in enumerate(socks):
        s.sendall(b"<13>1 - h app - - - burst %d\n" % i)
finally:
    os.kill(pid, signal.SIGCONT)
deadline = time.monotonic() + 10
while open(out, "rb").read().count(b"\n") < 32:
    if time.monotonic() > deadline:
        sys.exit("burst messages not written")
    time.sleep(0.02)
for s in socks:
    s.close()
PY
# Two workers accepting at the same moment may each read the other's count
# just before it changes, so one connection either way is allowed. With
# the fix every run here gave 8 and 8; before it, 4 runs of 6 gave worker
# 0 7, 9, 10 and 12 (the last two fail this check).
b0=$(($(per 0) - 6)); b1=$(($(per 1) - 6))
sr_assert_eq 16 "$((b0 + b1))" "burst connections"
[ "$b0" -ge 7 ] && [ "$b0" -le 9 ] || sr_fail "burst spread $b0 and $b1, not 8 and 8 (one either way)"
sr_ok "16 connections made at once spread $b0 and $b1"
sr_stop_relay

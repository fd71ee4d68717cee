#!/usr/bin/env bash
# SIGTERM with an output whose write never returns (a FIFO nobody reads,
# like a hung file system): the relay still exits, after shutdown_timeout
# plus the stop grace, with status 1 and a line saying why; the records it
# could not deliver are reported.
. "$(dirname "$0")/lib.sh"

mkfifo "$T/fifo"
sleep 300 <>"$T/fifo" &
sr_track $!
cat >"$T/relay.yaml" <<YAML
shutdown_timeout: 1s
inputs:
  - name: t
    type: tcp
    listen: "127.0.0.1:0"
outputs:
  - name: stuck
    type: file
    path: $T/fifo
YAML
sr_start_relay "$T/relay.yaml"
python3 - "$(sr_port t)" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
for i in range(5000):
    s.sendall(b"<13>1 - h app - - - record %d %s\n" % (i, b"y" * 100))
s.close()
PY
sleep 0.5
kill -TERM "$SR_PID"
for i in $(seq 1 200); do kill -0 "$SR_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SR_PID" 2>/dev/null && sr_fail "relay still running 20 s after SIGTERM"
wait "$SR_PID"
sr_assert_eq 1 "$?" "exit status after a forced stop"
grep -q 'did not stop' "$T/relay.log" || sr_fail "no line saying why"
grep -Eq 'messages (in flight )?not delivered' "$T/relay.log" ||
    sr_fail "undelivered records not reported"
sr_ok "a stuck output cannot keep the relay from exiting"

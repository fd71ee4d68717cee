#!/usr/bin/env bash
# Signals: SIGUSR1 reopens output files (logrotate), SIGHUP with a broken
# configuration keeps the running one, SIGTERM delivers everything read and
# exits 0, /health says 200 then the process ends. Also: an output with
# buffer.disk_path (not built yet) gets a warning at start that says so.
. "$(dirname "$0")/lib.sh"
R="python3 $SR_SOURCE/test/integration/records.py"

cat >"$T/relay.yaml" <<YAML
inputs:
  - name: tcp-in
    type: tcp
    listen: "127.0.0.1:0"
outputs:
  - name: archive
    type: file
    path: $T/archive.log
    format: rfc5424
  - name: json
    type: file
    path: $T/out.json
    buffer: {disk_path: "$T/spool"}
metrics:
  listen: "127.0.0.1:0"
YAML
sr_start_relay "$T/relay.yaml"
TCP=$(sr_port tcp-in); MP=$(sr_port metrics)
sr_assert_eq 1 "$(grep -c 'buffer.disk_path .* is not used' "$T/relay.log")" "disk_path warnings"
grep -q "output file \"json\": buffer.disk_path $T/spool is not used: this version buffers in memory only" \
    "$T/relay.log" || sr_fail "no disk_path warning for output json"
sr_assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MP/health")" "/health while running"

send() { # n prefix
    python3 - "$TCP" "$1" "$2" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
for i in range(int(sys.argv[2])):
    s.sendall(b"<14>1 2026-11-21T10:00:00Z h app - - - %s %d\n" % (sys.argv[3].encode(), i))
s.close()
PY
}
send 100 before
sr_wait_lines "$T/archive.log" 100
mv "$T/archive.log" "$T/archive.log.1"
kill -USR1 "$SR_PID"
for i in $(seq 1 50); do grep -q 'reopened' "$T/relay.log" && break; sleep 0.1; done
send 50 after
sr_wait_lines "$T/archive.log" 50
sr_assert_eq 100 "$(wc -l <"$T/archive.log.1")" "lines in the rotated file"
sr_assert_eq 50 "$(wc -l <"$T/archive.log")" "lines in the reopened file"
grep -q ' before 99$' "$T/archive.log.1" || sr_fail "rotated file lacks the last record"
head -n 1 "$T/archive.log" | grep -q '^<14>1 2026-11-21T10:00:00Z h app - - - after 0$' ||
    sr_fail "rfc5424 line: $(head -n 1 "$T/archive.log")"

# SIGHUP with a broken file: rejected, still running, still relaying.
cp "$T/relay.yaml" "$T/relay.yaml.good"
echo "inputs: [ {type: tcp, listen: nowhere} ]" >"$T/relay.yaml"
kill -HUP "$SR_PID"
for i in $(seq 1 50); do grep -q 'reload rejected' "$T/relay.log" && break; sleep 0.1; done
grep -q 'reload rejected' "$T/relay.log" || sr_fail "SIGHUP with a bad config was not rejected"
kill -0 "$SR_PID" || sr_fail "relay died on SIGHUP"
send 10 afterhup
sr_wait_lines "$T/out.json" 160

# SIGTERM as soon as a burst has been read (queued, not yet all written):
# everything read is written, exit 0.
send 2000 burst
for i in $(seq 1 100); do
    [ "$(sr_metric 'syslog_relay_input_messages_total{input="tcp-in"}')" = 2160 ] && break
    sleep 0.05
done
sr_stop_relay
sr_assert_eq 2160 "$($R "$T/out.json" count)" "records after SIGTERM"
grep -q 'syslog-relay stopped' "$T/relay.log" || sr_fail "no clean stop line"
sr_ok "SIGUSR1 reopen, SIGHUP rejection, SIGTERM drain"

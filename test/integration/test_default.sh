#!/usr/bin/env bash
# The embedded default configuration (no -c): UDP and TCP on 0.0.0.0:5514,
# JSON records on standard output.
. "$(dirname "$0")/lib.sh"

if python3 -c 'import socket; s=socket.socket(); s.bind(("0.0.0.0",5514))' 2>/dev/null &&
   python3 -c 'import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("0.0.0.0",5514))' 2>/dev/null; then
    :
else
    echo "skipped: port 5514 is in use on this machine"
    exit 0
fi
"$SR_BIN" >"$T/stdout" 2>"$T/relay.log" &
SR_PID=$!
sr_track "$SR_PID"
for i in $(seq 1 100); do grep -q ' started$' "$T/relay.log" && break; sleep 0.05; done
grep -q 'listening on 0.0.0.0:5514' "$T/relay.log" || sr_fail "default listeners not on 0.0.0.0:5514"
[ "$(grep -c 'listening on 0.0.0.0:5514' "$T/relay.log")" = 2 ] || sr_fail "expected udp and tcp on 5514"
logger --rfc5424 -d -n 127.0.0.1 -P 5514 -t defudp "default over udp"
logger --rfc3164 -T -n 127.0.0.1 -P 5514 -t deftcp "default over tcp"
sr_wait_lines "$T/stdout" 2
python3 "$SR_SOURCE/test/integration/records.py" "$T/stdout" check || sr_fail "stdout is not JSON records"
python3 "$SR_SOURCE/test/integration/records.py" "$T/stdout" find "default over udp" app_name | grep -qx '"defudp"' ||
    sr_fail "udp record"
python3 "$SR_SOURCE/test/integration/records.py" "$T/stdout" find "default over tcp" input | grep -qx '"tcp-5514"' ||
    sr_fail "tcp record input name"
sr_stop_relay
sr_ok "embedded default"

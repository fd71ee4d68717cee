#!/usr/bin/env bash
# Datadog output, transport syslog-tls, against dd_intake.py's TLS intake
# (a CA made now; the intake checks every line byte for byte).
#  1. RFC 5424 and RFC 3164 input arrive as "<KEY> <RFC 5424 line>\n",
#     converted and intact, with service and [metas ...] (quotes, brackets
#     and backslashes in source and tags escaped).
#  2. An intake whose certificate the configured trust does not cover
#     gets nothing; the relay logs the verify failure and keeps retrying.
#  3. An intake that closes the connection between batches loses nothing:
#     the relay sees the close and reconnects for the next batch.
#  4. A message over max_message_size arrives cut, ending in ...[TRUNCATED],
#     and is counted once in syslog_relay_output_truncated_total.
. "$(dirname "$0")/lib.sh"
KEY=0123456789abcdef0123456789abcdef
INTAKE="python3 $SR_SOURCE/test/integration/dd_intake.py"
sr_certs "$T/certs"

start_intake() { # NAME CERT [extra args]: start an intake, wait for its port
    local name=$1 cert=$2 i
    shift 2
    $INTAKE tls --cert "$T/certs/$cert.crt" --key "$T/certs/$cert.key" --api-key "$KEY" \
        --port-file "$T/$name.port" --out "$T/$name" "$@" 2>"$T/$name.err" &
    sr_track $!
    for i in $(seq 1 100); do
        [ -s "$T/$name.port" ] && return 0
        sleep 0.05
    done
    sr_fail "intake $name did not start: $(cat "$T/$name.err")"
}
start_intake good server
start_intake rogue rogue
start_intake closing server --close-after 5

cat >"$T/relay.yaml" <<YAML
log_level: debug
shutdown_timeout: 3s
inputs:
  - name: tcp-in
    type: tcp
    listen: "127.0.0.1:0"
  - name: closing-in
    type: tcp
    listen: "127.0.0.1:0"
outputs:
  - name: dd
    type: datadog
    api_key: "$KEY"
    host: localhost
    port: $(cat "$T/good.port")
    ca_file: $T/certs/ca.crt
    inputs: [tcp-in]
    service: svc
    source: 'my "src" [x]\\'
    tags: ['env:te"st', 'a]b']
    max_message_size: 1024
  - name: dd-rogue
    type: datadog
    inputs: [tcp-in]
    api_key: "$KEY"
    host: localhost
    port: $(cat "$T/rogue.port")
    ca_file: $T/certs/ca.crt
  - name: dd-closing
    type: datadog
    api_key: "$KEY"
    host: 127.0.0.1
    port: $(cat "$T/closing.port")
    ca_file: $T/certs/ca.crt
    inputs: [closing-in]
metrics:
  listen: "127.0.0.1:0"
YAML
sr_start_relay "$T/relay.yaml"
TCP=$(sr_port tcp-in)
[ -n "$TCP" ] || sr_fail "tcp port not logged"

send() { # frames on one TCP connection, LF-framed
    send_to "$TCP" "$@"
}
send_to() { # PORT frames...
    python3 - "$@" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
for m in sys.argv[2:]:
    s.sendall(m.encode() + b"\n")
s.close()
PY
}

# ---- 1. conversion and escaping ------------------------------------------
METAS='[metas ddsource="my \"src\" [x\]\\" ddtags="env:te\"st,a\]b"]'
send '<165>1 2026-11-21T19:22:07.581Z web01 nginx 42 ID7 [ex@1 k="v\"q\]"] hello 5424' \
    '<13>Nov 21 22:42:19 host3 app3[77]: hello 3164' \
    '<14>1 2026-11-21T19:22:08Z web02 - - - - no app name' \
    '<166>1 2026-11-21T19:22:09.5+02:00 web03 app - - - utf8 é ✓ ok'
logger --rfc5424 -T -n 127.0.0.1 -P "$TCP" -t lg5424 -p local4.err "logger 5424 line"
logger --rfc3164 -T -n 127.0.0.1 -P "$TCP" -t lg3164 -p user.info "logger 3164 line"
sr_wait_lines "$T/good/accepted" 6
sleep 0.3
sr_assert_eq 6 "$(wc -l <"$T/good/accepted")" "lines accepted by the good intake"
sr_assert_eq 0 "$(wc -l <"$T/good/rejected")" "lines rejected: $(head -3 "$T/good/rejected")"

has() { # exact line expected in accepted
    grep -qxF -- "$1" "$T/good/accepted" || {
        echo "--- accepted ---" >&2; cat "$T/good/accepted" >&2
        sr_fail "line not delivered exactly: $1"
    }
}
has "<165>1 2026-11-21T19:22:07.581Z web01 nginx 42 ID7 [ex@1 k=\"v\\\"q\\]\"]$METAS hello 5424"
has "<14>1 2026-11-21T19:22:08Z web02 svc - - $METAS no app name"
has "<166>1 2026-11-21T19:22:09.5+02:00 web03 app - - $METAS utf8 é ✓ ok"
# RFC 3164: the year and zone are completed; the rest is exact.
grep -Eq '^<13>1 2026-11-21T22:42:19(Z|\+00:00|\.0+Z) host3 app3 77 - '"$(printf '%s' "$METAS" |
    sed 's/[][\\.*^$]/\\&/g')"' hello 3164$' "$T/good/accepted" ||
    sr_fail "3164 line not converted: $(grep 'hello 3164' "$T/good/accepted")"
grep -Eq '^<163>1 [0-9T:.+Z-]+ [^ ]+ lg5424 [^ ]+ - \[timeQuality[^]]*\]'"$(printf '%s' "$METAS" |
    sed 's/[][\\.*^$]/\\&/g')"' logger 5424 line$' "$T/good/accepted" ||
    sr_fail "logger 5424 line: $(grep 'logger 5424' "$T/good/accepted")"
grep -Eq '^<14>1 2[0-9T:.+Z-]+ [^ ]+ lg3164 - - .* logger 3164 line$' "$T/good/accepted" ||
    sr_fail "logger 3164 line: $(grep 'logger 3164' "$T/good/accepted")"
sr_ok "RFC 5424 and 3164 converted, metas escaped, every line valid"

# ---- 2. untrusted certificate: nothing delivered ---------------------------
for i in $(seq 1 100); do
    grep -q "dd-rogue.*certificate verify failed" "$T/relay.log" && break
    sleep 0.1
done
grep -q "dd-rogue.*certificate verify failed" "$T/relay.log" ||
    sr_fail "no verify failure logged for dd-rogue"
sr_assert_eq 0 "$(wc -l <"$T/rogue/accepted")" "lines the rogue intake got"
grep -q '^connect' "$T/rogue/events" && sr_fail "a TLS session with the rogue intake completed"
grep -q "$KEY" "$T/relay.log" && sr_fail "the API key appears in the relay log"
sr_ok "untrusted intake got nothing; verify failure logged"

# ---- 3. intake closes between batches: nothing lost ------------------------
# dd-closing's intake closes each connection after 5 lines, at a line
# boundary; each round sends 5 records and waits for that close, so the
# next round meets a connection the intake has closed (as Datadog's idle
# timeout does). The relay must see the close and reconnect, losing nothing.
CLOSING=$(sr_port closing-in)
for round in 1 2 3 4; do
    msgs=()
    for j in 1 2 3 4 5; do
        msgs+=("<13>1 2026-11-21T19:22:10Z h a - - - round $round msg $j")
    done
    send_to "$CLOSING" "${msgs[@]}"
    sr_wait_lines "$T/closing/accepted" $((5 * round))
    for i in $(seq 1 100); do
        [ "$(grep -c '^closed' "$T/closing/events")" -ge "$round" ] && break
        sleep 0.1
    done
    sr_assert_eq "$round" "$(grep -c '^closed' "$T/closing/events")" "closes by the intake"
    sleep 0.2
done
sleep 0.3
sr_assert_eq 20 "$(wc -l <"$T/closing/accepted")" "lines the closing intake accepted"
for round in 1 2 3 4; do
    for j in 1 2 3 4 5; do
        sr_assert_eq 1 "$(grep -c " round $round msg $j\$" "$T/closing/accepted")" \
            "round $round msg $j delivered once"
    done
done
sr_assert_eq 0 "$(wc -l <"$T/closing/rejected")" "closing intake rejected lines"
sr_assert_eq 4 "$(grep -c '^connect' "$T/closing/events")" "connections to the closing intake"
sr_ok "connection closed by the intake between batches: nothing lost, reconnected"

sr_assert_eq 6 "$(wc -l <"$T/good/accepted")" "lines accepted by the good intake"
sr_assert_eq 6 "$(sr_metric 'syslog_relay_output_messages_total{output="dd"}')" "dd delivered"
sr_assert_eq 1 "$(grep -c '^connect' "$T/good/events")" "connections to the good intake"
sr_metric 'syslog_relay_output_truncated_total{output="dd"}' | grep -qx 0 ||
    sr_fail "truncated metric missing"

# ---- 4. a message over max_message_size: cut, marked, counted once ---------
send "<14>1 2026-11-21T19:22:10Z web04 app - - - long $(printf 'y%.0s' $(seq 1 3000)) end"
sr_wait_lines "$T/good/accepted" 7
sleep 0.3
line=$(grep ' long y' "$T/good/accepted")
[ -n "$line" ] || sr_fail "the long message was not delivered"
case "$line" in
*'...[TRUNCATED]') ;;
*) sr_fail "the long message does not end with ...[TRUNCATED]: ${line: -40}" ;;
esac
body=${line#"$KEY "}
[ "${#body}" -le 1024 ] || sr_fail "cut line is ${#body} bytes, over max_message_size 1024"
[ "${#body}" -ge 1000 ] || sr_fail "cut line is only ${#body} bytes"
sr_assert_eq 0 "$(wc -l <"$T/good/rejected")" "lines rejected after the cut one"
sr_assert_eq 1 "$(sr_metric 'syslog_relay_output_truncated_total{output="dd"}')" \
    "truncated records counted"
sr_ok "a long message cut to max_message_size, marked and counted once"
sr_stop_relay
sr_ok "datadog syslog-tls"

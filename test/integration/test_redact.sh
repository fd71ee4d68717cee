#!/usr/bin/env bash
# Redaction end to end: one relay with udp, tcp and tls inputs, the whole
# built-in library plus a custom rule with a capture, and every output:
# four files (json, rfc5424, rfc3164, raw), a Redis list (real
# redis-server) and Datadog's TLS syslog intake (dd_intake.py). Messages
# carry secrets in MSG and in structured data (logger, hand-made frames,
# openssl s_client, unparsable raw lines). Asserts: no secret byte
# sequence appears in any output or in the relay's own log (at debug),
# the replacements do, JSON structured data holds the masked values, and
# /metrics counts what each rule replaced (exactly, for the custom rule).
. "$(dirname "$0")/lib.sh"
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
C=$T/certs
sr_certs "$C"
KEY=0123456789abcdef0123456789abcdef

JWT='eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqb2UifQ.c2lnbmF0dXJlLXNlY3JldA'
AWS_SECRET='wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
# Substrings that must never appear in any output (parts too, in case a
# writer escapes a character such as '/').
SECRETS=(hunter2 Sup3rS3cret 4111111111111111 '4111 1111 1111 1111' 5555555555554444
    alice.smith 203.0.113.77 'dead:beef' AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI EXAMPLEKEY
    abc123.tok-456 eyJhbGciOiJIUzI1NiJ9 c2lnbmF0dXJl TKT-123456 'xyz789!')

# --- sinks: redis-server and the Datadog TLS intake ---------------------
HAVE_REDIS=0
if command -v redis-server >/dev/null; then
    HAVE_REDIS=1
    RPORT=$(sr_free_port)
    redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$T" \
        >"$T/redis.log" 2>&1 &
    sr_track $!
    for i in $(seq 1 100); do
        [ "$(redis-cli -p "$RPORT" PING 2>/dev/null)" = PONG ] && break
        sleep 0.05
    done
    [ "$(redis-cli -p "$RPORT" PING)" = PONG ] || sr_fail "redis-server did not start"
else
    echo "skipped: redis output (redis-server is not installed)"
fi
$PY "$SR_SOURCE/test/integration/dd_intake.py" tls --cert "$C/server.crt" --key "$C/server.key" \
    --api-key "$KEY" --port-file "$T/dd.port" --out "$T/dd" 2>"$T/dd.err" &
sr_track $!
for i in $(seq 1 100); do
    [ -s "$T/dd.port" ] && break
    sleep 0.05
done
[ -s "$T/dd.port" ] || sr_fail "intake did not start: $(cat "$T/dd.err")"

REDIS_OUT=
if [ "$HAVE_REDIS" = 1 ]; then
    REDIS_OUT="  - name: queue
    type: redis
    url: redis://127.0.0.1:$RPORT/0
    key: logstash"
fi

cat >"$T/relay.yaml" <<YAML
log_level: debug
workers: 2
inputs:
  - name: udp-in
    type: udp
    listen: "127.0.0.1:0"
  - name: tcp-in
    type: tcp
    listen: "127.0.0.1:0"
  - name: tls-in
    type: tls
    listen: "127.0.0.1:0"
    cert_file: $C/server.crt
    key_file: $C/server.key
redact:
  - builtin: credit_card
  - builtin: email
  - builtin: ipv4
    fields: [message, structured_data, hostname]
  - builtin: ipv6
  - builtin: aws_access_key_id
  - builtin: aws_secret_access_key
  - builtin: bearer_token
  - builtin: jwt
  - builtin: password_kv
  - name: ticket
    pattern: '(TKT-)\d{6}'
    replacement: '\$1******'
outputs:
  - name: json
    type: file
    path: $T/out.json
    format: json
  - name: f5424
    type: file
    path: $T/out.5424
    format: rfc5424
  - name: f3164
    type: file
    path: $T/out.3164
    format: rfc3164
  - name: raw
    type: file
    path: $T/out.raw
    format: raw
  - name: dd
    type: datadog
    api_key: "$KEY"
    host: localhost
    port: $(cat "$T/dd.port")
    ca_file: $C/ca.crt
$REDIS_OUT
metrics:
  listen: "127.0.0.1:0"
YAML
sr_start_relay "$T/relay.yaml"
UDP=$(sr_port udp-in); TCP=$(sr_port tcp-in); TLS=$(sr_port tls-in)
[ -n "$UDP" ] && [ -n "$TCP" ] && [ -n "$TLS" ] || sr_fail "ports not logged"

# --- udp: logger, RFC 5424 with SD, and RFC 3164 -----------------------
logger --rfc5424 -d -n 127.0.0.1 -P "$UDP" -t udpapp --sd-id auth@32473 \
    --sd-param 'password="Sup3rS3cret"' --sd-param 'note="mail alice.smith@example.com"' \
    "m1 login password=hunter2 card 4111111111111111 from 203.0.113.77"
logger --rfc3164 -d -n 127.0.0.1 -P "$UDP" -t udpapp3 \
    "m2 key AKIAIOSFODNN7EXAMPLE aws_secret_access_key=$AWS_SECRET ticket TKT-123456"
# --- tcp: logger with SD (octet counting), a hand-made frame, raw -------
logger --rfc5424 -T --octet-count -n 127.0.0.1 -P "$TCP" -t tcpapp --sd-id req@1 \
    --sd-param 'auth="Bearer abc123.tok-456"' --sd-param "jwt=\"$JWT\"" \
    "m3 ipv6 2001:db8::dead:beef and {\"password\":\"xyz789!\"}"
{
    printf '<14>1 2026-11-21T10:00:00Z 203.0.113.77 tcpapp - - [x@1 pan="5555 5555 5555 4444" '
    printf 'q="say \\"token=hunter2\\" \\]"] m4 Authorization: Bearer abc123.tok-456\n'
    printf 'm5 not syslog at all: password=hunter2 4111 1111 1111 1111 alice.smith@example.com\n'
} >"$T/tcp.in"
$PY - "$TCP" "$T/tcp.in" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(open(sys.argv[2], "rb").read())
s.close()
PY
# --- tls: openssl s_client, RFC 5424 with SD and a raw line -------------
{
    printf '<13>1 2026-11-21T10:00:01Z tlshost tlsapp - - [s@1 token="%s" ' "$JWT"
    printf 'aws_secret_access_key="%s"] m6 mail alice.smith@example.com pwd=hunter2\n' \
        "$AWS_SECRET"
    printf 'm7 raw over tls: id AKIAIOSFODNN7EXAMPLE card 4111-1111-1111-1111 TKT-123456\n'
} | timeout 15 openssl s_client -connect "127.0.0.1:$TLS" -servername localhost \
    -CAfile "$C/ca.crt" -verify_return_error -brief -no_ign_eof >"$T/s.out" 2>"$T/s.err" ||
    sr_fail "openssl s_client failed: $(cat "$T/s.err")"

N=7
for f in out.json out.5424 out.3164 out.raw; do
    sr_wait_lines "$T/$f" $N
done
sr_wait_lines "$T/dd/accepted" $N
if [ "$HAVE_REDIS" = 1 ]; then
    for i in $(seq 1 200); do
        [ "$(redis-cli -p "$RPORT" LLEN logstash)" -ge $N ] && break
        sleep 0.1
    done
    redis-cli -p "$RPORT" --raw LRANGE logstash 0 -1 >"$T/out.redis"
    sr_assert_eq $N "$(redis-cli -p "$RPORT" LLEN logstash)" "redis list length"
fi
sleep 0.3 # let any late duplicate arrive before counting

OUTS=("$T/out.json" "$T/out.5424" "$T/out.3164" "$T/out.raw" "$T/dd/accepted")
[ "$HAVE_REDIS" = 1 ] && OUTS+=("$T/out.redis")
for f in "${OUTS[@]}"; do
    for m in m1 m2 m3 m4 m5 m6 m7; do
        [ "$(grep -c " $m \|^$m \|\"$m " "$f")" -ge 1 ] || sr_fail "$m missing from $f"
    done
done
for f in out.json out.5424 out.3164 out.raw; do
    sr_assert_eq $N "$(wc -l <"$T/$f")" "lines in $f"
done
sr_ok "7 records through udp, tcp and tls reached every output"

# --- no secret anywhere ---------------------------------------------------
for f in "${OUTS[@]}" "$T/relay.log"; do
    for s in "${SECRETS[@]}"; do
        if grep -qF -- "$s" "$f"; then
            sr_fail "secret '$s' leaked into $(basename "$f"): $(grep -F -- "$s" "$f" | head -n 2)"
        fi
    done
done
sr_ok "no secret in any output file, Redis, the Datadog intake or the relay log"

# --- the replacements are there ----------------------------------------
want() { # FILE STRING...
    local f=$1 s
    shift
    for s in "$@"; do
        grep -qF -- "$s" "$f" || sr_fail "'$s' not in $(basename "$f")"
    done
}
COMMON=('password=[REDACTED]' '[REDACTED-CARD]' '[REDACTED-EMAIL]' '[REDACTED-IPV4]'
    '[REDACTED-IPV6]' '[REDACTED-AWS-KEY-ID]' 'aws_secret_access_key=[REDACTED]'
    'Bearer [REDACTED]' 'TKT-******' 'pwd=[REDACTED]')
for f in "${OUTS[@]}"; do
    want "$f" "${COMMON[@]}"
done
# Structured data: values re-escaped in the RFC 5424 forms; the raw line
# is redacted as text (replacements are not escaped); plain in JSON.
for f in "$T/out.5424" "$T/dd/accepted"; do
    want "$f" 'password="[REDACTED\]"' 'jwt="[REDACTED-JWT\]"' 'auth="Bearer [REDACTED\]"' \
        'token="[REDACTED\]"' 'pan="[REDACTED-CARD\]"' 'q="say \"token=[REDACTED\]\" \]"' \
        '{"password":"[REDACTED]"}'
done
want "$T/out.raw" 'password="[REDACTED]"' 'jwt="[REDACTED-JWT]"' 'auth="Bearer [REDACTED]"' \
    'token="[REDACTED]"' 'pan="[REDACTED-CARD]"' 'q="say \"token=[REDACTED]\" \]"' \
    '{"password":"[REDACTED]"}'
$PY - "$T/out.json" <<'PY' || sr_fail "JSON structured data is not masked as expected"
import json, sys
recs = {}
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    recs[r["message"].split()[0]] = r
def eq(a, b, what):
    if a != b:
        sys.exit(f"{what}: {a!r} != {b!r}")
eq(recs["m1"]["structured_data"]["auth@32473"]["password"], "[REDACTED]", "m1 password")
eq(recs["m1"]["structured_data"]["auth@32473"]["note"], "mail [REDACTED-EMAIL]", "m1 note")
eq(recs["m1"]["message"],
   "m1 login password=[REDACTED] card [REDACTED-CARD] from [REDACTED-IPV4]", "m1 message")
eq(recs["m3"]["structured_data"]["req@1"],
   {"auth": "Bearer [REDACTED]", "jwt": "[REDACTED-JWT]"}, "m3 sd")
eq(recs["m4"]["hostname"], "[REDACTED-IPV4]", "m4 hostname")
eq(recs["m4"]["structured_data"]["x@1"]["q"], 'say "token=[REDACTED]" ]', "m4 q")
eq(recs["m6"]["structured_data"]["s@1"],
   {"token": "[REDACTED]", "aws_secret_access_key": "[REDACTED]"}, "m6 sd")
eq(recs["m3"]["message"],
   'm3 ipv6 [REDACTED-IPV6] and {"password":"[REDACTED]"}', "m3 message")
eq(recs["m5"]["format"], "raw", "m5 format")
eq(recs["m2"]["message"],
   "m2 key [REDACTED-AWS-KEY-ID] aws_secret_access_key=[REDACTED] ticket TKT-******",
   "m2 message")
PY
sr_ok "replacements present in every output; structured data masked and re-escaped"

# --- metrics ---------------------------------------------------------------
# The ticket appears in m2 (RFC 3164: message and raw line) and m7 (raw:
# one line, counted once): 3 replacements.
sr_assert_eq 3 "$(sr_metric 'syslog_relay_redactions_total{rule="ticket"}')" "ticket count"
for rule in credit_card email ipv4 ipv6 aws_access_key_id aws_secret_access_key bearer_token \
    jwt password_kv; do
    v=$(sr_metric "syslog_relay_redactions_total{rule=\"$rule\"}")
    [ -n "$v" ] && [ "$v" -gt 0 ] || sr_fail "redactions_total{rule=\"$rule\"} is '$v'"
    sr_assert_eq 0 "$(sr_metric "syslog_relay_redaction_failures_total{rule=\"$rule\"}")" \
        "failures of $rule"
done
sr_ok "redactions counted per rule, no failures"

sr_stop_relay
sr_ok "relay stopped cleanly"

# --- no output writes raw lines -------------------------------------------
# The relay then drops each record's raw line instead of redacting it; the
# fields come out exactly as before.
mv "$T/out.json" "$T/out.json.1"
mv "$T/relay.log" "$T/relay.log.1"
$PY - "$T/relay.yaml" "$T/relay2.yaml" <<'PY'
import re, sys
y = open(sys.argv[1]).read()
head, outs = y.split("outputs:\n", 1)
outs, tail = outs.split("metrics:", 1)
keep = [o for o in re.split(r"(?m)^(?=  - name:)", outs) if "out.json" in o]
open(sys.argv[2], "w").write(head + "outputs:\n" + "".join(keep) + "metrics:" + tail)
PY
grep -q 'format: raw' "$T/relay2.yaml" && sr_fail "the second configuration still writes raw"
sr_start_relay "$T/relay2.yaml"
$PY - "$(sr_port tcp-in)" "$T/tcp.in" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(open(sys.argv[2], "rb").read())
s.close()
PY
sr_wait_lines "$T/out.json" 2
# m4's bearer token is in its message only: counted once, not again for
# the raw line as in the first run.
sr_assert_eq 1 "$(sr_metric 'syslog_relay_redactions_total{rule="bearer_token"}')" \
    "bearer_token replacements without raw output"
sr_stop_relay
for s in "${SECRETS[@]}"; do
    grep -qF -- "$s" "$T/out.json" "$T/relay.log" && sr_fail "secret '$s' leaked without raw output"
done
$PY - "$T/out.json.1" "$T/out.json" <<'PY' || sr_fail "fields differ when the raw line is dropped"
import json, sys
def recs(path):
    out = {}
    for line in open(path, encoding="utf-8"):
        r = json.loads(line)
        r.pop("received_at"); r.pop("source")
        out[r["message"].split()[0]] = r
    return out
a, b = recs(sys.argv[1]), recs(sys.argv[2])
for m in ("m4", "m5"):
    if a[m] != b[m]:
        sys.exit(f"{m}: {a[m]!r} != {b[m]!r}")
PY
sr_ok "without a raw output: same redacted fields, no secret"

# --- a record that no output takes ------------------------------------------
# Redacted all the same, and counted: the file output encodes on the worker,
# which then releases a record no output takes without handing anything over.
cat >"$T/relay3.yaml" <<YAML
log_level: info
inputs:
  - name: tcp-in
    type: tcp
    listen: "127.0.0.1:0"
redact:
  - builtin: credit_card
outputs:
  - name: urgent
    type: file
    path: $T/urgent.json
    min_severity: emerg
metrics:
  listen: "127.0.0.1:0"
YAML
sr_start_relay "$T/relay3.yaml"
$PY - "$(sr_port tcp-in)" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"<14>1 - h app - - - paid with 4111 1111 1111 1111\n")
s.close()
PY
sr_assert_eq 1 "$(sr_wait_metric 'syslog_relay_input_messages_total{input="tcp-in"}' 1)" "messages read"
sr_assert_eq 1 "$(sr_wait_metric 'syslog_relay_redactions_total{rule="credit_card"}' 1)" \
    "credit_card replacements in a record no output takes"
sr_stop_relay
[ -s "$T/urgent.json" ] && sr_fail "an info record reached the emerg-only output"
sr_ok "redactions counted in a record no output takes"

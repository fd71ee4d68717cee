#!/usr/bin/env bash
# TLS inputs (RFC 5425) end to end with real clients and certificates made
# now: openssl s_client with TLS 1.2 and 1.3 forced, LF and octet-counted
# frames; an mTLS input (ca_file) that accepts a client certificate from its
# CA and refuses, at the handshake, a client without one or with one from
# another CA, logging the peer's address and counting the refusal; TLS 1.0
# and 1.1 refused; syslog-ng as a TLS client with network() (LF framing,
# RFC 3164) and syslog() (octet counting, RFC 5424, client certificate).
. "$(dirname "$0")/lib.sh"
# The system interpreter starts faster than a pyenv shim; stdlib only.
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
R="$PY $SR_SOURCE/test/integration/records.py"
C=$T/certs
sr_certs "$C"

cat >"$T/relay.yaml" <<YAML
log_level: debug
workers: 2
inputs:
  - name: tls-in
    type: tls
    listen: "127.0.0.1:0"
    cert_file: $C/server.crt
    key_file: $C/server.key
  - name: mtls-in
    type: tls
    listen: "127.0.0.1:0"
    cert_file: $C/server.crt
    key_file: $C/server.key
    ca_file: $C/ca.crt
outputs:
  - name: all
    type: file
    path: $T/out.json
    format: json
metrics:
  listen: "127.0.0.1:0"
YAML
sr_start_relay "$T/relay.yaml"
TLS=$(sr_port tls-in); MTLS=$(sr_port mtls-in)
[ -n "$TLS" ] && [ -n "$MTLS" ] || sr_fail "ports not logged"

# sclient PORT LOGNAME ARGS...: stdin goes to the server over TLS; the
# client quits at end of input. Exit status is openssl's.
sclient() {
    local port=$1 name=$2
    shift 2
    timeout 15 openssl s_client -connect "127.0.0.1:$port" -servername localhost \
        -CAfile "$C/ca.crt" -verify_return_error -brief -no_ign_eof "$@" \
        >"$T/$name.out" 2>"$T/$name.err"
}
m5424() { printf '<%d>1 2026-11-21T10:00:00.5Z tlshost %s - - - %s' "$1" "$2" "$3"; }
octet() { printf '%d %s' "${#1}" "$1"; }

# --- server-authenticated TLS: 1.2 and 1.3, both framings --------------
m5424 14 s12 "tls12 lf one" | sed 's/$/\n/' | sclient "$TLS" s12 -tls1_2 ||
    sr_fail "TLS 1.2 client failed: $(cat "$T/s12.err")"
grep -q 'Protocol version: TLSv1.2' "$T/s12.err" || sr_fail "TLS 1.2 was not negotiated"
octet "$(m5424 11 s13 "tls13 octet two")" | sclient "$TLS" s13 -tls1_3 ||
    sr_fail "TLS 1.3 client failed: $(cat "$T/s13.err")"
grep -q 'Protocol version: TLSv1.3' "$T/s13.err" || sr_fail "TLS 1.3 was not negotiated"
sr_ok "openssl s_client TLS 1.2 and 1.3 accepted"

# --- old protocol versions refused ------------------------------------
for v in tls1 tls1_1; do
    if printf 'old\n' | sclient "$TLS" "$v" "-$v" -cipher 'DEFAULT:@SECLEVEL=0'; then
        sr_fail "-$v handshake succeeded"
    fi
done
sr_ok "TLS 1.0 and 1.1 refused"

# --- mTLS: the right client certificate --------------------------------
octet "$(m5424 13 m12 "mtls12 three")" |
    sclient "$MTLS" m12 -tls1_2 -cert "$C/client.crt" -key "$C/client.key" ||
    sr_fail "mTLS 1.2 with a good certificate failed: $(cat "$T/m12.err")"
m5424 13 m13 "mtls13 four" | sed 's/$/\n/' |
    sclient "$MTLS" m13 -tls1_3 -cert "$C/client.crt" -key "$C/client.key" ||
    sr_fail "mTLS 1.3 with a good certificate failed: $(cat "$T/m13.err")"
sr_ok "mTLS with a certificate from the CA accepted"

# --- mTLS refusals at the handshake -----------------------------------
# TLS 1.2: the client sees the handshake fail. TLS 1.3: the client thinks
# it is done before the server checks its certificate, so the proof is on
# the relay side (logged, counted, nothing delivered).
if m5424 13 n12 "refused nocert12" | sed 's/$/\n/' | sclient "$MTLS" n12 -tls1_2; then
    sr_fail "mTLS 1.2 without a certificate was accepted"
fi
m5424 13 n13 "refused nocert13" | sed 's/$/\n/' | sclient "$MTLS" n13 -tls1_3 || true
if m5424 13 r12 "refused rogue12" | sed 's/$/\n/' |
    sclient "$MTLS" r12 -tls1_2 -cert "$C/rogue.crt" -key "$C/rogue.key"; then
    sr_fail "mTLS 1.2 with a certificate from another CA was accepted"
fi
# A rogue TLS 1.3 client from a known address, so the log line can be
# matched to it exactly.
ROGUE_PORT=$(timeout 15 $PY - "$MTLS" "$C" <<'PY'
import socket, ssl, sys
port, c = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=c + "/ca.crt")
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.load_cert_chain(c + "/rogue.crt", c + "/rogue.key")
s = socket.socket()
s.bind(("127.0.0.9", 0))
s.settimeout(10)
s.connect(("127.0.0.1", port))
print(s.getsockname()[1], flush=True)
t = ctx.wrap_socket(s, server_hostname="localhost")
try:
    t.sendall(b"<13>1 2026-11-21T10:00:00Z h app - - - refused rogue13\n")
    t.recv(100)
except (ssl.SSLError, OSError):
    pass
t.close()
PY
) || sr_fail "python TLS client failed"
[ -n "$ROGUE_PORT" ] || sr_fail "python TLS client did not report its port"

# Poll: the relay logs and counts after the client has gone.
for i in $(seq 1 100); do
    [ "$(grep -c 'closing TLS connection from' "$T/relay.log")" -ge 6 ] && break
    sleep 0.1
done
grep -q "input \"mtls-in\": closing TLS connection from 127.0.0.9:$ROGUE_PORT: certificate verify failed" \
    "$T/relay.log" || sr_fail "rogue client refusal not logged with its address"
sr_assert_eq 2 "$(grep -c 'input "mtls-in": closing TLS connection from 127.0.0.1:[0-9]*: peer did not return a certificate (during handshake)' "$T/relay.log")" \
    "refusals of clients without a certificate logged"
sr_assert_eq 2 "$(grep -c 'input "mtls-in": closing TLS connection from .*certificate verify failed.*(during handshake)' "$T/relay.log")" \
    "refusals of certificates from another CA logged"
sr_assert_eq 2 "$(grep -c 'input "tls-in": closing TLS connection from 127.0.0.1:[0-9]*: unsupported protocol' "$T/relay.log")" \
    "old protocol versions logged"
sr_ok "refusals logged with the peer's address"

# --- syslog-ng as a TLS client ------------------------------------------
SNG=$T/sng
mkdir -p "$SNG"
N=20
LONG=$(head -c 3000 /dev/zero | tr '\0' 'L')
: >"$SNG/net.txt"
: >"$SNG/sys.txt"
for i in $(seq 1 $N); do
    echo "net message $i" >>"$SNG/net.txt"
    echo "sys message $i" >>"$SNG/sys.txt"
done
echo "net long $LONG" >>"$SNG/net.txt"
echo "sys long $LONG" >>"$SNG/sys.txt"
sed -e "s|@DIR@|$SNG|g" -e "s|@CERTS@|$C|g" -e "s|@NETPORT@|$TLS|g" -e "s|@SYSPORT@|$MTLS|g" \
    "$SR_SOURCE/test/integration/sng_tls.conf.in" >"$SNG/sng.conf"
syslog-ng --syntax-only -f "$SNG/sng.conf" 2>"$SNG/syntax.err" ||
    sr_fail "syslog-ng config: $(cat "$SNG/syntax.err")"
timeout 60 syslog-ng -F --no-caps -f "$SNG/sng.conf" -R "$SNG/persist" -p "$SNG/sng.pid" \
    -c "$SNG/ctl" >"$SNG/sng.log" 2>&1 &
sr_track $!
# 4 s_client records + 2 x (N + 1) from syslog-ng.
EXPECT=$((4 + 2 * (N + 1)))
sr_wait_lines "$T/out.json" "$EXPECT" 30
sleep 0.5 # nothing more may arrive
$R "$T/out.json" check || sr_fail "records do not have exactly the INTERFACE fields"
sr_assert_eq "$EXPECT" "$($R "$T/out.json" count)" "record count"

f() { $R "$T/out.json" find "$1" "$2" || sr_fail "no single record '$1'"; }
sr_assert_eq '"tls-in"' "$(f 'tls12 lf one' input)" "tls12 input"
sr_assert_eq '"s12"' "$(f 'tls12 lf one' app_name)" "tls12 app"
sr_assert_eq 6 "$(f 'tls12 lf one' severity)" "tls12 severity"
sr_assert_eq '"127.0.0.1"' "$(f 'tls12 lf one' source)" "tls12 source"
sr_assert_eq '"tls-in"' "$(f 'tls13 octet two' input)" "tls13 input"
sr_assert_eq '"2026-11-21T10:00:00.5Z"' "$(f 'tls13 octet two' timestamp)" "tls13 timestamp"
sr_assert_eq 3 "$(f 'tls13 octet two' severity)" "tls13 severity"
sr_assert_eq '"mtls-in"' "$(f 'mtls12 three' input)" "mtls12 input"
sr_assert_eq '"mtls-in"' "$(f 'mtls13 four' input)" "mtls13 input"
sr_assert_eq '"tlshost"' "$(f 'mtls13 four' hostname)" "mtls13 hostname"
# Every syslog-ng record, checked in one pass.
$PY - "$T/out.json" "$N" <<'PY' || sr_fail "syslog-ng records differ"
import json, sys
recs = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    recs[r["message"]] = r
for i in range(1, int(sys.argv[2]) + 1):
    n, s = recs["net message %d" % i], recs["sys message %d" % i]
    want_n = {"format": "rfc3164", "input": "tls-in", "app_name": "sngnet",
              "hostname": "snghost", "facility": 1, "severity": 5}
    want_s = {"format": "rfc5424", "input": "mtls-in", "app_name": "sngsys",
              "hostname": "snghost", "version": 1,
              "structured_data": {"meta": {"sequenceId": str(i)}}}
    for k, v in want_n.items():
        assert n[k] == v, ("net", i, k, n[k])
    for k, v in want_s.items():
        assert s[k] == v, ("sys", i, k, s[k])
PY
sr_assert_eq '"sngnet"' "$(f "net long $LONG" app_name)" "long LF-framed TLS message"
sr_assert_eq '"sngsys"' "$(f "sys long $LONG" app_name)" "long octet-counted TLS message"
grep -q 'input "mtls-in": TLS handshake with 127.0.0.1:[0-9]* done (TLSv1.[23], client CN=sr-client)' \
    "$T/relay.log" || sr_fail "mTLS client subject not logged"
# Nothing refused was delivered, and nothing carries a trailing LF.
if grep -q 'refused\|"old' "$T/out.json"; then
    sr_fail "a refused client's message was delivered"
fi
$PY - "$T/out.json" <<'PY' || sr_fail "a message ends in CR/LF/NUL"
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)["message"]
    assert not m.endswith(("\n", "\r", "\x00")), repr(m)
PY
sr_ok "syslog-ng network() and syslog() over TLS delivered in full"

# --- counters -----------------------------------------------------------
sleep 0.2 # stats are published every 50 ms
MP=$(sr_port metrics)
mv() { curl -s --max-time 5 "http://127.0.0.1:$MP/metrics" | awk -v k="$1" '$1 == k {print $2}'; }
sr_assert_eq 6 "$(mv 'syslog_relay_input_rejected_connections_total{reason="tls_handshake"}')" \
    "refused handshakes counted"
sr_assert_eq $((2 + N + 1)) "$(mv 'syslog_relay_input_messages_total{input="tls-in"}')" \
    "tls-in messages"
sr_assert_eq $((2 + N + 1)) "$(mv 'syslog_relay_input_messages_total{input="mtls-in"}')" \
    "mtls-in messages"
grep -q ' error ' "$T/relay.log" && sr_fail "an error was logged"
sr_stop_relay
sr_ok "TLS input end to end"

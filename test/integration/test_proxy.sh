#!/usr/bin/env bash
# PROXY protocol end to end: a real HAProxy (tcp mode, send-proxy and
# send-proxy-v2) in front of a tcp input and, passing TLS through, in front
# of a tls input, each with proxy_protocol: true. Clients bound to
# 127.0.0.5/6/7 must show up as the record's source, not HAProxy's address.
# Sent straight to the relay: an AWS NLB health check (bare connect and
# close; the v2 LOCAL header NLB really sends), a v2 header with an AWS VPC
# endpoint TLV (0xEA), and connections without a valid header, which are
# closed and counted. Health checks must leave no warning or error behind.
. "$(dirname "$0")/lib.sh"
# The system interpreter starts faster than a pyenv shim; stdlib only.
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
R="$PY $SR_SOURCE/test/integration/records.py"
command -v haproxy >/dev/null || sr_fail "haproxy is not installed (scripts/install-deps.sh)"
C=$T/certs
sr_certs "$C"

cat >"$T/relay.yaml" <<YAML
log_level: info
workers: 2
inputs:
  - name: pp-tcp
    type: tcp
    listen: "127.0.0.1:0"
    proxy_protocol: true
  - name: pp-tls
    type: tls
    listen: "127.0.0.1:0"
    proxy_protocol: true
    cert_file: $C/server.crt
    key_file: $C/server.key
outputs:
  - name: all
    type: file
    path: $T/out.json
    format: json
metrics:
  listen: "127.0.0.1:0"
YAML
sr_start_relay "$T/relay.yaml"
PTCP=$(sr_port pp-tcp); PTLS=$(sr_port pp-tls); MP=$(sr_port metrics)
[ -n "$PTCP" ] && [ -n "$PTLS" ] || sr_fail "ports not logged"

# --- HAProxy in front -------------------------------------------------------
# Ports picked now may be taken by a parallel test before HAProxy binds
# them: then HAProxy exits, and we try again with fresh ones.
start_haproxy() {
    local i p n
    FV1=$(sr_free_port); FV2=$(sr_free_port); FTLS=$(sr_free_port)
    while [ "$FV2" = "$FV1" ]; do FV2=$(sr_free_port); done
    while [ "$FTLS" = "$FV1" ] || [ "$FTLS" = "$FV2" ]; do FTLS=$(sr_free_port); done
    cat >"$T/haproxy.cfg" <<CFG
global
    maxconn 100
defaults
    mode tcp
    timeout connect 5s
    timeout client 20s
    timeout server 20s
frontend fe_v1
    bind 127.0.0.1:$FV1
    default_backend be_v1
backend be_v1
    server relay 127.0.0.1:$PTCP send-proxy
frontend fe_v2
    bind 127.0.0.1:$FV2
    default_backend be_v2
backend be_v2
    server relay 127.0.0.1:$PTCP send-proxy-v2
frontend fe_tls
    bind 127.0.0.1:$FTLS
    default_backend be_tls
backend be_tls
    server relay 127.0.0.1:$PTLS send-proxy-v2
CFG
    haproxy -c -f "$T/haproxy.cfg" >"$T/haproxy.check" 2>&1 ||
        sr_fail "haproxy config: $(cat "$T/haproxy.check")"
    haproxy -f "$T/haproxy.cfg" -db >"$T/haproxy.log" 2>&1 &
    HAP=$!
    sr_track "$HAP"
    for i in $(seq 1 100); do
        kill -0 "$HAP" 2>/dev/null || return 1
        n=0
        for p in $FV1 $FV2 $FTLS; do
            ss -ltnpH "sport = :$p" | grep -q "pid=$HAP," && n=$((n + 1))
        done
        [ "$n" = 3 ] && return 0
        sleep 0.1
    done
    return 1
}
for attempt in 1 2 3; do
    start_haproxy && break
    kill "$HAP" 2>/dev/null
    [ "$attempt" = 3 ] && sr_fail "haproxy did not start: $(cat "$T/haproxy.log")"
done

cat >"$T/client.py" <<'PY'
import socket, ssl, struct, sys, time

def conn(src, port):
    s = socket.socket()
    s.settimeout(10)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s

def closed_by_peer(s):
    """True when the relay closes the connection (EOF or reset) in time."""
    try:
        return s.recv(100) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False

def v2(cmd, fam, body):
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    return sig + bytes([0x20 | cmd, fam]) + struct.pack("!H", len(body)) + body

def msg(text):
    return b"<13>1 2026-11-21T10:00:00Z pphost ppapp - - - " + text.encode() + b"\n"

cmd, port = sys.argv[1], int(sys.argv[2])
if cmd == "plain":                 # plain: SRC TEXT... (through HAProxy)
    s = conn(sys.argv[3], port)
    for t in sys.argv[4:]:
        s.sendall(msg(t))
    s.close()
elif cmd == "tls":                 # tls: SRC CA TEXT... (TLS passed through HAProxy)
    ctx = ssl.create_default_context(cafile=sys.argv[4])
    t = ctx.wrap_socket(conn(sys.argv[3], port), server_hostname="localhost")
    for x in sys.argv[5:]:
        t.sendall(msg(x))
    t.close()
elif cmd == "probe":               # probe: SRC (connect, close at once)
    conn(sys.argv[3], port).close()
elif cmd == "nlb-health":          # the header an NLB health check sends, then close
    body = bytes.fromhex("030004bce5951f" + "04004a") + bytes(74)
    s = conn("127.0.0.1", port)
    s.sendall(v2(0, 0x11, body))
    time.sleep(0.1)
    s.close()
elif cmd == "local-data":          # v2 LOCAL, then a message: the real peer counts
    s = conn("127.0.0.1", port)
    s.sendall(v2(0, 0x00, b"") + msg(sys.argv[3]))
    s.close()
elif cmd == "vpce":                # v2 PROXY TCP4 10.1.2.3 with an AWS VPC endpoint TLV
    vpce = b"\x01" + b"vpce-0123456789abcdef0"
    tlvs = b"\xea" + struct.pack("!H", len(vpce)) + vpce
    tlvs += b"\x04" + struct.pack("!H", 5) + bytes(5)          # NOOP
    addrs = socket.inet_aton("10.1.2.3") + socket.inet_aton("10.9.9.9") + struct.pack("!HH", 40000, 6514)
    s = conn("127.0.0.1", port)
    hdr = v2(1, 0x11, addrs + tlvs)
    s.sendall(hdr[:20])             # a header split across reads
    time.sleep(0.05)
    s.sendall(hdr[20:] + msg(sys.argv[3]))
    s.close()
elif cmd == "v1-direct":           # v1 TCP6 sent by hand
    s = conn("127.0.0.1", port)
    s.sendall(b"PROXY TCP6 2001:db8::7 2001:db8::1 51000 601\r\n" + msg(sys.argv[3]))
    s.close()
elif cmd == "bad":                 # bad: RAW-HEX; the relay must close the connection
    s = conn("127.0.0.1", port)
    s.sendall(bytes.fromhex(sys.argv[3]))
    sys.exit(0 if closed_by_peer(s) else 1)
PY
pp() { timeout 20 $PY "$T/client.py" "$@" || sr_fail "client $* failed"; }

pp plain "$FV1" 127.0.0.5 "via haproxy v1 one" "via haproxy v1 two"
pp plain "$FV2" 127.0.0.6 "via haproxy v2 three"
pp tls "$FTLS" 127.0.0.7 "$C/ca.crt" "via haproxy v2 tls four" "via haproxy v2 tls five"
# Probes through HAProxy: it sends the header, then the connection ends.
pp probe "$FV1" 127.0.0.5
pp probe "$FV2" 127.0.0.6
pp probe "$FTLS" 127.0.0.7
# Straight to the relay: what an NLB does.
pp probe "$PTCP" 127.0.0.1
pp probe "$PTLS" 127.0.0.1
pp nlb-health "$PTCP"
pp nlb-health "$PTLS"
pp local-data "$PTCP" "local header six"
pp vpce "$PTCP" "vpc endpoint seven"
pp v1-direct "$PTCP" "v1 tcp6 eight"

sr_wait_lines "$T/out.json" 8
sleep 0.3 # nothing more may arrive
$R "$T/out.json" check || sr_fail "records do not have exactly the INTERFACE fields"
sr_assert_eq 8 "$($R "$T/out.json" count)" "record count"
f() { $R "$T/out.json" find "$1" "$2" || sr_fail "no single record '$1'"; }
sr_assert_eq '"127.0.0.5"' "$(f 'via haproxy v1 one' source)" "v1 source"
sr_assert_eq '"127.0.0.5"' "$(f 'via haproxy v1 two' source)" "v1 source, second frame"
sr_assert_eq '"127.0.0.6"' "$(f 'via haproxy v2 three' source)" "v2 source"
sr_assert_eq '"pp-tcp"' "$(f 'via haproxy v2 three' input)" "v2 input"
sr_assert_eq '"127.0.0.7"' "$(f 'via haproxy v2 tls four' source)" "v2 + TLS source"
sr_assert_eq '"pp-tls"' "$(f 'via haproxy v2 tls five' input)" "v2 + TLS input"
sr_assert_eq '"127.0.0.1"' "$(f 'local header six' source)" "LOCAL uses the real peer"
sr_assert_eq '"10.1.2.3"' "$(f 'vpc endpoint seven' source)" "VPC endpoint TLV skipped"
sr_assert_eq '"ppapp"' "$(f 'vpc endpoint seven' app_name)" "frame after TLVs intact"
sr_assert_eq '"2001:db8::7"' "$(f 'v1 tcp6 eight' source)" "v1 TCP6 source"
sr_ok "sources come from the PROXY header (HAProxy v1, v2, v2 + TLS, LOCAL, VPC TLV)"

# Health checks and probes: no warning, no error, nothing counted.
if grep -E ' (warning|error) ' "$T/relay.log"; then
    sr_fail "a health check or probe produced a warning or error"
fi
sleep 0.2
metrics() { curl -s --max-time 5 "http://127.0.0.1:$MP/metrics"; }
if metrics | grep '^syslog_relay_input_rejected_connections_total{'; then
    sr_fail "a health check or probe was counted as a rejection"
fi
sr_ok "NLB health checks and probes are quiet"

# --- connections without a valid header are closed and counted ------------
BAD=(
    "3c31333e31202d202d202d202d202d202d206e6f206865616465720a" # syslog, no header
    "50524f585920544350342031302e302e302e3120"                # "PROXY TCP4 10.0.0.1 " then LF
    "50524f58592054435034203132372e302e302e3120"
    "0d0a0d0a000d0a515549540a3111000c"                        # v2, version 3
    "0d0a0d0a000d0a515549540a21110004"                        # v2 PROXY TCP4, 4-byte block
)
BAD[1]=${BAD[1]}0a
BAD[2]=${BAD[2]}3132372e302e302e3220313020323020efbfbd0d0a    # junk port
BAD[4]=${BAD[4]}7f000001
i=0
for hex in "${BAD[@]}"; do
    timeout 20 $PY "$T/client.py" bad "$PTCP" "$hex" ||
        sr_fail "relay kept a connection with bad header #$i open"
    i=$((i + 1))
done
for i in $(seq 1 50); do
    got=$(metrics | awk '$1 == "syslog_relay_input_rejected_connections_total{reason=\"proxy_header\"}" {print $2}')
    [ "${got:-0}" = "${#BAD[@]}" ] && break
    sleep 0.1
done
sr_assert_eq "${#BAD[@]}" "${got:-0}" "invalid PROXY headers counted"
grep -q 'input "pp-tcp": closing connection from 127.0.0.1:[0-9]*: no valid PROXY protocol header' \
    "$T/relay.log" || sr_fail "invalid header not logged with the peer"
sr_assert_eq 8 "$($R "$T/out.json" count)" "nothing from bad headers delivered"
sr_ok "invalid PROXY headers closed, logged and counted"

# HAProxy still gets through after all that.
pp plain "$FV2" 127.0.0.6 "after the bad ones"
sr_wait_lines "$T/out.json" 9
sr_assert_eq '"127.0.0.6"' "$(f 'after the bad ones' source)" "v2 source after rejections"
grep -q ' error ' "$T/relay.log" && sr_fail "an error was logged"
sr_stop_relay
sr_ok "PROXY protocol end to end"

#!/usr/bin/env bash
# UDP and TCP inputs end to end: util-linux logger (RFC 5424 and 3164, UDP,
# TCP with LF framing and with octet counting), syslog-ng's loggen
# replaying a file (zero-padded counts), hand-made streams with
# frames split across writes, NUL framing, trailing LF inside octet frames,
# IPv6, and a raw record for garbage. Asserts the JSON records written.
. "$(dirname "$0")/lib.sh"
R="python3 $SR_SOURCE/test/integration/records.py"

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
  - name: tcp6-in
    type: tcp
    listen: "[::1]:0"
outputs:
  - name: all
    type: file
    path: $T/out.json
    format: json
YAML
sr_start_relay "$T/relay.yaml"
UDP=$(sr_port udp-in); TCP=$(sr_port tcp-in); TCP6=$(sr_port tcp6-in)
[ -n "$UDP" ] && [ -n "$TCP" ] && [ -n "$TCP6" ] || sr_fail "ports not logged"

logger --rfc5424 -d -n 127.0.0.1 -P "$UDP" -t lgapp -p local3.warning "udp 5424 one"
logger --rfc3164 -d -n 127.0.0.1 -P "$UDP" -t lgapp3 -i -p user.notice "udp 3164 two"
logger --rfc5424 -T -n 127.0.0.1 -P "$TCP" -t lgtcp --msgid MID1 --sd-id test@32473 \
    --sd-param 'k="v1"' "tcp 5424 three"
logger --rfc3164 -T -n 127.0.0.1 -P "$TCP" -t lgtcp3 "tcp 3164 four"
logger --rfc5424 -T --octet-count -n 127.0.0.1 -P "$TCP" -t lgoct "tcp octet five"
# syslog-ng syslog() style: LF inside the octet count; header and body in
# separate writes; two frames in one write; a NUL-terminated frame.
python3 - "$TCP" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
m = b"<13>1 2026-11-21T22:58:36+00:00 snghost sngobs - - [meta sequenceId=\"1\"] octet six\n"
s.sendall(str(len(m)).encode() + b" "); time.sleep(0.05)
s.sendall(m[:10]); time.sleep(0.05); s.sendall(m[10:])
a = b"<14>Nov 21 22:42:19 snghost sngapp: lf seven\n"
b = b"<15>Nov 21 22:42:19 snghost sngapp: nul eight\x00"
s.sendall(a + b)
for ch in b"<13>Nov  1 01:02:03 host bytewise: byte nine\n":
    s.send(bytes([ch]))
s.sendall(b"complete garbage ten\n")
s.close()
PY
logger --rfc5424 -T -n ::1 -P "$TCP6" -t v6app "ipv6 eleven"
# syslog-ng's loggen replaying a file pads its octet counts to nine digits
# ("000000063 <13>1 ..."), with an LF inside the count and a BOM.
printf '<13>1 2026-11-21T22:58:36+00:00 lghost lgrep 77 - - replay twelve\n' >"$T/replay.txt"
timeout 10 loggen -P -i -S -R "$T/replay.txt" -I 1 --active-connections=1 127.0.0.1 "$TCP" \
    >"$T/loggen.log" 2>&1 || true
grep -q 'count=1,' "$T/loggen.log" || sr_fail "loggen did not send: $(cat "$T/loggen.log")"

sr_wait_lines "$T/out.json" 12
$R "$T/out.json" check || sr_fail "records do not have exactly the INTERFACE fields"
sr_assert_eq 12 "$($R "$T/out.json" count)" "record count"

f() { $R "$T/out.json" find "$1" "$2" || sr_fail "no single record '$1'"; }
sr_assert_eq '"rfc5424"' "$(f 'udp 5424 one' format)" "udp 5424 format"
sr_assert_eq 19 "$(f 'udp 5424 one' facility)" "local3 facility"
sr_assert_eq 4 "$(f 'udp 5424 one' severity)" "warning severity"
sr_assert_eq '"lgapp"' "$(f 'udp 5424 one' app_name)" "app_name"
sr_assert_eq '"udp-in"' "$(f 'udp 5424 one' input)" "input name"
sr_assert_eq '"127.0.0.1"' "$(f 'udp 5424 one' source)" "source"
sr_assert_eq 1 "$(f 'udp 5424 one' version)" "version"
sr_assert_eq '"rfc3164"' "$(f 'udp 3164 two' format)" "3164 format"
sr_assert_eq '"lgapp3"' "$(f 'udp 3164 two' app_name)" "3164 tag"
f 'udp 3164 two' procid | grep -Eq '^"[0-9]+"$' || sr_fail "3164 pid missing"
sr_assert_eq null "$(f 'udp 3164 two' version)" "3164 version null"
sr_assert_eq '"MID1"' "$(f 'tcp 5424 three' msgid)" "msgid"
f 'tcp 5424 three' structured_data | grep -q '"test@32473": {"k": "v1"}' ||
    sr_fail "structured data: $(f 'tcp 5424 three' structured_data)"
sr_assert_eq '"tcp-in"' "$(f 'tcp 3164 four' input)" "tcp input"
sr_assert_eq '"lgoct"' "$(f 'tcp octet five' app_name)" "octet app"
sr_assert_eq '"snghost"' "$(f 'octet six' hostname)" "octet six host"
sr_assert_eq '"rfc3164"' "$(f 'lf seven' format)" "lf frame"
sr_assert_eq 7 "$(f 'nul eight' severity)" "nul frame"
sr_assert_eq '"bytewise"' "$(f 'byte nine' app_name)" "byte-at-a-time frame"
sr_assert_eq '"raw"' "$(f 'complete garbage ten' format)" "garbage is raw"
f 'complete garbage ten' parse_error | grep -q '^"' || sr_fail "raw record has no parse_error"
sr_assert_eq '"::1"' "$(f 'ipv6 eleven' source)" "ipv6 source"
sr_assert_eq '"rfc5424"' "$(f 'replay twelve' format)" "zero-padded octet count"
sr_assert_eq '"lgrep"' "$(f 'replay twelve' app_name)" "loggen replay app_name"
# No message keeps a trailing LF, CR or NUL.
$R "$T/out.json" messages | grep -c $'\r' | grep -qx 0 || sr_fail "CR left in a message"
python3 - "$T/out.json" <<'PY' || sr_fail "a message ends in CR/LF/NUL"
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)["message"]
    assert not m.endswith(("\n", "\r", "\x00")), repr(m)
PY

# Many small sends at once: 3000 datagrams from one socket (several
# recvmmsg batches per poll; libuv stops reading a socket after 32
# datagrams and comes back) and 3000 TCP messages, one send() each. Every
# one arrives, each sender's in order, through the path read coalescing
# changed (how much a wait saves is for the benchmark, not this test).
python3 - "$UDP" "$TCP" <<'PY'
import socket, sys, threading, time
def udp():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(3000):
        u.sendto(b"<13>1 - h burst - - - udp burst %04d" % i, ("127.0.0.1", int(sys.argv[1])))
        if i % 100 == 99:
            time.sleep(0.005)  # paced, so an unprivileged receive buffer holds a burst
def tcp():
    s = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
    for i in range(3000):
        s.sendall(b"<13>1 - h burst - - - tcp burst %04d\n" % i)
    s.close()
ts = [threading.Thread(target=udp), threading.Thread(target=tcp)]
for t in ts:
    t.start()
for t in ts:
    t.join()
PY
sr_wait_lines "$T/out.json" 6012
python3 - "$T/out.json" <<'PY' || sr_fail "burst messages lost or out of order"
import json, sys
got = {"udp": [], "tcp": []}
for line in open(sys.argv[1]):
    m = json.loads(line)["message"]
    if " burst " in m:
        kind, _, n = m.split()
        got[kind].append(int(n))
for kind, v in got.items():
    assert v == list(range(3000)), (kind, len(v), v[:5])
PY
sr_stop_relay
sr_ok "udp and tcp inputs, framings and parsers end to end"

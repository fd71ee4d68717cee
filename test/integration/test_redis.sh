#!/usr/bin/env bash
# The redis output against a real redis-server (Debian's) on a loopback
# port, with requirepass and a non-zero db: one relay feeds five outputs
# at once (list json, list msgpack, list ecs, stream, channel). Checks:
# every record arrives once and in order in each; each codec decodes to
# the same record, field by field (msgpack == the JSON record; ECS mapped
# as docs/redis.md says); the stream entries and the channel messages are
# the JSON record's bytes; and redis_drain.lua, doing what Logstash's
# redis input does (LRANGE + LTRIM in batches of 125), drains the list
# and gets every record once, in order. The password is never logged.
. "$(dirname "$0")/lib.sh"

PW='s3cr:t@pw'
PW_URL='s3cr%3At%40pw'
RPORT=$(sr_free_port)
sr_start_redis "$RPORT" --requirepass "$PW"
rcli() { redis-cli -p "$RPORT" -a "$PW" --no-auth-warning -n 3 "$@"; }
sr_wait_redis

cat >"$T/relay.yaml" <<YAML
inputs:
  - name: tcp-in
    type: tcp
    listen: "127.0.0.1:0"
  - name: udp-in
    type: udp
    listen: "127.0.0.1:0"
outputs:
  - name: lj
    type: redis
    url: "redis://:$PW_URL@127.0.0.1:$RPORT/3"
    key: lj
  - name: lm
    type: redis
    url: "redis://:$PW_URL@127.0.0.1:$RPORT/3"
    key: lm
    codec: msgpack
    batch_size: 7
  - name: le
    type: redis
    url: "redis://default:$PW_URL@127.0.0.1:$RPORT/3"
    key: le
    codec: ecs
    pipeline: 1
  - name: st
    type: redis
    url: "redis://:$PW_URL@127.0.0.1:$RPORT/3"
    key: st
    mode: stream
    stream_maxlen: 100000
  - name: ch
    type: redis
    url: "redis://:$PW_URL@127.0.0.1:$RPORT/3"
    key: ch
    mode: channel
YAML
sr_start_relay "$T/relay.yaml"
TCP=$(sr_port tcp-in)
UDP=$(sr_port udp-in)
N=600

# A channel subscriber, started before anything is sent.
python3 - "$RPORT" "$PW" "$((N + 3))" "$T/channel.out" <<'PY' &
import socket, sys, time
port, pw, n, out = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(30)
f = s.makefile("rb")
def enc(*a):
    b = b"*%d\r\n" % len(a)
    for x in a:
        x = x.encode() if isinstance(x, str) else x
        b += b"$%d\r\n%s\r\n" % (len(x), x)
    return b
def read():
    line = f.readline()
    t, rest = line[:1], line[1:-2]
    if t in (b"+", b"-"):
        return rest.decode()
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        d = f.read(n + 2)
        return d[:-2]
    if t == b"*":
        return [read() for _ in range(int(rest))]
    raise SystemExit("bad reply %r" % line)
s.sendall(enc("AUTH", pw) + enc("SUBSCRIBE", "ch"))
assert read() == "OK"
read()
open(out + ".ready", "w").close()
with open(out, "wb") as o:
    got = 0
    while got < n:
        m = read()
        assert m[0] == b"message" and m[1] == b"ch", m
        o.write(m[2] + b"\n")
        o.flush()
        got += 1
PY
sr_track $!
for i in $(seq 1 100); do [ -f "$T/channel.out.ready" ] && break; sleep 0.05; done
[ -f "$T/channel.out.ready" ] || sr_fail "the channel subscriber did not start"

# N messages over one TCP connection (order is defined), then 3 over UDP.
python3 - "$TCP" "$N" <<'PY'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
for i in range(n):
    fac, sev = i % 24, i % 8
    procid = ["4321", "-", "worker-7"][i % 3]
    ts = "2024-05-06T07:%02d:%02d.%06d+02:00" % (i // 60 % 60, i % 60, i * 1001 % 1000000)
    sd = '[ex@1 seq="%d" q="a\\"b\\]c"][meta@2 n="1" n="2"]' % i if i % 4 else "-"
    msg = "<%d>1 %s host%d app%d %s ID%d %s seq %06d h\xe9llo" % (
        fac * 8 + sev, ts, i % 3, i % 2, procid, i % 5, sd, i)
    s.sendall(msg.encode() + b"\n")
s.close()
PY
for i in 1 2 3; do
    logger -n 127.0.0.1 -P "$UDP" -d --rfc5424 -t udpapp "udp message $i"
    sleep 0.05
done

# Wait for all of it, in every output.
for key in lj lm le; do
    for i in $(seq 1 200); do
        [ "$(rcli LLEN $key)" -ge $((N + 3)) ] && break
        sleep 0.1
    done
    sr_assert_eq "$((N + 3))" "$(rcli LLEN $key)" "entries in list $key"
done
for i in $(seq 1 200); do
    [ "$(rcli XLEN st)" -ge $((N + 3)) ] && break
    sleep 0.1
done
sr_assert_eq "$((N + 3))" "$(rcli XLEN st)" "entries in stream st"
sr_wait_lines "$T/channel.out" $((N + 3)) 20

# Field-by-field checks, in Python with a tiny RESP client and a tiny
# msgpack decoder (no pip).
python3 - "$RPORT" "$PW" "$N" "$T/channel.out" <<'PY' || sr_fail "record check failed (see above)"
import json, socket, struct, sys
from datetime import datetime, timezone
port, pw, n, chfile = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
s = socket.create_connection(("127.0.0.1", port))
f = s.makefile("rb")
def enc(*a):
    b = b"*%d\r\n" % len(a)
    for x in a:
        x = x.encode() if isinstance(x, str) else x
        b += b"$%d\r\n%s\r\n" % (len(x), x)
    return b
def read():
    line = f.readline()
    t, rest = line[:1], line[1:-2]
    if t == b"+":
        return rest.decode()
    if t == b"-":
        raise RuntimeError(rest.decode())
    if t == b":":
        return int(rest)
    if t == b"$":
        k = int(rest)
        return None if k < 0 else f.read(k + 2)[:-2]
    if t == b"*":
        return [read() for _ in range(int(rest))]
    raise RuntimeError("bad reply %r" % line)
def cmd(*a):
    s.sendall(enc(*a))
    return read()
cmd("AUTH", pw)
cmd("SELECT", "3")

def mp(b, i=0):
    """Decode one msgpack object at b[i:]; return (obj, next index)."""
    c = b[i]; i += 1
    if c <= 0x7f: return c, i
    if c >= 0xe0: return c - 0x100, i
    if 0xa0 <= c <= 0xbf: k = c & 0x1f; return b[i:i+k].decode(), i + k
    if 0x90 <= c <= 0x9f: return mp_arr(b, i, c & 0x0f)
    if 0x80 <= c <= 0x8f: return mp_map(b, i, c & 0x0f)
    if c == 0xc0: return None, i
    if c == 0xc2: return False, i
    if c == 0xc3: return True, i
    if c in (0xd9, 0xda, 0xdb):
        w = {0xd9: 1, 0xda: 2, 0xdb: 4}[c]
        k = int.from_bytes(b[i:i+w], "big"); i += w
        return b[i:i+k].decode(), i + k
    if c in (0xcc, 0xcd, 0xce, 0xcf):
        w = {0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8}[c]
        return int.from_bytes(b[i:i+w], "big"), i + w
    if c in (0xd0, 0xd1, 0xd2, 0xd3):
        w = {0xd0: 1, 0xd1: 2, 0xd2: 4, 0xd3: 8}[c]
        return int.from_bytes(b[i:i+w], "big", signed=True), i + w
    if c in (0xdc, 0xdd):
        w = 2 if c == 0xdc else 4
        return mp_arr(b, i + w, int.from_bytes(b[i:i+w], "big"))
    if c in (0xde, 0xdf):
        w = 2 if c == 0xde else 4
        return mp_map(b, i + w, int.from_bytes(b[i:i+w], "big"))
    raise ValueError("msgpack type 0x%02x not expected" % c)
def mp_arr(b, i, k):
    out = []
    for _ in range(k):
        v, i = mp(b, i); out.append(v)
    return out, i
def mp_map(b, i, k):
    out = {}
    for _ in range(k):
        key, i = mp(b, i); v, i = mp(b, i); out[key] = v
    return out, i

FIELDS = ["timestamp", "received_at", "source", "input", "format", "facility", "severity",
          "version", "hostname", "app_name", "procid", "msgid", "structured_data", "message",
          "parse_error"]
FAC = ["kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
       "authpriv", "ftp", "ntp", "security", "console", "solaris-cron"] + \
      ["local%d" % k for k in range(8)]
SEV = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]
bad = []
def check(cond, what):
    if not cond:
        bad.append(what)
        if len(bad) < 20:
            print("MISMATCH:", what, file=sys.stderr)

raw_json = cmd("LRANGE", "lj", "0", "-1")
recs = [json.loads(b) for b in raw_json]
# The JSON list: the TCP records in order, each exactly as sent.
for i in range(n):
    r = recs[i]
    check(list(r.keys()) == FIELDS, "keys of lj[%d]" % i)
    check(r["message"] == "seq %06d h\u00e9llo" % i, "message of lj[%d]: %r" % (i, r["message"]))
    check(r["format"] == "rfc5424" and r["version"] == 1, "format of lj[%d]" % i)
    check(r["facility"] == i % 24 and r["severity"] == i % 8, "pri of lj[%d]" % i)
    check(r["hostname"] == "host%d" % (i % 3) and r["app_name"] == "app%d" % (i % 2),
          "host/app of lj[%d]" % i)
    check(r["procid"] == [ "4321", None, "worker-7"][i % 3], "procid of lj[%d]" % i)
    check(r["msgid"] == "ID%d" % (i % 5), "msgid of lj[%d]" % i)
    want_sd = {"ex@1": {"seq": str(i), "q": 'a"b]c'}, "meta@2": {"n": ["1", "2"]}} if i % 4 else None
    check(r["structured_data"] == want_sd, "sd of lj[%d]: %r" % (i, r["structured_data"]))
    check(r["source"] == "127.0.0.1" and r["input"] == "tcp-in", "source of lj[%d]" % i)
udp = sorted(r["message"] for r in recs[n:])
check(udp == ["udp message 1", "udp message 2", "udp message 3"], "udp records %r" % udp)

# msgpack: the same record, key for key, value for value, same order.
for i, b in enumerate(cmd("LRANGE", "lm", "0", "-1")):
    obj, end = mp(b)
    check(end == len(b), "lm[%d] has trailing bytes" % i)
    if i < n:
        check(obj == recs[i] and list(obj.keys()) == FIELDS, "lm[%d] != lj[%d]: %r" % (i, i, obj))
    else:
        check(obj["message"].startswith("udp message"), "lm[%d]" % i)

# ECS: the mapping of docs/redis.md.
def utc_ms(ts):
    d = datetime.fromisoformat(ts).astimezone(timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (d.microsecond // 1000)
for i, b in enumerate(cmd("LRANGE", "le", "0", "-1")[:n]):
    e, r = json.loads(b), recs[i]
    check(e["@timestamp"] == utc_ms(r["timestamp"]), "@timestamp of le[%d]: %s for %s"
          % (i, e["@timestamp"], r["timestamp"]))
    check(e["message"] == r["message"], "message of le[%d]" % i)
    check(e["event"] == {"created": r["received_at"]}, "event.created of le[%d]" % i)
    check(e["host"] == {"hostname": r["hostname"]}, "host of le[%d]" % i)
    proc = {"name": r["app_name"]}
    if r["procid"] == "4321":
        proc["pid"] = 4321
    check(e["process"] == proc, "process of le[%d]: %r" % (i, e["process"]))
    sl = e["log"]["syslog"]
    want = {"priority": r["facility"] * 8 + r["severity"],
            "facility": {"code": r["facility"], "name": FAC[r["facility"]]},
            "severity": {"code": r["severity"], "name": SEV[r["severity"]]},
            "version": "1", "hostname": r["hostname"], "appname": r["app_name"],
            "msgid": r["msgid"]}
    if r["procid"] is not None:
        want["procid"] = r["procid"]
    if r["structured_data"] is not None:
        want["structured_data"] = r["structured_data"]
    check(sl == want, "log.syslog of le[%d]: %r" % (i, sl))
    check(e["source"] == {"ip": "127.0.0.1"}, "source of le[%d]" % i)
    check(e["syslog_relay"] == {"input": "tcp-in", "format": "rfc5424"}, "syslog_relay of le[%d]" % i)
    check(e["ecs"]["version"].startswith("8."), "ecs.version of le[%d]" % i)

# The stream: one entry per record, field "record" = the JSON bytes, in order.
entries = cmd("XRANGE", "st", "-", "+")
check(len(entries) == n + 3, "stream length %d" % len(entries))
for i, (eid, fv) in enumerate(entries[:n]):
    check(fv == [b"record", raw_json[i]], "stream entry %d" % i)

# The channel: the JSON bytes of every record, in order.
with open(chfile, "rb") as fh:
    lines = fh.read().split(b"\n")[:-1]
check(lines[:n] == raw_json[:n], "channel messages differ from the list")
if bad:
    print("%d mismatches" % len(bad), file=sys.stderr)
    sys.exit(1)
print("checked %d records in 5 outputs" % n)
PY
sr_ok "list (json, msgpack, ecs), stream and channel: every record, in order, field by field"

# Drain the JSON list the way Logstash does (batch_count 125).
rcli LRANGE lj 0 -1 >"$T/expected.txt"
: >"$T/drained.txt"
for i in $(seq 1 50); do
    rcli EVAL "$(cat "$SR_SOURCE/test/integration/redis_drain.lua")" 1 lj 124 >"$T/batch.txt"
    grep -q . "$T/batch.txt" || break # an empty reply prints one empty line
    [ "$(wc -l <"$T/batch.txt")" -le 125 ] || sr_fail "a drain batch returned more than 125"
    cat "$T/batch.txt" >>"$T/drained.txt"
done
sr_assert_eq 0 "$(rcli LLEN lj)" "list length after draining"
sr_assert_eq "$((N + 3))" "$(wc -l <"$T/drained.txt")" "records drained"
cmp -s "$T/expected.txt" "$T/drained.txt" || sr_fail "drained records differ from the list"
sr_ok "redis_drain.lua drained $((N + 3)) records once each, in order"

sr_stop_relay
if grep -q -e "$PW" -e "$PW_URL" "$T/relay.log" "$T/relay.out"; then
    sr_fail "the password appears in the relay's output"
fi
grep -q 'redis://:\*\*\*\*@127.0.0.1' "$T/relay.log" || sr_fail "no masked url in the log"
sr_ok "password never logged; url shown masked"

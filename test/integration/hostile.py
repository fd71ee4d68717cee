#!/usr/bin/env python3
"""Hostile-input driver for test_hostile.sh (Python 3 standard library only).

  hostile.py attack PORTS_JSON     run every attack at once, bounded in count and
                                   time; print a JSON summary; exit 1 when the relay
                                   misbehaved as seen from the client side (a
                                   connection it should have closed stayed open)
  hostile.py normal PORTS_JSON     send the normal traffic, then exit
  hostile.py verify PORTS_JSON OUT check that every normal message (and the few the
                                   attack phase expects to survive) arrived exactly
                                   once with the right input, source and fields

PORTS_JSON is a file: {"tcp": P, "tls": P, "udp": P, "pp": P, "flood": P,
"metrics": P, "ca": PATH, "max_conns": N, "flood_n": N}.

Every socket has a timeout, every wait a deadline; the attack phase ends in well
under 30 s whatever the relay does.
"""
import json
import os
import random
import re
import resource
import selectors
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.request

HOST = "127.0.0.1"
V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
RNG = random.Random(5425)  # deterministic attacks, reproducible failures

failures = []
notes = {}
lock = threading.Lock()


def fail(what):
    with lock:
        failures.append(what)


def note(key, value):
    with lock:
        notes[key] = value


def rand_bytes(n):
    return bytes(RNG.getrandbits(8) for _ in range(n)) if n < 4096 else os.urandom(n)


def tls_noise(n):
    """Random bytes that do not begin like a TLS record (content type 20-24)
    or an SSLv2 ClientHello (high bit set): one of those in 1 in ~200 random
    buffers makes OpenSSL wait for the rest of a plausible record, and the
    connection is then cut by handshake_timeout instead of failing the
    handshake at once."""
    b = bytearray(rand_bytes(n))
    while b[0] >= 0x80 or 20 <= b[0] <= 24:
        b[0] = RNG.getrandbits(8)
    return bytes(b)


def conn(port, timeout=10.0, src=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if src:
        s.bind((src, 0))
    s.connect((HOST, port))
    return s


def send_quietly(s, data):
    """Send, ignoring a relay that already closed (that is often the point)."""
    try:
        s.sendall(data)
        return True
    except OSError:
        return False


def wait_closed(s, secs):
    """True once the relay has closed s (EOF or reset) within secs; reads and
    discards whatever the relay sends meanwhile (TLS alerts, handshakes)."""
    deadline = time.monotonic() + secs
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        s.settimeout(left)
        try:
            if s.recv(65536) == b"":
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        except OSError:
            return True


def expect_closed(name, s, secs=12.0):
    if not wait_closed(s, secs):
        fail("%s: relay did not close the connection within %.0f s" % (name, secs))
    s.close()


def client_hello():
    """The first flight of a real TLS client, made without a socket."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def v2(cmd, fam, body, length=None):
    n = len(body) if length is None else length
    return V2_SIG + bytes([0x20 | cmd, fam]) + struct.pack("!H", n) + body


def msg(text):
    return b"<13>1 2026-11-21T10:00:00Z hhost happ - - - " + text.encode() + b"\n"


def metric(port, name):
    try:
        with urllib.request.urlopen("http://%s:%d/metrics" % (HOST, port), timeout=3) as r:
            body = r.read().decode()
    except OSError:
        return None
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


# ---- attacks ----------------------------------------------------------------


def oversized(p):
    """LF and octet-counted frames far beyond max_message_size, then a normal
    frame on the same connection: the decoder must resynchronise."""
    s = conn(p["tcp"])
    s.sendall(b"<13>1 - - - - - - big-lf " + b"A" * 100000 + b"\n")
    body = b"<13>1 - - - - - - big-oct " + b"B" * 49974
    s.sendall(b"%d " % len(body) + body)
    s.sendall(msg("after-oversize"))
    s.close()
    # Absurd octet counts: 11 digits (not a header: read as a line) and 10
    # digits (a header; the body is kept up to max and the rest skipped).
    s = conn(p["tcp"])
    s.sendall(b"99999999999 <13>1 - - - - - - absurd-11\n")
    s.close()
    s = conn(p["tcp"])
    s.sendall(b"9999999999 ")
    for _ in range(4):
        send_quietly(s, os.urandom(65536))
    s.close()


def tls_garbage(p):
    """Garbage instead of a ClientHello, a plain syslog line on the TLS port,
    a ClientHello followed by garbage, an oversized TLS record header."""
    cases = [
        ("tls random", tls_noise(4096)),
        ("tls plaintext", msg("plaintext-to-tls")),
        ("tls hello+garbage", client_hello() + rand_bytes(2048)),
        ("tls huge record", b"\x16\x03\x01\xff\xff" + rand_bytes(200)),
        ("tls record of alerts", b"\x15\x03\x03\x00\x02\x02\x28" * 50),
    ]
    for name, data in cases:
        s = conn(p["tls"])
        send_quietly(s, data)
        expect_closed(name, s)


def half_open(p):
    """Connections that never send (or stop half-way) on every stream port;
    the relay must close each by its handshake or idle timeout."""
    socks = []
    hello = client_hello()
    for port_key, n in (("tcp", 10), ("tls", 10), ("pp", 10)):
        for i in range(n):
            socks.append(("silent %s #%d" % (port_key, i), conn(p[port_key], timeout=15)))
    for i in range(5):
        s = conn(p["tls"], timeout=15)
        s.sendall(hello[: len(hello) // 2])
        socks.append(("half hello #%d" % i, s))
        s = conn(p["pp"], timeout=15)
        s.sendall(b"PROXY TCP4 ")
        socks.append(("half PROXY v1 #%d" % i, s))
        s = conn(p["pp"], timeout=15)
        s.sendall(V2_SIG[:7])
        socks.append(("half PROXY v2 #%d" % i, s))
    # Half-closed: the client shuts its side after a partial line; the relay
    # delivers the partial line and closes.
    for i in range(3):
        s = conn(p["tcp"], timeout=15)
        s.sendall(b"<13>1 - - - - - - half-closed-%d" % i)
        s.shutdown(socket.SHUT_WR)
        socks.append(("half-closed #%d" % i, s))
    deadline = time.monotonic() + 14
    for name, s in socks:
        if not wait_closed(s, max(0.1, deadline - time.monotonic())):
            fail("%s: still open after the timeouts" % name)
        s.close()
    note("half_open", len(socks))


def slow(p):
    """Byte-a-second senders: three plain ones (legitimate, just slow: the
    message must arrive), three TLS handshakes and three PROXY headers (cut off
    by handshake_timeout)."""
    hello = client_hello()
    plain = [conn(p["tcp"], timeout=15) for _ in range(3)]
    tls = [conn(p["tls"], timeout=15) for _ in range(3)]
    pp = [conn(p["pp"], timeout=15) for _ in range(3)]
    texts = [msg("slow-%d" % i) for i in range(3)]
    v1 = b"PROXY TCP4 192.0.2.1 192.0.2.2 1000 2000\r\n"
    cut = set()
    for sec in range(6):
        for i in range(3):
            send_quietly(plain[i], texts[i][sec:sec + 1])
            if i not in cut and not send_quietly(tls[i], hello[sec:sec + 1]):
                cut.add(i)
            send_quietly(pp[i], v1[sec:sec + 1])
        time.sleep(1.0)
    for i in range(3):
        send_quietly(plain[i], texts[i][6:])
        plain[i].close()
    for i in range(3):
        expect_closed("slow TLS handshake #%d" % i, tls[i], 8)
        expect_closed("slow PROXY header #%d" % i, pp[i], 8)


def lying_proxy(p):
    """PROXY headers whose lengths and fields lie."""
    addrs4 = socket.inet_aton("192.0.2.9") + socket.inet_aton("192.0.2.10") + struct.pack("!HH", 1, 2)
    crc_bad = b"\x03\x00\x04\xde\xad\xbe\xef"
    cases = [
        ("v2 len 65535, short", v2(1, 0x11, addrs4, 0xFFFF)),
        ("v2 len 4000, TLV overruns", v2(1, 0x11, addrs4 + b"\x04\x13\x88" + bytes(3972))),
        ("v2 INET6 with 12-byte block", v2(1, 0x21, addrs4)),
        ("v2 bad CRC32C", v2(1, 0x11, addrs4 + crc_bad)),
        ("v2 command 0xF", V2_SIG + b"\x2f\x11\x00\x0c" + addrs4),
        ("v1 no CRLF in 200 bytes", b"PROXY TCP4 " + b"1" * 189),
        ("v1 bad address", b"PROXY TCP4 999.1.1.1 10.0.0.1 1 2\r\n" + msg("never")),
        ("v1 port 65536", b"PROXY TCP4 10.0.0.2 10.0.0.1 65536 2\r\n" + msg("never")),
        ("v2 LOCAL len 3000, stalls", v2(0, 0x00, bytes(100), 3000)),
        ("random", rand_bytes(4096)),
    ]
    for name, data in cases:
        s = conn(p["pp"])
        send_quietly(s, data)
        expect_closed(name, s)
    note("lying_proxy", len(cases))


def random_bytes(p):
    """Random bytes to every port (the flood port excepted)."""
    for key in ("tcp", "tls", "pp"):
        for _ in range(3):
            s = conn(p[key])
            if key == "tls":
                send_quietly(s, tls_noise(4096))
            else:
                send_quietly(s, os.urandom(32768 if key == "tcp" else 4096))
            if key == "tcp":
                s.close()
            else:
                expect_closed("random bytes to %s" % key, s)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(200):
        size = 60000 if i % 50 == 0 else RNG.randint(1, 9000)
        try:
            u.sendto(os.urandom(size), (HOST, p["udp"]))
        except OSError:
            pass
        if i % 20 == 0:
            time.sleep(0.01)
    u.close()


def fill(p):
    """N_FILL TLS connections that finish the handshake and each leave a frame
    of almost max_message_size (8 KiB) pending, held while the rest goes on:
    the per-connection worst case the RSS bound must cover. The frames are
    never ended; the relay closes them when idle and delivers them."""
    ctx = ssl.create_default_context(cafile=p["ca"])
    socks = []
    for i in range(N_FILL):
        t = ctx.wrap_socket(conn(p["tls"], timeout=15), server_hostname="localhost")
        t.sendall(b"<13>1 - - - - - - fill-%d " % i + b"F" * 8000)
        socks.append(t)
    time.sleep(1.5)
    for t in socks:
        t.close()
    note("fill", len(socks))


def flood(p):
    """flood_n connections at once to an input with max_connections; they send
    nothing. The relay must never hold more than max_conns of them (sampled on
    /metrics meanwhile) and must close every one (refused, or timed out)."""
    n, limit = p["flood_n"], p["max_conns"]
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((HOST, p["flood"]))
        socks.append(s)
        sel.register(s, selectors.EVENT_READ)
    peak = 0
    closed = set()
    deadline = time.monotonic() + 20
    next_sample = 0.0
    while len(closed) < n and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data == b"":
                sel.unregister(s)
                closed.add(s.fileno())
        if time.monotonic() >= next_sample:
            v = metric(p["metrics"], 'syslog_relay_input_connections{input="flood-in"}')
            if v is not None:
                peak = max(peak, int(v))
            next_sample = time.monotonic() + 0.25
    for s in socks:
        s.close()
    sel.close()
    note("flood_sent", n)
    note("flood_closed_by_relay", len(closed))
    note("flood_peak_open", peak)
    if len(closed) < n:
        fail("flood: relay left %d of %d connections open after 20 s" % (n - len(closed), n))
    if peak > limit:
        fail("flood: %d connections open at once, max_connections is %d" % (peak, limit))


def attack(p):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = p["flood_n"] + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    jobs = [oversized, tls_garbage, half_open, slow, lying_proxy, random_bytes, fill, flood]
    threads = []
    for job in jobs:
        def run(job=job):
            try:
                job(p)
            except Exception as e:  # a client-side error is a finding too
                fail("%s: %s: %s" % (job.__name__, type(e).__name__, e))
        t = threading.Thread(target=run, name=job.__name__)
        t.start()
        threads.append(t)
    for t in threads:
        t.join(40)
        if t.is_alive():
            fail("%s did not finish within 40 s" % t.name)
    print(json.dumps({"notes": notes, "failures": failures}, sort_keys=True))
    return 1 if failures else 0


# ---- normal traffic ---------------------------------------------------------

N_FILL = 200
N_TCP_LF, N_TCP_OCT, N_TLS, N_UDP, N_PP = 300, 100, 200, 100, 50
PP_SOURCE = "192.0.2.44"


def expected():
    """message -> (input, source) for everything that must arrive once."""
    e = {}
    for i in range(N_TCP_LF):
        e["normal tcp lf %d" % i] = ("tcp-in", HOST)
    for i in range(N_TCP_OCT):
        e["normal tcp octet %d" % i] = ("tcp-in", HOST)
    for i in range(N_TLS):
        e["normal tls %d" % i] = ("tls-in", HOST)
    for i in range(N_UDP):
        e["normal udp %d" % i] = ("udp-in", HOST)
    for i in range(N_PP):
        e["normal pp %d" % i] = ("pp-in", PP_SOURCE)
    e["after-oversize"] = ("tcp-in", HOST)
    for i in range(3):
        e["slow-%d" % i] = ("tcp-in", HOST)
    return e


def normal(p):
    s = conn(p["tcp"])
    s.sendall(b"".join(msg("normal tcp lf %d" % i) for i in range(N_TCP_LF)))
    for i in range(N_TCP_OCT):
        m = msg("normal tcp octet %d" % i)[:-1]
        s.sendall(b"%d %s" % (len(m), m))
    s.close()

    ctx = ssl.create_default_context(cafile=p["ca"])
    t = ctx.wrap_socket(conn(p["tls"]), server_hostname="localhost")
    for i in range(N_TLS):
        m = msg("normal tls %d" % i)
        t.sendall(m if i % 2 else b"%d %s" % (len(m), m))
    t.close()

    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(N_UDP):
        u.sendto(msg("normal udp %d" % i)[:-1], (HOST, p["udp"]))
        time.sleep(0.002)
    u.close()

    addrs = socket.inet_aton(PP_SOURCE) + socket.inet_aton("192.0.2.1") + struct.pack("!HH", 3333, 601)
    s = conn(p["pp"])
    s.sendall(v2(1, 0x11, addrs) + b"".join(msg("normal pp %d" % i) for i in range(N_PP)))
    s.close()
    return 0


def verify(p, out):
    want = expected()
    seen = {}
    with open(out, "rb") as f:
        for raw in f:
            r = json.loads(raw.decode("utf-8"))
            m = r["message"]
            if m in want:
                seen.setdefault(m, []).append(r)
    bad = []
    for m, (inp, src) in sorted(want.items()):
        rs = seen.get(m, [])
        if len(rs) != 1:
            bad.append("%r arrived %d times" % (m, len(rs)))
            continue
        r = rs[0]
        if r["input"] != inp or r["source"] != src:
            bad.append("%r: input %s source %s" % (m, r["input"], r["source"]))
        if r["format"] != "rfc5424" or r["hostname"] != "hhost" or r["app_name"] != "happ":
            bad.append("%r: parsed as %s %s %s" % (m, r["format"], r["hostname"], r["app_name"]))
    for b in bad[:20]:
        print(b, file=sys.stderr)
    print("%d of %d expected messages arrived intact" % (len(want) - len(bad), len(want)))
    return 1 if bad else 0


def main():
    cmd = sys.argv[1]
    with open(sys.argv[2]) as f:
        p = json.load(f)
    if cmd == "attack":
        return attack(p)
    if cmd == "normal":
        return normal(p)
    if cmd == "verify":
        return verify(p, sys.argv[3])
    if cmd == "expected-count":
        print(len(expected()))
        return 0
    sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    sys.exit(main())

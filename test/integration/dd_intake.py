#!/usr/bin/env python3
"""dd_intake.py: local stand-ins for Datadog's log intakes, for tests.

Two servers, Python 3 standard library only, both on 127.0.0.1, port 0,
the chosen port written to --port-file once listening:

  dd_intake.py tls --cert C --key K --api-key KEY --port-file F --out DIR
      [--close-after N]
    The TLS syslog intake. Every line must be exactly KEY, one space, a
    valid RFC 5424 line (PRI, version 1, timestamp, header fields, SD with
    correctly escaped values), LF. Valid lines go (without the key) to
    DIR/accepted, invalid ones to DIR/rejected with the reason; connection
    events go to DIR/events ("connect", "handshake-failed ...", "closed N").
    --close-after N: close each connection after N lines, at a line
    boundary (the way Datadog drops a connection between batches).
    --count-only: no checks, only count lines (for the benchmark).

  dd_intake.py https --cert C --key K --api-key KEY --port-file F --out DIR
      [--fail STATUS:N ...] [--require-gzip] [--hold-first FILE]
    The HTTP logs intake, POST /api/v2/logs. Checks DD-API-KEY (403
    otherwise), Content-Type, Content-Encoding gzip, at most 5,000,000
    bytes uncompressed, a JSON array of 1..1000 objects each with string
    message, status and hostname (400 otherwise). Entries of answered-2xx
    requests go to DIR/accepted, one JSON object per line; every request
    is summarised in DIR/requests as "STATUS ENTRIES BYTES ENCODING".
    --fail STATUS:N: answer STATUS (500, 429, 413, 403 ...) to the next N
    well-formed requests, in the order given, before accepting.
    --hold-first FILE: hold the answer to the first request until FILE
    exists (so the relay's queue fills and the next batches are full).

Stops on SIGTERM or SIGINT.
"""
import argparse
import gzip
import http.server
import json
import os
import re
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time

LOCK = threading.Lock()
REASONS = {400: "Bad Request", 403: "Forbidden", 408: "Request Timeout",
           413: "Payload too large", 429: "Too Many Requests", 500: "Internal Server Error",
           503: "Service Unavailable"}

PRINT = r"[\x21-\x7e]"
TIME_RE = re.compile(
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d"
    r"(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$")


def append(path, text):
    with LOCK:
        with open(path, "a", encoding="utf-8", errors="surrogateescape") as f:
            f.write(text)
            f.flush()


def field(s, pos, maxlen, name):
    """A header field: '-' or 1..maxlen PRINTUSASCII, then one space."""
    end = s.find(" ", pos)
    if end < 0:
        raise ValueError("%s: no space after it" % name)
    v = s[pos:end]
    if not v or len(v) > maxlen or not re.fullmatch(PRINT + "+", v):
        raise ValueError("%s: invalid %r" % (name, v))
    return v, end + 1


def parse_sd(s, pos):
    """Structured data at s[pos:]: '-' or elements. Returns (elems, pos)."""
    if s.startswith("-", pos):
        return [], pos + 1
    elems = []
    if not s.startswith("[", pos):
        raise ValueError("SD: neither '-' nor '['")
    while pos < len(s) and s[pos] == "[":
        pos += 1
        m = re.compile(r'[^= \]"]{1,32}').match(s, pos)
        if not m or not all("\x21" <= c <= "\x7e" for c in m.group(0)):
            raise ValueError("SD-ID invalid at %d" % pos)
        sdid = m.group(0)
        pos = m.end()
        params = []
        while s.startswith(" ", pos):
            pos += 1
            m = re.compile(r'[^= \]"]{1,32}').match(s, pos)
            if not m or not all("\x21" <= c <= "\x7e" for c in m.group(0)):
                raise ValueError("PARAM-NAME invalid at %d" % pos)
            name = m.group(0)
            pos = m.end()
            if not s.startswith('="', pos):
                raise ValueError("PARAM %s: no =\"" % name)
            pos += 2
            val = []
            while True:
                if pos >= len(s):
                    raise ValueError("PARAM %s: unterminated value" % name)
                c = s[pos]
                if c == "\\" and pos + 1 < len(s) and s[pos + 1] in '"\\]':
                    val.append(s[pos + 1])
                    pos += 2
                elif c == '"':
                    pos += 1
                    break
                elif c == "]":
                    raise ValueError("PARAM %s: unescaped ']' in value" % name)
                else:
                    val.append(c)
                    pos += 1
            params.append((name, "".join(val)))
        if not s.startswith("]", pos):
            raise ValueError("SD element %s: no closing ']'" % sdid)
        pos += 1
        elems.append((sdid, params))
    return elems, pos


def check_5424(s):
    """Raise ValueError unless s is a valid RFC 5424 line (no LF)."""
    m = re.match(r"<(0|[1-9]\d{0,2})>1 ", s)
    if not m or int(m.group(1)) > 191:
        raise ValueError("PRI or version")
    pos = m.end()
    ts, pos = field(s, pos, 64, "TIMESTAMP")
    if ts != "-" and not TIME_RE.match(ts):
        raise ValueError("TIMESTAMP %r" % ts)
    _, pos = field(s, pos, 255, "HOSTNAME")
    _, pos = field(s, pos, 48, "APP-NAME")
    _, pos = field(s, pos, 128, "PROCID")
    _, pos = field(s, pos, 32, "MSGID")
    elems, pos = parse_sd(s, pos)
    ids = [e[0] for e in elems]
    if len(set(ids)) != len(ids):
        raise ValueError("SD-ID repeated")
    if pos < len(s) and s[pos] != " ":
        raise ValueError("no space before MSG")
    if "\n" in s or "\r" in s:
        raise ValueError("CR or LF inside the line")


# ---- TLS syslog intake ------------------------------------------------------

class TlsHandler(socketserver.BaseRequestHandler):
    def handle(self):
        opts = self.server.opts
        ev = os.path.join(opts.out, "events")
        try:
            conn = self.server.ctx.wrap_socket(self.request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            append(ev, "handshake-failed %s\n" % e.__class__.__name__)
            return
        append(ev, "connect\n")
        prefix = (opts.api_key + " ").encode()
        buf = b""
        n = 0
        if opts.count_only:
            self.count(conn, ev)
            return
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                buf += data
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    n += 1
                    self.one(raw, prefix)
                    if opts.close_after and n >= opts.close_after and not buf:
                        append(ev, "closed %d\n" % n)
                        conn.close()
                        return
        except (ssl.SSLError, OSError):
            pass
        if buf:
            append(os.path.join(opts.out, "rejected"), "no LF at end: %r\n" % buf[:200])
        append(ev, "eof %d\n" % n)

    def count(self, conn, ev):
        """Benchmark mode: count LFs only, and write the total at EOF."""
        n = 0
        try:
            while True:
                data = conn.recv(1 << 20)
                if not data:
                    break
                n += data.count(b"\n")
        except (ssl.SSLError, OSError):
            pass
        append(ev, "eof %d\n" % n)

    def one(self, raw, prefix):
        opts = self.server.opts
        try:
            if not raw.startswith(prefix):
                raise ValueError("does not start with the API key and one space")
            line = raw[len(prefix):].decode("utf-8")
            check_5424(line)
        except (ValueError, UnicodeDecodeError) as e:
            append(os.path.join(opts.out, "rejected"),
                   "%s: %r\n" % (e, raw.replace(opts.api_key.encode(), b"<KEY>")[:300]))
            return
        append(os.path.join(opts.out, "accepted"), line + "\n")


class TlsServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


# ---- HTTPS logs intake ------------------------------------------------------

class HttpHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body):
        b = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def do_POST(self):
        opts = self.server.opts
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        enc = self.headers.get("Content-Encoding", "identity")
        entries = 0
        status, reply = 202, "{}"
        try:
            if self.path.split("?")[0] != "/api/v2/logs":
                raise LookupError("path %s" % self.path)
            if self.headers.get("DD-API-KEY") != opts.api_key:
                status, reply = 403, '{"errors":["Forbidden"]}'
                raise PermissionError()
            if self.headers.get("Content-Type") != "application/json":
                raise ValueError("Content-Type %s" % self.headers.get("Content-Type"))
            if enc == "gzip":
                body = gzip.decompress(body)
            elif opts.require_gzip or enc != "identity":
                raise ValueError("Content-Encoding %s" % enc)
            if len(body) > 5000000:
                status, reply = 413, '{"errors":["Payload too large"]}'
                raise PermissionError()
            arr = json.loads(body.decode("utf-8"))
            if not isinstance(arr, list) or not 1 <= len(arr) <= 1000:
                raise ValueError("not an array of 1..1000 entries")
            for e in arr:
                if not isinstance(e, dict):
                    raise ValueError("entry not an object")
                for k in ("message", "status", "hostname"):
                    if not isinstance(e.get(k), str):
                        raise ValueError("entry without string %s" % k)
            entries = len(arr)
        except PermissionError:
            arr = None
        except LookupError as e:
            status, reply, arr = 404, json.dumps({"errors": [str(e)]}), None
        except (ValueError, OSError, EOFError) as e:
            status, reply, arr = 400, json.dumps({"errors": [str(e)]}), None
            append(os.path.join(opts.out, "rejected"), "%s\n" % e)
        with LOCK:
            hold, opts.hold_first = opts.hold_first, None
        while hold and not os.path.exists(hold):
            time.sleep(0.05)
        if status == 202:
            with LOCK:
                if opts.fail_queue:
                    status = opts.fail_queue.pop(0)
                    reply = json.dumps({"errors": [REASONS.get(status, "injected")]})
        if status == 202:
            append(os.path.join(opts.out, "accepted"),
                   "".join(json.dumps(e, sort_keys=True) + "\n" for e in arr))
        append(os.path.join(opts.out, "requests"),
               "%d %d %d %s\n" % (status, entries, len(body), enc))
        self.answer(status, reply)


class HttpServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["tls", "https"])
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--api-key", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--close-after", type=int, default=0)
    ap.add_argument("--count-only", action="store_true")
    ap.add_argument("--fail", action="append", default=[])
    ap.add_argument("--require-gzip", action="store_true")
    ap.add_argument("--hold-first", metavar="FILE")
    opts = ap.parse_args()
    opts.fail_queue = []
    for f in opts.fail:
        st, n = f.split(":")
        opts.fail_queue += [int(st)] * int(n)
    os.makedirs(opts.out, exist_ok=True)
    for name in ("accepted", "rejected", "events", "requests"):
        open(os.path.join(opts.out, name), "a").close()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(opts.cert, opts.key)
    if opts.mode == "tls":
        srv = TlsServer(("127.0.0.1", 0), TlsHandler)
        srv.ctx = ctx
    else:
        srv = HttpServer(("127.0.0.1", 0), HttpHandler)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.opts = opts

    def stop(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    tmp = opts.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, opts.port_file)
    srv.serve_forever(poll_interval=0.2)
    srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

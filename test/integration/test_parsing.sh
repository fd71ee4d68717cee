#!/usr/bin/env bash
# Parsers end to end through the real binary: RFC 5424 with structured data
# and a BOM, RFC 3164 shapes from real senders, time completion with the
# input's timezone (Europe/Berlin and America/New_York, DST included),
# forced formats, raw records with their parse_error, and a bad timezone
# refused by --check. Asserts the JSON records written.
. "$(dirname "$0")/lib.sh"
R="python3 $SR_SOURCE/test/integration/records.py"

cat >"$T/relay.yaml" <<YAML
inputs:
  - name: auto-in
    type: udp
    listen: "127.0.0.1:0"
  - name: berlin-in
    type: udp
    listen: "127.0.0.1:0"
    timezone: Europe/Berlin
  - name: ny-in
    type: udp
    listen: "127.0.0.1:0"
    format: rfc3164
    timezone: America/New_York
  - name: strict-in
    type: udp
    listen: "127.0.0.1:0"
    format: rfc5424
outputs:
  - name: all
    type: file
    path: $T/out.json
    format: json
YAML
sr_start_relay "$T/relay.yaml"
AUTO=$(sr_port auto-in); BER=$(sr_port berlin-in); NY=$(sr_port ny-in); STRICT=$(sr_port strict-in)
[ -n "$AUTO" ] && [ -n "$BER" ] && [ -n "$NY" ] && [ -n "$STRICT" ] || sr_fail "ports not logged"

# Yesterday at 12:00 and 01 July / 15 January of this year, as BSD times,
# with the RFC 3339 forms each zone must give them (written by Python's own
# zoneinfo, independent of relay/tz.c).
python3 - "$AUTO" "$BER" "$NY" "$STRICT" "$T/expect" <<'PY'
import socket, sys, datetime
from zoneinfo import ZoneInfo
auto, ber, ny, strict, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
MON = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
def bsd(d): return "%s %2d %02d:%02d:%02d" % (MON[d.month - 1], d.day, d.hour, d.minute, d.second)
def want(d, zone):
    return d.replace(tzinfo=ZoneInfo(zone)).isoformat()
exp = {}
def send(port, frame):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(frame, ("127.0.0.1", port)); s.close()
for zone, port, tag in (("UTC", auto, "utc"), ("Europe/Berlin", ber, "ber"), ("America/New_York", ny, "ny")):
    now = datetime.datetime.now(ZoneInfo(zone))
    y = (now - datetime.timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0, tzinfo=None)
    send(port, ("<13>%s host app[1]: %s yesterday" % (bsd(y), tag)).encode())
    exp[tag + "_yesterday"] = want(y, zone)
    # More than 7 days ahead: last year.
    f = (now + datetime.timedelta(days=30)).replace(hour=12, minute=0, second=0, microsecond=0, tzinfo=None)
    send(port, ("<13>%s host app: %s future" % (bsd(f), tag)).encode())
    exp[tag + "_future"] = want(f.replace(year=f.year - 1), zone) if not (f.month == 2 and f.day == 29) else None
    for m in (1, 7):
        d = datetime.datetime(now.year, m, 15, 12, 0, 0)
        if d > now.replace(tzinfo=None) + datetime.timedelta(days=7):
            d = d.replace(year=now.year - 1)
        send(port, ("<13>%s host app: %s month %d" % (bsd(d), tag, m)).encode())
        exp["%s_month_%d" % (tag, m)] = want(d, zone)
frames = [
    (auto, b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
           b"[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]"
           b"[examplePriority@32473 class=\"high\"] \xef\xbb\xbfAn application event log entry"),
    (auto, b"<13>1 2026-11-21T22:42:07.581084+00:00 vm lgapp - - [a k=\"x\\\"y\\\\z\" k=\"2\"] escapes"),
    (auto, b"<189>123: *Nov 21 22:42:07.123 UTC: %SYS-5-CONFIG_I: cisco ios"),
    (auto, b"<166>%ASA-6-302013: asa without time"),
    (auto, b"<13>2026-11-21T22:42:34.950154+00:00 rshost rsapp: rsyslog forward format"),
    (auto, b"<38>text only"),
    (auto, b"<13>1 2026-13-21T22:42:07Z h a - - - broken 5424"),
    (auto, b"<192>Nov 21 22:42:07 h a: bad pri"),
    (auto, b"no header at all"),
    (strict, b"<34>Nov 21 22:42:07 h app: 3164 on strict"),
    (strict, b"<34>1 - h app - - - 5424 on strict"),
]
for port, fr in frames:
    send(port, fr)
with open(out, "w") as f:
    for k, v in exp.items():
        f.write("%s %s\n" % (k, v))
PY
N=$((3 * 4 + 11))
sr_wait_lines "$T/out.json" $N
$R "$T/out.json" check || sr_fail "records do not have exactly the INTERFACE fields"
sr_assert_eq $N "$($R "$T/out.json" count)" "record count"

f() { $R "$T/out.json" find "$1" "$2" || sr_fail "no single record '$1'"; }
e() { awk -v k="$1" '$1 == k { print $2 }' "$T/expect"; }

# Completed RFC 3164 times, per zone.
for tag in utc ber ny; do
    sr_assert_eq "\"$(e ${tag}_yesterday)\"" "$(f "$tag yesterday" timestamp)" "$tag yesterday"
    sr_assert_eq "\"$(e ${tag}_month_1)\"" "$(f "$tag month 1" timestamp)" "$tag January"
    sr_assert_eq "\"$(e ${tag}_month_7)\"" "$(f "$tag month 7" timestamp)" "$tag July"
    if [ "$(e ${tag}_future)" != None ]; then
        sr_assert_eq "\"$(e ${tag}_future)\"" "$(f "$tag future" timestamp)" "$tag future is last year"
    fi
    sr_assert_eq '"rfc3164"' "$(f "$tag yesterday" format)" "$tag format"
    sr_assert_eq '"host"' "$(f "$tag yesterday" hostname)" "$tag hostname"
    sr_assert_eq '"app"' "$(f "$tag yesterday" app_name)" "$tag app_name"
    sr_assert_eq '"1"' "$(f "$tag yesterday" procid)" "$tag procid"
done
f 'ber month 7' timestamp | grep -q '+02:00"$' || sr_fail "Berlin summer offset"
f 'ber month 1' timestamp | grep -q '+01:00"$' || sr_fail "Berlin winter offset"
f 'ny month 7' timestamp | grep -q -- '-04:00"$' || sr_fail "New York summer offset"

# RFC 5424, section 6.5 example 4 plus a message with a BOM.
M='An application event log entry'
sr_assert_eq '"rfc5424"' "$(f "$M" format)" "5424 format"
sr_assert_eq 20 "$(f "$M" facility)" "5424 facility"
sr_assert_eq 5 "$(f "$M" severity)" "5424 severity"
sr_assert_eq 1 "$(f "$M" version)" "5424 version"
sr_assert_eq '"2003-10-11T22:14:15.003Z"' "$(f "$M" timestamp)" "5424 timestamp"
sr_assert_eq '"mymachine.example.com"' "$(f "$M" hostname)" "5424 hostname"
sr_assert_eq '"evntslog"' "$(f "$M" app_name)" "5424 app_name"
sr_assert_eq null "$(f "$M" procid)" "5424 procid"
sr_assert_eq '"ID47"' "$(f "$M" msgid)" "5424 msgid"
sr_assert_eq '{"exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"}, "examplePriority@32473": {"class": "high"}}' \
    "$(f "$M" structured_data)" "5424 structured data"
sr_assert_eq '{"a": {"k": ["x\"y\\z", "2"]}}' "$(f escapes structured_data)" "escapes and repeats"

# RFC 3164 shapes.
sr_assert_eq '"%SYS-5-CONFIG_I"' "$(f 'cisco ios' app_name)" "IOS mnemonic"
sr_assert_eq null "$(f 'cisco ios' hostname)" "IOS has no hostname"
f 'cisco ios' timestamp | grep -Eq '^"[0-9]{4}-11-21T22:42:07\.123\+00:00"$' || sr_fail "IOS time"
sr_assert_eq '"%ASA-6-302013"' "$(f 'asa without time' app_name)" "ASA tag"
sr_assert_eq null "$(f 'asa without time' timestamp)" "ASA without time"
sr_assert_eq '"2026-11-21T22:42:34.950154+00:00"' "$(f 'rsyslog forward format' timestamp)" "RFC 3339 kept"
sr_assert_eq '"rfc3164"' "$(f 'text only' format)" "PRI and text"
sr_assert_eq 4 "$(f 'text only' facility)" "PRI and text facility"
sr_assert_eq null "$(f 'text only' app_name)" "PRI and text app"

# Raw records.
RAW1='<13>1 2026-13-21T22:42:07Z h a - - - broken 5424'
sr_assert_eq '"raw"' "$(f "$RAW1" format)" "broken 5424 is raw"
sr_assert_eq '"invalid RFC 5424 timestamp at offset 6"' "$(f "$RAW1" parse_error)" "broken 5424 reason"
RAW2='<192>Nov 21 22:42:07 h a: bad pri'
sr_assert_eq '"invalid PRI"' "$(f "$RAW2" parse_error)" "bad PRI reason"
sr_assert_eq 1 "$(f "$RAW2" facility)" "bad PRI facility"
sr_assert_eq 5 "$(f "$RAW2" severity)" "bad PRI severity"
sr_assert_eq '"no PRI"' "$(f 'no header at all' parse_error)" "no PRI reason"
RAW3='<34>Nov 21 22:42:07 h app: 3164 on strict'
sr_assert_eq '"raw"' "$(f "$RAW3" format)" "3164 on an rfc5424 input"
sr_assert_eq 4 "$(f "$RAW3" facility)" "raw keeps the PRI facility"
sr_assert_eq 2 "$(f "$RAW3" severity)" "raw keeps the PRI severity"
sr_assert_eq '"rfc5424"' "$(f '5424 on strict' format)" "5424 on an rfc5424 input"
sr_stop_relay

# A bad timezone is a configuration error.
sed 's#timezone: Europe/Berlin#timezone: Mars/Base#' "$T/relay.yaml" >"$T/bad.yaml"
"$SR_BIN" -c "$T/bad.yaml" --check >"$T/check.out" 2>&1 && sr_fail "--check accepted Mars/Base"
grep -q "Mars/Base" "$T/check.out" || sr_fail "--check did not name the zone: $(cat "$T/check.out")"
sr_ok "parsers end to end: RFC 5424, RFC 3164 shapes and zones, raw records"

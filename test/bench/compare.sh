#!/usr/bin/env bash
# compare.sh: syslog-relay side by side with rsyslog and syslog-ng (and a
# plain socat copy, the ceiling of the sender) on this machine, same job,
# same sender, same run. Prints a table: messages per second delivered,
# loss, CPU seconds of the server per million messages, peak RSS, and the
# ratio of syslog-relay to each peer.
#
#   test/bench/compare.sh            # 3 runs of 10 s per case, median
#   test/bench/compare.sh --quick    # 1 run of 3 s per case
#
# Environment (all optional):
#   SCENARIOS="tcp udp tls redact redis"   which cases
#   SERVERS="socat rsyslog syslog-ng relay" which servers (socat: tcp only)
#   SENDER=loggen|srgen    loggen (syslog-ng's, the default) or srgen (ours,
#                          test/bench/srgen.c, for when loggen is the limit)
#   DUR=10 RUNS=3 CONNS=4 SIZE=300 UDP_RATE=100000
#   SR_BIN=...             a built syslog-relay (else built here, Release)
#   WORKERS=N              the relay's `workers:` (default: one per core)
#   RELAY_MAX_MEMORY=...   the relay output's buffer.max_memory (default: the
#                          relay's own default, 64 MiB)
#   BENCH_DIR=/tmp/sr-bench   work directory (configs, outputs, tools)
#
# It installs what it needs from Debian (syslog-ng-core for loggen and
# syslog-ng, socat, redis-server, rsyslog's libraries) and unpacks
# rsyslog into BENCH_DIR with apt-get download + dpkg -x, because the
# rsyslog and syslog-ng-core packages conflict. Needs root for apt-get.
# Not a test: it is never run by CTest or CI.
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
W=${BENCH_DIR:-/tmp/sr-bench}
DUR=${DUR:-10}
RUNS=${RUNS:-3}
if [ "${1:-}" = "--quick" ]; then
    DUR=${QUICK_DUR:-3}
    RUNS=1
fi
CONNS=${CONNS:-4}
SIZE=${SIZE:-300}
UDP_RATE=${UDP_RATE:-100000}
SENDER=${SENDER:-loggen}
SCENARIOS=${SCENARIOS:-"tcp udp tls redact redis"}
SERVERS=${SERVERS:-"socat rsyslog syslog-ng relay"}
# The relay's output queue bound (buffer.max_memory); empty: its default,
# 64 MiB. While the output delivers, flow control (buffer.flow_window,
# 4 MiB) holds the sender long before that bound.
RELAY_MAX_MEMORY=${RELAY_MAX_MEMORY-}
RESULTS=$W/results.tsv
mkdir -p "$W"

say() { printf '%s\n' "$*" >&2; }
die() { say "compare.sh: $*"; exit 1; }

# ---- set-up ---------------------------------------------------------------

setup() {
    local need=() p
    command -v loggen >/dev/null || need+=(syslog-ng-core)
    command -v socat >/dev/null || need+=(socat)
    command -v redis-server >/dev/null || need+=(redis-server)
    for p in libestr0 libfastjson4 liblognorm5 libhiredis0.14 perl; do
        dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
    done
    if [ ! -e /usr/lib/syslog-ng/3.38/libredis.so ] && ! dpkg -s syslog-ng-mod-redis >/dev/null 2>&1; then
        need+=(syslog-ng-mod-redis)
    fi
    if [ ${#need[@]} -gt 0 ]; then
        say "installing: ${need[*]}"
        apt-get update -qq >/dev/null 2>&1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 ||
            for p in "${need[@]}"; do
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null 2>&1 ||
                    say "could not install $p"
            done
    fi
    if [ ! -x "$W/rsyslog/usr/sbin/rsyslogd" ]; then
        say "unpacking rsyslog into $W/rsyslog"
        mkdir -p "$W/debs" "$W/rsyslog"
        (cd "$W/debs" && apt-get download rsyslog rsyslog-openssl rsyslog-hiredis >/dev/null 2>&1) ||
            die "apt-get download rsyslog failed"
        for p in "$W"/debs/*.deb; do dpkg -x "$p" "$W/rsyslog"; done
    fi
    RSYSLOGD=$W/rsyslog/usr/sbin/rsyslogd
    RSYSLOG_MODS=$W/rsyslog/usr/lib/x86_64-linux-gnu/rsyslog
    if [ -z "${SR_BIN:-}" ]; then
        say "building syslog-relay (Release) in $W/build"
        cmake -S "$SRC" -B "$W/build" -DCMAKE_BUILD_TYPE=Release >/dev/null &&
            cmake --build "$W/build" -j2 --target syslog-relay >/dev/null || die "build failed"
        SR_BIN=$W/build/syslog-relay
    fi
    cc -O2 -o "$W/srgen" "$SRC/test/bench/srgen.c" -lssl -lcrypto -lpthread || die "srgen build"
    if [ ! -s "$W/certs/server.crt" ]; then
        mkdir -p "$W/certs"
        (cd "$W/certs" &&
            openssl req -x509 -newkey rsa:2048 -nodes -keyout server.key -out server.crt -days 30 \
                -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
                2>/dev/null) || die "openssl"
    fi
    # TLS 1.3 session tickets off for every server (loggen closes without
    # reading them, and the reset would discard data still unread).
    cat >"$W/openssl.cnf" <<'EOF'
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
NumTickets = 0
Options = -SessionTicket
EOF
    # The redaction sender's messages (loggen -R): card numbers, e-mails.
    : >"$W/secrets.txt"
    local i cards=("4111 1111 1111 1111" "5500-0000-0000-0004" "340000000000009" "6011000000000004")
    local mails=("jane.doe@example.com" "bob+billing@example.org" "ops@mail.example.net" "x.y@corp.example.io")
    for i in $(seq 0 63); do
        printf '<38>1 2026-11-21T12:00:00+00:00 bench%02d loggen 1234 - - order %d paid by %s with card %s, total 19.99 EUR %s\n' \
            $((i % 8)) "$i" "${mails[$((i % 4))]}" "${cards[$((i / 4 % 4))]}" \
            "$(head -c $((SIZE > 200 ? SIZE - 200 : 1)) /dev/zero | tr '\0' 'P')" >>"$W/secrets.txt"
    done
    cat >"$W/redact.pl" <<'EOF'
#!/usr/bin/perl
# mmexternal filter for rsyslog: the two masking rules, one JSON answer per line.
$| = 1;
while (my $l = <STDIN>) {
    chomp $l;
    $l =~ s/(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])/[REDACTED-CARD]/g;
    $l =~ s/[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,63}/[REDACTED-EMAIL]/g;
    $l =~ s/(["\\])/\\$1/g;
    print "{\"msg\": \"$l\"}\n";
}
EOF
    chmod +x "$W/redact.pl"
}

# ---- measuring --------------------------------------------------------------

ticks_of() { # utime+stime of a process, its live children and its reaped ones, in ticks
    local p=$1 t=0 c
    [ -r "/proc/$p/stat" ] || { echo 0; return; }
    t=$(awk '{sub(/.*\) /, ""); print $12 + $13 + $14 + $15}' "/proc/$p/stat")
    for c in $(pgrep -P "$p"); do
        t=$((t + $(ticks_of "$c")))
    done
    echo "$t"
}
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
now_s() { date +%s.%N; }
# "STEAL TOTAL": the machine's stolen and total CPU ticks so far (/proc/stat).
# On a virtual machine the hypervisor's steal changes every figure here,
# the peers' as much as the relay's; a run's share of it is in the table.
cpu_ticks() { awk '$1 == "cpu" {t = 0; for (i = 2; i <= 9; i++) t += $i; print $9, t; exit}' /proc/stat; }

wait_listen() { # PROTO PORT: until something listens there (10 s)
    local i flag=-Hltn
    [ "$1" = udp ] && flag=-Hlun
    for i in $(seq 1 200); do
        ss $flag "sport = :$2" 2>/dev/null | grep -q . && return 0
        sleep 0.05
    done
    return 1
}

# The size of what the server wrote so far (bytes of the file, or entries
# of the Redis list).
out_size() {
    if [ "$SCEN" = redis ]; then
        redis-cli -p "$RPORT" llen bench 2>/dev/null || echo 0
    else
        stat -c %s "$OUT" 2>/dev/null || echo 0
    fi
}

# ---- servers ----------------------------------------------------------------

proto_of() { case $SCEN in udp) echo udp ;; tls) echo tls ;; *) echo tcp ;; esac; }

start_relay() {
    local p=$(proto_of) extra="" red="" out
    [ "$p" = tls ] && extra=", cert_file: \"$W/certs/server.crt\", key_file: \"$W/certs/server.key\""
    [ "$SCEN" = redact ] && red=$'redact:\n  - builtin: credit_card\n  - builtin: email'
    if [ "$SCEN" = redis ]; then
        out="{name: out, type: redis, url: \"redis://127.0.0.1:$RPORT/0\", key: bench, mode: list, codec: json"
    else
        out="{name: out, type: file, path: \"$OUT\", format: json"
    fi
    [ -n "$RELAY_MAX_MEMORY" ] && out="$out, buffer: {max_memory: $RELAY_MAX_MEMORY}"
    out="$out}"
    cat >"$D/relay.yaml" <<EOF
log_level: warning
${WORKERS:+workers: $WORKERS}
inputs:
  - {name: in, type: $p, listen: "127.0.0.1:$PORT"$extra}
$red
outputs:
  - $out
EOF
    "$SR_BIN" -c "$D/relay.yaml" >"$D/relay.stdout" 2>"$D/relay.log" &
    SPID=$!
}

start_rsyslog() {
    local p=$(proto_of) input act tlsg=""
    case $p in
    udp) input="module(load=\"imudp\")
input(type=\"imudp\" address=\"127.0.0.1\" port=\"$PORT\" rcvbufSize=\"8m\" ruleset=\"bench\")" ;;
    tls) tlsg="defaultNetstreamDriver=\"ossl\" defaultNetstreamDriverCertFile=\"$W/certs/server.crt\"
       defaultNetstreamDriverKeyFile=\"$W/certs/server.key\" defaultNetstreamDriverCAFile=\"$W/certs/server.crt\""
        input="module(load=\"imtcp\" maxSessions=\"1000\" streamDriver.name=\"ossl\" streamDriver.mode=\"1\" streamDriver.authMode=\"anon\")
input(type=\"imtcp\" address=\"127.0.0.1\" port=\"$PORT\" ruleset=\"bench\")" ;;
    *) input="module(load=\"imtcp\" maxSessions=\"1000\")
input(type=\"imtcp\" address=\"127.0.0.1\" port=\"$PORT\" ruleset=\"bench\")" ;;
    esac
    case $SCEN in
    redis) act="module(load=\"omhiredis\")
  action(type=\"omhiredis\" server=\"127.0.0.1\" serverport=\"$RPORT\" mode=\"queue\" key=\"bench\")" ;;
    redact) act="module(load=\"mmexternal\")
  action(type=\"mmexternal\" binary=\"$W/redact.pl\" interface.input=\"msg\")
  action(type=\"omfile\" file=\"$OUT\" ioBufferSize=\"256k\" flushOnTXEnd=\"off\")" ;;
    *) act="action(type=\"omfile\" file=\"$OUT\" ioBufferSize=\"256k\" flushOnTXEnd=\"off\")" ;;
    esac
    # Module loads must be at the top level.
    local mods
    mods=$(printf '%s\n' "$act" | grep '^module(' || true)
    act=$(printf '%s\n' "$act" | grep -v '^module(' || true)
    cat >"$D/rsyslog.conf" <<EOF
global(workDirectory="$D" maxMessageSize="64k" $tlsg)
$mods
$input
ruleset(name="bench") {
  $act
}
EOF
    "$RSYSLOGD" -n -M "$RSYSLOG_MODS" -f "$D/rsyslog.conf" -i "$D/rsyslog.pid" \
        >"$D/rsyslog.log" 2>&1 &
    SPID=$!
}

start_syslog_ng() {
    local p=$(proto_of) src dst rw="" rwl=""
    case $p in
    udp) src="syslog(ip(\"127.0.0.1\") port($PORT) transport(\"udp\") so-rcvbuf(8388608))" ;;
    tls) src="syslog(ip(\"127.0.0.1\") port($PORT) transport(\"tls\") max-connections(1000) log-iw-size(100000)
           tls(key-file(\"$W/certs/server.key\") cert-file(\"$W/certs/server.crt\") peer-verify(optional-untrusted)))" ;;
    *) src="syslog(ip(\"127.0.0.1\") port($PORT) transport(\"tcp\") max-connections(1000) log-iw-size(100000))" ;;
    esac
    if [ "$SCEN" = redis ]; then
        dst="redis(host(\"127.0.0.1\") port($RPORT) command(\"RPUSH\", \"bench\", \"\$MSG\"))"
    else
        dst="file(\"$OUT\")"
    fi
    if [ "$SCEN" = redact ]; then
        rw="rewrite r_mask {
  subst('(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])', '[REDACTED-CARD]', value(\"MESSAGE\") type(\"pcre\") flags(\"global\"));
  subst('[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\\.)+[A-Za-z]{2,63}', '[REDACTED-EMAIL]', value(\"MESSAGE\") type(\"pcre\") flags(\"global\"));
};"
        rwl="rewrite(r_mask);"
    fi
    cat >"$D/syslog-ng.conf" <<EOF
@version: 3.35
options { stats-freq(0); keep-hostname(yes); use-dns(no); chain-hostnames(no);
          log-fifo-size(100000); threaded(yes); };
source s_in { $src; };
destination d_out { $dst; };
$rw
log { source(s_in); $rwl destination(d_out); flags(flow-control); };
EOF
    syslog-ng -F --no-caps -f "$D/syslog-ng.conf" -R "$D/syslog-ng.persist" \
        -p "$D/syslog-ng.pid" -c "$D/syslog-ng.ctl" >"$D/syslog-ng.log" 2>&1 &
    SPID=$!
}

start_socat() {
    socat -u TCP-LISTEN:"$PORT",bind=127.0.0.1,reuseaddr,fork OPEN:"$OUT",creat,append \
        >"$D/socat.log" 2>&1 &
    SPID=$!
}

# ---- the sender -------------------------------------------------------------

# Runs the sender for DUR seconds; prints the number of messages sent.
send() {
    local p=$(proto_of) log=$D/sender.log
    if [ "$SENDER" = srgen ]; then
        local mode=plain rate=0 c=$CONNS
        [ "$SCEN" = redact ] && mode=secrets
        [ "$p" = udp ] && { rate=$UDP_RATE; c=1; }
        "$W/srgen" -p "$p" -c "$c" -d "$DUR" -r "$rate" -s "$SIZE" -m "$mode" 127.0.0.1 "$PORT" \
            >"$log" 2>&1
        awk '/^sent/ {print $2}' "$log"
        return
    fi
    local args=(-P -s "$SIZE" -I "$DUR")
    case $p in
    udp) args+=(-i -D -r "$UDP_RATE" --active-connections=1) ;;
    tls) args+=(-U -r 100000000 --active-connections="$CONNS") ;;
    *) args+=(-i -S -r 100000000 --active-connections="$CONNS") ;;
    esac
    [ "$SCEN" = redact ] && args+=(-R "$W/secrets.txt" -l)
    loggen "${args[@]}" 127.0.0.1 "$PORT" >"$log" 2>&1
    sed -n 's/.*average rate.*count=\([0-9]*\),.*/\1/p' "$log" | tail -1
}

# ---- one measurement ---------------------------------------------------------

# run_one SERVER: start it, send, wait until its output stops growing,
# record a line in RESULTS.
run_one() {
    local srv=$1 t0 t1 tl c0 c1 hwm sent got last cur stable hz frame st0 st1
    D=$W/run/$SCEN-$srv
    rm -rf "$D"
    mkdir -p "$D"
    OUT=$D/out.log
    PORT=$((20000 + RANDOM % 20000))
    RPID=
    if [ "$SCEN" = redis ]; then
        RPORT=$((40000 + RANDOM % 10000))
        redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no \
            --daemonize no >"$D/redis.log" 2>&1 &
        RPID=$!
        wait_listen tcp "$RPORT" || die "redis-server did not start"
    fi
    export OPENSSL_CONF=$W/openssl.cnf
    "start_${srv//-/_}"
    if ! wait_listen "$( [ "$(proto_of)" = udp ] && echo udp || echo tcp)" "$PORT"; then
        say "$SCEN/$srv: server did not start (see $D)"
        kill "$SPID" 2>/dev/null
        [ -n "$RPID" ] && kill "$RPID"
        return
    fi
    sleep 0.3
    c0=$(ticks_of "$SPID")
    st0=$(cpu_ticks)
    t0=$(now_s)
    sent=$(send)
    # Drain: wait until the output has not grown for 2 s (at most 60 s).
    last=$(out_size)
    tl=$(now_s)
    stable=0
    for _ in $(seq 1 600); do
        sleep 0.1
        cur=$(out_size)
        if [ "$cur" != "$last" ]; then
            last=$cur
            tl=$(now_s)
            stable=0
        else
            stable=$((stable + 1))
            [ $stable -ge 20 ] && break
        fi
    done
    c1=$(ticks_of "$SPID")
    st1=$(cpu_ticks)
    hwm=$(hwm_kb "$SPID")
    kill -TERM "$SPID" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SPID" 2>/dev/null
    wait "$SPID" 2>/dev/null
    if [ "$SCEN" = redis ]; then
        got=$(out_size)
        kill "$RPID"
        wait "$RPID" 2>/dev/null
    elif [ "$srv" = socat ]; then
        frame=$(head -c 16 "$OUT" | awk '{print $1 + length($1) + 1}')
        got=$(($(stat -c %s "$OUT") / frame))
    else
        got=$(wc -l <"$OUT")
    fi
    rm -f "$OUT"
    hz=$(getconf CLK_TCK)
    sent=${sent:-0}
    awk -v s="$SCEN" -v v="$srv" -v sent="$sent" -v got="$got" -v t0="$t0" -v tl="$tl" \
        -v c0="$c0" -v c1="$c1" -v hz="$hz" -v hwm="$hwm" -v st0="$st0" -v st1="$st1" 'BEGIN {
        cpu = (c1 - c0) / hz; wall = tl - t0; if (wall <= 0) wall = 1
        split(st0, a, " "); split(st1, b, " ")
        steal = (b[2] > a[2] ? (b[1] - a[1]) * 100 / (b[2] - a[2]) : 0)
        printf "%s\t%s\t%d\t%d\t%.3f\t%.0f\t%.2f\t%.3f\t%.1f\t%.1f\n", s, v, sent, got,
            (sent > 0 ? (sent - got) * 100 / sent : 0), got / wall, cpu,
            (got > 0 ? cpu * 1e6 / got : 0), hwm / 1024, steal }' | tee -a "$RESULTS" >&2
}

# ---- main ----------------------------------------------------------------------

setup
: >"$RESULTS"
say "sender: $SENDER, $CONNS connections, $SIZE-byte messages, $DUR s x $RUNS runs"
say "columns: scenario server sent delivered loss% msg/s cpu-s cpu-s/M peak-rss-MB steal%"
for run in $(seq 1 "$RUNS"); do
    for SCEN in $SCENARIOS; do
        for srv in $SERVERS; do
            [ "$srv" = socat ] && [ "$SCEN" != tcp ] && continue
            run_one "$srv"
        done
    done
done

python3 - "$RESULTS" "$SENDER" "$DUR" "$RUNS" <<'EOF'
import sys, statistics, collections
path, sender, dur, runs = sys.argv[1:5]
rows = collections.defaultdict(list)
order = []
for line in open(path):
    f = line.rstrip("\n").split("\t")
    if len(f) < 10:
        continue
    key = (f[0], f[1])
    if key not in rows:
        order.append(key)
    rows[key].append([float(x) for x in f[2:]])
med = {k: [statistics.median(c) for c in zip(*v)] for k, v in rows.items()}
print(f"\nsender {sender}, {dur} s x {runs} run(s), medians\n")
print("| scenario | server | sent | delivered | loss | msg/s | CPU-s/M | peak RSS MB | relay rate ratio | relay CPU/M ratio | steal |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for k in order:
    s, v = k
    sent, got, loss, rate, cpu, cpm, rss, steal = med[k]
    r = med.get((s, "relay"))
    ratio_rate = ratio_cpu = ""
    if r and v != "relay":
        ratio_rate = f"{r[3] / rate:.2f}x" if rate else ""
        ratio_cpu = f"{r[5] / cpm:.2f}x" if cpm else ""
    print(f"| {s} | {v} | {sent:.0f} | {got:.0f} | {loss:.2f}% | {rate:,.0f} | {cpm:.3f} | {rss:.1f} | {ratio_rate} | {ratio_cpu} | {steal:.0f}% |")
worst = max(max(r[7] for r in v) for v in rows.values())
if worst > 5:
    print(f"\nsteal: the hypervisor took up to {worst:.0f}% of the CPU time in a run; "
          "compare ratios within a run, not figures across runs")
EOF

#!/usr/bin/env bash
# The command line of INTERFACE.md: --version, --help, --check (OK and
# FILE:LINE:COLUMN errors, exit codes, nothing bound), start-up failures
# that name their cause (port in use, unwritable output), and
# --inspect-buffer without a buffer.
. "$(dirname "$0")/lib.sh"

"$SR_BIN" --version >"$T/v" || sr_fail "--version failed"
grep -Eqx 'syslog-relay [0-9]+\.[0-9]+\.[0-9]+' "$T/v" || sr_fail "--version printed: $(cat "$T/v")"
"$SR_BIN" --help | grep -q -- '--check' || sr_fail "--help lacks --check"
"$SR_BIN" --no-such-flag 2>/dev/null && sr_fail "an unknown flag must fail"

PORT=$(sr_free_port)
cat >"$T/good.yaml" <<YAML
inputs:
  - type: tcp
    listen: "127.0.0.1:$PORT"
outputs:
  - name: out
    type: file
    path: $T/out.log
YAML
out=$("$SR_BIN" --check -c "$T/good.yaml" 2>&1) || sr_fail "--check of a good file failed: $out"
sr_assert_eq "configuration OK" "$out" "--check output"
# --check binds nothing: the port is still free, and no output file was made.
python3 -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1',$PORT))" ||
    sr_fail "--check bound the port"
[ ! -e "$T/out.log" ] || sr_fail "--check created the output file"

# The embedded default is valid.
"$SR_BIN" --check >/dev/null || sr_fail "the embedded default does not validate"

cat >"$T/bad.yaml" <<'YAML'
inputs:
  - type: tcp
    listen: "127.0.0.1:notaport"
    framing: sideways
outputs:
  - name: out
    type: file
    paht: /tmp/x
YAML
"$SR_BIN" --check -c "$T/bad.yaml" >"$T/bad.out" 2>"$T/bad.err"
st=$?
sr_assert_eq 1 "$st" "--check exit status for a bad file"
[ ! -s "$T/bad.out" ] || sr_fail "--check printed to stdout for a bad file"
n=$(grep -c "^$T/bad.yaml:[0-9]*:[0-9]*: " "$T/bad.err")
[ "$n" -ge 3 ] || sr_fail "expected at least 3 FILE:LINE:COLUMN errors, got: $(cat "$T/bad.err")"
grep -q "^$T/bad.yaml:3:[0-9]*: .*listen" "$T/bad.err" || sr_fail "bad address not at line 3: $(cat "$T/bad.err")"
grep -q "^$T/bad.yaml:4:[0-9]*: .*framing" "$T/bad.err" || sr_fail "bad enum not at line 4"
grep -q "^$T/bad.yaml:8:[0-9]*: .*paht" "$T/bad.err" || sr_fail "unknown key not at line 8"

"$SR_BIN" --check -c "$T/missing.yaml" 2>"$T/miss.err" && sr_fail "a missing file must fail"
grep -q "^$T/missing.yaml:1:1: " "$T/miss.err" || sr_fail "missing file message: $(cat "$T/miss.err")"

# Port in use: exit 1 and say so.
python3 - "$PORT" "$T/hold.pid" <<'PY' &
import os, socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
open(sys.argv[2], "w").write(str(os.getpid()))
time.sleep(20)
PY
sr_track $!
for i in $(seq 1 50); do [ -s "$T/hold.pid" ] && break; sleep 0.1; done
"$SR_BIN" -c "$T/good.yaml" 2>"$T/inuse.err" >/dev/null
st=$?
sr_assert_eq 1 "$st" "exit status with the port in use"
grep -qi "address already in use" "$T/inuse.err" || sr_fail "port-in-use message: $(cat "$T/inuse.err")"

# An output that cannot be opened: exit 1, naming the file.
cat >"$T/noout.yaml" <<YAML
inputs:
  - type: udp
    listen: "127.0.0.1:0"
outputs:
  - name: out
    type: file
    path: $T/no/such/dir/out.log
YAML
"$SR_BIN" -c "$T/noout.yaml" 2>"$T/noout.err" >/dev/null
sr_assert_eq 1 "$?" "exit status with an unopenable output"
grep -q "$T/no/such/dir/out.log" "$T/noout.err" || sr_fail "unopenable output message: $(cat "$T/noout.err")"

"$SR_BIN" --inspect-buffer "$T" 2>/dev/null && sr_fail "--inspect-buffer without a buffer must fail"
sr_ok "command line"

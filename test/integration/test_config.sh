#!/usr/bin/env bash
# Configuration loading through the real binary: ${ENV} substitution in a
# running relay (listen address, output path, input filter, min_severity),
# every error of a broken file reported in file order with exact
# FILE:LINE:COLUMN positions, TLS certificates checked at --check time,
# limits on hostile files, and --config-reference listing every section.
. "$(dirname "$0")/lib.sh"

# ---- ${ENV}: the relay runs on values taken from the environment -----
cat >"$T/env.yaml" <<'YAML'
inputs:
  - name: ${SR_IN_NAME:-env-in}
    type: tcp
    listen: "${SR_HOST}:${SR_PORT:-0}"
outputs:
  - name: out
    type: file
    path: ${SR_OUT}
    format: json
    min_severity: ${SR_MINSEV}
    inputs: ["${SR_IN_NAME:-env-in}"]
YAML
export SR_HOST=127.0.0.1 SR_OUT="$T/env.json" SR_MINSEV=warning
unset SR_PORT SR_IN_NAME
out=$("$SR_BIN" --check -c "$T/env.yaml" 2>&1) || sr_fail "--check with env: $out"
sr_assert_eq "configuration OK" "$out" "--check with env"
sr_start_relay "$T/env.yaml"
PORT=$(sr_port env-in)
[ -n "$PORT" ] || sr_fail "input env-in (default from \${SR_IN_NAME:-env-in}) not listening"
python3 - "$PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"<11>1 2026-11-21T10:00:00Z h app - - - kept error\n"
          b"<14>1 2026-11-21T10:00:01Z h app - - - dropped info\n"
          b"<12>1 2026-11-21T10:00:02Z h app - - - kept warning\n")
s.close()
PY
sr_wait_lines "$T/env.json" 2
sr_stop_relay
n=$(wc -l <"$T/env.json")
sr_assert_eq 2 "$n" "records kept by min_severity: warning from \${SR_MINSEV}"
grep -q '"message":"kept error"' "$T/env.json" || sr_fail "first record missing"
grep -q '"message":"kept warning"' "$T/env.json" || sr_fail "second record missing"
grep -q '"input":"env-in"' "$T/env.json" || sr_fail "input name not env-in"
sr_ok "env substitution"

# An unset variable is an error at its line, and nothing else is said about it.
unset SR_OUT
"$SR_BIN" --check -c "$T/env.yaml" >"$T/unset.out" 2>"$T/unset.err"
sr_assert_eq 1 "$?" "--check exit status with an unset variable"
sr_assert_eq "$T/env.yaml:8:11: environment variable SR_OUT is not set" "$(cat "$T/unset.err")" \
    "unset variable message"
sr_ok "unset variable"

# ---- every error, in file order, at the right place ---------------------
cat >"$T/bad.yaml" <<'YAML'
log_level: chatty
inputs:
  - name: in
    type: udp
    listen: "127.0.0.1:0"
    idle_timeout: 5m
  - name: in
    type: tcp
    listen: "localhost:601"
    max_message_size: 128MiB
outputs:
  - name: out
    type: file
    path: "-"
    formt: json
    inputs: [in, nowhere]
  - name: dd
    type: datadogg
YAML
cat >"$T/bad.want" <<WANT
$T/bad.yaml:1:12: log_level: "chatty" is not one of: debug, info, warning, error
$T/bad.yaml:6:5: inputs[0].idle_timeout: applies only to tcp and tls inputs, not to udp
$T/bad.yaml:7:11: inputs[1]: input name 'in' is already used by inputs[0] (line 3); input names must be unique
$T/bad.yaml:9:13: inputs[1].listen: "localhost:601" is not a valid address: the host must be a numeric IPv4 or IPv6 address (names are not resolved for listeners)
$T/bad.yaml:10:23: inputs[1].max_message_size: "128MiB" is too large (at most 64MiB)
$T/bad.yaml:15:5: unknown key 'formt' in file output out (did you mean 'format'?); expected one of: path, format, name, type, min_severity, inputs, buffer
$T/bad.yaml:16:18: outputs[0].inputs: there is no input named 'nowhere'; inputs are: in
$T/bad.yaml:18:11: outputs[1].type: "datadogg" is not an output type; expected one of: datadog, file, redis
WANT
"$SR_BIN" --check -c "$T/bad.yaml" >"$T/bad.out" 2>"$T/bad.err"
sr_assert_eq 1 "$?" "--check exit status for a bad file"
diff -u "$T/bad.want" "$T/bad.err" >&2 || sr_fail "--check errors differ (above)"
sr_ok "all errors reported"

# The relay itself refuses to start on it, with the same messages.
"$SR_BIN" -c "$T/bad.yaml" >/dev/null 2>"$T/start.err"
sr_assert_eq 1 "$?" "exit status when starting on a bad file"
grep -qF "$T/bad.yaml:10:23: inputs[1].max_message_size" "$T/start.err" ||
    sr_fail "start-up did not report the errors: $(cat "$T/start.err")"
sr_ok "start-up refuses a bad file"

# ---- TLS material is loaded at --check time ------------------------------
sr_certs "$T/certs"
cat >"$T/tls.yaml" <<YAML
inputs:
  - type: tls
    listen: "127.0.0.1:0"
    cert_file: $T/certs/server.crt
    key_file: $T/certs/KEY
    ca_file: $T/certs/ca.crt
outputs:
  - name: out
    type: file
    path: "-"
YAML
sed 's/KEY/server.key/' "$T/tls.yaml" >"$T/tls-good.yaml"
out=$("$SR_BIN" --check -c "$T/tls-good.yaml" 2>&1) || sr_fail "good TLS config: $out"
sed 's/KEY/client.key/' "$T/tls.yaml" >"$T/tls-bad.yaml"
"$SR_BIN" --check -c "$T/tls-bad.yaml" 2>"$T/tls.err" && sr_fail "a mismatched key must fail"
grep -q "^$T/tls-bad.yaml:4:16: inputs\[0\]: cannot set up TLS: " "$T/tls.err" ||
    sr_fail "mismatched key message: $(cat "$T/tls.err")"
sed 's/KEY/absent.key/' "$T/tls.yaml" >"$T/tls-missing.yaml"
"$SR_BIN" --check -c "$T/tls-missing.yaml" 2>"$T/tls2.err" && sr_fail "a missing key must fail"
sr_assert_eq "$T/tls-missing.yaml:5:15: inputs[0].key_file: cannot read $T/certs/absent.key: No such file or directory" \
    "$(cat "$T/tls2.err")" "missing key file message"
sr_ok "TLS material checked"

# ---- hostile files are refused by the limits -----------------------------
python3 -c 'print("x: " + "[" * 100000)' >"$T/deep.yaml"
"$SR_BIN" --check -c "$T/deep.yaml" 2>"$T/deep.err" && sr_fail "deep nesting accepted"
sr_assert_eq "$T/deep.yaml:1:67: configuration is nested more than 64 levels deep" \
    "$(cat "$T/deep.err")" "depth limit"
head -c 5000000 /dev/zero | tr '\0' '#' >"$T/big.yaml"
"$SR_BIN" --check -c "$T/big.yaml" 2>"$T/big.err" && sr_fail "a 5 MB file accepted"
sr_assert_eq "$T/big.yaml:1:1: configuration is larger than 4 MiB" "$(cat "$T/big.err")" \
    "size limit"
sr_ok "limits"

# ---- the reference lists every section -----------------------------------
"$SR_BIN" --config-reference >"$T/ref.md" || sr_fail "--config-reference failed"
for h in '## Top level' '## inputs[]' '## outputs[]: keys every output takes' \
    '## outputs[] of type `file`' '## outputs[] of type `datadog`' \
    '## outputs[] of type `redis`' '## metrics'; do
    grep -qxF "$h" "$T/ref.md" || sr_fail "reference lacks '$h'"
done
sr_ok "reference"

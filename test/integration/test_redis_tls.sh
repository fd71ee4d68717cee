#!/usr/bin/env bash
# rediss://: the redis output over TLS to redis-server's TLS port (Debian's
# build has TLS), with a certificate made now, AUTH with a password, and
# the server verified against ca_file. A second output whose ca_file is a
# CA that did not sign the server's certificate must refuse to connect
# (and push nothing).
. "$(dirname "$0")/lib.sh"


sr_certs "$T/certs"
C=$T/certs
PW=tls-pass
RPORT=$(sr_free_port)
sr_start_redis 0 --tls-port "$RPORT" --requirepass "$PW" --tls-cert-file "$C/server.crt" \
    --tls-key-file "$C/server.key" --tls-ca-cert-file "$C/ca.crt" --tls-auth-clients no
rcli() { redis-cli --tls --cacert "$C/ca.crt" -h localhost -p "$RPORT" -a "$PW" --no-auth-warning "$@"; }
sr_wait_redis

cat >"$T/relay.yaml" <<YAML
shutdown_timeout: 1s
inputs:
  - name: tcp-in
    type: tcp
    listen: "127.0.0.1:0"
outputs:
  - name: good
    type: redis
    url: "rediss://:$PW@localhost:$RPORT/0"
    ca_file: $C/ca.crt
    key: tlslist
  - name: untrusted
    type: redis
    url: "rediss://:$PW@localhost:$RPORT/0"
    ca_file: $C/other-ca.crt
    key: badlist
YAML
sr_start_relay "$T/relay.yaml"
TCP=$(sr_port tcp-in)
N=300
python3 - "$TCP" "$N" <<'PY'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
for i in range(n):
    s.sendall(b"<14>1 - h app - - - tls seq %06d\n" % i)
s.close()
PY
for i in $(seq 1 100); do
    [ "$(rcli LLEN tlslist)" -ge "$N" ] && break
    sleep 0.1
done
sr_assert_eq "$N" "$(rcli LLEN tlslist)" "records in the list over TLS"
rcli LRANGE tlslist 0 -1 | python3 -c '
import json, sys
seqs = [int(json.loads(l)["message"].split()[2]) for l in sys.stdin]
sys.exit(0 if seqs == list(range(int(sys.argv[1]))) else 1)' "$N" || sr_fail "TLS records out of order"
grep -q 'output redis "good": connected to localhost:.* over TLS' "$T/relay.log" ||
    sr_fail "no TLS connect line"
sr_ok "rediss:// with AUTH: $N records in order"

for i in $(seq 1 50); do
    grep -q 'redis "untrusted".*cannot connect' "$T/relay.log" && break
    sleep 0.1
done
grep 'redis "untrusted".*cannot connect' "$T/relay.log" | grep -qi 'certificate\|verify' ||
    sr_fail "the untrusted server was not refused for its certificate"
sr_assert_eq 0 "$(rcli LLEN badlist)" "records pushed through an unverified connection"
sr_ok "a server certificate from an untrusted CA is refused"
grep -q "$PW" "$T/relay.log" && sr_fail "the password appears in the log"
sr_stop_relay

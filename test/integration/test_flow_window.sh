#!/usr/bin/env bash
# Flow control (buffer.flow_window): an output that is delivering but
# slower than the sender holds TCP inputs once it is flow_window behind,
# far below max_memory; datagrams are still taken (they are dropped only
# at max_memory), and nothing is lost. The output is a file on a FIFO
# whose reader does not read yet: writes stall, but nothing fails.
. "$(dirname "$0")/lib.sh"

sr_stalled_fifo "$T/fifo"
cat >"$T/relay.yaml" <<YAML
workers: 1
inputs:
  - {name: t, type: tcp, listen: "127.0.0.1:0"}
  - {name: u, type: udp, listen: "127.0.0.1:0"}
outputs:
  - name: slow
    type: file
    path: $T/fifo
    format: raw
    buffer: {max_memory: 64MiB, flow_window: 1MiB}
metrics:
  listen: "127.0.0.1:0"
YAML
sr_start_relay "$T/relay.yaml"
N=300000 # about 30 MB
sr_send_seq "$(sr_port t)" "$N"
SENDER=$SR_SENDER
# Wait until the input stops reading: its count holds still for a second.
prev=-1
for i in $(seq 1 40); do
    sleep 0.5
    cur=$(sr_metric 'syslog_relay_input_messages_total{input="t"}')
    [ "$cur" -gt 0 ] && [ "$cur" = "$prev" ] && break
    prev=$cur
done
[ "$cur" = "$prev" ] || sr_fail "the TCP input never stopped reading"
[ "$cur" -lt "$N" ] || sr_fail "the input read everything despite flow control"
kill -0 "$SENDER" || sr_fail "the sender finished although the relay held it back"
# Held at the window (plus at most the 2 MiB handover and one read), far
# below max_memory; not the max_memory back-pressure, which warns.
q=$(sr_metric 'syslog_relay_output_queue_bytes{output="slow"}')
[ "$q" -ge $((786432)) ] || sr_fail "held with only $q bytes queued, below 3/4 of the window"
[ "$q" -lt $((4 * 1048576)) ] || sr_fail "queue grew to $q bytes past the 1 MiB window"
grep -q 'pausing stream inputs' "$T/relay.log" && sr_fail "max_memory back-pressure at $q bytes"
sr_ok "TCP held at the flow window: $q bytes queued, $cur of $N read"

# Datagrams still go in while TCP is held.
q1=$(sr_metric 'syslog_relay_output_queue_messages{output="slow"}')
python3 - "$(sr_port u)" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(200):
    s.sendto(b"<13>1 - h app - - - udp %03d" % i, ("127.0.0.1", int(sys.argv[1])))
    time.sleep(0.001)
PY
sr_assert_eq 200 "$(sr_wait_metric 'syslog_relay_input_messages_total{input="u"}' 200)" "datagrams read"
dropped=$(sr_metric 'syslog_relay_dropped_messages_total{reason="queue_full"}')
sr_assert_eq 0 "${dropped:-0}" "datagrams dropped"
q2=$(sr_metric 'syslog_relay_output_queue_messages{output="slow"}')
sr_assert_eq $((q1 + 200)) "$q2" "records queued after the datagrams"

# The reader wakes up: everything arrives, TCP in order.
cat "$T/fifo" >"$T/out.raw" &
sr_track $!
wait "$SENDER"
sr_wait_lines "$T/out.raw" $((N + 200)) 60
python3 - "$T/out.raw" "$N" <<'PY' || sr_fail "records missing or out of order"
import sys
lines = open(sys.argv[1]).read().split("\n")[:-1]
seqs = [int(l.split()[-2]) for l in lines if " seq " in l]
udp = sorted(l.split()[-1] for l in lines if " udp " in l)
assert seqs == list(range(int(sys.argv[2]))), (len(seqs), seqs[:3])
assert udp == ["%03d" % i for i in range(200)], len(udp)
PY
sr_stop_relay
sr_ok "flow window: sender held, datagrams taken, nothing lost, order kept"

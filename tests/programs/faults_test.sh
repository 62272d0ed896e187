#!/usr/bin/env bash
# Fault rules on a real program: curl on the stack downloads 16 MiB from
# python3 http.server with `--fault 'both drop 5%'` (intact by SHA-256, and
# the per-rule count at exit shows the drops), then connects with the first
# SYN-ACK dropped (`in drop nth=1 tcp synack`): the capture (outside the
# faults, so it shows the wire) has two SYNs from the stack. Also: a bad
# rule stops before the program runs, naming the rule, column and fix.
# Section 4 (capture_tests): a .pcapng capture shows the dropped SYN-ACK
# with the rule's comment, --pcap-filter keeps only the matching frames, and
# a bad filter stops the program.
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/www"
head -c $((16 << 20)) /dev/urandom > "$WORK/www/big.bin"
head -c 1024 /dev/urandom > "$WORK/www/small.bin"
cat > "$WORK/server.py" <<'PY'
import http.server, sys, os
class H(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
os.chdir(sys.argv[1])
http.server.ThreadingHTTPServer((sys.argv[2], 8000), H).serve_forever()
PY
in_ns python3 "$WORK/server.py" "$WORK/www" "$PEER" &
wait_port "$PEER" 8000

# 1. A syntax error stops shunt before the program runs.
set +e
in_ns "$SHUNT" --fault 'both drop 2%' --fault 'in drop nth=x' -- touch "$WORK/ran" 2> "$WORK/bad.log"
rc=$?
set -e
[ "$rc" = 2 ] || fail "bad rule: exit $rc, want 2"
[ ! -e "$WORK/ran" ] || fail "bad rule: the program ran"
grep -q "rule 2 'in drop nth=x', column 13: expected a whole number >= 1 after 'nth='" "$WORK/bad.log" ||
  fail "bad rule message: $(cat "$WORK/bad.log")"
pass "bad rule stops the program: $(cat "$WORK/bad.log")"

# 2. 16 MiB under 5% loss both ways, seeded.
in_ns env SHUNT_STATS=1 "$SHUNT" --log warn --seed 42 --fault 'both drop 5%' -- \
  curl -sS --max-time 300 -o "$WORK/big.out" "http://$PEER:8000/big.bin" 2> "$WORK/stats.log"
[ "$(sha "$WORK/big.out")" = "$(sha "$WORK/www/big.bin")" ] || fail "16 MiB GET under 5% loss differs"
line=$(grep "1 'both drop 5%': matched" "$WORK/stats.log") || fail "no per-rule count: $(cat "$WORK/stats.log")"
matched=$(sed -E 's/.*matched ([0-9]+).*/\1/' <<< "$line")
injected=$(sed -E 's/.*injected ([0-9]+).*/\1/' <<< "$line")
# ~24000 frames cross; 5% of them, within wide bounds (3% .. 7%).
[ "$matched" -gt 10000 ] || fail "only $matched frames matched"
[ $((injected * 100)) -gt $((matched * 3)) ] && [ $((injected * 100)) -lt $((matched * 7)) ] ||
  fail "$injected of $matched dropped, want about 5%"
pass "16 MiB GET under 'both drop 5%' intact; dropped $injected of $matched frames"

# 3. The first SYN-ACK dropped: curl still connects, after one SYN retransmission.
# The kernel's own SYN-ACK retransmission timer is 1 s, like the stack's SYN
# RTO: whichever fires first decides whether the stack resends its SYN. With
# tcp_synack_retries=0 (this namespace only) the kernel answers SYNs and never
# resends on its own, so the stack's retransmitted SYN is what connects.
in_ns sysctl -qw net.ipv4.tcp_synack_retries=0
start=$(date +%s%N)
on_stack_pcap() { in_ns "$SHUNT" --log warn --pcap "$WORK/synack.pcap" --fault 'in drop nth=1 tcp synack' -- "$@"; }
on_stack_pcap curl -sS --max-time 30 -o "$WORK/small.out" "http://$PEER:8000/small.bin"
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$(sha "$WORK/small.out")" = "$(sha "$WORK/www/small.bin")" ] || fail "GET after the dropped SYN-ACK differs"
syns=$(tshark -r "$WORK/synack.pcap" -Y "tcp.flags.syn == 1 && tcp.flags.ack == 0 && ip.src == $STACK" 2>/dev/null | wc -l)
synacks=$(tshark -r "$WORK/synack.pcap" -Y "tcp.flags.syn == 1 && tcp.flags.ack == 1" 2>/dev/null | wc -l)
[ "$syns" = 2 ] || fail "capture shows $syns SYNs, want 2"
# The first SYN-ACK crossed the wire and was dropped inside; the kernel
# answers the second SYN (and may retransmit on its own timer).
[ "$synacks" -ge 2 ] || fail "capture shows $synacks SYN-ACKs on the wire, want 2 or more"
[ "$elapsed" -ge 1000 ] || fail "connected in ${elapsed} ms: the SYN-ACK was not dropped?"
pass "first SYN-ACK dropped: connected after ${elapsed} ms, $syns SYNs in the capture"

# 4. Capture (docs/faults.md, "Capture"): a .pcapng file carries the faults
#    as packet comments, --pcap-filter keeps only the matching frames, and a
#    bad filter stops the program like a bad rule.
capture_tests() {
  # 4a. The dropped SYN-ACK is the one frame with a comment, and it says why.
  in_ns "$SHUNT" --log warn --pcap "$WORK/synack.pcapng" --fault 'in drop nth=1 tcp synack' -- \
    curl -sS --max-time 30 -o "$WORK/small2.out" "http://$PEER:8000/small.bin"
  [ "$(sha "$WORK/small2.out")" = "$(sha "$WORK/www/small.bin")" ] || fail "GET with a pcapng capture differs"
  local comments dropped
  comments=$(tshark -r "$WORK/synack.pcapng" -Y frame.comment -T fields -e frame.comment 2>/dev/null)
  [ "$comments" = "shunt fault rule 1 'in drop nth=1 tcp synack': dropped before the stack" ] ||
    fail "pcapng comments: '$comments'"
  dropped=$(tshark -r "$WORK/synack.pcapng" -Y "frame.comment && tcp.flags.syn == 1 && tcp.flags.ack == 1 && ip.dst == $STACK" 2>/dev/null | wc -l)
  [ "$dropped" = 1 ] || fail "the comment is not on an inbound SYN-ACK ($dropped frames)"
  pass "pcapng capture: the dropped SYN-ACK carries '$comments'"

  # 4b. A filtered capture holds only port 8000's frames (no ARP).
  in_ns "$SHUNT" --log warn --pcap "$WORK/port.pcapng" --pcap-filter 'port 8000' -- \
    curl -sS --max-time 30 -o /dev/null "http://$PEER:8000/small.bin"
  local total matching arp
  total=$(tshark -r "$WORK/port.pcapng" 2>/dev/null | wc -l)
  matching=$(tshark -r "$WORK/port.pcapng" -Y 'tcp.port == 8000' 2>/dev/null | wc -l)
  arp=$(tshark -r "$WORK/synack.pcapng" -Y arp 2>/dev/null | wc -l)
  [ "$total" -ge 8 ] || fail "filtered capture has only $total frames"
  [ "$total" = "$matching" ] || fail "filtered capture: $total frames, $matching on port 8000"
  [ "$arp" -ge 1 ] || fail "the unfiltered capture has no ARP (the filter test proves nothing)"
  # `or arp` keeps the address resolution too.
  in_ns "$SHUNT" --log warn --pcap "$WORK/port-arp.pcap" --pcap-filter 'port 8000 or arp' -- \
    curl -sS --max-time 30 -o /dev/null "http://$PEER:8000/small.bin"
  arp=$(tshark -r "$WORK/port-arp.pcap" -Y arp 2>/dev/null | wc -l)
  [ "$arp" -ge 1 ] || fail "'port 8000 or arp' kept no ARP"
  pass "--pcap-filter 'port 8000': $total frames, all on port 8000; 'or arp' adds $arp ARP"

  # 4c. A bad filter stops the program before it runs, on one line.
  local rc
  set +e
  in_ns "$SHUNT" --pcap "$WORK/x.pcapng" --pcap-filter 'port eighty' -- touch "$WORK/ran2" 2> "$WORK/badf.log"
  rc=$?
  set -e
  [ "$rc" = 2 ] || fail "bad filter: exit $rc, want 2"
  [ ! -e "$WORK/ran2" ] || fail "bad filter: the program ran"
  [ "$(wc -l < "$WORK/badf.log")" = 1 ] || fail "bad filter: more than one line: $(cat "$WORK/badf.log")"
  grep -q "SHUNT_PCAP_FILTER (--pcap-filter): 'port eighty', column 6: expected a port" "$WORK/badf.log" ||
    fail "bad filter message: $(cat "$WORK/badf.log")"
  pass "bad filter stops the program: $(cat "$WORK/badf.log")"
}
capture_tests

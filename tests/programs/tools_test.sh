#!/usr/bin/env bash
# wget, socat (TCP echo and relay), ncat (UDP) and iperf3 (TCP both ways,
# UDP) on the stack, against kernel peers in the namespace.
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/www"
head -c $((16 << 20)) /dev/urandom > "$WORK/www/file.bin"
(cd "$WORK/www" && in_ns python3 -m http.server --bind "$PEER" 8000 > /dev/null 2>&1) &
wait_port "$PEER" 8000

# wget downloading a file.
on_stack wget -q -O "$WORK/wget.bin" "http://$PEER:8000/file.bin"
[ "$(sha "$WORK/wget.bin")" = "$(sha "$WORK/www/file.bin")" ] || fail "wget file differs"
pass "wget"

# socat: a TCP echo server on the stack; the kernel sends 4 MiB through it.
# (No ",fork": a forked child cannot use a socket the parent keeps on the
# stack; see docs/compatibility.md.)
on_stack socat TCP-LISTEN:7000,reuseaddr EXEC:cat &
wait_stack
head -c $((4 << 20)) /dev/urandom > "$WORK/echo.in"
in_ns socat -t 5 - "TCP:$STACK:7000" < "$WORK/echo.in" > "$WORK/echo.out"
[ "$(sha "$WORK/echo.out")" = "$(sha "$WORK/echo.in")" ] || fail "socat echo differs"
pass "socat TCP echo server on the stack"
stop_stack_programs

# socat relay on the stack: kernel client -> stack relay :7001 -> kernel http.server.
on_stack socat "TCP-LISTEN:7001,reuseaddr" "TCP:$PEER:8000" &
wait_stack
in_ns curl -sS -o "$WORK/relay.bin" "http://$STACK:7001/file.bin"
[ "$(sha "$WORK/relay.bin")" = "$(sha "$WORK/www/file.bin")" ] || fail "socat relay differs"
pass "socat TCP relay on the stack"
stop_stack_programs

# ncat UDP: the stack sends datagrams to a kernel UDP echo.
in_ns socat UDP-RECVFROM:9000,fork EXEC:cat &
sleep 0.3
got=$( (echo "hello over udp"; sleep 1) | on_stack ncat -u -w 2 "$PEER" 9000 || true)
[ "$got" = "hello over udp" ] || fail "ncat UDP got '$got'"
pass "ncat UDP"

# iperf3: kernel server, stack client, both directions and UDP.
in_ns iperf3 -s -B "$PEER" -p 5201 -D --logfile "$WORK/iperf-server.log"
wait_port "$PEER" 5201
for mode in "" "-R"; do
  on_stack iperf3 -c "$PEER" -p 5201 -t 3 $mode -J > "$WORK/iperf$mode.json" ||
    fail "iperf3 $mode: $(tail -5 "$WORK/iperf$mode.json")"
  bps=$(python3 -c "import json,sys; print(int(json.load(open(sys.argv[1]))['end']['sum_received']['bits_per_second']))" "$WORK/iperf$mode.json")
  [ "$bps" -gt 10000000 ] || fail "iperf3 $mode only $bps bit/s"
  pass "iperf3 TCP $mode: $((bps / 1000000)) Mbit/s"
done
on_stack iperf3 -c "$PEER" -p 5201 -u -b 50M -t 3 -J > "$WORK/iperf-udp.json" || fail "iperf3 UDP"
lost=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['end']['sum']['lost_percent'])" "$WORK/iperf-udp.json")
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 5 else 1)" "$lost" || fail "iperf3 UDP lost $lost %"
pass "iperf3 UDP 50 Mbit/s, $lost % lost"

# iperf3 server on the stack, kernel client.
in_ns pkill iperf3 || true
on_stack iperf3 -s -p 5202 -1 > "$WORK/iperf-stack-server.log" 2>&1 &
wait_stack
in_ns iperf3 -c "$STACK" -p 5202 -t 3 -J > "$WORK/iperf-k.json" || fail "iperf3 to the stack server"
pass "iperf3 server on the stack"

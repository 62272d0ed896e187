#!/usr/bin/env bash
# Two preloaded processes talking to each other, each with its own stack:
# two TAP devices on a bridge in the test's namespace (the bridge also
# carries the kernel peer 198.18.0.1); stack A is 198.18.0.2 on shunt0,
# stack B 198.18.0.3 on shunt1.
source "$(dirname "$0")/lib.sh"

# lib.sh gave shunt0 the peer address; move it to a bridge with two TAPs.
in_ns ip addr del "$PEER/24" dev shunt0
in_ns ip link add br0 type bridge
in_ns ip link set br0 up
in_ns ip addr add "$PEER/24" dev br0
in_ns ip tuntap add shunt1 mode tap
for t in shunt0 shunt1; do
  in_ns ip link set "$t" master br0
  in_ns ip link set "$t" up
done
A=198.18.0.2
B=198.18.0.3
on_a() { in_ns "$SHUNT" --tap shunt0 --ip "$A/24" -- "$@"; }
on_b() { in_ns "$SHUNT" --tap shunt1 --ip "$B/24" -- "$@"; }

mkdir -p "$WORK/www"
head -c $((16 << 20)) /dev/urandom > "$WORK/www/file.bin"
(cd "$WORK/www" && on_b python3 -m http.server --bind "$B" 8000 > /dev/null 2>&1) &
wait_port "$B" 8000
on_a curl -sS -o "$WORK/got.bin" "http://$B:8000/file.bin"
[ "$(sha "$WORK/got.bin")" = "$(sha "$WORK/www/file.bin")" ] || fail "curl on stack A from http.server on stack B"
pass "curl (stack A) <- python3 http.server (stack B), 16 MiB"
stop_stack_programs

on_b iperf3 -s -p 5201 -1 > "$WORK/iperf-b.log" 2>&1 &
sleep 1
on_a iperf3 -c "$B" -p 5201 -t 2 -J > "$WORK/iperf-a.json" || fail "iperf3 A -> B: $(tail -3 "$WORK/iperf-a.json")"
bps=$(python3 -c "import json,sys; print(int(json.load(open(sys.argv[1]))['end']['sum_received']['bits_per_second']))" "$WORK/iperf-a.json")
[ "$bps" -gt 10000000 ] || fail "iperf3 A -> B only $bps bit/s"
pass "iperf3 stack A -> stack B: $((bps / 1000000)) Mbit/s"

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
stop_stack_programs

# nginx on stack B, ab on stack A.
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/nginx.conf" <<CONF
user root;
daemon off;
master_process off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path $WORK/nginx/body; server { listen 8080; root $WORK/www; } }
CONF
# 2,000 connections for a 256 KiB file: the connection churn is the point
# (2,000 x 16 MiB would be 32 GB, minutes of a debug build's time).
head -c $((256 << 10)) /dev/urandom > "$WORK/www/small.bin"
on_b nginx -c "$WORK/nginx/nginx.conf" &
wait_port "$B" 8080
on_a ab -q -n 2000 -c 10 "http://$B:8080/small.bin" > "$WORK/ab.txt" 2>&1 || fail "ab: $(tail -3 "$WORK/ab.txt")"
grep -q "Complete requests:      2000" "$WORK/ab.txt" || fail "ab: $(grep -E 'Complete|Failed' "$WORK/ab.txt")"
grep -q "Failed requests:        0" "$WORK/ab.txt" || fail "ab failures"
grep -q "Document Length:        262144 bytes" "$WORK/ab.txt" || fail "ab: $(grep "Document Length" "$WORK/ab.txt")"
pass "ab (stack A) -> nginx (stack B): 2,000 requests for a 256 KiB file, 0 failed"
stop_stack_programs
sleep 1  # let the TAP go before the next stack opens it

# redis on stack B, redis-benchmark on stack A.
on_b redis-server --port 6379 --bind 0.0.0.0 --save "" --appendonly no --dir "$WORK" \
  --protected-mode no > "$WORK/redis.log" 2>&1 &
for _ in $(seq 1 100); do
  in_ns timeout 1 bash -c "exec 3<>/dev/tcp/$B/6379" 2>/dev/null && break
  sleep 0.1
done
in_ns timeout 1 bash -c "exec 3<>/dev/tcp/$B/6379" 2>/dev/null || fail "redis did not start: $(cat "$WORK/redis.log")"
on_a redis-benchmark -h "$B" -p 6379 -n 20000 -c 10 -t set,get -q > "$WORK/bench.txt" 2>&1 ||
  fail "redis-benchmark: $(tail -3 "$WORK/bench.txt")"
[ "$(tr '\r' '\n' < "$WORK/bench.txt" | grep -c 'requests per second')" = 2 ] || fail "redis-benchmark: $(cat "$WORK/bench.txt")"
pass "redis-benchmark (stack A) -> redis-server (stack B): 40,000 requests"

#!/usr/bin/env bash
# A process that ends without closing its sockets: the stack closes them as
# the kernel closes a dying process's files (issue 10), whichever way the
# process ends, and the peer sees FIN (or RST where Linux sends one).
# Then the real case: dig +tcp on the stack, dnsmasq on the kernel side.
source "$(dirname "$0")/lib.sh"
HELPER="$BUILD/tests/preload_exit_helper"
PEER_PY="$(dirname "$0")/exit_peer.py"

# run_case MODE PORT SEND_DATA EXPECTED: one helper run against a fresh peer.
run_case() {
  local mode=$1 port=$2 send_data=$3 want=$4
  rm -f "$WORK/ready"
  in_ns python3 "$PEER_PY" "$PEER" "$port" "$send_data" "$WORK/ready" > "$WORK/peer.out" &
  local peer=$!
  for _ in $(seq 1 100); do [ -e "$WORK/ready" ] && break; sleep 0.05; done
  [ -e "$WORK/ready" ] || fail "$mode: the peer did not start"
  on_stack "$HELPER" "$PEER" "$port" "$mode" || fail "$mode: the helper failed"
  wait "$peer" || fail "$mode: the peer failed"
  local got
  got=$(cat "$WORK/peer.out")
  [ "$got" = "$want" ] || fail "$mode: the peer saw '$got', expected '$want'"
  pass "$mode: the peer saw $want"
}

port=7100
for mode in return exit _exit _Exit exit_group; do
  run_case "$mode" $((port++)) 0 "EOF 6"
done
# Linux tcp_close: unread data or SO_LINGER {on, 0} end with RST.
run_case unread $((port++)) 1 "RST 6"
run_case linger0 $((port++)) 0 "RST 6"
# Queued data still goes out before the FIN, as the kernel sends it after
# the process is gone.
run_case queued $((port++)) 0 "EOF $((6 + 256 * 1024))"
# A (v)fork child's _exit closes nothing of its parent's.
run_case vfork $((port++)) 0 "EOF 12"
run_case fork $((port++)) 0 "EOF 12"

# dig +tcp on the stack leaves its TCP connection to dnsmasq open when it
# exits; dnsmasq's connection must end at once (before the fix it stayed
# ESTABLISHED and a busy dnsmasq stopped answering).
in_ns dnsmasq --keep-in-foreground --no-resolv --no-hosts --conf-file=/dev/null \
  --listen-address="$PEER" --bind-interfaces --port=53 --pid-file="$WORK/dnsmasq.pid" \
  --address=/shunt.test/198.18.0.77 --log-facility=- 2> "$WORK/dnsmasq.log" &
for _ in $(seq 1 100); do in_ns ss -ltn | grep -q "$PEER:53 " && break; sleep 0.05; done
answer=$(on_stack dig +tcp +short +tries=1 +time=5 @"$PEER" shunt.test A) || fail "dig +tcp on the stack failed"
[ "$answer" = "198.18.0.77" ] || fail "dig +tcp on the stack answered '$answer'"
left=""
for _ in $(seq 1 50); do
  left=$(in_ns ss -Htn state established "( sport = :53 )")
  [ -z "$left" ] && break
  sleep 0.1
done
[ -z "$left" ] || fail "dnsmasq's TCP connection from dig is still open: $left"
answer=$(in_ns dig +tcp +short +tries=1 +time=5 @"$PEER" shunt.test A) || fail "a kernel dig +tcp failed after"
[ "$answer" = "198.18.0.77" ] || fail "a kernel dig +tcp answered '$answer'"
pass "dig +tcp on the stack, dnsmasq's connection closed when dig exited"

#!/usr/bin/env bash
# The kernel comparison harness (docs/testing.md, "Kernel comparison"): the
# checks of tests/compat/checks.cc run once on kernel sockets and once on
# shunt, against one kernel peer, and must agree except where
# tests/compat/known_differences.txt says why not.
#
#   namespace $NS (lib.sh)                 namespace $KNS
#   peer.py on br0 198.18.0.1/24           kernel client: shunt0 198.18.0.3/24
#     br0 ports: shunt0 (TAP: shunt, .2)     (a veth whose far end, vk0,
#                vk0 (veth) ------------------ is a port of br0)
#
# Both clients see an interface named shunt0 and the same peer, MTU 1500.
# COMPAT_FILTER=TEXT runs only the checks whose name contains TEXT;
# COMPAT_KEEP=DIR leaves the two runs' outputs (kernel.txt, shunt.txt) there.
source "$(dirname "$0")/lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"
CHECKS="$BUILD/tests/compat_checks"
KNOWN="$HERE/../compat/known_differences.txt"
KNS="${NS}k"
KSELF=198.18.0.3
OUT="${COMPAT_KEEP:-$WORK}"
FILTER=()
[ -n "${COMPAT_FILTER:-}" ] && FILTER=(--filter "$COMPAT_FILTER")

cleanup_kns() { ip netns del "$KNS" 2>/dev/null || true; cleanup; }
trap cleanup_kns EXIT

# The peer's address moves from the TAP to a bridge over the TAP and a veth.
in_ns ip addr del "$PEER/24" dev shunt0
in_ns ip link add br0 type bridge mcast_snooping 0
in_ns ip link set shunt0 master br0
in_ns ip addr add "$PEER/24" dev br0
in_ns ip link set br0 up
ip netns add "$KNS"
ip -n "$KNS" link set lo up
in_ns ip link add vk0 type veth peer name vk1 netns "$KNS"
ip -n "$KNS" link set vk1 name shunt0
in_ns ip link set vk0 master br0
in_ns ip link set vk0 up
ip -n "$KNS" addr add "$KSELF/24" dev shunt0
ip -n "$KNS" link set shunt0 up
# A default route through the peer on both sides (Linux wants a route to a
# group to join it on "any interface" or to send to it).
ip -n "$KNS" route add default via "$PEER"
# Both clients' namespaces say the same: reno as the default congestion
# control (shunt reads it at start; a namespace may only choose among
# tcp_allowed_congestion_control, and the host's default may be one shunt
# lacks, such as bbr), and TCP Fast Open off (shunt behaves as a kernel
# with tcp_fastopen=0, docs/compatibility.md).
for ns in "$NS" "$KNS"; do
  ip netns exec "$ns" sysctl -qw net.ipv4.tcp_congestion_control=reno net.ipv4.tcp_fastopen=0
done

in_ns python3 "$HERE/../compat/peer.py" "$PEER" > "$WORK/peer.log" 2>&1 &
for _ in $(seq 1 100); do grep -q ready "$WORK/peer.log" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$WORK/peer.log" || fail "the peer did not start: $(cat "$WORK/peer.log")"

ip netns exec "$KNS" timeout 300 "$CHECKS" run --peer "$PEER" --self "$KSELF" --ifname shunt0 "${FILTER[@]}" \
  > "$OUT/kernel.txt" || fail "the kernel run failed after: $(tail -1 "$OUT/kernel.txt")"
in_ns timeout 300 "$SHUNT" --log warn --gateway "$PEER" -- "$CHECKS" run --peer "$PEER" --self "$STACK" --ifname shunt0 "${FILTER[@]}" \
  > "$OUT/shunt.txt" || fail "the shunt run failed after: $(tail -1 "$OUT/shunt.txt")"
echo "$(wc -l < "$OUT/kernel.txt") checks on the kernel, $(wc -l < "$OUT/shunt.txt") on shunt"

compare_args=()
# With a filter, entries of checks that did not run are not stale.
[ -n "${COMPAT_FILTER:-}" ] && compare_args=(--gtest_filter="KernelVsShunt.*${COMPAT_FILTER}*")
"$CHECKS" compare "$OUT/kernel.txt" "$OUT/shunt.txt" "$KNOWN" "${compare_args[@]}" \
  || fail "shunt and the kernel disagree (see above)"
pass "kernel comparison"

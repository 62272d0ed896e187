#!/usr/bin/env bash
# tests/hostile/hostile_test.sh CLASS: one class of hostile-peer attack
# (tests/hostile/attack_CLASS.py) against a server on the stack, then the
# checks of tests/hostile/run.py (docs/testing.md, "Hostile peers and soak").
#
# The namespace of tests/programs/lib.sh: TAP shunt0, kernel side
# 198.18.0.1/24, the stack at 198.18.0.2 serving tests/hostile/server.py
# (echo on 7000, HTTP on 8000). The attacker (scapy, on an AF_PACKET socket
# on shunt0) uses 198.18.0.7, a second address of the kernel side so that
# the kernel answers the stack's ARP for it; an nftables rule on shunt0's
# ingress hook drops the stack's packets to it before the kernel's TCP
# would answer them with RSTs (the AF_PACKET socket sees them first).
# Everything is removed on exit, failure included.
set -euo pipefail
CLASS="${1:?usage: hostile_test.sh CLASS}"
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/../programs/lib.sh"
# The distribution's python3 has scapy (python3-scapy), whatever is first on PATH.
PY=/usr/bin/python3
$PY -c 'import scapy' 2> /dev/null || fail "python3-scapy is not installed (scripts/setup)"

ATTACKER=198.18.0.7
in_ns ip addr add "$ATTACKER/24" dev shunt0
in_ns nft -f - <<EOF
table netdev hostile {
  chain in {
    type filter hook ingress device shunt0 priority 0;
    ip daddr $ATTACKER drop
  }
}
EOF

mkdir -p "$WORK/www"
head -c $((1024 * 1024)) /dev/urandom > "$WORK/www/blob.bin"
head -c $((256 * 1024)) /dev/urandom > "$WORK/www/small.bin"

on_stack $PY "$HERE/server.py" "$STACK" "$WORK/www" > "$WORK/server.log" 2>&1 &
wait_port "$STACK" 7000
wait_port "$STACK" 8000
pid=""
for p in $(ip netns pids "$NS"); do
  if grep -q libshunt "/proc/$p/maps" 2> /dev/null; then pid=$p; fi
done
[ -n "$pid" ] || fail "no server process on the stack"

status=0
PYTHONDONTWRITEBYTECODE=1 in_ns $PY "$HERE/run.py" "$CLASS" "$pid" "$SHUNT" "$WORK/www" || status=$?
if [ "$status" != 0 ]; then
  echo "--- server log"; cat "$WORK/server.log"
  in_ns "$SHUNT" stat "$pid" || true
  exit "$status"
fi

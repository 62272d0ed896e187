# Shared set-up for the real-program tests (label `programs`).
#
# Each test runs in a network namespace of its own: a TAP device shunt0
# whose kernel side is 198.18.0.1/24 (the kernel peer) and the stack at
# 198.18.0.2 (docs/design.md 8). Only 198.18.0.0/15 is used, and everything the
# test made is removed on exit, failure included.
set -euo pipefail

BUILD="${SHUNT_BUILD:?SHUNT_BUILD must point at the build directory}"
SHUNT="$BUILD/tools/shunt"
NS="shp$$-${RANDOM}"
WORK="$(mktemp -d /tmp/shunt-prog.XXXXXX)"
PEER=198.18.0.1
STACK=198.18.0.2
# The programs' control sockets and TCP secret go in the test's directory,
# not in /run/shunt (docs/control.md), so that nothing outlives the test.
export SHUNT_CONTROL_DIR="$WORK/ctl"

cleanup() {
  local pids
  pids=$(ip netns pids "$NS" 2>/dev/null || true)
  if [ -n "$pids" ]; then kill $pids 2>/dev/null || true; sleep 0.2; kill -9 $pids 2>/dev/null || true; fi
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add "$NS"
in_ns() { ip netns exec "$NS" "$@"; }
in_ns ip link set lo up
in_ns ip tuntap add shunt0 mode tap
in_ns ip addr add "$PEER/24" dev shunt0
in_ns ip link set shunt0 up

# Runs a command on the stack (through the shunt wrapper) in the namespace.
on_stack() { in_ns "$SHUNT" --log warn -- "$@"; }

# Stops every process in the namespace that runs on the stack (one stack
# process may own the TAP at a time).
stop_stack_programs() {
  local pid
  for pid in $(ip netns pids "$NS" 2>/dev/null); do
    if grep -q libshunt "/proc/$pid/maps" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
  done
  for _ in $(seq 1 50); do
    local left=0
    for pid in $(ip netns pids "$NS" 2>/dev/null); do
      grep -q libshunt "/proc/$pid/maps" 2>/dev/null && left=1
    done
    [ "$left" = 0 ] && return 0
    sleep 0.1
  done
}

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "PASS: $*"; }

# Waits until a TCP port accepts connections in the namespace (kernel side
# or stack side), up to 10 s.
wait_port() {
  local host=$1 port=$2
  for _ in $(seq 1 100); do
    if in_ns timeout 1 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  fail "nothing listens on $host:$port"
}

# Waits until the stack answers ping (it is up once the program made its
# first socket), for servers that take a single connection and so must not
# be probed with one. 10 s at most.
wait_stack() {
  for _ in $(seq 1 100); do
    if in_ns ping -c 1 -W 1 "$STACK" > /dev/null 2>&1; then sleep 0.3; return 0; fi
    sleep 0.1
  done
  fail "the stack at $STACK does not answer ping"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

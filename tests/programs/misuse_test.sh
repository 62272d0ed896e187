#!/usr/bin/env bash
# Wrong settings get one clear line that starts with "shunt:" and a non-zero
# exit, before or at the program's first socket; nothing runs half-set-up.
# (Every variable's bad values are in tests/unit/config_test.cc; this checks
# the wrapper and the library say them.)
set -euo pipefail
BUILD="${SHUNT_BUILD:?SHUNT_BUILD must point at the build directory}"
SHUNT="$BUILD/tools/shunt"
WORK="$(mktemp -d /tmp/shunt-misuse.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "PASS: $*"; }

# expect WHAT WANT_RC PATTERN CMD...
expect() {
  local what=$1 want=$2 pattern=$3
  shift 3
  local rc=0
  "$@" > "$WORK/out" 2> "$WORK/err" || rc=$?
  [ "$rc" = "$want" ] || fail "$what: exit $rc, want $want ($(cat "$WORK/err"))"
  [ "$(grep -c . "$WORK/err")" = 1 ] || fail "$what: not one line: $(cat "$WORK/err")"
  grep -q "^shunt: .*$pattern" "$WORK/err" || fail "$what: '$(cat "$WORK/err")' lacks 'shunt: ...$pattern'"
  pass "$what: $(cat "$WORK/err")"
}

expect "--fault 'both truncate=0'" 2 "truncate=14 or more" "$SHUNT" --fault 'both truncate=0' -- true
expect "SHUNT_CONTROL=maybe" 2 "SHUNT_CONTROL='maybe' is not valid" env SHUNT_CONTROL=maybe "$SHUNT" -- true
expect "SHUNT_EXIT_LINGER_MS=abc" 2 "SHUNT_EXIT_LINGER_MS='abc' is not valid" env SHUNT_EXIT_LINGER_MS=abc "$SHUNT" -- true
expect "SHUNT_EXIT_LINGER_MS=-5" 2 "SHUNT_EXIT_LINGER_MS='-5' is not valid" env SHUNT_EXIT_LINGER_MS=-5 "$SHUNT" -- true
# Device errors come from the library at the first socket, with the prefix
# too, and without a wait at exit.
expect "--packet lo" 1 "interface 'lo' is not an Ethernet interface" \
  unshare -n "$SHUNT" --packet lo -- /usr/bin/python3 -c "import socket; socket.socket()"

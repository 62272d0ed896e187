#!/usr/bin/env bash
# Socket semantics that must match Linux, checked by a gtest program
# (tests/preload/semantics.cc) running on the stack against kernel peers.
source "$(dirname "$0")/lib.sh"
in_ns python3 "$(dirname "$0")/../preload/peer.py" "$PEER" &
wait_port "$PEER" 7000
on_stack "$BUILD/tests/preload_semantics" || fail "semantics (see the gtest output above)"
pass "socket semantics"
# The same with busy polling (SHUNT_BUSY_POLL_US): blocking calls poll the
# device themselves before sleeping.
in_ns env SHUNT_BUSY_POLL_US=200 "$SHUNT" -- "$BUILD/tests/preload_semantics" \
  --gtest_filter='-*IdleProcessUsesNoCpu*' || fail "semantics with busy polling"
pass "socket semantics with SHUNT_BUSY_POLL_US=200"

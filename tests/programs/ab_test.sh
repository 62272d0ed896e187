#!/usr/bin/env bash
# `shunt ab` end to end: a short iperf3 A/B (2 runs of 1 s per step) and a
# custom pair (python3 http.server on the kernel peer, curl as the client),
# each on a lab of its own (--prefix) that shunt ab brings up inside the
# test's namespace and takes down again. Checks the Markdown table, the
# JSON (keys, positive figures, no failed run), the PNG, the lab's removal,
# and that bad input is one line with exit status 2.
source "$(dirname "$0")/lib.sh"

# Everything of the lab is named after this prefix; if shunt ab dies, the
# namespace files it made are removed here (its processes go with lib.sh's
# cleanup of $NS, and their children with them: PR_SET_PDEATHSIG).
P="ab$$"
P="${P:0:11}"
ab_cleanup() {
  ip netns del "$P-peer" 2>/dev/null || true
  ip netns del "$P-client" 2>/dev/null || true
  cleanup
}
trap ab_cleanup EXIT

ab() { in_ns timeout 300 "$SHUNT" ab --prefix "$P" "$@"; }

# Checks a report directory: $1 dir, $2 a metric id that must have positive
# medians on both sides, then Markdown row labels.
check_report() {
  local dir=$1 metric=$2
  shift 2
  [ -s "$dir/ab.md" ] || fail "no $dir/ab.md"
  grep -q '^| metric | better | kernel | shunt | shunt/kernel |' "$dir/ab.md" || fail "ab.md has no table: $(cat "$dir/ab.md")"
  local row
  for row in "$@"; do
    grep -q "^| $row " "$dir/ab.md" || fail "ab.md has no row '$row': $(cat "$dir/ab.md")"
  done
  python3 - "$dir/ab.json" "$metric" <<'PY' || fail "ab.json: see above"
import json, sys
d = json.load(open(sys.argv[1]))
for key in ("tool", "scenario", "runs", "duration_s", "server", "kernel", "shunt", "metrics", "results", "failed"):
    assert key in d, f"no key {key}"
assert d["failed"] == 0, f"{d['failed']} failed runs: {[r['error'] for r in d['results'] if not r['ok']]}"
m = {x["id"]: x for x in d["metrics"]}
x = m[sys.argv[2]]
for side in ("kernel", "shunt"):
    assert x[side]["n"] == d["runs"], f"{side}: {x[side]['n']} values"
    assert x[side]["median"] > 0, f"{side} median {x[side]['median']}"
    assert all(v > 0 for v in x[side]["values"]), x[side]["values"]
assert x["ratio"] > 0
assert len(d["results"]) == 2 * d["runs"] * len({r["step"] for r in d["results"]})
PY
  [ -s "$dir/ab.png" ] || fail "no $dir/ab.png"
  [ "$(head -c 8 "$dir/ab.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "ab.png is not a PNG"
  # The lab it made is gone.
  [ ! -e "/run/netns/$P-peer" ] && [ ! -e "/run/netns/$P-client" ] || fail "the lab's namespaces are left"
}

# Bad input: one line, exit status 2, nothing started.
set +e
out=$(ab --scenario nope 2>&1); code=$?
set -e
[ "$code" = 2 ] || fail "unknown scenario: exit status $code"
[ "$(echo "$out" | wc -l)" = 1 ] || fail "unknown scenario: more than one line: $out"
echo "$out" | grep -q "unknown scenario 'nope'" || fail "unknown scenario: $out"
pass "an unknown scenario is one line, exit status 2"

# lib.sh gave this namespace 198.18.0.1/24 on shunt0: the lab's segment. This
# kernel would answer ARP for the peer's address on the lab's bridge, so
# shunt ab refuses to start.
set +e
out=$(ab --runs 1 --duration 1 --out "$WORK/refused" 2>&1); code=$?
set -e
[ "$code" = 2 ] || fail "an address on the lab's segment: exit status $code: $out"
echo "$out" | grep -q "owns 198.18.0.1/24 on shunt0" || fail "an address on the lab's segment: $out"
pass "shunt ab refuses a namespace that owns an address of the lab's segment"
in_ns ip link del shunt0

ab --scenario iperf3 --runs 2 --duration 1 --out "$WORK/iperf3" > "$WORK/iperf3.md" 2> "$WORK/iperf3.err" ||
  fail "shunt ab iperf3: $(tail -5 "$WORK/iperf3.err")"
grep -q "run 2/2 shunt  download" "$WORK/iperf3.err" || fail "no progress on stderr: $(cat "$WORK/iperf3.err")"
cmp -s "$WORK/iperf3.md" "$WORK/iperf3/ab.md" || fail "stdout is not ab.md"
check_report "$WORK/iperf3" upload.throughput "upload: throughput (Mbit/s)" "download: throughput (Mbit/s)" \
  "upload: client CPU, user+sys (s)" "download: segments retransmitted by the server (segments)"
pass "shunt ab --scenario iperf3 --runs 2 --duration 1: $(grep '^| upload: throughput' "$WORK/iperf3/ab.md")"

mkdir -p "$WORK/www"
head -c $((1 << 20)) /dev/urandom > "$WORK/www/file.bin"
ab --runs 2 --server "python3 -m http.server 8000 --bind {server} --directory $WORK/www" \
  --client "curl -sS -o /dev/null http://{server}:8000/file.bin" --out "$WORK/custom" \
  > /dev/null 2> "$WORK/custom.err" || fail "shunt ab custom: $(tail -5 "$WORK/custom.err")"
check_report "$WORK/custom" client.wall "client command: wall time (s)" "client command: client CPU, user+sys (s)"
pass "shunt ab --server python3 --client curl: $(grep '^| client command: wall' "$WORK/custom/ab.md")"

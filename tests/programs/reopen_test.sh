#!/usr/bin/env bash
# New processes reopening a 4-tuple the server still holds in TIME-WAIT:
# twenty curls, one after another, from the same local port against
# python's HTTP/1.0 server (it closes first, so it keeps each 4-tuple in
# TIME-WAIT for 60 s). Every shunt process draws its ISNs and timestamps
# from the per-user secret (preload/host_secret.h), so each SYN is newer
# and the kernel reopens the pair at once (RFC 6191): no SYN is
# retransmitted and no connection waits for an RTO. With a secret per
# process about half of them would stall for 1 s (`shunt ab` found it).
source "$(dirname "$0")/lib.sh"

export SHUNT_CONTROL_DIR="$WORK/ctl"
mkdir -p "$WORK/www"
echo hello > "$WORK/www/hello.txt"
(cd "$WORK/www" && exec ip netns exec "$NS" python3 -m http.server 8000 --bind "$PEER") > /dev/null 2>&1 &
wait_port "$PEER" 8000

start=$(date +%s%N)
for i in $(seq 1 20); do
  in_ns env SHUNT_CONTROL_DIR="$SHUNT_CONTROL_DIR" SHUNT_STATS=1 "$SHUNT" --log warn -- \
    curl -sS --max-time 10 --local-port 41000 -o "$WORK/out" "http://$PEER:8000/hello.txt" 2> "$WORK/stats.$i"
  [ "$(cat "$WORK/out")" = hello ] || fail "GET $i: $(cat "$WORK/stats.$i")"
  if grep -q "RetransSegs" "$WORK/stats.$i"; then
    fail "GET $i retransmitted: $(grep -E 'RetransSegs|OutRsts|ActiveOpens' "$WORK/stats.$i" | tr -s ' ')"
  fi
done
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
tw=$(in_ns ss -tan state time-wait "( sport = :8000 )" | tail -n +2 | wc -l)
[ "$tw" -ge 1 ] || fail "the server holds no TIME-WAIT: the test did not test reopening"
ls "$SHUNT_CONTROL_DIR"/tcp-secret-* > /dev/null || fail "no shared secret file"
mode=$(stat -c %a "$SHUNT_CONTROL_DIR"/tcp-secret-0)
[ "$mode" = 600 ] || fail "secret file mode $mode"
# 20 processes without a stall take a few seconds; one 1 s stall per two
# would add ~10 s.
[ "$elapsed" -lt 15000 ] || fail "20 GETs took $elapsed ms"
pass "20 processes reopened 198.18.0.2:41000 -> :8000 from TIME-WAIT without a retransmission ($elapsed ms)"

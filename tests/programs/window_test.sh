#!/usr/bin/env bash
# The receive window reopens when the application reads (issue 11), over
# AF_PACKET on a veth, where the kernel peer's GSO hands the stack 64 KiB
# aggregates.
#
# 1. curl on the stack downloads 64 MiB from python3 -m http.server on the
#    kernel side, checked by SHA-256. curl reads 16 KiB at a time
#    (CURLOPT_BUFFERSIZE), and its receive buffer fills and empties again
#    and again; each time the first reads must reopen the window, so the
#    peer never has to probe a zero window: the stack's
#    TCPZeroWindowProbesRecv stays 0. (Before the fix the window stayed
#    shut until the peer's probes, 200 ms then 400 ms apart: the peer
#    probed several times per 64 MiB.)
# 2. The counter counts: a reader that stops reading until the peer has
#    probed (seen with `shunt stat`) gets a count of at least 1, then reads
#    the rest 16 KiB at a time and gets all 64 MiB intact.
#
# Both ends of the veth live in the test's namespace: pk1 is the kernel's
# (198.18.1.1/24), pk0 carries no address and only the stack's AF_PACKET
# socket (198.18.1.2).
source "$(dirname "$0")/lib.sh"

VPEER=198.18.1.1
VSTACK=198.18.1.2
in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
in_ns ip link add pk0 type veth peer name pk1
in_ns ip addr add "$VPEER/24" dev pk1
in_ns ip link set pk0 up
in_ns ip link set pk1 up

# Runs a command on the stack over AF_PACKET on pk0.
on_packet() { in_ns "$SHUNT" --log warn --packet pk0 --ip "$VSTACK/24" "$@"; }
# The value of a Tcp counter in the `--stats 1` output FILE (0 when absent:
# the list holds the nonzero ones).
tcp_counter() {
  awk -v name="$1" '$1 == name { v = $2 } END { print v + 0 }' "$2"
}
# Bytes per frame the kernel sent on pk1 so far.
tx_frame_size() {
  in_ns ip -s -j link show pk1 |
    python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["stats64"]["tx"]; print(s["bytes"] // max(s["packets"], 1))'
}

mkdir -p "$WORK/www"
head -c $((64 << 20)) /dev/urandom > "$WORK/www/big.bin"
want=$(sha "$WORK/www/big.bin")
in_ns python3 -m http.server 8000 --bind "$VPEER" --directory "$WORK/www" > /dev/null 2>&1 &
wait_port "$VPEER" 8000

# ---- 1. curl, 16 KiB reads: no zero-window probe ---------------------------
on_packet --stats 1 -- curl -sS -o "$WORK/big.out" "http://$VPEER:8000/big.bin" 2> "$WORK/curl.stats"
[ "$(sha "$WORK/big.out")" = "$want" ] || fail "64 MiB GET differs"
grep -qE "^ +InSegs +[0-9]+" "$WORK/curl.stats" || fail "no counters at exit: $(cat "$WORK/curl.stats")"
# The case of the issue: the kernel sent aggregates larger than the MTU.
size=$(tx_frame_size)
[ "$size" -gt 1514 ] || fail "the kernel sent $size bytes per frame on pk1: no GSO, not the case under test"
probes=$(tcp_counter TCPZeroWindowProbesRecv "$WORK/curl.stats")
[ "$probes" = 0 ] || fail "the peer probed our zero window $probes times: reading did not reopen it
$(cat "$WORK/curl.stats")"
pass "64 MiB GET by curl over AF_PACKET/veth ($size bytes per kernel frame), no zero-window probe"

# ---- 2. a reader that waits for the peer's probe ----------------------------
mkfifo "$WORK/go"
cat > "$WORK/reader.py" <<'PY'
import hashlib, os, socket, sys
host, pidfile, go = sys.argv[1:4]
s = socket.create_connection((host, 8000))
s.sendall(b"GET /big.bin HTTP/1.0\r\nHost: x\r\n\r\n")
with open(pidfile, "w") as f:
    f.write(str(os.getpid()))
with open(go) as f:  # blocks until the test saw the peer probe
    f.read()
data = b""
while b"\r\n\r\n" not in data:
    chunk = s.recv(16384)
    if not chunk:
        sys.exit("no HTTP header")
    data += chunk
head, body = data.split(b"\r\n\r\n", 1)
h = hashlib.sha256(body)
n = len(body)
while True:
    chunk = s.recv(16384)
    if not chunk:
        break
    h.update(chunk)
    n += len(chunk)
print(n, h.hexdigest())
PY
on_packet --stats 1 -- python3 "$WORK/reader.py" "$VPEER" "$WORK/reader.pid" "$WORK/go" \
  > "$WORK/reader.out" 2> "$WORK/reader.stats" &
reader=$!
for _ in $(seq 1 100); do
  [ -s "$WORK/reader.pid" ] && break
  sleep 0.1
done
[ -s "$WORK/reader.pid" ] || fail "the reader did not start: $(cat "$WORK/reader.stats")"
pid=$(cat "$WORK/reader.pid")
# The peer fills the window, then probes it from its persist timer (its
# RTO, at least 200 ms, later doubling): wait for the count, 20 s at most.
seen=0
for _ in $(seq 1 200); do
  "$SHUNT" stat --json "$pid" > "$WORK/stat.json" 2>/dev/null || true
  seen=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["counters"]["Tcp"]["TCPZeroWindowProbesRecv"])' \
    "$WORK/stat.json" 2>/dev/null || echo 0)
  [ "$seen" -ge 1 ] && break
  sleep 0.1
done
timeout 10 bash -c "echo go > '$WORK/go'" || fail "the reader does not wait for the go: $(cat "$WORK/reader.stats")"
wait "$reader" || fail "the reader failed: $(cat "$WORK/reader.stats")"
[ "$seen" -ge 1 ] || fail "shunt stat never showed TCPZeroWindowProbesRecv >= 1: $(cat "$WORK/stat.json")"
[ "$(cat "$WORK/reader.out")" = "$((64 << 20)) $want" ] || fail "the reader got $(cat "$WORK/reader.out")"
probes=$(tcp_counter TCPZeroWindowProbesRecv "$WORK/reader.stats")
[ "$probes" -ge 1 ] || fail "no zero-window probe counted at exit: $(cat "$WORK/reader.stats")"
pass "a reader that waits is probed ($probes probes counted), then gets 64 MiB intact"

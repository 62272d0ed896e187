#!/usr/bin/env bash
# curl on the stack against python3 http.server on the kernel side: small
# and 64 MiB GETs checked by SHA-256, a POST upload, several URLs on one
# keep-alive connection, exit code 7 for a refused connection, --max-time.
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/www"
head -c 1024 /dev/urandom > "$WORK/www/small.bin"
head -c $((64 << 20)) /dev/urandom > "$WORK/www/big.bin"
cat > "$WORK/server.py" <<'PY'
import http.server, sys, hashlib, os
class H(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        n = int(self.headers["Content-Length"])
        body = self.rfile.read(n)
        out = hashlib.sha256(body).hexdigest().encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, *a): pass
os.chdir(sys.argv[1])
http.server.ThreadingHTTPServer((sys.argv[2], 8000), H).serve_forever()
PY
in_ns python3 "$WORK/server.py" "$WORK/www" "$PEER" &
wait_port "$PEER" 8000

on_stack curl -sS -o "$WORK/small.out" "http://$PEER:8000/small.bin"
[ "$(sha "$WORK/small.out")" = "$(sha "$WORK/www/small.bin")" ] || fail "1 KiB GET differs"
pass "1 KiB GET"

on_stack curl -sS -o "$WORK/big.out" "http://$PEER:8000/big.bin"
[ "$(sha "$WORK/big.out")" = "$(sha "$WORK/www/big.bin")" ] || fail "64 MiB GET differs"
pass "64 MiB GET"

head -c $((4 << 20)) /dev/urandom > "$WORK/upload.bin"
got=$(on_stack curl -sS --data-binary "@$WORK/upload.bin" "http://$PEER:8000/upload")
[ "$got" = "$(sha "$WORK/upload.bin")" ] || fail "POST upload hash $got"
pass "4 MiB POST"

# Three URLs, one connection (curl reuses it: one connect in the verbose log).
on_stack curl -sS -v -o /dev/null -o /dev/null -o /dev/null \
  "http://$PEER:8000/small.bin" "http://$PEER:8000/small.bin" "http://$PEER:8000/small.bin" \
  2> "$WORK/keepalive.log"
conns=$(grep -c "Connected to" "$WORK/keepalive.log" || true)
reused=$(grep -c "Re-using existing connection" "$WORK/keepalive.log" || true)
[ "$conns" = 1 ] && [ "$reused" = 2 ] || fail "keep-alive: $conns connections, $reused reuses"
pass "keep-alive"

set +e
on_stack curl -sS -o /dev/null "http://$PEER:8001/" 2> "$WORK/refused.log"
rc=$?
set -e
[ "$rc" = 7 ] || fail "refused connection: exit $rc, want 7 ($(cat "$WORK/refused.log"))"
pass "refused -> exit 7"

# A server that accepts and never answers: --max-time ends curl (exit 28).
cat > "$WORK/silent.py" <<'PY'
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 8002)); s.listen(5)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
PY
in_ns python3 "$WORK/silent.py" "$PEER" &
wait_port "$PEER" 8002
set +e
start=$(date +%s%N)
on_stack curl -sS -o /dev/null --max-time 2 "http://$PEER:8002/" 2>/dev/null
rc=$?
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
set -e
[ "$rc" = 28 ] || fail "--max-time: exit $rc, want 28"
[ "$elapsed" -lt 5000 ] || fail "--max-time took ${elapsed} ms"
pass "--max-time"

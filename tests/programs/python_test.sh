#!/usr/bin/env bash
# Python on the stack: http.server with its default bind (a dual-stack
# AF_INET6 socket on ::, IPv4 clients seen as ::ffff:a.b.c.d), a urllib
# client, and an asyncio (epoll) echo server.
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/www"
head -c $((8 << 20)) /dev/urandom > "$WORK/www/file.bin"

# 1. http.server on the stack with its default bind, then explicitly on
#    "::" (a dual-stack AF_INET6 socket); curl from the kernel side.
# (One stack process at a time owns the TAP: each server is stopped before the next.)
(cd "$WORK/www" && on_stack python3 -m http.server 8000 > "$WORK/server.log" 2>&1) &
wait_port "$STACK" 8000
in_ns curl -sS -o "$WORK/got.bin" "http://$STACK:8000/file.bin"
[ "$(sha "$WORK/got.bin")" = "$(sha "$WORK/www/file.bin")" ] || fail "http.server GET differs"
pass "python3 -m http.server (default bind) serves a kernel client"
stop_stack_programs

(cd "$WORK/www" && on_stack python3 -m http.server --bind :: 8003 > "$WORK/server6.log" 2>&1) &
wait_port "$STACK" 8003
in_ns curl -sS -o "$WORK/got6.bin" "http://$STACK:8003/file.bin"
[ "$(sha "$WORK/got6.bin")" = "$(sha "$WORK/www/file.bin")" ] || fail "dual-stack GET differs"
grep -q "::ffff:$PEER" "$WORK/server6.log" || fail "no v4-mapped client in the log: $(cat "$WORK/server6.log")"
pass "python3 -m http.server --bind :: sees ::ffff:$PEER"
stop_stack_programs

# 2. A urllib client on the stack against a kernel http.server.
(cd "$WORK/www" && in_ns python3 -m http.server --bind "$PEER" 8001 > /dev/null 2>&1) &
wait_port "$PEER" 8001
got=$(on_stack python3 -c "
import urllib.request, hashlib
data = urllib.request.urlopen('http://$PEER:8001/file.bin', timeout=30).read()
print(hashlib.sha256(data).hexdigest())")
[ "$got" = "$(sha "$WORK/www/file.bin")" ] || fail "urllib got $got"
pass "urllib client"
stop_stack_programs

# 3. asyncio echo server on the stack (epoll), 50 kernel clients at once.
cat > "$WORK/echo.py" <<'PY'
import asyncio
async def handle(r, w):
    while data := await r.read(65536):
        w.write(data)
        await w.drain()
    w.close()
async def main():
    server = await asyncio.start_server(handle, port=7007)
    async with server:
        await server.serve_forever()
asyncio.run(main())
PY
on_stack python3 "$WORK/echo.py" &
wait_port "$STACK" 7007
in_ns python3 - "$STACK" <<'PY'
import socket, sys, os, hashlib, concurrent.futures
def one(i):
    data = os.urandom(256 * 1024)
    s = socket.create_connection((sys.argv[1], 7007), timeout=30)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    got = b""
    while chunk := s.recv(65536):
        got += chunk
    s.close()
    return hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
with concurrent.futures.ThreadPoolExecutor(50) as ex:
    results = list(ex.map(one, range(50)))
assert all(results), results
PY
pass "asyncio echo server, 50 clients x 256 KiB"

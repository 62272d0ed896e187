#!/usr/bin/env bash
# SO_REUSEPORT under libshunt.so (issue 10, part 3):
# - a Python program on the stack with two SO_REUSEPORT TCP listeners and
#   two UDP sockets on one port: kernel clients' connections and datagrams
#   reach both; a plain socket, or one another uid created, cannot bind
#   there; closing one listener leaves the other serving every new
#   connection;
# - nginx with `listen ... reuseport` serving ab from the kernel side;
# - dig and nslookup (BIND's netmgr sets SO_REUSEPORT on its sockets and
#   aborted while the option was refused) on the stack, asking dnsmasq in
#   the namespace, over TCP and UDP. The UDP part needs libshunt.so to
#   interpose syscall() (libuv sends datagrams with syscall(SYS_sendmmsg))
#   and is skipped, saying so, until it does.
source "$(dirname "$0")/lib.sh"

# ---- a program with a reuseport group of its own -------------------------
cat > "$WORK/group.py" <<'PY'
import errno, os, select, socket, sys
addr, port, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
S = socket.SOL_SOCKET

def rp(kind):
    s = socket.socket(socket.AF_INET, kind)
    assert s.getsockopt(S, socket.SO_REUSEPORT) == 0
    s.setsockopt(S, socket.SO_REUSEPORT, 1)
    assert s.getsockopt(S, socket.SO_REUSEPORT) == 1
    s.bind((addr, port))
    return s

tcp = [rp(socket.SOCK_STREAM) for _ in range(2)]
for s in tcp: s.listen(128)
udp = [rp(socket.SOCK_DGRAM) for _ in range(2)]
for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
    plain = socket.socket(socket.AF_INET, kind)
    try:
        plain.bind((addr, port))
        sys.exit("a socket without SO_REUSEPORT bound to the group's port")
    except OSError as e:
        assert e.errno == errno.EADDRINUSE, e
    plain.close()
    # Only sockets of one owner uid share a port, and the uid is the one
    # the socket was created with (Linux sock_i_uid), not the binder's.
    first = socket.socket(socket.AF_INET, kind)
    first.setsockopt(S, socket.SO_REUSEPORT, 1)
    first.bind((addr, port + 1))
    os.seteuid(65534)
    other = socket.socket(socket.AF_INET, kind)
    os.seteuid(0)
    other.setsockopt(S, socket.SO_REUSEPORT, 1)
    try:
        other.bind((addr, port + 1))
        sys.exit("a socket of another uid joined the group")
    except OSError as e:
        assert e.errno == errno.EADDRINUSE, e
    mine = socket.socket(socket.AF_INET, kind)
    mine.setsockopt(S, socket.SO_REUSEPORT, 1)
    os.seteuid(65534)
    mine.bind((addr, port + 1))  # created by root: joins
    os.seteuid(0)
    for x in (first, other, mine): x.close()

def serve(n):
    # Answers each connection and datagram with the index of the socket
    # that got it.
    done = 0
    while done < n:
        r, _, _ = select.select(tcp + udp, [], [], 20)
        if not r: sys.exit("timed out waiting for clients")
        for s in r:
            if s in tcp:
                c, _ = s.accept()
                c.sendall(str(tcp.index(s)).encode())
                c.close()
            else:
                data, peer = s.recvfrom(100)
                s.sendto(str(udp.index(s)).encode(), peer)
            done += 1

open(f"{work}/ready", "w").close()
serve(80)                      # 40 connections, 40 datagrams
tcp.pop(0).close()             # one listener goes
open(f"{work}/closed", "w").close()
serve(20)
print("group server done")
PY

cat > "$WORK/clients.py" <<'PY'
import collections, os, socket, sys, time
addr, port, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def wait_for(name):
    for _ in range(200):
        if os.path.exists(f"{work}/{name}"): return
        time.sleep(0.05)
    sys.exit(f"the server never wrote {name}")

def tcp_once():
    with socket.create_connection((addr, port), timeout=5) as c:
        return c.recv(10).decode()

def udp_once():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.settimeout(5)
        u.sendto(b"?", (addr, port))
        return u.recvfrom(10)[0].decode()

wait_for("ready")
print("tcp", dict(collections.Counter(tcp_once() for _ in range(40))))
print("udp", dict(collections.Counter(udp_once() for _ in range(40))))
wait_for("closed")
print("after", dict(collections.Counter(tcp_once() for _ in range(20))))
PY

on_stack python3 "$WORK/group.py" "$STACK" 9000 "$WORK" > "$WORK/group.out" 2>&1 &
server=$!
in_ns python3 "$WORK/clients.py" "$STACK" 9000 "$WORK" > "$WORK/clients.out" 2>&1 \
  || fail "clients: $(cat "$WORK/clients.out") / server: $(cat "$WORK/group.out")"
wait "$server" || fail "group server: $(cat "$WORK/group.out")"
sed 's/^/  /' "$WORK/clients.out"
# Both listeners and both UDP sockets got a share (40 flows on one of two
# would be a broken hash); after the close, the remaining listener (now
# index 0) took all 20.
grep -Eq "^tcp \{'[01]': [0-9]+, '[01]': [0-9]+\}$" "$WORK/clients.out" || fail "TCP not spread over both listeners"
grep -Eq "^udp \{'[01]': [0-9]+, '[01]': [0-9]+\}$" "$WORK/clients.out" || fail "UDP not spread over both sockets"
grep -q "^after {'0': 20}$" "$WORK/clients.out" || fail "after closing a listener: $(grep after "$WORK/clients.out")"
pass "two SO_REUSEPORT listeners and UDP sockets share one port; closing one leaves the other serving"

# ---- nginx ---------------------------------------------------------------
mkdir -p "$WORK/www" "$WORK/nginx"
head -c 4096 /dev/urandom > "$WORK/www/page.bin"
cat > "$WORK/nginx/nginx.conf" <<CONF
user root;
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  server { listen $STACK:8080 reuseport; root $WORK/www; }
}
CONF
on_stack nginx -c "$WORK/nginx/nginx.conf" &
wait_port "$STACK" 8080
in_ns ab -q -n 2000 -c 10 "http://$STACK:8080/page.bin" > "$WORK/ab.txt" 2>&1 || fail "ab: $(tail -5 "$WORK/ab.txt")"
grep -q "Complete requests:      2000" "$WORK/ab.txt" || fail "ab: $(grep -E 'Complete|Failed' "$WORK/ab.txt")"
grep -q "Failed requests:        0" "$WORK/ab.txt" || fail "ab: $(grep Failed -A4 "$WORK/ab.txt")"
grep -q "Non-2xx responses" "$WORK/ab.txt" && fail "ab: non-2xx responses"
in_ns curl -sS -o "$WORK/page.out" "http://$STACK:8080/page.bin"
[ "$(sha "$WORK/page.out")" = "$(sha "$WORK/www/page.bin")" ] || fail "nginx page differs"
grep -qi "emerg\|crit" "$WORK/nginx/error.log" && fail "nginx: $(cat "$WORK/nginx/error.log")"
pass "nginx (listen $STACK:8080 reuseport): 2,000 requests under ab, 0 failed"
stop_stack_programs

# ---- dig / nslookup against dnsmasq ----------------------------------------
# dnsmasq answers on the peer address only, with nothing from the host:
# no resolv.conf, no /etc/hosts, no config file, no lease file.
in_ns dnsmasq --keep-in-foreground --no-resolv --no-hosts --conf-file=/dev/null \
  --listen-address="$PEER" --bind-interfaces --except-interface=lo --port=53 \
  --user=root --pid-file="$WORK/dnsmasq.pid" --dhcp-leasefile="$WORK/dnsmasq.leases" \
  --address=/test.example/198.18.0.77 --log-facility="$WORK/dnsmasq.log" &
for _ in $(seq 1 50); do
  in_ns dig +time=1 +tries=1 +short "@$PEER" test.example A 2>/dev/null | grep -q 198.18.0.77 && break
  sleep 0.1
done

# A DNS client on the stack, stopped after 20 s (dig hung when it aborted).
dns_on_stack() { in_ns timeout 20 "$SHUNT" --log warn -- "$@"; }

# Over TCP, dig sets SO_REUSEPORT too (it aborted with RUNTIME_CHECK when
# the option was refused).
answer=$(dns_on_stack dig +tcp +time=2 +tries=1 +short "@$PEER" test.example A 2>&1) || fail "dig +tcp: $answer"
[ "$answer" = 198.18.0.77 ] || fail "dig over TCP answered '$answer'"
pass "dig over TCP on the stack: test.example -> $answer"

# Over UDP, libuv sends with syscall(SYS_sendmmsg), not sendmmsg(): the
# datagrams reach the stack only where libshunt.so interposes syscall().
if ! nm -D --defined-only "$BUILD/preload/libshunt.so" | grep -qw syscall; then
  echo "SKIP: dig and nslookup over UDP: this libshunt.so does not interpose syscall(), through which libuv sends"
  exit 0
fi
answer=$(dns_on_stack dig +time=2 +tries=1 +short "@$PEER" test.example A 2>&1) || fail "dig: $answer"
[ "$answer" = 198.18.0.77 ] || fail "dig over UDP answered '$answer'"
pass "dig over UDP on the stack: test.example -> $answer"

out=$(dns_on_stack nslookup -type=A -timeout=2 -retry=1 test.example "$PEER" 2>&1) || fail "nslookup: $out"
echo "$out" | grep -q "Address: 198.18.0.77" || fail "nslookup answered: $out"
pass "nslookup on the stack: test.example -> 198.18.0.77"

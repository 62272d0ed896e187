#!/usr/bin/env bash
# Servers on the stack, loaded from the kernel side: nginx (single process,
# and daemonised with one worker using SHUNT_FORK=child) under ab with
# 10,000 requests; redis-server under redis-benchmark with 100,000
# requests and a BGSAVE (fork) during the run; a Node.js HTTP server
# (libuv, epoll, listening on :: by default).
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/www" "$WORK/nginx"
head -c 4096 /dev/urandom > "$WORK/www/page.bin"
nginx_conf() {
  cat > "$WORK/nginx/nginx.conf" <<CONF
user root;
daemon $1;
master_process $2;
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
  server { listen 8080; root $WORK/www; }
}
CONF
}

run_ab() {
  in_ns ab -q -n 10000 -c 20 "http://$STACK:8080/page.bin" > "$WORK/ab.txt" 2>&1 || fail "ab: $(tail -5 "$WORK/ab.txt")"
  grep -q "Complete requests:      10000" "$WORK/ab.txt" || fail "ab: $(grep -E 'Complete|Failed' "$WORK/ab.txt")"
  grep -q "Failed requests:        0" "$WORK/ab.txt" || fail "ab: $(grep -E 'Failed' -A4 "$WORK/ab.txt")"
  grep -q "Non-2xx responses" "$WORK/ab.txt" && fail "ab: non-2xx responses"
  echo "  $(grep 'Requests per second' "$WORK/ab.txt")"
}

nginx_conf off off
on_stack nginx -c "$WORK/nginx/nginx.conf" &
wait_port "$STACK" 8080
run_ab
pass "nginx (master_process off): 10,000 requests, 0 failed"
stop_stack_programs

nginx_conf on on
in_ns env SHUNT_FORK=child "$SHUNT" --log warn -- nginx -c "$WORK/nginx/nginx.conf"
wait_port "$STACK" 8080
run_ab
pass "nginx daemonised with one worker (SHUNT_FORK=child): 10,000 requests, 0 failed"
in_ns kill "$(cat "$WORK/nginx/nginx.pid")" 2>/dev/null || true
stop_stack_programs

on_stack redis-server --port 6379 --bind 0.0.0.0 --save "" --appendonly no --dir "$WORK" \
  --protected-mode no > "$WORK/redis.log" 2>&1 &
wait_port "$STACK" 6379
in_ns redis-benchmark -h "$STACK" -p 6379 -n 100000 -c 20 -t set,get,incr,lpush,lpop -q \
  > "$WORK/bench.txt" 2>&1 &
bench=$!
sleep 1
in_ns redis-cli -h "$STACK" -p 6379 BGSAVE | grep -q "Background saving started" || fail "BGSAVE"
wait "$bench" || fail "redis-benchmark: $(tail -5 "$WORK/bench.txt")"
grep -qi "error" "$WORK/bench.txt" && fail "redis-benchmark errors: $(grep -i error "$WORK/bench.txt" | head -3)"
[ "$(grep -c 'requests per second' "$WORK/bench.txt")" = 5 ] || fail "redis-benchmark: $(cat "$WORK/bench.txt")"
sed 's/^/  /' "$WORK/bench.txt" | tr '\r' '\n' | grep "requests per second" | head -5
for _ in $(seq 1 50); do
  in_ns redis-cli -h "$STACK" -p 6379 INFO persistence | grep -q "rdb_bgsave_in_progress:0" && break
  sleep 0.1
done
in_ns redis-cli -h "$STACK" -p 6379 INFO persistence | grep -q "rdb_last_bgsave_status:ok" || fail "BGSAVE did not succeed"
[ "$(in_ns redis-cli -h "$STACK" -p 6379 PING)" = PONG ] || fail "redis after BGSAVE"
pass "redis-server: 500,000 requests (5 tests x 100,000), a BGSAVE fork during the run"
stop_stack_programs

on_stack node -e "require('http').createServer((q, r) => r.end('hello from node')).listen(8081)" &
wait_port "$STACK" 8081
for _ in $(seq 1 20); do
  [ "$(in_ns curl -sS "http://$STACK:8081/")" = "hello from node" ] || fail "node server"
done
pass "Node.js HTTP server (default bind ::)"
stop_stack_programs

# A static-file server: libuv reads the file through its thread pool and
# closes fds with syscall(SYS_close). Before syscall() was interposed, a
# stale mapping sent file reads to an old socket (EAGAIN on an fs stream,
# the server crashed).
head -c 100000 /dev/urandom > "$WORK/static.bin"
on_stack node -e "
  const fs = require('fs');
  require('http').createServer((q, r) => fs.createReadStream(process.argv[1]).pipe(r)).listen(8082);
" "$WORK/static.bin" 2> "$WORK/node-static.err" &
node_pid=$!
wait_port "$STACK" 8082
in_ns ab -q -n 2000 -c 50 "http://$STACK:8082/" > "$WORK/ab-node.txt" 2>&1 || fail "ab against node: $(tail -5 "$WORK/ab-node.txt")"
grep -q "^Complete requests: *2000" "$WORK/ab-node.txt" || fail "ab against node: $(cat "$WORK/ab-node.txt")"
grep -q "^Failed requests: *0" "$WORK/ab-node.txt" || fail "ab against node: $(grep -A3 Failed "$WORK/ab-node.txt")"
kill -0 "$node_pid" 2> /dev/null || fail "the node static server died: $(tail -5 "$WORK/node-static.err")"
[ "$(in_ns curl -sS "http://$STACK:8082/" | sha256sum | cut -d' ' -f1)" = "$(sha "$WORK/static.bin")" ] ||
  fail "node static file differs"
pass "Node.js static-file server: ab -n 2000 -c 50, no failure"

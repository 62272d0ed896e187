#!/usr/bin/env bash
# The control client against hostile control sockets (issue 15): the
# control directory may be shared (/run/shunt is 1777), so any local user
# can plant a <pid>.sock there. shunt ss/stat must refuse a socket served by
# another process than the one it names, or by another user (unless root),
# bound the size and time of a reply, reject replies of the wrong shape with
# a clear error (exit 1, never a crash), and escape control characters.
set -euo pipefail
BUILD="${SHUNT_BUILD:?SHUNT_BUILD must point at the build directory}"
SHUNT="$BUILD/tools/shunt"
WORK="$(mktemp -d /tmp/shunt-hostile.XXXXXX)"
chmod 755 "$WORK"
export SHUNT_CONTROL_DIR="$WORK/ctl"
mkdir -p "$SHUNT_CONTROL_DIR"
chmod 1777 "$SHUNT_CONTROL_DIR"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "PASS: $*"; }

cat > "$WORK/fake.py" <<'PY'
# fake.py DIR NAME_PID MODE: serves DIR/NAME_PID.sock (NAME_PID 0: our own
# pid) and answers every request as MODE says.
import os, socket, sys, time
d, name, mode = sys.argv[1], int(sys.argv[2]) or os.getpid(), sys.argv[3]
path = f"{d}/{name}.sock"
s = socket.socket(socket.AF_UNIX)
s.bind(path)
os.chmod(path, 0o666)
s.listen(8)
open(f"{d}/ready-{mode}", "w").close()
while True:
    c, _ = s.accept()
    c.recv(4096)
    try:
        if mode == "error-int":
            c.sendall(b'{"error":1}')
        elif mode == "wrong-types":
            c.sendall(('{"pid":%d,"comm":"x","sockets":[{"proto":7,"state":[],"local":{}}],'
                       '"counters":5,"drops":"x","faults":1}' % os.getpid()).encode())
        elif mode == "escapes":
            c.sendall(('{"pid":%d,"comm":"\\u001b]0;owned\\u0007\\u001b[31mred\\u009b","address":"a",'
                       '"device":"d","sockets":[{"proto":"tcp","state":"ESTAB","recv_q":0,"send_q":0,'
                       '"local":"198.18.0.2:1","peer":"\\u001b[2J198.18.0.1:2","fds":[3]}]}'
                       % os.getpid()).encode())
        elif mode == "endless":
            chunk = b" " * 65536
            while True:
                c.sendall(chunk)
        elif mode == "trickle":
            while True:
                c.sendall(b" ")
                time.sleep(5)
    except OSError:
        pass
    c.close()
PY

# start MODE NAME_PID [USER]: a fake server (NAME_PID 0: named after
# itself); its pid goes in $last. /usr/bin/python3: another user may not
# reach root's python (a pyenv shim).
start() {
  local mode=$1 name=$2 user=${3:-}
  rm -f "$SHUNT_CONTROL_DIR/ready-$mode"
  if [ -n "$user" ]; then
    setpriv --reuid="$user" --regid=nogroup --clear-groups /usr/bin/python3 "$WORK/fake.py" \
      "$SHUNT_CONTROL_DIR" "$name" "$mode" > /dev/null 2>&1 &
  else
    /usr/bin/python3 "$WORK/fake.py" "$SHUNT_CONTROL_DIR" "$name" "$mode" > /dev/null 2>&1 &
  fi
  last=$!
  pids+=("$last")
  for _ in $(seq 1 100); do [ -e "$SHUNT_CONTROL_DIR/ready-$mode" ] && break; sleep 0.05; done
  [ -e "$SHUNT_CONTROL_DIR/ready-$mode" ] || fail "fake server $mode did not start"
}

# expect_refusal WHAT PATTERN CMD...: the command exits 1 with PATTERN in its error.
expect_refusal() {
  local what=$1 pattern=$2
  shift 2
  local rc=0
  "$@" > "$WORK/out" 2> "$WORK/err" || rc=$?
  [ "$rc" = 1 ] || fail "$what: exit $rc, want 1 ($(cat "$WORK/err"))"
  grep -q -- "$pattern" "$WORK/err" || fail "$what: error '$(cat "$WORK/err")' lacks '$pattern'"
  pass "$what: $(head -1 "$WORK/err")"
}

# A socket file named after another process (here: this shell's sleep).
sleep 300 &
victim=$!
pids+=("$victim")
start error-int "$victim" nobody
expect_refusal "a socket named after another process" "not by $victim" "$SHUNT" ss "$victim"

# Served by the process it names, but of another user: root may look, a
# user may not look at another user's process.
start error-int 0 nobody
liar=$last
expect_refusal "root reads {\"error\":1} (no crash)" "process $liar: 1" "$SHUNT" ss "$liar"
expect_refusal "another user's socket, as a user" "not by you" \
  setpriv --reuid=daemon --regid=daemon --clear-groups env SHUNT_CONTROL_DIR="$SHUNT_CONTROL_DIR" "$SHUNT" stat "$liar"

start wrong-types 0
expect_refusal "values of the wrong type (ss)" "malformed reply" "$SHUNT" ss "$last"
expect_refusal "values of the wrong type (stat)" "malformed reply" "$SHUNT" stat "$last"

start escapes 0
"$SHUNT" ss -p "$last" > "$WORK/out" 2>&1 || true
grep -q 'x1b' "$WORK/out" || fail "the escaped comm is not shown: $(cat "$WORK/out")"
LC_ALL=C grep -q $'\x1b' "$WORK/out" && fail "an escape sequence reached the terminal: $(od -c "$WORK/out" | head -3)"
LC_ALL=C grep -q $'\xc2\x9b' "$WORK/out" && fail "a C1 control reached the terminal"
"$SHUNT" ss --json "$last" > "$WORK/out.json" 2>&1 || true
LC_ALL=C grep -q $'\x1b' "$WORK/out.json" && fail "an escape sequence in --json output"
pass "control characters in a reply are escaped"

start endless 0
expect_refusal "an endless reply" "over 64 MiB" "$SHUNT" ss "$last"

start trickle 0
expect_refusal "a reply trickling one byte every 5 s" "no complete reply within 10 s" "$SHUNT" stat "$last"

# Without a PID, shunt ss asks every socket in the directory: the planted
# one (named after another process) is skipped.
"$SHUNT" ss -p > "$WORK/all" 2>&1 || true
grep -q "pid=$victim" "$WORK/all" && fail "shunt ss listed the planted socket of process $victim"
pass "shunt ss without a PID skips the planted socket"

# A TCP secret planted by another user in the shared directory is refused
# loudly (a known secret would make the ISNs predictable, RFC 6528), and
# the process runs on with a secret of its own.
head -c 16 /dev/urandom > "$SHUNT_CONTROL_DIR/tcp-secret-0"
chown nobody "$SHUNT_CONTROL_DIR/tcp-secret-0"
chmod 600 "$SHUNT_CONTROL_DIR/tcp-secret-0"
unshare -n "$SHUNT" --log warn -- /usr/bin/python3 -c "import socket; socket.socket()" 2> "$WORK/secret.err" ||
  fail "a program with a planted secret did not run: $(cat "$WORK/secret.err")"
grep -q "shunt\[[0-9]*\]: per-process TCP secret (.*tcp-secret-0 belongs to uid 65534, not to uid 0: refusing it" \
  "$WORK/secret.err" || fail "no warning about the planted secret: $(cat "$WORK/secret.err")"
[ "$(stat -c %U "$SHUNT_CONTROL_DIR/tcp-secret-0")" = nobody ] || fail "the planted file was replaced"
pass "a planted tcp-secret is refused with a warning"

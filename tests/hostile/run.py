"""Runs one class of attack against the server on the stack, then checks it.

usage: run.py CLASS PID SHUNT WWW_DIR   (inside the test's namespace, as root)

Before and after the attack (tests/hostile/attack_CLASS.py, its attack()
function): a kernel client gets the right bytes from the echo server and
the HTTP server, the server's RSS is read, and the stack's counters are
taken with `shunt stat --json`. The attack returns the counters it must have
moved, with the least change for each; then every one is checked, and the
RSS may have grown by at most RSS_BOUND_KB. Prints `PASS: CLASS` or
`FAIL: CLASS: why` and exits 0 or 1.
"""
import hashlib
import http.client
import importlib
import os
import socket
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer  # noqa: E402
from peer import ECHO_PORT, HTTP_PORT, STACK, CheckFailed, Server, Wire, check  # noqa: E402

RSS_BOUND_KB = 64 * 1024


def kernel_echo(size=64 * 1024):
    data = os.urandom(size)
    with socket.create_connection((STACK, ECHO_PORT), timeout=15) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        got = bytearray()
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    return bytes(got) == data, len(got)


def kernel_http(www, name="blob.bin"):
    with open(os.path.join(www, name), "rb") as f:
        want = hashlib.sha256(f.read()).hexdigest()
    c = http.client.HTTPConnection(STACK, HTTP_PORT, timeout=15)
    c.request("GET", "/" + name)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status == 200 and hashlib.sha256(body).hexdigest() == want, r.status, len(body)


def serves(www, when):
    t0 = time.monotonic()
    ok, n = kernel_echo()
    t1 = time.monotonic()
    check(ok, f"{when}: a kernel client's 64 KiB come back from the echo server "
              f"({n} bytes, {t1 - t0:.2f} s)")
    ok, status, n = kernel_http(www)
    check(ok, f"{when}: a kernel client's GET /blob.bin is HTTP 200 with the right SHA-256 "
              f"({status}, {n} bytes, {time.monotonic() - t1:.2f} s)")


def main():
    cls, pid, shunt, www = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    mod = importlib.import_module(f"attack_{cls}")
    srv = Server(pid, shunt)
    os.environ["HOSTILE_WWW"] = www  # the served files, for attacks that check them
    try:
        serves(www, "before")
        rss0 = srv.rss_kb()
        c0 = srv.stat()
        print(f"{cls}: attacking (server pid {pid}, RSS {rss0} kB)", flush=True)
        expected = mod.attack(Wire(), srv)
        check(srv.alive(), "the server process is alive")
        serves(www, "after")
        rss1 = srv.rss_kb()
        c1 = srv.stat()
        moved = {k: c1.get(k, 0) - c0.get(k, 0) for k in sorted(set(c0) | set(c1))}
        print(f"{cls}: counters that moved: " +
              ", ".join(f"{k} +{v}" for k, v in moved.items() if v and not k.startswith("Link.")),
              flush=True)
        for name, least in expected.items():
            d = moved.get(name, 0)
            check(d >= least, f"counter {name} moved by {d} (at least {least})")
        check(rss1 - rss0 <= RSS_BOUND_KB,
              f"RSS stayed bounded: {rss0} kB -> {rss1} kB (at most +{RSS_BOUND_KB} kB)")
    except CheckFailed as e:
        print(f"FAIL: {cls}: {e}", flush=True)
        return 1
    except Exception:
        traceback.print_exc()
        print(f"FAIL: {cls}: the attack raised", flush=True)
        return 1
    print(f"PASS: {cls}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A zero window held by the peer (RFC 9293 3.8.6.1, RFC 1122 4.2.2.17).

GET /blob.bin (1 MiB) from the HTTP server with a 4 KiB window, which the
attacker then closes and holds shut for 8 s, answering every probe with
"still zero". Twenty more connections ask for the same file and offer a
zero window from their first ACK. Meanwhile:
- the stack never sends data beyond the window it was offered;
- it probes with backoff (each interval at least the one before), at
  least 4 probes in 8 s (200 ms, then doubling);
- the server's memory stays bounded (the send buffers are, whatever the
  program writes).
Then the window opens and the whole response arrives intact (SHA-256 of
the body against the file), and the twenty are reset.
"""
import hashlib
import os
import time

from peer import FIN, HTTP_PORT, Conn, check, seq_after, tcp_payload

HOLD = 8.0
QUIET = 20


def attack(w, srv):
    www = os.environ["HOSTILE_WWW"]
    with open(os.path.join(www, "blob.bin"), "rb") as f:
        want = hashlib.sha256(f.read()).hexdigest()

    c = Conn(w, HTTP_PORT, window=4096)
    c.connect()
    edge = (c.rcv_nxt + 4096) & 0xFFFFFFFF     # the right edge we ever offered
    c.send_data(b"GET /blob.bin HTTP/1.0\r\n\r\n")
    # The first segment closes the window (ACKed with window 0).
    got = bytearray(c.read(1, timeout=3.0, window=0))
    check(len(got) > 0, "the response starts")

    quiet = []
    for _ in range(QUIET):
        q = Conn(w, HTTP_PORT, window=0)
        q.connect()
        q.send_data(b"GET /blob.bin HTTP/1.0\r\n\r\n")
        quiet.append(q)

    probes, beyond = [], 0
    end = time.monotonic() + HOLD
    while time.monotonic() < end:
        p = c.expect(timeout=max(0.0, end - time.monotonic()))
        if p is None:
            break
        data = tcp_payload(p)
        seq = p["TCP"].seq
        if data and seq_after((seq + len(data)) & 0xFFFFFFFF, edge):
            beyond += 1
        if data and seq == c.rcv_nxt:
            got += data
            c.rcv_nxt = (seq + len(data)) & 0xFFFFFFFF
            c.send(flags="A", window=0)
        elif not data and seq == (c.rcv_nxt - 1) & 0xFFFFFFFF:
            probes.append(time.monotonic())
            c.send(flags="A", window=0)      # still shut
    gaps = [b - a for a, b in zip(probes, probes[1:])]
    print(f"  {len(probes)} probes in {HOLD:.0f} s, intervals {[round(g, 2) for g in gaps]} s, "
          f"{len(got)} bytes in the 4 KiB window", flush=True)
    check(beyond == 0, "no data beyond the offered window")
    check(len(got) <= 4096, f"no more than the 4 KiB offered arrived ({len(got)})")
    check(len(probes) >= 4, f"the stack probed the zero window at least 4 times ({len(probes)})")
    check(all(b >= a * 0.8 for a, b in zip(gaps, gaps[1:])), "the probe intervals back off")
    for q in quiet:
        info = srv.conn_info(q.sport)
        check(info is not None and info["send_q"] > 0,
              f"a quiet connection holds unsent data ({info and info['send_q']} bytes)")
        break  # one is enough to show the server is blocked in send

    # Open the window: the rest of the response, intact.
    c.window = 65535
    c.send(flags="A")
    got += c.read(1 << 30, timeout=60.0)
    head, _, body = bytes(got).partition(b"\r\n\r\n")
    check(head.startswith(b"HTTP/1.0 200"), "HTTP 200 after the window opened")
    check(hashlib.sha256(body).hexdigest() == want,
          f"the body is the file, byte for byte ({len(body)} bytes)")
    for q in quiet:
        q.reset()
    c.reset()
    return {"Tcp.TCPWinProbe": 4}

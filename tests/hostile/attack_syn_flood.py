"""A SYN flood (RFC 4987; issue 15, 1).

5000 SYNs from random ports of the attacker's address and 300 from
addresses nobody answers ARP for (198.18.0.100 to .199), never completed,
against the echo server (backlog 128). The SYN queue fills, then SYN
cookies answer and nothing more is kept (at most 128 SYN-RECV). Then:
- a handshake of the attacker's with timestamps, window scale and SACK
  completes from a cookie and its data is echoed;
- the kernel client's checks (run.py, "after") connect through cookies
  too, while the half-open connections wait out their SYN-ACK retries.
"""
import random
import time

from peer import ECHO_PORT, SYN, Conn, check, raw_tcp

FLOOD = 5000
SPOOFED = 300


def attack(w, srv):
    c = Conn(w, ECHO_PORT)
    mss_opt = b"\x02\x04\x05\xb4"
    t0 = time.monotonic()
    for i in range(FLOOD):
        c.sport = random.randint(1024, 65535)
        w.send(raw_tcp(c, SYN, seq=random.getrandbits(32), ack=0, opts=mss_opt, window=64240))
        if i % 64 == 63:
            time.sleep(0.002)  # the TAP's queue holds 500 frames
    for i in range(SPOOFED):
        c.sport = random.randint(1024, 65535)
        pkt = bytearray(raw_tcp(c, SYN, seq=random.getrandbits(32), ack=0, opts=mss_opt))
        # Another source address: the IP checksum and the TCP pseudo-header
        # change; rebuilt by scapy.
        from scapy.layers.inet import IP
        ip = IP(bytes(pkt))
        ip.src = f"198.18.0.{100 + i % 100}"
        del ip.chksum
        del ip["TCP"].chksum
        w.send(ip)
    print(f"  {FLOOD + SPOOFED} SYNs sent in {time.monotonic() - t0:.1f} s", flush=True)
    time.sleep(0.5)
    w.drain()
    half_open = sum(1 for s in srv.sockets()
                    if s["state"] == "SYN-RECV" and s["local"].endswith(f":{ECHO_PORT}"))
    check(0 < half_open <= 128, f"the SYN queue holds at most the backlog, 128 ({half_open})")

    h = Conn(w, ECHO_PORT, ts=True, wscale=7, sack=True)
    sa = h.connect()
    opts = dict(o for o in sa["TCP"].options if isinstance(o, tuple) and len(o) == 2)
    check("Timestamp" in opts and "WScale" in opts and "SAckOK" in opts,
          f"the cookie SYN-ACK carries timestamps, window scale and SACK ({sorted(opts)})")
    got = h.echo(b"through a cookie")
    check(got == b"through a cookie", f"a connection from a SYN cookie echoes ({got!r})")
    h.reset()
    return {
        "Tcp.SyncookiesSent": FLOOD // 2,
        "Tcp.SyncookiesRecv": 1,
    }

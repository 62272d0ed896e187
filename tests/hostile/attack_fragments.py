"""IPv4 fragments (RFC 791 3.2, RFC 815; RFC 5722's reasoning for IPv4,
Linux since CVE-2018-5391):

- tiny: a TCP segment cut into 8-byte fragments, the TCP header split
  across five of them, sent in reverse order: reassembled and delivered;
- overlapping with different data: the whole datagram is dropped
  (FragOverlap), nothing of it delivered;
- bad offsets: a fragment ending past 65535 bytes, a middle fragment whose
  length is not a multiple of 8;
- never completed: 3000 first fragments of 1480 bytes with distinct IDs,
  more than the 1024 datagrams and 4 MiB the stack holds: the oldest are
  evicted (FragEvicted), and a legitimate fragmented ping from the kernel
  (4000 bytes) still gets its reply at once, not after the 30 s timeout.
"""
import random
import subprocess
import time

from peer import ATTACKER, ECHO_PORT, STACK, Conn, check, ipv4_header

MF = 0x2000


def tcp_part(conn, data):
    return bytes(conn.pkt(flags="PA", data=data)["TCP"])


def fragment(payload, ident, offset, chunk, more, proto=6, src=ATTACKER):
    return ipv4_header(src, STACK, proto, len(chunk), ident=ident,
                       flags_frag=(MF if more else 0) | (offset // 8)) + chunk


def attack(w, srv):
    est = Conn(w, ECHO_PORT)
    est.connect()
    check(est.echo(b"hello") == b"hello", "the attacker's connection echoes")

    # Tiny fragments, last first.
    data = b"tiny fragments, reassembled"
    tcp = tcp_part(est, data)
    ident = random.getrandbits(16)
    pieces = [(o, tcp[o:o + 8], o + 8 < len(tcp)) for o in range(0, len(tcp), 8)]
    for o, chunk, more in reversed(pieces):
        w.send(fragment(tcp, ident, o, chunk, more))
    est.snd_nxt = (est.snd_nxt + len(data)) & 0xFFFFFFFF
    got = est.read(len(data))
    check(got == data, f"a segment in {len(pieces)} fragments of 8 bytes, last first, was delivered")

    # Overlapping fragments with different data: the datagram is dropped.
    tcp = tcp_part(est, b"A" * 40)
    ident = random.getrandbits(16)
    w.send(fragment(tcp, ident, 0, tcp[:32], True))
    evil = bytearray(tcp[24:])
    evil[8:] = b"B" * (len(evil) - 8)
    w.send(fragment(tcp, ident, 24, bytes(evil), False))   # overlaps bytes 24..32
    w.send(fragment(tcp, ident, 32, tcp[32:], False))       # would complete it
    # Bad offsets.
    w.send(fragment(tcp, random.getrandbits(16), 65528, b"x" * 16, False))
    w.send(fragment(tcp, random.getrandbits(16), 8, b"x" * 13, True))
    got = est.echo(b"good")
    check(got == b"good", f"nothing of the overlapped datagram was delivered (echo {got!r})")

    # 3000 datagrams that never complete.
    base = random.getrandbits(16)
    for i in range(3000):
        w.send(fragment(b"", (base + i) & 0xFFFF, 0, bytes(1480), True, proto=17))
        if i % 64 == 63:
            time.sleep(0.002)  # the TAP's queue holds 500 frames
    time.sleep(0.2)
    t0 = time.monotonic()
    ping = subprocess.run(["ping", "-c", "1", "-W", "3", "-s", "4000", STACK],
                          capture_output=True, text=True)
    check(ping.returncode == 0,
          f"a 4000-byte ping from the kernel (3 fragments) got its reply after the flood "
          f"({time.monotonic() - t0:.2f} s)")
    got = est.echo(b"after")
    check(got == b"after", "the connection still echoes")
    est.reset()
    return {
        "Ip.ReasmReqds": 2500,       # most of the 3000 (a loaded TAP may drop a few)
        "Ip.ReasmOKs": 2,            # the tiny fragments and the ping
        "Drop.FragOverlap": 1,
        "Drop.FragBadOffset": 2,
        "Drop.FragEvicted": 1000,
        "Ip.ReasmFails": 1000,
    }

"""Malformed TCP options (RFC 9293 3.1, MUST-7 "be prepared for illegal
lengths"; Linux tcp_parse_options).

- SYNs whose option list cannot be walked (a length of 0 or 1, a length
  past the header's end, a kind without its length byte): dropped with
  TcpBadOption, no SYN-ACK.
- SYNs with a known option of the wrong length (MSS of 3 bytes, window
  scale of 4, timestamps of 6...): the option is skipped and the SYN
  kept, like Linux (issue 15, 5).
- SYNs with absurd values (window scale 200, MSS 0 or 1, SACK blocks on a
  SYN) and 300 SYNs of random option bytes: never a crash; each SYN-ACK
  is answered with a RST so the SYN queue empties.
- Data on an established connection with unwalkable options is dropped,
  not delivered: the connection then echoes only the good copy.
- ACKs with SACK blocks for data never sent and inverted blocks.
"""
import os
import random

from peer import ACK, ECHO_PORT, PSH, SYN, Conn, check, raw_tcp


UNWALKABLE = [
    b"\x02\x00\x05\xb4",            # MSS kind with length 0
    b"\x08\x01",                    # timestamps with length 1
    b"\x02\x04\x05\xb4\x03",        # window scale kind, then a length of 0 (the padding)
    b"\x03\x28\x07",                # length 40 runs past the end
    b"\xfe\xff" + b"\x00" * 6,      # an unknown kind of length 255
]

WRONG_LENGTH_KNOWN = [
    b"\x02\x03\x05\x01\x01\x01",      # MSS of length 3, then NOPs
    b"\x03\x04\x07\x00",             # window scale of length 4
    b"\x08\x06\x00\x00\x00\x01",     # timestamps of length 6
    b"\x04\x03\x00\x01",             # SACK-permitted of length 3
]


def attack(w, srv):
    # Unwalkable option lists on SYNs: no SYN-ACK.
    for opts in UNWALKABLE:
        # The third needs its kind to be the last byte: no EOL padding after it.
        c = Conn(w, ECHO_PORT)
        w.send(raw_tcp(c, SYN, seq=c.iss, ack=0, opts=opts))
        p = c.expect(lambda p: p["TCP"].flags & SYN, 0.3)
        check(p is None, f"no SYN-ACK for a SYN with unwalkable options {opts.hex()}")

    # Known options of the wrong length: skipped, the SYN kept.
    for opts in WRONG_LENGTH_KNOWN:
        c = Conn(w, ECHO_PORT)
        w.send(raw_tcp(c, SYN, seq=c.iss, ack=0, opts=opts))
        p = c.expect(lambda p: p["TCP"].flags & SYN, 1.0)
        check(p is not None, f"a SYN-ACK for a SYN with a wrong-length known option {opts.hex()}")
        c.send(flags="R", seq=c.iss + 1, ack=0)

    # Absurd values, well-formed.
    for opts in ([("WScale", 200), ("MSS", 0)], [("MSS", 1)], [("SAck", (1, 2, 3, 4))],
                 [("Timestamp", (0xFFFFFFFF, 0xFFFFFFFF)), ("WScale", 15)]):
        c = Conn(w, ECHO_PORT)
        c.send(flags="S", seq=c.iss, ack=0, options=opts)
        p = c.expect(lambda p: p["TCP"].flags & SYN, 1.0)
        if p is not None:
            c.send(flags="R", seq=c.iss + 1, ack=0)

    # Random option bytes on 300 SYNs.
    answered = 0
    for _ in range(300):
        c = Conn(w, ECHO_PORT)
        w.send(raw_tcp(c, SYN, seq=c.iss, ack=0, opts=os.urandom(random.randint(1, 40))))
    for p in w.collect(lambda p: "TCP" in p and p["TCP"].flags & SYN, 1.0):
        answered += 1
        c = Conn(w, ECHO_PORT, sport=p["TCP"].dport)
        c.send(flags="R", seq=(p["TCP"].ack) & 0xFFFFFFFF, ack=0)
    print(f"  {answered} of 300 SYNs with random options were answered", flush=True)

    # An established connection: data with unwalkable options is dropped.
    est = Conn(w, ECHO_PORT, sack=True)
    est.connect()
    check(est.echo(b"hello") == b"hello", "the attacker's connection echoes")
    for opts in UNWALKABLE:
        w.send(raw_tcp(est, PSH | ACK, opts=opts, data=b"EVIL"))
    # SACK blocks for data the stack never sent, and inverted ones.
    for blocks in ((est.rcv_nxt + 1000, est.rcv_nxt + 2000), (est.rcv_nxt + 50, est.rcv_nxt + 10),
                   (est.rcv_nxt - 100000, est.rcv_nxt + 100000)):
        est.send(flags="A", options=[("SAck", blocks)])
    got = est.echo(b"good")
    check(got == b"good", f"only the well-formed copy was delivered (echo {got!r})")
    est.reset()
    return {
        "Drop.TcpBadOption": len(UNWALKABLE) * 2,
        "Tcp.InErrs": len(UNWALKABLE) * 2,
    }

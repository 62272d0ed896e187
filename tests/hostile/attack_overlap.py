"""Overlapping TCP segments with different data (RFC 9293 3.10.7.4
"seventh", RFC 2018).

Into the echo server, with SACK: out of order, B at [100,200), C at
[150,300) over B's end, D at [120,160) inside B, then A at [0,120) over
B's start fills the hole; then E, a different [0,300) after all of it was
acknowledged, and F at [290,320) over the delivered end. The echo must be
320 bytes where every byte is one of the versions that arrived for it
before it was acknowledged: never E, A's alone at [0,100), F's at
[300,320). Out-of-order data is acknowledged at once with SACK blocks
that describe what is held (RFC 2018 4, RFC 5681 4.2), and a duplicate is
acknowledged with RCV.NXT.

There is no stack counter for out-of-order or overlapping data (Linux
TCPOFOQueue, TCPDSACKOfoRecv): the checks are the stream and the ACKs.
"""
from peer import ECHO_PORT, Conn, check, tcp_payload


def sack_blocks(p):
    for name, val in p["TCP"].options:
        if name == "SAck":
            return [(val[i], val[i + 1]) for i in range(0, len(val), 2)]
    return []


def attack(w, srv):
    c = Conn(w, ECHO_PORT, sack=True)
    c.connect()
    check(c.echo(b"hello") == b"hello", "the attacker's connection echoes")
    base = c.snd_nxt
    rel = lambda x: (x - base) & 0xFFFFFFFF  # noqa: E731

    def seg(start, end, ch):
        c.send(flags="PA", seq=base + start, data=ch * (end - start))

    def ack_for(pred, what):
        p = c.expect(lambda p: not tcp_payload(p) and pred(p), 1.0)
        check(p is not None, what)
        return p

    seg(100, 200, b"B")
    p = ack_for(lambda p: True, "out-of-order data is acknowledged at once")
    check(p["TCP"].ack == base and [(rel(l), rel(r)) for l, r in sack_blocks(p)] == [(100, 200)],
          f"the ACK is RCV.NXT with SACK [100,200) ({rel(p['TCP'].ack)}, "
          f"{[(rel(l), rel(r)) for l, r in sack_blocks(p)]})")
    seg(150, 300, b"C")
    p = ack_for(lambda p: True, "overlapping out-of-order data is acknowledged")
    check((100, 300) in [(rel(l), rel(r)) for l, r in sack_blocks(p)],
          f"its SACK block is [100,300) ({[(rel(l), rel(r)) for l, r in sack_blocks(p)]})")
    seg(120, 160, b"D")
    seg(0, 120, b"A")
    seg(0, 300, b"E")   # all of it acknowledged by now (or in flight): stale
    seg(290, 320, b"F")
    c.snd_nxt = (base + 320) & 0xFFFFFFFF
    got = c.read(320, timeout=5.0)
    check(len(got) == 320, f"320 bytes echoed ({len(got)})")
    allowed = []
    for i in range(320):
        a = set()
        if i < 120:
            a.add(ord("A"))
        if 100 <= i < 200:
            a.add(ord("B"))
        if 150 <= i < 300:
            a.add(ord("C"))
        if 120 <= i < 160:
            a.add(ord("D"))
        if i >= 300:
            a = {ord("F")}
        allowed.append(a)
    runs, prev = [], None
    for i, b in enumerate(got):
        if b != prev:
            runs.append(f"{chr(b)}@{i}")
            prev = b
    print(f"  the stream: {' '.join(runs)}", flush=True)
    bad = [i for i, b in enumerate(got) if b not in allowed[i]]
    check(not bad, f"every byte is one of the versions that arrived for it first "
                   f"(wrong at {bad[:5]}; never E)")
    c.reset()
    return {"Tcp.InSegs": 8}

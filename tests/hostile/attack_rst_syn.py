"""Blind RSTs and SYNs, in and out of the window (RFC 5961 3 and 4).

On an established connection (the stack's receive window is 64 KiB):
- RSTs below RCV.NXT and beyond the window: dropped without an answer;
- RSTs inside the window but not at RCV.NXT: a challenge ACK each
  (<SEQ=SND.NXT><ACK=RCV.NXT>), the connection lives;
- SYNs at any sequence number, in the window or not: a challenge ACK;
- a SYN-ACK into the connection: a challenge ACK too.
The connection then still echoes; finally a RST exactly at RCV.NXT
resets it (EstabResets), and the next segment on its ports gets a RST
from the listener.
"""
from peer import ACK, ECHO_PORT, RST, SYN, Conn, check

N = 40


def attack(w, srv):
    c = Conn(w, ECHO_PORT)
    c.connect()
    check(c.echo(b"hello") == b"hello", "the attacker's connection echoes")
    w.drain()

    def challenge(p):
        return (p["TCP"].flags & (ACK | RST | SYN)) == ACK and p["TCP"].ack == c.snd_nxt

    for off in (-1, -1000, -(1 << 30), 70000, 1 << 20, 1 << 31):
        c.send(flags="R", seq=c.snd_nxt + off, ack=0)
        c.send(flags="RA", seq=c.snd_nxt + off)
    p = c.expect(timeout=0.5)
    check(p is None, "RSTs outside the window got no answer")

    for i in range(N):
        c.send(flags="R", seq=c.snd_nxt + 1 + i * 1000, ack=0)
    acks = len(w.collect(lambda p: c.mine(p) and challenge(p), 0.5))
    check(acks == N, f"each of {N} RSTs inside the window got a challenge ACK ({acks})")

    for i in range(N):
        c.send(flags="S", seq=c.snd_nxt + (i - N // 2) * 100000, ack=0)
    c.send(flags="SA", seq=c.snd_nxt + 5)
    acks = len(w.collect(lambda p: c.mine(p) and challenge(p), 0.5))
    check(acks == N + 1, f"each of {N} SYNs and a SYN-ACK got a challenge ACK ({acks})")
    check(srv.conn_info(c.sport) is not None and srv.conn_info(c.sport)["state"] == "ESTAB",
          "the connection is still ESTABLISHED (shunt ss)")
    check(c.echo(b"still here") == b"still here", "the connection still echoes")

    c.send(flags="R", seq=c.snd_nxt, ack=0)
    c.send(flags="PA", data=b"x")
    p = c.expect(lambda p: p["TCP"].flags & RST, 1.0)
    check(p is not None, "a RST exactly at RCV.NXT reset the connection: the next segment gets a RST")
    return {
        "Tcp.TCPChallengeACK": 2 * N + 1,
        "Tcp.EstabResets": 1,
        "Tcp.OutRsts": 1,            # the segment after the reset (it reaches the listener)
    }

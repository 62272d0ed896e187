"""ACKs of data never sent (RFC 9293 3.10.7.4 "fifth", RFC 5961 5.2).

- An ACK beyond SND.NXT, and one older than SND.UNA - MAX.SND.WND: each
  gets a challenge ACK and is dropped; data riding on it is not delivered.
- In SYN-RECEIVED, an ACK that does not acknowledge our SYN gets a RST
  <SEQ=SEG.ACK> and leaves the handshake open, so the right ACK still
  completes it.
- The connection's send side is unhurt: data sent after the forged ACKs
  comes back whole, and the stack's next segment carries the true
  SND.NXT.
"""
from peer import ACK, ECHO_PORT, RST, SYN, Conn, check, tcp_payload


def attack(w, srv):
    c = Conn(w, ECHO_PORT)
    c.connect()
    check(c.echo(b"hello") == b"hello", "the attacker's connection echoes")
    snd_nxt = c.rcv_nxt   # the stack's SND.NXT: everything was acknowledged
    w.drain()
    n = 0
    for off in (1, 1000, 1 << 20, 1 << 30, -(1 << 20), -(1 << 30)):
        c.send(flags="PA", ack=snd_nxt + off, data=b"FORGED")
        p = c.expect(lambda p: p["TCP"].flags & ACK and not tcp_payload(p), 1.0)
        check(p is not None and p["TCP"].seq == snd_nxt and p["TCP"].ack == c.snd_nxt,
              f"data with ACK = SND.NXT {off:+d} got a challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT>, "
              f"its data dropped")
        n += 1
    got = c.echo(b"real")
    check(got == b"real", f"only the real data is echoed ({got!r})")

    h = Conn(w, ECHO_PORT)
    h.send(flags="S", seq=h.iss, ack=0, options=h.syn_options())
    sa = h.expect(lambda p: (p["TCP"].flags & (SYN | ACK)) == (SYN | ACK), 1.0)
    check(sa is not None, "SYN-ACK for a new handshake")
    h.irs = sa["TCP"].seq
    h.rcv_nxt = h.irs + 1
    h.snd_nxt = h.iss + 1
    h.send(flags="A", ack=h.irs + 12345)
    p = h.expect(lambda p: p["TCP"].flags & RST, 1.0)
    check(p is not None and p["TCP"].seq == (h.irs + 12345) & 0xFFFFFFFF,
          "in SYN-RECEIVED, an ACK of what was never sent gets <SEQ=SEG.ACK><CTL=RST>")
    h.send(flags="A")
    check(h.echo(b"late") == b"late", "the right ACK still completes that handshake")
    h.reset()
    c.reset()
    return {
        "Tcp.TCPChallengeACK": n,
        "Tcp.OutRsts": 1,
    }

"""Random and illegal TCP flag combinations (RFC 9293 3.10.7).

Every one of the 256 combinations of the eight flag bits goes to a closed
port (answered with a RST unless it is one, RFC 9293 3.10.7.1), to the
listening port from a fresh port (RST for an ACK, a SYN-ACK for a SYN
without FIN, the rest ignored), and into an established connection at a sequence number
inside the window but not at RCV.NXT and without data (a SYN gets a
challenge ACK, RFC 5961 4; a RST one too, 3.2). Then the connection still
echoes, and nothing was delivered to the application.
"""
import random

from peer import ACK, ECHO_PORT, FIN, RST, SYN, Conn, check

CLOSED_PORT = 7999


def attack(w, srv):
    est = Conn(w, ECHO_PORT)
    est.connect()
    check(est.echo(b"before") == b"before", "the attacker's connection echoes")

    combos = list(range(256))
    random.shuffle(combos)
    rsts_closed = 0
    for f in combos:
        sport = random.randint(20000, 60999)
        c = Conn(w, CLOSED_PORT, sport=sport)
        w.send(c.pkt(flags=f, seq=random.getrandbits(32), ack=random.getrandbits(32),
                     data=b"x" if f & 0x08 else b""))
        if not f & RST:
            rsts_closed += 1
    # Half-open connections a SYN made are reset again at once, so that
    # they do not fill the SYN queue for the other tests' sake.
    synacks = synfin_answered = 0
    for f in combos:
        c = Conn(w, ECHO_PORT)
        c.send(flags=f, seq=c.iss, ack=random.getrandbits(32))
        if f & SYN and not f & (ACK | RST):
            p = c.expect(lambda p: p["TCP"].flags & SYN, 0.3)
            if p is not None:
                if f & FIN:
                    synfin_answered += 1
                synacks += 1
                c.send(flags="R", seq=c.iss + 1, ack=0)
    # SYN with PSH/URG/ECE/CWR opens (ECE+CWR is an ECN setup); SYN+FIN
    # does not (Linux drops it in LISTEN).
    check(synacks == 16, f"the 16 SYNs without ACK, RST or FIN got SYN-ACKs ({synacks})")
    check(synfin_answered == 0, "no SYN+FIN got a SYN-ACK")

    # Into the connection: in the window, 1000 past RCV.NXT, no data.
    for f in combos:
        if f & RST and f & ~RST == 0:
            continue  # a bare RST in the window is the rst_syn class
        est.send(flags=f, seq=est.snd_nxt + 1000, ack=est.rcv_nxt)
    w.drain()
    check(est.echo(b"after") == b"after",
          "the connection echoes exactly what it was sent after 256 flag combinations")
    est.reset()
    return {
        "Tcp.OutRsts": rsts_closed // 2,          # closed port (the rest: listener ACKs)
        "Drop.TcpNoSocket": rsts_closed,
        "Drop.TcpSynFin": 16,                      # SYN+FIN to the listener
        "Tcp.TCPChallengeACK": 64,                 # SYN or RST into the connection
    }

"""Bad checksums: IP header, TCP (SYNs and data), ICMP and UDP.

Every corrupted copy carries other bytes than the good one; the stack must
drop it by its checksum (RFC 1122 3.2.1.2, 4.2.2.7, 4.1.3.4), so that the
connection then echoes the good copy only, a SYN with a bad checksum gets
no SYN-ACK, and a ping with a bad checksum no reply.
"""
import struct

from scapy.layers.inet import ICMP, IP, UDP

from peer import ATTACKER, ECHO_PORT, STACK, SYN, Conn, check

N = 50


def corrupt_ip_checksum(pkt):
    b = bytearray(bytes(pkt))
    b[10:12] = struct.pack("!H", struct.unpack("!H", b[10:12])[0] ^ 0x5A5A)
    return bytes(b)


def corrupt_l4_checksum(pkt, offset):
    """Flips bits of the transport checksum (at offset in the L4 header)."""
    b = bytearray(bytes(pkt))
    o = (b[0] & 0xF) * 4 + offset
    b[o:o + 2] = struct.pack("!H", struct.unpack("!H", b[o:o + 2])[0] ^ 0x1234)
    return bytes(b)


def attack(w, srv):
    est = Conn(w, ECHO_PORT)
    est.connect()
    check(est.echo(b"hello") == b"hello", "the attacker's connection echoes")
    for i in range(N):
        w.send(corrupt_ip_checksum(est.pkt(flags="PA", data=b"IPBAD")))
        w.send(corrupt_l4_checksum(est.pkt(flags="PA", data=b"TCPBAD"), 16))
    got = est.echo(b"good")
    check(got == b"good", f"no copy with a bad checksum was delivered (echo {got!r})")

    syn = Conn(w, ECHO_PORT)
    w.send(corrupt_l4_checksum(syn.pkt(flags="S", seq=syn.iss, ack=0), 16))
    check(syn.expect(lambda p: p["TCP"].flags & SYN, 0.5) is None,
          "a SYN with a bad TCP checksum got no SYN-ACK")

    for i in range(N):
        w.send(corrupt_l4_checksum(IP(src=ATTACKER, dst=STACK) / ICMP(id=77, seq=i) / b"ping", 2))
        w.send(corrupt_l4_checksum(IP(src=ATTACKER, dst=STACK) / UDP(sport=5000, dport=5001) / b"u", 6))
    replies = w.collect(lambda p: ICMP in p and p[ICMP].type == 0 and p[ICMP].id == 77, 0.5)
    check(not replies, "no echo reply to a ping with a bad ICMP checksum")
    w.send(IP(src=ATTACKER, dst=STACK) / ICMP(id=78, seq=1) / b"ping")
    check(w.expect(lambda p: ICMP in p and p[ICMP].type == 0 and p[ICMP].id == 78, 1.0) is not None,
          "a ping with a good checksum gets its reply")
    est.reset()
    return {
        "Drop.IpBadChecksum": N,
        "Ip.InHdrErrors": N,
        "Drop.TcpBadChecksum": N + 1,
        "Tcp.InCsumErrors": N + 1,
        "Drop.IcmpBadChecksum": N,
        "Icmp.InCsumErrors": N,
        "Drop.UdpBadChecksum": N,
        "Udp.InCsumErrors": N,
    }

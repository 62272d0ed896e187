"""Malformed IPv4 headers (RFC 791, RFC 1122 3.2.1), each around a TCP
segment with data for an established connection, so that a header the
stack wrongly accepted would show in the echo:

- version 0, 5, 6, 15; IHL 0 to 4; IHL beyond the packet;
- total length below the header, above the frame;
- a frame too short for any IPv4 header;
- martian sources (broadcast, multicast, the stack's own address), a
  destination that is not ours, a protocol the stack does not serve
  (answered with ICMP protocol unreachable, RFC 1122 3.2.2.1);
- a header with IP options (NOP, End): legal, so its data is delivered.

The checksum of each broken header is right, so that the field under test
is what the stack refuses.
"""
import socket
import struct

from peer import ATTACKER, ECHO_PORT, STACK, Conn, check, ipv4_header


def tcp_part(conn, data):
    """The TCP header and data of a segment of conn (checksum for ATTACKER->STACK)."""
    p = conn.pkt(flags="PA", data=data)
    return bytes(p["TCP"])


def attack(w, srv):
    est = Conn(w, ECHO_PORT)
    est.connect()
    check(est.echo(b"hello") == b"hello", "the attacker's connection echoes")
    tcp = tcp_part(est, b"EVIL")
    n = {"version": 0, "ihl": 0, "total": 0, "trunc": 0, "source": 0, "dest": 0}
    for v in (0, 5, 6, 15):
        w.send(ipv4_header(ATTACKER, STACK, 6, len(tcp), version=v) + tcp)
        n["version"] += 1
    for ihl in range(0, 5):
        w.send(ipv4_header(ATTACKER, STACK, 6, len(tcp), ihl=ihl) + tcp)
        n["ihl"] += 1
    # IHL 15 (60 bytes) on a 40-byte packet: the header runs past the end.
    short = ipv4_header(ATTACKER, STACK, 6, 0, ihl=15, total_len=40) + tcp[:20]
    w.send(short)
    n["ihl"] += 1
    for total in (0, 19, 20 + len(tcp) + 1, 60000):
        w.send(ipv4_header(ATTACKER, STACK, 6, len(tcp), total_len=total) + tcp)
        n["total"] += 1
    for size in (1, 10, 19):
        w.send(ipv4_header(ATTACKER, STACK, 6, len(tcp))[:size])
        n["trunc"] += 1
    for src in ("198.18.0.255", "224.0.0.1", "255.255.255.255", STACK):
        w.send(ipv4_header(src, STACK, 6, len(tcp)) + tcp)
        n["source"] += 1
    for dst in ("198.18.0.9", "198.19.255.1"):
        w.send(ipv4_header(ATTACKER, dst, 6, len(tcp)) + tcp)
        n["dest"] += 1
    # An unserved protocol (GRE, 47): protocol unreachable comes back.
    w.send(ipv4_header(ATTACKER, STACK, 47, 8) + b"\0" * 8)
    unreach = w.expect(lambda p: p.haslayer("ICMP") and p["ICMP"].type == 3 and p["ICMP"].code == 2, 1.0)
    check(unreach is not None, "an unserved IP protocol is answered with ICMP protocol unreachable")
    got = est.echo(b"good")
    check(got == b"good", f"no segment under a broken IP header was delivered (echo {got!r})")

    # IP options (three NOPs and an End of Options): a legal header of 24
    # bytes, whose data is delivered.
    tcp = tcp_part(est, b"opts")
    w.send(ipv4_header(ATTACKER, STACK, 6, len(tcp), ihl=6, options=b"\x01\x01\x01\x00") + tcp)
    est.snd_nxt = (est.snd_nxt + 4) & 0xFFFFFFFF
    got = est.read(4)
    check(got == b"opts", f"a segment under a header with IP options was delivered (echo {got!r})")
    est.reset()
    return {
        "Drop.IpBadVersion": n["version"],
        "Drop.IpBadHeaderLength": n["ihl"],
        "Drop.IpBadTotalLength": n["total"],
        "Drop.IpTruncated": n["trunc"],
        "Drop.IpBadSource": n["source"],
        "Drop.IpNotForUs": n["dest"],
        "Drop.IpUnknownProtocol": 1,
        "Ip.InHdrErrors": n["version"] + n["ihl"] + n["total"] + n["trunc"],
        "Ip.InAddrErrors": n["source"] + n["dest"],
        "Icmp.OutDestUnreachs": 1,
    }

"""ICMP errors and path-MTU forgery (RFC 1122 4.2.3.9, RFC 1191, RFC 5927,
RFC 5961; issue 15, 2).

A connection downloads /small.bin with data in flight (not acknowledged):
- "fragmentation needed" quoting a sequence number outside SND.UNA..SND.NXT
  (below and beyond), with MTU 600: ignored, counted as OutOfWindowIcmps,
  the MSS unchanged;
- the same with the right sequence number and MTU 68: the path MTU is
  clamped to 552 (Linux min_pmtu), so the MSS becomes 512, not 28;
- port unreachable, host unreachable and time exceeded quoting the
  connection: soft errors, the connection goes on;
- errors quoting no connection, quotes cut short or with a bad IHL, and
  types the stack does not handle (redirect, source quench).
Then the window opens and the whole file arrives intact.
"""
import hashlib
import os

from scapy.layers.inet import ICMP, IP, TCP

from peer import ATTACKER, HTTP_PORT, STACK, Conn, check, seq_after, tcp_payload


def quote(c, seq, sport=HTTP_PORT):
    """The first 28 bytes of a packet the stack sent on c."""
    return bytes(IP(src=STACK, dst=ATTACKER, id=1, flags="DF") /
                 TCP(sport=sport, dport=c.sport, seq=seq & 0xFFFFFFFF, ack=c.snd_nxt, flags="A"))[:28]


def icmp_error(type_, code, body, mtu=0):
    return IP(src=ATTACKER, dst=STACK) / ICMP(type=type_, code=code, nexthopmtu=mtu) / body


def attack(w, srv):
    with open(os.path.join(os.environ["HOSTILE_WWW"], "small.bin"), "rb") as f:
        want = hashlib.sha256(f.read()).hexdigest()
    c = Conn(w, HTTP_PORT, window=8192)
    c.connect()
    c.send_data(b"GET /small.bin HTTP/1.0\r\n\r\n")
    snd_una = c.rcv_nxt       # nothing of the response is acknowledged
    snd_max = snd_una
    for p in w.collect(lambda p: c.mine(p) and tcp_payload(p), 0.7):
        end = (p["TCP"].seq + len(tcp_payload(p))) & 0xFFFFFFFF
        if seq_after(end, snd_max):
            snd_max = end
    inflight = (snd_max - snd_una) & 0xFFFFFFFF
    check(inflight > 0, f"response data in flight, unacknowledged ({inflight} bytes)")
    mss0 = srv.conn_info(c.sport)["info"]["mss"]

    for seq in (snd_una - 1, snd_una - 100000, snd_max + 1, snd_max + 100000):
        w.send(icmp_error(3, 4, quote(c, seq), mtu=600))
    info = srv.conn_info(c.sport)["info"]
    check(info["mss"] == mss0, f"forged frag-needed with wrong sequence numbers left the MSS at "
                               f"{mss0} ({info['mss']})")

    w.send(icmp_error(3, 4, quote(c, snd_una + 1), mtu=68))
    info = srv.conn_info(c.sport)["info"]
    check(info["mss"] == 512, f"frag-needed with MTU 68 and a valid sequence number: path MTU "
                              f"clamped to 552, MSS 512 ({info['mss']})")

    for t, code in ((3, 3), (3, 1), (11, 0)):
        w.send(icmp_error(t, code, quote(c, snd_una)))
    other = Conn(w, HTTP_PORT)
    w.send(icmp_error(3, 1, quote(other, 12345)))                  # no such connection
    w.send(icmp_error(3, 4, quote(c, snd_una, sport=9), mtu=100))   # nor on this port
    w.send(icmp_error(3, 1, quote(c, snd_una)[:24]))                # 4 bytes of TCP
    bad_ihl = bytearray(quote(c, snd_una))
    bad_ihl[0] = 0x43
    w.send(icmp_error(3, 1, bytes(bad_ihl)))                        # IHL 3
    w.send(IP(src=ATTACKER, dst=STACK) / ICMP(type=5, code=1, gw="198.18.0.99") / quote(c, snd_una))
    w.send(IP(src=ATTACKER, dst=STACK) / ICMP(type=4, code=0) / quote(c, snd_una))
    info = srv.conn_info(c.sport)
    # (FIN-WAIT-1 once the server wrote the whole file and closed.)
    check(info is not None and info["state"] in ("ESTAB", "FIN-WAIT-1"),
          f"the connection lives through soft errors (port/host unreachable, time exceeded): "
          f"{info and info['state']}")

    c.window = 65535
    got = bytearray()
    c.send(flags="A")  # acknowledges nothing new: the stack resends from SND.UNA
    got += c.read(1 << 30, timeout=60.0)
    head, _, body = bytes(got).partition(b"\r\n\r\n")
    check(head.startswith(b"HTTP/1.0 200") and hashlib.sha256(body).hexdigest() == want,
          f"the file arrived intact at MSS 512 ({len(body)} bytes)")
    c.reset()
    return {
        "Tcp.OutOfWindowIcmps": 4,
        "Icmp.InDestUnreachs": 7,
        "Icmp.InTimeExcds": 1,
        "Drop.IcmpErrorNoSocket": 2,
        "Drop.IcmpTruncated": 2,
        "Drop.IcmpUnsupportedType": 2,
    }

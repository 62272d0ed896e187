"""The hostile peer: hand-made frames on the kernel side of the TAP.

Runs inside the test's network namespace (tests/hostile/hostile_test.sh).
Frames go out through an AF_PACKET socket on shunt0, so nothing the kernel
would fix or refuse (checksums, lengths, fragments) is touched: they reach
the stack byte for byte. The attacker's address is 198.18.0.7, a second
address of the kernel side: the kernel answers the stack's ARP for it, and
an nftables rule on shunt0's ingress hook drops every IP packet the stack
sends to it before the kernel's TCP sees it (no RST for connections the
kernel knows nothing about). The AF_PACKET socket sees those packets before
the ingress hook, so the attacker reads the stack's answers.

scapy builds and parses; the socket is ours (no BPF filter compiler needed).
"""
import collections
import json
import os
import random
import select
import socket
import struct
import subprocess
import time

from scapy.config import conf
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

conf.verb = 0

IFACE = "shunt0"
PEER = "198.18.0.1"       # the kernel client's address
STACK = "198.18.0.2"      # the server on the stack
ATTACKER = "198.18.0.7"   # scapy's address (kernel-owned, its input dropped)
ECHO_PORT = 7000
HTTP_PORT = 8000

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4

SYN, ACK, FIN, RST, PSH, URG, ECE, CWR = 0x02, 0x10, 0x01, 0x04, 0x08, 0x20, 0x40, 0x80


class CheckFailed(Exception):
    pass


def check(cond, what):
    """An assertion that names what was expected; prints ok lines as it goes."""
    if not cond:
        raise CheckFailed(what)
    print(f"  ok: {what}", flush=True)


def stack_mac():
    out = subprocess.run(["ip", "-j", "neigh", "show", STACK, "dev", IFACE],
                         capture_output=True, text=True, check=True).stdout
    for n in json.loads(out or "[]"):
        if n.get("lladdr"):
            return n["lladdr"]
    # Not resolved yet: one ping makes the kernel ask.
    subprocess.run(["ping", "-c", "1", "-W", "1", STACK], capture_output=True)
    out = subprocess.run(["ip", "-j", "neigh", "show", STACK, "dev", IFACE],
                         capture_output=True, text=True, check=True).stdout
    for n in json.loads(out or "[]"):
        if n.get("lladdr"):
            return n["lladdr"]
    raise CheckFailed("the kernel has no neighbour entry for the stack")


class Wire:
    """Raw Ethernet on shunt0: send any bytes, receive what the stack sends."""

    KEEP = 20000

    def __init__(self):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
        self.sock.bind((IFACE, 0))
        with open(f"/sys/class/net/{IFACE}/address") as f:
            self.my_mac = f.read().strip()
        self.stack_mac = stack_mac()
        self.eth = Ether(src=self.my_mac, dst=self.stack_mac, type=0x0800)
        self.eth_bytes = bytes(self.eth)[:14]
        self.stack_mac_bytes = bytes.fromhex(self.stack_mac.replace(":", ""))
        self.pending = collections.deque()

    def send(self, pkt):
        """An IP packet (scapy, checksums computed unless set) or raw IP bytes."""
        raw = pkt if isinstance(pkt, (bytes, bytearray)) else bytes(pkt)
        self.sock.send(self.eth_bytes + raw)

    def send_frame(self, frame):
        self.sock.send(bytes(frame))

    def recv(self, timeout):
        """The next frame the stack sent (scapy Ether), or None at timeout.
        Frames an earlier expect() passed over come first."""
        if self.pending:
            return self.pending.popleft()
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return None
            data, addr = self.sock.recvfrom(70000)
            if addr[2] == PACKET_OUTGOING:
                continue  # ours
            if data[6:12] != self.stack_mac_bytes:
                continue
            return Ether(data)

    def expect(self, pred, timeout=2.0):
        """The first frame from the stack that pred accepts, or None. The
        frames passed over stay queued for the next caller (another
        connection's), up to KEEP of them."""
        skipped = []
        deadline = time.monotonic() + timeout
        try:
            while True:
                p = self.recv(max(0.0, deadline - time.monotonic()))
                if p is None:
                    return None
                if pred(p):
                    return p
                skipped.append(p)
        finally:
            self.pending.extendleft(reversed(skipped))
            while len(self.pending) > self.KEEP:
                self.pending.pop()

    def collect(self, pred, duration):
        """Every frame pred accepts during duration seconds (the others are
        dropped)."""
        got = []
        deadline = time.monotonic() + duration
        while True:
            p = self.recv(max(0.0, deadline - time.monotonic()))
            if p is None:
                return got
            if pred(p):
                got.append(p)

    def drain(self):
        self.pending.clear()
        while self.recv(0.05) is not None:
            pass


def to_attacker(p):
    return IP in p and p[IP].src == STACK and p[IP].dst == ATTACKER


def tcp_payload(p):
    """The TCP payload, cut to the IP total length (Ethernet pads)."""
    ip = p[IP]
    end = ip.len - ip.ihl * 4 - p[TCP].dataofs * 4
    return bytes(p[TCP].payload)[:max(0, end)]


def seq_after(a, b):
    return ((a - b) & 0xFFFFFFFF) != 0 and ((a - b) & 0xFFFFFFFF) < 0x80000000


class Conn:
    """A hand-driven TCP connection from the attacker to the stack."""

    def __init__(self, wire, dport, sport=None, window=65535, mss=1460, sack=False,
                 wscale=None, ts=False):
        self.w = wire
        self.dport = dport
        self.sport = sport or random.randint(20000, 60999)
        self.window = window
        self.mss, self.sack, self.wscale, self.ts = mss, sack, wscale, ts
        self.iss = random.getrandbits(32)
        self.snd_nxt = self.iss
        self.irs = None
        self.rcv_nxt = None
        self.stack_max = None   # highest sequence number the stack sent up to
        self.ts_recent = None   # the stack's last TSval, echoed (RFC 7323)

    # ---- building -------------------------------------------------------
    def syn_options(self):
        o = [("MSS", self.mss)]
        if self.sack:
            o.append(("SAckOK", b""))
        if self.ts:
            o.append(("Timestamp", (int(time.monotonic() * 1000) & 0xFFFFFFFF, 0)))
        if self.wscale is not None:
            o.append(("NOP", None))
            o.append(("WScale", self.wscale))
        return o

    def pkt(self, flags="A", seq=None, ack=None, data=b"", window=None, options=None, **ip):
        if options is None and self.ts and self.ts_recent is not None:
            # RFC 7323 3.2: once negotiated, every segment carries them.
            options = [("NOP", None), ("NOP", None),
                       ("Timestamp", (int(time.monotonic() * 1000) & 0xFFFFFFFF, self.ts_recent))]
        t = TCP(sport=self.sport, dport=self.dport, flags=flags,
                seq=(self.snd_nxt if seq is None else seq) & 0xFFFFFFFF,
                ack=(ack if ack is not None else (self.rcv_nxt or 0)) & 0xFFFFFFFF,
                window=self.window if window is None else window,
                options=options or [])
        p = IP(src=ATTACKER, dst=STACK, **ip) / t
        if data:
            p = p / Raw(data)
        return p

    def send(self, **kw):
        self.w.send(self.pkt(**kw))

    def mine(self, p):
        return (to_attacker(p) and TCP in p and p[TCP].sport == self.dport
                and p[TCP].dport == self.sport)

    def expect(self, pred=lambda p: True, timeout=2.0):
        return self.w.expect(lambda p: self.mine(p) and pred(p), timeout)

    # ---- the connection -------------------------------------------------
    def connect(self, timeout=3.0):
        self.w.send(self.pkt("S", seq=self.iss, ack=0, options=self.syn_options()))
        sa = self.expect(lambda p: (p[TCP].flags & (SYN | ACK)) == (SYN | ACK), timeout)
        check(sa is not None, f"SYN-ACK from the stack for port {self.sport} -> {self.dport}")
        self.irs = sa[TCP].seq
        opts = dict(o for o in sa[TCP].options if isinstance(o, tuple) and len(o) == 2)
        self.ts = self.ts and "Timestamp" in opts
        self.ts_recent = opts["Timestamp"][0] if self.ts else None
        self.rcv_nxt = (self.irs + 1) & 0xFFFFFFFF
        self.stack_max = self.rcv_nxt
        self.snd_nxt = (self.iss + 1) & 0xFFFFFFFF
        self.send(flags="A")
        return sa

    def send_data(self, data, flags="PA"):
        self.send(flags=flags, data=data)
        self.snd_nxt = (self.snd_nxt + len(data)) & 0xFFFFFFFF

    def read(self, n, timeout=5.0, window=None, until_fin=False):
        """Reads n bytes in order (or up to a FIN), ACKing what arrives."""
        out = bytearray()
        deadline = time.monotonic() + timeout
        while len(out) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            p = self.expect(timeout=left)
            if p is None:
                break
            data = tcp_payload(p)
            seq = p[TCP].seq
            end = (seq + len(data)) & 0xFFFFFFFF
            if self.stack_max is None or seq_after(end, self.stack_max):
                self.stack_max = end
            if data and seq == self.rcv_nxt:
                out += data
                self.rcv_nxt = end
                self.send(flags="A", window=window)
            elif data:
                self.send(flags="A", window=window)  # duplicate ACK
            if p[TCP].flags & FIN and ((seq + len(data)) & 0xFFFFFFFF) == self.rcv_nxt:
                self.rcv_nxt = (self.rcv_nxt + 1) & 0xFFFFFFFF
                self.send(flags="A", window=window)
                break
            if p[TCP].flags & RST:
                break
        return bytes(out)

    def echo(self, data, timeout=5.0):
        self.send_data(data)
        return self.read(len(data), timeout)

    def reset(self):
        self.send(flags="R", ack=0)


# ---- the server process -----------------------------------------------------

class Server:
    def __init__(self, pid, shunt):
        self.pid = pid
        self.shunt = shunt

    def stat(self):
        """Every counter as 'Group.Name' and every drop as 'Drop.Reason'."""
        out = subprocess.run([self.shunt, "stat", "--json", str(self.pid)],
                             capture_output=True, text=True, timeout=20)
        if out.returncode != 0:
            raise CheckFailed(f"shunt stat {self.pid} failed: {out.stderr.strip()}")
        j = json.loads(out.stdout)
        flat = {}
        for group, counters in j.get("counters", {}).items():
            for name, v in counters.items():
                flat[f"{group}.{name}"] = v
        for name, v in j.get("drops", {}).items():
            flat[f"Drop.{name}"] = v
        return flat

    def sockets(self):
        out = subprocess.run([self.shunt, "ss", "-tani", "--json", str(self.pid)],
                             capture_output=True, text=True, timeout=20)
        if out.returncode != 0:
            raise CheckFailed(f"shunt ss {self.pid} failed: {out.stderr.strip()}")
        procs = json.loads(out.stdout).get("processes", [])
        return procs[0]["sockets"] if procs else []

    def conn_info(self, peer_port):
        for s in self.sockets():
            if s.get("peer", "").endswith(f":{peer_port}") and ATTACKER in s.get("peer", ""):
                return s
        return None

    def rss_kb(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise CheckFailed("no VmRSS")

    def alive(self):
        return os.path.exists(f"/proc/{self.pid}")


def ipv4_header(src, dst, proto, payload_len, ident=1, ttl=64, flags_frag=0, ihl=5,
                version=4, total_len=None, options=b"", checksum=None):
    """Raw IPv4 header bytes with any field wrong on purpose (the checksum is
    right unless given, so that the field under test is what fails)."""
    hdr = bytearray(struct.pack(
        "!BBHHHBBH4s4s", (version << 4) | (ihl & 0xF), 0,
        (20 + len(options) + payload_len) if total_len is None else total_len,
        ident, flags_frag, ttl, proto, 0, socket.inet_aton(src), socket.inet_aton(dst)))
    hdr += options
    csum = inet_checksum(bytes(hdr)) if checksum is None else checksum
    hdr[10:12] = struct.pack("!H", csum)
    return bytes(hdr)


def inet_checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def raw_tcp(conn, flags, seq=None, ack=None, opts=b"", data=b"", window=None):
    """IP + TCP bytes with the TCP option bytes exactly as given (padded with
    zeros, End of Option List, to a multiple of 4) and right checksums."""
    opts = bytes(opts)
    while len(opts) % 4:
        opts += b"\0"
    seq = conn.snd_nxt if seq is None else seq
    ack = (conn.rcv_nxt or 0) if ack is None else ack
    tcp = bytearray(struct.pack(
        "!HHIIBBHHH", conn.sport, conn.dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
        (5 + len(opts) // 4) << 4, flags, conn.window if window is None else window, 0, 0))
    tcp += opts + data
    pseudo = socket.inet_aton(ATTACKER) + socket.inet_aton(STACK) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp[16:18] = struct.pack("!H", inet_checksum(pseudo + bytes(tcp)))
    return ipv4_header(ATTACKER, STACK, 6, len(tcp), ident=random.getrandbits(16)) + bytes(tcp)

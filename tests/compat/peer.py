#!/usr/bin/env python3
# The kernel peer of the comparison harness (tests/compat/checks.cc). One
# instance serves both runs, the kernel client's and shunt's, on HOST:
#
#   TCP 7100 echo                     TCP 7101 sends "hello" and closes
#   TCP 7102 accepts, never reads
#   TCP 7104 commands, one per line, run on the same connection:
#       send N              write N bytes of 'd'
#       shutwr              shutdown(SHUT_WR)
#       rst                 close with a RST (SO_LINGER 0)
#       udp PORT N [GROUP]  send an N-byte UDP datagram to the client's
#                           address (or to GROUP) on PORT, then write "ok\n"
#       connect PORT N      connect to the client's PORT, send N bytes, keep
#                           the connection until this one closes, write "ok\n"
#                           (or "err ERRNO\n")
#   UDP 7110 echo
#   UDP 7111 answers each datagram with what it saw: "ADDR PORT ttl=T tos=S len=N"
#            (the checks turn ADDR into a name)
#   UDP 7112 joined to group 239.1.2.4 on HOST's interface: the same answer,
#            sent to the datagram's source
import errno
import socket
import struct
import sys
import threading

HOST = sys.argv[1]
IP_RECVTTL = 12  # <linux/in.h>; Python's socket module lacks it


def listener(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((HOST, port))
    s.listen(1024)
    return s


def serve(s, handler):
    while True:
        c, addr = s.accept()
        threading.Thread(target=handler, args=(c, addr), daemon=True).start()


def echo(c, _):
    try:
        while data := c.recv(65536):
            c.sendall(data)
    except OSError:
        pass
    c.close()


def hello(c, _):
    c.sendall(b"hello")
    c.close()


held = []


def silent(c, _):
    held.append(c)


def commands(c, addr):
    keep = []
    f = c.makefile("rb")
    try:
        for line in f:
            words = line.decode().split()
            if not words:
                continue
            cmd = words[0]
            if cmd == "send":
                c.sendall(b"d" * int(words[1]))
            elif cmd == "shutwr":
                c.shutdown(socket.SHUT_WR)
            elif cmd == "rst":
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                c.close()
                return
            elif cmd == "udp":
                port, n = int(words[1]), int(words[2])
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                u.bind((HOST, 0))
                dest = addr[0]
                if len(words) > 3:  # a group or a broadcast address
                    dest = words[3]
                    u.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
                    u.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(HOST))
                    u.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
                u.sendto(b"u" * n, (dest, port))
                u.close()
                c.sendall(b"ok\n")
            elif cmd == "connect":
                port, n = int(words[1]), int(words[2])
                t = socket.socket()
                t.settimeout(5)
                try:
                    t.connect((addr[0], port))
                    t.sendall(b"c" * n)
                    keep.append(t)
                    c.sendall(b"ok\n")
                except OSError as e:
                    c.sendall(f"err {errno.errorcode.get(e.errno, e.errno)}\n".encode())
            else:
                c.sendall(b"unknown\n")
    except OSError:
        pass
    finally:
        for t in keep:
            t.close()
        c.close()


def udp_socket(port):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((HOST, port))
    return u


def udp_echo(u):
    while True:
        data, addr = u.recvfrom(65536)
        u.sendto(data, addr)


def udp_reflect(u):
    u.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
    u.setsockopt(socket.IPPROTO_IP, socket.IP_RECVTOS, 1)
    while True:
        data, anc, _, addr = u.recvmsg(65536, 256)
        ttl = tos = -1
        for level, kind, value in anc:
            if level == socket.IPPROTO_IP and kind == socket.IP_TTL:
                ttl = struct.unpack("i", value[:4])[0]
            if level == socket.IPPROTO_IP and kind == socket.IP_TOS:
                tos = value[0]
        u.sendto(f"{addr[0]} {addr[1]} ttl={ttl} tos={tos} len={len(data)}".encode(), addr)


# Every socket is bound before "ready" is printed.
for port, h in ((7100, echo), (7101, hello), (7102, silent), (7104, commands)):
    threading.Thread(target=serve, args=(listener(port), h), daemon=True).start()
threading.Thread(target=udp_echo, args=(udp_socket(7110),), daemon=True).start()
threading.Thread(target=udp_reflect, args=(udp_socket(7111),), daemon=True).start()
group = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
group.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
group.bind(("0.0.0.0", 7112))
group.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                 socket.inet_aton("239.1.2.4") + socket.inet_aton(HOST))
threading.Thread(target=udp_reflect, args=(group,), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()

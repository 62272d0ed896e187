# Kernel-side peers for tests/preload/semantics.cc, on 198.18.0.1:
#   7000 TCP echo          7001 TCP: sends "hello" and closes
#   7002 TCP: accepts, never reads or writes     7003 UDP echo
import socket, sys, threading

HOST = sys.argv[1]

def serve(port, handler):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((HOST, port))
    s.listen(1024)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handler, args=(c,), daemon=True).start()

def echo(c):
    try:
        while data := c.recv(65536):
            c.sendall(data)
    except OSError:
        pass
    c.close()

def hello(c):
    c.sendall(b"hello")
    c.close()

held = []
def silent(c):
    held.append(c)

def udp_echo():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((HOST, 7003))
    while True:
        data, addr = u.recvfrom(65536)
        u.sendto(data, addr)

for port, h in ((7000, echo), (7001, hello), (7002, silent)):
    threading.Thread(target=serve, args=(port, h), daemon=True).start()
threading.Thread(target=udp_echo, daemon=True).start()
threading.Event().wait()

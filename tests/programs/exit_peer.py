# Kernel-side peer for exit_test.sh: accepts one connection on HOST:PORT,
# optionally sends "data" once the client's first line arrived, then reads
# until the connection ends and prints how: "EOF <bytes>", "RST <bytes>" or
# "TIMEOUT <bytes>" (nothing for 10 s: the client's exit closed nothing).
import socket, sys

host, port, send_data, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, port))
s.listen(1)
open(ready, "w").close()
c, _ = s.accept()
c.settimeout(10)
got = b""
sent = False
try:
    while True:
        d = c.recv(65536)
        if not d:
            print("EOF", len(got), flush=True)
            break
        got += d
        if send_data and not sent and b"\n" in got:
            c.sendall(b"data")
            sent = True
except ConnectionResetError:
    print("RST", len(got), flush=True)
except socket.timeout:
    print("TIMEOUT", len(got), flush=True)

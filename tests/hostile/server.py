"""The server the hostile tests attack, run on the stack (shunt -- python3).

One process, so that one stack owns the TAP: a TCP echo server on port 7000
and an HTTP server (http.server, threads) on port 8000 serving a directory.
Both have a listen backlog of 128, the SYN-queue limit the SYN-flood test
overflows.

usage: server.py ADDRESS WWW_DIR
"""
import functools
import http.server
import socket
import socketserver
import sys
import threading

ADDRESS, WWW = sys.argv[1], sys.argv[2]


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        try:
            while True:
                data = self.request.recv(65536)
                if not data:
                    return
                self.request.sendall(data)
        except OSError:
            return  # reset by the attacker: next connection


class EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class HttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        pass  # attacked connections end badly; that is the point


echo = EchoServer((ADDRESS, 7000), Echo)
web = HttpServer((ADDRESS, 8000), functools.partial(Quiet, directory=WWW))
threading.Thread(target=echo.serve_forever, daemon=True).start()
print("server: ready", flush=True)
web.serve_forever()

"""A small real SMTP receiver for tests: the 'remote Internet' side.

Threaded socket server speaking enough RFC 5321 for a client engine
(EHLO with PIPELINING/8BITMIME, MAIL, RCPT, DATA, RSET, NOOP, QUIT), storing
every message it accepts. `script` lets a test make the next DATA replies
temporary or permanent failures (e.g. ["451 4.3.0 try later"]).
"""
import socket
import socketserver
import threading


class Receiver:
    def __init__(self, host, port):
        self.messages = []       # (mail_from, [rcpts], data bytes)
        self.script = []         # replies to give at end of data, in order
        self.lock = threading.Lock()
        self.conns = set()
        self.connections = 0     # connections accepted so far
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                with outer.lock:
                    outer.conns.add(self.connection)
                    outer.connections += 1
                try:
                    self.session()
                except OSError:
                    pass
                finally:
                    with outer.lock:
                        outer.conns.discard(self.connection)

            def session(self):
                w = self.wfile
                w.write(b"220 receiver ESMTP\r\n")
                mail, rcpts = None, []
                while True:
                    line = self.rfile.readline(4096)
                    if not line:
                        return
                    cmd = line.strip().upper()
                    if cmd.startswith(b"EHLO"):
                        w.write(b"250-receiver\r\n250-PIPELINING\r\n"
                                b"250 8BITMIME\r\n")
                    elif cmd.startswith(b"HELO") or cmd == b"NOOP":
                        w.write(b"250 ok\r\n")
                    elif cmd.startswith(b"MAIL FROM:"):
                        mail, rcpts = line.strip()[10:], []
                        w.write(b"250 2.1.0 ok\r\n")
                    elif cmd.startswith(b"RCPT TO:"):
                        rcpts.append(line.strip()[8:])
                        w.write(b"250 2.1.5 ok\r\n")
                    elif cmd == b"DATA":
                        w.write(b"354 go\r\n")
                        w.flush()
                        data = b""
                        while True:
                            ln = self.rfile.readline(65536)
                            if not ln:
                                return  # cut off: nothing accepted
                            if ln == b".\r\n":
                                break
                            data += ln[1:] if ln.startswith(b".") else ln
                        with outer.lock:
                            reply = outer.script.pop(0) if outer.script \
                                else None
                            if reply is None:
                                outer.messages.append((mail, rcpts, data))
                        w.write((reply or "250 2.0.0 accepted") .encode()
                                + b"\r\n")
                    elif cmd == b"RSET":
                        mail, rcpts = None, []
                        w.write(b"250 ok\r\n")
                    elif cmd == b"QUIT":
                        w.write(b"221 bye\r\n")
                        return
                    else:
                        w.write(b"500 5.5.2 what\r\n")
                    w.flush()

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server((host, port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def stop(self):
        """Stop listening and cut every open connection (a dead host)."""
        self.server.shutdown()
        self.server.server_close()
        with self.lock:
            for c in list(self.conns):
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

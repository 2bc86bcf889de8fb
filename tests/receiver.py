"""A small real SMTP receiver for tests: the 'remote Internet' side.

Threaded socket server speaking enough RFC 5321 for a client engine
(EHLO with PIPELINING/8BITMIME, MAIL, RCPT, DATA, RSET, NOOP, QUIT), storing
every message it accepts. `script` lets a test make the next DATA replies
temporary or permanent failures (e.g. ["451 4.3.0 try later"]). With tls
(a server ssl.SSLContext) it offers STARTTLS; name is the host name it
greets with.
"""
import socket
import socketserver
import threading


class Receiver:
    def __init__(self, host, port, tls=None, name="receiver"):
        self.messages = []       # (mail_from, [rcpts], data bytes)
        self.script = []         # replies to give at end of data, in order
        self.lock = threading.Lock()
        self.conns = set()
        self.connections = 0     # connections accepted so far
        self.tls_errors = []     # failed TLS handshakes (their reasons)
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
                r, w = self.rfile, self.wfile
                w.write(b"220 %s ESMTP\r\n" % name.encode())
                mail, rcpts, secure = None, [], False
                while True:
                    line = r.readline(4096)
                    if not line:
                        return
                    cmd = line.strip().upper()
                    if cmd.startswith(b"EHLO"):
                        w.write(b"250-%s\r\n250-PIPELINING\r\n%s"
                                b"250 8BITMIME\r\n" % (
                                    name.encode(), b"250-STARTTLS\r\n"
                                    if tls and not secure
                                    else b""))
                    elif cmd == b"STARTTLS" and tls:
                        w.write(b"220 2.0.0 go ahead\r\n")
                        w.flush()
                        try:
                            t = tls.wrap_socket(self.connection,
                                                server_side=True)
                        except (OSError, ValueError) as e:
                            with outer.lock:
                                outer.tls_errors.append(str(e))
                            return
                        r, w = t.makefile("rb"), t.makefile("wb")
                        mail, rcpts, secure = None, [], True
                        continue
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
                            ln = r.readline(65536)
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

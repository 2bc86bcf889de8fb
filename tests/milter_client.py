"""A raw milter-protocol client (version 6, as Postfix speaks it), for
tests that drive avscan -m and spamd -m without an MTA: every packet is
a 4-byte big-endian length, a command byte and its data."""
import socket
import struct

# protocol steps the filter may decline (SMFIP_NO*) and reply-less steps
# (SMFIP_NR_*), from libmilter's mfdef.h
NOCONNECT, NOHELO, NOMAIL, NORCPT, NOBODY, NOHDRS, NOEOH = \
    0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40
NR_HDR, NR_CONN, NR_MAIL, NR_RCPT, NR_EOH, NR_BODY = \
    0x80, 0x1000, 0x4000, 0x8000, 0x40000, 0x80000
FINAL = "acdrty"	# accept, continue, discard, reject, tempfail, reply


class Milter:
    """One milter connection; message() returns the filter's answers to
    end of message as (command, data) pairs, the final one last."""

    def __init__(self, port, host="127.0.0.1", source=None, timeout=30,
                 negotiate=True):
        self.s = socket.create_connection((host, port), timeout,
                                          source_address=source)
        self.proto = 0
        if negotiate:
            self.negotiate()

    def send(self, cmd, data=b""):
        self.s.sendall(struct.pack(">I", len(data) + 1) + cmd.encode() +
                       data)

    def _read(self, n):
        out = b""
        while len(out) < n:
            b = self.s.recv(n - len(out))
            if not b:
                raise ConnectionError("milter closed the connection")
            out += b
        return out

    def read(self):
        (n,) = struct.unpack(">I", self._read(4))
        p = self._read(n)
        return chr(p[0]), p[1:]

    def negotiate(self):
        self.send("O", struct.pack(">III", 6, 0x1ff, 0x1fffff))
        cmd, data = self.read()
        assert cmd == "O", (cmd, data)
        _, self.actions, self.proto = struct.unpack(">III", data[:12])

    def step(self, cmd, data, skip, noreply):
        """Send one step unless the filter declined it; its reply."""
        if self.proto & skip:
            return ("c", b"")
        self.send(cmd, data)
        if self.proto & noreply:
            return ("c", b"")
        return self.read()

    def connect(self, host="client.remote.test", addr="192.0.2.9"):
        return self.step("C", host.encode() + b"\0" + b"4" +
                         struct.pack(">H", 4567) + addr.encode() + b"\0",
                         NOCONNECT, NR_CONN)

    def message(self, sender, rcpts, msg, qid="4ABCDEF"):
        """Connect (once), then one message: the filter's answers at end
        of message, or the reply that stopped it earlier."""
        r = self.begin(sender, rcpts, msg)
        return r if r else self.end(qid)

    def begin(self, sender, rcpts, msg):
        """Everything of a message but its end: None, or [the reply that
        stopped it]."""
        if not getattr(self, "connected", False):
            r = self.connect()
            self.connected = True
            if r[0] != "c":
                return [r]
        r = self.step("M", b"<" + sender.encode() + b">\0", NOMAIL,
                      NR_MAIL)
        if r[0] != "c":
            return [r]
        for rc in rcpts:
            r = self.step("R", b"<" + rc.encode() + b">\0", NORCPT,
                          NR_RCPT)
            if r[0] != "c":
                return [r]
        head, body = msg.split(b"\r\n\r\n", 1)
        for line in head.replace(b"\r\n\t", b"\n\t").split(b"\r\n"):
            name, value = line.split(b":", 1)
            r = self.step("L", name + b"\0" + value.lstrip(b" ") + b"\0",
                          NOHDRS, NR_HDR)
            if r[0] != "c":
                return [r]
        r = self.step("N", b"", NOEOH, NR_EOH)
        if r[0] != "c":
            return [r]
        for i in range(0, len(body), 65535):
            r = self.step("B", body[i:i + 65535], NOBODY, NR_BODY)
            if r[0] != "c":
                return [r]
        return None

    def end(self, qid="4ABCDEF"):
        """End of message: the filter's answers, the final one last."""
        self.send("D", b"E" + b"i\0" + qid.encode() + b"\0")
        self.send("E")
        acts = []
        while True:
            cmd, data = self.read()
            acts.append((cmd, data))
            if cmd in FINAL:
                return acts

    def close(self):
        try:
            self.send("Q")
        except OSError:
            pass
        self.s.close()

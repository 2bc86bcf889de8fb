"""A tiny real DNS server over UDP for tests that dnsmasq cannot serve.

It answers A and MX queries from dicts and can send a crafted raw answer
for a name (e.g. one whose MX record holds a compression loop), which is
what a broken or hostile resolver path could deliver. Every other query
gets NXDOMAIN. Listens on 127.0.0.1 only.
"""
import socket
import struct
import threading


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def parse_question(pkt):
    """(id, flags, qname, qtype, end of question) of a query."""
    qid, flags = struct.unpack("!HH", pkt[:4])
    i, labels = 12, []
    while pkt[i]:
        labels.append(pkt[i + 1:i + 1 + pkt[i]].decode("ascii", "replace"))
        i += 1 + pkt[i]
    qtype = struct.unpack("!H", pkt[i + 1:i + 3])[0]
    return qid, flags, ".".join(labels).lower(), qtype, i + 5


class DnsServer:
    """a: {name: "127.0.0.x"}, mx: {name: [(pref, host), ...]},
    raw: {(name, qtype): bytes of the answer section, with ancount}."""

    def __init__(self, a=None, mx=None, raw=None):
        self.a, self.mx, self.raw = a or {}, mx or {}, raw or {}
        self.queries = []
        self.stopped = False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.addr = "127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def answer(self, pkt):
        qid, flags, name, qtype, end = parse_question(pkt)
        self.queries.append((name, qtype))
        question = pkt[12:end]
        rcode, count, body = 3, 0, b""    # NXDOMAIN unless known
        ptr = b"\xc0\x0c"                 # the name in the question
        if (name, qtype) in self.raw:
            rcode = 0
            count, body = self.raw[(name, qtype)]
        elif qtype == 1 and name in self.a:
            rcode, count = 0, 1
            body = ptr + struct.pack("!HHIH", 1, 1, 60, 4) + \
                socket.inet_aton(self.a[name])
        elif qtype == 15 and name in self.mx:
            rcode = 0
            for pref, host in self.mx[name]:
                # compressed (RFC 1035 4.1.4) under the query's name,
                # so that 17 records still fit in 512 bytes
                if host.endswith("." + name):
                    target = encode_name(host[:-len(name) - 1])[:-1] + ptr
                else:
                    target = encode_name(host)
                rdata = struct.pack("!H", pref) + target
                body += ptr + struct.pack("!HHIH", 15, 1, 60,
                                          len(rdata)) + rdata
                count += 1
        elif name in self.a or name in self.mx:
            rcode = 0                     # NODATA
        hdr = struct.pack("!HHHHHH", qid, 0x8180 | (flags & 0x0100) | rcode,
                          1, count, 0, 0)
        return hdr + question + body

    def serve(self):
        while not self.stopped:
            try:
                pkt, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                self.sock.sendto(self.answer(pkt), peer)
            except (OSError, IndexError, struct.error):
                pass

    def stop(self):
        self.stopped = True
        self.thread.join()
        self.sock.close()

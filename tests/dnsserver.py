"""A tiny real DNS server over UDP for tests that dnsmasq cannot serve.

It answers A, MX and TXT queries from dicts and can send a crafted raw
answer for a name (e.g. one whose MX record holds a compression loop),
which is what a broken or hostile resolver path could deliver, or
SERVFAIL. Every other query gets NXDOMAIN (with a SOA when soa is given).
Records carry the TTL ttl. Listens on 127.0.0.1 only.
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
    raw: {(name, qtype): bytes of the answer section, with ancount},
    txt: {name: "text"}, servfail: names answered SERVFAIL, soa: (TTL,
    MINIMUM) of the SOA sent with NXDOMAIN and NODATA (None: none)."""

    def __init__(self, a=None, mx=None, raw=None, txt=None, ttl=60,
                 servfail=(), soa=None):
        self.a, self.mx, self.raw = a or {}, mx or {}, raw or {}
        self.txt, self.ttl, self.soa = txt or {}, ttl, soa
        self.servfail = set(servfail)
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
        nscount = 0
        if name in self.servfail:
            rcode = 2
        elif (name, qtype) in self.raw:
            rcode = 0
            count, body = self.raw[(name, qtype)]
        elif qtype == 1 and name in self.a:
            rcode, count = 0, 1
            body = ptr + struct.pack("!HHIH", 1, 1, self.ttl, 4) + \
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
                body += ptr + struct.pack("!HHIH", 15, 1, self.ttl,
                                          len(rdata)) + rdata
                count += 1
        elif qtype == 16 and name in self.txt:
            rcode, count = 0, 1
            t = self.txt[name].encode()
            rdata = bytes([len(t)]) + t
            body = ptr + struct.pack("!HHIH", 16, 1, self.ttl,
                                     len(rdata)) + rdata
        elif name in self.a or name in self.mx or name in self.txt:
            rcode = 0                     # NODATA
        if rcode in (0, 3) and count == 0 and self.soa:
            # RFC 2308 3: the SOA of the zone in the authority section
            rdata = encode_name("ns.test") + encode_name("admin.test") + \
                struct.pack("!IIIII", 1, 3600, 600, 86400, self.soa[1])
            body += encode_name("test") + struct.pack(
                "!HHIH", 6, 1, self.soa[0], len(rdata)) + rdata
            nscount = 1
        hdr = struct.pack("!HHHHHH", qid, 0x8180 | (flags & 0x0100) | rcode,
                          1, count, nscount, 0)
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

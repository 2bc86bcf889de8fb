"""outmta's MX handling against answers dnsmasq cannot give: a malformed
MX answer, more MX records than outmta keeps, exchangers that point at
the relay host itself. The DNS server is tests/dnsserver.py on a real UDP
socket; receivers are tests/receiver.py on 127.x addresses, one port.
"""
import smtplib
import struct
import time

import pytest

from conftest import free_port, wait_for
from dnsserver import DnsServer
from receiver import Receiver


def send(om, rcpts, sender="alice@example.test"):
    with smtplib.SMTP("127.0.0.1", om.port) as s:
        s.sendmail(sender, rcpts, b"From: alice@example.test\r\n"
                   b"Subject: out\r\n\r\nhello Internet\r\n")


def loop_answer(name):
    """An MX answer whose exchange name is a compression pointer to
    itself (RFC 1035 4.1.4 pointers must point backwards)."""
    qlen = len(name) + 2 + 4            # encoded name, type, class
    exchange = 12 + qlen + 2 + 10 + 2   # header, question, RR head, pref
    rdata = struct.pack("!H", 10) + struct.pack("!H", 0xc000 | exchange)
    return 1, b"\xc0\x0c" + struct.pack("!HHIH", 15, 1, 60,
                                        len(rdata)) + rdata


@pytest.fixture
def world(cluster):
    """outmta resolving through a DnsServer; receivers made on demand."""
    port = free_port()
    made = []

    def make(a=None, mx=None, raw=None, extra=None, omport=None):
        d = DnsServer(a, mx, raw)
        made.append(d)
        conf = {"dns_servers": d.addr, "smtp_port": str(port),
                "dns_timeout": "1s", "retry_min": "1s", "retry_max": "1s",
                "hop_down_time": "1s"}
        conf.update(extra or {})
        return cluster.outmta(conf, port=omport)

    def rx(ip):
        r = Receiver(ip, port)
        made.append(r)
        return r
    yield make, rx, port
    for m in made:
        m.stop()


def test_malformed_mx_answer_defers(world):
    make, rx, port = world
    implicit = rx("127.0.0.6")
    om = make(a={"loop.test": "127.0.0.6"},
              raw={("loop.test", 15): loop_answer("loop.test")})
    send(om, ["bob@loop.test"])
    wait_for(lambda: "DNS lookup of the MX of loop.test failed "
             "temporarily" in om.log(), what="a temporary DNS failure")
    assert "status=deferred" in om.log()
    time.sleep(1.5)  # a retry comes and goes the same way
    assert implicit.messages == [], "sent to the implicit MX"
    assert "status=sent" not in om.log()


def test_nodata_still_means_implicit_mx(world):
    make, rx, port = world
    implicit = rx("127.0.0.6")
    om = make(a={"plain.test": "127.0.0.6"})
    send(om, ["bob@plain.test"])
    wait_for(lambda: implicit.messages, what="implicit MX delivery")


def test_best_mx_listed_after_sixteen_others(world):
    make, rx, port = world
    near = rx("127.0.0.8")
    mx = [(20, "far%d.many.test" % i) for i in range(16)]
    mx.append((10, "near.many.test"))
    a = {"far%d.many.test" % i: "127.0.0.7" for i in range(16)}
    a["near.many.test"] = "127.0.0.8"
    om = make(a=a, mx={"many.test": mx})
    send(om, ["bob@many.test"])
    wait_for(lambda: near.messages, what="delivery to the best MX")
    # the receiver has the message a moment before outmta logs its 250
    wait_for(lambda: "relay=127.0.0.8:%d" % port in om.log(),
             what="the delivery logged")


@pytest.mark.parametrize("addr,listener", [
    ("127.0.0.12", "127.0.0.12"),   # loopback
    ("0.0.0.0", "127.0.0.1"),       # unspecified: reaches loopback
    ("169.254.1.1", None),          # link-local
    ("224.0.0.1", None),            # multicast
])
def test_exchanger_on_our_host_refused(world, addr, listener):
    make, rx, port = world
    victim = rx(listener) if listener else None
    om = make(a={"mx.evil.test": addr},
              mx={"evil.test": [(10, "mx.evil.test")]},
              extra={"allow_loopback_mx": "no"})
    send(om, ["bob@evil.test"], sender="")
    wait_for(lambda: "status=bounced" in om.log(), what="the bounce")
    assert "554 5.4.4 MX host mx.evil.test has a" in om.log()
    assert addr in om.log()
    if victim:
        assert victim.messages == [] and victim.connections == 0


def test_exchanger_that_is_ourselves_bounces_loop(world):
    make, rx, port = world
    # the MX is outmta's own listening address and port
    ours = free_port()
    om = make(a={"mx.self.test": "127.0.0.1"},
              mx={"self.test": [(10, "mx.self.test")]},
              extra={"smtp_port": str(ours)}, omport=ours)
    send(om, ["bob@self.test"], sender="")
    wait_for(lambda: "status=bounced" in om.log(), what="the bounce")
    assert "554 5.4.6 mail for self.test loops back to myself" in om.log()
    assert om.log().count("client=[127.0.0.1]") == 1, "sent to itself"


def test_exchanger_greeting_with_our_name_bounces_loop(world):
    make, rx, port = world
    twin = Receiver("127.0.0.13", port, name="out.example.test")
    try:
        om = make(a={"mx.twin.test": "127.0.0.13"},
                  mx={"twin.test": [(10, "mx.twin.test")]})
        send(om, ["bob@twin.test"], sender="")
        wait_for(lambda: "status=bounced" in om.log(), what="the bounce")
        assert "554 5.4.6 mail loops back to myself" in om.log()
        assert twin.messages == []
    finally:
        twin.stop()


def test_better_exchanger_than_ourselves_still_used(world):
    make, rx, port = world
    better = rx("127.0.0.14")
    om = make(a={"mx1.pair.test": "127.0.0.14", "mx2.pair.test":
                 "127.0.0.1"},
              mx={"pair.test": [(10, "mx1.pair.test"),
                                (20, "mx2.pair.test")]},
              extra={"smtp_port": str(port)})
    send(om, ["bob@pair.test"])
    wait_for(lambda: better.messages, what="delivery to the better MX")

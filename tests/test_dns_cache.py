"""The answer cache of common/dns.c (dns_cache_size), seen from mx's SPF
lookups: an answer is asked for once within its TTL and again after it;
NXDOMAIN and NODATA are kept for the SOA's negative TTL (RFC 2308);
SERVFAIL is never kept; dns_cache_size = 0 asks every time. Real DNS
servers on 127.0.0.1 count the queries: dnsmasq with log-queries, and
tests/dnsserver.py for SOAs and SERVFAIL."""
import os
import smtplib
import time

from conftest import dnsmasq, metric
from dnsserver import DnsServer

HOP = ["lmtp:127.0.0.1:9"]


def spf_check(mx, domain):
    """One session whose MAIL FROM domain's SPF record is looked up (the
    first RCPT waits for the result)."""
    s = smtplib.SMTP("127.0.0.1", mx.port, timeout=20)
    try:
        s.ehlo("client.test")
        assert s.mail("bob@" + domain)[0] == 250
        s.rcpt("alice@example.test")
        s.rset()
    finally:
        s.close()


def txt_queries(srv, name):
    return sum(1 for q in srv.queries if q == (name, 16))


def test_txt_answer_kept_for_its_ttl(cluster):
    log = os.path.join(cluster.base, "dnsmasq-queries.log")
    p, servers = dnsmasq(cluster.base, [
        'txt-record=ttl.test,"v=spf1 ?all"', "local-ttl=2",
        "log-queries", "log-facility=" + log])
    try:
        mx = cluster.mx(HOP, {"dns_servers": servers, "dns_timeout": "1s"})

        def asked():
            with open(log) as f:
                return f.read().count("query[TXT] ttl.test ")
        spf_check(mx, "ttl.test")
        assert asked() == 1
        spf_check(mx, "ttl.test")
        spf_check(mx, "TTL.test")       # the key is case-insensitive
        assert asked() == 1
        assert metric(mx, 'sluice_dns_cache_total{result="hit"}') >= 2
        time.sleep(2.3)                 # the TTL has run out
        spf_check(mx, "ttl.test")
        assert asked() == 2
    finally:
        p.terminate()
        p.wait()


def test_negative_answers_kept_for_soa_minimum(cluster):
    # NXDOMAIN kept for MINIMUM (1 s, less than the SOA's own TTL)
    srv = DnsServer(txt={"short.test": "v=spf1 ?all"}, soa=(300, 1))
    srv2 = DnsServer(soa=(300, 300))
    try:
        mx = cluster.mx(HOP, {"dns_servers": srv.addr, "dns_timeout": "1s"})
        mx2 = cluster.mx(HOP, {"dns_servers": srv2.addr,
                               "dns_timeout": "1s"})
        for _ in range(3):
            spf_check(mx, "gone.test")
            spf_check(mx2, "gone.test")
        assert txt_queries(srv, "gone.test") == 1
        assert txt_queries(srv2, "gone.test") == 1
        time.sleep(1.3)
        spf_check(mx, "gone.test")
        spf_check(mx2, "gone.test")
        assert txt_queries(srv, "gone.test") == 2
        assert txt_queries(srv2, "gone.test") == 1
    finally:
        srv.stop()
        srv2.stop()


def test_nodata_kept_servfail_not(cluster):
    srv = DnsServer(a={"nodata.test": "127.0.0.9"}, servfail=["bad.test"],
                    soa=(60, 60))
    try:
        mx = cluster.mx(HOP, {"dns_servers": srv.addr, "dns_timeout": "1s"})
        spf_check(mx, "nodata.test")
        spf_check(mx, "nodata.test")
        assert txt_queries(srv, "nodata.test") == 1
        spf_check(mx, "bad.test")
        first = txt_queries(srv, "bad.test")
        assert first >= 1
        spf_check(mx, "bad.test")
        assert txt_queries(srv, "bad.test") > first
    finally:
        srv.stop()


def test_cache_off(cluster):
    srv = DnsServer(txt={"off.test": "v=spf1 ?all"})
    try:
        mx = cluster.mx(HOP, {"dns_servers": srv.addr, "dns_timeout": "1s",
                              "dns_cache_size": "0"})
        spf_check(mx, "off.test")
        spf_check(mx, "off.test")
        assert txt_queries(srv, "off.test") == 2
    finally:
        srv.stop()

"""The test helpers survive losing the race for a port: free_port()
checks that a port is free, the daemon (or dnsmasq) binds it later, and
another test run on the machine may take it in between. Here the test
takes it itself: the daemon must come up on another port all the same."""
import smtplib
import socket

import conftest
from conftest import dnsmasq, free_port


def test_daemon_moves_off_a_taken_port(cluster):
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen(1)
        om = cluster.outmta(port=port)
    assert om.port != port
    with smtplib.SMTP("127.0.0.1", om.port, timeout=10) as c:
        assert c.noop()[0] == 250
    assert "Address already in use" not in om.log()
    with open(om.log_path + ".inuse") as f:
        assert "bind 127.0.0.1:%d: Address already in use" % port in f.read()


def test_dnsmasq_moves_off_a_taken_port(cluster):
    # the port free_port() gives next is free for TCP; its UDP side is
    # taken, which only dnsmasq's own bind finds out
    nxt = conftest._port_next[0]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.bind(("127.0.0.1", nxt))
        p, addr = dnsmasq(cluster.base, ["host-record=a.test,127.0.0.9"])
    try:
        assert addr != "127.0.0.1:%d" % nxt
        assert p.poll() is None
    finally:
        p.kill()
        p.wait()

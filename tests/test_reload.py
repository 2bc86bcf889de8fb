"""SIGHUP reload (operations issue #12, item A): every daemon reads its
configuration again and puts to work what can change live (limits, TLS
certificate, next hops, the directory snapshot, avscan's signatures),
keeps its listeners and its open sessions, keeps the old configuration
when the new file is bad, and names what needs a restart."""
import os
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

from conftest import (BUILD, Lmtp, free_port, queue_tool, wait_for,
                      wait_messages)
from test_avscan import CLAMDB, avscan, quarantined
from test_spamd import spamd

ALICE = "alice@example.test"


def set_key(d, key, value):
    conf = open(d.conf).read()
    line = "%s = %s" % (key, value)
    if re.search(r"(?m)^%s = .*$" % key, conf):
        conf = re.sub(r"(?m)^%s = .*$" % key, line, conf)
    else:
        conf += line + "\n"
    open(d.conf, "w").write(conf)


def hup(d, what="reload: "):
    n = d.log().count(what)
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: d.log().count(what) > n, 10, "the reload")


def size_offered(port):
    """SIZE of a new session's EHLO or LHLO."""
    c = Lmtp(port)
    try:
        r = c.cmd("EHLO x.test") if c.greeting[1].find("LMTP") < 0 else \
            c.cmd("LHLO x.test")
        if r[0] != 250:
            r = c.cmd("LHLO x.test")
        return int(re.search(r"SIZE (\d+)", r[1]).group(1))
    finally:
        c.close()


def daemons(cluster, name):
    st = cluster.store()
    if name == "store":
        return st
    if name == "spamd":
        return spamd(cluster, st)
    if name == "avscan":
        return avscan(cluster, ["lmtp:127.0.0.1:%d" % st.port])
    if name == "outmta":
        return cluster.outmta(extra={"next_hop": "lmtp:127.0.0.1:%d" %
                                     st.port, "domain_routes": ""})
    return cluster.mx(["lmtp:127.0.0.1:%d" % st.port], tls=False)


@pytest.mark.parametrize("name", ["mx", "avscan", "spamd", "outmta",
                                  "store"])
def test_limits_change_and_open_session_survives(cluster, name):
    d = daemons(cluster, name)
    old = Lmtp(d.port)          # open before the reload
    greeting = old.greeting
    assert greeting[0] == 220
    assert size_offered(d.port) != 1048576
    set_key(d, "max_message_size", "1m")
    hup(d)
    assert size_offered(d.port) == 1048576
    assert old.cmd("NOOP")[0] == 250, "the open session was dropped"
    old.close()
    # a bad file: the old configuration stays, the daemon lives on
    with open(d.conf, "a") as f:
        f.write("no_such_key = 1\n")
    hup(d, "the configuration in use stays")
    assert d.proc.poll() is None
    assert size_offered(d.port) == 1048576
    assert "unknown key 'no_such_key'" in d.log()


def test_listen_change_needs_a_restart(cluster):
    st = cluster.store()
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % st.port], tls=False)
    set_key(mx, "listen", "127.0.0.1:%d" % free_port())
    hup(mx)
    assert "reload: listen changed: takes a restart" in mx.log()
    assert size_offered(mx.port) > 0     # still on the old address


def served_cert(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"EHLO x.test\r\n")
    while f.readline()[3:4] == b"-":
        pass
    s.sendall(b"STARTTLS\r\n")
    assert f.readline().startswith(b"220")
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    t = ctx.wrap_socket(s)
    der = t.getpeercert(binary_form=True)
    t.close()
    return der


def new_cert(d, cn):
    crt, key = os.path.join(d, cn + ".pem"), os.path.join(d, cn + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-days", "2", "-subj", "/CN=" + cn,
                    "-keyout", key, "-out", crt], check=True,
                   capture_output=True)
    os.chmod(key, 0o644)  # the daemon reads it as its own user
    return crt, key


def test_new_certificate_served_and_tls_session_survives(cluster):
    st = cluster.store()
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % st.port])
    first = served_cert(mx.port)
    # a TLS session open across the reload
    s = smtplib.SMTP("127.0.0.1", mx.port, timeout=20)
    s.starttls(context=ssl._create_unverified_context())
    s.ehlo("x.test")
    crt, key = new_cert(mx.workdir, "reloaded.example.test")
    set_key(mx, "tls_cert", crt)
    set_key(mx, "tls_key", key)
    hup(mx)
    second = served_cert(mx.port)
    assert second != first
    assert second == ssl.PEM_cert_to_DER_cert(open(crt).read())
    s.sendmail("carol@remote.test", [ALICE], b"Subject: t\r\n\r\nx\r\n")
    s.quit()
    wait_messages(st, ALICE, 1)
    # a key that does not match: the certificate in use stays
    set_key(mx, "tls_key", cluster.cert[1])
    hup(mx, "the certificate in use stays")
    assert served_cert(mx.port) == second


def test_new_signature_detected_after_reload(cluster):
    st = cluster.store()
    db = os.path.join(cluster.base, "clamdb")
    shutil.copytree(CLAMDB, db)
    av = avscan(cluster, ["lmtp:127.0.0.1:%d" % st.port],
                extra={"clamav_database": db})
    marker = b"sluice-reload-test-marker-7c1f"
    msg = b"Subject: m\r\n\r\n" + marker + b"\r\n"
    assert Lmtp(av.port).send("c@remote.test", [ALICE], msg)[0][0] == 250
    with open(os.path.join(db, "reload.ndb"), "w") as f:
        f.write("Sluice.Test.Reload:0:*:%s\n" % marker.hex())
    hup(av, "signature(s) from")
    assert Lmtp(av.port).send("c@remote.test", [ALICE], msg)[0][0] == 250
    wait_for(lambda: quarantined(av), 20, "the new signature to catch it")
    assert "Sluice.Test.Reload" in av.log()
    wait_messages(st, ALICE, 1)


def test_next_hop_change_and_control_reload(cluster):
    st = cluster.store()
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % free_port()], tls=False,
                    extra={"retry_min": "1h", "retry_max": "1h"})
    with smtplib.SMTP("127.0.0.1", mx.port, timeout=20) as s:
        s.sendmail("carol@remote.test", [ALICE], b"Subject: h\r\n\r\nx\r\n")
    time.sleep(1)
    assert "1 message" in queue_tool(mx, "list").stdout or \
        queue_tool(mx, "list").stdout.count("@") >= 1
    set_key(mx, "next_hop", "lmtp:127.0.0.1:%d" % st.port)
    r = queue_tool(mx, "reload")
    assert r.returncode == 0 and "reloaded" in r.stdout, r
    wait_messages(st, ALICE, 1, timeout=10)
    assert "next hops reloaded" in mx.log()


def test_store_reload_through_its_control_socket(cluster):
    st = cluster.store(extra={"control_dir": "ctl"})
    sock = os.path.join(st.workdir, "ctl", "control")
    wait_for(lambda: os.path.exists(sock), 10, "the control socket")
    with open(st.directory_file, "a") as f:
        f.write("carol@example.test\n")
    r = subprocess.run([os.path.join(BUILD, "sluice-queue"), "-d",
                        os.path.join(st.workdir, "ctl"), "reload"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "reloaded" in r.stdout, r
    assert Lmtp(st.port).send("x@remote.test", ["carol@example.test"],
                              b"Subject: c\r\n\r\nx\r\n")[0][0] == 250


def test_systemd_unit_reloads_with_hup():
    d = os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "etc", "systemd")
    units = [n for n in os.listdir(d) if n.endswith(".service")]
    assert units
    for n in units:
        assert "ExecReload=/bin/kill -HUP $MAINPID" in \
            open(os.path.join(d, n)).read(), n

"""sluice-audit against two deployments: a Sluice pipeline as `make run`
starts it (mx -> avscan -> spamd -> store, msa -> avscan, outmta; the
inner stages trust only 127.0.0.1) and a private Postfix 3.7 with
Debian's defaults. The audit probes from 127.0.0.9, an address neither
trusts (Debian's mynetworks is 127.0.0.0/8, narrowed here to 127.0.0.1 so
that 127.0.0.9 is the Internet).

The assertions are the verdicts the defenses justify; each fails if its
defense breaks: Sluice refuses every relay trick, EICAR in any wrapping
never reaches the mailbox (while the clean control message does), the MX
bounds sizes, unknown recipients are refused at RCPT;
Postfix refuses relaying too but lets the virus and GTUBE through.
"""
import json
import os
import subprocess
import sys

import pytest

from conftest import BUILD, ROOT, Ctl, free_port, write_conf, Daemon
from test_avscan import avscan
from test_spamd import bayes_db, spamd  # noqa: F401  (fixtures)

sys.path.insert(0, os.path.join(ROOT, "bench"))
import bench  # noqa: E402  (its private Postfix instance)

AUDIT = os.path.join(ROOT, "audit", "sluice-audit")
RESULTS = "/var/tmp/sluice-audit-test"
PW = {"alice@example.test": "alice audit pw", "bob@example.test": "bob pw 2"}
# small bounds: the whole audit of one deployment in well under 30 s
BOUNDS = ["--source", "127.0.0.9", "--source2", "127.0.0.10",
          "--flood", "14", "--rate", "15", "--bomb", "12", "--slow", "2",
          "--wait", "15", "--max-rcpts", "1010"]

# both tests on one worker, in order: the second prints both columns
pytestmark = pytest.mark.xdist_group("postfix")


def audit(name, args):
    """Run sluice-audit; its JSON result."""
    os.makedirs(RESULTS, exist_ok=True)
    out = os.path.join(RESULTS, name + ".json")
    r = subprocess.run([AUDIT, "--name", name, "--json", out, "--html",
                        os.path.join(RESULTS, name + ".html"), "-v",
                        *BOUNDS, *args], capture_output=True, text=True,
                       timeout=90)
    print(r.stdout, r.stderr)
    assert r.returncode == 0, r.stderr
    with open(out) as f:
        return json.load(f)


def status(res, fault, title_part):
    got = [c["status"] for c in res["checks"] if c["fault"] == fault and
           title_part in c["title"]]
    assert got, "no check %r under %s" % (title_part, fault)
    return got


def sluice(cluster, bayes_db):  # noqa: F811
    """The pipeline of make run, on free ports."""
    d = cluster._dir("dir")
    ctl = Ctl(d)
    ctl("domain", "add", "example.test")
    for u, pw in PW.items():
        ctl("user", "add", u)
        ctl("user", "passwd", u, stdin=pw + "\n")
    ctl("alias", "add", "postmaster@example.test", "alice@example.test")
    os.chmod(ctl.snap, 0o644)
    ports = {k: free_port() for k in ("imap", "imaps", "pop3", "pop3s")}
    st = cluster.store(extra={
        "directory_file": ctl.snap, "credentials_file": ctl.auth,
        "tls_cert": cluster.cert[0], "tls_key": cluster.cert[1],
        **{k + "_listen": "127.0.0.1:%d" % p for k, p in ports.items()}})
    out = cluster.outmta(extra={"next_hop": "smtp:127.0.0.1:%d" %
                                free_port(), "retry_min": "1h"})
    sd = spamd(cluster, st, {
        "bayes_db": bayes_db, "trusted_peers": "127.0.0.1",
        "next_hop": "smtp:127.0.0.1:%d" % out.port,
        "domain_routes": "example.test = lmtp:127.0.0.1:%d" % st.port})
    av = avscan(cluster, ["lmtp:127.0.0.1:%d" % sd.port],
                {"trusted_peers": "127.0.0.1"})
    hop = "lmtp:127.0.0.1:%d" % av.port
    mx = cluster.mx([hop], extra={"directory_file": ctl.snap,
                                  "alias_relay": hop})
    md = cluster._dir("msa")
    conf = {"listen": "127.0.0.1:%d" % free_port(),
            "smtps_listen": "127.0.0.1:%d" % free_port(),
            "hostname": "msa.example.test", "next_hop": hop,
            "queue_dir": os.path.join(md, "queue"), "user": "sluice",
            "tls_cert": cluster.cert[0], "tls_key": cluster.cert[1],
            "credentials_file": ctl.auth, "directory_file": ctl.snap}
    write_conf(os.path.join(md, "msa.conf"), conf)
    msa = Daemon("msa", os.path.join(BUILD, "sluice-msa"),
                 os.path.join(md, "msa.conf"), md,
                 int(conf["listen"].rsplit(":", 1)[1]))
    cluster.daemons.append(msa)
    msa.start()
    ep = "127.0.0.1:%d"
    return ["--mx", ep % mx.port, "--submission", conf["listen"],
            "--submissions", conf["smtps_listen"],
            *sum((["--" + k, ep % p] for k, p in ports.items()), []),
            "--internal", ",".join(ep % x.port for x in (av, sd, st, out)),
            "--outbound", ep % out.port,
            "--user", "alice@example.test",
            "--password", PW["alice@example.test"],
            "--other-user", "bob@example.test",
            "--remote-domain", "remote.test",
            "--ca", cluster.cert[0], "--tls-name", "localhost"]


def test_audit_sluice(cluster, bayes_db):  # noqa: F811
    res = audit("sluice", sluice(cluster, bayes_db))
    v = {f: x["verdict"] for f, x in res["verdicts"].items()}
    assert "untested" not in v.values(), v
    for f in ("any-to-any", "open relay", "anonymous sender", "virus",
              "no privacy"):
        assert v[f] == "solved", (f, [c for c in res["checks"]
                                      if c["fault"] == f])
    # every relay trick refused, at the MX and after RSET
    assert set(status(res, "open relay", "refused")) == {"pass"}
    # the virus probes passed because the control message arrived and
    # they did not (n/a would mean the mailbox could not tell)
    assert set(status(res, "virus", "EICAR")) == {"pass"}
    assert status(res, "spam", "unknown recipient") == ["pass"]
    # the MX bounds what the sender sends (msa takes a 2 MB header
    # section: it has no max_header_size, so the fault is only mitigated)
    for t in ("mx refuses a declared SIZE", "mx refuses a message of",
              "mx refuses a header section", "mx refuses a 10,000"):
        assert status(res, "data size set by the sender", t) == ["pass"]
    assert v["spam"] == "mitigated"
    assert status(res, "no congestion control",
                  "submission limits simultaneous") == ["pass"]


@pytest.mark.skipif(os.geteuid() != 0, reason="a Postfix instance needs root")
def test_audit_postfix_debian_defaults(cluster):
    work = os.path.join(cluster.base, "postfix")
    os.makedirs(work)
    port = free_port()
    crt, key = cluster.cert
    pf = bench.Postfix(work, "delivery", port=port, domain="example.test",
                       user=["alice", "bob", "postmaster"], extra={
                           # Debian's main.cf and Postfix 3.7's defaults,
                           # but for the address of "the Internet"
                           "mynetworks": "127.0.0.1/32",
                           "smtpd_relay_restrictions": "permit_mynetworks "
                           "permit_sasl_authenticated "
                           "defer_unauth_destination",
                           "smtpd_recipient_restrictions": "",
                           "smtpd_tls_security_level": "may",
                           "smtpd_tls_cert_file": crt,
                           "smtpd_tls_key_file": key,
                           "smtpd_client_connection_count_limit": "50",
                           "smtpd_client_connection_rate_limit": "0",
                           "biff": "no", "append_dot_mydomain": "no",
                           "recipient_delimiter": "+",
                           "mailbox_size_limit": "0"})
    try:
        res = audit("postfix", ["--mx", "127.0.0.1:%d" % port,
                                "--user", "alice@example.test",
                                "--remote-domain", "remote.test",
                                "--ca", crt, "--tls-name", "localhost"])
    finally:
        subprocess.run(["postfix", "-c", pf.conf, "stop"],
                       capture_output=True)
    v = {f: x["verdict"] for f, x in res["verdicts"].items()}
    assert v["open relay"] == "solved", v
    # no antivirus, no spam filter: both arrive (accepted, 250)
    assert set(status(res, "virus", "EICAR")) == {"fail"}
    assert status(res, "spam", "GTUBE") == ["fail"]
    assert status(res, "spam", "unknown recipient") == ["pass"]
    both = [os.path.join(RESULTS, n + ".json") for n in ("sluice",
                                                         "postfix")]
    if os.path.exists(both[0]):
        r = subprocess.run([AUDIT, "--compare", *both, "--html",
                            os.path.join(RESULTS, "both.html")],
                           capture_output=True, text=True)
        print(r.stdout)

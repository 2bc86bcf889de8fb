"""Operations (issue #12, items 2 and 3): the supervisor `make run` puts
every stage under, the systemd units, and `make install`."""
import glob
import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import BUILD, ROOT, port_open, wait_for
from test_avscan import CLAMDB

STAGES = ("mx", "msa", "avscan", "spamd", "outmta", "store", "admin")


def children(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return [int(x) for x in f.read().split()]


def test_supervisor_restarts_a_dead_stage_and_stops_on_term(cluster):
    # two stages, each under tests/supervise.sh as make run starts them
    sups = []
    for st in (cluster.store(), cluster.store()):
        st.stop()
        log = open(os.path.join(cluster.base, "sup%d.log" % len(sups)),
                   "wb")
        p = subprocess.Popen([os.path.join(ROOT, "tests", "supervise.sh"),
                              "store", st.binary, "-c", st.conf],
                             cwd=st.workdir, stdout=log,
                             stderr=subprocess.STDOUT)
        sups.append((p, st, log))
    try:
        for p, st, _ in sups:
            wait_for(lambda: port_open(st.port), what="the stage")
        (p0, st0, log0), (p1, st1, _) = sups
        other = children(p1.pid)
        victim = children(p0.pid)[0]
        os.kill(victim, signal.SIGKILL)
        # back within the first backoff (0.2 s) and its start
        t0 = time.monotonic()
        wait_for(lambda: children(p0.pid) and children(p0.pid) != [victim]
                 and port_open(st0.port), 10, "the restart")
        print("\nsupervisor: stage listening again %.3f s after kill -9" %
              (time.monotonic() - t0))
        assert children(p1.pid) == other   # the other one kept running
        with open(log0.name, "rb") as f:
            assert b"run: store exited (status 137), restarting in 0.2s" \
                in f.read()
    finally:
        for p, st, log in sups:
            p.send_signal(signal.SIGTERM)
            assert p.wait(30) == 0
            log.close()
    # SIGTERM stopped the stage too (cleanly: its log shows the stop)
    for p, st, _ in sups:
        assert not port_open(st.port)
        assert "stopping on signal 15" in st.log()


def install(tmp_path, *args):
    r = subprocess.run(["make", "--no-print-directory", "install", *args],
                       cwd=ROOT, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


# both run make in the tree: one worker, one make at a time
@pytest.mark.xdist_group("make-install")
def test_make_install_destdir_tree(tmp_path):
    d = str(tmp_path / "root")
    install(tmp_path, "DESTDIR=" + d, "PREFIX=/usr")
    for s in STAGES:
        b = d + "/usr/sbin/sluice-" + s
        assert os.access(b, os.X_OK), b
        assert os.path.isfile(d + "/usr/share/man/man8/sluice-%s.8" % s)
        conf = d + "/etc/sluice/%s.conf" % s
        assert os.path.isfile(conf)
        assert os.path.isdir(d + "/var/lib/sluice/" + s)
        # the installed sample is a good configuration for this build
        # (avscan's check loads signatures: the test ones when freshclam
        # has not filled /var/lib/clamav here)
        check = conf
        if s == "avscan" and not os.path.isdir("/var/lib/clamav"):
            check = str(tmp_path / "avscan.conf")
            with open(conf) as f, open(check, "w") as out:
                out.write(f.read().replace(
                    "#clamav_database = /var/lib/clamav",
                    "clamav_database = " + CLAMDB))
        r = subprocess.run([os.path.join(BUILD, "sluice-" + s), "-t", "-c",
                            check], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        if s not in ("store", "admin"):
            assert os.path.isdir(d + "/var/spool/sluice/" + s)
            with open(conf) as f:
                assert "\nqueue_dir = /var/spool/sluice/%s/queue\n" % s \
                    in f.read()
    for t in ("sluice-queue", "sluice-quarantine", "sluicectl",
              "sluice-dkim-keygen", "sluice-spamtrain", "sluice-boxkey"):
        assert os.access(d + "/usr/sbin/" + t, os.X_OK), t
    assert glob.glob(d + "/usr/share/man/man8/sluice-quarantine.8*")
    with open(d + "/etc/sluice/store.conf") as f:
        text = f.read()
    assert "\nmail_root = /var/lib/sluice/store/mail\n" in text
    assert "\ntls_cert = /etc/sluice/tls/cert.pem\n" in text
    with open(d + "/etc/sluice/admin.conf") as f:
        # the admin edits the store's directory
        assert "\ndirectory = /var/lib/sluice/store/directory.db\n" in \
            f.read()
    units = d + "/usr/lib/systemd/system/"
    assert os.path.isfile(units + "sluice@.service")
    assert os.path.isfile(units + "sluice.target")
    with open(units + "sluice@.service") as f:
        assert "ExecStart=/usr/sbin/sluice-%i -c /etc/sluice/%i.conf" in \
            f.read()
    assert oct(os.stat(d + "/var/spool/sluice/mx").st_mode & 0o777) == \
        "0o750"
    # a second install keeps the operator's configuration
    with open(d + "/etc/sluice/mx.conf", "a") as f:
        f.write("# mine\n")
    install(tmp_path, "DESTDIR=" + d, "PREFIX=/usr")
    with open(d + "/etc/sluice/mx.conf") as f:
        assert f.read().endswith("# mine\n")
    assert os.path.isfile(d + "/etc/sluice/mx.conf.new")


@pytest.mark.xdist_group("make-install")
def test_systemd_units_verify(tmp_path):
    sa = shutil.which("systemd-analyze")
    if sa is None or subprocess.run([sa, "--version"],
                                    capture_output=True).returncode != 0:
        pytest.skip("systemd-analyze cannot run here")
    p = str(tmp_path / "p")
    # a PREFIX whose binaries exist, so verify checks ExecStart too
    install(tmp_path, "PREFIX=" + p, "SYSCONFDIR=" + p + "/etc",
            "LOCALSTATEDIR=" + p + "/var")
    units = p + "/lib/systemd/system/"
    env = dict(os.environ, MANPATH=p + "/share/man")
    names = [units + "sluice@%s.service" % s for s in STAGES]
    r = subprocess.run([sa, "verify", *names, units + "sluice.target"],
                       capture_output=True, text=True, env=env, cwd=units)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and out.strip() == "", out
    with open(units + "sluice@.service") as f:
        text = f.read()
    for want in ("Restart=on-failure", "NoNewPrivileges=yes",
                 "ProtectSystem=strict", "ProtectHome=yes",
                 "PrivateTmp=yes",
                 "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
                 "ReadWritePaths=-%s/var/spool/sluice/%%i "
                 "%s/var/lib/sluice/%%i" % (p, p)):
        assert want in text, want
    # a broken unit is reported: the check can fail
    bad = tmp_path / "bad.service"
    bad.write_text("[Service]\nExecStart=%s/sbin/sluice-mx\nRestart=bogus\n"
                   % p)
    r = subprocess.run([sa, "verify", str(bad)], capture_output=True,
                       text=True, env=env)
    assert r.returncode != 0 or "bogus" in r.stdout + r.stderr

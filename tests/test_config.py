"""Configuration checking (-t), start-up errors and privilege drop."""
import os
import re
import subprocess

from conftest import BUILD, ROOT, free_port, wait_for


def run(binary, conf_text, tmp_path, *extra):
    conf = tmp_path / "x.conf"
    conf.write_text(conf_text)
    return subprocess.run([os.path.join(BUILD, binary), "-c", str(conf),
                           *extra], capture_output=True, text=True,
                          timeout=20)


def test_good_config_ok(tmp_path):
    r = run("sluice-mx", "# comment\n\nlisten = 127.0.0.1:2599\n"
            "max_message_size = 10m\ntimeout = 2m\n", tmp_path, "-t")
    assert r.returncode == 0, r.stderr
    assert "OK" in r.stdout


def test_unknown_key_names_file_line_key(tmp_path):
    r = run("sluice-mx", "listen = 127.0.0.1:2599\n\nfrobnicate = 1\n",
            tmp_path, "-t")
    assert r.returncode != 0
    assert "x.conf:3: unknown key 'frobnicate'" in r.stderr


def test_bad_value(tmp_path):
    r = run("sluice-store", "max_recipients = lots\n", tmp_path, "-t")
    assert r.returncode != 0
    assert "x.conf:1: bad value for 'max_recipients'" in r.stderr
    r = run("sluice-mx", "timeout = 5y\n", tmp_path, "-t")
    assert r.returncode != 0 and "'timeout'" in r.stderr
    r = run("sluice-mx", "max_recipients = 0\n", tmp_path, "-t")
    assert r.returncode != 0 and "out of range" in r.stderr


def test_repeated_key_and_garbage_line(tmp_path):
    r = run("sluice-mx", "timeout = 1s\ntimeout = 2s\n", tmp_path, "-t")
    assert r.returncode != 0 and "x.conf:2" in r.stderr
    r = run("sluice-mx", "just some words\n", tmp_path, "-t")
    assert r.returncode != 0 and "x.conf:1" in r.stderr


def test_directory_file_old_names(tmp_path):
    """The directory snapshot is directory_file in mx, msa and store; the
    former names (mx recipients, msa and store users_file) still work for
    one release, with a deprecation warning; each stage takes only its
    own former name, and not both names at once."""
    for binary, old in (("sluice-mx", "recipients"),
                        ("sluice-msa", "users_file"),
                        ("sluice-store", "users_file")):
        r = run(binary, "directory_file = /x/new\n", tmp_path, "-p")
        assert r.returncode == 0, r.stderr
        assert "directory_file = /x/new" in r.stdout
        assert "deprecated" not in r.stderr
        r = run(binary, "# c\n%s = /x/old\n" % old, tmp_path, "-p")
        assert r.returncode == 0, (binary, r.stderr)
        assert "directory_file = /x/old" in r.stdout, binary
        assert ("x.conf:2: key '%s' is deprecated, use 'directory_file'"
                % old) in r.stderr, (binary, r.stderr)
        r = run(binary, "%s = /x/old\ndirectory_file = /x/new\n" % old,
                tmp_path, "-p")
        assert r.returncode != 0 and "given twice" in r.stderr, binary
    r = run("sluice-store", "recipients = /x/old\n", tmp_path, "-p")
    assert r.returncode != 0 and "unknown key 'recipients'" in r.stderr


def test_print_config(tmp_path):
    r = run("sluice-mx", "max_recipients = 7\n", tmp_path, "-p")
    assert r.returncode == 0
    assert "max_recipients = 7\n" in r.stdout
    assert "listen = 127.0.0.1:2525\n" in r.stdout


def test_smtp_stage_keys_documented(tmp_path):
    """mx and msa build their tables from the shared keys of
    common/stage_smtp.c and their own: every key -p shows stands in
    etc/<stage>.conf, and the values written there (uncommented) are the
    defaults; the keys that only one stage has stay its own."""
    keys = {}
    for stage in ("mx", "msa"):
        r = run("sluice-" + stage, "", tmp_path, "-p")
        assert r.returncode == 0, r.stderr
        defaults = dict(re.findall(r"^([a-z_0-9]+) = (.*)$", r.stdout, re.M))
        keys[stage] = set(defaults)
        with open(os.path.join(ROOT, "etc", stage + ".conf")) as f:
            conf = re.findall(r"^#?([a-z_0-9]+ = ?.*)$", f.read(), re.M)
        documented = {line.split(" ")[0] for line in conf}
        assert documented == set(defaults), stage
        r = run("sluice-" + stage, "\n".join(conf) + "\n", tmp_path, "-p")
        assert r.returncode == 0, r.stderr
        assert dict(re.findall(r"^([a-z_0-9]+) = (.*)$", r.stdout,
                               re.M)) == defaults, stage
    both = keys["mx"] & keys["msa"]
    assert {"listen", "smtps_listen", "directory_file", "helo_fqdn",
            "bad_rcpt_disconnect", "redis_server", "queue_dir"} <= both
    assert "greylist" in keys["mx"] - both
    assert "credentials_file" in keys["msa"] - both


def test_bad_next_hop_stops_daemon(tmp_path):
    r = run("sluice-mx", "listen = 127.0.0.1:0\nnext_hop = ftp:x\n"
            "queue_dir = %s\n" % (tmp_path / "q"), tmp_path)
    assert r.returncode != 0 and "next hop 'ftp:x'" in r.stderr


def test_privilege_drop_logged(cluster):
    st = cluster.store()
    if os.geteuid() == 0:
        # the port opens before the drop: the line may come a bit later
        wait_for(lambda: "running as user sluice" in st.log(), 10,
                 "the privilege drop to be logged")
        # the process really runs as sluice
        pid = st.proc.pid
        with open("/proc/%d/status" % pid) as f:
            uids = [ln for ln in f if ln.startswith("Uid:")][0].split()[1:]
        assert "0" not in uids


def test_store_password_listeners_need_tls_or_loopback(tmp_path):
    """plaintext_auth is for loopback test setups only: the store refuses
    to start with it when any IMAP/POP3 listener is elsewhere, and a
    listener that takes passwords without TLS must be loopback with
    plaintext_auth. Checked before anything is bound there."""
    base = ("lmtp_listen = 127.0.0.1:%d\nmail_root = %s\ndirectory_file = "
            "/dev/null\ntls_cert =\nimaps_listen =\npop3s_listen =\n"
            "pop3_listen =\n" % (free_port(), tmp_path / "mail"))
    cases = [
        ("plaintext_auth = yes\nimap_listen = 0.0.0.0:%d\n",
         "plaintext_auth = yes is only allowed"),
        ("plaintext_auth = yes\nimap_listen = 127.0.0.1:%d\n"
         "pop3s_listen = 192.0.2.1:1\n", "plaintext_auth = yes is only"),
        ("plaintext_auth = no\nimap_listen = 127.0.0.1:%d\n",
         "needs TLS"),
    ]
    for extra, want in cases:
        conf = base.replace("pop3s_listen =\n", "") \
            if "pop3s_listen" in extra else base
        r = run("sluice-store", conf + extra % free_port(), tmp_path)
        assert r.returncode != 0, (extra, r.stderr)
        assert want in r.stderr, (extra, r.stderr)


def test_store_starts_with_an_empty_credentials_file(cluster):
    """A credentials snapshot with no user yet (comments only) is an
    empty table; it passed NULL to qsort, which UBSan stops."""
    creds = os.path.join(cluster.base, "users.auth")
    with open(creds, "w") as f:
        f.write("# sluicectl credentials snapshot\n")
    os.chmod(creds, 0o644)
    st = cluster.store(extra={"credentials_file": creds})
    assert st.proc.poll() is None
    assert "runtime error" not in st.log()

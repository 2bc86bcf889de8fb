"""Private PostgreSQL and Redis instances for the scale-out tests.

Each runs under a temporary directory on a free port of 127.0.0.1, never
as a system service: PostgreSQL through initdb + postgres -D (as the
unprivileged user "sluice": it refuses to run as root), Redis through
redis-server --port N --save '' --dir tmp. The tests skip only when the
packages are not installed (tests/deps.sh installs them).
"""
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import free_port, wait_for

PG_USER = "sluice"


def pg_bindir():
    """Debian's newest PostgreSQL server binaries, or None."""
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.access(os.path.join(d, "postgres"), os.X_OK):
            return d
    return None


def need_pg():
    if pg_bindir() is None:
        pytest.skip("PostgreSQL not installed (tests/deps.sh postgresql)")


def need_redis():
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server not installed (tests/deps.sh)")


def _as_user(argv):
    """argv run as PG_USER when we are root (PostgreSQL refuses root);
    setpriv execs it, so the process we signal is the server itself."""
    if os.geteuid() == 0:
        return ["setpriv", "--reuid", PG_USER, "--regid", PG_USER,
                "--init-groups", "--", *argv]
    return argv


class Postgres:
    """A private server: start(), stop(), uri(db), createdb(name)."""

    def __init__(self, base):
        self.bin = pg_bindir()
        self.dir = os.path.join(base, "pg")
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        os.makedirs(self.sock)
        os.chmod(base, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.dir, PG_USER, PG_USER)
            shutil.chown(self.sock, PG_USER, PG_USER)
        self.port = free_port()
        self.proc = None
        self.log_path = os.path.join(self.dir, "postgres.log")
        subprocess.run(_as_user([os.path.join(self.bin, "initdb"), "-D",
                                 self.data, "-U", PG_USER, "-A", "trust",
                                 "--no-sync", "-E", "UTF8"]),
                       check=True, capture_output=True)

    def start(self):
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            _as_user([os.path.join(self.bin, "postgres"), "-D", self.data,
                      "-p", str(self.port), "-k", self.sock,
                      "-c", "listen_addresses=127.0.0.1",
                      "-c", "fsync=off", "-c", "full_page_writes=off"]),
            stdout=self.logf, stderr=subprocess.STDOUT)
        wait_for(lambda: self.ready() or self.proc.poll() is not None,
                 timeout=20, what="postgres to accept connections")
        assert self.proc.poll() is None, open(self.log_path).read()
        return self

    def ready(self):
        r = subprocess.run([os.path.join(self.bin, "pg_isready"), "-h",
                            "127.0.0.1", "-p", str(self.port)],
                           capture_output=True)
        return r.returncode == 0

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)   # fast shutdown
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        self.logf.close()

    def uri(self, db="postgres"):
        return "postgresql://%s@127.0.0.1:%d/%s" % (PG_USER, self.port, db)

    def createdb(self, name):
        subprocess.run([os.path.join(self.bin, "createdb"), "-h",
                        "127.0.0.1", "-p", str(self.port), "-U", PG_USER,
                        name], check=True, capture_output=True)
        return self.uri(name)

    def psql(self, db, sql):
        r = subprocess.run([os.path.join(self.bin, "psql"), "-h",
                            "127.0.0.1", "-p", str(self.port), "-U", PG_USER,
                            "-d", db, "-At", "-c", sql],
                           check=True, capture_output=True, text=True)
        return r.stdout


def private_postgres():
    """A private PostgreSQL under a temporary folder, as a generator: the
    body of a module-scoped pytest fixture."""
    need_pg()
    base = tempfile.mkdtemp(prefix="sluice-pg-")
    p = Postgres(base).start()
    yield p
    p.stop()
    shutil.rmtree(base, ignore_errors=True)


class Redis:
    """A private redis-server: start(), kill(), addr."""

    def __init__(self, base):
        self.dir = os.path.join(base, "redis%d" % free_port())
        os.makedirs(self.dir)
        self.port = free_port()
        self.proc = None

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def start(self):
        self.logf = open(os.path.join(self.dir, "redis.log"), "ab")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind",
             "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
             self.dir, "--protected-mode", "no"],
            stdout=self.logf, stderr=subprocess.STDOUT)
        wait_for(lambda: self.ping() or self.proc.poll() is not None,
                 timeout=10, what="redis to answer")
        assert self.proc.poll() is None, "redis-server exited"
        return self

    def ping(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port),
                                          timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None
        self.logf.close()


class Watcher:
    """sluicectl watch for one host's snapshots."""

    def __init__(self, binary, uri, snap, log_path):
        self.log_path = log_path
        self.logf = open(log_path, "ab")
        self.proc = subprocess.Popen([binary, "-d", uri, "-s", snap,
                                      "watch"], stdout=self.logf,
                                     stderr=subprocess.STDOUT)

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc is None:
            return
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc = None
        self.logf.close()


def mtime_ns(path):
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


def wait_changed(path, before, timeout=5.0):
    """Seconds until path's mtime differs from before."""
    t0 = time.monotonic()
    wait_for(lambda: mtime_ns(path) != before, timeout=timeout,
             what=path + " to be rewritten")
    return time.monotonic() - t0

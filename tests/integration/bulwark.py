# SPDX-License-Identifier: ISC
"""Fixture for integration tests: a real bulwarkd, as an admin would run it.

Server() writes a configuration with loopback ports chosen for this run, a
self-signed certificate, a data directory and an empty chroot in a temporary
directory, creates the system users when running as root, starts
`bulwarkd -d` (privilege separation on when root) and waits until storaged and
every worker have said READY.  Its log is kept in the temporary directory and
printed when a test fails.
"""
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BUILD = os.environ.get("BULWARK_BUILD", "build/rel")
TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STORE_USER = "_bulwark"
WORKER_USER = "_bulwarkw"


def binary(name):
    return os.path.join(TOP, BUILD, name)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_users():
    """Creates the two system users, as contrib/ packaging would."""
    for user in (STORE_USER, WORKER_USER):
        try:
            pwd.getpwnam(user)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home",
                            "--home-dir", "/nonexistent",
                            "--shell", "/usr/sbin/nologin", user], check=True)


def make_cert(directory):
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj",
                    "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.chmod(key, 0o600)
    return cert, key


CONF_TEMPLATE = """\
# written by tests/integration/bulwark.py
lo = "127.0.0.1"
hostname "test.example.org"
data-dir "{dir}/data"
run-dir "{dir}/run"
chroot "{dir}/empty"
user "{store_user}"
worker-user "{worker_user}"
admin socket "{dir}/run/admin.sock"{admin_group}
tls certificate "{cert}"
tls key "{key}"
listen imap on $lo port {imap}
listen imap on $lo port {imaps} tls
{lmtp_listen}{http_listen}{extra}auth {{
	fail-limit {fail_limit}
	fail-window 5m
	block-time 15m
	threads 2
}}
imap {{
	workers {imap_workers}
	cleartext-auth {cleartext}
}}
lmtp {{
	workers {lmtp_workers}
{lmtp_opts}}}
http {{
	workers {http_workers}
	cleartext-auth {http_cleartext}
{http_opts}}}
log {{
	verbose 1
{log_opts}}}
"""


class Server:
    def __init__(self, test=None, imap_workers=2, fail_limit=5, cleartext="no",
                 lmtp_workers=0, lmtp_opts="", http_workers=0,
                 http_cleartext="yes", http_opts="", log_opts=""):
        self.test_id = test.id() if test is not None else "server"
        self.root = os.geteuid() == 0
        if self.root:
            ensure_users()
        self.dir = tempfile.mkdtemp(prefix="bulwark-it.")
        os.chmod(self.dir, 0o755)
        os.mkdir(os.path.join(self.dir, "empty"), 0o755)
        self.cert, self.key = make_cert(self.dir)
        self.ports = {"imap": free_port(), "imaps": free_port(), "lmtp": free_port(),
                      "http": free_port(), "https": free_port()}
        # LMTP over TCP and over a Unix socket any local user may use (the
        # MTA in tests runs as its own user).  lmtp_workers=0 (the default)
        # leaves LMTP off, as it was before lmtpd existed.
        self.lmtp_socket = os.path.join(self.dir, "run", "lmtp.sock")
        self.params = dict(imap_workers=imap_workers, fail_limit=fail_limit,
                           cleartext=cleartext, admin_group="", extra="",
                           lmtp_workers=lmtp_workers, lmtp_opts=lmtp_opts,
                           http_workers=http_workers,
                           http_cleartext=http_cleartext,
                           http_opts=http_opts, log_opts=log_opts)
        self.conf = os.path.join(self.dir, "bulwark.conf")
        self.write_conf()
        self.logpath = os.path.join(self.dir, "bulwarkd.log")
        self.proc = None

    def write_conf(self, **changes):
        self.params.update(changes)
        lmtp_listen = ""
        if self.params["lmtp_workers"] > 0:
            lmtp_listen = ("listen lmtp on $lo port %d\n"
                           "listen lmtp socket \"%s\" mode 0666\n"
                           % (self.ports["lmtp"], self.lmtp_socket))
        # JMAP over HTTP (jmapd) in clear and with TLS; http_workers=0
        # (the default) leaves it off.
        http_listen = ""
        if self.params["http_workers"] > 0:
            http_listen = ("listen http on $lo port %d\n"
                           "listen http on $lo port %d tls\n"
                           % (self.ports["http"], self.ports["https"]))
        with open(self.conf, "w") as f:
            f.write(CONF_TEMPLATE.format(
                dir=self.dir, cert=self.cert, key=self.key,
                store_user=STORE_USER, worker_user=WORKER_USER,
                lmtp_listen=lmtp_listen, http_listen=http_listen,
                **self.ports, **self.params))

    # --- lifecycle ---
    def start(self, timeout=30):
        env = {k: v for k, v in os.environ.items()
               if k in ("PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")}
        for attempt in range(3):
            self.logfile = open(self.logpath, "ab")
            since = self.logfile.tell()
            self.proc = subprocess.Popen(
                [binary("bulwarkd"), "-d", "-f", self.conf, "-X",
                 os.path.join(TOP, BUILD)],
                stdout=self.logfile, stderr=subprocess.STDOUT, env=env)
            try:
                self.wait_ready(timeout)
                return self
            except RuntimeError:
                # A port free_port() found was taken before bulwarkd bound
                # it (an outgoing connection of another test may use any
                # port of the ephemeral range): new ports, once more.
                if (attempt == 2 or self.proc.poll() is None or
                        "Address already in use" not in self.log()[since:]):
                    raise
                self.proc = None
                self.logfile.close()
                self.ports = {k: free_port() for k in self.ports}
                self.write_conf()
        return self

    def wait_ready(self, timeout=30, since=0):
        """Waits until storaged and the configured imapd and lmtpd counts are READY."""
        want = self.params["imap_workers"]
        want_lmtp = self.params["lmtp_workers"]
        want_http = self.params["http_workers"]
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("bulwarkd exited %s:\n%s" % (self.proc.returncode, self.log()))
            kids = self.children()
            if (len(kids.get("storaged", [])) == 1 and len(kids.get("imapd", [])) == want
                    and len(kids.get("lmtpd", [])) == want_lmtp
                    and len(kids.get("jmapd", [])) == want_http
                    and self.all_ready(kids)):
                return
            time.sleep(0.05)
        raise RuntimeError("not ready in %ss:\n%s" % (timeout, self.log()))

    def all_ready(self, kids):
        log = self.log()
        for pids in kids.values():
            for pid in pids:
                if not re.search(r"\[%d\] ready" % pid, log):
                    return False
        return True

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logfile.close()
        self.proc = None

    def cleanup(self):
        self.stop()
        logs = os.environ.get("BULWARK_TESTLOGS")
        if logs:
            os.makedirs(logs, exist_ok=True)
            shutil.copy(self.logpath, os.path.join(logs, self.test_id + ".log"))
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=15, start=0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = re.search(pattern, self.log()[start:])
            if m:
                return m
            time.sleep(0.05)
        raise AssertionError("log never matched %r:\n%s" % (pattern, self.log()))

    # --- processes ---
    def children(self):
        """{name: [pid, ...]} of bulwarkd's live children, from /proc."""
        kids = {}
        if self.proc is None:
            return kids
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as f:
                    stat = f.read()
            except OSError:
                continue
            name = stat[stat.index("(") + 1:stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == self.proc.pid and fields[0] != "Z":
                kids.setdefault(name, []).append(int(entry))
        return kids

    @staticmethod
    def proc_ids(pid):
        """(uid, gid, groups, root directory) of a process, from /proc."""
        ids = {}
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                ids[k] = v.split()
        return (int(ids["Uid"][0]), int(ids["Gid"][0]),
                [int(g) for g in ids["Groups"]], os.readlink("/proc/%d/root" % pid))

    # --- administration ---
    def ctl(self, *args, password=None, check=True):
        r = subprocess.run([binary("bulwarkctl"), "-f", self.conf] + list(args),
                           input=(password + "\n") if password is not None else "",
                           capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError("bulwarkctl %s: %d %s" % (args, r.returncode, r.stderr))
        return r

    def add_account(self, address, password):
        domain = address.split("@", 1)[1]
        if domain not in self.ctl("domain", "list").stdout.split():
            self.ctl("domain", "add", domain)
        self.ctl("account", "add", address, password=password)

#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""IMAP benchmark: Bulwark beside Dovecot, the same mailbox, the same client.

usage: bench.py BUILD_DIR [COUNT]   (run.sh is the way in; run as root)

Fills one user's INBOX with COUNT (10,000) messages of bench/lmtp's realistic
mix (delivered over LMTP with bench/lmtp's C client), in Bulwark and in
Dovecot (bench/imap/dovecot.conf), then measures on each, one server after
the other, with the same client:

  fetch-meta   FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)
  fetch-body   UID FETCH 1:* BODY.PEEK[]  (PEEK: the runs change nothing)
  search-hdr   SEARCH HEADER Subject "bench 77"
  search-from  SEARCH FROM "Sender 42"
  search-body  SEARCH BODY <a word of the text>
  stress       imaptest's stress mode, 50 clients, 30 s, each logged in
               once (logout=0), on a mailbox of its own (if imaptest is
               found: $IMAPTEST, or /tmp/imaptest/imaptest)
  idle-mem     resident memory per idle connection, 1,000 connections
               logged in with INBOX selected

Each command runs once to warm the caches, then BENCH_RUNS (3) times; the
median is reported.  SEARCH results must be the same on both servers (the
bench stops otherwise).  Environment: BENCH_RUNS, BENCH_IDLE (1000),
BENCH_STRESS_SECS (30), BENCH_STRESS_CLIENTS (50), BENCH_STRESS_TRACKING
(1: imaptest checks every response against its model of the mailbox,
without no_tracking; slower, stricter), BENCH_STRESS_MODE (imaptest's
"imap4rev2" or "qresync" mode, of an imaptest that has them),
BENCH_SERVERS, BENCH_KEEP=1, and bench/lmtp's BENCH_SEED.
"""
import importlib.util
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("BENCH_USERS", "1")
HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "lmtp_bench", os.path.join(HERE, "..", "lmtp", "bench.py"))
lb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lb)

USER = "user0@" + lb.DOMAIN
PASSWORD = "bench-password-0"
RUNS = lb.env_int("BENCH_RUNS", 3)
IDLE = lb.env_int("BENCH_IDLE", 1000)
STRESS_SECS = lb.env_int("BENCH_STRESS_SECS", 30)
STRESS_CLIENTS = lb.env_int("BENCH_STRESS_CLIENTS", 50)
STRESS_TRACKING = lb.env_int("BENCH_STRESS_TRACKING", 0) == 1
# imaptest's own modes, as words on its command line: "imap4rev2" or
# "qresync" (a newer imaptest than 924f619 has them).
STRESS_MODE = os.environ.get("BENCH_STRESS_MODE", "").split()
DOVECOT_CONF = os.path.join(HERE, "dovecot.conf")
DOVECOT_DIR = "/tmp/bulwark-bench-dovecot-imap"     # as in dovecot.conf
DOVECOT_IMAP, DOVECOT_LMTP = 24143, 24025           # as in dovecot.conf
log = lb.log

BULWARK_CONF = """\
# written by bench/imap/bench.py
hostname "mail.{domain}"
data-dir "{dir}/data"
run-dir "{dir}/run"
chroot "{dir}/empty"
user "{store_user}"
worker-user "{worker_user}"
admin socket "{dir}/run/admin.sock"
listen lmtp on "127.0.0.1" port {lmtp}
listen imap on "127.0.0.1" port {imap}
storage {{
	map-size 64G
}}
imap {{
	workers {imap_workers}
	cleartext-auth yes
	max-connections 2000
	max-connections-per-ip 0	# the bench is one address, one user
	max-connections-per-user 0
}}
lmtp {{
	workers 2
}}
log {{
	verbose 0
}}
"""


class Bulwark(lb.Bulwark):
    def __init__(self, build, workdir):
        super().__init__(build, workdir)
        self.imap_port = lb.free_port()
        self.imap_workers = lb.env_int("BENCH_IMAP_WORKERS", 2)
        with open(self.conf, "w") as f:
            f.write(BULWARK_CONF.format(
                domain=lb.DOMAIN, dir=self.dir, store_user=lb.STORE_USER,
                worker_user=lb.WORKER_USER, lmtp=self.port,
                imap=self.imap_port, imap_workers=self.imap_workers))

    def start(self):
        port = super().start()
        lb.wait_port(self.imap_port, self.proc)
        return port

    def server_pids(self):
        return (lb.procs_named(self.proc.pid, "imapd") +
                lb.procs_named(self.proc.pid, "storaged"))


def argon2id(password):
    """The hash storaged makes: libsodium's crypto_pwhash_str with its
    interactive limits, which Dovecot's ARGON2ID scheme checks."""
    import ctypes
    sodium = ctypes.CDLL("libsodium.so.23")
    if sodium.sodium_init() < 0:
        raise RuntimeError("sodium_init")
    out = ctypes.create_string_buffer(128)
    pw = password.encode()
    sodium.crypto_pwhash_str.argtypes = [ctypes.c_char_p, ctypes.c_char_p,
                                         ctypes.c_ulonglong,
                                         ctypes.c_ulonglong, ctypes.c_size_t]
    if sodium.crypto_pwhash_str(out, pw, len(pw),
                                sodium.crypto_pwhash_opslimit_interactive(),
                                sodium.crypto_pwhash_memlimit_interactive()):
        raise RuntimeError("crypto_pwhash_str")
    return out.value.decode()


class Dovecot:
    name = "dovecot"

    def __init__(self, build, workdir):
        self.build = build
        self.proc = None
        self.imap_port = DOVECOT_IMAP

    def start(self):
        if os.path.exists(os.path.join(DOVECOT_DIR, "run", "master.pid")):
            raise RuntimeError("%s is in use: is another bench running?"
                               % DOVECOT_DIR)
        shutil.rmtree(DOVECOT_DIR, ignore_errors=True)
        os.makedirs(os.path.join(DOVECOT_DIR, "mail"))
        os.chmod(DOVECOT_DIR, 0o755)
        with open(os.path.join(DOVECOT_DIR, "passwd"), "w") as f:
            f.write("%s:{ARGON2ID}%s\n" % (USER, argon2id(PASSWORD)))
        nobody = lb.pwd.getpwnam("nobody")
        os.chown(os.path.join(DOVECOT_DIR, "mail"), nobody.pw_uid,
                 nobody.pw_gid)
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", DOVECOT_CONF],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT)
        lb.wait_port(DOVECOT_LMTP, self.proc)
        lb.wait_port(DOVECOT_IMAP, self.proc)
        return DOVECOT_LMTP

    def server_pids(self):
        return [p for p in lb.procs_named(self.proc.pid, "")
                if p != self.proc.pid]

    def stop(self):
        lb.stop(self.proc)
        shutil.rmtree(DOVECOT_DIR, ignore_errors=True)


# --- the client ----------------------------------------------------------------

class Imap:
    """Just enough IMAP: commands, literals skipped or counted."""

    def __init__(self, port, timeout=600):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=timeout)
        self.buf = bytearray()
        # One buffer that every read lands in: recv(1 MiB) made a new
        # object of 1 MiB for each read, and took the client 1 s of the
        # one it needed to read 850 MB of BODY[] (a server that only
        # sendfile()s the same bytes: 1.0 s, against 0.34 s this way).
        self.view = memoryview(bytearray(1 << 20))
        self.n = 0
        self.readline()

    def fill(self):
        got = self.sock.recv_into(self.view)
        if not got:
            raise EOFError("server closed the connection")
        self.buf += self.view[:got]

    def readline(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            self.fill()

    def skip(self, n):
        """Reads and drops n literal bytes, counted in self.skipped."""
        have = len(self.buf)
        if have >= n:
            del self.buf[:n]
            self.skipped += n
            return
        self.buf.clear()
        self.skipped += have
        n -= have
        while n > 0:
            got = self.sock.recv_into(self.view)
            if not got:
                raise EOFError("server closed the connection")
            if got <= n:
                n -= got
                self.skipped += got
            else:
                self.buf += self.view[n:got]
                self.skipped += n
                n = 0

    def command(self, text):
        """Runs a command; returns (tagged line, untagged lines, bytes of
        literals, number of untagged responses)."""
        self.n += 1
        tag = b"T%d" % self.n
        self.sock.sendall(tag + b" " + text.encode() + b"\r\n")
        lines, self.skipped, count = [], 0, 0
        while True:
            line = self.readline()
            if line.startswith(b"* "):
                count += 1
            while line.endswith(b"}") and b"{" in line:
                m = re.search(rb"\{(\d+)\}$", line)
                if m is None:
                    break
                self.skip(int(m.group(1)))
                line = self.readline()
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise RuntimeError("%s: %r" % (text, line))
                return line, lines, self.skipped, count
            if line.startswith(b"* ") and (len(lines) < 64 or
                                            b"SEARCH" in line[:12]):
                lines.append(line)

    def close(self):
        self.sock.close()


def timed(c, text):
    t = time.monotonic()
    _, lines, nbytes, count = c.command(text)
    return time.monotonic() - t, lines, nbytes, count


def search_result(lines):
    for line in lines:
        if line.startswith(b"* SEARCH"):
            return sorted(int(x) for x in line.split()[2:])
    return []


def pick_word(corpus):
    """A word of the body text that some but not all messages hold."""
    with open(corpus[len(corpus) // 3][0], "rb") as f:
        text = f.read().split(b"\r\n\r\n", 1)[1]
    words = re.findall(rb"\b[a-z]{9,}\b", text)
    return (words[len(words) // 2] if words else b"kaloti").decode()


COMMANDS = [
    ("fetch-meta", "FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)"),
    ("fetch-body", "UID FETCH 1:* BODY.PEEK[]"),
    ("search-hdr", 'SEARCH HEADER Subject "bench 77"'),
    ("search-from", 'SEARCH FROM "Sender 42"'),
    ("search-body", "SEARCH BODY {word}"),
]


def measure(server, port, count, word):
    results = {}
    c = Imap(port)
    c.command('LOGIN "%s" "%s"' % (USER, PASSWORD))
    _, lines, _, _ = c.command("SELECT INBOX")
    exists = [l for l in lines if l.endswith(b" EXISTS")]
    if exists != [b"* %d EXISTS" % count]:
        raise RuntimeError("%s: INBOX holds %r, not %d" % (server.name,
                                                             exists, count))
    for name, text in COMMANDS:
        text = text.format(word=word)
        timed(c, text)                      # warm
        runs = []
        for _ in range(RUNS):
            secs, lines, nbytes, n = timed(c, text)
            runs.append(secs)
        results[name] = {"secs": statistics.median(runs), "bytes": nbytes,
                         "responses": n, "search": search_result(lines)}
        log("%s: %-12s %8.3f s  (%d responses, %.1f MB of literals%s)"
            % (server.name, name, results[name]["secs"], n, nbytes / 1e6,
               ", %d found" % len(results[name]["search"])
               if name.startswith("search") else ""))
    c.command("LOGOUT")
    c.close()
    return results


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/status" % pid) as f:
                m = re.search(r"VmRSS:\s+(\d+) kB", f.read())
            total += int(m.group(1)) if m else 0
        except OSError:
            pass
    return total


def idle_memory(server, port):
    """KiB of resident memory per idle, logged-in connection."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, IDLE + 256),
                                                max(hard, IDLE + 256)))
    time.sleep(1)
    before = rss_kib(server.server_pids())
    socks = []
    try:
        for _ in range(IDLE):
            s = socket.create_connection(("127.0.0.1", port), timeout=120)
            socks.append(s)
        # In groups of 100: storaged queues at most 512 password checks
        # (a burst beyond that is refused, try again), as clients of a
        # real server connect over time.
        for g in range(0, len(socks), 100):
            group = socks[g:g + 100]
            for s in group:
                s.sendall(b'a LOGIN "%s" "%s"\r\nb SELECT INBOX\r\n'
                          % (USER.encode(), PASSWORD.encode()))
            for s in group:
                data = b""
                while (b"\r\nb OK" not in data and
                       not data.startswith(b"b OK")):
                    chunk = s.recv(65536)
                    if not chunk:
                        raise RuntimeError("%s closed an idle connection: "
                                           "%r" % (server.name, data[-200:]))
                    data += chunk
                    if b"\r\nb NO" in data or b"\r\na NO" in data:
                        raise RuntimeError("%s refused: %r"
                                           % (server.name, data[-200:]))
        time.sleep(2)
        after = rss_kib(server.server_pids())
    finally:
        for s in socks:
            s.close()
    return (after - before) / IDLE


def find_imaptest():
    for path in (os.environ.get("IMAPTEST"), "/tmp/imaptest/imaptest"):
        if path and os.access(path, os.X_OK):
            return path
    return None


def stress(server, port, corpus, workdir):
    """imaptest's stress mode: operations per second, and its errors."""
    imaptest = find_imaptest()
    if imaptest is None:
        return None
    mbox = os.path.join(workdir, "stress.mbox")
    if not os.path.exists(mbox):
        with open(mbox, "wb") as out:
            for path, _, _ in corpus[:500]:
                with open(path, "rb") as f:
                    data = re.sub(rb"(?m)^\.\.", b".", f.read())
                out.write(b"From bench@example.net Thu Jan  1 00:00:00 2026\n")
                out.write(re.sub(rb"(?m)^From ", b">From ",
                                 data.replace(b"\r\n", b"\n")) + b"\n")
    c = Imap(port)
    c.command('LOGIN "%s" "%s"' % (USER, PASSWORD))
    c.command("CREATE Stress")
    c.command("LOGOUT")
    c.close()
    args = [imaptest, "host=127.0.0.1", "port=%d" % port,
            "user=" + USER, "pass=" + PASSWORD, "mbox=" + mbox,
            "box=Stress", "clients=%d" % STRESS_CLIENTS,
            "secs=%d" % STRESS_SECS,
            # Each client logs in once: an argon2id check per login would
            # otherwise be what both servers spend their time on.
            "logout=0"]
    if not STRESS_TRACKING:
        args.append("no_tracking")
    args += STRESS_MODE
    r = subprocess.run(args, capture_output=True, text=True,
                       timeout=STRESS_SECS + 120)
    out = r.stdout + r.stderr
    # After "Totals:", the line of counts under the command names.
    totals, lines = None, out.splitlines()
    if "Totals:" in lines:
        for line in lines[lines.index("Totals:") + 1:]:
            if line.strip() and re.fullmatch(r"[\d\s]+", line):
                totals = [int(x) for x in line.split()]
    errs = [l for l in lines if "Error:" in l or "error:" in l]
    for l in errs[:5]:
        log("%s: imaptest: %s" % (server.name, l.strip()[:300]))
    errors = len(errs)
    if totals is None:
        log("%s: imaptest said:\n%s" % (server.name, out[-2000:]))
        return {"ops": 0.0, "errors": errors}
    return {"ops": sum(totals) / STRESS_SECS, "errors": errors}


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: bench.py BUILD_DIR [COUNT]")
    build = os.path.abspath(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    if os.geteuid() != 0:
        sys.exit("bench: run as root: both servers drop privileges as they "
                 "would in production")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(129))
    servers = os.environ.get("BENCH_SERVERS", "bulwark,dovecot").split(",")
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    corpus_dir = tempfile.mkdtemp(prefix="bulwark-bench-corpus.", dir=base)
    work = tempfile.mkdtemp(prefix="bulwark-bench-imap.")
    os.chmod(work, 0o755)
    results, running = {}, None
    try:
        corpus = lb.make_corpus(corpus_dir, count)
        word = pick_word(corpus)
        log("corpus: %d messages, %.1f MB in one mailbox; body word %r"
            % (count, sum(c[2] for c in corpus) / 1e6, word))
        for name in servers:
            server = (Bulwark if name == "bulwark" else Dovecot)(build, work)
            running = server
            port = server.start()
            # One connection: the same arrival order, so the same sequence
            # numbers, on both servers.
            lb.CONNS = 1
            secs, ok, failed, fails, _ = lb.deliver(build, "127.0.0.1", port,
                                                    corpus)
            if failed:
                raise RuntimeError("%s: %d messages not delivered: %s"
                                   % (name, failed, fails[:3]))
            log("%s: filled in %.1f s" % (name, secs))
            res = measure(server, server.imap_port, count, word)
            res["stress"] = stress(server, server.imap_port, corpus, work)
            if res["stress"] is not None:
                log("%s: stress %.0f op/s, %d errors" % (
                    name, res["stress"]["ops"], res["stress"]["errors"]))
            if IDLE > 0:
                res["idle-mem"] = idle_memory(server, server.imap_port)
                log("%s: idle connection %.1f KiB" % (name, res["idle-mem"]))
            server.stop()
            running = None
            results[name] = res
    finally:
        if running is not None:
            running.stop()
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(corpus_dir, ignore_errors=True)
            shutil.rmtree(work, ignore_errors=True)
    bad = False
    print()
    print("%-12s %14s %14s %8s   goal" % ("", "bulwark", "dovecot", "ratio"))
    for name, _ in COMMANDS:
        b = results.get("bulwark", {}).get(name)
        d = results.get("dovecot", {}).get(name)
        goal = "2x" if name.startswith(("fetch", "search")) else ""
        if b and d:
            if name.startswith("search") and b["search"] != d["search"]:
                log("%s: results differ: bulwark %d, dovecot %d messages"
                    % (name, len(b["search"]), len(d["search"])))
                bad = True
            print("%-12s %12.3f s %12.3f s %7.2fx   %s"
                  % (name, b["secs"], d["secs"], d["secs"] / b["secs"], goal))
        elif b or d:
            r = b or d
            print("%-12s %12.3f s" % (name, r["secs"]))
    sb = results.get("bulwark", {}).get("stress")
    sd = results.get("dovecot", {}).get("stress")
    if sb and sd and sd["ops"] > 0:
        print("%-12s %10.0f op/s %10.0f op/s %7.2fx   1.5x  (errors: %d, %d)"
              % ("stress", sb["ops"], sd["ops"], sb["ops"] / sd["ops"],
                 sb["errors"], sd["errors"]))
    elif (sb or sd) and (sb or sd)["ops"] > 0:
        # One server only (BENCH_SERVERS): its figure alone.
        print("%-12s %10.0f op/s  (errors: %d)"
              % ("stress", (sb or sd)["ops"], (sb or sd)["errors"]))
    else:
        print("stress       not run (imaptest not found: set IMAPTEST)"
              if find_imaptest() is None else "stress       failed")
    mb = results.get("bulwark", {}).get("idle-mem")
    md = results.get("dovecot", {}).get("idle-mem")
    if mb is not None:
        print("%-12s %10.1f KiB %10s KiB %8s   < 64 KiB per connection"
              % ("idle-mem", mb, "%.1f" % md if md is not None else "-", ""))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

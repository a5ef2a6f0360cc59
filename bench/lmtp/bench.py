#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""LMTP delivery benchmark: Bulwark beside Dovecot, same mail, same client.

usage: bench.py BUILD_DIR [COUNT]   (run.sh is the way in; run as root)

Generates COUNT messages (default 10,000) from a seed, deterministically: 70%
plain text of 2-10 KB, 20% multipart/alternative of 10-100 KB, 9% of 100 KB-1
MB with base64 attachments, 1% of 1-2 MB; each for one of BENCH_USERS users.
They are kept ready to send (CRLF, dot-stuffed) on tmpfs, so the client only
reads and writes.  Then, one server after the other, it starts the server,
delivers every message over BENCH_CONNS (4) LMTP connections on loopback TCP,
one client process per connection, counts the time from the moment all
connections have said LHLO to the last 250, checks that every message is in
the store, records the peak resident memory (VmHWM) of each LMTP process, and
stops the server.  Bulwark
runs as the integration fixture runs it: `bulwarkd -d` as root with privilege
separation, in a temporary directory.  Dovecot runs `dovecot -F -c
bench/lmtp/dovecot.conf`.  Both make every delivery durable before its 250.

The client is BUILD_DIR/bench/lmtp/bench_lmtp_client (bench_lmtp_client.c):
C, sending MAIL, RCPT and DATA in one write as an MTA does (PIPELINING, RFC
2920), the body with sendfile.  BENCH_CLIENT=python uses the older smtplib
client instead, which waits for each reply before the next command.

Environment: BENCH_SEED (1), BENCH_CONNS (4), BENCH_USERS (10),
BENCH_SERVERS ("bulwark,dovecot"), BENCH_DOVECOT_FSYNC (optimized|always),
BENCH_CLIENT (c|python), BENCH_KEEP=1 keeps the temporary directories,
BENCH_PREFILL=N delivers N other messages (untimed) before the timed run,
BENCH_TRACE=1 runs Bulwark with trace "txn" and prints where its deliveries'
time went (storaged.8; the trace's lines cost some of the rate),
BENCH_ROUNDS=N (1) runs the servers N times in turn, each time on a new
store, and reports each one's median round and the ratio of the medians: on a
VM whose disk and CPUs vary from minute to minute, one run of each says little.
"""
import base64
import multiprocessing
import os
import pwd
import queue
import re
import resource
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
DOMAIN = "bench.example.org"
DOVECOT_CONF = os.path.join(HERE, "dovecot.conf")
DOVECOT_DIR = "/tmp/bulwark-bench-dovecot"     # as in dovecot.conf
DOVECOT_PORT = 24024                           # as in dovecot.conf
STORE_USER, WORKER_USER = "_bulwark", "_bulwarkw"


def env_int(name, default):
    return int(os.environ.get(name, default))


SEED = env_int("BENCH_SEED", 1)
CONNS = env_int("BENCH_CONNS", 4)
USERS = env_int("BENCH_USERS", 10)
CLIENT = os.environ.get("BENCH_CLIENT", "c")
TRACE = os.environ.get("BENCH_TRACE") == "1"
ROUNDS = env_int("BENCH_ROUNDS", 1)


def log(msg):
    print("bench: " + msg, flush=True)


# --- the corpus ------------------------------------------------------------

# (share, smallest, largest bytes, kind): the mix of the issue.
MIX = [
    (0.70, 2 << 10, 10 << 10, "plain"),
    (0.20, 10 << 10, 100 << 10, "alternative"),
    (0.09, 100 << 10, 1 << 20, "attachments"),
    (0.01, 1 << 20, 2 << 20, "large"),
]


def text_pool(rng, size=1 << 20):
    """About size bytes of word salad from a fixed, made-up vocabulary."""
    syl = ["ka", "lo", "mer", "ti", "sun", "dra", "ve", "po", "qua", "ris",
           "ten", "ab", "or", "lu", "shi", "ne", "gor", "fa", "pel", "ix"]
    words = ["".join(rng.choice(syl) for _ in range(rng.randint(1, 4)))
             for _ in range(600)]
    out, n = [], 0
    while n < size:
        line = " ".join(rng.choice(words) for _ in range(rng.randint(6, 12)))
        line = line[0].upper() + line[1:] + "."
        out.append(line)
        n += len(line) + 2
    return "\r\n".join(out) + "\r\n"


def text_of(rng, pool, size):
    start = rng.randrange(0, len(pool) - size - 1) if size < len(pool) else 0
    s = pool[start:start + size]
    # Whole lines only: from after the first line break to the last one.
    return s[s.find("\r\n") + 2:s.rfind("\r\n") + 2] if "\r\n" in s else s


def b64_lines(data):
    return base64.encodebytes(data).replace(b"\n", b"\r\n").decode()


def headers(i, user, subject, ctype, seed):
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000",
                         time.gmtime(1735689600 + i * 37))
    return ("Received: from mx%d.example.net (mx%d.example.net [192.0.2.%d])\r\n"
            "\tby mail.%s with ESMTPS id bench%08d\r\n"
            "\tfor <%s>; %s\r\n"
            "From: \"Sender %d\" <sender%d@example.net>\r\n"
            "To: <%s>\r\n"
            "Subject: %s\r\n"
            "Date: %s\r\n"
            "Message-ID: <bench-%d-%d@example.net>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: %s\r\n"
            % (i % 7, i % 7, i % 250 + 1, DOMAIN, i, user, date, i % 97,
               i % 97, user, subject, date, seed, i, ctype))


def make_message(rng, pool, i, user, seed):
    r, acc = rng.random(), 0.0
    for share, lo, hi, kind in MIX:
        acc += share
        if r < acc:
            break
    size = rng.randint(lo, hi)
    subject = "bench %d: %s" % (i, text_of(rng, pool, 300).split("\r\n")[0][:50])
    b = "b%d-%d" % (seed, i)
    if kind == "plain":
        h = headers(i, user, subject, "text/plain; charset=utf-8", seed)
        body = text_of(rng, pool, max(size - len(h) - 2, 64))
        return h + "\r\n" + body
    if kind == "alternative":
        h = headers(i, user, subject,
                    "multipart/alternative; boundary=\"%s\"" % b, seed)
        half = max((size - len(h)) // 2 - 200, 256)
        txt = text_of(rng, pool, half)
        html = "<html><body>\r\n" + "".join(
            "<p>%s</p>\r\n" % line for line in
            text_of(rng, pool, half).split("\r\n") if line) + "</body></html>\r\n"
        return (h + "\r\nThis is a MIME message.\r\n--%s\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n\r\n%s"
                "--%s\r\nContent-Type: text/html; charset=utf-8\r\n\r\n%s"
                "--%s--\r\n" % (b, txt, b, html, b))
    h = headers(i, user, subject, "multipart/mixed; boundary=\"%s\"" % b,
                seed)
    parts = ["--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s"
             % (b, text_of(rng, pool, rng.randint(1 << 10, 6 << 10)))]
    left = size - len(h) - len(parts[0])
    natt = 1 if kind == "large" else rng.randint(1, 3)
    names = [("report.pdf", "application/pdf"), ("photo.jpg", "image/jpeg"),
             ("data.zip", "application/zip")]
    for k in range(natt):
        raw = max(left // natt * 3 // 4 - 200, 1024)
        name, ctype = names[(i + k) % len(names)]
        parts.append("--%s\r\nContent-Type: %s; name=\"%s\"\r\n"
                     "Content-Disposition: attachment; filename=\"%s\"\r\n"
                     "Content-Transfer-Encoding: base64\r\n\r\n%s"
                     % (b, ctype, name, name, b64_lines(rng.randbytes(raw))))
    return h + "\r\n" + "".join(parts) + "--%s--\r\n" % b


def make_corpus(directory, count, seed=None):
    """Writes count messages, ready for DATA; returns [(path, rcpt, size)]."""
    import random
    seed = SEED if seed is None else seed
    os.makedirs(directory, exist_ok=True)
    rng = random.Random(seed)
    pool = text_pool(rng)
    out = []
    for i in range(count):
        user = "user%d@%s" % (i % USERS, DOMAIN)
        msg = make_message(rng, pool, i, user, seed).encode()
        if not msg.endswith(b"\r\n"):
            msg += b"\r\n"
        msg = re.sub(rb"(?m)^\.", b"..", msg)        # RFC 5321 4.5.2
        path = os.path.join(directory, "%06d.eml" % i)
        with open(path, "wb") as f:
            f.write(msg)
        out.append((path, user, len(msg)))
    return out


# --- the clients -------------------------------------------------------------

def client_path(build):
    return os.path.join(build, "bench", "lmtp", "bench_lmtp_client")


def deliver_c(build, host, port, corpus):
    """Delivers the corpus with bench_lmtp_client on CONNS connections;
    returns (seconds, ok, failed, [failure lines], the mean milliseconds of
    a transaction's phases as the client saw them or None)."""
    if not corpus:
        return 0.0, 0, 0, [], None
    jobs = os.path.join(os.path.dirname(corpus[0][0]), "jobs")
    with open(jobs, "w") as f:
        for path, rcpt, _ in corpus:
            f.write("%s\t%s\n" % (path, rcpt))
    r = subprocess.run([client_path(build), host, str(port), jobs,
                        str(CONNS)], capture_output=True, text=True)
    fails = [line[5:] for line in r.stdout.splitlines()
             if line.startswith("fail ")]
    m = re.search(r"(?m)^total ok (\d+) failed (\d+) seconds ([0-9.]+)",
                  r.stdout)
    if r.returncode not in (0, 1) or m is None:
        return 0.0, 0, len(corpus), fails + [
            "bench_lmtp_client exited %d: %s" % (r.returncode,
                                                r.stderr.strip())], None
    p = re.search(r"(?m)^phases ms envelope ([0-9.]+) body ([0-9.]+) "
                  r"replies ([0-9.]+)", r.stdout)
    return (float(m.group(3)), int(m.group(1)), int(m.group(2)), fails,
            tuple(float(x) for x in p.groups()) if p else None)


def deliver_part(host, port, jobs, barrier, results):
    """One connection: delivers jobs in order; reports (ok, failures)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    ok, failed = 0, []
    try:
        c = smtplib.LMTP(host, port, timeout=300)
        c.ehlo_or_helo_if_needed()
    except Exception as e:                # noqa: BLE001
        barrier.abort()
        results.put((0, ["connect: %r" % e]))
        return
    barrier.wait()
    size = c.has_extn("size")
    for path, rcpt, _ in jobs:
        with open(path, "rb") as f:
            data = f.read()
        try:
            code, resp = c.mail("bench@example.net",
                                ["SIZE=%d" % len(data)] if size else [])
            if code != 250:
                raise smtplib.SMTPResponseException(code, resp)
            code, resp = c.rcpt(rcpt)
            if code not in (250, 251):
                raise smtplib.SMTPResponseException(code, resp)
            code, resp = c.docmd("DATA")
            if code != 354:
                raise smtplib.SMTPResponseException(code, resp)
            # Already CRLF and dot-stuffed: no per-byte work here.
            c.send(data + b".\r\n")
            code, resp = c.getreply()     # one recipient, one reply
            if code != 250:
                raise smtplib.SMTPResponseException(code, resp)
            ok += 1
        except smtplib.SMTPResponseException as e:
            failed.append("%s: %d %s" % (os.path.basename(path), e.smtp_code,
                                         e.smtp_error))
            try:
                c.rset()
            except Exception:             # noqa: BLE001
                break
        except Exception as e:            # noqa: BLE001
            failed.append("%s: %r" % (os.path.basename(path), e))
            break
    try:
        c.quit()
    except Exception:                     # noqa: BLE001
        pass
    results.put((ok, failed))


def deliver_python(host, port, corpus):
    """Delivers the corpus with smtplib, one process per connection;
    returns (seconds, ok, failed, [failure lines])."""
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(CONNS + 1)
    results = ctx.Queue()
    procs = [ctx.Process(target=deliver_part,
                         args=(host, port, corpus[k::CONNS], barrier, results))
             for k in range(CONNS)]
    for p in procs:
        p.start()
    try:
        barrier.wait(timeout=60)
    except Exception:                     # noqa: BLE001
        pass
    t0 = time.monotonic()
    got = []
    while len(got) < len(procs):
        try:
            got.append(results.get(timeout=1))
        except queue.Empty:
            if not any(p.is_alive() for p in procs) and results.empty():
                got.append((0, ["a client process died"]))
    elapsed = time.monotonic() - t0
    for p in procs:
        p.join()
    ok = sum(g[0] for g in got)
    fails = [f for g in got for f in g[1]]
    return elapsed, ok, len(fails), fails, None


def deliver(build, host, port, corpus):
    """Delivers the corpus with the BENCH_CLIENT client; returns (seconds,
    ok, failed, [failure lines], phases or None, CPU seconds the client
    used)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    if CLIENT == "python":
        r = deliver_python(host, port, corpus)
    else:
        r = deliver_c(build, host, port, corpus)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime +
           after.ru_stime - before.ru_stime)
    return r + (cpu,)


# --- processes ---------------------------------------------------------------

def disk_written(path="/tmp"):
    """Megabytes written so far to the block device that holds path (both
    servers' stores are under /tmp), from /proc/diskstats: every writer on
    that device counts; None where it cannot be told (tmpfs, overlay)."""
    dev = os.stat(path).st_dev
    want = (os.major(dev), os.minor(dev))
    try:
        with open("/proc/diskstats") as f:
            for line in f:
                v = line.split()
                if len(v) > 9 and (int(v[0]), int(v[1])) == want:
                    return int(v[9]) * 512 / 1e6
    except OSError:
        pass
    return None


def vmhwm(pid):
    """Peak resident memory of pid in KiB, from /proc/PID/status."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def cpu_seconds(pid):
    """User plus system CPU time of pid so far, from /proc/PID/stat."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def procs_named(parent, prefix):
    """Live descendants of parent whose command name starts with prefix."""
    kids, found = {}, []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                cmd = f.read().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        kids[int(entry)] = (ppid, name, cmd)
    for pid, (ppid, name, cmd) in kids.items():
        p = ppid
        while p in kids and p != parent:
            p = kids[p][0]
        if p == parent and (name.startswith(prefix) or
                            os.path.basename(cmd).startswith(prefix)):
            found.append(pid)
    return sorted(found)


def wait_port(port, proc, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %s" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on port %d" % port)


def stop(proc, timeout=60):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- Bulwark -----------------------------------------------------------------

BULWARK_CONF = """\
# written by bench/lmtp/bench.py
hostname "mail.{domain}"
data-dir "{dir}/data"
run-dir "{dir}/run"
chroot "{dir}/empty"
user "{store_user}"
worker-user "{worker_user}"
admin socket "{dir}/run/admin.sock"
listen lmtp on "127.0.0.1" port {port}
storage {{
	map-size 64G
}}
imap {{
	workers 0
}}
lmtp {{
	workers {workers}
}}
log {{
	verbose 0
{trace}}}
"""


def ensure_users():
    for user in (STORE_USER, WORKER_USER):
        try:
            pwd.getpwnam(user)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home",
                            "--home-dir", "/nonexistent",
                            "--shell", "/usr/sbin/nologin", user], check=True)


class Bulwark:
    name = "bulwark"

    def __init__(self, build, workdir):
        self.build = build
        self.dir = os.path.join(workdir, "bulwark")
        os.makedirs(os.path.join(self.dir, "empty"))
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.workers = env_int("BENCH_LMTP_WORKERS", 2)
        self.conf = os.path.join(self.dir, "bulwark.conf")
        with open(self.conf, "w") as f:
            f.write(BULWARK_CONF.format(
                domain=DOMAIN, dir=self.dir, store_user=STORE_USER,
                worker_user=WORKER_USER, port=self.port,
                workers=self.workers,
                trace='\ttrace "txn"\n' if TRACE else ""))
        self.logpath = os.path.join(self.dir, "bulwarkd.log")
        self.proc = None

    def bin(self, name):
        return os.path.join(self.build, name)

    def log(self):
        with open(self.logpath, errors="replace") as f:
            return f.read()

    def start(self):
        ensure_users()
        self.logfile = open(self.logpath, "ab")
        self.proc = subprocess.Popen(
            [self.bin("bulwarkd"), "-d", "-f", self.conf, "-X", self.build],
            stdout=self.logfile, stderr=subprocess.STDOUT,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("bulwarkd exited:\n" + self.log())
            lmtpd = procs_named(self.proc.pid, "lmtpd")
            store = procs_named(self.proc.pid, "storaged")
            text = self.log()
            if (len(lmtpd) == self.workers and len(store) == 1 and
                    all(re.search(r"\[%d\] ready" % p, text)
                        for p in lmtpd + store)):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("bulwarkd not ready:\n" + self.log())
        self.ctl("domain", "add", DOMAIN)
        for u in range(USERS):
            self.ctl("account", "add", "user%d@%s" % (u, DOMAIN),
                     stdin="bench-password-%d\n" % u)
        return self.port

    def ctl(self, *args, stdin=""):
        r = subprocess.run([self.bin("bulwarkctl"), "-f", self.conf] +
                           list(args), input=stdin, capture_output=True,
                           text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("bulwarkctl %s: %s" % (" ".join(args),
                                                      r.stderr.strip()))
        return r.stdout

    def lmtp_pids(self):
        return procs_named(self.proc.pid, "lmtpd")

    def other_pids(self):
        return [("storaged", p) for p in procs_named(self.proc.pid,
                                                     "storaged")]

    def stored(self):
        """Messages in every user's inbox (bulwarkctl mailbox list)."""
        n = 0
        for u in range(USERS):
            for line in self.ctl("mailbox", "list",
                                 "user%d@%s" % (u, DOMAIN)).splitlines()[1:]:
                f = line.split(None, 7)
                if f[1] == "inbox":
                    n += int(f[2])
        return n

    def stop(self):
        stop(self.proc)
        if self.proc is not None:
            self.logfile.close()


# --- Dovecot -----------------------------------------------------------------

class Dovecot:
    name = "dovecot"

    def __init__(self, build, workdir):
        self.build = build
        self.proc = None
        self.conf = DOVECOT_CONF
        fsync = os.environ.get("BENCH_DOVECOT_FSYNC", "optimized")
        if fsync != "optimized":
            # The only change: a copy of dovecot.conf with another mail_fsync.
            self.conf = os.path.join(workdir, "dovecot.conf")
            with open(DOVECOT_CONF) as f:
                text = f.read()
            with open(self.conf, "w") as f:
                f.write(re.sub(r"(?m)^mail_fsync = .*$",
                               "mail_fsync = " + fsync, text))

    def start(self):
        if os.path.exists(os.path.join(DOVECOT_DIR, "run", "master.pid")):
            raise RuntimeError("%s is in use: is another bench running?"
                               % DOVECOT_DIR)
        shutil.rmtree(DOVECOT_DIR, ignore_errors=True)
        os.makedirs(os.path.join(DOVECOT_DIR, "mail"))
        os.chmod(DOVECOT_DIR, 0o755)
        nobody = pwd.getpwnam("nobody")
        os.chown(os.path.join(DOVECOT_DIR, "mail"), nobody.pw_uid,
                 nobody.pw_gid)
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", self.conf],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT)
        wait_port(DOVECOT_PORT, self.proc)
        return DOVECOT_PORT

    def lmtp_pids(self):
        return procs_named(self.proc.pid, "lmtp")

    def other_pids(self):
        return []

    def stored(self):
        n = 0
        for u in range(USERS):
            r = subprocess.run(["doveadm", "-c", self.conf, "-f", "flow",
                                "mailbox", "status", "-u",
                                "user%d@%s" % (u, DOMAIN), "messages",
                                "INBOX"], capture_output=True, text=True)
            m = re.search(r"messages=(\d+)", r.stdout)
            if m:
                n += int(m.group(1))
        return n

    def stop(self):
        stop(self.proc)


# --- main ---------------------------------------------------------------------

def run_one(server, corpus, prefill):
    port = server.start()
    if prefill:
        # Untimed: the store already holds mail, as a server's does.
        log("%s: prefilling %d messages (not timed)" % (server.name,
                                                       len(prefill)))
        _, ok, failed, fails, _ = deliver(server.build, "127.0.0.1", port,
                                          prefill)
        if failed:
            sys.exit("bench: %s: prefill: %d messages not delivered: %s"
                     % (server.name, failed, fails[:1]))
    log("%s: listening on 127.0.0.1:%d, delivering %d messages on %d "
        "connections (client: %s)" % (server.name, port, len(corpus), CONNS,
                                      CLIENT))
    subprocess.run(["sync"])
    log_at = len(server.log()) if TRACE and server.name == "bulwark" else 0
    before = {p: cpu_seconds(p) for p in server.lmtp_pids() +
              [p for _, p in server.other_pids()]}
    disk_at = disk_written()
    elapsed, ok, failed, fails, phases, client_cpu = deliver(
        server.build, "127.0.0.1", port, corpus)
    disk = disk_written()
    disk = disk - disk_at if disk is not None and disk_at is not None \
        else None
    mem = [("lmtp", p, vmhwm(p)) for p in server.lmtp_pids()]
    mem += [(n, p, vmhwm(p)) for n, p in server.other_pids()]
    mem = [(n, p, kb, cpu_seconds(p) - before.get(p, 0.0))
           for n, p, kb in mem]
    stored = server.stored()
    for f in fails[:10]:
        log("%s: not delivered: %s" % (server.name, f))
    if failed > len(fails[:10]):
        log("%s: %d messages not delivered in all" % (server.name, failed))
    trace = None
    if TRACE and server.name == "bulwark":
        trace = trace_summary(server.log()[log_at:])
    return {"elapsed": elapsed, "ok": ok, "failed": failed,
            "stored": stored, "mem": mem, "client_cpu": client_cpu,
            "disk": disk, "trace": trace, "phases": phases}


TRACE_OP = re.compile(r"storaged\[\d+\]: txn op cost=(\d+) queue=(-?\d+) "
                      r"prepare=(-?\d+) ready=(-?\d+) run=(-?\d+) "
                      r"back=(-?\d+)")
TRACE_RECORD = re.compile(r"storaged\[\d+\]: txn record usec=(\d+) "
                          r"files=(\d+) log=(\d+)")
TRACE_COMMIT = re.compile(r"storaged\[\d+\]: txn commit usec=(\d+) "
                          r"files=(\d+) lmdb=(\d+) synced=(\d)")
TRACE_STAGES = ("queue", "prepare", "ready", "run", "back")
# By cost (the message, its added header lines and its record).
TRACE_CLASSES = ((0, 12 << 10, "<12K"), (12 << 10, 100 << 10, "12K-100K"),
                 (100 << 10, 256 << 10, "100K-256K"),
                 (256 << 10, 1 << 62, ">=256K"))


def median(v):
    v = sorted(v)
    return v[len(v) // 2] if v else 0


def trace_summary(text):
    """Lines of the table printed for BENCH_TRACE=1, from storaged's
    trace "txn" lines of the timed run."""
    ops = [tuple(int(x) for x in m.groups())
           for m in TRACE_OP.finditer(text)]
    records = [tuple(int(x) for x in m.groups())
               for m in TRACE_RECORD.finditer(text)]
    commits = [tuple(int(x) for x in m.groups())
               for m in TRACE_COMMIT.finditer(text)]
    lines = ["where deliveries' time went in storaged (trace \"txn\", "
             "microseconds, median/mean):",
             "  %-10s %6s" % ("cost", "ops") +
             "".join(" %13s" % n for n in TRACE_STAGES + ("all",))]
    for lo, hi, name in TRACE_CLASSES:
        rows = [r for r in ops if lo <= r[0] < hi]
        if not rows:
            continue
        cols = [[r[i] for r in rows] for i in range(1, 6)]
        cols.append([sum(r[1:]) for r in rows])
        lines.append("  %-10s %6d" % (name, len(rows)) + "".join(
            " %6d/%6d" % (median(c), sum(c) / len(c)) for c in cols))
    for what, rows, parts in (("records", records, ("files", "log")),
                              ("commits", commits, ("files", "lmdb"))):
        if not rows:
            continue
        synced = (" (%d synced by LMDB)" % sum(c[3] for c in rows)
                  if what == "commits" else "")
        lines.append("  %d %s%s, %.2f s in all: " % (
            len(rows), what, synced, sum(c[0] for c in rows) / 1e6) +
            ", ".join("%s %.2f s (median %d)" % (
                n, sum(c[i + 1] for c in rows) / 1e6,
                median([c[i + 1] for c in rows]))
                for i, n in enumerate(parts)))
    return lines


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: bench.py BUILD_DIR [COUNT]")
    build = os.path.abspath(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    nprefill = env_int("BENCH_PREFILL", 0)
    if os.geteuid() != 0:
        sys.exit("bench: run as root: both servers drop privileges as they "
                 "would in production")
    # Stopped by a signal, it still stops the servers and removes its files.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(129))
    servers = os.environ.get("BENCH_SERVERS", "bulwark,dovecot").split(",")
    if CLIENT not in ("c", "python"):
        sys.exit("bench: BENCH_CLIENT is c or python")
    if CLIENT == "c" and not os.access(client_path(build), os.X_OK):
        sys.exit("bench: %s is missing: make BUILD=%s first (or "
                 "BENCH_CLIENT=python)" % (client_path(build), sys.argv[1]))
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    corpus_dir = tempfile.mkdtemp(prefix="bulwark-bench-corpus.", dir=base)
    work = tempfile.mkdtemp(prefix="bulwark-bench.")
    os.chmod(work, 0o755)
    results, running = {}, None
    try:
        t = time.monotonic()
        corpus = make_corpus(corpus_dir, count)
        total = sum(c[2] for c in corpus)
        log("corpus: %d messages, %.1f MB, seed %d, made in %.1f s"
            % (count, total / 1e6, SEED, time.monotonic() - t))
        prefill = []
        if nprefill > 0:
            # Another seed: other Message-IDs, which duplicate suppression
            # would otherwise drop from the timed run.
            prefill = make_corpus(corpus_dir + "/prefill", nprefill,
                                  SEED + 1000003)
        for r in range(ROUNDS):
            for name in servers:
                # A new store each round: the rounds are alike.
                rdir = os.path.join(work, "round%d" % (r + 1))
                os.makedirs(rdir, exist_ok=True)
                os.chmod(rdir, 0o755)
                server = (Bulwark if name == "bulwark" else Dovecot)(build,
                                                                     rdir)
                running = server
                try:
                    res = run_one(server, corpus, prefill)
                finally:
                    server.stop()
                    running = None
                results.setdefault(name, []).append(res)
                if ROUNDS > 1:
                    log("round %d: %s %.1f msg/s" % (r + 1, name,
                                                      rate_of(res)))
                    if os.environ.get("BENCH_KEEP") != "1":
                        shutil.rmtree(rdir + "/bulwark", ignore_errors=True)
    finally:
        if running is not None:
            running.stop()
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(corpus_dir, ignore_errors=True)
            shutil.rmtree(work, ignore_errors=True)
            shutil.rmtree(DOVECOT_DIR, ignore_errors=True)
        else:
            log("kept %s %s %s" % (corpus_dir, work, DOVECOT_DIR))
    report(results, count, total, nprefill)
    bad = [n for n, rounds in results.items() for r in rounds
           if r["failed"] or r["ok"] != count or
           r["stored"] != count + nprefill]
    sys.exit(1 if bad else 0)


def rate_of(r):
    return r["ok"] / r["elapsed"] if r["elapsed"] > 0 else 0.0


def median_round(rounds):
    """The round of the median rate (the lower middle one of an even
    number), whose memory, CPU and trace the report shows."""
    return sorted(rounds, key=rate_of)[(len(rounds) - 1) // 2]


def report(all_results, count, total, nprefill):
    results = {name: median_round(rounds)
               for name, rounds in all_results.items()}
    print()
    if nprefill:
        print("each store held %d messages before the timed run (stored "
              "counts them)" % nprefill)
    if ROUNDS > 1:
        print("%d rounds, the servers in turn; each round's msg/s:" % ROUNDS)
        for name, rounds in all_results.items():
            print("  %-8s %s" % (name, "  ".join("%.1f" % rate_of(r)
                                                  for r in rounds)))
        print("the median round of each:")
    print("%-8s %9s %10s %9s %9s %8s" % ("server", "messages", "seconds",
                                         "msg/s", "MB/s", "stored"))
    for name, r in results.items():
        rate = rate_of(r)
        mbs = total / count * rate / 1e6 if count else 0
        print("%-8s %9d %10.2f %9.1f %9.1f %8d" % (
            name, r["ok"], r["elapsed"], rate, mbs, r["stored"]))
    if "bulwark" in results and "dovecot" in results:
        b, d = results["bulwark"], results["dovecot"]
        if b["elapsed"] > 0 and d["ok"] > 0:
            ratio = rate_of(b) / rate_of(d)
            print("ratio bulwark/dovecot: %.2fx (goal: at least 3x)" % ratio)
        if ROUNDS > 1:
            print("each round's ratio: %s" % "  ".join(
                "%.2fx" % (rate_of(x) / rate_of(y)) if rate_of(y) else "-"
                for x, y in zip(all_results["bulwark"],
                                all_results["dovecot"])))
    print("client %s, CPU time: %s" % (CLIENT, ", ".join(
        "%s %.2f s" % (name, r["client_cpu"]) for name, r in results.items())))
    for name, r in results.items():
        if r.get("phases"):
            print("%s as the client saw a message (mean ms): envelope to "
                  "354 %.2f, body sent %.2f, to the last reply %.2f" % (
                      (name,) + r["phases"]))
    print("written to /tmp's disk during the run (/proc/diskstats, every "
          "writer): %s" % ", ".join(
              "%s %s" % (name, "%.0f MB" % r["disk"]
                         if r.get("disk") is not None else "?")
              for name, r in results.items()))
    print()
    print("peak resident memory (VmHWM) and CPU time during the run:")
    for name, r in results.items():
        for kind, pid, kb, cpu in r["mem"]:
            print("  %-8s %-9s pid %-7d %8s KiB%-14s cpu %6.2f s" % (
                name, kind, pid, kb if kb is not None else "?",
                "  (%.1f MiB)" % (kb / 1024) if kb else "", cpu))
    if "bulwark" in results:
        peak = max([kb or 0 for kind, _, kb, _ in results["bulwark"]["mem"]
                    if kind == "lmtp"] or [0])
        print("largest bulwark lmtpd: %.1f MiB (goal: under 16 MiB)"
              % (peak / 1024))
        if results["bulwark"].get("trace"):
            print()
            print("\n".join(results["bulwark"]["trace"]))


if __name__ == "__main__":
    main()

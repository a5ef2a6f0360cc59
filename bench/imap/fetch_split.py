# SPDX-License-Identifier: ISC
"""fetch-body taken apart: the whole command, the big messages alone and
the small ones alone, with each process's CPU time.

    /usr/bin/python3 bench/imap/fetch_split.py BUILD_DIR [COUNT]   (as root)

Fills Bulwark as bench/imap does (COUNT messages, 10,000 by default, of
the same mix, over one LMTP connection), then runs UID FETCH ... BODY.PEEK[]
BENCH_RUNS (5) times over all messages, over those of 256 KiB or more
(served from the store's files) and over the others (served from the
database in chunks), and prints per run the wall time and the CPU time of
imapd, storaged and this client.  BENCH_SETS ("all big small") chooses
which of them run, for a profiler held over one; "meta" adds fetch-meta's
UID FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE).  Bulwark only: it is for finding where
fetch-body's time goes, not for the ratio.
"""
import importlib.util
import os
import re
import resource
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FILE_AT = 256 * 1024


def uidset(uids):
    uids, out, i = sorted(uids), [], 0
    while i < len(uids):
        j = i
        while j + 1 < len(uids) and uids[j + 1] == uids[j] + 1:
            j += 1
        out.append("%d:%d" % (uids[i], uids[j]) if j > i else str(uids[i]))
        i = j + 1
    return ",".join(out)


def cpu(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def sizes_of(c):
    """UID -> RFC822.SIZE of every message (lines read here, not kept)."""
    c.n += 1
    tag = b"S%d" % c.n
    c.sock.sendall(tag + b" UID FETCH 1:* RFC822.SIZE\r\n")
    sizes = {}
    while True:
        line = c.readline()
        if line.startswith(tag + b" "):
            return sizes
        m = re.search(rb"UID (\d+) RFC822\.SIZE (\d+)", line)
        if m:
            sizes[int(m.group(1))] = int(m.group(2))
            continue
        m = re.search(rb"RFC822\.SIZE (\d+) UID (\d+)", line)
        if m:
            sizes[int(m.group(2))] = int(m.group(1))


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: fetch_split.py BUILD_DIR [COUNT]")
    build = os.path.abspath(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) == 3 else 10000
    runs = int(os.environ.get("BENCH_RUNS", "5"))
    spec = importlib.util.spec_from_file_location(
        "bench", os.path.join(HERE, "bench.py"))
    b = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(b)
    lb = b.lb
    corpus_dir = tempfile.mkdtemp(prefix="bulwark-split.", dir="/dev/shm")
    work = tempfile.mkdtemp(prefix="bulwark-split.")
    os.chmod(work, 0o755)
    srv = b.Bulwark(build, work)
    try:
        port = srv.start()
        corpus = lb.make_corpus(corpus_dir, count)
        lb.CONNS = 1
        _, _, failed, fails, _ = lb.deliver(build, "127.0.0.1", port, corpus)
        if failed:
            sys.exit("%d messages not delivered: %s" % (failed, fails[:3]))
        pids = {p: n for n in ("imapd", "storaged")
                for p in lb.procs_named(srv.proc.pid, n)}
        c = b.Imap(srv.imap_port)
        c.command('LOGIN "%s" "%s"' % (b.USER, b.PASSWORD))
        c.command("SELECT INBOX")
        sizes = sizes_of(c)
        big = [u for u, s in sizes.items() if s >= FILE_AT]
        small = [u for u, s in sizes.items() if s < FILE_AT]
        print("messages: %d of %d KiB or more (%.1f MB), %d others (%.1f MB)"
              % (len(big), FILE_AT // 1024,
                 sum(sizes[u] for u in big) / 1e6, len(small),
                 sum(sizes[u] for u in small) / 1e6), flush=True)
        sets = os.environ.get("BENCH_SETS", "all big small").split()
        for name, uids, items in (
                ("all", "1:*", "BODY.PEEK[]"),
                ("big", uidset(big), "BODY.PEEK[]"),
                ("small", uidset(small), "BODY.PEEK[]"),
                ("meta", "1:*", "(FLAGS ENVELOPE BODYSTRUCTURE)")):
            if name not in sets:
                continue
            for _ in range(runs):
                before = {p: cpu(p) for p in pids}
                me0 = resource.getrusage(resource.RUSAGE_SELF)
                secs, *_ = b.timed(c, "UID FETCH %s %s" % (uids, items))
                me1 = resource.getrusage(resource.RUSAGE_SELF)
                used = {}
                for p, n in pids.items():
                    used[n] = used.get(n, 0) + cpu(p) - before[p]
                print("%-5s %.3f s  imapd %.2f s  storaged %.2f s  "
                      "client %.2f s" % (
                          name, secs, used.get("imapd", 0),
                          used.get("storaged", 0),
                          me1.ru_utime + me1.ru_stime - me0.ru_utime -
                          me0.ru_stime), flush=True)
        c.close()
    finally:
        srv.stop()
        shutil.rmtree(corpus_dir, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

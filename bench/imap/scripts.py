# SPDX-License-Identifier: ISC
"""imaptest's scripted tests against Bulwark and Dovecot, in one run.

    /usr/bin/python3 bench/imap/scripts.py BUILD_DIR     (as root)

Starts Bulwark as the integration fixture does (bulwarkd as root with
privilege separation, loopback only) and Dovecot as bench/imap does
(bench/imap/dovecot.conf), runs imaptest's scripts (test=DIR) against
each with a fresh user, and prints imaptest's summary line and each
failed command per server.  IMAPTEST (default /tmp/imaptest/imaptest) is
the binary built from dovecot/imaptest, IMAPTEST_TESTS (default the
"tests" directory beside it) its scripts.  Exits 1 if Bulwark fails a
script that Dovecot passes.
"""
import importlib.util
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TREE = os.path.dirname(os.path.dirname(HERE))
IMAPTEST = os.environ.get("IMAPTEST", "/tmp/imaptest/imaptest")
TESTS = os.environ.get("IMAPTEST_TESTS",
                       os.path.join(os.path.dirname(IMAPTEST), "tests"))


def run(port, user, password):
    r = subprocess.run([IMAPTEST, "host=127.0.0.1", "port=%d" % port,
                        "user=" + user, "pass=" + password, "test=" + TESTS],
                       capture_output=True, text=True, timeout=900)
    out = r.stdout + r.stderr
    summary = [l for l in out.splitlines() if re.search(r"\d+ test groups", l)]
    failed = sorted({m.group(1) for m in
                     re.finditer(r"^\*\*\* Test (\S+) ", out, re.M)})
    return summary, failed, out


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: scripts.py BUILD_DIR")
    build = os.path.abspath(sys.argv[1])
    if not os.access(IMAPTEST, os.X_OK):
        sys.exit("no imaptest at %s (set IMAPTEST)" % IMAPTEST)
    os.environ["BULWARK_BUILD"] = build
    sys.path.insert(0, os.path.join(TREE, "tests", "integration"))
    from bulwark import Server
    spec = importlib.util.spec_from_file_location(
        "bench", os.path.join(HERE, "bench.py"))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    results = {}
    srv = Server(None, imap_workers=1, cleartext="yes")
    srv.start()
    try:
        srv.add_account("imaptest@example.org", "pw-imaptest")
        results["bulwark"] = run(srv.ports["imap"], "imaptest@example.org",
                                 "pw-imaptest")
    finally:
        srv.cleanup()
    dovecot = bench.Dovecot(build, "/tmp")
    dovecot.start()
    try:
        results["dovecot"] = run(dovecot.imap_port, bench.USER,
                                 bench.PASSWORD)
    finally:
        dovecot.stop()
    for name in ("bulwark", "dovecot"):
        summary, failed, _ = results[name]
        print("%s: %s" % (name, "; ".join(summary) or "no summary"))
        for f in failed:
            print("  failed: %s" % f)
    extra = set(results["bulwark"][1]) - set(results["dovecot"][1])
    sys.exit(1 if extra else 0)


if __name__ == "__main__":
    main()

# SPDX-License-Identifier: ISC
"""Postfix delivers into Bulwark over LMTP, as on a real mail host.

The test runs Debian's Postfix with a configuration of its own: its own
config directory, queue and log file under the test's temporary directory,
no network listener at all (only the services a local submission needs),
outbound mail turned into errors, and example.org as a virtual mailbox
domain whose transport is lmtp:unix: on lmtpd's socket.  A message sent
with Postfix's sendmail (-C DIR) must arrive in the right mailbox with the
Return-Path and Delivered-To lines lmtpd adds, and a message to several
recipients, one of them unknown, must get a result per recipient: stored
for the known ones, bounced with lmtpd's 550 5.1.1 for the other.
"""
import os
import re
import shutil
import subprocess
import time
import unittest

from bulwark import Server, binary

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
SENDMAIL = "/usr/sbin/sendmail"
DOMAIN = "example.org"

MAIN_CF = """\
# written by tests/integration/test_postfix.py
compatibility_level = 3.6
queue_directory = {dir}/queue
data_directory = {dir}/data
myhostname = mta.test.example
mydomain = test.example
myorigin = test.example
mydestination = localhost
inet_interfaces = loopback-only
inet_protocols = ipv4
alias_maps =
alias_database =
virtual_mailbox_domains = {domain}
virtual_transport = lmtp:unix:{socket}
default_transport = error:outbound mail is off in this test
relay_transport = error:outbound mail is off in this test
maillog_file_prefixes = {dir}
maillog_file = {dir}/maillog
"""

# Only what a local submission and LMTP delivery need; nothing listens on
# the network and nothing runs chrooted (the socket is outside the queue).
MASTER_CF = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def have_postfix():
    return os.geteuid() == 0 and os.path.exists(POSTFIX) and os.path.exists(SENDMAIL)


@unittest.skipUnless(have_postfix(), "needs root and Debian's postfix package")
class PostfixTest(unittest.TestCase):
    def setUp(self):
        self.srv = Server(self, imap_workers=1, lmtp_workers=1)
        self.pf = None
        try:
            self.srv.start()
            for user in ("alice", "bob"):
                self.srv.add_account("%s@%s" % (user, DOMAIN), "pw-" + user)
            self.pf = os.path.join(self.srv.dir, "postfix")
            os.makedirs(os.path.join(self.pf, "etc"))
            # Postfix wants its queue owned by root and not writable by others.
            os.mkdir(os.path.join(self.pf, "queue"), 0o755)
            with open(os.path.join(self.pf, "etc", "main.cf"), "w") as f:
                f.write(MAIN_CF.format(dir=self.pf, domain=DOMAIN,
                                       socket=self.srv.lmtp_socket))
            with open(os.path.join(self.pf, "etc", "master.cf"), "w") as f:
                f.write(MASTER_CF)
            self.postfix("check")
            self.postfix("start")
            self.wait_maillog(r"daemon started")
        except Exception:
            self.tearDown()
            raise

    def tearDown(self):
        if self.pf is not None and os.path.exists(os.path.join(self.pf, "queue", "pid",
                                                                "master.pid")):
            subprocess.run([POSTFIX, "-c", os.path.join(self.pf, "etc"), "stop"],
                           capture_output=True, timeout=60)
            self.wait_postfix_gone()
            self.pf = None
        self.srv.cleanup()

    # --- helpers ---
    def postfix(self, *args):
        r = subprocess.run([POSTFIX, "-c", os.path.join(self.pf, "etc")] + list(args),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, "postfix %s: %s%s\n%s" % (
            args, r.stdout, r.stderr, self.maillog()))

    def wait_postfix_gone(self):
        pidfile = os.path.join(self.pf, "queue", "pid", "master.pid")
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with open(pidfile) as f:
                    pid = int(f.read().split()[0])
                os.kill(pid, 0)
            except (OSError, ValueError, IndexError):
                return
            time.sleep(0.1)

    def maillog(self):
        try:
            with open(os.path.join(self.pf, "maillog"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_maillog(self, pattern, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = re.search(pattern, self.maillog())
            if m:
                return m
            time.sleep(0.1)
        raise AssertionError("postfix log never matched %r:\n%s\n%s" % (
            pattern, self.maillog(), self.srv.log()))

    def sendmail(self, sender, rcpts, msg):
        r = subprocess.run([SENDMAIL, "-C", os.path.join(self.pf, "etc"), "-f", sender,
                            "--"] + rcpts, input=msg.encode(), capture_output=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

    def messages(self, user, subject):
        out = self.srv.ctl("message", "list", "%s@%s" % (user, DOMAIN)).stdout.splitlines()
        return [int(line.split(None, 7)[0]) for line in out[1:]
                if len(line.split(None, 7)) > 7 and line.split(None, 7)[7] == subject]

    def show(self, user, uid):
        r = subprocess.run([binary("bulwarkctl"), "-f", self.srv.conf, "message", "show",
                            "%s@%s" % (user, DOMAIN), "INBOX", str(uid)],
                           capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    # --- tests ---
    def test_sendmail_message_arrives_with_headers(self):
        self.sendmail("sender@remote.example", ["alice@" + DOMAIN],
                      "From: Sender <sender@remote.example>\n"
                      "To: alice@example.org\n"
                      "Subject: through postfix\n\n"
                      "Sent with Postfix's sendmail.\n.leading dot\n")
        m = self.wait_maillog(r"to=<alice@example\.org>, relay=[^,]*lmtp\.sock[^,]*,.*"
                              r"status=(\w+) \(([^)]*)\)")
        self.assertEqual(m.group(1), "sent", m.group(0))
        self.assertRegex(m.group(2), r"^250 2\.6\.0 <alice@example\.org> Delivered as ")
        uids = self.messages("alice", "through postfix")
        self.assertEqual(len(uids), 1)
        raw = self.show("alice", uids[0])
        self.assertTrue(raw.startswith(b"Return-Path: <sender@remote.example>\r\n"
                                       b"Delivered-To: alice@example.org\r\n"), raw[:200])
        self.assertEqual(raw.count(b"\nReturn-Path:"), 0)
        self.assertIn(b"\r\nReceived: by mta.test.example (Postfix", raw)
        self.assertTrue(raw.endswith(b"\r\n\r\nSent with Postfix's sendmail.\r\n"
                                     b".leading dot\r\n"), raw[-120:])

    def test_multi_recipient_gets_per_recipient_results(self):
        self.sendmail("sender@remote.example",
                      ["alice@" + DOMAIN, "nobody@" + DOMAIN, "bob@" + DOMAIN],
                      "From: sender@remote.example\nSubject: to three\n\nHello all.\n")
        results = {}
        for rcpt in ("alice", "nobody", "bob"):
            m = self.wait_maillog(r"to=<%s@example\.org>, relay=[^,]*lmtp\.sock[^,]*,"
                                  r".*status=(\w+) \(([^)]*(?:\)[^)]*)?)\)" % rcpt)
            results[rcpt] = (m.group(1), m.group(2))
        self.assertEqual(results["alice"][0], "sent")
        self.assertEqual(results["bob"][0], "sent")
        self.assertEqual(results["nobody"][0], "bounced")
        self.assertIn("550 5.1.1 <nobody@example.org>: no such user", results["nobody"][1])
        # One LMTP session carried all three recipients.
        a = self.srv.wait_log(r"lmtpd\[\d+\]: ([0-9a-f]{16}) delivered to=alice@example\.org")
        b = self.srv.wait_log(r"lmtpd\[\d+\]: ([0-9a-f]{16}) delivered to=bob@example\.org")
        self.assertEqual(a.group(1), b.group(1))
        for user in ("alice", "bob"):
            uids = self.messages(user, "to three")
            self.assertEqual(len(uids), 1, user)
            raw = self.show(user, uids[0])
            self.assertTrue(raw.startswith(("Return-Path: <sender@remote.example>\r\n"
                                            "Delivered-To: %s@example.org\r\n"
                                            % user).encode()), raw[:200])
        self.srv.wait_log(r"lmtpd\[\d+\]: [0-9a-f]{16} rcpt refused to=nobody@example\.org "
                          r"status=notfound")


if __name__ == "__main__":
    unittest.main()

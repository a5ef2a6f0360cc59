# SPDX-License-Identifier: ISC
"""The \\Recent flag of IMAP4rev1 (RFC 3501 2.3.2) through imaplib and raw
sockets: a message is recent in exactly one session, the first read-write
SELECT (or the first read-write session to learn of a new message) claims
it; EXAMINE and STATUS (RECENT) look without claiming; FETCH FLAGS, SEARCH
RECENT/NEW/OLD and the RECENT response agree; COPY, MOVE, APPEND and LMTP
delivery make recent messages; a session that enabled IMAP4rev2 sees no
\\Recent at all and takes none; after storaged restarts nothing older is
recent (storaged keeps the boundary in memory only).
"""
import imaplib
import os
import re
import signal
import smtplib
import socket
import time
import unittest

from bulwark import Server

USER = "rita@example.org"
PASSWORD = "recent flag test"


def message(n):
    return (b"From: sender%d@example.com\r\nTo: rita@example.org\r\n"
            b"Subject: recent %d\r\nMessage-ID: <r%d@example.com>\r\n\r\n"
            b"body %d\r\n" % (n, n, n, n))


class Raw:
    """A line-level IMAP client, for IDLE."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        self.line()

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def until(self, tag):
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines

    def cmd(self, tag, text):
        self.sock.sendall(tag + b" " + text + b"\r\n")
        return self.until(tag)

    def close(self):
        self.sock.close()


class ImapRecentTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(None, imap_workers=2, cleartext="yes",
                         lmtp_workers=1)
        try:
            cls.srv.start()
            cls.srv.add_account(USER, PASSWORD)
        except Exception:
            cls.srv.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def setUp(self):
        self.open = []

    def tearDown(self):
        for c in self.open:
            try:
                c.logout()
            except Exception:
                pass

    def client(self, rev2=False):
        c = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"], timeout=20)
        c.login(USER, PASSWORD)
        if rev2:
            typ, data = c._simple_command("ENABLE", "IMAP4rev2")
            self.assertEqual(typ, "OK")
            self.assertIn(b"IMAP4REV2", c.untagged_responses
                          .pop("ENABLED", [b""])[0].upper())
        self.open.append(c)
        return c

    def append(self, c, box, n, flags=None):
        typ, _ = c.append(box, flags, None, message(n))
        self.assertEqual(typ, "OK")

    def create(self, c, box):
        typ, _ = c.create(box)
        self.assertEqual(typ, "OK")

    @staticmethod
    def take(c, name):
        """The values of untagged responses name since the last take."""
        return [v for v in c.untagged_responses.pop(name, []) if v is not None]

    def select(self, c, box, readonly=False):
        c.untagged_responses.clear()
        typ, data = c.select(box, readonly=readonly)
        self.assertEqual(typ, "OK", data)
        c.untagged_responses.pop("EXISTS", None)
        return int(data[0]), self.take(c, "RECENT")

    def noop(self, c, exists):
        """NOOP until EXISTS says exists (the change notice travels from
        storaged to the session's imapd on its own); the EXISTS and RECENT
        values seen on the way (kept responses included)."""
        seen_exists, seen_recent = [], []
        deadline = time.time() + 10
        while True:
            typ, _ = c.noop()
            self.assertEqual(typ, "OK")
            seen_exists += self.take(c, "EXISTS")
            seen_recent += self.take(c, "RECENT")
            if b"%d" % exists in seen_exists or time.time() > deadline:
                return seen_exists, seen_recent
            time.sleep(0.05)

    def status_recent(self, c, box):
        typ, data = c.status(box, "(MESSAGES RECENT)")
        self.assertEqual(typ, "OK", data)
        m = re.search(rb"MESSAGES (\d+) RECENT (\d+)", data[0])
        self.assertIsNotNone(m, data)
        return int(m.group(1)), int(m.group(2))

    def flags(self, c, uid=False):
        """{sequence number or UID: set of flags} of every message."""
        if uid:
            typ, data = c.uid("FETCH", "1:*", "(FLAGS)")
        else:
            typ, data = c.fetch("1:*", "(UID FLAGS)")
        self.assertEqual(typ, "OK", data)
        out = {}
        for item in data:
            if item is None:
                continue
            line = item if isinstance(item, bytes) else item[0]
            uidm = re.search(rb"UID (\d+)", line)
            fl = re.search(rb"FLAGS \(([^)]*)\)", line)
            self.assertIsNotNone(fl, line)
            key = int(uidm.group(1)) if uid else int(line.split()[0])
            out[key] = set(fl.group(1).decode().split())
        return out

    def search(self, c, *criteria):
        typ, data = c.search(None, *criteria)
        self.assertEqual(typ, "OK", data)
        return [int(x) for x in data[0].split()]

    # --- tests ---

    def test_examine_looks_select_claims(self):
        """RFC 3501 6.3.1 and 6.3.2: EXAMINE keeps \\Recent, SELECT takes it."""
        a = self.client()
        self.create(a, "ex1")
        self.append(a, "ex1", 1)
        self.append(a, "ex1", 2)
        # Nobody has the mailbox selected: both stay recent.
        self.assertEqual(self.status_recent(a, "ex1"), (2, 2))
        n, recent = self.select(a, "ex1", readonly=True)
        self.assertEqual((n, recent), (2, [b"2"]))
        self.assertEqual(self.flags(a), {1: {"\\Recent"}, 2: {"\\Recent"}})
        self.assertEqual(self.search(a, "RECENT"), [1, 2])
        a.close()
        # EXAMINE did not claim them.
        self.assertEqual(self.status_recent(a, "ex1"), (2, 2))
        b = self.client()
        self.assertEqual(self.select(b, "ex1"), (2, [b"2"]))
        self.assertEqual(self.flags(b), {1: {"\\Recent"}, 2: {"\\Recent"}})
        # Claimed by b: none left for STATUS, a new SELECT or an EXAMINE.
        self.assertEqual(self.status_recent(a, "ex1"), (2, 0))
        self.assertEqual(self.select(a, "ex1"), (2, [b"0"]))
        self.assertEqual(self.flags(a), {1: set(), 2: set()})
        self.assertEqual(self.select(a, "ex1", readonly=True), (2, [b"0"]))
        self.assertEqual(self.search(a, "RECENT"), [])
        # b keeps them for as long as it has the mailbox selected ...
        self.assertEqual(self.search(b, "RECENT"), [1, 2])
        b.close()
        # ... and not after.
        self.assertEqual(self.select(b, "ex1"), (2, [b"0"]))

    def test_new_messages_go_to_one_session(self):
        """RFC 3501 7.3.2: the first read-write session to learn of it."""
        a = self.client()
        b = self.client()
        c = self.client()
        self.create(c, "new1")
        self.assertEqual(self.select(a, "new1"), (0, [b"0"]))
        self.assertEqual(self.select(b, "new1"), (0, [b"0"]))
        self.append(c, "new1", 1)
        self.assertEqual(self.noop(a, 1), ([b"1"], [b"1"]))
        self.assertEqual(self.noop(b, 1), ([b"1"], [b"0"]))
        self.assertEqual(self.flags(a), {1: {"\\Recent"}})
        self.assertEqual(self.flags(b), {1: set()})
        self.append(c, "new1", 2)
        # Now b asks first.
        self.assertEqual(self.noop(b, 2), ([b"2"], [b"1"]))
        self.assertEqual(self.noop(a, 2), ([b"2"], [b"1"]))
        self.assertEqual(self.search(a, "RECENT"), [1])
        self.assertEqual(self.search(b, "RECENT"), [2])
        self.assertEqual(self.flags(a, uid=True)[1], {"\\Recent"})
        self.assertEqual(self.flags(b, uid=True)[2], {"\\Recent"})
        self.assertEqual(self.status_recent(c, "new1"), (2, 0))
        # An APPEND into one's own selected mailbox is one's own recent.
        self.append(a, "new1", 3)
        self.assertEqual(self.take(a, "RECENT"), [b"2"])
        self.assertEqual(self.search(a, "RECENT"), [1, 3])
        self.assertEqual(self.noop(b, 3), ([b"3"], [b"1"]))
        # Expunging a recent message: the others stay as they were.
        typ, _ = a.store("1", "+FLAGS", "(\\Deleted)")
        self.assertEqual(typ, "OK")
        typ, _ = a.expunge()
        self.assertEqual(typ, "OK")
        self.assertEqual(self.search(a, "RECENT"), [2])
        self.assertEqual(self.flags(a, uid=True),
                         {2: set(), 3: {"\\Recent"}})

    def test_lmtp_delivery_while_idling(self):
        """A delivery reaches the idling session first: it is recent there."""
        a = self.client()
        self.assertEqual(self.select(a, "INBOX")[1], [b"0"])
        r = Raw(self.srv.ports["imap"])
        try:
            r.cmd(b"L", b'LOGIN "%s" "%s"' % (USER.encode(),
                                              PASSWORD.encode()))
            lines = r.cmd(b"S", b"SELECT INBOX")
            self.assertIn(b"* 0 RECENT", lines)
            r.sock.sendall(b"I IDLE\r\n")
            self.assertTrue(r.line().startswith(b"+ "))
            lmtp = smtplib.LMTP(self.srv.lmtp_socket, timeout=30)
            try:
                lmtp.sendmail("sender@example.com", [USER], message(7))
            finally:
                lmtp.quit()
            seen = [r.line(), r.line()]
            self.assertIn(b"* 1 EXISTS", seen)
            self.assertIn(b"* 1 RECENT", seen)
            r.sock.sendall(b"DONE\r\n")
            r.until(b"I")
            lines = r.cmd(b"F", b"FETCH 1 (FLAGS)")
            self.assertIn(b"* 1 FETCH (FLAGS (\\Recent))", lines)
            lines = r.cmd(b"N", b"SEARCH NEW")
            self.assertIn(b"* SEARCH 1", lines)
            # The selected session that was not idling learns of it later.
            self.assertEqual(self.noop(a, 1), ([b"1"], [b"0"]))
            self.assertEqual(self.search(a, "RECENT"), [])
            self.assertEqual(self.search(a, "OLD"), [1])
        finally:
            r.close()

    def test_search_new_old(self):
        """RFC 3501 6.4.4: NEW is RECENT UNSEEN, OLD is NOT RECENT."""
        a = self.client()
        self.create(a, "srch")
        self.append(a, "srch", 1)
        self.append(a, "srch", 2)
        self.assertEqual(self.select(a, "srch")[1], [b"2"])
        a.close()
        self.append(a, "srch", 3)
        self.append(a, "srch", 4, flags="(\\Seen)")
        self.append(a, "srch", 5)
        b = self.client()
        self.assertEqual(self.select(b, "srch"), (5, [b"3"]))
        self.assertEqual(self.search(b, "RECENT"), [3, 4, 5])
        self.assertEqual(self.search(b, "OLD"), [1, 2])
        self.assertEqual(self.search(b, "NEW"), [3, 5])
        self.assertEqual(self.search(b, "NOT", "NEW"), [1, 2, 4])
        self.assertEqual(self.search(b, "OR", "OLD", "SEEN"), [1, 2, 4])
        typ, data = b.uid("SEARCH", "RECENT")
        self.assertEqual(typ, "OK")
        self.assertEqual([int(x) for x in data[0].split()], [3, 4, 5])
        typ, data = b.store("3", "+FLAGS", "(\\Seen)")
        self.assertEqual(typ, "OK")
        # STORE's FETCH response shows \Recent too; it cannot be stored.
        self.assertIn(b"\\Recent", data[0])
        self.assertEqual(self.search(b, "NEW"), [5])
        with self.assertRaises(imaplib.IMAP4.error):
            b.store("1", "+FLAGS", "(\\Recent)")
        self.assertEqual(self.search(b, "RECENT"), [3, 4, 5])

    def test_copy_and_move_destination(self):
        """COPY and MOVE make recent messages in the destination."""
        src = self.client()
        dst = self.client()
        self.create(src, "cm-src")
        self.create(src, "cm-dst")
        self.create(src, "cm-later")
        for n in range(1, 4):
            self.append(src, "cm-src", n)
        self.assertEqual(self.select(src, "cm-src")[1], [b"3"])
        self.assertEqual(self.select(dst, "cm-dst"), (0, [b"0"]))
        typ, _ = src.copy("1:2", "cm-dst")
        self.assertEqual(typ, "OK")
        self.assertEqual(self.noop(dst, 2), ([b"2"], [b"2"]))
        typ, _ = src._simple_command("MOVE", "3", "cm-dst")
        self.assertEqual(typ, "OK")
        self.assertEqual(self.noop(dst, 3), ([b"3"], [b"3"]))
        self.assertEqual(self.flags(dst),
                         {i: {"\\Recent"} for i in (1, 2, 3)})
        # The source's messages stay recent there (src claimed them).
        self.assertEqual(self.search(src, "RECENT"), [1, 2])
        # Into a mailbox nobody has selected: recent for the next SELECT.
        typ, _ = src.copy("1:2", "cm-later")
        self.assertEqual(typ, "OK")
        self.assertEqual(self.status_recent(dst, "cm-later"), (2, 2))
        self.assertEqual(self.select(dst, "cm-later"), (2, [b"2"]))
        # A copy within the selected mailbox is recent for the copier.
        typ, _ = dst.copy("1", "cm-later")
        self.assertEqual(typ, "OK")
        self.assertEqual(self.noop(dst, 3)[1], [b"3"])
        self.assertEqual(self.search(dst, "RECENT"), [1, 2, 3])

    def test_imap4rev2_has_no_recent(self):
        """RFC 9051: no RECENT response, no \\Recent flag, none taken."""
        v2 = self.client(rev2=True)
        self.create(v2, "rev2")
        self.append(v2, "rev2", 1)
        self.append(v2, "rev2", 2)
        self.assertEqual(self.select(v2, "rev2"), (2, []))
        self.assertEqual(self.flags(v2), {1: set(), 2: set()})
        self.append(v2, "rev2", 3)
        self.assertEqual(self.take(v2, "EXISTS"), [b"3"])
        self.assertEqual(self.take(v2, "RECENT"), [])
        self.assertEqual(self.flags(v2), {1: set(), 2: set(), 3: set()})
        # STATUS RECENT is not IMAP4rev2's.
        with self.assertRaises(imaplib.IMAP4.error):
            v2.status("rev2", "(RECENT)")
        # The IMAP4rev2 session took none: a rev1 session gets them all.
        v1 = self.client()
        self.assertEqual(self.status_recent(v1, "rev2"), (3, 3))
        self.assertEqual(self.select(v1, "rev2"), (3, [b"3"]))

    def test_zz_storaged_restart_forgets(self):
        """After storaged restarts nothing older is recent; new mail is."""
        a = self.client()
        self.create(a, "restart")
        self.append(a, "restart", 1)
        self.assertEqual(self.status_recent(a, "restart"), (1, 1))
        a.logout()
        self.open.remove(a)
        victim = self.srv.children()["storaged"][0]
        os.kill(victim, signal.SIGKILL)
        self.srv.wait_log(r"storaged\[%d\] killed by signal 9" % victim)
        self.srv.wait_ready()
        deadline = time.time() + 30
        while True:
            try:
                b = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"],
                                  timeout=20)
                b.login(USER, PASSWORD)
                typ, _ = b.noop()
                if typ == "OK":
                    break
            except (imaplib.IMAP4.error, OSError):
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        self.open.append(b)
        self.assertEqual(self.status_recent(b, "restart"), (1, 0))
        self.append(b, "restart", 2)
        self.assertEqual(self.status_recent(b, "restart"), (2, 1))
        self.assertEqual(self.select(b, "restart"), (2, [b"1"]))
        self.assertEqual(self.search(b, "RECENT"), [2])


if __name__ == "__main__":
    unittest.main()

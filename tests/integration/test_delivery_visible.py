# SPDX-License-Identifier: ISC
"""What lmtpd acknowledged, every client sees at once.

storaged acknowledges a delivery as soon as its redo record is durable, and
its writer keeps the LMDB transaction open for the deliveries that follow,
up to 100 ms, committing them together (storaged.8).  Nothing outside may
tell: a read that begins after a 250 must find the message, so it makes
the writer commit and waits for it; another write makes it commit too.

Each test delivers with Python's smtplib.LMTP on lmtpd's Unix socket and,
right after every 250 with no pause, reads through a real client that is
already connected: imaplib (STATUS from a session that has nothing
selected, a UID SEARCH in a selected one after NOOP), and bulwarkctl.
Without the wait, the reads that follow a 250 within 100 ms would see the
mailbox as it was before it.
"""
import imaplib
import re
import smtplib
import time
import unittest

from bulwark import Server

USER = "seen@example.org"
PASSWORD = "visible-pass-1"
COUNT = 40


def message(i):
    return ("From: Sender <sender@example.net>\r\n"
            "To: <%s>\r\n"
            "Subject: visible %d\r\n"
            "Message-ID: <visible-%d-%f@example.net>\r\n"
            "\r\n"
            "Message %d.\r\n" % (USER, i, i, time.time(), i)).encode()


class DeliveryVisibleTest(unittest.TestCase):
    def setUp(self):
        self.srv = Server(self, imap_workers=1, lmtp_workers=1,
                          cleartext="yes")
        self.addCleanup(self.srv.cleanup)
        self.srv.start()
        self.srv.ctl("domain", "add", "example.org")
        self.srv.add_account(USER, PASSWORD)

    def imap(self):
        c = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"], timeout=20)
        c.login(USER, PASSWORD)
        self.addCleanup(c.logout)
        return c

    def lmtp(self):
        c = smtplib.LMTP(self.srv.lmtp_socket, timeout=30)
        self.addCleanup(c.quit)
        return c

    def status_messages(self, c):
        typ, data = c.status("INBOX", "(MESSAGES UIDNEXT)")
        self.assertEqual(typ, "OK", data)
        m = re.search(rb"MESSAGES (\d+) UIDNEXT (\d+)", data[0])
        self.assertIsNotNone(m, data)
        return int(m.group(1)), int(m.group(2))

    def test_read_after_each_ack(self):
        watcher = self.imap()
        selected = self.imap()
        typ, _ = selected.select("INBOX")
        self.assertEqual(typ, "OK")
        lmtp = self.lmtp()
        first_uid = None
        for i in range(1, COUNT + 1):
            refused = lmtp.sendmail("sender@example.net", [USER], message(i))
            self.assertEqual(refused, {})
            # STATUS: a read of the mailbox's counters in storaged.
            n, uidnext = self.status_messages(watcher)
            self.assertEqual(n, i, "message %d acknowledged, not seen" % i)
            if first_uid is None:
                first_uid = uidnext - 1
            self.assertEqual(uidnext, first_uid + i)
            # The selected session: its view catches up, and SEARCH reads
            # the message's own record.
            selected.noop()
            typ, data = selected.uid("SEARCH", None, "SUBJECT",
                                     '"visible %d"' % i)
            self.assertEqual(typ, "OK")
            self.assertEqual(data[0].split(), [str(uidnext - 1).encode()],
                             "message %d not found by SEARCH" % i)
        # And bulwarkctl, over the admin socket, right after the last one.
        refused = lmtp.sendmail("sender@example.net", [USER],
                                message(COUNT + 1))
        self.assertEqual(refused, {})
        out = self.srv.ctl("message", "list", USER, "INBOX").stdout
        self.assertIn("visible %d" % (COUNT + 1), out)

    def test_write_after_ack(self):
        """A write right after a delivery sees it: STORE on the message
        just delivered, then FETCH of its flags."""
        c = self.imap()
        typ, _ = c.select("INBOX")
        self.assertEqual(typ, "OK")
        lmtp = self.lmtp()
        for i in range(1, 11):
            self.assertEqual(lmtp.sendmail("sender@example.net", [USER],
                                           message(i)), {})
            c.noop()
            typ, data = c.uid("SEARCH", None, "SUBJECT", '"visible %d"' % i)
            self.assertEqual(typ, "OK")
            uids = data[0].split()
            self.assertEqual(len(uids), 1, data)
            typ, data = c.uid("STORE", uids[0], "+FLAGS", r"(\Flagged)")
            self.assertEqual(typ, "OK", data)
            typ, data = c.uid("FETCH", uids[0], "(FLAGS)")
            self.assertEqual(typ, "OK")
            self.assertIn(rb"\Flagged", data[0])
        typ, data = c.uid("SEARCH", None, "FLAGGED")
        self.assertEqual(len(data[0].split()), 10)


if __name__ == "__main__":
    unittest.main()

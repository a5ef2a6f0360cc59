# SPDX-License-Identifier: ISC
"""A mailbox of 131,072 messages through IMAP, against the real bulwarkd:
requests and answers bigger than one frame between imapd and storaged
come in parts.  STORE on every message (whose answer once outgrew the
frame and stopped storaged), SELECT (QRESYNC) from before it (every
message's new flags), a session selected all along catching up at NOOP,
EXPUNGE of most of them seen by UID FETCH (CHANGEDSINCE ... VANISHED) and
by that session, and COPY of more than 100,000 refused with [LIMIT].
"""
import imaplib
import re
import unittest

import test_imap_mail
from bulwark import Server

USER = "big@example.org"
PASSWORD = "big test password"
N = 1 << 17


class ImapBigMailboxTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(None, imap_workers=1, cleartext="yes")
        try:
            cls.srv.start()
            cls.srv.add_account(USER, PASSWORD)
        except Exception:
            cls.srv.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def client(self):
        c = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"], timeout=300)
        c.login(USER, PASSWORD)
        return c

    def test_big_mailbox(self):
        a = self.client()
        a.append("INBOX", None, None,
                 b"From: a@example.net\r\nSubject: one of many\r\n\r\nhi\r\n")
        a.select("INBOX")
        # Each COPY doubles the mailbox: 2^17 messages.
        for _ in range(17):
            typ, data = a.uid("COPY", "1:*", "INBOX")
            self.assertEqual(typ, "OK", data)
        typ, data = a.select("INBOX")
        self.assertEqual(data, [str(N).encode()])

        r = test_imap_mail.Raw(self.srv.ports["imap"])
        r.cmd(b"L", b"LOGIN %s \"%s\"" % (USER.encode(), PASSWORD.encode()))
        self.assertIn(b"* ENABLED QRESYNC", r.cmd(b"E", b"ENABLE QRESYNC"))
        joined = b" ".join(r.cmd(b"S", b"SELECT INBOX"))
        uidvalidity = int(re.search(rb"UIDVALIDITY (\d+)", joined).group(1))
        modseq = int(re.search(rb"HIGHESTMODSEQ (\d+)", joined).group(1))
        r.cmd(b"U", b"UNSELECT")
        live = self.client()
        live.select("INBOX")

        # Every message \Seen in one command.
        typ, data = a.uid("STORE", "1:*", "+FLAGS.SILENT", r"(\Seen)")
        self.assertEqual(typ, "OK", data)
        typ, data = a.search(None, "UNSEEN")
        self.assertEqual(data, [b""])
        self.assertNotIn("exited", self.srv.log())

        # QRESYNC from before: a FETCH with \Seen for each message.
        lines = r.cmd(b"Q", b"SELECT INBOX (QRESYNC (%d %d))"
                      % (uidvalidity, modseq))
        self.assertTrue(lines[-1].startswith(b"Q OK"), lines[-1])
        fetches = [l for l in lines if re.match(
            rb"\* \d+ FETCH \(UID \d+ FLAGS \(\\Seen\) MODSEQ \(\d+\)\)$", l)]
        self.assertEqual(len(fetches), N)
        self.assertEqual(len({l.split()[4] for l in fetches}), N)
        r.cmd(b"U", b"UNSELECT")

        # The session selected all along hears of every change.
        live.untagged_responses.clear()
        typ, _ = live.noop()
        self.assertEqual(typ, "OK")
        seen = live.untagged_responses.get("FETCH", [])
        self.assertEqual(len(seen), N)
        self.assertTrue(all(b"\\Seen" in f for f in seen))

        # Too many for one COPY: refused, nothing copied.
        typ, data = a.uid("COPY", "1:*", "INBOX")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[LIMIT]", data[0])
        typ, data = a.select("INBOX")
        self.assertEqual(data, [str(N).encode()])

        # All but the last quarter go; both kinds of reader see exactly
        # that.
        gone = N - N // 4
        typ, data = a.uid("STORE", "1:%d" % gone, "+FLAGS.SILENT",
                          r"(\Deleted)")
        self.assertEqual(typ, "OK", data)
        after = int(re.search(rb"HIGHESTMODSEQ (\d+)", b" ".join(
            r.cmd(b"S2", b"SELECT INBOX"))).group(1))
        typ, data = a.expunge()
        self.assertEqual(typ, "OK")
        self.assertEqual(len(data), gone)
        typ, data = a.select("INBOX")
        self.assertEqual(data, [str(N - gone).encode()])
        lines = r.cmd(b"F", b"UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d "
                      b"VANISHED)" % after)
        self.assertIn(b"* VANISHED (EARLIER) 1:%d" % gone, lines)
        r.close()
        live.untagged_responses.clear()
        typ, _ = live.noop()
        self.assertEqual(typ, "OK")
        self.assertEqual(len(live.untagged_responses.get("EXPUNGE", [])),
                         gone)
        typ, data = live.uid("SEARCH", "UID", "1:%d" % (gone + 2))
        self.assertEqual(data[0].split(), [str(gone + 1).encode(),
                                           str(gone + 2).encode()])
        # CLOSE expunges in slices too: \Deleted on the rest, all go.
        typ, data = live.uid("STORE", "1:*", "+FLAGS.SILENT", r"(\Deleted)")
        self.assertEqual(typ, "OK")
        typ, _ = live.close()
        self.assertEqual(typ, "OK")
        typ, data = a.select("INBOX")
        self.assertEqual(data, [b"0"])
        live.logout()
        a.logout()


if __name__ == "__main__":
    unittest.main()

# SPDX-License-Identifier: ISC
"""IMAP QUOTA (RFC 9208), STATUS SIZE/DELETED/DELETED-STORAGE (RFC 8438,
RFC 9208 4.1.4) and METADATA (RFC 5464) against the real bulwarkd.

Quotas are set with bulwarkctl; every expected number below was worked out
by hand from the sizes of the messages appended (built to an exact number
of octets): STORAGE is in units of 1024 octets, rounded up.  The commands
go over a raw socket, so that the exact responses, literals included, are
checked.
"""
import re
import socket
import unittest

from bulwark import Server

DOMAIN = "example.org"
PASSWORD = "quota metadata test"


def message(size, n=0):
    """A message of exactly size octets (size >= 100)."""
    head = (b"From: a@example.com\r\nSubject: m%d\r\nMessage-ID: <q%d-%d@x>\r\n\r\n"
            % (n, n, size))
    body = b"x" * (size - len(head) - 2) + b"\r\n"
    msg = head + body
    assert len(msg) == size
    return msg


class Raw:
    """A line client that also reads literals in responses."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.buf = b""
        self.n = 0
        self.line()

    def fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def line(self):
        """One response line, with literals inlined as {n}\\r\\n<bytes>."""
        out = b""
        while True:
            while b"\r\n" not in self.buf:
                self.fill()
            part, self.buf = self.buf.split(b"\r\n", 1)
            out += part
            m = re.search(rb"\{(\d+)\}$", part)
            if not m:
                return out
            size = int(m.group(1))
            while len(self.buf) < size:
                self.fill()
            out += b"\r\n" + self.buf[:size]
            self.buf = self.buf[size:]

    def cmd(self, text):
        """Sends a command; returns (untagged lines, tagged status text)."""
        self.n += 1
        tag = b"t%d" % self.n
        self.sock.sendall(tag + b" " + text + b"\r\n")
        lines = []
        while True:
            line = self.line()
            if line.startswith(tag + b" "):
                return lines, line[len(tag) + 1:]
            lines.append(line)

    def append(self, mailbox, msg):
        return self.cmd(b"APPEND %s {%d+}\r\n" % (mailbox, len(msg)) + msg)

    def close(self):
        self.sock.close()


class ImapQuotaMetadataTest(unittest.TestCase):
    users = 0

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(None, imap_workers=1, cleartext="yes")
        try:
            cls.srv.start()
            cls.srv.ctl("domain", "add", DOMAIN)
        except Exception:
            cls.srv.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def account(self):
        type(self).users += 1
        user = "q%d@%s" % (self.users, DOMAIN)
        self.srv.ctl("account", "add", user, password=PASSWORD)
        return user

    def login(self, user):
        r = Raw(self.srv.ports["imap"])
        _, st = r.cmd(b'LOGIN "%s" "%s"' % (user.encode(), PASSWORD.encode()))
        self.assertTrue(st.startswith(b"OK"), st)
        self.addCleanup(r.close)
        r.user = user
        return r

    # --- capabilities ---
    def test_capabilities(self):
        r = self.login(self.account())
        lines, st = r.cmd(b"CAPABILITY")
        self.assertEqual(st, b"OK CAPABILITY completed")
        caps = lines[0].split()
        for cap in (b"QUOTA", b"QUOTA=RES-STORAGE", b"QUOTA=RES-MESSAGE",
                    b"METADATA", b"METADATA-SERVER", b"STATUS=SIZE"):
            self.assertIn(cap, caps)
        # Quotas are the administrator's: no QUOTASET (RFC 9208 4.1.3).
        self.assertNotIn(b"QUOTASET", caps)

    # --- QUOTA ---
    def test_quota_numbers_and_overquota(self):
        user = self.account()
        # 2K = 2048 octets (powers of 1024 on bulwarkctl's command line).
        self.srv.ctl("quota", "set", user, "2K", "3")
        r = self.login(user)
        self.assertEqual(r.cmd(b"GETQUOTAROOT INBOX"),
                         ([b'* QUOTAROOT INBOX ""',
                           b'* QUOTA "" (STORAGE 0 2 MESSAGE 0 3)'],
                          b"OK GETQUOTAROOT completed"))
        # 700 + 600 = 1300 octets: 2 units of 1024, rounded up.
        self.assertTrue(r.append(b"INBOX", message(700, 1))[1].startswith(b"OK"))
        self.assertTrue(r.append(b"Archive", message(600, 2))[1].startswith(b"OK"))
        self.assertEqual(r.cmd(b'GETQUOTA ""'),
                         ([b'* QUOTA "" (STORAGE 2 2 MESSAGE 2 3)'],
                          b"OK GETQUOTA completed"))
        # One root over every mailbox.
        self.assertEqual(r.cmd(b"GETQUOTAROOT Archive")[0][0],
                         b'* QUOTAROOT Archive ""')
        # 1300 + 800 = 2100 > 2048: refused, nothing stored.
        lines, st = r.append(b"INBOX", message(800, 3))
        self.assertTrue(st.startswith(b"NO [OVERQUOTA]"), st)
        # 1300 + 500 = 1800 fits; then the third message is the last.
        self.assertTrue(r.append(b"INBOX", message(500, 4))[1].startswith(b"OK"))
        lines, st = r.append(b"INBOX", message(100, 5))
        self.assertTrue(st.startswith(b"NO [OVERQUOTA]"), st)
        self.assertEqual(r.cmd(b'GETQUOTA ""'),
                         ([b'* QUOTA "" (STORAGE 2 2 MESSAGE 3 3)'],
                          b"OK GETQUOTA completed"))
        # Expunging the 700-octet message gives its room back: 1100 -> 2.
        self.assertTrue(r.cmd(b"SELECT INBOX")[1].startswith(b"OK"))
        self.assertTrue(r.cmd(b"STORE 1 +FLAGS.SILENT (\\Deleted)")[1].startswith(b"OK"))
        self.assertTrue(r.cmd(b"EXPUNGE")[1].startswith(b"OK"))
        self.assertEqual(r.cmd(b'GETQUOTA ""')[0],
                         [b'* QUOTA "" (STORAGE 2 2 MESSAGE 2 3)'])

    def test_quota_unlimited_and_unknown(self):
        r = self.login(self.account())
        # No limit: no resource named (RFC 9208 4.2.1).
        self.assertEqual(r.cmd(b'GETQUOTA ""'),
                         ([b'* QUOTA "" ()'], b"OK GETQUOTA completed"))
        self.assertEqual(r.cmd(b"GETQUOTA other"),
                         ([], b"NO [NONEXISTENT] No such quota root"))
        self.assertEqual(r.cmd(b"GETQUOTAROOT Missing"),
                         ([], b"NO [NONEXISTENT] No such mailbox"))
        self.assertEqual(r.cmd(b"GETQUOTAROOT"), ([], b"BAD Missing argument"))

    def test_setquota_refused(self):
        r = self.login(self.account())
        self.assertEqual(r.cmd(b'SETQUOTA "" (STORAGE 512)'),
                         ([], b"NO [NOPERM] Quotas are set by the administrator"))
        self.assertEqual(r.cmd(b'SETQUOTA "" ()'),
                         ([], b"NO [NOPERM] Quotas are set by the administrator"))
        self.assertTrue(r.cmd(b'SETQUOTA "" (STORAGE x)')[1].startswith(b"BAD"))
        self.assertTrue(r.cmd(b'SETQUOTA "" STORAGE 5')[1].startswith(b"BAD"))

    # --- STATUS ---
    def status(self, r, items=b"MESSAGES SIZE DELETED DELETED-STORAGE"):
        lines, st = r.cmd(b"STATUS INBOX (%s)" % items)
        self.assertEqual(st, b"OK STATUS completed")
        return lines[0]

    def test_status_deleted_and_size(self):
        r = self.login(self.account())
        for n, size in enumerate((1000, 2000, 3000)):
            self.assertTrue(r.append(b"INBOX", message(size, n))[1].startswith(b"OK"))
        self.assertEqual(self.status(r), b"* STATUS INBOX (MESSAGES 3 SIZE 6000 "
                         b"DELETED 0 DELETED-STORAGE 0)")
        self.assertTrue(r.cmd(b"SELECT INBOX")[1].startswith(b"OK"))
        self.assertTrue(r.cmd(b"STORE 1,3 +FLAGS.SILENT (\\Deleted)")[1].startswith(b"OK"))
        # 1000 + 3000 octets: 4 units of 1024 (3.9, rounded up).
        self.assertEqual(self.status(r), b"* STATUS INBOX (MESSAGES 3 SIZE 6000 "
                         b"DELETED 2 DELETED-STORAGE 4)")
        self.assertTrue(r.cmd(b"STORE 3 -FLAGS.SILENT (\\Deleted)")[1].startswith(b"OK"))
        # 1000 octets: 1 unit.
        self.assertEqual(self.status(r), b"* STATUS INBOX (MESSAGES 3 SIZE 6000 "
                         b"DELETED 1 DELETED-STORAGE 1)")
        # A copy of the \Deleted message is counted in its new mailbox too.
        self.assertTrue(r.cmd(b"COPY 1 Trash")[1].startswith(b"OK"))
        self.assertEqual(r.cmd(b"STATUS Trash (MESSAGES SIZE DELETED)")[0],
                         [b"* STATUS Trash (MESSAGES 1 SIZE 1000 DELETED 1)"])
        self.assertTrue(r.cmd(b"EXPUNGE")[1].startswith(b"OK"))
        self.assertEqual(self.status(r), b"* STATUS INBOX (MESSAGES 2 SIZE 5000 "
                         b"DELETED 0 DELETED-STORAGE 0)")
        # LIST-STATUS returns the same items (RFC 5819).
        lines, st = r.cmd(b'LIST "" Trash RETURN (STATUS (DELETED SIZE))')
        self.assertEqual(st, b"OK LIST completed")
        self.assertEqual(lines[-1], b"* STATUS Trash (SIZE 1000 DELETED 1)")
        # MOVE takes the counters along.
        self.assertTrue(r.cmd(b"SELECT Trash")[1].startswith(b"OK"))
        self.assertTrue(r.cmd(b"MOVE 1 Archive")[1].startswith(b"OK"))
        self.assertEqual(r.cmd(b"STATUS Archive (MESSAGES SIZE DELETED DELETED-STORAGE)")[0],
                         [b"* STATUS Archive (MESSAGES 1 SIZE 1000 DELETED 1 "
                          b"DELETED-STORAGE 1)"])
        self.assertEqual(r.cmd(b"STATUS Trash (MESSAGES SIZE DELETED)")[0],
                         [b"* STATUS Trash (MESSAGES 0 SIZE 0 DELETED 0)"])

    # --- METADATA ---
    def test_metadata_set_get_delete(self):
        r = self.login(self.account())
        two = b"line one\r\nline two"
        self.assertEqual(r.cmd(b'SETMETADATA INBOX (/private/comment "My comment" '
                               b'/shared/comment {%d+}\r\n%s)' % (len(two), two)),
                         ([], b"OK SETMETADATA completed"))
        self.assertEqual(r.cmd(b"GETMETADATA INBOX (/private/comment /shared/comment)"),
                         ([b'* METADATA INBOX (/private/comment "My comment" '
                           b'/shared/comment {18}\r\nline one\r\nline two)'],
                          b"OK GETMETADATA completed"))
        # Entry names are case-insensitive; /private and /shared differ.
        self.assertEqual(r.cmd(b"GETMETADATA INBOX /PRIVATE/Comment")[0],
                         [b'* METADATA INBOX (/private/comment "My comment")'])
        # Server annotations are apart from the inbox's.
        self.assertEqual(r.cmd(b'GETMETADATA "" /shared/comment'),
                         ([], b"OK GETMETADATA completed"))
        self.assertEqual(r.cmd(b'SETMETADATA "" (/shared/comment "server note")')[1],
                         b"OK SETMETADATA completed")
        self.assertEqual(r.cmd(b'GETMETADATA "" /shared/comment')[0],
                         [b'* METADATA "" (/shared/comment "server note")'])
        # NIL removes an entry; removing a missing one is fine.
        self.assertEqual(r.cmd(b"SETMETADATA INBOX (/private/comment NIL "
                               b"/private/never NIL)")[1],
                         b"OK SETMETADATA completed")
        self.assertEqual(r.cmd(b"GETMETADATA INBOX /private/comment"),
                         ([], b"OK GETMETADATA completed"))
        # Another session sees what was stored.
        r2 = self.login(r.user)
        self.assertEqual(r2.cmd(b'GETMETADATA "" (/shared/comment)')[0],
                         [b'* METADATA "" (/shared/comment "server note")'])

    def test_metadata_moves_the_mailbox_modseq(self):
        """RFC 7162 3.2: with METADATA, SETMETADATA that changes a
        mailbox's entry moves that mailbox's modseq on (a CONDSTORE client
        then knows to look again); the server's entries move none."""
        import re
        r = self.login(self.account())

        def hms(box=b"INBOX"):
            lines, st = r.cmd(b"STATUS %s (HIGHESTMODSEQ)" % box)
            self.assertTrue(st.startswith(b"OK"), st)
            return int(re.search(rb"HIGHESTMODSEQ (\d+)", lines[0]).group(1))

        r.cmd(b"CREATE Other")
        before, other = hms(), hms(b"Other")
        self.assertEqual(r.cmd(b'SETMETADATA INBOX (/private/comment "x")')[1],
                         b"OK SETMETADATA completed")
        after = hms()
        self.assertGreater(after, before)
        self.assertEqual(hms(b"Other"), other)
        self.assertEqual(r.cmd(b'SETMETADATA "" (/private/comment "y")')[1],
                         b"OK SETMETADATA completed")
        self.assertEqual(hms(), after)
        # A selected session hears of it: the view's modseq moves too.
        r2 = self.login(r.user)
        lines, st = r2.cmd(b"SELECT INBOX (CONDSTORE)")
        self.assertIn(b"* OK [HIGHESTMODSEQ %d] Highest" % after, lines)
        r.cmd(b'SETMETADATA INBOX (/private/comment NIL)')
        self.assertGreater(hms(), after)

    def test_metadata_depth_and_maxsize(self):
        r = self.login(self.account())
        self.assertEqual(r.cmd(b'SETMETADATA INBOX (/private/vendor/x/a "1" '
                               b'/private/vendor/x/a/b "22" /private/vendor/xy "no" '
                               b'/private/comment "ten octets")')[1],
                         b"OK SETMETADATA completed")
        self.assertEqual(r.cmd(b"GETMETADATA INBOX /private/vendor/x"),
                         ([], b"OK GETMETADATA completed"))
        self.assertEqual(r.cmd(b"GETMETADATA INBOX (DEPTH 1) /private/vendor/x")[0],
                         [b'* METADATA INBOX (/private/vendor/x/a "1")'])
        # The ABNF's order, options before the mailbox, is taken too.
        self.assertEqual(r.cmd(b"GETMETADATA (DEPTH 1) INBOX /private/vendor/x")[0],
                         [b'* METADATA INBOX (/private/vendor/x/a "1")'])
        self.assertEqual(r.cmd(b"GETMETADATA INBOX (DEPTH infinity) /private/vendor/x")[0],
                         [b'* METADATA INBOX (/private/vendor/x/a "1" '
                          b'/private/vendor/x/a/b "22")'])
        # MAXSIZE 1 leaves out "22" (2) and "ten octets" (10): LONGENTRIES 10.
        self.assertEqual(r.cmd(b"GETMETADATA INBOX (MAXSIZE 1 DEPTH infinity) "
                               b"(/private/vendor/x /private/comment)"),
                         ([b'* METADATA INBOX (/private/vendor/x/a "1")'],
                          b"OK [METADATA LONGENTRIES 10] GETMETADATA completed"))
        self.assertTrue(r.cmd(b"GETMETADATA INBOX (DEPTH 2) /private/comment")[1]
                        .startswith(b"BAD"))
        self.assertTrue(r.cmd(b"GETMETADATA INBOX (FROB 1) /private/comment")[1]
                        .startswith(b"BAD"))

    def test_metadata_limits_and_names(self):
        r = self.login(self.account())
        big = b"v" * 8193
        self.assertEqual(r.cmd(b"SETMETADATA INBOX (/private/big {%d+}\r\n%s)"
                               % (len(big), big)),
                         ([], b"NO [METADATA MAXSIZE 8192] Annotation too large"))
        ok = b"v" * 8192
        self.assertEqual(r.cmd(b"SETMETADATA INBOX (/private/big {%d+}\r\n%s)"
                               % (len(ok), ok))[1], b"OK SETMETADATA completed")
        # 100 entries per mailbox: 1 + 99 fit, one more does not, and a
        # refused command sets none of its entries (RFC 5464 4.3).
        pairs = b" ".join(b'/private/t%d "v"' % i for i in range(99))
        self.assertEqual(r.cmd(b"SETMETADATA INBOX (%s)" % pairs)[1],
                         b"OK SETMETADATA completed")
        self.assertEqual(r.cmd(b'SETMETADATA INBOX (/private/t0 "w" /private/t100 "v")'),
                         ([], b"NO [METADATA TOOMANY] Too many annotations"))
        self.assertEqual(r.cmd(b"GETMETADATA INBOX /private/t0")[0],
                         [b'* METADATA INBOX (/private/t0 "v")'])
        # The server's entries are counted apart.
        self.assertEqual(r.cmd(b'SETMETADATA "" (/private/t100 "v")')[1],
                         b"OK SETMETADATA completed")
        # Bad entry names are BAD (RFC 5464 3.2).
        for bad in (b"/private", b"/other/x", b"/private//x", b"/private/x/",
                    b"/private/a*", b'"/private/a%"', b"private/x"):
            st = r.cmd(b"GETMETADATA INBOX %s" % bad)[1]
            self.assertTrue(st.startswith(b"BAD"), (bad, st))
            st = r.cmd(b'SETMETADATA INBOX (%s "x")' % bad)[1]
            self.assertTrue(st.startswith(b"BAD"), (bad, st))
        self.assertEqual(r.cmd(b'GETMETADATA Missing /private/comment'),
                         ([], b"NO [NONEXISTENT] No such mailbox"))
        self.assertEqual(r.cmd(b'SETMETADATA Missing (/private/comment "x")'),
                         ([], b"NO [NONEXISTENT] No such mailbox"))

    def test_metadata_binary_values(self):
        """RFC 5464 4.3: a value may be sent as a literal8; values are
        octets, and one that holds a NUL comes back as a literal8 (no other
        string can carry it), the others as before."""
        r = self.login(self.account())
        val = b"bin\x00ary\r\n\xff"
        self.assertEqual(r.cmd(b"SETMETADATA INBOX (/private/bin ~{%d+}\r\n%s "
                               b"/private/text ~{4+}\r\nabcd)" % (len(val), val)),
                         ([], b"OK SETMETADATA completed"))
        self.assertEqual(r.cmd(b"GETMETADATA INBOX (/private/bin /private/text)"),
                         ([b"* METADATA INBOX (/private/bin ~{%d}\r\n%s "
                           b'/private/text "abcd")' % (len(val), val)],
                          b"OK GETMETADATA completed"))
        # The server's entries too, and the limit counts octets.
        self.assertEqual(r.cmd(b'SETMETADATA "" (/shared/x ~{1+}\r\n\x00)')[1],
                         b"OK SETMETADATA completed")
        self.assertEqual(r.cmd(b'GETMETADATA "" /shared/x')[0],
                         [b'* METADATA "" (/shared/x ~{1}\r\n\x00)'])
        big = b"\x00" * 8193
        self.assertEqual(r.cmd(b"SETMETADATA INBOX (/private/big ~{%d+}\r\n%s)"
                               % (len(big), big)),
                         ([], b"NO [METADATA MAXSIZE 8192] Annotation too large"))
        # A literal8 is no entry name.
        self.assertTrue(r.cmd(b"SETMETADATA INBOX (~{4+}\r\n/p/x \"v\")")[1]
                        .startswith(b"BAD"))

    def test_metadata_removed_with_mailbox(self):
        r = self.login(self.account())
        self.assertTrue(r.cmd(b"CREATE Work")[1].startswith(b"OK"))
        self.assertEqual(r.cmd(b'SETMETADATA Work (/private/comment "w")')[1],
                         b"OK SETMETADATA completed")
        self.assertEqual(r.cmd(b"GETMETADATA Work /private/comment")[0],
                         [b'* METADATA Work (/private/comment "w")'])
        self.assertTrue(r.cmd(b"DELETE Work")[1].startswith(b"OK"))
        self.assertTrue(r.cmd(b"CREATE Work")[1].startswith(b"OK"))
        self.assertEqual(r.cmd(b"GETMETADATA Work /private/comment"),
                         ([], b"OK GETMETADATA completed"))
        # A renamed mailbox keeps its annotations.
        self.assertEqual(r.cmd(b'SETMETADATA Work (/shared/comment "s")')[1],
                         b"OK SETMETADATA completed")
        self.assertTrue(r.cmd(b"RENAME Work Play")[1].startswith(b"OK"))
        self.assertEqual(r.cmd(b"GETMETADATA Play /shared/comment")[0],
                         [b'* METADATA Play (/shared/comment "s")'])


if __name__ == "__main__":
    unittest.main()

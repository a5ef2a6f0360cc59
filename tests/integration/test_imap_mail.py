# SPDX-License-Identifier: ISC
"""imapd's selected state through Python's imaplib and raw sockets.

APPEND (with flags, dates, LITERAL+, MULTIAPPEND, APPENDUID), SELECT and
EXAMINE, FETCH of every item and section form (partial ranges, nested
parts, HEADER.FIELDS, MIME, BINARY), STORE with CONDSTORE, EXPUNGE, COPY,
MOVE, SEARCH with ESEARCH and SEARCHRES, and two sessions seeing each
other's changes (IDLE, NOOP, QRESYNC) against the real bulwarkd with
privilege separation.  Expected values were worked out by hand from the
messages below.
"""
import imaplib
import os
import re
import socket
import time
import unittest

from bulwark import Server

USER = "carol@example.org"
PASSWORD = "imap mail test"

PLAIN = (b"From: Alice Example <alice@example.org>\r\n"
         b"To: Carol <carol@example.org>, dave@example.net\r\n"
         b"Subject: Lunch on Friday\r\n"
         b"Date: Tue, 24 Nov 2026 09:30:00 +0100\r\n"
         b"Message-ID: <lunch-1@example.org>\r\n"
         b"X-Priority: 3\r\n"
         b"\r\n"
         b"Shall we meet at noon?\r\n"
         b"The usual place.\r\n")

MULTI = (b"From: Bob <bob@example.com>\r\n"
         b"To: carol@example.org\r\n"
         b"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= and a file\r\n"
         b"Date: Wed, 25 Nov 2026 18:00:00 +0000\r\n"
         b"Message-ID: <files-2@example.com>\r\n"
         b"MIME-Version: 1.0\r\n"
         b"Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
         b"\r\n"
         b"preamble\r\n"
         b"--XX\r\n"
         b"Content-Type: text/plain; charset=utf-8\r\n"
         b"Content-Transfer-Encoding: quoted-printable\r\n"
         b"\r\n"
         b"Hallo K=C3=A4the, the zebra report is attached.\r\n"
         b"--XX\r\n"
         b"Content-Type: application/octet-stream; name=\"r.bin\"\r\n"
         b"Content-Disposition: attachment; filename=\"r.bin\"\r\n"
         b"Content-Transfer-Encoding: base64\r\n"
         b"\r\n"
         b"AAECAwQFBgcICQ==\r\n"
         b"--XX--\r\n")


def message_of(n, size=0, subject=None):
    body = b"".join(b"line %06d of message %d\r\n" % (i, n)
                    for i in range(max(1, size // 28)))
    return (b"From: sender%d@example.com\r\nTo: carol@example.org\r\n"
            b"Subject: %s\r\nMessage-ID: <m%d@example.com>\r\n\r\n"
            % (n, subject or (b"message %d" % n), n)) + body


class Raw:
    """A line-level IMAP client for what imaplib cannot send."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        self.line()

    def send(self, data):
        self.sock.sendall(data)

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
        self.send(tag + b" " + text + b"\r\n")
        return self.until(tag)

    def close(self):
        self.sock.close()


class ImapMailTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(None, imap_workers=2, cleartext="yes")
        try:
            cls.srv.start()
            cls.srv.add_account(USER, PASSWORD)
        except Exception:
            cls.srv.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def client(self, timeout=20):
        c = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"],
                          timeout=timeout)
        c.login(USER, PASSWORD)
        return c

    def raw(self):
        r = Raw(self.srv.ports["imap"])
        r.cmd(b"L", b'LOGIN "%s" "%s"' % (USER.encode(), PASSWORD.encode()))
        return r

    def fresh(self, c, name):
        """A new, empty mailbox, selected."""
        typ, _ = c.create(name)
        self.assertEqual(typ, "OK")
        typ, data = c.select(name)
        self.assertEqual((typ, data), ("OK", [b"0"]))

    # --- APPEND ---
    def test_append_and_appenduid(self):
        c = self.client()
        self.fresh(c, "Ap")
        typ, data = c.append("Ap", r"(\Seen $Work)",
                             imaplib.Time2Internaldate(1795600000), PLAIN)
        self.assertEqual(typ, "OK")
        m = re.match(rb"\[APPENDUID (\d+) 1\]", data[0])
        self.assertIsNotNone(m, data)
        uidvalidity = m.group(1)
        typ, data = c.status("Ap", "(UIDVALIDITY MESSAGES)")
        self.assertIn(b"UIDVALIDITY " + uidvalidity, data[0])
        typ, data = c.noop()
        typ, data = c.fetch("1", "(UID FLAGS INTERNALDATE RFC822.SIZE)")
        self.assertEqual(typ, "OK")
        self.assertIn(b"UID 1", data[0])
        # Appended into the selected mailbox: recent here (RFC 3501 2.3.2).
        self.assertIn(b"FLAGS (\\Recent \\Seen $Work)", data[0])
        self.assertIn(b"RFC822.SIZE %d" % len(PLAIN), data[0])
        date = imaplib.Internaldate2tuple(data[0])
        self.assertEqual(time.mktime(date), 1795600000)
        # Into a missing mailbox: TRYCREATE, nothing stored.
        typ, data = c.append("NoSuchBox", None, None, PLAIN)
        self.assertEqual(typ, "NO")
        self.assertIn(b"[TRYCREATE]", data[0])
        c.logout()

    def test_multiappend_and_literal_plus(self):
        r = self.raw()
        r.cmd(b"C", b"CREATE Multi")
        one, two = message_of(1), message_of(2)
        r.send(b"A APPEND Multi (\\Flagged) {%d+}\r\n" % len(one) + one +
               b" {%d+}\r\n" % len(two) + two + b"\r\n")
        lines = r.until(b"A")
        self.assertRegex(lines[-1], rb"^A OK \[APPENDUID \d+ 1:2\]")
        lines = r.cmd(b"S", b"SELECT Multi")
        self.assertIn(b"* 2 EXISTS", lines)
        lines = r.cmd(b"F", b"FETCH 1:2 (FLAGS RFC822.SIZE)")
        self.assertIn(b"* 1 FETCH (FLAGS (\\Recent \\Flagged) RFC822.SIZE "
                      b"%d)" % len(one), lines)
        self.assertIn(b"* 2 FETCH (FLAGS (\\Recent) RFC822.SIZE %d)"
                      % len(two), lines)
        # A synchronizing literal gets its continuation first.
        r.send(b"B APPEND Multi {%d}\r\n" % len(one))
        self.assertTrue(r.line().startswith(b"+ "))
        r.send(one + b"\r\n")
        self.assertRegex(r.until(b"B")[-1], rb"^B OK \[APPENDUID \d+ 3\]")
        # Too large for APPENDLIMIT: refused before it is sent.
        lines = r.cmd(b"T", b"APPEND Multi {99999999999}")
        self.assertTrue(lines[-1].startswith(b"T NO [TOOBIG]"), lines)
        r.close()

    # --- SELECT, FETCH ---
    def test_select_responses(self):
        r = self.raw()
        r.cmd(b"C", b"CREATE Sel")
        r.send(b"A APPEND Sel (\\Seen) {%d+}\r\n" % len(PLAIN) + PLAIN +
               b"\r\n")
        r.until(b"A")
        lines = r.cmd(b"S", b"SELECT Sel")
        text = b"\n".join(lines)
        self.assertIn(b"* 1 EXISTS", lines)
        self.assertIn(b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen "
                      b"\\Draft)", lines)
        self.assertRegex(text, rb"\* OK \[UIDVALIDITY \d+\]")
        self.assertRegex(text, rb"\* OK \[UIDNEXT 2\]")
        self.assertRegex(text, rb"\* OK \[HIGHESTMODSEQ \d+\]")
        self.assertRegex(text, rb"\* OK \[PERMANENTFLAGS \(.*\\\*\)\]")
        self.assertTrue(lines[-1].startswith(b"S OK [READ-WRITE]"))
        lines = r.cmd(b"E", b"EXAMINE Sel")
        self.assertIn(b"* OK [CLOSED] Previous mailbox closed", lines)
        self.assertTrue(lines[-1].startswith(b"E OK [READ-ONLY]"))
        lines = r.cmd(b"N", b"SELECT Nope")
        self.assertTrue(lines[-1].startswith(b"N NO [NONEXISTENT]"))
        # A failed SELECT leaves no mailbox selected.
        lines = r.cmd(b"F", b"FETCH 1 FLAGS")
        self.assertTrue(lines[-1].startswith(b"F BAD"))
        r.close()

    def test_select_unseen(self):
        """RFC 3501 6.3.1: SELECT and EXAMINE name the first message
        without \\Seen by its sequence number (OK [UNSEEN n]); none when
        every message is seen, and none after ENABLE IMAP4rev2 (RFC 9051
        deprecated it and has no such response code)."""
        c = self.client()
        self.fresh(c, "Unseen")
        for flags in (r"(\Seen)", r"(\Seen)", None, None):
            self.assertEqual(c.append("Unseen", flags, None, PLAIN)[0], "OK")

        def unseen(readonly=False):
            typ, _ = c.select("Unseen", readonly=readonly)
            self.assertEqual(typ, "OK")
            return c.response("UNSEEN")[1]

        self.assertEqual(unseen(), [b"3"])
        self.assertEqual(unseen(readonly=True), [b"3"])
        # A sequence number, not a UID: UID 3 is message 2 once 1 is gone.
        c.select("Unseen")
        c.store("1", "+FLAGS", r"(\Deleted)")
        c.expunge()
        self.assertEqual(unseen(), [b"2"])
        c.store("2", "+FLAGS", r"(\Seen)")
        self.assertEqual(unseen(), [b"3"])
        c.store("3", "+FLAGS", r"(\Seen)")
        self.assertEqual(unseen(), [None])
        c.store("1", "-FLAGS", r"(\Seen)")
        self.assertEqual(unseen(readonly=True), [b"1"])
        c.logout()
        # IMAP4rev2: no UNSEEN code, though message 1 is unseen.
        c = self.client()
        self.assertEqual(c.enable("IMAP4rev2")[0], "OK")
        typ, data = c.select("Unseen")
        self.assertEqual((typ, data), ("OK", [b"3"]))
        self.assertEqual(c.response("UNSEEN")[1], [None])
        c.logout()

    def test_fetch_items_and_sections(self):
        c = self.client()
        self.fresh(c, "Fe")
        c.append("Fe", None, None, PLAIN)
        c.append("Fe", None, None, MULTI)
        c.noop()
        typ, data = c.fetch("1", "(ENVELOPE)")
        self.assertEqual(
            data[0],
            b'1 (ENVELOPE ("Tue, 24 Nov 2026 09:30:00 +0100" '
            b'"Lunch on Friday" (("Alice Example" NIL "alice" '
            b'"example.org")) (("Alice Example" NIL "alice" '
            b'"example.org")) (("Alice Example" NIL "alice" '
            b'"example.org")) (("Carol" NIL "carol" "example.org")'
            b'(NIL NIL "dave" "example.net")) NIL NIL NIL '
            b'"<lunch-1@example.org>"))')
        typ, data = c.fetch("1", "(BODYSTRUCTURE)")
        self.assertEqual(data[0], b'1 (BODYSTRUCTURE ("text" "plain" '
                         b'("charset" "us-ascii") NIL NIL "7bit" 42 2 '
                         b'NIL NIL NIL NIL))')
        # Whole message, header, text, partial, a header subset.
        typ, data = c.fetch("1", "(BODY.PEEK[] BODY.PEEK[HEADER] "
                                 "BODY.PEEK[TEXT]<6.8> "
                                 "BODY.PEEK[HEADER.FIELDS (SUBJECT X-PRIORITY)]"
                                 " BODY.PEEK[HEADER.FIELDS.NOT (FROM TO DATE "
                                 "MESSAGE-ID X-PRIORITY)])")
        parts = dict((re.search(rb"(BODY\[[^\]]*\](<\d+>)?)", d[0]).group(1),
                      d[1]) for d in data if isinstance(d, tuple))
        self.assertEqual(parts[b"BODY[]"], PLAIN)
        head, text = PLAIN.split(b"\r\n\r\n", 1)
        self.assertEqual(parts[b"BODY[HEADER]"], head + b"\r\n\r\n")
        self.assertEqual(parts[b"BODY[TEXT]<6>"], text[6:14])
        self.assertEqual(parts[b"BODY[HEADER.FIELDS (SUBJECT X-PRIORITY)]"],
                         b"Subject: Lunch on Friday\r\nX-Priority: 3\r\n\r\n")
        self.assertEqual(parts[b"BODY[HEADER.FIELDS.NOT (FROM TO DATE "
                               b"MESSAGE-ID X-PRIORITY)]"],
                         b"Subject: Lunch on Friday\r\n\r\n")
        # PEEK did not set \Seen.
        typ, data = c.fetch("1", "(FLAGS)")
        self.assertEqual(data[0], b"1 (FLAGS (\\Recent))")
        # Parts of the multipart: numbers, MIME header, BINARY.
        typ, data = c.fetch("2", "(BODY.PEEK[1] BODY.PEEK[1.MIME] "
                                 "BODY.PEEK[2] BINARY.PEEK[2] "
                                 "BINARY.SIZE[1] BODY.PEEK[3])")
        got = {}
        flat = b" ".join(d[0] + b"{}" if isinstance(d, tuple) else d
                         for d in data)
        for d in data:
            if isinstance(d, tuple):
                got[re.search(rb"((BODY|BINARY)\[[^\]]*\])", d[0]).group(1)] \
                    = d[1]
        # The CRLF before a boundary belongs to it (RFC 2046 5.1.1).
        self.assertEqual(got[b"BODY[1]"], b"Hallo K=C3=A4the, the zebra "
                         b"report is attached.")
        self.assertEqual(got[b"BODY[1.MIME]"],
                         b"Content-Type: text/plain; charset=utf-8\r\n"
                         b"Content-Transfer-Encoding: quoted-printable\r\n"
                         b"\r\n")
        self.assertEqual(got[b"BODY[2]"], b"AAECAwQFBgcICQ==")
        self.assertEqual(got[b"BINARY[2]"], bytes(range(10)))
        self.assertIn(b"BINARY.SIZE[1] 43", flat)
        self.assertIn(b"BODY[3] NIL", flat)
        # BODY[] without PEEK sets \Seen and says so.
        typ, data = c.fetch("2", "(BODY[TEXT]<0.8>)")
        self.assertIn(b"FLAGS (\\Recent \\Seen)", b" ".join(
            d[0] if isinstance(d, tuple) else d for d in data))
        # Macros and ids.
        typ, data = c.fetch("1:2", "(FAST EMAILID THREADID MODSEQ)")
        self.assertRegex(data[0], rb"EMAILID \(M[0-9a-f]+\) THREADID "
                         rb"\(T[0-9a-f]+\)")
        self.assertRegex(data[1], rb"MODSEQ \(\d+\)")
        c.logout()

    def test_fetch_stored_items_match_record(self):
        """ENVELOPE and BODYSTRUCTURE alone come as storaged stored them;
        with PREVIEW too, imapd writes them from the record.  Both must
        be the same bytes, also for a message whose items were too long
        to store (served from its record either way)."""
        c = self.client()
        self.fresh(c, "Si")
        eight = (b"From: =?UTF-8?B?SsO2cmc=?= <j@example.org>\r\n"
                 b"To: \"A \\\"quoted\\\" name\" <a@example.org>\r\n"
                 b"Subject: Gr\xc3\xbc\xc3\x9fe raw\r\n"
                 b"Content-Type: message/rfc822\r\n\r\n" + PLAIN)
        parts = b"".join(
            b"--B\r\nContent-Type: application/octet-stream; "
            b"name=\"%s.bin\"\r\n\r\nx\r\n" % (b"n%02d" % i * 700)
            for i in range(40))
        wide = (b"From: w@example.org\r\nSubject: wide\r\n"
                b"Content-Type: multipart/mixed; boundary=B\r\n\r\n" +
                parts + b"--B--\r\n")
        for m in (PLAIN, MULTI, eight, wide):
            self.assertEqual(c.append("Si", None, None, m)[0], "OK")
        c.logout()
        r = self.raw()
        # PREVIEW quoted (UTF-8), so that it is simply cut off below;
        # ENVELOPE and BODYSTRUCTURE do not change with it.
        r.cmd(b"E", b"ENABLE UTF8=ACCEPT")
        r.cmd(b"S", b"SELECT Si")
        stored = b"\r\n".join(r.cmd(b"A", b"FETCH 1:4 (ENVELOPE "
                                               b"BODYSTRUCTURE)")[:-1])
        rec = b"\r\n".join(r.cmd(b"B", b"FETCH 1:4 (ENVELOPE BODYSTRUCTURE "
                                            b"PREVIEW)")[:-1])
        r.close()
        rec = re.sub(rb' PREVIEW (NIL|"(?:[^"\\]|\\.)*")\)', b")", rec)
        self.assertEqual(stored, rec)
        self.assertEqual(stored.count(b" FETCH (ENVELOPE ("), 4)
        # The 8-bit subject went as a literal, the wide one is long.
        self.assertIn(b"{11}\r\nGr\xc3\xbc\xc3\x9fe raw", stored)
        self.assertGreater(len(stored), 64 * 1024)

    def test_fetch_large_message_streams(self):
        c = self.client()
        self.fresh(c, "Big")
        big = message_of(7, size=5 * 1024 * 1024)
        c.append("Big", None, None, big)
        c.noop()
        typ, data = c.uid("FETCH", "1:*", "(BODY.PEEK[])")
        self.assertEqual(typ, "OK")
        self.assertEqual(data[0][1], big)
        typ, data = c.fetch("1", "(BODY.PEEK[]<1048570.20>)")
        self.assertEqual(data[0][1], big[1048570:1048590])
        c.logout()

    def test_fetch_large_message_expunged_while_sent(self):
        # A reader that does not read: the server's output stalls well
        # before the end of a 24 MB literal.  Another session expunges the
        # message meanwhile; the literal promised must still arrive whole
        # (the server serves it from its own copy), then the tagged OK.
        c = self.client()
        self.fresh(c, "Gone")
        big = message_of(8, size=24 * 1024 * 1024)
        c.append("Gone", None, None, big)
        c.noop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
        sock.settimeout(20)
        sock.connect(("127.0.0.1", self.srv.ports["imap"]))
        r = Raw.__new__(Raw)
        r.sock, r.buf = sock, b""
        r.line()
        r.cmd(b"L", b'LOGIN "%s" "%s"' % (USER.encode(), PASSWORD.encode()))
        r.cmd(b"S", b"SELECT Gone")
        r.send(b"F UID FETCH 1 (BODY.PEEK[])\r\n")
        head = r.line()
        m = re.match(rb"\* 1 FETCH \(UID 1 BODY\[\] \{(\d+)\}$", head)
        self.assertIsNotNone(m, head)
        self.assertEqual(int(m.group(1)), len(big))
        typ, _ = c.store("1", "+FLAGS", r"(\Deleted)")
        self.assertEqual(typ, "OK")
        typ, data = c.expunge()
        self.assertEqual((typ, data), ("OK", [b"1"]))
        got = bytearray(r.buf)
        while len(got) < len(big):
            chunk = sock.recv(1 << 20)
            if not chunk:
                self.fail("connection closed after %d of %d bytes"
                          % (len(got), len(big)))
            got += chunk
        r.buf = bytes(got[len(big):])
        self.assertTrue(bytes(got[:len(big)]) == big, "literal differs")
        rest = r.until(b"F")
        self.assertEqual(rest[0], b")")
        self.assertTrue(rest[-1].startswith(b"F OK"), rest)
        c.logout()
        r.close()

    def test_fetch_bad_input(self):
        c = self.client()
        self.fresh(c, "Bad")
        c.append("Bad", None, None, PLAIN)
        c.noop()
        for args in (("1", "(NOSUCH)"), ("1", "(BODY[HEADER.FIELDS ()])"),
                     ("0", "FLAGS"), ("5", "FLAGS"),
                     ("1", "(BODY[1.2.]<1.0>)")):
            with self.assertRaises(imaplib.IMAP4.error, msg=args):
                c.fetch(*args)
        self.assertEqual(c.noop()[0], "OK")
        c.logout()

    # --- STORE, EXPUNGE, COPY, MOVE ---
    def test_store_flags_and_condstore(self):
        c = self.client()
        self.fresh(c, "St")
        for i in range(3):
            c.append("St", None, None, message_of(i))
        c.noop()
        typ, data = c.store("1:2", "+FLAGS", r"(\Flagged $Todo)")
        self.assertEqual(sorted(data),
                         [b"1 (FLAGS (\\Recent \\Flagged $Todo))",
                          b"2 (FLAGS (\\Recent \\Flagged $Todo))"])
        typ, data = c.store("2", "-FLAGS", r"(\Flagged)")
        self.assertEqual(data, [b"2 (FLAGS (\\Recent $Todo))"])
        typ, data = c.store("3", "FLAGS.SILENT", r"(\Seen)")
        self.assertEqual(data, [None])
        typ, data = c.fetch("1:3", "(FLAGS MODSEQ)")
        self.assertRegex(data[2],
                         rb"3 \(FLAGS \(\\Recent \\Seen\) MODSEQ \((\d+)\)\)")
        modseq = int(re.search(rb"MODSEQ \((\d+)\)", data[2]).group(1))
        # CONDSTORE: a change since the given modseq refuses the store.
        typ, data = c._simple_command(
            "STORE", "3", "(UNCHANGEDSINCE %d)" % (modseq - 1), "+FLAGS",
            r"(\Answered)")
        self.assertEqual(typ, "OK")
        self.assertIn(b"[MODIFIED 3]", c.untagged_responses.get(
            "OK", [b""])[-1] + data[-1] if data[-1] else b"")
        typ, data = c.fetch("3", "(FLAGS)")
        self.assertEqual(data, [b"3 (FLAGS (\\Recent \\Seen))"])
        # CHANGEDSINCE returns only what changed after it.
        typ, data = c.fetch("1:3", "(FLAGS) (CHANGEDSINCE %d)" % (modseq - 1))
        self.assertEqual(len(data), 1)
        self.assertTrue(data[0].startswith(b"3 "))
        c.logout()

    def test_expunge_copy_move(self):
        c = self.client()
        self.fresh(c, "Ex")
        c.create("ExTarget")
        for i in range(5):
            c.append("Ex", None, None, message_of(100 + i))
        c.noop()
        c.store("2,4", "+FLAGS", r"(\Deleted)")
        typ, data = c.expunge()
        self.assertEqual(data, [b"2", b"3"])
        typ, data = c.fetch("1:*", "(UID)")
        self.assertEqual(data, [b"1 (UID 1)", b"2 (UID 3)", b"3 (UID 5)"])
        typ, data = c._simple_command("UID", "COPY", "3:5", "ExTarget")
        self.assertEqual(typ, "OK")
        self.assertRegex(data[0], rb"\[COPYUID \d+ 3,5 1:2\]")
        typ, data = c.uid("MOVE", "1", "ExTarget")
        self.assertEqual(typ, "OK")
        self.assertIn(b"1", c.untagged_responses.get("EXPUNGE", []))
        typ, data = c.fetch("1:*", "(UID)")
        self.assertEqual(data, [b"1 (UID 3)", b"2 (UID 5)"])
        typ, data = c.copy("1", "NoSuch")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[TRYCREATE]", data[0])
        typ, data = c.status("ExTarget", "(MESSAGES)")
        self.assertIn(b"MESSAGES 3", data[0])
        # CLOSE expunges silently; UNSELECT does not.
        c.store("1", "+FLAGS", r"(\Deleted)")
        c.unselect()
        typ, data = c.status("Ex", "(MESSAGES)")
        self.assertIn(b"MESSAGES 2", data[0])
        c.select("Ex")
        c.close()
        typ, data = c.status("Ex", "(MESSAGES)")
        self.assertIn(b"MESSAGES 1", data[0])
        c.logout()

    def test_store_refused_in_examine(self):
        c = self.client()
        self.fresh(c, "Ro")
        c.append("Ro", None, None, PLAIN)
        c.select("Ro", readonly=True)
        typ, data = c.store("1", "+FLAGS", r"(\Seen)")
        self.assertEqual(typ, "NO")
        typ, data = c.fetch("1", "(BODY[])")
        typ, data = c.fetch("1", "(FLAGS)")
        self.assertEqual(data, [b"1 (FLAGS ())"])
        c.logout()

    # --- SEARCH ---
    def test_search(self):
        c = self.client()
        self.fresh(c, "Se")
        c.append("Se", r"(\Flagged)", None, PLAIN)
        c.append("Se", None, None, MULTI)
        c.append("Se", r"(\Seen)", None, message_of(3, size=20000))
        c.noop()
        cases = {
            "FLAGGED": b"1", "UNSEEN": b"1 2", "SEEN": b"3",
            'FROM "alice"': b"1", "TO dave": b"1",
            'SUBJECT "gr\xc3\xbc\xc3\x9fe"': b"2",
            "HEADER X-Priority 3": b"1", "HEADER Message-ID files": b"2",
            'HEADER Subject "lunch on"': b"1", 'HEADER Date "18:00"': b"2",
            'HEADER In-Reply-To ""': b"", 'HEADER X-Priority ""': b"1",
            'HEADER Subject "gr\xc3\xbc\xc3\x9fe"': b"2",
            'BODY "zebra"': b"2", 'BODY "k\xc3\xa4the"': b"2",
            # i;unicode-casemap (RFC 5051, I18NLEVEL=1): case beyond ASCII.
            'BODY "K\xc3\x84THE"': b"2", 'SUBJECT "GR\xc3\x9c\xc3\x9f"': b"2",
            'SUBJECT "GRUSS"': b"",
            'TEXT "lunch on"': b"1", "LARGER 10000": b"3",
            "SMALLER 10000": b"1 2", "OR FLAGGED SEEN": b"1 3",
            "NOT (OR FLAGGED SEEN)": b"2", "2:3 NOT SEEN": b"2",
            "UID 1,3": b"1 3", "SENTSINCE 25-Nov-2026": b"2 3",
            "SENTBEFORE 25-Nov-2026": b"1", "ALL": b"1 2 3",
            "KEYWORD $none": b"",
        }
        for crit, want in cases.items():
            typ, data = c._simple_command("SEARCH", "CHARSET", "UTF-8",
                                          *[crit.encode("latin-1")])
            self.assertEqual(typ, "OK", crit)
            got = c.untagged_responses.pop("SEARCH", [b""])
            self.assertEqual(got[-1].strip(), want, crit)
        typ, data = c.uid("SEARCH", "BODY", "zebra")
        self.assertEqual(data, [b"2"])
        typ, data = c.search("BADCHARSET", "ALL")
        self.assertEqual(typ, "NO")
        # Text keys beside other keys: those decide first, storaged
        # matches the text of the messages left undecided.
        mixed = {
            "FLAGGED BODY zebra": b"", "OR FLAGGED BODY zebra": b"1 2",
            "NOT BODY zebra": b"1 3", "UNSEEN TEXT lunch": b"1",
            "OR SEEN FROM alice": b"1 3", "2:3 OR BODY zebra LARGER 10000":
            b"2 3", "NOT (OR SUBJECT lunch HEADER X-Priority 3)": b"2 3",
            "SEEN NOT FROM nobody": b"3", "SENTBEFORE 25-Nov-2026 TO dave":
            b"1",
        }
        for crit, want in mixed.items():
            typ, data = c.search(None, crit)
            self.assertEqual((typ, data[-1].strip()), ("OK", want), crit)
        c.logout()

    def test_search_text_many_messages(self):
        """SEARCH BODY over more bytes than storaged searches in one
        reply (16 MiB) and more messages than one chunk (1,024): every
        match is found once, in order, alone and beside a flag key."""
        # 24 MiB searched at once: with ASan on a loaded machine a reply
        # took over 20 s (a hang detector, not a timing assertion).
        c = self.client(timeout=120)
        self.fresh(c, "Many")
        big = message_of(0, size=3 << 20)
        for i in range(8):
            c.append("Many", r"(\Seen)" if i % 2 else None, None,
                     big.replace(b"line 000001", b"needle%d ..." % i)
                     if i in (2, 5, 7) else big)
        small = [message_of(i, subject=b"small %d" % i) +
                 (b"pin %d\r\n" % i if i % 250 == 0 else b"")
                 for i in range(1100)]
        for m in small:
            c.append("Many", None, None, m)
        c.select("Many")
        typ, data = c.search(None, "BODY", "needle")
        self.assertEqual(data, [b"3 6 8"])
        typ, data = c.search(None, "SEEN", "BODY", "needle")
        self.assertEqual(data, [b"6 8"])
        typ, data = c.search(None, "OR", "BODY", "needle", "BODY", "pin")
        self.assertEqual(data, [b"3 6 8 9 259 509 759 1009"])
        typ, data = c.search(None, "BODY", "pin", "NOT", "FLAGGED")
        self.assertEqual(data, [b"9 259 509 759 1009"])
        typ, data = c.search(None, "SUBJECT", '"small 1099"')
        self.assertEqual(data, [b"1108"])
        c.logout()

    def test_utf8_append_and_search_charset(self):
        """RFC 6855 4: after ENABLE UTF8=ACCEPT, APPEND takes a message
        with UTF-8 headers as UTF8 (literal8); without it, that is BAD.
        RFC 6855 3: SEARCH with a CHARSET after ENABLE UTF8=ACCEPT is BAD,
        SEARCH without one takes UTF-8 strings."""
        msg = (b"From: J\xc3\xb6rg <j@example.org>\r\n"
               b"Subject: Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln\r\n"
               b"\r\nHallo\r\n")
        r = self.raw()
        r.cmd(b"C", b"CREATE Utf8")
        utf8 = b"UTF8 (~{%d+}\r\n%s)" % (len(msg), msg)
        lines = r.cmd(b"A1", b"APPEND Utf8 " + utf8)
        self.assertTrue(lines[-1].startswith(b"A1 BAD"), lines)
        lines = r.cmd(b"E", b"ENABLE UTF8=ACCEPT")
        self.assertIn(b"* ENABLED UTF8=ACCEPT", lines)
        lines = r.cmd(b"A2", b"APPEND Utf8 (\\Flagged) " + utf8)
        self.assertRegex(lines[-1], rb"^A2 OK \[APPENDUID \d+ 1\]")
        # UTF8 takes only a literal8.
        lines = r.cmd(b"A3", b"APPEND Utf8 UTF8 ({%d+}\r\n%s)"
                      % (len(msg), msg))
        self.assertTrue(lines[-1].startswith(b"A3 BAD"), lines)
        lines = r.cmd(b"S", b"SELECT Utf8")
        self.assertIn(b"* 1 EXISTS", lines)
        lines = r.cmd(b"F", b"FETCH 1 (FLAGS RFC822.SIZE BODY.PEEK[])")
        self.assertEqual(lines[0], b"* 1 FETCH (FLAGS (\\Recent \\Flagged) "
                         b"RFC822.SIZE %d BODY[] {%d}" % (len(msg), len(msg)))
        self.assertEqual(b"\r\n".join(lines[1:-1]), msg + b")")
        lines = r.cmd(b"Q1", b"SEARCH CHARSET UTF-8 ALL")
        self.assertTrue(lines[-1].startswith(b"Q1 BAD"), lines)
        lines = r.cmd(b"Q2", b"UID SEARCH CHARSET US-ASCII FLAGGED")
        self.assertTrue(lines[-1].startswith(b"Q2 BAD"), lines)
        lines = r.cmd(b"Q3", b'SEARCH SUBJECT "gr\xc3\xbc\xc3\x9fe aus"')
        self.assertEqual(lines[0], b"* SEARCH 1")
        self.assertTrue(lines[-1].startswith(b"Q3 OK"), lines)
        lines = r.cmd(b"Q4", b'SEARCH FROM "j\xc3\xb6rg"')
        self.assertEqual(lines[0], b"* SEARCH 1")
        r.close()

    def test_esearch_and_searchres(self):
        r = self.raw()
        r.cmd(b"C", b"CREATE Es")
        for i in range(6):
            m = message_of(i)
            r.send(b"A APPEND Es {%d+}\r\n" % len(m) + m + b"\r\n")
            r.until(b"A")
        r.cmd(b"S", b"SELECT Es")
        r.cmd(b"F", b"STORE 2,4,5 +FLAGS (\\Flagged)")
        lines = r.cmd(b"X", b"SEARCH RETURN (MIN MAX COUNT ALL) FLAGGED")
        self.assertIn(b'* ESEARCH (TAG "X") MIN 2 MAX 5 COUNT 3 ALL 2,4:5',
                      lines)
        lines = r.cmd(b"Y", b"UID SEARCH RETURN (COUNT) UNFLAGGED")
        self.assertIn(b'* ESEARCH (TAG "Y") UID COUNT 3', lines)
        lines = r.cmd(b"Z", b"SEARCH RETURN (SAVE) FLAGGED")
        self.assertFalse([l for l in lines if l.startswith(b"* ESEARCH")])
        lines = r.cmd(b"W", b"FETCH $ (UID)")
        self.assertEqual([l for l in lines if l.startswith(b"*")],
                         [b"* 2 FETCH (UID 2)", b"* 4 FETCH (UID 4)",
                          b"* 5 FETCH (UID 5)"])
        lines = r.cmd(b"V", b"SEARCH NOT $")
        self.assertIn(b"* SEARCH 1 3 6", lines)
        lines = r.cmd(b"U", b"SEARCH (OR (FLAGGED) (NOT ALL")
        self.assertTrue(lines[-1].startswith(b"U BAD"), lines)
        # UID FETCH's PARTIAL modifier (RFC 9394 3.3): positions in the set.
        lines = r.cmd(b"P1", b"UID FETCH 1:* (UID) (PARTIAL -1:-2)")
        self.assertEqual([l for l in lines if l.startswith(b"*")],
                         [b"* 5 FETCH (UID 5)", b"* 6 FETCH (UID 6)"])
        lines = r.cmd(b"P2", b"UID FETCH 2:* (UID) (PARTIAL 3:2)")
        self.assertEqual([l for l in lines if l.startswith(b"*")],
                         [b"* 3 FETCH (UID 3)", b"* 4 FETCH (UID 4)"])
        lines = r.cmd(b"P3", b"UID FETCH 1:* (UID) (PARTIAL -7:-9)")
        self.assertEqual([l for l in lines if l.startswith(b"*")], [])
        lines = r.cmd(b"P4", b"FETCH 1:* (UID) (PARTIAL 1:2)")
        self.assertTrue(lines[-1].startswith(b"P4 BAD"), lines)
        r.close()

    # --- Two sessions ---
    def test_changes_seen_by_another_session(self):
        a = self.client()
        self.fresh(a, "Shared")
        a.append("Shared", None, None, message_of(1))
        a.append("Shared", None, None, message_of(2))
        b = self.raw()
        lines = b.cmd(b"S", b"SELECT Shared")
        self.assertIn(b"* 2 EXISTS", lines)
        b.send(b"I IDLE\r\n")
        self.assertTrue(b.line().startswith(b"+ "))
        # A new message and a flag change reach the idling session.
        a.append("Shared", None, None, message_of(3))
        self.assertEqual(b.line(), b"* 3 EXISTS")
        # \Recent goes to whichever of a and b learns of it first.
        self.assertRegex(b.line(), rb"^\* [01] RECENT$")
        a.noop()
        a.store("1", "+FLAGS", r"(\Answered)")
        self.assertEqual(b.line(), b"* 1 FETCH (UID 1 FLAGS (\\Answered))")
        b.send(b"DONE\r\n")
        self.assertTrue(b.until(b"I")[-1].startswith(b"I OK"))
        # An expunge waits for a command that may report it.
        a.store("2", "+FLAGS", r"(\Deleted)")
        a.expunge()
        lines = b.cmd(b"F", b"FETCH 1:* (UID)")
        self.assertIn(b"* 3 FETCH (UID 3)", lines)
        lines = b.cmd(b"N", b"NOOP")
        self.assertIn(b"* 2 EXPUNGE", lines)
        lines = b.cmd(b"G", b"FETCH 1:* (UID)")
        self.assertEqual([l for l in lines if l.startswith(b"*")],
                         [b"* 1 FETCH (UID 1)", b"* 2 FETCH (UID 3)"])
        b.close()
        a.logout()

    def test_new_keyword_listed_before_fetch_shows_it(self):
        """A keyword another session just set: FLAGS lists it before any
        FETCH shows it (RFC 9051 7.3.5).  Found by imaptest's stress mode
        with tracking ("Keyword used without being in FLAGS")."""
        a = self.client()
        self.fresh(a, "Kw")
        a.append("Kw", None, None, message_of(1))
        b = self.raw()
        lines = b.cmd(b"S", b"SELECT Kw")
        self.assertTrue([l for l in lines if l.startswith(b"* FLAGS (") and
                         b"$Fresh" not in l], lines)
        for n, kw in enumerate((b"$Fresh", b"$Fresher")):
            a.noop()
            typ, _ = a.store("1", "+FLAGS", "(%s)" % kw.decode())
            self.assertEqual(typ, "OK")
            lines = b.cmd(b"F%d" % n, b"FETCH 1 (FLAGS)")
            self.assertTrue(lines[-1].startswith(b"F%d OK" % n), lines)
            shown = [i for i, l in enumerate(lines)
                     if re.match(rb"\* 1 FETCH \(.*FLAGS \([^)]*" +
                                 re.escape(kw), l)]
            listed = [i for i, l in enumerate(lines)
                      if l.startswith(b"* FLAGS (") and kw in l]
            self.assertTrue(shown, lines)
            self.assertTrue(listed and listed[0] < shown[0], lines)
            # PERMANENTFLAGS, which follows FLAGS, has it too.
            self.assertTrue([l for l in lines if l.startswith(
                b"* OK [PERMANENTFLAGS (") and kw in l], lines)
        b.close()
        a.logout()

    def test_qresync(self):
        a = self.client()
        self.fresh(a, "Qr")
        for i in range(4):
            a.append("Qr", None, None, message_of(i))
        r = self.raw()
        lines = r.cmd(b"E", b"ENABLE QRESYNC")
        self.assertIn(b"* ENABLED QRESYNC", lines)
        lines = r.cmd(b"S", b"SELECT Qr")
        uidvalidity = re.search(rb"UIDVALIDITY (\d+)", b" ".join(lines)).group(1)
        modseq = int(re.search(rb"HIGHESTMODSEQ (\d+)",
                               b" ".join(lines)).group(1))
        r.cmd(b"U", b"UNSELECT")
        # Meanwhile: one expunged, one flagged.
        a.noop()
        a.store("2", "+FLAGS", r"(\Deleted)")
        a.expunge()
        a.store("3", "+FLAGS", r"(\Flagged)")
        lines = r.cmd(b"Q", b"SELECT Qr (QRESYNC (%s %d 1:4))"
                      % (uidvalidity, modseq))
        self.assertIn(b"* VANISHED (EARLIER) 2", lines)
        self.assertTrue([l for l in lines if re.match(
            rb"\* 3 FETCH \(UID 4 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)", l)],
            lines)
        lines = r.cmd(b"F", b"UID FETCH 1:4 (FLAGS) (CHANGEDSINCE %d VANISHED)"
                      % modseq)
        self.assertIn(b"* VANISHED (EARLIER) 2", lines)
        # Now expunges come as VANISHED.
        a.store("1", "+FLAGS", r"(\Deleted)")
        a.expunge()
        lines = r.cmd(b"N", b"NOOP")
        self.assertIn(b"* VANISHED 1", lines)
        r.close()
        a.logout()

    def test_corpus_round_trip(self):
        """Every corpus message goes in with APPEND and comes back the same."""
        corpus = os.path.join(os.path.dirname(__file__), "..", "..", "..",
                              "shared", "mail-corpus")
        if not os.path.isdir(corpus):
            self.skipTest("no mail corpus at " + corpus)
        files = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(corpus)
                       for f in fs if not f.endswith(".md"))
        c = self.client()
        self.fresh(c, "Corpus")
        sent = []
        for path in files:
            with open(path, "rb") as f:
                data = f.read()
            if not data:
                continue
            # imaplib turns CR, LF and CRLF into CRLF (its MapCRLF); the
            # server keeps the bytes as sent.
            data = re.sub(rb"\r\n|\r(?!\n)|\n", b"\r\n", data)
            typ, _ = c.append("Corpus", None, None, data)
            self.assertEqual(typ, "OK", path)
            sent.append((path, data))
        c.noop()
        typ, data = c.fetch("1:*", "(ENVELOPE BODYSTRUCTURE)")
        self.assertEqual(typ, "OK")
        for i, (path, want) in enumerate(sent, 1):
            typ, data = c.fetch(str(i), "(BODY.PEEK[])")
            self.assertEqual(data[0][1], want, path)
        self.assertGreater(len(sent), 1000)
        c.logout()


if __name__ == "__main__":
    unittest.main()

# SPDX-License-Identifier: ISC
"""Regression tests for the IMAP conformance bugs found by running
dovecot/imaptest's scripted tests against imapd (issue 4).

Each test replays, with a raw socket, the exchange one imaptest script
failed on, and checks the responses the RFCs require, worked out by hand:

- APPEND into the selected mailbox reports the new message (EXISTS)
  before its tagged OK, so the next FETCH may name it (RFC 9051 6.3.12,
  RFC 3501 6.3.11).
- Section numbers of a message whose top-level type is message/rfc822:
  BODY[1] is the encapsulated message, BODY[1.1] its first part (RFC 9051
  6.4.5).
- BINARY.SIZE of a quoted-printable part is the exact size BINARY sends
  (RFC 3516 4.2, RFC 9051 6.4.5).
- FETCH MODSEQ, STORE UNCHANGEDSINCE and STATUS HIGHESTMODSEQ are
  CONDSTORE enabling commands: the first one with a mailbox selected
  returns HIGHESTMODSEQ, and later untagged FETCH responses of STORE carry
  MODSEQ (RFC 7162 3.1).
- Comments inside an addr-spec are not part of the address (RFC 5322
  3.2.2, 4.4): ENVELOPE and SEARCH FROM see user@domain.
- APPEND of a literal8 with NUL (RFC 3516 4.4): the part is stored
  base64-encoded, so BODY[] can be sent, and BINARY[] gives back the
  octets; a NUL in a header cannot be encoded and is refused.
- A source route (obs-route, RFC 5322 4.4: "<@route:user@domain>") is
  the address's addr-adl in ENVELOPE (imaptest "fetch-envelope"), and
  not part of the address anywhere else.
- BINARY and BINARY.SIZE of the whole message and of parts that hold
  others (imaptest "fetch-binary-mime"): RFC 9051 6.4.5 asks them of
  leaves only, Dovecot answers them with every leaf decoded and marked
  binary, and so does imapd (a NIL before).
"""
import re
import time
import socket
import unittest

from bulwark import Server

USER = "erin@example.org"
PASSWORD = "imap conformance test"


class Raw:
    """A line-level IMAP client that keeps literals with their line."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        self.line()

    def fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def line(self):
        """One response line, a literal's bytes included in it."""
        out = b""
        while True:
            while b"\r\n" not in self.buf:
                self.fill()
            line, self.buf = self.buf.split(b"\r\n", 1)
            out += line
            m = re.search(rb"\{(\d+)\}$", line)
            if not m:
                return out
            n = int(m.group(1))
            while len(self.buf) < n:
                self.fill()
            out += b"\r\n" + self.buf[:n]
            self.buf = self.buf[n:]

    def cmd(self, tag, text):
        """Sends a command; returns (untagged lines, tagged line)."""
        self.sock.sendall(tag + b" " + text + b"\r\n")
        lines = []
        while True:
            line = self.line()
            if line.startswith(tag + b" "):
                return lines, line
            lines.append(line)

    def append(self, tag, box, msg, flags=b""):
        return self.cmd(tag, b"APPEND %s %s{%d+}\r\n%s" % (
            box, flags + b" " if flags else b"", len(msg), msg))

    def close(self):
        self.sock.close()


NESTED = (b"From: user@domain.org\r\n"
          b"Mime-Version: 1.0\r\n"
          b"Content-Type: message/rfc822\r\n"
          b"\r\n"
          b"From: sub@domain.org\r\n"
          b"Subject: submsg\r\n"
          b"\r\n"
          b"Hello world\r\n")

QP = (b"From: user@domain.org\r\n"
      b"Mime-Version: 1.0\r\n"
      b"Content-Type: text/plain; charset=us-ascii\r\n"
      b"Content-Transfer-Encoding: quoted-printable\r\n"
      b"\r\n"
      b"a=3Db  \r\n"
      b"soft=\r\n"
      b"break\r\n")

# imaptest's append-binary message: a NUL in an application/octet-stream
# body declared binary.
BINARY = (b"From: user@domain.org\r\n"
          b"Date: Sat, 24 Mar 2007 23:00:00 +0200\r\n"
          b"Mime-Version: 1.0\r\n"
          b"Content-Type: application/octet-stream\r\n"
          b"Content-Transfer-Encoding: binary\r\n"
          b"\r\n"
          b"\x00-\xe4\r\n\r\n")

# A multipart holding a base64 leaf and a message/rfc822 whose body is
# quoted-printable, inside a nested multipart (part 2).
MIXED = (b"From: user@domain.org\r\n"
         b"Mime-Version: 1.0\r\n"
         b"Content-Type: multipart/mixed; boundary=\"foo bar\"\r\n"
         b"\r\n"
         b"--foo bar\r\n"
         b"Content-Type: text/plain\r\n"
         b"\r\n"
         b"plain\r\n"
         b"--foo bar\r\n"
         b"Content-Type: multipart/alternative; boundary=in\r\n"
         b"\r\n"
         b"--in\r\n"
         b"Content-Type: application/x-b\r\n"
         b"Content-Transfer-Encoding: base64\r\n"
         b"\r\n"
         b"aGVsbG8gd29ybGQ=\r\n"
         b"--in--\r\n"
         b"--foo bar\r\n"
         b"Content-Type: message/rfc822\r\n"
         b"\r\n"
         b"Subject: inner\r\n"
         b"Content-Transfer-Encoding: quoted-printable\r\n"
         b"\r\n"
         b"a=3Db\r\n"
         b"--foo bar--\r\n")

ROUTED = (b"From: <@route:user@domain>\r\n"
          b"To: Someone <@a.example,@b.example:to@domain>, plain@domain\r\n"
          b"Subject: routed\r\n"
          b"\r\n"
          b"body\r\n")

COMMENTED = (b"From: <user-from (comment)@ (comment) domain.org>\r\n"
             b"To: <user-to@domain.org>\r\n"
             b"Subject: x\r\n"
             b"\r\n"
             b"body\r\n")


class ImapConformanceTest(unittest.TestCase):
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

    def raw(self):
        r = Raw(self.srv.ports["imap"])
        _, ok = r.cmd(b"L", b'LOGIN "%s" "%s"' % (USER.encode(),
                                                   PASSWORD.encode()))
        self.assertTrue(ok.startswith(b"L OK"), ok)
        self.addCleanup(r.close)
        return r

    def fresh(self, r, name):
        """A new, empty mailbox, selected; returns SELECT's untagged lines."""
        _, ok = r.cmd(b"C", b"CREATE " + name)
        self.assertTrue(ok.startswith(b"C OK"), ok)
        lines, ok = r.cmd(b"S", b"SELECT " + name)
        self.assertTrue(ok.startswith(b"S OK"), ok)
        self.assertIn(b"* 0 EXISTS", lines)
        return lines

    # --- imaptest "append", "uidplus" ---
    def test_append_to_selected_reports_exists(self):
        r = self.raw()
        self.fresh(r, b"ConfAppend")
        lines, ok = r.append(b"A1", b"ConfAppend", NESTED, b"(\\Seen \\Flagged)")
        # Recent in the session that has it selected (RFC 3501 7.3.2).
        self.assertEqual(lines, [b"* 1 EXISTS", b"* 1 RECENT"])
        self.assertRegex(ok, rb"^A1 OK \[APPENDUID \d+ 1\] ")
        lines, ok = r.cmd(b"A2", b"FETCH 1 (UID FLAGS)")
        self.assertEqual(len(lines), 1, lines)
        m = re.match(rb"^\* 1 FETCH \(UID 1 FLAGS \(([^)]*)\)\)$", lines[0])
        self.assertIsNotNone(m, lines[0])
        self.assertEqual(sorted(m.group(1).split()),
                         [b"\\Flagged", b"\\Recent", b"\\Seen"])
        self.assertTrue(ok.startswith(b"A2 OK"), ok)
        # MULTIAPPEND: both at once, before the OK.
        lines, ok = r.cmd(b"A3", b"APPEND ConfAppend {%d+}\r\n%s {%d+}\r\n%s"
                          % (len(QP), QP, len(QP), QP))
        self.assertEqual(lines, [b"* 3 EXISTS", b"* 3 RECENT"])
        self.assertRegex(ok, rb"^A3 OK \[APPENDUID \d+ 2:3\] ")
        # COPY of the new message right after (imaptest "uidplus").
        _, ok = r.cmd(b"A4", b"CREATE ConfAppend2")
        self.assertTrue(ok.startswith(b"A4 OK"), ok)
        lines, ok = r.cmd(b"A5", b"COPY 3 ConfAppend2")
        self.assertEqual(lines, [])
        self.assertRegex(ok, rb"^A5 OK \[COPYUID \d+ 3 1\] ")
        # Into another mailbox: nothing to report about the selected one.
        lines, ok = r.append(b"A6", b"ConfAppend2", QP)
        self.assertEqual(lines, [])
        self.assertRegex(ok, rb"^A6 OK \[APPENDUID \d+ 2\] ")
        lines, ok = r.cmd(b"A7", b"NOOP")
        self.assertEqual(lines, [])

    # --- imaptest "fetch-body-message-rfc822*" ---
    def test_sections_of_a_top_level_message_rfc822(self):
        r = self.raw()
        self.fresh(r, b"ConfNested")
        r.append(b"A", b"ConfNested", NESTED)
        inner = (b"From: sub@domain.org\r\nSubject: submsg\r\n\r\n"
                 b"Hello world\r\n")
        want = [
            (b"BODY[1]", inner),
            (b"BODY[1.1]", b"Hello world\r\n"),
            (b"BODY[1.HEADER]",
             b"From: sub@domain.org\r\nSubject: submsg\r\n\r\n"),
            (b"BODY[1.TEXT]", b"Hello world\r\n"),
            (b"BODY[1.HEADER.FIELDS (SUBJECT)]", b"Subject: submsg\r\n\r\n"),
            (b"BODY[TEXT]", inner),
        ]
        for i, (item, data) in enumerate(want):
            peek = item.replace(b"BODY[", b"BODY.PEEK[", 1)
            lines, ok = r.cmd(b"F%d" % i, b"FETCH 1 (" + peek + b")")
            self.assertEqual(lines, [b"* 1 FETCH (%s {%d}\r\n%s)"
                                     % (item, len(data), data)], item)
            self.assertTrue(ok.startswith(b"F%d OK" % i), ok)
        # 1.2 does not exist: the encapsulated message has one part.
        lines, _ = r.cmd(b"G", b"FETCH 1 (BODY.PEEK[1.2])")
        self.assertEqual(lines, [b"* 1 FETCH (BODY[1.2] NIL)"])

    # --- imaptest "fetch-binary-mime-qp" ---
    def test_binary_size_of_quoted_printable_is_exact(self):
        r = self.raw()
        self.fresh(r, b"ConfQP")
        r.append(b"A", b"ConfQP", QP)
        # "a=3Db  " -> "a=b" (the escape is one byte, trailing blanks go),
        # "soft=" CRLF "break" -> "softbreak": 3 + 2 + 9 + 2 = 16 bytes.
        decoded = b"a=b\r\nsoftbreak\r\n"
        lines, _ = r.cmd(b"B1", b"FETCH 1 (BINARY.SIZE[1])")
        self.assertEqual(lines, [b"* 1 FETCH (BINARY.SIZE[1] 16)"])
        lines, _ = r.cmd(b"B2", b"FETCH 1 (BINARY.PEEK[1])")
        # A literal8 or a literal (RFC 3516 4.2 prefers the latter).
        self.assertEqual(len(lines), 1, lines)
        self.assertEqual(lines[0].replace(b"~{", b"{", 1),
                         b"* 1 FETCH (BINARY[1] {16}\r\n%s)" % decoded)

    # --- imaptest "fetch-envelope" ---
    def test_source_route_is_the_addr_adl(self):
        r = self.raw()
        self.fresh(r, b"ConfRoute")
        r.append(b"A", b"ConfRoute", ROUTED)
        lines, ok = r.cmd(b"E", b"FETCH 1 (ENVELOPE)")
        self.assertTrue(ok.startswith(b"E OK"), ok)
        frm = b'((NIL "@route" "user" "domain"))'
        self.assertEqual(len(lines), 1, lines)
        self.assertIn(b'"routed" ' + frm + b" " + frm + b" " + frm + b" "
                      b'(("Someone" "@a.example,@b.example" "to" "domain")'
                      b'(NIL NIL "plain" "domain"))', lines[0])
        # Searched and sorted by the address alone.
        lines, _ = r.cmd(b"S", b'SEARCH FROM "user@domain"')
        self.assertEqual(lines, [b"* SEARCH 1"])
        lines, _ = r.cmd(b"T", b'SEARCH FROM "@route"')
        self.assertEqual(lines, [b"* SEARCH"])

    # --- imaptest "fetch-binary-mime" ---
    def test_binary_of_message_and_nonleaf_parts(self):
        r = self.raw()
        self.fresh(r, b"ConfBinMime")
        r.append(b"A", b"ConfBinMime", MIXED)
        leaf = (b"Content-Type: application/x-b\r\n"
                b"Content-Transfer-Encoding: binary\r\n\r\nhello world")
        inner = (b"Subject: inner\r\n"
                 b"Content-Transfer-Encoding: binary\r\n\r\na=b")
        # As BODY[2]: the CRLF before "--foo bar" is the delimiter's.
        body2 = b"--in\r\n" + leaf + b"\r\n--in--"
        whole = MIXED.replace(
            b"Content-Transfer-Encoding: base64\r\n\r\n"
            b"aGVsbG8gd29ybGQ=\r\n--in--",
            b"Content-Transfer-Encoding: binary\r\n\r\n"
            b"hello world\r\n--in--").replace(
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\na=3Db",
            b"Content-Transfer-Encoding: binary\r\n\r\na=b")
        want = [(b"BINARY[]", whole), (b"BINARY[2]", body2),
                (b"BINARY[2.1]", b"hello world"), (b"BINARY[3]", inner),
                (b"BINARY[1]", b"plain"), (b"BINARY[]<0.4>", whole[:4])]
        for i, (item, data) in enumerate(want):
            peek = item.replace(b"BINARY[", b"BINARY.PEEK[", 1)
            lines, ok = r.cmd(b"B%d" % i, b"FETCH 1 (" + peek + b")")
            self.assertTrue(ok.startswith(b"B%d OK" % i), ok)
            name = item.split(b"<")[0] + (b"<0>" if b"<" in item else b"")
            self.assertEqual(len(lines), 1, lines)
            self.assertEqual(lines[0].replace(b"~{", b"{", 1),
                             b"* 1 FETCH (%s {%d}\r\n%s)"
                             % (name, len(data), data), item)
            size = item.replace(b"BINARY[", b"BINARY.SIZE[", 1)
            if b"<" in size:
                continue
            lines, _ = r.cmd(b"S%d" % i, b"FETCH 1 (" + size + b")")
            self.assertEqual(lines, [b"* 1 FETCH (%s %d)"
                                     % (size, len(data))], size)

    # --- imaptest "esearch-condstore" ---
    def test_qresync_store_and_held_back_expunge(self):
        """RFC 7162 3.2.4: with QRESYNC on, every FETCH response to a STORE
        carries UID (.SILENT too).  3.2: while an expunge by another
        session waits (STORE may not report it), the response says a
        HIGHESTMODSEQ below the expunge's, so a client that disconnects
        then asks for it again; the expunge comes at the next NOOP.
        Found by imaptest's imap4rev2 stress mode with tracking."""
        a, b = self.raw(), self.raw()
        _, ok = a.cmd(b"E", b"ENABLE QRESYNC")
        self.assertTrue(ok.startswith(b"E OK"), ok)
        self.fresh(a, b"ConfHeld")
        for i in range(3):
            _, ok = a.append(b"A", b"ConfHeld", QP)
            self.assertTrue(ok.startswith(b"A OK"), ok)
        lines, ok = a.cmd(b"N", b"NOOP")
        lines, ok = a.cmd(b"T1", b"STORE 1 +FLAGS (\\Flagged)")
        self.assertEqual(len(lines), 1, lines)
        self.assertRegex(lines[0], rb"^\* 1 FETCH \(FLAGS \(\\Recent \\Flagged\) "
                         rb"UID 1 MODSEQ \(\d+\)\)$")
        lines, ok = a.cmd(b"T2", b"STORE 1 +FLAGS.SILENT (\\Answered)")
        self.assertEqual(len(lines), 1, lines)
        self.assertRegex(lines[0], rb"^\* 1 FETCH \(UID 1 MODSEQ \(\d+\)\)$")
        # Nothing waits: no HIGHESTMODSEQ code after its own STOREs.
        self.assertFalse([l for l in lines if b"HIGHESTMODSEQ" in l])
        # B expunges message 3; A's STORE may not tell it.
        _, ok = b.cmd(b"S", b"SELECT ConfHeld")
        _, ok = b.cmd(b"D", b"STORE 3 +FLAGS.SILENT (\\Deleted)")
        lines, ok = b.cmd(b"X", b"EXPUNGE")
        self.assertIn(b"* 3 EXPUNGE", lines)
        # One EXISTS at most, never the same one twice.
        self.assertLessEqual(lines.count(b"* 2 EXISTS"), 1, lines)
        lines, ok = b.cmd(b"H", b"STATUS ConfHeld (HIGHESTMODSEQ)")
        expunged_at = int(re.search(rb"HIGHESTMODSEQ (\d+)", lines[0]).group(1))
        time.sleep(0.3)		# B's change reaches A's imapd
        lines, ok = a.cmd(b"T3", b"STORE 2 +FLAGS (\\Draft)")
        self.assertFalse([l for l in lines if l.endswith(b"EXPUNGE") or
                          l.startswith(b"* VANISHED")], lines)
        held = [l for l in lines if l.startswith(b"* OK [HIGHESTMODSEQ ")]
        self.assertEqual(len(held), 1, lines)
        self.assertLess(int(re.search(rb"HIGHESTMODSEQ (\d+)", held[0])
                            .group(1)), expunged_at)
        lines, ok = a.cmd(b"N2", b"NOOP")
        self.assertIn(b"* VANISHED 3", lines)

    def test_fetch_modseq_enables_condstore(self):
        r = self.raw()
        self.fresh(r, b"ConfModseq")
        r.append(b"A1", b"ConfModseq", QP)
        r.append(b"A2", b"ConfModseq", QP)
        other = self.raw()
        lines, _ = other.cmd(b"S", b"STATUS ConfModseq (HIGHESTMODSEQ)")
        high = int(re.match(rb"\* STATUS ConfModseq \(HIGHESTMODSEQ (\d+)\)",
                            lines[0]).group(1))
        # Not CONDSTORE-aware yet: STORE answers without MODSEQ.
        lines, _ = r.cmd(b"T0", b"STORE 1 +FLAGS (\\Draft)")
        self.assertEqual(lines, [b"* 1 FETCH (FLAGS (\\Recent \\Draft))"])
        # The first enabling command with a mailbox selected.  The view
        # reached `high` (the APPENDs); its own STORE does not move it on
        # (a later sync does), and a lower HIGHESTMODSEQ only makes a
        # client ask again for a change it has, never miss one.
        lines, _ = r.cmd(b"F1", b"FETCH 1 (MODSEQ)")
        self.assertEqual(len(lines), 2, lines)
        self.assertEqual(lines[0], b"* OK [HIGHESTMODSEQ %d] Highest" % high)
        mod1 = int(re.match(rb"^\* 1 FETCH \(MODSEQ \((\d+)\)\)$",
                            lines[1]).group(1))
        self.assertGreater(mod1, high)
        # Only the first one.
        lines, _ = r.cmd(b"F2", b"FETCH 2 (MODSEQ)")
        self.assertEqual(len(lines), 1, lines)
        self.assertRegex(lines[0], rb"^\* 2 FETCH \(MODSEQ \(\d+\)\)$")
        # From now on STORE's FETCH responses carry UID and MODSEQ
        # (RFC 7162 3.2.4).
        # (The modseq counter is the account's: only "above" is certain.)
        lines, _ = r.cmd(b"T1", b"STORE 2 +FLAGS (\\Seen)")
        self.assertEqual(len(lines), 1, lines)
        m = re.match(rb"^\* 2 FETCH \(FLAGS \(\\Recent \\Seen\) UID 2 MODSEQ "
                     rb"\((\d+)\)\)$",
                     lines[0])
        self.assertIsNotNone(m, lines[0])
        self.assertGreater(int(m.group(1)), mod1)

    def test_status_highestmodseq_enables_condstore(self):
        r = self.raw()
        self.fresh(r, b"ConfStatusA")
        r.append(b"A", b"ConfStatusA", QP)
        _, ok = r.cmd(b"C", b"CREATE ConfStatusB")
        self.assertTrue(ok.startswith(b"C OK"), ok)
        other = self.raw()
        lines, _ = other.cmd(b"S", b"STATUS ConfStatusA (HIGHESTMODSEQ)")
        high_a = re.match(rb"\* STATUS ConfStatusA \(HIGHESTMODSEQ (\d+)\)",
                          lines[0]).group(1)
        lines, _ = r.cmd(b"S1", b"STATUS ConfStatusB (HIGHESTMODSEQ)")
        # The selected mailbox's HIGHESTMODSEQ, then the STATUS asked for.
        self.assertEqual(len(lines), 2, lines)
        self.assertEqual(lines[0], b"* OK [HIGHESTMODSEQ %s] Highest" % high_a)
        self.assertRegex(lines[1],
                         rb"^\* STATUS ConfStatusB \(HIGHESTMODSEQ \d+\)$")
        # The account's modseq counter moved on with CREATE: only "above".
        lines, _ = r.cmd(b"T", b"STORE 1 +FLAGS (\\Seen)")
        self.assertEqual(len(lines), 1, lines)
        m = re.match(rb"^\* 1 FETCH \(FLAGS \(\\Recent \\Seen\) UID 1 MODSEQ "
                     rb"\((\d+)\)\)$",
                     lines[0])
        self.assertIsNotNone(m, lines[0])
        self.assertGreater(int(m.group(1)), int(high_a))

    def test_store_unchangedsince_enables_condstore(self):
        r = self.raw()
        self.fresh(r, b"ConfUnchanged")
        r.append(b"A", b"ConfUnchanged", QP)
        other = self.raw()
        lines, _ = other.cmd(b"S", b"STATUS ConfUnchanged (HIGHESTMODSEQ)")
        high = int(re.match(rb"\* STATUS ConfUnchanged \(HIGHESTMODSEQ (\d+)\)",
                            lines[0]).group(1))
        lines, ok = r.cmd(b"T", b"STORE 1 (UNCHANGEDSINCE %d) +FLAGS (\\Seen)"
                          % high)
        self.assertEqual(len(lines), 2, lines)
        self.assertEqual(lines[0], b"* OK [HIGHESTMODSEQ %d] Highest" % high)
        m = re.match(rb"^\* 1 FETCH \(FLAGS \(\\Recent \\Seen\) UID 1 MODSEQ "
                     rb"\((\d+)\)\)$",
                     lines[1])
        self.assertIsNotNone(m, lines[1])
        self.assertGreater(int(m.group(1)), high)
        self.assertTrue(ok.startswith(b"T OK"), ok)

    # --- imaptest "search-addresses" ---
    def test_comments_inside_addr_spec(self):
        r = self.raw()
        self.fresh(r, b"ConfAddr")
        r.append(b"A", b"ConfAddr", COMMENTED)
        lines, _ = r.cmd(b"F", b"FETCH 1 (ENVELOPE)")
        self.assertEqual(lines, [
            b'* 1 FETCH (ENVELOPE (NIL "x" ((NIL NIL "user-from" "domain.org"))'
            b' ((NIL NIL "user-from" "domain.org"))'
            b' ((NIL NIL "user-from" "domain.org"))'
            b' ((NIL NIL "user-to" "domain.org")) NIL NIL NIL NIL))'])
        lines, _ = r.cmd(b"S1", b"SEARCH FROM user-from@domain.org")
        self.assertEqual(lines, [b"* SEARCH 1"])
        lines, _ = r.cmd(b"S2", b"SEARCH FROM comment")
        self.assertEqual(lines, [b"* SEARCH"])

    # --- imaptest "uidvalidity" ---
    def test_recreated_mailbox_gets_a_new_uidvalidity(self):
        """Deleted and made again at once, a mailbox must not get its old
        UIDVALIDITY (and UIDNEXT 1) back: RFC 9051 2.3.1.1."""
        r = self.raw()
        seen = set()
        for i in range(3):
            lines = self.fresh(r, b"ConfAgain")
            m = re.search(rb"\[UIDVALIDITY (\d+)\]", b" ".join(lines))
            self.assertIsNotNone(m, lines)
            self.assertNotIn(m.group(1), seen)
            seen.add(m.group(1))
            _, ok = r.cmd(b"U", b"UNSELECT")
            self.assertTrue(ok.startswith(b"U OK"), ok)
            _, ok = r.cmd(b"D", b"DELETE ConfAgain")
            self.assertTrue(ok.startswith(b"D OK"), ok)

    # --- imaptest "sort-addresses", "sort-display-from" ---
    def test_sort_keys_follow_the_envelope(self):
        """SORT CC takes the first ENVELOPE address's mailbox, which for a
        group is the group's name (RFC 5256 3); a lone word ("From: d") is
        a local part, and its DISPLAYFROM key is that word (RFC 5957)."""
        r = self.raw()
        self.fresh(r, b"ConfSort")
        for frm, cc in ((b"user2@domain2.org", b"user2@domain2.org"),
                        (b"b@c.d", b"user2: blah@domain1.org;"),
                        (b"d", b"user1@domain1.org")):
            msg = (b"From: " + frm + b"\r\nCc: " + cc +
                   b"\r\nSubject: s\r\n\r\nbody\r\n")
            _, ok = r.append(b"A", b"ConfSort", msg)
            self.assertTrue(ok.startswith(b"A OK"), ok)
        lines, ok = r.cmd(b"S1", b"SORT (CC) US-ASCII ALL")
        self.assertEqual(lines, [b"* SORT 3 1 2"])
        lines, ok = r.cmd(b"S2", b"SORT (DISPLAYFROM) US-ASCII ALL")
        self.assertEqual(lines, [b"* SORT 2 3 1"])

    # --- imaptest "esearch-condstore" ---
    def test_esearch_modseq_of_what_is_returned(self):
        """With a MODSEQ key, ESEARCH's MODSEQ is the highest of the
        messages it returns: MIN alone returns the first (RFC 7162
        3.1.5, RFC 4731 3.2)."""
        r = self.raw()
        self.fresh(r, b"ConfEsm")
        for i in range(3):
            _, ok = r.append(b"A", b"ConfEsm", b"Subject: %d\r\n\r\nx\r\n" % i)
            self.assertTrue(ok.startswith(b"A OK"), ok)
        modseq = {}
        for n in (3, 1, 2):	# the last changed is 2
            lines, ok = r.cmd(b"F", b"STORE %d +FLAGS (\\Flagged)" % n)
            lines, ok = r.cmd(b"M", b"FETCH %d (MODSEQ)" % n)
            m = re.search(rb"\* %d FETCH \(MODSEQ \((\d+)\)\)" % n,
                          b"\n".join(lines))
            self.assertIsNotNone(m, lines)
            modseq[n] = int(m.group(1))
        lines, ok = r.cmd(b"S1", b"SEARCH RETURN (MIN) MODSEQ 1")
        self.assertEqual(lines, [b'* ESEARCH (TAG "S1") MIN 1 MODSEQ %d'
                                 % modseq[1]])
        lines, ok = r.cmd(b"S2", b"SEARCH RETURN (MAX) MODSEQ 1")
        self.assertEqual(lines, [b'* ESEARCH (TAG "S2") MAX 3 MODSEQ %d'
                                 % modseq[3]])
        lines, ok = r.cmd(b"S3", b"SEARCH RETURN (COUNT) MODSEQ 1")
        self.assertEqual(lines, [b'* ESEARCH (TAG "S3") COUNT 3 MODSEQ %d'
                                 % modseq[2]])

    # --- imaptest "append-binary" ---
    def test_append_binary_encodes_nul(self):
        r = self.raw()
        self.fresh(r, b"ConfBin")
        lines, ok = r.cmd(b"A1", b"APPEND ConfBin ~{%d+}\r\n%s"
                          % (len(BINARY), BINARY))
        self.assertRegex(ok, rb"^A1 OK \[APPENDUID \d+ 1\] ")
        # Stored as base64 (RFC 3516 4.4 lets the server change the CTE):
        # 00 2d e4 0d 0a 0d 0a, the message's last line ended by CRLF.
        stored = BINARY.replace(b"binary", b"base64").replace(
            b"\x00-\xe4\r\n\r\n", b"AC3kDQoNCg==\r\n")
        lines, _ = r.cmd(b"F1", b"FETCH 1 (RFC822.SIZE BODY.PEEK[1] "
                         b"BODY.PEEK[])")
        self.assertEqual(lines, [b"* 1 FETCH (RFC822.SIZE %d BODY[1] {14}"
                                 b"\r\nAC3kDQoNCg==\r\n BODY[] {%d}\r\n%s)"
                                 % (len(stored), len(stored), stored)])
        lines, _ = r.cmd(b"F2", b"FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])")
        self.assertEqual(lines, [b"* 1 FETCH (BINARY.SIZE[1] 7 BINARY[1] "
                                 b"~{7}\r\n\x00-\xe4\r\n\r\n)"])
        lines, _ = r.cmd(b"F3", b"FETCH 1 (BODYSTRUCTURE)")
        self.assertEqual(len(lines), 1, lines)
        self.assertIn(b'("application" "octet-stream" NIL NIL NIL "base64" 14',
                      lines[0])

    def test_append_binary_multipart_and_refusals(self):
        """Only the part with a NUL is re-encoded; a literal8 without NUL
        is stored as sent; a NUL in a header is NO [UNKNOWN-CTE]."""
        r = self.raw()
        self.fresh(r, b"ConfBin2")
        raw = bytes(range(256))
        msg = (b"From: a@domain.org\r\nMime-Version: 1.0\r\n"
               b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
               b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
               b"Content-Transfer-Encoding: 8bit\r\n\r\n"
               b"K\xc3\xb6ln\r\n"
               b"--b\r\nContent-Type: application/x-raw\r\n"
               b"Content-Transfer-Encoding: binary\r\n\r\n" + raw +
               b"\r\n--b--\r\n")
        _, ok = r.cmd(b"A1", b"APPEND ConfBin2 ~{%d+}\r\n%s" % (len(msg), msg))
        self.assertTrue(ok.startswith(b"A1 OK"), ok)
        lines, _ = r.cmd(b"F1", b"FETCH 1 (BODY.PEEK[1] BODY.PEEK[2.MIME] "
                         b"BINARY.SIZE[2])")
        self.assertEqual(lines, [
            b"* 1 FETCH (BODY[1] {5}\r\nK\xc3\xb6ln BODY[2.MIME] {70}\r\n"
            b"Content-Type: application/x-raw\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n BINARY.SIZE[2] 256)"])
        lines, _ = r.cmd(b"F2", b"FETCH 1 (BINARY.PEEK[2])")
        self.assertEqual(lines, [b"* 1 FETCH (BINARY[2] ~{256}\r\n%s)" % raw])
        # No NUL: nothing to change, the octets are kept as they came.
        plain = BINARY.replace(b"\x00", b"\x01")
        _, ok = r.cmd(b"A2", b"APPEND ConfBin2 ~{%d+}\r\n%s"
                      % (len(plain), plain))
        self.assertTrue(ok.startswith(b"A2 OK"), ok)
        lines, _ = r.cmd(b"F3", b"FETCH 2 (BODY.PEEK[])")
        self.assertEqual(lines, [b"* 2 FETCH (BODY[] {%d}\r\n%s)"
                                 % (len(plain), plain)])
        # A NUL in a header field: no body encoding can hold it.
        bad = b"Subject: a\x00b\r\n\r\nbody\r\n"
        lines, ok = r.cmd(b"A3", b"APPEND ConfBin2 ~{%d+}\r\n%s"
                          % (len(bad), bad))
        self.assertTrue(ok.startswith(b"A3 NO [UNKNOWN-CTE]"), ok)
        lines, _ = r.cmd(b"N", b"NOOP")
        self.assertEqual(lines, [])
        lines, _ = r.cmd(b"ST", b"STATUS ConfBin2 (MESSAGES)")
        self.assertEqual(lines, [b"* STATUS ConfBin2 (MESSAGES 2)"])

    # --- imaptest "move" ---
    def test_move_within_the_mailbox(self):
        """MOVE into the selected mailbox itself (RFC 6851 allows it): the
        message gets a new UID there and the old one is expunged."""
        r = self.raw()
        self.fresh(r, b"ConfMove")
        _, ok = r.append(b"A", b"ConfMove", b"Subject: m\r\n\r\nx\r\n",
                         b"(\\Flagged)")
        self.assertTrue(ok.startswith(b"A OK"), ok)
        lines, ok = r.cmd(b"M", b"UID MOVE 1 ConfMove")
        self.assertTrue(ok.startswith(b"M OK"), ok)
        self.assertTrue([l for l in lines if re.match(
            rb"\* OK \[COPYUID \d+ 1 2\]", l)], lines)
        self.assertIn(b"* 1 EXPUNGE", lines)
        self.assertIn(b"* 1 EXISTS", lines)
        lines, ok = r.cmd(b"F", b"FETCH 1:* (UID FLAGS)")
        self.assertEqual(lines,
                         [b"* 1 FETCH (UID 2 FLAGS (\\Recent \\Flagged))"])


if __name__ == "__main__":
    unittest.main()

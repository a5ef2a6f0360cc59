# SPDX-License-Identifier: ISC
"""imapd's SORT, THREAD, ESORT and PARTIAL against the real bulwarkd.

SORT (RFC 5256) with every key, REVERSE, ties broken by sequence number,
DISPLAYFROM and DISPLAYTO (RFC 5957), UID SORT, the ESEARCH answers of
ESORT (RFC 5267) with PARTIAL ranges (RFC 9394), SEARCH with PARTIAL and
SAVE, and THREAD ORDEREDSUBJECT and REFERENCES (RFC 5256) over chains of
References and In-Reply-To, missing parents and replies found only by
their subject.  Every expected order was worked out by hand from the
messages below; the reasoning is written beside each.
"""
import unittest

from bulwark import Server
from test_imap_mail import Raw

USER = "sorter@example.org"
PASSWORD = "imap sort test"


def sized(header, size):
    """The message header + a body padded to exactly size bytes."""
    msg = header + b"\r\n"
    lines = []
    left = size - len(msg)
    assert left >= 0, (header, size)
    while left > 0:
        n = min(left, 60)
        if n >= 3:
            lines.append(b"x" * (n - 2) + b"\r\n")
        else:
            lines.append(b"y" * n)
        left -= n
    return msg + b"".join(lines)


# The SORT messages, in the order they are appended (sequence numbers 1-5).
# Sent dates in UTC, arrival (INTERNALDATE), sizes:
#   1: Nov 24 10:00, Jan 5 10:00, 300   (from "Zed Alpha" <bob@>)
#   2: Nov 24 00:30, Jan 3,       500   (Mon 23:30 -0100)
#   3: none -> Jan 1 12:00,  Jan 1 12:00, 400
#   4: Nov 24 10:00, Jan 5 10:00, 300   (ties 1 on DATE, ARRIVAL, SIZE)
#   5: Nov 25 07:00, Jan 2,       200   (08:00 +0100; no From/To/Subject)
SORT_MSGS = [
    (b'"05-Jan-2026 10:00:00 +0000"', sized(
        b"From: =?UTF-8?Q?Zed_Alpha?= <bob@example.org>\r\n"
        b"To: carol@x.org\r\n"
        b"Subject: Re: Fwd: hello\r\n"
        b"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
        b"Message-ID: <s1@example.org>\r\n", 300)),
    (b'"03-Jan-2026 10:00:00 +0000"', sized(
        b"From: alice@example.org\r\n"
        b"To: Bob <zoe@x.org>\r\n"
        b"Cc: dave@x.org\r\n"
        b"Subject: apple\r\n"
        b"Date: Mon, 23 Nov 2026 23:30:00 -0100\r\n"
        b"Message-ID: <s2@example.org>\r\n", 500)),
    (b'"01-Jan-2026 12:00:00 +0000"', sized(
        b"From: adam <Yves@example.org>\r\n"
        b"To: \"alice a\" <ann@x.org>\r\n"
        b"Cc: Bob@x.org, aaron@x.org\r\n"
        b"Subject: Hello\r\n"
        b"Message-ID: <s3@example.org>\r\n", 400)),
    (b'"05-Jan-2026 10:00:00 +0000"', sized(
        b"From: Mallory <mallory@example.org>\r\n"
        b"To: ben@x.org\r\n"
        b"Subject: [list] banana\r\n"
        b"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
        b"Message-ID: <s4@example.org>\r\n", 300)),
    (b'"02-Jan-2026 10:00:00 +0000"', sized(
        b"Date: Wed, 25 Nov 2026 08:00:00 +0100\r\n"
        b"Message-ID: <s5@example.org>\r\n", 200)),
]

# The THREAD messages (sequence numbers 1-8):
#   1 <a> "hello"                               Nov 1
#   2 <b> "Re: hello", In-Reply-To <a>          Nov 2
#   3 <c> "Re: hello", References <a> <b>       Nov 3
#   4 <d> "Re: Fwd: hello", no references       Nov 4
#   5 <e> "Re: lost", References <missing>      Nov 5
#   6 <f> "Re: lost", References <missing>      Nov 6
#   7 <g> "Re: orphan", In-Reply-To <gone>      Oct 7
#   8 <h> "hello", no references                Nov 8
THREAD_MSGS = [
    b"Subject: hello\r\nDate: Sun, 01 Nov 2026 10:00:00 +0000\r\n"
    b"Message-ID: <a@x.org>\r\n",
    b"Subject: Re: hello\r\nDate: Mon, 02 Nov 2026 10:00:00 +0000\r\n"
    b"Message-ID: <b@x.org>\r\nIn-Reply-To: <a@x.org>\r\n",
    b"Subject: Re: hello\r\nDate: Tue, 03 Nov 2026 10:00:00 +0000\r\n"
    b"Message-ID: <c@x.org>\r\nReferences: <a@x.org> <b@x.org>\r\n",
    b"Subject: Re: Fwd: hello\r\nDate: Wed, 04 Nov 2026 10:00:00 +0000\r\n"
    b"Message-ID: <d@x.org>\r\n",
    b"Subject: Re: lost\r\nDate: Thu, 05 Nov 2026 10:00:00 +0000\r\n"
    b"Message-ID: <e@x.org>\r\nReferences: <missing@x.org>\r\n",
    b"Subject: Re: lost\r\nDate: Fri, 06 Nov 2026 10:00:00 +0000\r\n"
    b"Message-ID: <f@x.org>\r\nReferences: <missing@x.org>\r\n",
    b"Subject: Re: orphan\r\nDate: Wed, 07 Oct 2026 10:00:00 +0000\r\n"
    b"Message-ID: <g@x.org>\r\nIn-Reply-To: <gone@x.org>\r\n",
    b"Subject: hello\r\nDate: Sun, 08 Nov 2026 10:00:00 +0000\r\n"
    b"Message-ID: <h@x.org>\r\n",
]


class ImapSortTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(None, imap_workers=1, cleartext="yes")
        try:
            cls.srv.start()
            cls.srv.add_account(USER, PASSWORD)
            cls.fill()
        except Exception:
            cls.srv.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    @classmethod
    def fill(cls):
        """So and Th, each after an expunged first message: UID = MSN + 1."""
        r = Raw(cls.srv.ports["imap"])
        r.cmd(b"L", b'LOGIN "%s" "%s"' % (USER.encode(), PASSWORD.encode()))
        for box, msgs in ((b"So", SORT_MSGS),
                          (b"Th", [(None, sized(h, 200))
                                   for h in THREAD_MSGS])):
            r.cmd(b"C", b"CREATE " + box)
            for date, m in [(None, b"Subject: placeholder\r\n\r\nx\r\n")] + \
                    msgs:
                r.send(b"A APPEND %s %s{%d+}\r\n"
                       % (box, date + b" " if date else b"", len(m))
                       + m + b"\r\n")
                line = r.until(b"A")[-1]
                assert line.startswith(b"A OK"), line
            r.cmd(b"S", b"SELECT " + box)
            r.cmd(b"D", b"STORE 1 +FLAGS (\\Deleted)")
            line = r.cmd(b"E", b"EXPUNGE")[-1]
            assert line.startswith(b"E OK"), line
        r.close()

    def raw(self, box):
        r = Raw(self.srv.ports["imap"])
        r.cmd(b"L", b'LOGIN "%s" "%s"' % (USER.encode(), PASSWORD.encode()))
        lines = r.cmd(b"S", b"SELECT " + box)
        self.assertTrue(lines[-1].startswith(b"S OK"), lines)
        return r

    def untagged(self, r, cmd, word):
        """The one untagged `word` response of cmd; the command must be OK."""
        lines = r.cmd(b"T", cmd)
        self.assertTrue(lines[-1].startswith(b"T OK"), (cmd, lines))
        got = [l for l in lines if l.startswith(b"* " + word)]
        self.assertEqual(len(got), 1, (cmd, lines))
        return got[0]

    def sort(self, r, args, uid=False):
        line = self.untagged(r, (b"UID " if uid else b"") + b"SORT " + args,
                             b"SORT")
        return line[len(b"* SORT"):].strip()

    # --- Capabilities ---
    def test_capabilities(self):
        r = Raw(self.srv.ports["imap"])
        caps = self.untagged(r, b"CAPABILITY", b"CAPABILITY").split()
        for c in (b"SORT", b"SORT=DISPLAY", b"ESORT", b"THREAD=ORDEREDSUBJECT",
                  b"THREAD=REFERENCES", b"PARTIAL", b"I18NLEVEL=1"):
            self.assertIn(c, caps)
        self.assertNotIn(b"CONTEXT=SORT", caps)
        r.close()

    # --- SORT ---
    def test_sort_keys(self):
        r = self.raw(b"So")
        cases = {
            # Sent dates: 3 (Jan 1, internal date), 2 (Nov 24 00:30
            # UTC), 1 and 4 (Nov 24 10:00, tie by number), 5 (Nov 25).
            b"(DATE)": b"3 2 1 4 5",
            # REVERSE reverses the dates only; 1 and 4 stay in order.
            b"(REVERSE DATE)": b"5 1 4 2 3",
            # Internal dates: 3 (Jan 1), 5 (Jan 2), 2 (Jan 3), 1 = 4.
            b"(ARRIVAL)": b"3 5 2 1 4",
            b"(REVERSE ARRIVAL)": b"1 4 2 5 3",
            # Sizes 300 500 400 300 200.
            b"(SIZE)": b"5 1 4 3 2",
            b"(REVERSE SIZE)": b"2 3 1 4 5",
            # addr-mailbox of From: bob alice Yves mallory "".
            b"(FROM)": b"5 2 1 4 3",
            b"(REVERSE FROM)": b"3 4 1 2 5",
            # addr-mailbox of To: carol zoe ann ben "".
            b"(TO)": b"5 3 4 1 2",
            # First Cc: "" dave Bob "" "": the empty ones first, by number.
            b"(CC)": b"1 4 5 3 2",
            b"(REVERSE CC)": b"2 3 1 4 5",
            # Base subjects: hello apple Hello banana "".
            b"(SUBJECT)": b"5 2 4 1 3",
            b"(REVERSE SUBJECT)": b"1 3 4 2 5",
            # "hello" of 1 (Nov 24) and of 3 (Jan 1) ordered by date.
            b"(SUBJECT DATE)": b"5 2 4 3 1",
            b"(SUBJECT REVERSE DATE)": b"5 2 4 1 3",
            # Cc "" for 1 (300), 4 (300), 5 (200): by size, 1 before 4.
            b"(CC SIZE)": b"5 1 4 3 2",
            b"(CC REVERSE SIZE)": b"1 4 5 3 2",
            # Display names: "Zed Alpha" (decoded), alice@example.org
            # (none given: the address), adam, Mallory, "".
            b"(DISPLAYFROM)": b"5 3 2 4 1",
            b"(REVERSE DISPLAYFROM)": b"1 4 2 3 5",
            # To: carol@x.org, Bob, alice a, ben@x.org, "".
            b"(DISPLAYTO)": b"5 3 4 2 1",
            b"(reverse size Date)": b"2 3 1 4 5",
        }
        for crit, want in cases.items():
            self.assertEqual(self.sort(r, crit + b" UTF-8 ALL"), want, crit)
        r.close()

    def test_sort_criteria_and_uid(self):
        r = self.raw(b"So")
        # FROM alice matches only 2.
        self.assertEqual(self.sort(r, b"(SIZE) UTF-8 NOT FROM alice"),
                         b"5 1 4 3")
        self.assertEqual(self.sort(r, b"(DATE) US-ASCII 2:4"), b"3 2 4")
        # SUBJECT matches "Re: Fwd: hello" and "Hello"; a literal.
        self.assertEqual(self.sort(r, b"(DATE) \"UTF-8\" SUBJECT {5+}\r\n"
                                      b"hello"), b"3 1")
        self.assertEqual(self.sort(r, b"(DATE) UTF-8 KEYWORD $none"), b"")
        # UID SORT answers with UIDs (one more than the numbers), and
        # takes sequence numbers in its criteria like UID SEARCH.
        self.assertEqual(self.sort(r, b"(DATE) UTF-8 ALL", uid=True),
                         b"4 3 2 5 6")
        self.assertEqual(self.sort(r, b"(DATE) UTF-8 1:2", uid=True),
                         b"3 2")
        self.assertEqual(self.sort(r, b"(DATE) UTF-8 UID 2:3", uid=True),
                         b"3 2")
        r.close()

    def test_sort_modseq_and_rev2(self):
        r = self.raw(b"So")
        # CONDSTORE (RFC 7162 3.1.5): the highest mod-sequence follows;
        # the first MODSEQ key turns CONDSTORE on (3.1).
        lines = r.cmd(b"M", b"SORT (SIZE) UTF-8 MODSEQ 1")
        self.assertTrue([l for l in lines
                         if l.startswith(b"* OK [HIGHESTMODSEQ ")], lines)
        got = self.sort(r, b"(DATE) UTF-8 MODSEQ 1")
        self.assertRegex(got, rb"^3 2 1 4 5 \(MODSEQ [1-9][0-9]*\)$")
        # IMAP4rev2 makes SEARCH answer with ESEARCH, not SORT.
        r.cmd(b"E", b"ENABLE IMAP4rev2")
        self.assertEqual(self.sort(r, b"(REVERSE DATE) UTF-8 ALL"),
                         b"5 1 4 2 3")
        r.close()

    def test_sort_errors(self):
        r = self.raw(b"So")
        for args in (b"(FOO) UTF-8 ALL", b"DATE UTF-8 ALL", b"() UTF-8 ALL",
                     b"(DATE) UTF-8", b"(DATE)", b"(REVERSE) UTF-8 ALL",
                     b"(DATE) UTF-8 FOO", b"(DATE ) UTF-8 ALL",
                     b"RETURN (ALL PARTIAL 1:2) (DATE) UTF-8 ALL",
                     b"RETURN (BOGUS) (DATE) UTF-8 ALL"):
            lines = r.cmd(b"B", b"SORT " + args)
            self.assertTrue(lines[-1].startswith(b"B BAD"), (args, lines))
        lines = r.cmd(b"N", b"SORT (DATE) KOI8-R ALL")
        self.assertTrue(lines[-1].startswith(b"N NO [BADCHARSET"), lines)
        lines = r.cmd(b"T", b"THREAD FOO UTF-8 ALL")
        self.assertTrue(lines[-1].startswith(b"T BAD"), lines)
        r.close()

    # --- ESORT and PARTIAL ---
    def test_esort(self):
        r = self.raw(b"So")
        cases = {
            # DATE order: 3 2 1 4 5; MIN and MAX are its ends.
            b"SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 ALL":
                b'* ESEARCH (TAG "T") MIN 3 MAX 5 COUNT 5',
            b"SORT RETURN (ALL) (DATE) UTF-8 ALL":
                b'* ESEARCH (TAG "T") ALL 3,2,1,4:5',
            b"UID SORT RETURN () (DATE) UTF-8 ALL":
                b'* ESEARCH (TAG "T") UID ALL 4,3,2,5:6',
            b"SORT RETURN (PARTIAL 2:3) (DATE) UTF-8 ALL":
                b'* ESEARCH (TAG "T") PARTIAL (2:3 2,1)',
            # -1 is the last result; written either way round.
            b"SORT RETURN (PARTIAL -1:-2) (DATE) UTF-8 ALL":
                b'* ESEARCH (TAG "T") PARTIAL (-1:-2 4:5)',
            b"UID SORT RETURN (PARTIAL -4:-2 COUNT) (REVERSE SIZE) UTF-8 "
            b"ALL":
                b'* ESEARCH (TAG "T") UID COUNT 5 PARTIAL (-4:-2 4,2,5)',
            b"SORT RETURN (PARTIAL 4:9) (SIZE) UTF-8 ALL":
                b'* ESEARCH (TAG "T") PARTIAL (4:9 3,2)',
            b"SORT RETURN (PARTIAL 6:10) (DATE) UTF-8 ALL":
                b'* ESEARCH (TAG "T") PARTIAL (6:10 NIL)',
            b"SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 KEYWORD $none":
                b'* ESEARCH (TAG "T") COUNT 0',
        }
        for cmd, want in cases.items():
            self.assertEqual(self.untagged(r, cmd, b"ESEARCH"), want, cmd)
        r.close()

    def test_search_partial(self):
        r = self.raw(b"So")
        cases = {
            b"SEARCH RETURN (PARTIAL 1:2) ALL":
                b'* ESEARCH (TAG "T") PARTIAL (1:2 1:2)',
            b"UID SEARCH RETURN (PARTIAL -1:-3) ALL":
                b'* ESEARCH (TAG "T") UID PARTIAL (-1:-3 4:6)',
            # NOT FROM alice: 1 3 4 5; positions 2 and 3.
            b"SEARCH RETURN (PARTIAL 3:2) NOT FROM alice":
                b'* ESEARCH (TAG "T") PARTIAL (3:2 3:4)',
            b"SEARCH RETURN (PARTIAL -6:-9) ALL":
                b'* ESEARCH (TAG "T") PARTIAL (-6:-9 NIL)',
            b"SEARCH RETURN (COUNT PARTIAL 4:8) ALL":
                b'* ESEARCH (TAG "T") COUNT 5 PARTIAL (4:8 4:5)',
            b"SEARCH RETURN (MIN PARTIAL -5:-5) ALL":
                b'* ESEARCH (TAG "T") MIN 1 PARTIAL (-5:-5 1)',
            b"SEARCH RETURN (PARTIAL 1:100) KEYWORD $none":
                b'* ESEARCH (TAG "T") PARTIAL (1:100 NIL)',
        }
        for cmd, want in cases.items():
            self.assertEqual(self.untagged(r, cmd, b"ESEARCH"), want, cmd)
        for cmd in (b"SEARCH RETURN (PARTIAL 1:2 ALL) ALL",
                    b"SEARCH RETURN (PARTIAL 0:2) ALL",
                    b"SEARCH RETURN (PARTIAL -1:2) ALL",
                    b"SEARCH RETURN (PARTIAL 1:*) ALL"):
            lines = r.cmd(b"B", cmd)
            self.assertTrue(lines[-1].startswith(b"B BAD"), (cmd, lines))
        r.close()

    def test_partial_save(self):
        """RFC 9394 3.2: what "$" holds after SAVE with PARTIAL."""
        r = self.raw(b"So")
        self.untagged(r, b"SEARCH RETURN (SAVE PARTIAL 2:3) ALL", b"ESEARCH")
        self.assertEqual(self.untagged(r, b"SEARCH $", b"SEARCH"),
                         b"* SEARCH 2 3")
        self.untagged(r, b"SEARCH RETURN (SAVE MAX PARTIAL 1:2) ALL",
                      b"ESEARCH")
        self.assertEqual(self.untagged(r, b"SEARCH $", b"SEARCH"),
                         b"* SEARCH 1 2 5")
        self.untagged(r, b"SEARCH RETURN (SAVE COUNT PARTIAL 1:1) ALL",
                      b"ESEARCH")
        self.assertEqual(self.untagged(r, b"SEARCH $", b"SEARCH"),
                         b"* SEARCH 1 2 3 4 5")
        # SORT with SAVE: "$" is the set found, order aside.
        lines = r.cmd(b"T", b"SORT RETURN (SAVE) (DATE) UTF-8 2:3")
        self.assertEqual([l for l in lines if l.startswith(b"*")], [])
        self.assertEqual(self.untagged(r, b"SEARCH $", b"SEARCH"),
                         b"* SEARCH 2 3")
        r.close()

    # --- THREAD ---
    def thread(self, r, args, uid=False):
        line = self.untagged(r, (b"UID " if uid else b"") + b"THREAD " +
                             args, b"THREAD")
        return line[len(b"* THREAD"):].strip()

    def test_sort_unicode_casemap(self):
        """RFC 5256 7: strings collate in i;unicode-casemap (RFC 5051):
        titlecase, then decomposed, then octets.  "apfel" (APFEL) sorts
        before "\u00e4rger" (A, U+0308 = CC 88, RGER: 0xCC > 'P'), which
        sorts before "Zebra"; i;ascii-casemap would put "\u00e4rger"
        (0xC3) after "Zebra".  "\u00c4rger" and "A\u0308rger" (decomposed)
        are the same string to it and tie by sequence number, and so do
        the Greek sigmas."""
        r = Raw(self.srv.ports["imap"])
        r.cmd(b"L", b'LOGIN "%s" "%s"' % (USER.encode(), PASSWORD.encode()))
        r.cmd(b"C", b"CREATE Uni")
        subjects = ["Zebra", "\u00e4rger", "apfel", "\u00c4rger",
                    "A\u0308rger", "\u03c3igma", "\u03a3IGMA"]
        for subj in subjects:
            m = ("Subject: =?UTF-8?B?%s?=\r\n\r\nx\r\n" % __import__(
                "base64").b64encode(subj.encode()).decode()).encode()
            r.send(b"A APPEND Uni {%d+}\r\n" % len(m) + m + b"\r\n")
            line = r.until(b"A")[-1]
            self.assertTrue(line.startswith(b"A OK"), line)
        lines = r.cmd(b"S", b"SELECT Uni")
        self.assertTrue(lines[-1].startswith(b"S OK"), lines)
        # Keys: ZEBRA, A\u0308RGER (2, 4, 5), APFEL, \u03a3IGMA (6, 7).
        # "APFEL" < "A\u0308RGER" ('P' 0x50 < 0xCC) < "ZEBRA" < Greek.
        self.assertEqual(self.sort(r, b"(SUBJECT) UTF-8 ALL"),
                         b"3 2 4 5 1 6 7")
        self.assertEqual(self.sort(r, b"(REVERSE SUBJECT) UTF-8 ALL"),
                         b"6 7 1 2 4 5 3")
        # ORDEREDSUBJECT groups the three spellings of one subject.
        self.assertEqual(self.thread(r, b"ORDEREDSUBJECT UTF-8 ALL"),
                         b"(1)(2 (4)(5))(3)(6 7)")
        r.close()

    def test_thread_orderedsubject(self):
        r = self.raw(b"Th")
        # Base subjects: hello (1 2 3 4 8), lost (5 6), orphan (7).
        # Threads by their first date: orphan (Oct 7), hello (Nov 1),
        # lost (Nov 5); the second message is the first's child, the
        # others its siblings.
        self.assertEqual(self.thread(r, b"ORDEREDSUBJECT UTF-8 ALL"),
                         b"(7)(1 (2)(3)(4)(8))(5 6)")
        self.assertEqual(self.thread(r, b"ORDEREDSUBJECT UTF-8 ALL",
                                     uid=True),
                         b"(8)(2 (3)(4)(5)(9))(6 7)")
        self.assertEqual(self.thread(r, b"ORDEREDSUBJECT UTF-8 1:2"),
                         b"(1 2)")
        self.assertEqual(self.thread(r, b"ORDEREDSUBJECT UTF-8 KEYWORD x"),
                         b"")
        r.close()

    def test_thread_references(self):
        r = self.raw(b"Th")
        # 2 answers 1 (In-Reply-To), 3 answers 2 (References a b).
        # 5 and 6 share the missing <missing>: a dummy with two
        # children stays.  7's parent <gone> is missing: with one child
        # the dummy goes.  4 ("Re: Fwd: hello") has no references but
        # is a reply with 1's base subject: 1's child.  8 is "hello"
        # too but no reply: 1 and 8 become siblings under a new dummy.
        # Top by date: 7 (Oct 7), the dummy (1, Nov 1), <missing> (5).
        self.assertEqual(self.thread(r, b"REFERENCES UTF-8 ALL"),
                         b"(7)((1 (2 3)(4))(8))((5)(6))")
        self.assertEqual(self.thread(r, b"REFERENCES UTF-8 ALL", uid=True),
                         b"(8)((2 (3 4)(5))(9))((6)(7))")
        # Without 5 and 6.
        self.assertEqual(self.thread(r, b"REFERENCES UTF-8 NOT SUBJECT "
                                        b"lost"),
                         b"(7)((1 (2 3)(4))(8))")
        # Without 1: its dummy has one child (2) which goes to the top;
        # 8 is the only non-reply of "hello", so 2 and 4 go below it.
        self.assertEqual(self.thread(r, b"REFERENCES UTF-8 NOT 1"),
                         b"(7)((5)(6))(8 (2 3)(4))")
        self.assertEqual(self.thread(r, b"REFERENCES US-ASCII 3"), b"(3)")
        self.assertEqual(self.thread(r, b"references utf-8 KEYWORD x"),
                         b"")
        r.close()

    def test_search_still_plain(self):
        """SEARCH without RETURN keeps its plain answer and ESEARCH too."""
        r = self.raw(b"So")
        self.assertEqual(self.untagged(r, b"SEARCH NOT FROM alice",
                                       b"SEARCH"), b"* SEARCH 1 3 4 5")
        self.assertEqual(self.untagged(r, b"SEARCH RETURN (MIN MAX ALL) "
                                          b"NOT FROM alice", b"ESEARCH"),
                         b'* ESEARCH (TAG "T") MIN 1 MAX 5 ALL 1,3:5')
        r.close()


if __name__ == "__main__":
    unittest.main()

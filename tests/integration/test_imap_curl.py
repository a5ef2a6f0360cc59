# SPDX-License-Identifier: ISC
"""imapd against a real client: curl's IMAP URLs (RFC 5092 as curl reads them).

curl logs in (AUTHENTICATE PLAIN with SASL-IR), SELECTs the URL's mailbox
and runs one command: `;UID=n` and `;MAILINDEX=n` become (UID) FETCH
BODY[...] with `;SECTION=` and `;PARTIAL=`, `?criteria` becomes SEARCH, -X
sends a command of our own and prints its untagged responses, and -T does
APPEND.  Over implicit TLS and STARTTLS curl checks the fixture's
certificate for "localhost"; some requests go over the cleartext port.  Every download is
compared byte for byte with what was uploaded or with the slice of it the
URL names, worked out here from the message text.
"""
import base64
import imaplib
import os
import random
import re
import shutil
import socket
import subprocess
import tempfile
import unittest

from bulwark import Server

USER = "curl@example.org"
PASSWORD = "curl test password"
CURL = shutil.which("curl")

PLAIN = (b"From: Alice <alice@example.org>\r\n"
         b"To: Curl <curl@example.org>\r\n"
         b"Subject: plain for curl\r\n"
         b"Message-ID: <plain@curl.test>\r\n"
         b"\r\n"
         b"First line.\r\n"
         b"Second line.\r\n")

def multipart(blob):
    return (b"From: Bob <bob@example.com>\r\n"
            b"To: curl@example.org\r\n"
            b"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= with a file\r\n"
            b"Message-ID: <multi@curl.test>\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
            b"\r\n"
            b"--b1\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n"
            b"\r\n"
            b"Gr\xc3\xbc\xc3\x9fe, the file is attached.\r\n"
            b"--b1\r\n"
            b"Content-Type: application/octet-stream; name=\"f.bin\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n"
            b"\r\n" + blob +
            b"--b1--\r\n")


@unittest.skipUnless(CURL, "curl not installed")
class CurlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        blob = base64.encodebytes(random.Random(7).randbytes(1500000)).replace(b"\n", b"\r\n")
        cls.multi = multipart(blob)
        cls.tmp = tempfile.mkdtemp(prefix="bulwark-curl.")
        cls.srv = Server(None, imap_workers=2, cleartext="yes")
        try:
            cls.srv.start()
            cls.srv.add_account(USER, PASSWORD)
        except Exception:
            cls.srv.cleanup()
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def url(self, path, tls=True):
        if tls:
            return "imaps://localhost:%d/%s" % (self.srv.ports["imaps"], path)
        return "imap://127.0.0.1:%d/%s" % (self.srv.ports["imap"], path)

    def curl(self, url, *args, user=USER, password=PASSWORD, rc=0):
        r = subprocess.run([CURL, "-sS", "--cacert", self.srv.cert, "-u",
                            "%s:%s" % (user, password)] + list(args) + [url],
                           capture_output=True, timeout=60)
        if r.returncode != rc:
            self.fail("curl %s %s: exit %d (wanted %d): %s\n----- server log -----\n%s"
                      % (args, url, r.returncode, rc, r.stderr.decode(errors="replace"),
                         self.srv.log()[-10000:]))
        return r.stdout

    def upload(self, box, data, name="msg.eml", tls=True):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        self.curl(self.url(box, tls), "-T", path)

    def imap(self):
        c = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"], timeout=30)
        c.login(USER, PASSWORD)
        return c

    def fresh(self, box):
        c = self.imap()
        self.assertEqual(c.create(box)[0], "OK")
        c.logout()

    def test_append_and_fetch_whole_messages(self):
        self.fresh("Up")
        self.upload("Up", PLAIN)
        self.upload("Up", self.multi)
        self.upload("Up", PLAIN.replace(b"plain for curl", b"over cleartext"), tls=False)
        self.assertEqual(self.curl(self.url("Up;UID=1")), PLAIN)
        self.assertEqual(self.curl(self.url("Up;UID=2")), self.multi)
        self.assertEqual(self.curl(self.url("Up;MAILINDEX=2")), self.multi)
        self.assertEqual(self.curl(self.url("Up;UID=3", tls=False)),
                         PLAIN.replace(b"plain for curl", b"over cleartext"))
        # STARTTLS on the cleartext port (--ssl-reqd), certificate checked.
        self.assertEqual(self.curl("imap://localhost:%d/Up;UID=2" % self.srv.ports["imap"],
                                   "--ssl-reqd"), self.multi)
        c = self.imap()
        c.select("Up", readonly=True)
        typ, data = c.fetch("1:3", "(UID RFC822.SIZE FLAGS)")
        # curl's APPEND always sends the flag list (\Seen) (lib/imap.c).
        got = [(re.search(rb"UID (\d+)", d).group(1), re.search(rb"RFC822.SIZE (\d+)", d).group(1),
                re.search(rb"FLAGS \(([^)]*)\)", d).group(1)) for d in data]
        self.assertEqual(got, [(b"1", b"%d" % len(PLAIN), b"\\Seen"),
                               (b"2", b"%d" % len(self.multi), b"\\Seen"),
                               (b"3", b"%d" % len(PLAIN), b"\\Seen")])
        c.logout()

    def test_append_lf_only_file(self):
        """curl sends a file as it is: a Unix text file has bare LFs.  The
        server keeps messages with CRLF line ends (as lmtpd does), so the
        message comes back with CRLF and RFC822.SIZE counts them."""
        self.fresh("Lf")
        self.upload("Lf", PLAIN.replace(b"\r\n", b"\n"), name="lf.eml")
        self.assertEqual(self.curl(self.url("Lf;UID=1")), PLAIN)
        c = self.imap()
        c.select("Lf", readonly=True)
        typ, data = c.fetch("1", "(RFC822.SIZE BODY.PEEK[TEXT])")
        self.assertEqual(data[0][0], b"1 (RFC822.SIZE %d BODY[TEXT] {27}" % len(PLAIN))
        self.assertEqual(data[0][1], b"First line.\r\nSecond line.\r\n")
        c.logout()

    def test_append_line_ends_multiappend(self):
        """The same rule per message of a MULTIAPPEND: bare LF and bare CR
        become CRLF, CRLF stays, a literal8 (binary, RFC 3516) is kept."""
        self.fresh("Ends")
        msgs = [b"Subject: a\n\nx\ny\n", b"Subject: b\r\rx\rno end",
                b"Subject: c\r\n\r\nmixed\nends\r\n", PLAIN,
                b"Subject: d\r\n\r\nbin\nary\r"]
        cmd = b"A APPEND Ends"
        for m in msgs[:-1]:
            cmd += b" {%d+}\r\n%s" % (len(m), m)
        cmd += b" ~{%d+}\r\n%s\r\n" % (len(msgs[-1]), msgs[-1])
        with socket.create_connection(("127.0.0.1", self.srv.ports["imap"]), timeout=10) as s:
            f = s.makefile("rb")
            f.readline()
            s.sendall(b'L LOGIN "%s" "%s"\r\n' % (USER.encode(), PASSWORD.encode()))
            self.assertTrue(f.readline().startswith(b"L OK"))
            s.sendall(cmd)
            line = f.readline()
            self.assertTrue(line.startswith(b"A OK [APPENDUID "), line)
            self.assertTrue(line.rstrip().endswith(b" 1:5] APPEND completed"), line)
        want = [b"Subject: a\r\n\r\nx\r\ny\r\n", b"Subject: b\r\n\r\nx\r\nno end",
                b"Subject: c\r\n\r\nmixed\r\nends\r\n", PLAIN, msgs[-1]]
        for uid, m in enumerate(want, 1):
            self.assertEqual(self.curl(self.url("Ends;UID=%d" % uid)), m)
        c = self.imap()
        c.select("Ends", readonly=True)
        typ, data = c.fetch("1:5", "(RFC822.SIZE)")
        self.assertEqual(data, [b"%d (RFC822.SIZE %d)" % (i, len(m))
                                for i, m in enumerate(want, 1)])
        c.logout()

    def test_append_long_folded_subject(self):
        """A Subject folded over many lines is valid (RFC 5322 2.2.3) and is
        seen in real mail; APPEND must store it.  storaged once refused it
        (its base subject, kept for threading, has 998 bytes); now it cuts
        what it keeps, and the message itself is stored whole."""
        self.fresh("Long")
        words = b" ".join(b"word%d" % i for i in range(300))
        folded = re.sub(rb"(.{60,70}) ", rb"\1\r\n ", words)
        msg = (b"From: a@example.com\r\nSubject: " + folded + b"\r\n"
               b"Message-ID: <long@curl.test>\r\n\r\nbody\r\n")
        self.assertGreater(len(folded), 2000)
        self.upload("Long", msg)
        self.assertEqual(self.curl(self.url("Long;UID=1")), msg)

    def test_sections_and_partial(self):
        self.fresh("Sec")
        self.upload("Sec", self.multi)
        head, _, text = self.multi.partition(b"\r\n\r\n")
        self.assertEqual(self.curl(self.url("Sec;UID=1;SECTION=HEADER")), head + b"\r\n\r\n")
        self.assertEqual(self.curl(self.url("Sec;UID=1;SECTION=TEXT")), text)
        # The CRLF before a boundary belongs to the boundary (RFC 2046 5.1.1).
        self.assertEqual(self.curl(self.url("Sec;UID=1;SECTION=1")),
                         b"Gr\xc3\xbc\xc3\x9fe, the file is attached.")
        self.assertEqual(self.curl(self.url("Sec;UID=1;SECTION=1.MIME")),
                         b"Content-Type: text/plain; charset=utf-8\r\n"
                         b"Content-Transfer-Encoding: 8bit\r\n\r\n")
        part2 = self.multi.split(b"base64\r\n\r\n", 1)[1][:-len(b"\r\n--b1--\r\n")]
        self.assertEqual(self.curl(self.url("Sec;UID=1;SECTION=2")), part2)
        self.assertEqual(self.curl(self.url("Sec;UID=1;PARTIAL=6.11")), self.multi[6:17])
        self.assertEqual(self.curl(self.url("Sec;UID=1;SECTION=2;PARTIAL=1000.5")),
                         part2[1000:1005])

    def test_list_search_status(self):
        self.fresh("Find")
        self.fresh("Find/Deeper")
        for n in range(1, 6):
            self.upload("Find", PLAIN.replace(b"plain for curl", b"search me %d" % n))
        out = self.curl(self.url(""), "-X", 'LIST "" "*"').decode()
        names = sorted(re.findall(r'^\* LIST \([^)]*\) "/" (.*?)\r$', out, re.M))
        for want in ("Find", "Find/Deeper", "INBOX", "Sent", "Trash"):
            self.assertIn(want, names)
        self.assertIn('* LIST (\\HasChildren) "/" Find\r\n', out)
        self.assertEqual(self.curl(self.url("Find?SUBJECT%20%22search%20me%203%22")),
                         b"* SEARCH 3\r\n")
        self.assertEqual(self.curl(self.url("Find"), "-X", "UID SEARCH SUBJECT search"),
                         b"* SEARCH 1 2 3 4 5\r\n")
        self.assertEqual(self.curl(self.url("Find"), "-X", "UID SEARCH NOT SEEN"),
                         b"* SEARCH\r\n")
        self.assertEqual(self.curl(self.url("Find"), "-X", "STATUS Find (MESSAGES UIDNEXT)"),
                         b"* STATUS Find (MESSAGES 5 UIDNEXT 6)\r\n")
        self.assertEqual(self.curl(self.url("Find"), "-X", "STORE 2 +FLAGS (\\Flagged)"),
                         b"* 2 FETCH (FLAGS (\\Seen \\Flagged))\r\n")
        self.assertEqual(self.curl(self.url("Find"), "-X", "SEARCH FLAGGED"),
                         b"* SEARCH 2\r\n")

    def test_errors(self):
        self.fresh("Err")
        self.upload("Err", PLAIN)
        c = self.imap()
        uidvalidity = int(re.search(rb"UIDVALIDITY (\d+)",
                                    c.status("Err", "(UIDVALIDITY)")[1][0]).group(1))
        c.logout()
        self.assertEqual(self.curl(self.url("Err;UIDVALIDITY=%d/;UID=1" % uidvalidity)), PLAIN)
        # CURLE_REMOTE_FILE_NOT_FOUND (78): another UIDVALIDITY, a UID not there.
        self.curl(self.url("Err;UIDVALIDITY=%d/;UID=1" % (uidvalidity + 1)), rc=78)
        self.curl(self.url("Err;UID=2"), rc=78)
        # CURLE_LOGIN_DENIED (67); CURLE_QUOTE_ERROR (21) for a failing -X.
        self.curl(self.url("Err;UID=1"), password="wrong", rc=67)
        # curl reports a failed SELECT as CURLE_LOGIN_DENIED too (lib/imap.c,
        # imap_state_select_resp): the server said NO [NONEXISTENT].
        self.curl(self.url("NoSuchBox;UID=1"), rc=67)
        self.curl(self.url(""), "-X", "STATUS NoSuchBox (MESSAGES)", rc=21)


if __name__ == "__main__":
    unittest.main()

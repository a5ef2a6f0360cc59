# SPDX-License-Identifier: ISC
"""imapd against a real client: NeoMutt reading and changing a folder.

NeoMutt is a curses program, so it runs in a detached tmux session of its
own (a private tmux socket) with its key presses given by `-e 'push ...'`;
the test waits for it to quit.  It opens a folder over implicit TLS
(certificate checked against the fixture's, for "localhost"), displays one
message (FETCH BODY[] sets \\Seen), pipes every message raw to a file
(pipe_decode unset: the message as fetched, CRLF turned into LF), copies
one to a mailbox that does not exist yet (TRYCREATE), flags one,
deletes one, saves one to Archive (UID COPY, then \\Deleted on the source)
and syncs (EXPUNGE).  The files must equal the messages byte for byte (LF
for CRLF), and the server must show exactly those changes.  A second open
with a header cache goes through CONDSTORE and QRESYNC; =b, =h and =B
patterns are searched by the server.
"""
import imaplib
import os
import random
import base64
import shutil
import subprocess
import tempfile
import time
import unittest

from bulwark import Server

USER = "mutt@example.org"
PASSWORD = "mutt test password"
NEOMUTT = shutil.which("neomutt")
TMUX = shutil.which("tmux")

MUTTRC = """\
set imap_user="{user}"
set imap_pass="{password}"
set folder="imaps://localhost:{port}/"
set spoolfile="+INBOX"
set certificate_file="{cert}"
set ssl_verify_host=yes
set ssl_force_tls=yes
set header_cache=""
set message_cachedir=""
set imap_check_subscribed=no
set confirmcreate=no
set confirmappend=no
set move=no
set quit=yes
set delete=yes
set mark_old=no
set resolve=no
set sort=mailbox-order
set wait_key=no
set pipe_decode=no
set pipe_split=no
set mailcap_path=/dev/null
"""


def messages():
    blob = base64.encodebytes(random.Random(3).randbytes(600000)).replace(b"\n", b"\r\n")
    msgs = []
    for n in range(1, 7):
        head = (b"From: Sender %d <s%d@example.com>\r\nTo: mutt@example.org\r\n"
                b"Subject: mutt message %d\r\nMessage-ID: <mutt-%d@example.com>\r\n"
                b"Date: Tue, 24 Nov 2026 1%d:00:00 +0000\r\n" % (n, n, n, n, n))
        if n == 2:
            msgs.append(head + b"MIME-Version: 1.0\r\n"
                        b"Content-Type: multipart/mixed; boundary=\"mm\"\r\n\r\n"
                        b"--mm\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
                        b"See the attachment.\r\n"
                        b"--mm\r\nContent-Type: application/octet-stream; name=\"a.bin\"\r\n"
                        b"Content-Transfer-Encoding: base64\r\n\r\n" + blob + b"--mm--\r\n")
        elif n == 3:
            msgs.append(head + b"MIME-Version: 1.0\r\n"
                        b"Content-Type: text/plain; charset=utf-8\r\n"
                        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
                        b"Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln\r\n")
        else:
            msgs.append(head + b"\r\n" + b"".join(b"Line %d of message %d.\r\n" % (i, n)
                                                   for i in range(n * 3)))
    return msgs


@unittest.skipUnless(NEOMUTT and TMUX, "neomutt or tmux not installed")
class MuttTest(unittest.TestCase):
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

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bulwark-mutt.")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def imap(self):
        c = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"], timeout=30)
        c.login(USER, PASSWORD)
        return c

    def fill(self, box, msgs):
        c = self.imap()
        self.assertEqual(c.create(box)[0], "OK")
        for m in msgs:
            self.assertEqual(c.append(box, None, None, m)[0], "OK")
        c.logout()

    def neomutt(self, folder, keys, extra="", timeout=60):
        """Runs neomutt on folder with keys pushed (no "^": it means a
        control key there) and extra lines in its muttrc; returns when
        it quit."""
        rc = os.path.join(self.tmp, "muttrc")
        with open(rc, "w") as f:
            f.write(MUTTRC.format(user=USER, password=PASSWORD, port=self.srv.ports["imaps"],
                                  cert=self.srv.cert) + extra)
        done = os.path.join(self.tmp, "exit")
        if os.path.exists(done):
            os.unlink(done)
        err = os.path.join(self.tmp, "stderr")
        sock = "bulwark-mutt-%d" % os.getpid()
        script = os.path.join(self.tmp, "run.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\nTERM=screen neomutt -n -F '%s' -f '%s' -e 'push \"%s\"' 2>'%s'\n"
                    "echo $? > '%s'\n" % (rc, folder, keys, err, done))
        os.chmod(script, 0o755)
        subprocess.run([TMUX, "-L", sock, "-f", "/dev/null", "new-session", "-d",
                        "-x", "160", "-y", "40", script], check=True, env=dict(
                            PATH=os.environ["PATH"], HOME=self.tmp, TERM="screen"))
        deadline = time.time() + timeout
        while not os.path.exists(done) and time.time() < deadline:
            time.sleep(0.1)
        if not os.path.exists(done):
            screen = subprocess.run([TMUX, "-L", sock, "capture-pane", "-p"],
                                    capture_output=True, text=True).stdout
            subprocess.run([TMUX, "-L", sock, "kill-server"], capture_output=True)
            self.fail("neomutt did not finish; its screen:\n%s\n----- server log -----\n%s"
                      % (screen, self.srv.log()[-10000:]))
        with open(done) as f, open(err) as e:
            self.assertEqual(f.read().strip(), "0", e.read())

    def fetch_all(self, box):
        """[(flags, body)] of box in UID order."""
        c = self.imap()
        typ, data = c.select(box, readonly=True)
        out = []
        if int(data[0]) > 0:
            typ, data = c.fetch("1:*", "(FLAGS BODY.PEEK[])")
            self.assertEqual(typ, "OK")
            for item in data:
                if isinstance(item, tuple):
                    flags = imaplib.ParseFlags(item[0])
                    out.append((set(f.decode() for f in flags), item[1]))
        c.logout()
        return out

    def test_read_pipe_flag_delete_save(self):
        msgs = messages()
        self.fill("Lists", msgs)
        out = os.path.join(self.tmp, "m%d")
        keys = "<first-entry><display-message><exit><first-entry>"
        for n in range(1, 7):
            keys += "<pipe-message>cat > %s<enter><next-entry>" % (out % n)
        keys += ("<first-entry><copy-message>=Fresh/Sub<enter>"
                 "<first-entry><next-entry><next-entry><next-entry><flag-message>"
                 "<next-entry><delete-message><next-entry><save-message>=Archive<enter>"
                 "<sync-mailbox><quit>")
        self.neomutt("=Lists", keys)
        for n in range(1, 7):
            with open(out % n, "rb") as f:
                self.assertEqual(f.read(), msgs[n - 1].replace(b"\r\n", b"\n"), "message %d" % n)
        lists = self.fetch_all("Lists")
        self.assertEqual([m for _, m in lists], msgs[:4])
        self.assertEqual([f for f, _ in lists], [{"\\Seen"}, set(), set(), {"\\Flagged"}])
        archive = self.fetch_all("Archive")
        self.assertEqual([m for _, m in archive], [msgs[5]])
        # UID COPY to a mailbox not there: NO [TRYCREATE], CREATE, again.
        self.assertEqual([m for _, m in self.fetch_all("Fresh/Sub")], [msgs[0]])

    def test_server_side_search(self):
        """NeoMutt's =b, =h and =B patterns are searched by the server (UID
        SEARCH BODY, HEADER, TEXT); ~ patterns it would match itself."""
        msgs = []
        for n in range(1, 11):
            msgs.append(b"From: f%d@example.com\r\nSubject: search %d\r\n"
                        b"Message-ID: <search-%d@example.com>\r\n%s\r\n%s"
                        % (n, n, n, b"X-Tag: zebra crossing\r\n" if n == 9 else b"",
                           b"The Zebra is here.\r\n" if n in (2, 7) else b"Nothing.\r\n"))
        self.fill("Search", msgs)
        out = os.path.join(self.tmp, "found%d")
        keys = ""
        for i, pattern in enumerate(("=b zebra", '=h \\"X-Tag: zebra\\"', "=B zebra")):
            keys += ("<tag-pattern>%s<enter><tag-prefix><pipe-message>cat > %s<enter>"
                     "<tag-prefix><tag-message>" % (pattern, out % i))
        self.neomutt("=Search", keys + "<quit>")
        # pipe_sep (a newline) follows each message when several are tagged;
        # one tagged message is piped alone, without it.
        for i, want in enumerate(((2, 7), (9,), (2, 7, 9))):
            sep = b"\n" if len(want) > 1 else b""
            with open(out % i, "rb") as f:
                self.assertEqual(f.read(), b"".join(msgs[n - 1].replace(b"\r\n", b"\n") + sep
                                                    for n in want), "search %d" % i)

    def test_header_cache_condstore_qresync(self):
        """With a header cache and imap_qresync, NeoMutt's second open is
        SELECT (CONDSTORE) and UID FETCH 1:n (FLAGS) (CHANGEDSINCE m
        VANISHED) after ENABLE QRESYNC; it must then see the flags set,
        the messages expunged and the message added meanwhile.  (NeoMutt
        20220429 numbers the cached messages 1..n and, after VANISHED
        (EARLIER) names one in the middle, fetches new headers from the
        first empty number, finds a UID it has and re-reads every FLAGS:
        imap_verify_qresync, "QRESYNC failed.  Reopening mailbox", its
        own recovery.  The result is right either way.)"""
        msgs = [b"From: q%d@example.com\r\nSubject: cached %d\r\n"
                b"Message-ID: <cached-%d@example.com>\r\n\r\nbody %d\r\n" % (n, n, n, n)
                for n in range(1, 11)]
        self.fill("Cached", msgs)
        cache = os.path.join(self.tmp, "hcache") + "/"
        os.mkdir(cache)
        extra = ('set header_cache="%s"\nset imap_condstore=yes\nset imap_qresync=yes\n'
                 % cache)
        self.neomutt("=Cached", "<quit>", extra=extra)
        self.assertNotEqual(os.listdir(cache), [])
        c = self.imap()
        c.select("Cached")
        self.assertEqual(c.store("3,5", "+FLAGS.SILENT", "(\\Flagged)")[0], "OK")
        self.assertEqual(c.store("7", "+FLAGS.SILENT", "(\\Deleted)")[0], "OK")
        self.assertEqual(c.expunge()[0], "OK")
        new = msgs[0].replace(b"1", b"11")
        self.assertEqual(c.append("Cached", "(\\Flagged)", None, new)[0], "OK")
        c.logout()
        flagged = os.path.join(self.tmp, "flagged")
        every = os.path.join(self.tmp, "all")
        self.neomutt("=Cached", "<tag-pattern>~F<enter><tag-prefix><pipe-message>cat > %s<enter>"
                     "<tag-pattern>~A<enter><tag-prefix><pipe-message>cat > %s<enter><quit>"
                     % (flagged, every), extra=extra)
        # pipe_split unset: the tagged messages in one pipe, each followed
        # by pipe_sep (a newline).
        with open(flagged, "rb") as f:
            self.assertEqual(f.read(), b"".join(m.replace(b"\r\n", b"\n") + b"\n"
                                                for m in (msgs[2], msgs[4], new)))
        with open(every, "rb") as f:
            self.assertEqual(f.read(), b"".join(m.replace(b"\r\n", b"\n") + b"\n"
                                                for m in msgs[:6] + msgs[7:] + [new]))

    def test_saved_copy_is_not_deleted(self):
        """NeoMutt's save-message is UID COPY to the target, then UID STORE
        +FLAGS.SILENT (\\Deleted) on the source, then EXPUNGE.  IMAP flags
        belong to a message in a mailbox (RFC 9051 2.3.2), so the copy must
        not get \\Deleted: storaged makes a copy an email of its own
        (store/mail_msg.h, MSG_COPY).  When a copy shared the original's
        flags, the next EXPUNGE of the target (any client that expunges on
        close) destroyed the message the user saved."""
        msgs = messages()[:2]
        self.fill("Save", msgs)
        self.neomutt("=Save", "<first-entry><save-message>=Trash<enter><sync-mailbox><quit>")
        self.assertEqual([m for _, m in self.fetch_all("Save")], msgs[1:])
        trash = self.fetch_all("Trash")
        self.assertEqual([m for _, m in trash], msgs[:1])
        # No \Deleted; \Recent, as nobody had Trash selected since.
        self.assertEqual(trash[0][0], {"\\Recent"})


if __name__ == "__main__":
    unittest.main()

# SPDX-License-Identifier: ISC
"""Big messages as files beside the store (store/blob.h, store/blobfile.h).

A message of BLOB_FILE_MIN (256 KiB) bytes or more is kept as the file
data/blobs/<64 hex of its hash>, written and synced before the commit
that references it.  Through real clients: a big delivery over LMTP makes
one file and a small one none; IMAP reads the same bytes back; APPENDing
the same bytes shares the file; the file goes with the last message that
holds it; a FETCH under way when another session expunges the message
still sends all of it (imapd reads the file through a descriptor storaged
gave it, which the unlink does not touch); and storaged restarted after
kill -9 sweeps what a crash leaves (blobs/tmp/* and files nothing
references) and keeps the rest.
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

DOMAIN = "example.org"
USER = "alice@" + DOMAIN
PASSWORD = "pw-alice"
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def message(subject, body):
    return ("From: Sender <sender@remote.example>\r\nTo: %s\r\n"
            "Subject: %s\r\nMessage-ID: <%s.%f@remote.example>\r\n\r\n%s"
            % (USER, subject, subject.replace(" ", "-"), time.time(), body))


def big_body(kib):
    line = "%s\r\n" % ("x" * 70)
    n = kib * 1024 // len(line) + 1
    return "".join("%06d %s" % (i, line) for i in range(n))


class BlobFilesTest(unittest.TestCase):
    def setUp(self):
        self.srv = Server(self, imap_workers=1, lmtp_workers=1, cleartext="yes")
        self.addCleanup(self.srv.cleanup)
        self.srv.start()
        self.srv.add_account(USER, PASSWORD)
        self.blobs = os.path.join(self.srv.dir, "data", "blobs")

    def files(self):
        return sorted(n for n in os.listdir(self.blobs) if HEX64.match(n))

    def deliver(self, data):
        c = smtplib.LMTP(self.srv.lmtp_socket, timeout=30)
        try:
            c.sendmail("sender@remote.example", [USER], data.encode())
        finally:
            c.quit()

    def imap(self):
        c = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"], timeout=30)
        c.login(USER, PASSWORD)
        return c

    def bodies(self, c, mailbox):
        typ, _ = c.select(mailbox)
        self.assertEqual(typ, "OK")
        typ, data = c.uid("FETCH", "1:*", "(BODY.PEEK[])")
        self.assertEqual(typ, "OK")
        return [d[1] for d in data if isinstance(d, tuple)]

    def expunge_all(self, c, mailbox):
        c.select(mailbox)
        c.store("1:*", "+FLAGS", r"(\Deleted)")
        typ, _ = c.expunge()
        self.assertEqual(typ, "OK")

    def test_big_message_is_a_file(self):
        body = big_body(400)
        self.deliver(message("small one", "Hello.\r\n"))
        self.assertEqual(self.files(), [])
        self.deliver(message("big one", body))
        files = self.files()
        self.assertEqual(len(files), 1)
        self.assertEqual(os.listdir(os.path.join(self.blobs, "tmp")), [])
        size = os.path.getsize(os.path.join(self.blobs, files[0]))
        self.assertGreater(size, 400 * 1024)
        c = self.imap()
        got = self.bodies(c, "INBOX")
        self.assertEqual(len(got), 2)
        self.assertEqual(len(got[1]), size)
        self.assertIn(body.encode(), got[1])
        with open(os.path.join(self.blobs, files[0]), "rb") as f:
            self.assertEqual(f.read(), got[1])
        # The same bytes again share the file.
        c.create("Copy")
        typ, _ = c.append("Copy", None, None, got[1])
        self.assertEqual(typ, "OK")
        self.assertEqual(self.files(), files)
        self.assertEqual(self.bodies(c, "Copy"), [got[1]])
        # The file stays while a message holds it, and goes with the last.
        self.expunge_all(c, "INBOX")
        self.assertEqual(self.files(), files)
        self.assertEqual(self.bodies(c, "Copy"), [got[1]])
        self.expunge_all(c, "Copy")
        self.assertEqual(self.files(), [])
        c.logout()

    def test_search_big_messages(self):
        # SEARCH reads of a file only its header and text parts; a header
        # longer than the first read (8 KiB) or than any read (64 KiB)
        # is found whole all the same.
        def big(subject, pad_lines, word):
            pad = "".join("X-Pad-%04d: %s\r\n" % (i, "p" * 90)
                          for i in range(pad_lines))
            return ("From: Sender <sender@remote.example>\r\nTo: %s\r\n"
                    "Subject: %s\r\n%sX-Late: %s-late\r\n"
                    "MIME-Version: 1.0\r\n"
                    "Content-Type: multipart/mixed; boundary=zz\r\n\r\n"
                    "--zz\r\nContent-Type: text/plain\r\n\r\n"
                    "Text about %s-text.\r\n"
                    "--zz\r\nContent-Type: application/octet-stream\r\n"
                    "Content-Transfer-Encoding: base64\r\n\r\n%s"
                    "--zz--\r\n" % (USER, subject, pad, word, word,
                                     big_body(300)))
        self.deliver(big("short header", 2, "alpha"))
        self.deliver(big("long header", 150, "bravo"))
        self.deliver(big("huge header", 800, "charlie"))
        self.assertEqual(len(self.files()), 3)
        c = self.imap()
        c.select("INBOX", readonly=True)

        def search(*keys):
            typ, data = c.uid("SEARCH", *keys)
            self.assertEqual(typ, "OK")
            return data[0].split()

        self.assertEqual(search("HEADER", "X-Late", "alpha-late"), [b"1"])
        self.assertEqual(search("HEADER", "X-Late", "bravo-late"), [b"2"])
        self.assertEqual(search("HEADER", "X-Late", "charlie-late"), [b"3"])
        self.assertEqual(search("HEADER", "X-Late", '""'),
                         [b"1", b"2", b"3"])
        self.assertEqual(search("HEADER", "X-Pad-0700", '""'), [b"3"])
        self.assertEqual(search("BODY", "bravo-text"), [b"2"])
        self.assertEqual(search("TEXT", "charlie-late"), [b"3"])
        self.assertEqual(search("TEXT", "alpha-text"), [b"1"])
        # The attachment's bytes are not text: never found.
        self.assertEqual(search("BODY", "000100"), [])
        self.assertEqual(search("FROM", "sender", "HEADER", "X-Late",
                                "bravo"), [b"2"])
        c.logout()

    def test_fetch_survives_expunge_and_unlink(self):
        # Larger than the socket buffers can take (tcp_wmem's 4 MiB).
        body = big_body(12288)
        self.deliver(message("huge", body))
        files = self.files()
        self.assertEqual(len(files), 1)
        path = os.path.join(self.blobs, files[0])
        with open(path, "rb") as f:
            want = f.read()
        # A raw client that asks for the message and then stops reading.
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        s.settimeout(30)
        s.connect(("127.0.0.1", self.srv.ports["imap"]))
        f = s.makefile("rb")
        f.readline()
        s.sendall(b'a LOGIN "%s" "%s"\r\n' % (USER.encode(),
                                               PASSWORD.encode()))
        while not f.readline().startswith(b"a OK"):
            pass
        s.sendall(b"b SELECT INBOX\r\n")
        while not f.readline().startswith(b"b OK"):
            pass
        s.sendall(b"c UID FETCH 1 (BODY.PEEK[])\r\n")
        head = f.readline()
        m = re.search(rb"\{(\d+)\}\r\n$", head)
        self.assertIsNotNone(m, head)
        self.assertEqual(int(m.group(1)), len(want))
        first = f.read(65536)
        # Another session expunges it; the file goes at once.
        c = self.imap()
        self.expunge_all(c, "INBOX")
        c.logout()
        deadline = time.time() + 10
        while self.files() and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.files(), [])
        self.assertFalse(os.path.exists(path))
        # imapd holds the store's file itself, not a copy of it.
        held = []
        for pid in self.srv.children()["imapd"]:
            fds = "/proc/%d/fd" % pid
            for fd in os.listdir(fds):
                try:
                    held.append(os.readlink(os.path.join(fds, fd)))
                except OSError:
                    pass
        self.assertTrue(any(files[0] in h for h in held), held)
        rest = f.read(len(want) - len(first))
        self.assertEqual(first + rest, want)
        self.assertEqual(f.readline(), b")\r\n")
        tail = f.readline()
        while tail.startswith(b"*"):
            tail = f.readline()
        self.assertTrue(tail.startswith(b"c OK"), tail)
        s.close()

    def test_restart_sweeps_what_a_crash_leaves(self):
        self.deliver(message("kept", big_body(300)))
        kept = self.files()
        self.assertEqual(len(kept), 1)
        orphan = os.path.join(self.blobs, "ab" * 32)
        tmp = os.path.join(self.blobs, "tmp", "cd" * 32)
        for path in (orphan, tmp):
            with open(path, "wb") as f:
                f.write(b"left by a crash")
        victim = self.srv.children()["storaged"][0]
        os.kill(victim, signal.SIGKILL)
        self.srv.wait_log(r"storaged\[%d\] killed by signal 9" % victim)
        self.srv.wait_log(r"blob files kept=1 tmp_removed=1 "
                          r"orphans_removed=1 missing=0", timeout=30)
        self.srv.wait_ready()
        self.assertFalse(os.path.exists(orphan))
        self.assertFalse(os.path.exists(tmp))
        self.assertEqual(self.files(), kept)
        c = self.imap()
        got = self.bodies(c, "INBOX")
        self.assertEqual(len(got), 1)
        self.assertIn(big_body(300).encode(), got[0])
        c.logout()


if __name__ == "__main__":
    unittest.main()

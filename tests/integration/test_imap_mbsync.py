# SPDX-License-Identifier: ISC
"""imapd against a real client: mbsync (isync) syncing Maildirs both ways.

A Maildir of 2,000 generated messages (plain, 8-bit, multipart/alternative,
multipart/mixed with base64 attachments up to 300 KB; Maildir flags S R F T
D in the file names, some unflagged in new/; three folders, one nested and
with a space in its name) is synced up to Bulwark over implicit TLS
(certificate checked against the fixture's), then down into a new empty
Maildir.  Every copy is compared with the generated original byte for
byte, with its flags and arrival date (CopyArrivalDate: file mtime to
INTERNALDATE and back); then flags are changed on both sides, new messages
added on both sides, messages deleted on both sides, and after each round
all three copies (the source Maildir, the server, the second Maildir) must
agree; a last round with no changes must change nothing, UIDs included.

Not tested here, as mbsync 1.4 does not encode mailbox names: it sends a
local folder "Amp&Co" or "Entwürfe" as it is, which an IMAP4rev1 session
must refuse (modified UTF-7, RFC 9051 A.1); the server says NO [CANNOT].

mbsync and the X-TUID header: isync 1.4 inserts one `X-TUID: <12 chars>`
line as the last header line of every message it copies with a sync record
(sync.c, copy_msg_convert, under `if (vars->srec)`), in both directions and
whether or not the server has UIDPLUS, so it can find the copy again after
an interrupted run; there is no option to turn it off.  So a copy written by
mbsync must equal its original plus exactly that one line at the end of the
header, and a copy mbsync only read (the side where the message was born)
must equal the original exactly.  Maildir files are LF; mbsync converts to
CRLF on upload and back on download, so the server's copy is compared with
the CRLF form.
"""
import base64
import datetime
import imaplib
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from bulwark import Server

USER = "sync@example.org"
PASSWORD = "mbsync test password"
MBSYNC = shutil.which("mbsync")
COUNT = 2000
# The flags of message n are FLAGSETS[n % 12]; "" half in new/, half in cur/.
FLAGSETS = ["", "S", "S", "S", "RS", "FS", "F", "DS", "D", "ST", "FRS", "T"]
LETTER = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen",
          "T": "\\Deleted"}
IMAPFLAG = {v: k for k, v in LETTER.items()}
BASE_TIME = 1795000000
TUID = re.compile(rb"X-TUID: [A-Za-z0-9+/]{12}$")


def mailbox_of(n):
    if n <= 1700:
        return "INBOX"
    return "Work" if n <= 1900 else "Work/Q3 Reports"


def message(n, rnd):
    """Message n of the generated Maildir, LF line ends, as bytes."""
    kind = n % 5
    date = "Mon, %02d Nov 2026 %02d:%02d:%02d +0100" % (1 + n % 28, n % 24, n % 60, n * 7 % 60)
    head = ("From: Sender %d <sender%d@example.com>\n"
            "To: Carol <carol@example.org>\n"
            "Subject: message %d of the mbsync test, kind %d\n"
            "Date: %s\n"
            "Message-ID: <mbsync-%d@example.com>\n" % (n % 37, n % 37, n, kind, date, n))
    if n % 11 == 0:
        head += ("Received: from mx.example.com (mx.example.com [192.0.2.%d])\n"
                 "\tby mail.example.org with ESMTPS id %08x\n"
                 "\tfor <carol@example.org>; %s\n" % (n % 250, n * 2654435761 % 2**32, date))
    text = "".join("Line %d of message %d: %s\n" % (i, n, "lorem ipsum dolor sit amet " * (i % 3))
                   for i in range(1 + rnd.randrange(40)))
    if kind <= 1:
        body = "\n" + text
    elif kind == 2:
        body = ("MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
                "Content-Transfer-Encoding: 8bit\n\nGrüße, Käthe — ünïcödé %d\n" % n + text)
    elif kind == 3:
        b = "alt-%d" % n
        body = ("MIME-Version: 1.0\n"
                "Content-Type: multipart/alternative; boundary=\"%s\"\n\n"
                "--%s\nContent-Type: text/plain; charset=us-ascii\n\n%s"
                "--%s\nContent-Type: text/html; charset=us-ascii\n\n<p>%s</p>\n"
                "--%s--\n" % (b, b, text, b, text.replace("\n", "<br>\n"), b))
    else:
        b = "mix-%d" % n
        size = 300000 if n % 50 == 4 else rnd.choice([100, 1000, 5000, 20000])
        blob = base64.encodebytes(rnd.randbytes(size)).decode()
        body = ("MIME-Version: 1.0\n"
                "Content-Type: multipart/mixed; boundary=\"%s\"\n\n"
                "This is a multi-part message in MIME format.\n"
                "--%s\nContent-Type: text/plain; charset=us-ascii\n\n%s"
                "--%s\nContent-Type: application/octet-stream; name=\"file%d.bin\"\n"
                "Content-Disposition: attachment; filename=\"file%d.bin\"\n"
                "Content-Transfer-Encoding: base64\n\n%s"
                "--%s--\n" % (b, b, text, b, n, n, blob, b))
    return (head + body).encode()


def msgid_of(data):
    m = re.search(rb"^Message-ID: <mbsync-(\d+)@example.com>", data, re.M)
    assert m, data[:300]
    return int(m.group(1))


def strip_tuid(data, eol):
    """data without the X-TUID line mbsync adds as the last header line;
    fails unless there is exactly one such line exactly there."""
    end = data.index(eol + eol) + len(eol)
    header, rest = data[:end], data[end:]
    lines = header.split(eol)[:-1]
    if not lines or not TUID.match(lines[-1]) or header.count(b"\nX-TUID: ") != 1:
        raise AssertionError("no single X-TUID line at the end of the header:\n%r"
                             % header[-200:])
    return eol.join(lines[:-1]) + eol + rest


def maildir_name_flags(name):
    return set(name.split(":2,", 1)[1]) if ":2," in name else set()


def read_maildirs(root):
    """{n: (mailbox, data, flag letters, mtime, path)} of every message under root."""
    out = {}
    for dirpath, dirs, _ in os.walk(root):
        if "cur" not in dirs:
            continue
        box = os.path.relpath(dirpath, root)
        for sub in ("cur", "new"):
            for name in os.listdir(os.path.join(dirpath, sub)):
                path = os.path.join(dirpath, sub, name)
                with open(path, "rb") as f:
                    data = f.read()
                n = msgid_of(data)
                assert n not in out, "message %d twice: %s and %s" % (n, out[n][4], path)
                out[n] = (box, data, maildir_name_flags(name), int(os.stat(path).st_mtime), path)
    return out


MBSYNCRC = """\
FSync no

IMAPAccount bulwark
Host localhost
Port {port}
User {user}
Pass "{password}"
SSLType IMAPS
CertificateFile {cert}

IMAPStore remote
Account bulwark

MaildirStore local
Path {maildir}/
Inbox {maildir}/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns *
Create Both
Expunge {expunge}
CopyArrivalDate yes
SyncState {state}/
"""


@unittest.skipUnless(MBSYNC, "mbsync (isync) not installed")
class MbsyncTest(unittest.TestCase):
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
        self.tmp = tempfile.mkdtemp(prefix="bulwark-mbsync.")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.timings = []

    def fail_log(self, what):
        self.fail("%s\n----- server log -----\n%s" % (what, self.srv.log()[-20000:]))

    # --- the three sides ---
    def make_source(self, root):
        rnd = random.Random(4)
        self.orig = {}
        self.model = {}         # n -> (mailbox, set of Maildir flag letters)
        self.born_remote = set()
        for n in range(1, COUNT + 1):
            box = mailbox_of(n)
            flags = FLAGSETS[n % len(FLAGSETS)]
            path = os.path.join(root, box)
            for sub in ("cur", "new", "tmp"):
                os.makedirs(os.path.join(path, sub), exist_ok=True)
            self.orig[n] = message(n, rnd)
            self.model[n] = (box, set(flags))
            if not flags and n % 2:
                name = os.path.join(path, "new", "%d.M%dP1.testhost" % (BASE_TIME, n))
            else:
                name = os.path.join(path, "cur", "%d.M%dP1.testhost:2,%s" % (BASE_TIME, n, flags))
            self.write_file(name, self.orig[n], BASE_TIME + n * 3600)

    @staticmethod
    def write_file(path, data, mtime):
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (mtime, mtime))

    def mbsync(self, side, expunge):
        maildir = os.path.join(self.tmp, side)
        state = os.path.join(self.tmp, side + "-state")
        os.makedirs(maildir, exist_ok=True)
        os.makedirs(state, exist_ok=True)
        rc = os.path.join(self.tmp, side + ".rc")
        with open(rc, "w") as f:
            f.write(MBSYNCRC.format(port=self.srv.ports["imaps"], user=USER,
                                    password=PASSWORD, cert=self.srv.cert,
                                    maildir=maildir, state=state, expunge=expunge))
        t = time.time()
        r = subprocess.run([MBSYNC, "-c", rc, "-a"], capture_output=True, text=True,
                           timeout=300)
        self.timings.append((side, round(time.time() - t, 1)))
        if r.returncode != 0:
            self.fail_log("mbsync %s exited %d:\n%s%s" % (side, r.returncode, r.stdout, r.stderr))

    def imap(self):
        c = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"], timeout=60)
        c.login(USER, PASSWORD)
        return c

    def read_server(self):
        """{n: (mailbox, data, flag letters, internal date, uid)}."""
        c = self.imap()
        out = {}
        typ, boxes = c.list()
        self.assertEqual(typ, "OK")
        for line in boxes:
            box = re.match(rb'\(.*?\) "/" (.*)$', line).group(1).decode().strip('"')
            typ, data = c.select('"%s"' % box, readonly=True)
            if int(data[0]) == 0:
                continue
            typ, meta = c.uid("FETCH", "1:*", "(FLAGS INTERNALDATE)")
            self.assertEqual(typ, "OK")
            info = {}
            for item in meta:
                m = re.match(rb'\d+ \((?=.*UID (\d+))(?=.*FLAGS \(([^)]*)\))'
                             rb'(?=.*INTERNALDATE ("[^"]+"))', item)
                self.assertIsNotNone(m, item)
                flags = set(m.group(2).decode().split())
                unknown = flags - set(IMAPFLAG) - {"\\Recent"}
                self.assertEqual(unknown, set(), item)
                date = int(datetime.datetime.strptime(m.group(3).decode().strip('" '),
                                                      "%d-%b-%Y %H:%M:%S %z").timestamp())
                info[int(m.group(1))] = ({IMAPFLAG[f] for f in flags if f in IMAPFLAG}, date)
            typ, bodies = c.uid("FETCH", "1:*", "(BODY.PEEK[])")
            self.assertEqual(typ, "OK")
            for item in bodies:
                if not isinstance(item, tuple):
                    continue
                uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
                n = msgid_of(item[1])
                self.assertNotIn(n, out)
                out[n] = (box, item[1], info[uid][0], info[uid][1], uid)
            self.assertEqual(len(info), int(data[0]))
        c.logout()
        return out

    # --- comparisons ---
    def check_side(self, name, got, eol, written):
        """got (from read_maildirs or read_server) against the model and the
        originals; written(n) says whether mbsync wrote this copy."""
        self.assertEqual(sorted(set(self.model) - set(got)), [], name + ": missing")
        self.assertEqual(sorted(set(got) - set(self.model)), [], name + ": unexpected")
        bad = []
        for n, (box, data, flags, date, _) in got.items():
            want = self.orig[n].replace(b"\n", eol)
            if written(n):
                data = strip_tuid(data, eol)
            if (box, data, flags, date) != (self.model[n][0], want, self.model[n][1],
                                             BASE_TIME + n * 3600):
                bad.append((n, box, flags, date, self.model[n], data == want))
        self.assertEqual(bad[:10], [], "%s: %d messages differ" % (name, len(bad)))

    def check_all(self, up_written):
        self.check_side("source Maildir", read_maildirs(os.path.join(self.tmp, "up")), b"\n",
                        lambda n: n in up_written)
        server = self.read_server()
        self.check_side("server", server, b"\r\n", lambda n: n not in self.born_remote)
        self.check_side("second Maildir", read_maildirs(os.path.join(self.tmp, "down")),
                        b"\n", lambda n: True)
        return server

    # --- changes ---
    def rename_flags(self, path, letters):
        d, name = os.path.split(path)
        base = name.split(":2,", 1)[0]
        new = os.path.join(os.path.dirname(d), "cur", base + ":2," + "".join(sorted(letters)))
        os.rename(path, new)

    def test_sync_up_down_flags_expunge(self):
        up = os.path.join(self.tmp, "up")
        self.make_source(up)

        # 1. Up: the server gets every message, \Deleted ones included
        # (Expunge None), and the source files are left as they were.
        self.mbsync("up", "None")
        # 2. Down into a new, empty Maildir.
        self.mbsync("down", "None")
        server = self.check_all(set())
        self.assertEqual(len(server), COUNT)
        counts = {}
        for box, _ in self.model.values():
            counts[box] = counts.get(box, 0) + 1
        self.assertEqual(counts, {"INBOX": 1700, "Work": 200, "Work/Q3 Reports": 100})

        # 3. Flags changed on both sides (disjoint messages), new messages
        # on both sides.
        local = read_maildirs(up)
        for n, (box, flags) in self.model.items():
            if n % 7 == 0:
                flags ^= {"F"}
            elif n % 7 == 1:
                flags -= {"S"}
                flags |= {"R"}
            else:
                continue
            self.rename_flags(local[n][4], flags)
        c = self.imap()
        for box in ("INBOX", "Work", "Work/Q3 Reports"):
            c.select('"%s"' % box)
            add = [server[n][4] for n in self.model if self.model[n][0] == box and n % 7 == 3]
            rem = [server[n][4] for n in self.model if self.model[n][0] == box and n % 7 == 4]
            for uids, op, flags in ((add, "+FLAGS", "(\\Answered \\Seen)"),
                                    (rem, "-FLAGS", "(\\Seen \\Flagged)"),
                                    (rem, "+FLAGS", "(\\Draft)")):
                typ, _ = c.uid("STORE", ",".join(map(str, uids)), op + ".SILENT", flags)
                self.assertEqual(typ, "OK")
        for n, (box, flags) in self.model.items():
            if n % 7 == 3:
                flags |= {"R", "S"}
            elif n % 7 == 4:
                flags -= {"S", "F"}
                flags |= {"D"}
        rnd = random.Random(5)
        for n in range(2001, 2006):
            self.orig[n] = message(n, rnd)
            box = "INBOX" if n < 2005 else "Work/Q3 Reports"
            flags = "" if n < 2003 else "FS"
            self.model[n] = (box, set(flags))
            sub = "new" if not flags else "cur"
            self.write_file(os.path.join(up, box, sub, "%d.M%dP2.testhost%s"
                                         % (BASE_TIME, n, (":2," + flags) if flags else "")),
                            self.orig[n], BASE_TIME + n * 3600)
        for n in range(2101, 2104):
            self.orig[n] = message(n, rnd)
            box = "INBOX" if n < 2103 else "Work"
            self.model[n] = (box, {"F"} if n == 2101 else set())
            self.born_remote.add(n)
            typ, _ = c.append('"%s"' % box, "(\\Flagged)" if n == 2101 else None,
                              imaplib.Time2Internaldate(BASE_TIME + n * 3600),
                              self.orig[n].replace(b"\n", b"\r\n"))
            self.assertEqual(typ, "OK")
        c.logout()
        self.mbsync("up", "None")
        self.mbsync("down", "None")
        self.check_all(self.born_remote)

        # 4. Expunge on both sides: files deleted locally, \Deleted and
        # EXPUNGE on the server, then Expunge Both also removes every
        # message that still has \Deleted (the T ones) everywhere.
        local = read_maildirs(up)
        server = self.read_server()
        gone = set()
        for n in list(self.model):
            if n % 7 == 5:
                os.unlink(local[n][4])
                gone.add(n)
        c = self.imap()
        for box in ("INBOX", "Work", "Work/Q3 Reports"):
            c.select('"%s"' % box)
            uids = [server[n][4] for n in self.model if self.model[n][0] == box and n % 7 == 6]
            typ, _ = c.uid("STORE", ",".join(map(str, uids)), "+FLAGS.SILENT", "(\\Deleted)")
            self.assertEqual(typ, "OK")
            typ, data = c.expunge()
            self.assertEqual(typ, "OK")
            gone.update(n for n in self.model if self.model[n][0] == box and n % 7 == 6)
        c.logout()
        deleted = {n for n, (_, flags) in self.model.items() if "T" in flags}
        self.assertEqual(len(deleted & set(range(1, COUNT + 1))), 332)
        for n in gone | deleted:
            del self.model[n]
        self.mbsync("up", "Both")
        self.mbsync("down", "Both")
        server = self.check_all(self.born_remote)
        self.assertEqual(len(server), len(self.model))
        self.assertLess(len(server), COUNT)
        # 5. Nothing changed: another round changes nothing anywhere.
        self.mbsync("up", "Both")
        self.mbsync("down", "Both")
        self.assertEqual(self.check_all(self.born_remote), server)
        print(" mbsync runs (s): %s" % self.timings, end=" ", flush=True)


if __name__ == "__main__":
    unittest.main()

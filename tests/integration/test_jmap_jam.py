# SPDX-License-Identifier: ISC
"""jmapd driven by a JMAP client library written by others: jmap-jam
(npm, pinned in tests/jmap-jam/package.json), run by Node from
tests/jmap-jam/jam.mjs against the real bulwarkd.

Three messages arrive by LMTP, a second apart; the script loads the
session, finds the inbox, creates a mailbox, queries and gets the inbox's
emails oldest first, flags the oldest and moves the second, uploads a
message and imports it as a draft into the new mailbox, and downloads two
emails' blobs.  What it prints is checked against the delivered and
uploaded messages, and what it did is checked through IMAP (imaplib):
flags, the move, the new mailbox in LIST, and the imported message's
bytes, flags and internal date.

Not covered: EmailSubmission (jmapd has none yet).  Skipped when node or
tests/jmap-jam/node_modules (`npm ci --prefix tests/jmap-jam`) is missing.
"""
import base64
import datetime
import email.utils
import hashlib
import imaplib
import json
import os
import re
import shutil
import smtplib
import subprocess
import time
import unittest

from bulwark import Server

HERE = os.path.dirname(os.path.abspath(__file__))
JAM_DIR = os.path.join(os.path.dirname(HERE), "jmap-jam")
JAM = os.path.join(JAM_DIR, "jam.mjs")
NODE = shutil.which("node")
if NODE is None:
    SKIP = "node not installed"
elif not os.path.isdir(os.path.join(JAM_DIR, "node_modules", "jmap-jam")):
    SKIP = "jmap-jam not installed: run `npm ci --prefix tests/jmap-jam`"
else:
    SKIP = None

USER = "jam@example.org"
PASSWORD = "jam test password"
CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
ARCHIVE = "Jam Archive"           # the mailbox jam.mjs creates
IMPORTED_RECEIVED = "2024-02-03T04:05:06Z"

MSGS = [
    ("Alice <alice@example.net>", "First of three", "jam-1@example.net"),
    ("Bob <bob@example.com>", "Second of three", "jam-2@example.com"),
    ("Carol <carol@example.org>", "Third of three", "jam-3@example.org"),
]


def message(frm, subject, msgid):
    return ("From: %s\r\nTo: <%s>\r\nSubject: %s\r\n"
            "Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n"
            "Message-ID: <%s>\r\n\r\n"
            "Body of %s.\r\n" % (frm, USER, subject, msgid, subject)).encode()


def imap_date(s):
    """An IMAP INTERNALDATE as an aware datetime."""
    return datetime.datetime.strptime(s, "%d-%b-%Y %H:%M:%S %z")


@unittest.skipIf(SKIP, SKIP)
class JmapJamTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(None, imap_workers=1, http_workers=1, lmtp_workers=1,
                         cleartext="yes")
        try:
            cls.srv.start()
            cls.srv.add_account(USER, PASSWORD)
            # A second apart: receivedAt orders them.
            for i, m in enumerate(MSGS):
                if i > 0:
                    time.sleep(1.1)
                lmtp = smtplib.LMTP(cls.srv.lmtp_socket, timeout=30)
                lmtp.sendmail("sender@example.net", [USER], message(*m))
                lmtp.quit()
            url = "http://127.0.0.1:%d/jmap/session" % cls.srv.ports["http"]
            p = subprocess.run([NODE, JAM, url, USER, PASSWORD],
                               capture_output=True, timeout=120)
            if p.returncode != 0:
                raise AssertionError(
                    "jam.mjs exited %d\n--- stderr ---\n%s\n--- stdout ---\n"
                    "%s\n--- server log ---\n%s" % (
                        p.returncode, p.stderr.decode(errors="replace"),
                        p.stdout.decode(errors="replace"), cls.srv.log()))
            cls.out = json.loads(p.stdout)
            cls.imap = cls.fetch_all()
        except BaseException:
            cls.srv.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    @classmethod
    def fetch_all(cls):
        """What IMAP shows once the script is done: the LIST lines, and for
        INBOX and ARCHIVE the messages by Message-ID, each as (flags,
        internal date, bytes)."""
        c = imaplib.IMAP4("127.0.0.1", cls.srv.ports["imap"], timeout=20)
        c.login(USER, PASSWORD)
        typ, lines = c.list()
        seen = {"list": [l.decode() for l in lines]}
        for box in ("INBOX", ARCHIVE):
            typ, data = c.select('"%s"' % box, readonly=True)
            assert typ == "OK", (box, data)
            msgs = {}
            if int(data[0]) > 0:
                typ, data = c.fetch("1:*", "(FLAGS INTERNALDATE BODY.PEEK[])")
                meta, body = None, None
                for item in data + [None]:
                    if isinstance(item, tuple) or item is None:
                        if meta is not None:
                            mid = re.search(rb"(?im)^Message-ID:\s*<([^>]*)>",
                                            body).group(1).decode()
                            flags = re.search(r"FLAGS \(([^)]*)\)", meta)
                            date = re.search(r'INTERNALDATE "([^"]*)"', meta)
                            # \Recent is IMAP's own, not JMAP's doing.
                            msgs[mid] = (set(flags.group(1).split()) -
                                         {"\\Recent"},
                                         imap_date(date.group(1)), body)
                        if item is not None:
                            meta, body = item[0].decode(), item[1]
                    else:
                        meta += item.decode()
            seen[box] = msgs
        c.logout()
        return seen

    def email(self, msgid):
        (e,) = [e for e in self.out["emails"] if e["messageId"] == [msgid]]
        return e

    def test_session_and_mailboxes(self):
        s = self.out["session"]
        self.assertEqual(s["username"], USER)
        self.assertIn(CORE, s["capabilities"])
        self.assertIn(MAIL, s["capabilities"])
        self.assertTrue(s["apiUrl"].startswith("http://127.0.0.1:%d/"
                                               % self.srv.ports["http"]))
        g = self.out["mailboxGet"]
        self.assertEqual((g["inboxTotal"], g["inboxUnread"]), (3, 3))
        self.assertNotIn(ARCHIVE, g["names"])
        m = self.out["mailboxSet"]
        self.assertEqual(m["oldState"], g["state"])
        self.assertNotEqual(m["newState"], m["oldState"])
        a = self.out["archive"]
        self.assertEqual((a["name"], a["role"], a["totalEmails"]),
                         (ARCHIVE, None, 2))
        # IMAP lists it.
        self.assertTrue([l for l in self.imap["list"]
                         if l.endswith('"%s"' % ARCHIVE)], self.imap["list"])

    def test_query_and_get(self):
        q = self.out["query"]
        self.assertEqual(q["total"], 3)
        self.assertEqual(len(q["ids"]), 3)
        emails = self.out["emails"]
        self.assertEqual([e["id"] for e in emails], q["ids"])
        inbox = self.out["mailboxGet"]["inbox"]
        for (frm, subject, msgid), e in zip(MSGS, emails):
            name, addr = email.utils.parseaddr(frm)
            self.assertEqual(e["messageId"], [msgid])
            self.assertEqual(e["subject"], subject)
            self.assertEqual(e["from"], [{"name": name, "email": addr}])
            self.assertEqual(e["keywords"], {})
            self.assertEqual(e["mailboxIds"], {inbox: True})
            self.assertEqual(e["size"],
                             len(self.imap_bytes(msgid)), msgid)
        rec = [e["receivedAt"] for e in emails]
        self.assertEqual(rec, sorted(rec))
        self.assertEqual(len(set(rec)), 3)

    def imap_bytes(self, msgid):
        for box in ("INBOX", ARCHIVE):
            if msgid in self.imap[box]:
                return self.imap[box][msgid][2]
        self.fail("%s not in IMAP" % msgid)

    def test_set_keywords_and_move(self):
        s = self.out["emailSet"]
        ids = self.out["query"]["ids"]
        self.assertEqual((s["flagged"], s["moved"]), (ids[0], ids[1]))
        self.assertNotEqual(s["newState"], s["oldState"])
        inbox = self.out["mailboxGet"]["inbox"]
        archive = self.out["mailboxSet"]["created"]
        after = {e["id"]: e for e in self.out["afterSet"]}
        self.assertEqual(after[ids[0]]["keywords"],
                         {"$seen": True, "$flagged": True})
        self.assertEqual(after[ids[0]]["mailboxIds"], {inbox: True})
        self.assertEqual(after[ids[1]]["keywords"], {})
        self.assertEqual(after[ids[1]]["mailboxIds"], {archive: True})
        # IMAP: the first flagged and seen in INBOX, the second moved, the
        # third untouched.
        inbox_msgs = self.imap["INBOX"]
        archive_msgs = self.imap[ARCHIVE]
        m1, m2, m3 = (m[2] for m in MSGS)
        self.assertEqual(set(inbox_msgs), {m1, m3})
        self.assertEqual(inbox_msgs[m1][0], {"\\Seen", "\\Flagged"})
        self.assertEqual(inbox_msgs[m3][0], set())
        self.assertIn(m2, archive_msgs)
        self.assertEqual(archive_msgs[m2][0], set())
        self.assertTrue(archive_msgs[m2][2].endswith(message(*MSGS[1])))

    def test_upload_and_import(self):
        up = self.out["upload"]
        data = base64.b64decode(up["base64"])
        self.assertEqual(up["blobId"],
                         "G" + hashlib.blake2b(data,
                                               digest_size=32).hexdigest())
        self.assertEqual(up["size"], len(data))
        self.assertEqual(up["type"], "message/rfc822")
        imp = self.out["import"]
        self.assertNotEqual(imp["newState"], imp["oldState"])
        created = imp["created"]
        self.assertEqual(created["size"], len(data))
        e = self.out["imported"]
        archive = self.out["mailboxSet"]["created"]
        self.assertEqual(e["id"], created["id"])
        self.assertEqual(e["blobId"], created["blobId"])
        self.assertEqual(e["threadId"], created["threadId"])
        self.assertEqual(e["subject"], "Imported by jmap-jam")
        self.assertEqual(e["from"], [{"name": "Jam Client",
                                      "email": "jam@example.net"}])
        self.assertEqual(e["messageId"], ["jam-import@example.net"])
        self.assertEqual(e["keywords"], {"$draft": True})
        self.assertEqual(e["mailboxIds"], {archive: True})
        self.assertEqual(e["receivedAt"], IMPORTED_RECEIVED)
        self.assertEqual(e["size"], len(data))
        # IMAP: the same bytes, a draft, received when the import said.
        flags, date, body = self.imap[ARCHIVE]["jam-import@example.net"]
        self.assertEqual(body, data)
        self.assertEqual(flags, {"\\Draft"})
        self.assertEqual(date, datetime.datetime(
            2024, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc))

    def test_downloads(self):
        d = self.out["downloadImported"]
        self.assertEqual(d["status"], 200)
        self.assertEqual(d["blobId"], self.out["imported"]["blobId"])
        self.assertEqual(d["type"], "message/rfc822")
        self.assertEqual(base64.b64decode(d["base64"]),
                         base64.b64decode(self.out["upload"]["base64"]))
        d = self.out["downloadDelivered"]
        self.assertEqual(d["status"], 200)
        self.assertEqual(d["blobId"], self.out["emails"][0]["blobId"])
        body = base64.b64decode(d["base64"])
        self.assertEqual(body, self.imap["INBOX"][MSGS[0][2]][2])
        self.assertTrue(body.endswith(message(*MSGS[0])))


if __name__ == "__main__":
    unittest.main()

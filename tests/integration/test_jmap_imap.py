# SPDX-License-Identifier: ISC
"""The same mail seen from JMAP and IMAP, against the real bulwarkd:
mail delivered by LMTP and changed by JMAP is seen at once by an IMAP
session in IDLE (EXISTS, FETCH FLAGS, EXPUNGE); what IMAP changes shows
in JMAP's /changes; JMAP states are IMAP's HIGHESTMODSEQ; ids are the
same (OBJECTID: MAILBOXID, EMAILID, THREADID, RFC 8474).
"""
import base64
import http.client
import imaplib
import json
import re
import smtplib
import time
import unittest

from bulwark import Server

USER = "both@example.org"
PASSWORD = "both test password"
CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"


def basic():
    return "Basic " + base64.b64encode(
        ("%s:%s" % (USER, PASSWORD)).encode()).decode()


class Idle:
    """An IMAP session in IDLE on INBOX, collecting untagged lines."""

    def __init__(self, port):
        self.c = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        self.c.login(USER, PASSWORD)
        self.c.select("INBOX")
        self.c.send(b"i1 IDLE\r\n")
        line = self.c.readline()
        assert line.startswith(b"+"), line

    def wait(self, pattern, timeout=10):
        """The first untagged line matching pattern (bytes regex)."""
        deadline = time.time() + timeout
        self.c.sock.settimeout(timeout)
        while time.time() < deadline:
            line = self.c.readline()
            if not line:
                break
            if re.search(pattern, line):
                return line
        raise AssertionError("IDLE never saw %r" % pattern)

    def close(self):
        self.c.send(b"DONE\r\n")
        self.c.sock.settimeout(10)
        while not self.c.readline().startswith(b"i1 "):
            pass
        self.c.logout()


class JmapImapTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(None, imap_workers=1, http_workers=1, lmtp_workers=1,
                         cleartext="yes")
        try:
            cls.srv.start()
            cls.srv.add_account(USER, PASSWORD)
        except Exception:
            cls.srv.cleanup()
            raise
        c = http.client.HTTPConnection("127.0.0.1", cls.srv.ports["http"],
                                       timeout=30)
        c.request("GET", "/jmap/session", headers={"Authorization": basic()})
        cls.account = json.loads(c.getresponse().read())[
            "primaryAccounts"][MAIL]

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def call(self, name, args):
        a = dict(args)
        a["accountId"] = self.account
        c = http.client.HTTPConnection("127.0.0.1", self.srv.ports["http"],
                                       timeout=30)
        c.request("POST", "/jmap/api/", json.dumps({
            "using": [CORE, MAIL], "methodCalls": [[name, a, "c"]]}).encode(),
            {"Authorization": basic(), "Content-Type": "application/json"})
        (rname, res, _), = json.loads(c.getresponse().read())[
            "methodResponses"]
        self.assertEqual(rname, name, res)
        return res

    def deliver(self, subject):
        lmtp = smtplib.LMTP(self.srv.lmtp_socket, timeout=30)
        lmtp.sendmail("a@example.net", [USER], (
            "From: a@example.net\r\nTo: %s\r\nSubject: %s\r\n"
            "Message-ID: <%s@example.net>\r\n\r\nhi\r\n")
            % (USER, subject, subject.replace(" ", "-")))
        lmtp.quit()

    def mailboxes(self):
        res = self.call("Mailbox/get", {"ids": None,
                                        "properties": ["role", "name"]})
        return {m["role"]: m["id"] for m in res["list"] if m["role"]}

    def email_of(self, subject):
        ids = self.call("Email/query", {"filter": {"subject": subject}})["ids"]
        self.assertEqual(len(ids), 1)
        return ids[0]

    def test_idle_sees_jmap_changes(self):
        boxes = self.mailboxes()
        idle = Idle(self.srv.ports["imap"])
        try:
            self.deliver("idle one")
            n = int(idle.wait(rb"^\* \d+ EXISTS").split()[1])
            eid = self.email_of("idle one")
            self.call("Email/set", {"update": {eid: {
                "keywords": {"$flagged": True, "$seen": True}}}})
            line = idle.wait(rb"^\* %d FETCH" % n)
            self.assertIn(b"\\Flagged", line)
            self.assertIn(b"\\Seen", line)
            self.call("Email/set", {"update": {eid: {
                "mailboxIds": {boxes["archive"]: True}}}})
            idle.wait(rb"^\* %d EXPUNGE" % n)
            res = self.call("Email/set", {"create": {"d": {
                "mailboxIds": {boxes["inbox"]: True},
                "subject": "made by jmap"}}})
            self.assertIn("d", res["created"])
            idle.wait(rb"^\* \d+ EXISTS")
        finally:
            idle.close()

    def test_imap_changes_seen_by_jmap(self):
        self.deliver("from imap")
        eid = self.email_of("from imap")
        state = self.call("Email/get", {"ids": []})["state"]
        c = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"], timeout=20)
        c.login(USER, PASSWORD)
        c.select("INBOX")
        typ, data = c.search(None, "SUBJECT", '"from imap"')
        num = data[0].split()[0]
        c.store(num, "+FLAGS", "(\\Answered $label1)")
        typ, data = c.fetch(num, "(EMAILID THREADID)")
        ids = data[0].decode()
        typ, st = c.status("INBOX", "(HIGHESTMODSEQ MAILBOXID)")
        c.logout()
        ch = self.call("Email/changes", {"sinceState": state})
        self.assertEqual(ch["updated"], [eid])
        e = self.call("Email/get", {"ids": [eid], "properties": [
            "keywords", "threadId"]})["list"][0]
        self.assertEqual(e["keywords"], {"$answered": True, "$label1": True})
        # RFC 8474 ids and the modseq are the same values.
        self.assertIn("EMAILID (%s)" % eid, ids)
        self.assertIn("THREADID (%s)" % e["threadId"], ids)
        hms = int(re.search(rb"HIGHESTMODSEQ (\d+)", st[0]).group(1))
        self.assertEqual(ch["newState"], "S%x" % hms)
        mbid = re.search(rb"MAILBOXID \((\w+)\)", st[0]).group(1).decode()
        self.assertEqual(mbid, self.mailboxes()["inbox"])


if __name__ == "__main__":
    unittest.main()

# SPDX-License-Identifier: ISC
"""The change history kept per account (storage { change-history } of
bulwark.conf(5)), against the real bulwarkd: `bulwarkctl store prune`
forgets the oldest changes; then JMAP /changes from a state older than what
is kept answers cannotCalculateChanges (RFC 8620 5.2) while newer states
still work, and IMAP QRESYNC (RFC 7162) reports every UID no longer in the
mailbox as VANISHED (EARLIER), before the prune only those expunged since,
and a session whose view is older than the history loses exactly the
messages that went.
"""
import base64
import http.client
import imaplib
import json
import re
import smtplib
import unittest

import test_imap_mail
from bulwark import Server

USER = "history@example.org"
PASSWORD = "history test password"
CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
KEEP = 10
Raw = test_imap_mail.Raw


def basic():
    return "Basic " + base64.b64encode(
        ("%s:%s" % (USER, PASSWORD)).encode()).decode()


class ChangeHistoryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(None, imap_workers=1, http_workers=1, lmtp_workers=1,
                         cleartext="yes")
        cls.srv.write_conf(extra="storage {\n\tchange-history %d\n}\n" % KEEP)
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
        """The response of one method call: (name, arguments)."""
        a = dict(args)
        a["accountId"] = self.account
        c = http.client.HTTPConnection("127.0.0.1", self.srv.ports["http"],
                                       timeout=30)
        c.request("POST", "/jmap/api/", json.dumps({
            "using": [CORE, MAIL], "methodCalls": [[name, a, "c"]]}).encode(),
            {"Authorization": basic(), "Content-Type": "application/json"})
        (rname, res, _), = json.loads(c.getresponse().read())[
            "methodResponses"]
        return rname, res

    def deliver(self, n):
        lmtp = smtplib.LMTP(self.srv.lmtp_socket, timeout=30)
        lmtp.sendmail("a@example.net", [USER], (
            "From: a@example.net\r\nTo: %s\r\nSubject: history %d\r\n"
            "Message-ID: <history-%d@example.net>\r\n\r\nhi\r\n")
            % (USER, n, n))
        lmtp.quit()

    def imap(self):
        c = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"], timeout=20)
        c.login(USER, PASSWORD)
        c.select("INBOX")
        return c

    def raw(self):
        r = Raw(self.srv.ports["imap"])
        lines = r.cmd(b"L", b"LOGIN %s \"%s\"" % (USER.encode(),
                                                 PASSWORD.encode()))
        self.assertTrue(lines[-1].startswith(b"L OK"), lines)
        return r

    def prune(self):
        out = self.srv.ctl("store", "prune").stdout
        m = re.match(r"pruned duplicates (\d+) uploads (\d+) changes (\d+) "
                     r"accounts (\d+)$", out.strip())
        self.assertIsNotNone(m, out)
        return int(m.group(3)), int(m.group(4))

    def test_history(self):
        for n in range(1, 6):
            self.deliver(n)
        a = self.imap()
        # UID 1 goes before the clients below take their state.
        a.uid("STORE", "1", "+FLAGS", r"(\Deleted)")
        a.expunge()
        _, res = self.call("Email/get", {"ids": []})
        old_state = res["state"]
        r = self.raw()
        self.assertIn(b"* ENABLED QRESYNC", r.cmd(b"E", b"ENABLE QRESYNC"))
        lines = r.cmd(b"S", b"SELECT INBOX")
        joined = b" ".join(lines)
        uidvalidity = int(re.search(rb"UIDVALIDITY (\d+)", joined).group(1))
        modseq = int(re.search(rb"HIGHESTMODSEQ (\d+)", joined).group(1))
        r.cmd(b"U", b"UNSELECT")
        # A session that stays on the mailbox as it is now: UIDs 2-5.
        live = self.imap()
        # Then UID 2 goes, and flag changes fill the history.
        a.uid("STORE", "2", "+FLAGS", r"(\Deleted)")
        a.expunge()
        for i in range(KEEP):
            a.uid("STORE", "3", "+FLAGS" if i % 2 == 0 else "-FLAGS",
                  r"(\Flagged)")
        self.deliver(6)
        a.noop()

        # Before the prune: the exact history.
        qresync = b"SELECT INBOX (QRESYNC (%d %d))" % (uidvalidity, modseq)
        lines = r.cmd(b"Q1", qresync)
        self.assertIn(b"* VANISHED (EARLIER) 2", lines)
        r.cmd(b"U", b"UNSELECT")
        name, res = self.call("Email/changes", {"sinceState": old_state})
        self.assertEqual(name, "Email/changes", res)
        self.assertEqual(len(res["destroyed"]), 1, res)
        self.assertEqual(len(res["created"]), 1, res)

        changes, accounts = self.prune()
        self.assertGreater(changes, 0)
        self.assertEqual(accounts, 1)
        # Nothing more to forget at once.
        self.assertEqual(self.prune(), (0, 0))

        # JMAP: the old state cannot be calculated; the current one can.
        name, res = self.call("Email/changes", {"sinceState": old_state})
        self.assertEqual(name, "error", res)
        self.assertEqual(res["type"], "cannotCalculateChanges", res)
        name, res = self.call("Mailbox/changes", {"sinceState": old_state})
        self.assertEqual(res.get("type"), "cannotCalculateChanges", res)
        _, res = self.call("Email/get", {"ids": []})
        name, res = self.call("Email/changes", {"sinceState": res["state"]})
        self.assertEqual(name, "Email/changes", res)
        self.assertEqual(res["created"] + res["updated"] + res["destroyed"],
                         [], res)

        # IMAP: every UID absent below UIDNEXT 7, 1 as well as 2, unless
        # the client names the UIDs it knows; flags changed still come.
        lines = r.cmd(b"Q2", qresync)
        self.assertTrue(lines[-1].startswith(b"Q2 OK"), lines)
        self.assertIn(b"* VANISHED (EARLIER) 1:2", lines)
        self.assertTrue([l for l in lines if re.match(
            rb"\* 1 FETCH \(UID 3 FLAGS \(\) MODSEQ \(\d+\)\)", l)], lines)
        self.assertTrue([l for l in lines if re.match(
            rb"\* 4 FETCH \(UID 6 FLAGS \(\) MODSEQ \(\d+\)\)", l)], lines)
        r.cmd(b"U", b"UNSELECT")
        lines = r.cmd(b"Q3", b"SELECT INBOX (QRESYNC (%d %d 2:5))"
                      % (uidvalidity, modseq))
        self.assertIn(b"* VANISHED (EARLIER) 2", lines)
        lines = r.cmd(b"F", b"UID FETCH 1:6 (FLAGS) (CHANGEDSINCE %d "
                      b"VANISHED)" % modseq)
        self.assertIn(b"* VANISHED (EARLIER) 1:2", lines)
        r.close()

        # The session that saw UIDs 2-5 loses 2 (its message 1), and no
        # more: 1 was never in its view.
        live.untagged_responses.clear()
        typ, data = live.noop()
        self.assertEqual(typ, "OK")
        expunged = live.untagged_responses.get("EXPUNGE", [])
        self.assertEqual(expunged, [b"1"], live.untagged_responses)
        self.assertEqual(live.untagged_responses.get("EXISTS"), [b"4"],
                         live.untagged_responses)
        typ, data = live.uid("SEARCH", "ALL")
        self.assertEqual(data[0].split(), [b"3", b"4", b"5", b"6"])
        live.logout()
        a.logout()


if __name__ == "__main__":
    unittest.main()

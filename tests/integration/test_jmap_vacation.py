# SPDX-License-Identifier: ISC
"""JMAP VacationResponse (RFC 8621 8) and the replies it makes at delivery.

Through HTTP (http.client) against the real bulwarkd; mail comes in over
LMTP (smtplib.LMTP) and the replies leave through lmtpd's relay to a
Python SMTP server (aiosmtpd, as in test_relay) that records them:
 - the capability, VacationResponse/get of the one "singleton" object,
   /set's patches, errors (singleton, notFound, invalidProperties,
   stateMismatch) and states;
 - with the response on, a personal message gets one reply with a null
   envelope sender, Auto-Submitted: auto-replied, In-Reply-To and the
   texts set (RFC 3834 3); the same sender is not answered twice, until
   the response is set again; no reply to list mail, bulk mail, automatic
   mail, a null sender, mail where the user is not in To or Cc, nor
   outside fromDate/toDate (RFC 3834 2 and 5);
 - the replies are none of the user's EmailSubmissions.
Each negative case is followed by a message that must be answered: once
its reply is in, every reply queued before it has been sent too (the
relay sends in queue order), so a missing reply is a real absence.
"""
import base64
import email
import email.policy
import http.client
import json
import smtplib
import time
import unittest

import test_relay as relay
from bulwark import Server

USER = "vacationer@example.org"
PASSWORD = "vacation test password"
CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
SUBMISSION = "urn:ietf:params:jmap:submission"
VACATION = "urn:ietf:params:jmap:vacationresponse"


def basic():
    return "Basic " + base64.b64encode(
        ("%s:%s" % (USER, PASSWORD)).encode()).decode()


@unittest.skipUnless(relay.Controller is not None,
                     "python3-aiosmtpd missing")
class VacationTest(unittest.TestCase):
    n = 0

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(None, imap_workers=1, lmtp_workers=1,
                         http_workers=1, cleartext="yes")
        cls.smtp = relay.smarthost(cls.srv, True)
        try:
            cls.srv.write_conf(extra=relay.relay_section(
                "127.0.0.1", cls.smtp.port, "starttls"))
            cls.srv.start()
            cls.srv.add_account(USER, PASSWORD)
            c = cls.conn()
            c.request("GET", "/jmap/session",
                      headers={"Authorization": basic()})
            cls.session = json.loads(c.getresponse().read())
            c.close()
            cls.account = cls.session["primaryAccounts"][MAIL]
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.smtp.stop()
        cls.srv.cleanup()

    @classmethod
    def conn(cls):
        return http.client.HTTPConnection("127.0.0.1", cls.srv.ports["http"],
                                          timeout=60)

    def calls(self, calls, using=(CORE, MAIL, VACATION)):
        c = self.conn()
        c.request("POST", "/jmap/api/", json.dumps({
            "using": list(using), "methodCalls": calls}).encode(),
            {"Authorization": basic(), "Content-Type": "application/json"})
        r = c.getresponse()
        body = r.read()
        c.close()
        self.assertEqual(r.status, 200, body)
        return json.loads(body)["methodResponses"]

    def get(self):
        (name, res, _), = self.calls([["VacationResponse/get", {
            "accountId": self.account, "ids": None}, "g"]])
        self.assertEqual(name, "VacationResponse/get", res)
        return res

    def set(self, patch, **more):
        args = {"accountId": self.account, "update": {"singleton": patch}}
        args.update(more)
        (name, res, _), = self.calls([["VacationResponse/set", args, "s"]])
        self.assertEqual(name, "VacationResponse/set", res)
        return res

    def enable(self, **patch):
        p = {"isEnabled": True, "fromDate": None, "toDate": None,
             "subject": "Away", "textBody": "Back on Monday.",
             "htmlBody": None}
        p.update(patch)
        res = self.set(p)
        self.assertEqual(res.get("updated"), {"singleton": None}, res)

    def deliver(self, sender, headers="", to=USER, envelope=None):
        VacationTest.n += 1
        n = VacationTest.n
        lmtp = smtplib.LMTP(self.srv.lmtp_socket, timeout=30)
        lmtp.sendmail(sender if envelope is None else envelope, [USER], (
            "From: %s\r\nTo: %s\r\nSubject: question %d\r\n"
            "Message-ID: <vac-%d@remote.example>\r\n%s\r\n"
            "Are you there?\r\n" % (sender, to, n, n, headers)).encode())
        lmtp.quit()
        return "<vac-%d@remote.example>" % n

    def replies(self, to):
        return [t for t in self.smtp.recorder.received
                if t["rcpt_tos"] == [to]]

    def wait_reply(self, to, count=1, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = self.replies(to)
            if len(got) >= count:
                return got
            time.sleep(0.1)
        self.fail("no vacation reply to %s:\n%s" % (to, self.srv.log()))

    # --- The object ---

    def test_capability(self):
        self.assertIn(VACATION, self.session["capabilities"])
        self.assertEqual(self.session["primaryAccounts"][VACATION],
                         self.account)
        self.assertIn(VACATION, self.session["accounts"][self.account][
            "accountCapabilities"])

    def test_needs_capability(self):
        (name, res, _), = self.calls([["VacationResponse/get", {
            "accountId": self.account}, "g"]], using=(CORE, MAIL))
        self.assertEqual((name, res["type"]), ("error", "unknownMethod"))

    def test_get_set_and_errors(self):
        self.set({"isEnabled": False, "fromDate": None, "toDate": None,
                  "subject": None, "textBody": None, "htmlBody": None})
        res = self.get()
        self.assertEqual(res["list"], [{
            "id": "singleton", "isEnabled": False, "fromDate": None,
            "toDate": None, "subject": None, "textBody": None,
            "htmlBody": None}])
        self.assertEqual(res["notFound"], [])
        state = res["state"]
        res = self.set({"subject": "Gone \u00e9t\u00e9",
                        "fromDate": "2030-01-02T03:04:05Z",
                        "htmlBody": "<p>Gone</p>"}, ifInState=state)
        self.assertEqual(res["updated"], {"singleton": None})
        self.assertEqual(res["oldState"], state)
        self.assertNotEqual(res["newState"], state)
        (_, res, _), = self.calls([["VacationResponse/get", {
            "accountId": self.account, "ids": ["singleton", "other"],
            "properties": ["subject", "fromDate"]}, "g"]])
        self.assertEqual(res["list"], [{
            "id": "singleton", "subject": "Gone \u00e9t\u00e9",
            "fromDate": "2030-01-02T03:04:05Z"}])
        self.assertEqual(res["notFound"], ["other"])
        # The state moved with the change (one state for the account).
        self.assertNotEqual(res["state"], state)
        # A stale ifInState changes nothing.
        (name, res, _), = self.calls([["VacationResponse/set", {
            "accountId": self.account, "ifInState": state,
            "update": {"singleton": {"subject": "x"}}}, "s"]])
        self.assertEqual((name, res["type"]), ("error", "stateMismatch"))
        self.assertEqual(self.get()["list"][0]["subject"],
                         "Gone \u00e9t\u00e9")
        # RFC 8620 5.3: no create or destroy of a singleton; no other id.
        (_, res, _), = self.calls([["VacationResponse/set", {
            "accountId": self.account,
            "create": {"k": {"isEnabled": True}},
            "destroy": ["singleton"],
            "update": {"nope": {"isEnabled": True}}}, "s"]])
        self.assertEqual(res["notCreated"]["k"]["type"], "singleton")
        self.assertEqual(res["notDestroyed"]["singleton"]["type"],
                         "singleton")
        self.assertEqual(res["notUpdated"]["nope"]["type"], "notFound")
        self.assertEqual(res["oldState"], res["newState"])
        # Bad values: each is invalidProperties naming the property.
        for patch, prop in (({"isEnabled": "yes"}, "isEnabled"),
                            ({"fromDate": "tomorrow"}, "fromDate"),
                            ({"toDate": "2030-01-02T03:04:05+01:00"},
                             "toDate"),
                            ({"subject": 3}, "subject"),
                            ({"textBody": ["a"]}, "textBody"),
                            ({"id": "other"}, "id"),
                            ({"colour": "red"}, "colour")):
            res = self.set(patch)
            err = res["notUpdated"]["singleton"]
            self.assertEqual(err["type"], "invalidProperties", patch)
            self.assertEqual(err["properties"], [prop], patch)
        (_, res, _), = self.calls([["VacationResponse/set", {
            "accountId": self.account, "update": {"singleton": {
                "subject": "two\r\nlines"}}}, "s"]])
        self.assertEqual(res["notUpdated"]["singleton"]["type"],
                         "invalidProperties")
        self.assertEqual(self.get()["list"][0]["subject"],
                         "Gone \u00e9t\u00e9")

    # --- The replies ---

    def test_reply_once_per_sender(self):
        self.enable(subject="Out of office",
                    textBody="I am away until Monday.\n\u00c0 lundi.")
        msgid = self.deliver("Bob <bob@remote.example>")
        (t,) = self.wait_reply("bob@remote.example")
        # RFC 3834 3.3: MAIL FROM:<>, which aiosmtpd keeps as "<>".
        self.assertEqual(t["mail_from"], "<>")
        m = email.message_from_bytes(t["content"],
                                     policy=email.policy.default)
        self.assertEqual(m["Auto-Submitted"], "auto-replied")
        self.assertEqual(m["In-Reply-To"], msgid)
        self.assertIn(msgid, m["References"])
        self.assertEqual(m["Subject"], "Out of office")
        self.assertEqual(str(m["To"]), "bob@remote.example")
        self.assertEqual(str(m["From"]), USER)
        self.assertEqual(m.get_content().replace("\r\n", "\n"),
                         "I am away until Monday.\n\u00c0 lundi.\n")
        self.assertTrue(t["content"].isascii())
        self.srv.wait_log(r"storaged\[\d+\]: vacation reply queued "
                          r"account=\d+ id=\d+")
        # Bob again: not answered (RFC 3834 2); Dan, after him, is.
        self.deliver("bob@remote.example")
        self.deliver("dan@remote.example")
        self.wait_reply("dan@remote.example")
        self.assertEqual(len(self.replies("bob@remote.example")), 1)
        # Set again: everyone hears the new response once.
        self.enable(subject=None, textBody=None,
                    htmlBody="<p>Back <b>soon</b></p>")
        self.deliver("bob@remote.example")
        _, t = self.wait_reply("bob@remote.example", 2)
        m = email.message_from_bytes(t["content"],
                                     policy=email.policy.default)
        self.assertTrue(m["Subject"].startswith("Auto: question "), m)
        self.assertEqual(m.get_content_type(), "text/html")
        self.assertIn("<b>soon</b>", m.get_content())
        # Not one of the user's submissions.
        (_, res, _), = self.calls([["EmailSubmission/get", {
            "accountId": self.account, "ids": None}, "s"]],
            using=(CORE, MAIL, SUBMISSION))
        self.assertEqual(res["list"], [])

    def test_text_and_html(self):
        self.enable(subject="Away", textBody="plain words",
                    htmlBody="<p>html words</p>")
        self.deliver("erin@remote.example")
        (t,) = self.wait_reply("erin@remote.example")
        m = email.message_from_bytes(t["content"],
                                     policy=email.policy.default)
        self.assertEqual(m.get_content_type(), "multipart/alternative")
        parts = [p.get_content_type() for p in m.iter_parts()]
        self.assertEqual(parts, ["text/plain", "text/html"])
        self.assertIn("plain words",
                      m.get_body(("plain",)).get_content())

    def test_no_reply_cases(self):
        self.enable()
        cases = [
            ("list1@remote.example", "List-Id: <l.remote.example>\r\n"),
            ("list2@remote.example",
             "List-Unsubscribe: <mailto:u@remote.example>\r\n"),
            ("bulk@remote.example", "Precedence: bulk\r\n"),
            ("auto@remote.example", "Auto-Submitted: auto-generated\r\n"),
            ("owner-list@remote.example", ""),
            ("news-request@remote.example", ""),
            ("MAILER-DAEMON@remote.example", ""),
        ]
        for sender, headers in cases:
            self.deliver(sender, headers)
        self.deliver("bcc@remote.example", to="someone@else.example")
        self.deliver("null@remote.example", envelope="")
        # A message that is answered, after all of them.
        self.deliver("fine@remote.example",
                     "Auto-Submitted: no\r\n")
        self.wait_reply("fine@remote.example")
        answered = {t["rcpt_tos"][0] for t in self.smtp.recorder.received}
        for sender, _ in cases:
            self.assertNotIn(sender, answered)
        self.assertNotIn("bcc@remote.example", answered)
        self.assertNotIn("null@remote.example", answered)
        self.assertNotIn("", answered)

    def test_dates(self):
        self.enable(fromDate="2099-01-01T00:00:00Z")
        self.deliver("early@remote.example")
        self.enable(toDate="2001-01-01T00:00:00Z")
        self.deliver("late@remote.example")
        self.enable(isEnabled=False)
        self.deliver("off@remote.example")
        self.enable(fromDate="2001-01-01T00:00:00Z",
                    toDate="2099-01-01T00:00:00Z")
        self.deliver("within@remote.example")
        self.wait_reply("within@remote.example")
        answered = {t["rcpt_tos"][0] for t in self.smtp.recorder.received}
        self.assertNotIn("early@remote.example", answered)
        self.assertNotIn("late@remote.example", answered)
        self.assertNotIn("off@remote.example", answered)



class VacationNoRelayTest(unittest.TestCase):
    """Without relay { host } no reply is made: it could never leave."""

    def test_no_relay_no_reply(self):
        srv = Server(self, imap_workers=1, lmtp_workers=1, http_workers=1,
                     cleartext="yes")
        self.addCleanup(srv.cleanup)
        srv.write_conf()
        srv.start()
        srv.add_account(USER, PASSWORD)
        c = http.client.HTTPConnection("127.0.0.1", srv.ports["http"],
                                       timeout=60)
        c.request("POST", "/jmap/api/", json.dumps({
            "using": [CORE, MAIL, VACATION], "methodCalls": [[
                "VacationResponse/set", {"accountId": "A1", "update": {
                    "singleton": {"isEnabled": True}}}, "s"]]}).encode(),
            {"Authorization": basic(), "Content-Type": "application/json"})
        (_, res, _), = json.loads(c.getresponse().read())["methodResponses"]
        c.close()
        self.assertEqual(res.get("updated"), {"singleton": None}, res)
        lmtp = smtplib.LMTP(srv.lmtp_socket, timeout=30)
        lmtp.sendmail("bob@remote.example", [USER],
                      b"From: bob@remote.example\r\nTo: %s\r\n"
                      b"Subject: hi\r\n\r\nhello\r\n" % USER.encode())
        lmtp.quit()
        # The reply would have been queued in the delivery's transaction,
        # before the 250, and logged then (VacationTest's server logs
        # "vacation reply queued" for each reply it makes).
        time.sleep(1)
        self.assertNotIn("vacation reply queued", srv.log())
        self.assertNotIn("submission taken", srv.log())


if __name__ == "__main__":
    unittest.main()

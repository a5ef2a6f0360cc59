# SPDX-License-Identifier: ISC
"""jmapd: Identity (RFC 8621 6) and EmailSubmission (7), against the real
bulwarkd without a relay configured (submissions stay queued; the relay
to a smarthost is test_relay's): identities and the addresses an account
may send as, submissions with given and derived envelopes, sendAt, undo,
query, destroy, /changes, and onSuccessUpdateEmail/onSuccessDestroyEmail
with the implicit Email/set response.
"""
import base64
import http.client
import json
import time
import unittest

from bulwark import Server

USER = "sub@example.org"
PASSWORD = "submission test password"
ALIAS = "sales@example.org"
CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
SUB = "urn:ietf:params:jmap:submission"


def basic():
    return "Basic " + base64.b64encode(
        ("%s:%s" % (USER, PASSWORD)).encode()).decode()


class JmapSubmissionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(None, imap_workers=1, http_workers=1)
        try:
            cls.srv.start()
            cls.srv.add_account(USER, PASSWORD)
            cls.srv.ctl("alias", "add", ALIAS, USER)
        except Exception:
            cls.srv.cleanup()
            raise
        s = cls.session()
        cls.account = s["primaryAccounts"][SUB]
        cls.caps = s

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    @classmethod
    def session(cls):
        c = http.client.HTTPConnection("127.0.0.1", cls.srv.ports["http"],
                                       timeout=30)
        c.request("GET", "/jmap/session", headers={"Authorization": basic()})
        return json.loads(c.getresponse().read())

    def calls(self, calls):
        for c in calls:
            c[1].setdefault("accountId", self.account)
        h = http.client.HTTPConnection("127.0.0.1", self.srv.ports["http"],
                                       timeout=30)
        h.request("POST", "/jmap/api/", json.dumps({
            "using": [CORE, MAIL, SUB], "methodCalls": calls}).encode(),
            {"Authorization": basic(), "Content-Type": "application/json"})
        r = h.getresponse()
        body = r.read()
        self.assertEqual(r.status, 200, body)
        return json.loads(body)["methodResponses"]

    def ok(self, name, args):
        (rname, res, _), = self.calls([[name, args, "c"]])
        self.assertEqual(rname, name, res)
        return res

    def roles(self):
        res = self.ok("Mailbox/get", {"ids": None, "properties": ["role"]})
        return {m["role"]: m["id"] for m in res["list"] if m["role"]}

    def draft(self, to=("bob@example.net",), cc=(), subject="hello"):
        res = self.ok("Email/set", {"create": {"d": {
            "mailboxIds": {self.roles()["drafts"]: True},
            "keywords": {"$draft": True},
            "from": [{"name": "Sub", "email": USER}],
            "to": [{"email": a} for a in to],
            "cc": [{"email": a} for a in cc],
            "subject": subject,
            "textBody": [{"partId": "1"}],
            "bodyValues": {"1": {"value": "body"}}}}})
        return res["created"]["d"]["id"]

    def test_capability(self):
        self.assertIn(SUB, self.caps["capabilities"])
        cap = self.caps["accounts"][self.account]["accountCapabilities"][SUB]
        self.assertGreater(cap["maxDelayedSend"], 0)
        self.assertEqual(cap["submissionExtensions"], {})

    def test_identities(self):
        res = self.ok("Identity/get", {"ids": None})
        first = res["list"][0]
        self.assertEqual(first["email"], USER)
        self.assertIs(first["mayDelete"], False)
        state = res["state"]
        res = self.ok("Identity/set", {"create": {
            "a": {"name": "Sales", "email": ALIAS,
                  "replyTo": [{"name": None, "email": ALIAS}],
                  "textSignature": "-- \nSales"},
            "x": {"email": "ceo@example.com"},
            "y": {"email": USER, "mayDelete": True}}})
        self.assertEqual(res["notCreated"]["x"]["type"], "forbiddenFrom")
        self.assertEqual(res["notCreated"]["y"]["type"], "invalidProperties")
        aid = res["created"]["a"]["id"]
        self.assertIs(res["created"]["a"]["mayDelete"], True)
        got = self.ok("Identity/get", {"ids": [aid, "Iffff"]})
        self.assertEqual(got["notFound"], ["Iffff"])
        ident = got["list"][0]
        self.assertEqual(ident["name"], "Sales")
        self.assertEqual(ident["replyTo"], [{"name": None, "email": ALIAS}])
        self.assertEqual(ident["textSignature"], "-- \nSales")
        self.assertIsNone(ident["bcc"])
        res = self.ok("Identity/set", {"update": {
            aid: {"name": "Sales team"},
            first["id"]: {"email": ALIAS}}})
        self.assertEqual(list(res["updated"]), [aid])
        self.assertEqual(res["notUpdated"][first["id"]]["type"],
                         "invalidProperties")
        ch = self.ok("Identity/changes", {"sinceState": state})
        self.assertEqual(ch["created"], [aid])
        res = self.ok("Identity/set", {"destroy": [first["id"], aid]})
        self.assertEqual(res["destroyed"], [aid])
        self.assertEqual(res["notDestroyed"][first["id"]]["type"],
                         "forbidden")

    def test_submit_with_derived_envelope_and_on_success(self):
        ident = self.ok("Identity/get", {"ids": None})["list"][0]["id"]
        roles = self.roles()
        eid = self.draft(to=("bob@example.net", "Carol@Example.net"),
                         cc=("bob@example.net",))
        resp = self.calls([["EmailSubmission/set", {
            "create": {"s": {"identityId": ident, "emailId": eid}},
            "onSuccessUpdateEmail": {"#s": {
                "keywords/$draft": None,
                "mailboxIds/" + roles["drafts"]: None,
                "mailboxIds/" + roles["sent"]: True}}}, "c"]])
        self.assertEqual([r[0] for r in resp], ["EmailSubmission/set",
                                                "Email/set"])
        self.assertEqual(resp[1][2], "c")
        created = resp[0][1]["created"]["s"]
        self.assertEqual(created["undoStatus"], "pending")
        self.assertEqual(list(resp[1][1]["updated"]), [eid])
        e = self.ok("Email/get", {"ids": [eid], "properties": [
            "keywords", "mailboxIds"]})["list"][0]
        self.assertEqual(e["mailboxIds"], {roles["sent"]: True})
        self.assertEqual(e["keywords"], {})
        sub = self.ok("EmailSubmission/get", {"ids": [created["id"]]})[
            "list"][0]
        self.assertEqual(sub["emailId"], eid)
        self.assertEqual(sub["identityId"], ident)
        self.assertEqual(sub["envelope"]["mailFrom"]["email"], USER)
        self.assertEqual([a["email"] for a in sub["envelope"]["rcptTo"]],
                         ["bob@example.net", "Carol@Example.net"])
        self.assertEqual(set(sub["deliveryStatus"]),
                         {"bob@example.net", "Carol@Example.net"})
        self.assertEqual(sub["deliveryStatus"]["bob@example.net"][
            "delivered"], "queued")

    def test_envelope_send_at_cancel_query_destroy(self):
        ident = self.ok("Identity/get", {"ids": None})["list"][0]["id"]
        eid = self.draft(subject="later")
        later = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                              time.gmtime(time.time() + 3600))
        state = self.ok("EmailSubmission/get", {"ids": []})["state"]
        res = self.ok("EmailSubmission/set", {"create": {
            "l": {"identityId": ident, "emailId": eid, "sendAt": later,
                  "envelope": {
                      "mailFrom": {"email": ALIAS,
                                   "parameters": {"RET": "HDRS"}},
                      "rcptTo": [{"email": "x@example.net"}]}},
            "f": {"identityId": ident, "emailId": eid, "envelope": {
                "mailFrom": {"email": "ceo@example.com"},
                "rcptTo": [{"email": "x@example.net"}]}},
            "n": {"identityId": ident, "emailId": eid, "envelope": {
                "mailFrom": {"email": USER}, "rcptTo": []}},
            "far": {"identityId": ident, "emailId": eid,
                    "sendAt": "2099-01-01T00:00:00Z"}}})
        sid = res["created"]["l"]["id"]
        self.assertEqual(res["created"]["l"]["sendAt"], later)
        self.assertEqual(res["notCreated"]["f"]["type"], "forbiddenMailFrom")
        self.assertEqual(res["notCreated"]["n"]["type"], "noRecipients")
        self.assertEqual(res["notCreated"]["far"]["properties"], ["sendAt"])
        q = self.ok("EmailSubmission/query", {
            "filter": {"undoStatus": "pending", "emailIds": [eid]}})
        self.assertEqual(q["ids"], [sid])
        res = self.ok("EmailSubmission/set", {"update": {
            sid: {"undoStatus": "canceled"}}})
        self.assertEqual(list(res["updated"]), [sid])
        sub = self.ok("EmailSubmission/get", {"ids": [sid]})["list"][0]
        self.assertEqual(sub["undoStatus"], "canceled")
        self.assertEqual(sub["envelope"]["mailFrom"]["email"], ALIAS)
        res = self.ok("EmailSubmission/set", {"update": {
            sid: {"undoStatus": "canceled"}}})
        self.assertEqual(res["notUpdated"][sid]["type"], "cannotUnsend")
        ch = self.ok("EmailSubmission/changes", {"sinceState": state})
        self.assertIn(sid, ch["created"] + ch["updated"])
        # onSuccessDestroyEmail with the destroy of the submission.
        resp = self.calls([["EmailSubmission/set", {
            "destroy": [sid], "onSuccessDestroyEmail": [sid]}, "c"]])
        self.assertEqual(resp[0][1]["destroyed"], [sid])
        self.assertEqual(resp[1][0], "Email/set")
        self.assertEqual(resp[1][1]["destroyed"], [eid])
        res = self.ok("EmailSubmission/get", {"ids": [sid]})
        self.assertEqual(res["notFound"], [sid])


if __name__ == "__main__":
    unittest.main()

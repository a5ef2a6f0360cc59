# SPDX-License-Identifier: ISC
"""jmapd: Email/import and Email/parse (RFC 8621 4.8, 4.9) and Blob/copy
(RFC 8620 6.3), against the real bulwarkd.

Messages of the shared corpus (read in place) are uploaded and imported
with keywords, mailboxes and receivedAt (or the date of the Received field); Email/get
shows them and IMAP
FETCH BODY.PEEK[] gives back the uploaded bytes (with CRLF line ends for
a message that had bare LF), with the flags the keywords stand for.  What
is refused: a blob that is not there, an ifInState that is not current, a
mailbox that does not exist (the email is not kept in the others), more
than 64 mailboxes, an account over quota.  Email/parse makes Emails of an
upload and of an email's blob without storing anything; Blob/copy within
the one account of a user.
"""
import base64
import calendar
import hashlib
import http.client
import imaplib
import json
import os
import re
import time
import unittest

from bulwark import Server

USER = "import@example.org"
QUSER = "quota-import@example.org"
PASSWORD = "import test password"
CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      "..", "..", "..", "shared", "mail-corpus")


def corpus(name):
    with open(os.path.join(CORPUS, name), "rb") as f:
        return f.read()


# multipart/mixed: text/plain and a message/rfc822, CRLF line ends.
MULTI = corpus("0166-rubymail-attachment_message_rfc822.eml")
# text/plain, CRLF line ends.
PLAIN = corpus("0228-rubymail-basic_email.eml")
# text/plain with bare LF line ends.
LF = corpus("0001-mu-cur-test1.eml")


class JmapImportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(None, imap_workers=1, http_workers=1, lmtp_workers=1,
                         cleartext="yes")
        try:
            cls.srv.start()
            cls.srv.add_account(USER, PASSWORD)
            cls.srv.add_account(QUSER, PASSWORD)
        except Exception:
            cls.srv.cleanup()
            raise
        cls.account = cls.session(USER)["primaryAccounts"][MAIL]
        cls.qaccount = cls.session(QUSER)["primaryAccounts"][MAIL]

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    @classmethod
    def http(cls, method, path, body=None, user=USER, ctype=None):
        c = http.client.HTTPConnection("127.0.0.1", cls.srv.ports["http"],
                                       timeout=60)
        auth = base64.b64encode(("%s:%s" % (user, PASSWORD)).encode())
        c.request(method, path, body=body, headers={
            "Authorization": "Basic " + auth.decode(),
            "Content-Type": ctype or "application/json"})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, json.loads(data) if data else None

    @classmethod
    def session(cls, user):
        status, s = cls.http("GET", "/jmap/session", user=user)
        assert status == 200, s
        return s

    def upload(self, data, user=USER):
        acct = self.account if user == USER else self.qaccount
        status, res = self.http("POST", "/jmap/upload/%s/" % acct, data,
                                user=user, ctype="message/rfc822")
        self.assertEqual(status, 201, res)
        self.assertEqual(res["blobId"],
                         "G" + hashlib.blake2b(data, digest_size=32)
                         .hexdigest())
        return res["blobId"]

    def calls(self, calls, user=USER):
        acct = self.account if user == USER else self.qaccount
        for c in calls:
            c[1].setdefault("accountId", acct)
        status, res = self.http(
            "POST", "/jmap/api/",
            json.dumps({"using": [CORE, MAIL], "methodCalls": calls}).encode(),
            user=user)
        self.assertEqual(status, 200, res)
        return res["methodResponses"]

    def call(self, name, args, user=USER):
        (rname, result, cid), = self.calls([[name, dict(args), "c0"]], user)
        self.assertEqual(cid, "c0")
        return rname, result

    def ok(self, name, args, user=USER):
        rname, result = self.call(name, args, user)
        self.assertEqual(rname, name, result)
        return result

    def err(self, name, args, user=USER):
        rname, result = self.call(name, args, user)
        self.assertEqual(rname, "error", result)
        return result["type"]

    def boxes(self, user=USER):
        lst = self.ok("Mailbox/get", {"ids": None}, user)["list"]
        return {b["name"]: b["id"] for b in lst}

    def inbox(self, user=USER):
        lst = self.ok("Mailbox/get", {"ids": None}, user)["list"]
        return [b["id"] for b in lst if b["role"] == "inbox"][0]

    def mailbox(self, name, user=USER):
        have = self.boxes(user)
        if name in have:
            return have[name]
        res = self.ok("Mailbox/set", {"create": {"n": {"name": name}}}, user)
        return res["created"]["n"]["id"]

    def state(self, user=USER):
        return self.ok("Email/get", {"ids": []}, user)["state"]

    def email_count(self, user=USER):
        return len(self.ok("Email/query", {}, user)["ids"])

    def imap(self, user=USER):
        c = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"], timeout=20)
        c.login(user, PASSWORD)
        return c

    def imap_fetch(self, mailbox, msgid):
        """BODY.PEEK[] and FLAGS of the message with Message-ID msgid."""
        c = self.imap()
        try:
            typ, _ = c.select(mailbox, readonly=True)
            self.assertEqual(typ, "OK")
            typ, data = c.search(None, "HEADER", "Message-ID", msgid)
            nums = data[0].split()
            self.assertEqual(len(nums), 1, (mailbox, msgid, data))
            typ, data = c.fetch(nums[0], "(FLAGS BODY.PEEK[])")
            self.assertEqual(typ, "OK")
            flags = re.search(rb"FLAGS \(([^)]*)\)", data[0][0]).group(1)
            return data[0][1], flags.decode().split()
        finally:
            c.logout()

    # --- Email/import ---

    def test_import_get_and_imap(self):
        inbox = self.inbox()
        archive = self.mailbox("Archive")
        b1, b2 = self.upload(MULTI), self.upload(PLAIN)
        state0 = self.state()
        res = self.ok("Email/import", {"emails": {
            "m": {"blobId": b1, "mailboxIds": {inbox: True, archive: True},
                  "keywords": {"$seen": True, "Custom1": True}},
            "p": {"blobId": b2, "mailboxIds": {archive: True},
                  "keywords": {"$flagged": True},
                  "receivedAt": "2020-01-02T03:04:05Z"}}})
        self.assertIsNone(res["notCreated"], res)
        self.assertEqual(res["accountId"], self.account)
        self.assertEqual(res["oldState"], state0)
        self.assertNotEqual(res["newState"], state0)
        self.assertEqual(res["newState"], self.state())
        m, p = res["created"]["m"], res["created"]["p"]
        self.assertNotEqual(m["id"], p["id"])
        self.assertEqual(m["size"], len(MULTI))
        self.assertEqual(p["size"], len(PLAIN))
        self.assertEqual(m["blobId"], "E" + m["id"][1:])
        self.assertTrue(m["threadId"].startswith("T"), m)

        got = self.ok("Email/get", {
            "ids": [m["id"], p["id"]],
            "properties": ["subject", "from", "mailboxIds", "keywords",
                           "receivedAt", "size", "threadId", "blobId",
                           "bodyStructure"]})
        em, ep = got["list"]
        self.assertEqual(em["subject"], "testing")
        self.assertEqual(em["from"], [{"name": None,
                                       "email": "foo@example.com"}])
        self.assertEqual(em["mailboxIds"], {inbox: True, archive: True})
        self.assertEqual(em["keywords"], {"$seen": True, "custom1": True})
        self.assertEqual((em["threadId"], em["blobId"], em["size"]),
                         (m["threadId"], m["blobId"], m["size"]))
        bs = em["bodyStructure"]
        self.assertEqual(bs["type"], "multipart/mixed")
        self.assertEqual([s["type"] for s in bs["subParts"]],
                         ["text/plain", "message/rfc822"])
        self.assertEqual(ep["subject"], "Testing 123")
        self.assertEqual(ep["from"], [{"name": "Mikel Lindsaar",
                                       "email": "test@lindsaar.net"}])
        self.assertEqual(ep["mailboxIds"], {archive: True})
        self.assertEqual(ep["keywords"], {"$flagged": True})
        self.assertEqual(ep["receivedAt"], "2020-01-02T03:04:05Z")
        self.assertEqual(ep["bodyStructure"]["type"], "text/plain")

        # IMAP serves the uploaded bytes, with the keywords as flags.
        body, flags = self.imap_fetch(
            "INBOX", "<9169D984-4E0B-45EF-82D4-8F5E53AD7012@example.com>")
        self.assertEqual(body, MULTI)
        self.assertIn("\\Seen", flags)
        self.assertIn("custom1", [f.lower() for f in flags])
        body, _ = self.imap_fetch(
            "Archive", "<9169D984-4E0B-45EF-82D4-8F5E53AD7012@example.com>")
        self.assertEqual(body, MULTI)
        body, flags = self.imap_fetch(
            "Archive",
            "<6B7EC235-5B17-4CA8-B2B8-39290DEB43A3@test.lindsaar.net>")
        self.assertEqual(body, PLAIN)
        self.assertEqual(set(flags) - {"\\Recent"}, {"\\Flagged"})

        # The same upload twice: two emails; an email's own blob too.
        res = self.ok("Email/import", {"emails": {
            "a": {"blobId": b2, "mailboxIds": {inbox: True}},
            "b": {"blobId": b2, "mailboxIds": {inbox: True}},
            "c": {"blobId": p["blobId"], "mailboxIds": {inbox: True}}}})
        self.assertIsNone(res["notCreated"], res)
        ids = {res["created"][k]["id"] for k in "abc"}
        self.assertEqual(len(ids), 3)
        self.assertNotIn(p["id"], ids)
        for k in "abc":
            self.assertEqual(res["created"][k]["size"], len(PLAIN))
        # Without receivedAt: the date of the most recent Received field
        # (4.8), Fri, 21 Nov 2008 20:05:05 -0800.
        got = self.ok("Email/get", {"ids": [res["created"]["a"]["id"]],
                                    "properties": ["receivedAt"]})
        self.assertEqual(got["list"][0]["receivedAt"], "2008-11-22T04:05:05Z")
        # A later call downloads the new email's blob: the same bytes.
        c = http.client.HTTPConnection("127.0.0.1", self.srv.ports["http"],
                                       timeout=60)
        c.request("GET", "/jmap/download/%s/%s/m.eml" % (
            self.account, res["created"]["c"]["blobId"]), headers={
            "Authorization": "Basic " + base64.b64encode(
                ("%s:%s" % (USER, PASSWORD)).encode()).decode()})
        r = c.getresponse()
        self.assertEqual((r.status, r.read()), (200, PLAIN))
        c.close()

    def test_creation_ids(self):
        """RFC 8620 5.3: "#cid" of a mailbox made earlier in the request,
        and of the email imported, for the calls that follow."""
        blob = self.upload(PLAIN)
        status, res = self.http("POST", "/jmap/api/", json.dumps({
            "using": [CORE, MAIL], "createdIds": {},
            "methodCalls": [
                ["Mailbox/set", {"accountId": self.account, "create": {
                    "mb": {"name": "Imported"}}}, "0"],
                ["Email/import", {"accountId": self.account, "emails": {
                    "e": {"blobId": blob, "mailboxIds": {"#mb": True}},
                    "bad": {"blobId": blob,
                            "mailboxIds": {"#nosuch": True}}}}, "1"],
                ["Email/set", {"accountId": self.account, "update": {
                    "#e": {"keywords/$answered": True}}}, "2"]]}).encode())
        self.assertEqual(status, 200, res)
        (_, mres, _), (iname, ires, _), (sname, sres, _) = \
            res["methodResponses"]
        self.assertEqual(iname, "Email/import", ires)
        mbid = mres["created"]["mb"]["id"]
        eid = ires["created"]["e"]["id"]
        self.assertEqual(ires["notCreated"]["bad"]["properties"],
                         ["mailboxIds"])
        self.assertEqual(res["createdIds"], {"mb": mbid, "e": eid})
        self.assertEqual(sname, "Email/set", sres)
        self.assertIsNone(sres["notUpdated"], sres)
        got = self.ok("Email/get", {"ids": [eid], "properties": [
            "mailboxIds", "keywords"]})["list"][0]
        self.assertEqual(got, {"id": eid, "mailboxIds": {mbid: True},
                               "keywords": {"$answered": True}})

    def test_bare_lf_stored_as_crlf(self):
        inbox = self.inbox()
        blob = self.upload(LF)
        res = self.ok("Email/import", {"emails": {
            "l": {"blobId": blob, "mailboxIds": {inbox: True}}}})
        self.assertIsNone(res["notCreated"], res)
        crlf = LF.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        self.assertEqual(res["created"]["l"]["size"], len(crlf))
        # Not the upload's blob: the message as it is stored (4.8).
        self.assertNotEqual(res["created"]["l"]["blobId"], blob)
        body, _ = self.imap_fetch("INBOX", "112342343e9dfo.fsf@builder.com")
        self.assertEqual(body, crlf)
        got = self.ok("Email/get", {"ids": [res["created"]["l"]["id"]],
                                    "properties": ["subject"]})["list"][0]
        self.assertEqual(got["subject"], "CJK 1")
        # No Received field: the time of the import.
        got = self.ok("Email/get", {"ids": [res["created"]["l"]["id"]],
                                    "properties": ["receivedAt"]})["list"][0]
        t = calendar.timegm(time.strptime(got["receivedAt"],
                                          "%Y-%m-%dT%H:%M:%SZ"))
        self.assertLess(abs(t - time.time()), 300, got)

    def test_import_refusals(self):
        inbox = self.inbox()
        blob = self.upload(PLAIN)
        before = self.email_count()
        missing = "G" + "0" * 64
        res = self.ok("Email/import", {"emails": {
            "gone": {"blobId": missing, "mailboxIds": {inbox: True}},
            "bad": {"blobId": "nonsense", "mailboxIds": {inbox: True}},
            "nobox": {"blobId": blob, "mailboxIds": {}},
            "nomb": {"blobId": blob, "mailboxIds": {"B7fffffff": True}},
            "half": {"blobId": blob,
                     "mailboxIds": {inbox: True, "B7ffffffe": True}},
            "many": {"blobId": blob, "mailboxIds": {
                "B%x" % (i + 1): True for i in range(65)}},
            "kw": {"blobId": blob, "mailboxIds": {inbox: True},
                   "keywords": {"a(b": True}},
            "date": {"blobId": blob, "mailboxIds": {inbox: True},
                     "receivedAt": "yesterday"},
            "junk": {"blobId": blob, "mailboxIds": {inbox: True},
                     "color": "red"}}})
        self.assertIsNone(res["created"], res)
        nc = res["notCreated"]
        self.assertEqual(nc["gone"]["type"], "blobNotFound")
        self.assertEqual(nc["gone"]["notFound"], [missing])
        self.assertEqual(nc["bad"]["type"], "blobNotFound")
        for k in ("nobox", "nomb", "half"):
            self.assertEqual(nc[k]["type"], "invalidProperties", k)
            self.assertEqual(nc[k]["properties"], ["mailboxIds"], k)
        self.assertEqual(nc["many"]["type"], "tooManyMailboxes", nc["many"])
        self.assertEqual(nc["kw"]["properties"], ["keywords"])
        self.assertEqual(nc["date"]["properties"], ["receivedAt"])
        self.assertEqual(nc["junk"]["type"], "invalidProperties")
        # Nothing was kept, not even in the inbox of "half".
        self.assertEqual(self.email_count(), before)
        self.assertEqual(res["oldState"], res["newState"])

        # "half" went into the inbox, failed to join the other mailbox and
        # was destroyed: the inbox's UIDNEXT moved, its messages did not.
        def status():
            c = self.imap()
            try:
                typ, data = c.status("INBOX", "(MESSAGES UIDNEXT)")
                self.assertEqual(typ, "OK")
                return [int(n) for n in re.findall(rb"\d+", data[0])]
            finally:
                c.logout()
        n0, next0 = status()
        res = self.ok("Email/import", {"emails": {
            "half": {"blobId": blob,
                     "mailboxIds": {inbox: True, "B7ffffffe": True}}}})
        self.assertEqual(res["notCreated"]["half"]["type"],
                         "invalidProperties")
        n1, next1 = status()
        self.assertEqual((n1, next1), (n0, next0 + 1))

        # Not a message: invalidEmail.
        junk = self.upload(b"\x00\x01 not a message\r\n")
        res = self.ok("Email/import", {"emails": {
            "j": {"blobId": junk, "mailboxIds": {inbox: True}}}})
        self.assertEqual(res["notCreated"]["j"]["type"], "invalidEmail")

        # Method-level errors.
        self.assertEqual(self.err("Email/import", {"emails": []}),
                         "invalidArguments")
        self.assertEqual(self.err("Email/import", {
            "accountId": "Anope", "emails": {}}), "accountNotFound")

    def test_if_in_state(self):
        inbox = self.inbox()
        blob = self.upload(PLAIN)
        old = self.state()
        one = {"x": {"blobId": blob, "mailboxIds": {inbox: True}}}
        res = self.ok("Email/import", {"ifInState": old, "emails": one})
        self.assertIsNotNone(res["created"], res)
        self.assertEqual(res["oldState"], old)
        before = self.email_count()
        self.assertEqual(self.err("Email/import", {
            "ifInState": old, "emails": one}), "stateMismatch")
        self.assertEqual(self.err("Email/import", {
            "ifInState": "bogus", "emails": one}), "stateMismatch")
        self.assertEqual(self.email_count(), before)

    def test_over_quota(self):
        inbox = self.inbox(QUSER)
        blob = self.upload(MULTI, user=QUSER)
        self.srv.ctl("quota", "set", QUSER, "2K", "100")
        try:
            res = self.ok("Email/import", {"emails": {
                "q": {"blobId": blob, "mailboxIds": {inbox: True}}}},
                user=QUSER)
            self.assertIsNone(res["created"], res)
            self.assertEqual(res["notCreated"]["q"]["type"], "overQuota")
        finally:
            self.srv.ctl("quota", "set", QUSER, "0", "0")
        res = self.ok("Email/import", {"emails": {
            "q": {"blobId": blob, "mailboxIds": {inbox: True}}}},
            user=QUSER)
        self.assertIsNone(res["notCreated"], res)

    # --- Email/parse ---

    def test_parse(self):
        blob = self.upload(MULTI)
        junk = self.upload(b"\xff\xfe binary, not a message")
        missing = "G" + "f" * 64
        before = self.email_count()
        res = self.ok("Email/parse", {
            "blobIds": [blob, junk, missing, "nonsense", blob],
            "fetchTextBodyValues": True})
        self.assertEqual(res["accountId"], self.account)
        self.assertEqual(res["notParsable"], [junk])
        self.assertEqual(sorted(res["notFound"]), sorted([missing,
                                                          "nonsense"]))
        e = res["parsed"][blob]
        self.assertEqual(e["subject"], "testing")
        self.assertEqual(e["from"], [{"name": None,
                                      "email": "foo@example.com"}])
        self.assertEqual(e["messageId"],
                         ["9169D984-4E0B-45EF-82D4-8F5E53AD7012@example.com"])
        # 4.9's defaults: none of the metadata.
        for k in ("id", "threadId", "mailboxIds", "keywords", "receivedAt",
                  "bodyStructure"):
            self.assertNotIn(k, e)
        self.assertEqual(len(e["textBody"]), 1)
        part = e["textBody"][0]
        self.assertEqual(part["type"], "text/plain")
        self.assertEqual(e["bodyValues"][part["partId"]]["value"],
                         "This is the first part.\r\n")
        self.assertEqual([a["type"] for a in e["attachments"]],
                         ["message/rfc822"])
        self.assertEqual(self.email_count(), before)

        # Asked for, the metadata is null; header forms come from the bytes.
        res = self.ok("Email/parse", {
            "blobIds": [blob], "properties": [
                "id", "threadId", "mailboxIds", "keywords", "receivedAt",
                "blobId", "size", "subject", "header:Subject:asText",
                "bodyValues", "htmlBody"],
            "fetchAllBodyValues": True, "maxBodyValueBytes": 4})
        e = res["parsed"][blob]
        for k in ("id", "threadId", "mailboxIds", "keywords", "receivedAt"):
            self.assertIsNone(e[k], k)
        self.assertEqual((e["blobId"], e["size"]), (blob, len(MULTI)))
        self.assertEqual(e["header:Subject:asText"], "testing")
        vals = list(e["bodyValues"].values())
        self.assertTrue(vals)
        for v in vals:
            self.assertLessEqual(len(v["value"].encode()), 4)
        self.assertIn({"value": "This", "isEncodingProblem": False,
                       "isTruncated": True}, vals)

        # An email's blob parses as the email shows.
        inbox = self.inbox()
        plain = self.upload(PLAIN)
        made = self.ok("Email/import", {"emails": {
            "p": {"blobId": plain, "mailboxIds": {inbox: True}}}})
        eblob = made["created"]["p"]["blobId"]
        res = self.ok("Email/parse", {"blobIds": [eblob],
                                      "properties": ["subject", "preview"]})
        self.assertEqual(res["parsed"][eblob]["subject"], "Testing 123")
        self.assertIsNone(res["notFound"])
        self.assertIsNone(res["notParsable"])
        self.assertEqual(self.err("Email/parse", {
            "blobIds": [blob], "properties": ["nosuch"]}), "invalidArguments")

    # --- Blob/copy ---

    def test_blob_copy(self):
        blob = self.upload(PLAIN)
        missing = "G" + "1" * 64
        res = self.ok("Blob/copy", {"fromAccountId": self.account,
                                    "blobIds": [blob, missing]})
        self.assertEqual(res["fromAccountId"], self.account)
        self.assertEqual(res["accountId"], self.account)
        self.assertEqual(res["copied"], {blob: blob})
        self.assertEqual(res["notCopied"][missing]["type"], "notFound")
        # Another user's account is not one of this user's.
        self.assertEqual(self.err("Blob/copy", {
            "fromAccountId": self.qaccount, "blobIds": [blob]}),
            "fromAccountNotFound")
        # Nor is another user's upload found in this account.
        qonly = self.upload(b"Subject: q only\r\n\r\nthe quota user's\r\n",
                            user=QUSER)
        res = self.ok("Blob/copy", {"fromAccountId": self.account,
                                    "blobIds": [qonly]})
        self.assertIsNone(res["copied"])
        self.assertEqual(res["notCopied"][qonly]["type"], "notFound")
        self.assertEqual(self.err("Blob/copy", {"blobIds": [blob]}),
                         "invalidArguments")

if __name__ == "__main__":
    unittest.main()

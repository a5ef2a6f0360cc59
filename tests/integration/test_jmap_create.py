# SPDX-License-Identifier: ISC
"""jmapd: Email/set create (RFC 8621 4.6), against the real bulwarkd.

Drafts made from Email properties: the message stored is checked through
IMAP (imaplib FETCH BODY.PEEK[] and BODYSTRUCTURE, parsed again with
Python's email package) and through Email/get; text and HTML bodies,
attachments from uploads, inline parts, an explicit bodyStructure, header
forms, the Date and Message-ID the server adds, non-ASCII everywhere;
and every refusal with its SetError.
"""
import base64
import email
import email.policy
import http.client
import imaplib
import json
import os
import unittest

from bulwark import Server

USER = "create@example.org"
PASSWORD = "create test password"
CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"


def basic():
    return "Basic " + base64.b64encode(
        ("%s:%s" % (USER, PASSWORD)).encode()).decode()


class JmapCreateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(None, imap_workers=1, http_workers=1, cleartext="yes")
        try:
            cls.srv.start()
            cls.srv.add_account(USER, PASSWORD)
        except Exception:
            cls.srv.cleanup()
            raise
        c = cls.conn()
        c.request("GET", "/jmap/session", headers={"Authorization": basic()})
        cls.account = json.loads(c.getresponse().read())[
            "primaryAccounts"][MAIL]
        (name, res, _), = cls.calls([["Mailbox/get", {
            "accountId": cls.account, "ids": None,
            "properties": ["role"]}, "m"]])
        cls.roles = {m["role"]: m["id"] for m in res["list"] if m["role"]}

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    @classmethod
    def conn(cls):
        return http.client.HTTPConnection("127.0.0.1", cls.srv.ports["http"],
                                          timeout=60)

    @classmethod
    def calls(cls, calls):
        c = cls.conn()
        c.request("POST", "/jmap/api/", json.dumps({
            "using": [CORE, MAIL], "methodCalls": calls}).encode(),
            {"Authorization": basic(), "Content-Type": "application/json"})
        r = c.getresponse()
        body = r.read()
        assert r.status == 200, body
        return json.loads(body)["methodResponses"]

    def create(self, obj, **args):
        a = {"accountId": self.account, "create": {"k": obj}}
        a.update(args)
        (name, res, _), = self.calls([["Email/set", a, "s"]])
        self.assertEqual(name, "Email/set", res)
        return res

    def created(self, obj):
        res = self.create(obj)
        self.assertIsNone(res["notCreated"], res)
        return res["created"]["k"]

    def upload(self, data, ctype):
        c = self.conn()
        c.request("POST", "/jmap/upload/%s/" % self.account, body=data,
                  headers={"Authorization": basic(), "Content-Type": ctype})
        r = c.getresponse()
        self.assertEqual(r.status, 201)
        return json.loads(r.read())["blobId"]

    def get(self, eid, props, **extra):
        a = {"accountId": self.account, "ids": [eid], "properties": props}
        a.update(extra)
        (name, res, _), = self.calls([["Email/get", a, "g"]])
        return res["list"][0]

    def imap_raw(self, mailbox, subject_marker):
        c = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"], timeout=20)
        c.login(USER, PASSWORD)
        c.select(mailbox, readonly=True)
        typ, data = c.search(None, "HEADER", "X-Test", subject_marker)
        num = data[0].split()[-1]
        typ, data = c.fetch(num, "(FLAGS BODY.PEEK[])")
        c.logout()
        return data[0][0], data[0][1]

    def test_plain_draft(self):
        subject = "Caf\u00e9 plans \u2014 \u65e5\u672c\u8a9e"
        text = "Hello J\u00fcrgen,\n\nsee you at noon.\n-- \nAnn\n"
        cr = self.created({
            "mailboxIds": {self.roles["drafts"]: True},
            "keywords": {"$draft": True, "$Flagged": True, "work": True},
            "from": [{"name": "Ann \u00c5berg", "email": "ann@example.org"}],
            "to": [{"name": "J\u00fcrgen", "email": "j@example.de"},
                   {"email": "b@example.com"}],
            "subject": subject,
            "header:X-Test:asText": "plain-draft",
            "textBody": [{"partId": "1", "type": "text/plain"}],
            "bodyValues": {"1": {"value": text}},
        })
        for k in ("id", "blobId", "threadId", "size"):
            self.assertIn(k, cr)
        e = self.get(cr["id"], ["subject", "from", "to", "keywords",
                                "mailboxIds", "textBody", "bodyValues",
                                "messageId", "sentAt", "size"],
                     fetchTextBodyValues=True)
        self.assertEqual(e["subject"], subject)
        self.assertEqual(e["from"], [{"name": "Ann \u00c5berg",
                                      "email": "ann@example.org"}])
        self.assertEqual(e["to"][1], {"name": None, "email": "b@example.com"})
        self.assertEqual(e["keywords"], {"$draft": True, "$flagged": True,
                                         "work": True})
        self.assertEqual(e["mailboxIds"], {self.roles["drafts"]: True})
        self.assertEqual(e["size"], cr["size"])
        part = e["textBody"][0]["partId"]
        self.assertEqual(e["bodyValues"][part]["value"].replace("\r\n", "\n"),
                         text)
        # 4.6: the server made a Message-ID and a Date.
        self.assertEqual(len(e["messageId"]), 1)
        self.assertIsNotNone(e["sentAt"])
        flags, raw = self.imap_raw("Drafts", "plain-draft")
        self.assertIn(b"\\Draft", flags)
        self.assertIn(b"\\Flagged", flags)
        self.assertEqual(len(raw), cr["size"])
        for line in raw.split(b"\r\n"):
            self.assertLessEqual(len(line), 998)
        self.assertTrue(all(b < 0x80 for b in raw), "8-bit in the message")
        m = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertEqual(m["Subject"], subject)
        self.assertEqual(m["MIME-Version"], "1.0")
        self.assertEqual(m.get_content_type(), "text/plain")
        self.assertEqual(m.get_content().replace("\r\n", "\n"), text)

    def test_html_alternative_and_attachments(self):
        pdf = os.urandom(70000)
        img = os.urandom(3000)
        pdf_id = self.upload(pdf, "application/pdf")
        img_id = self.upload(img, "image/png")
        cr = self.created({
            "mailboxIds": {self.roles["drafts"]: True},
            "from": [{"email": "ann@example.org"}],
            "subject": "with parts",
            "header:X-Test": " parts",
            "textBody": [{"partId": "t"}],
            "htmlBody": [{"partId": "h"}],
            "bodyValues": {"t": {"value": "plain"},
                           "h": {"value": "<p>html <img src=cid:logo1></p>"}},
            "attachments": [
                {"blobId": pdf_id, "type": "application/pdf",
                 "name": "r\u00e9sum\u00e9.pdf"},
                {"blobId": img_id, "type": "image/png", "cid": "logo1",
                 "disposition": "inline", "name": "logo.png"}],
        })
        e = self.get(cr["id"], ["bodyStructure", "attachments", "textBody",
                                "htmlBody", "hasAttachment"],
                     bodyProperties=["partId", "type", "name", "size",
                                     "cid", "disposition", "subParts"])
        bs = e["bodyStructure"]
        self.assertEqual(bs["type"], "multipart/mixed")
        rel = bs["subParts"][0]
        self.assertEqual(rel["type"], "multipart/related")
        self.assertEqual(rel["subParts"][0]["type"], "multipart/alternative")
        self.assertEqual([p["type"] for p in rel["subParts"][0]["subParts"]],
                         ["text/plain", "text/html"])
        self.assertEqual(rel["subParts"][1]["cid"], "logo1")
        att = bs["subParts"][1]
        self.assertEqual(att["name"], "r\u00e9sum\u00e9.pdf")
        self.assertEqual(att["size"], len(pdf))
        self.assertEqual(att["disposition"], "attachment")
        self.assertIs(e["hasAttachment"], True)
        # The attachment's own blobId downloads its decoded bytes.
        e = self.get(cr["id"], ["attachments"])
        (a,) = [a for a in e["attachments"] if a["type"] == "application/pdf"]
        c = self.conn()
        c.request("GET", "/jmap/download/%s/%s/x.pdf" % (
            self.account, a["blobId"]),
            headers={"Authorization": basic()})
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Type"), "application/pdf")
        self.assertEqual(r.read(), pdf)
        flags, raw = self.imap_raw("Drafts", "parts")
        m = email.message_from_bytes(raw, policy=email.policy.default)
        parts = {p.get_filename(): p.get_content() for p in m.walk()
                 if p.get_filename()}
        self.assertEqual(parts["r\u00e9sum\u00e9.pdf"], pdf)
        self.assertEqual(parts["logo.png"], img)

    def test_body_structure_and_header_forms(self):
        data = b"col1,col2\n1,2\n"
        blob = self.upload(data, "text/csv")
        cr = self.created({
            "mailboxIds": {self.roles["drafts"]: True},
            "header:From:asAddresses": [{"name": "X Y", "email": "x@y.org"}],
            "header:Subject:asText": "structured",
            "header:X-Test:asRaw": " structured",
            "header:Date:asDate": "2024-02-29T13:14:15-05:00",
            "header:References:asMessageIds": ["a@b.c", "d@e.f"],
            "bodyStructure": {
                "type": "multipart/mixed", "subParts": [
                    {"partId": "1", "type": "text/plain",
                     "header:X-Part:asText": "first"},
                    {"blobId": blob, "type": "text/csv", "name": "t.csv",
                     "charset": "us-ascii"}]},
            "bodyValues": {"1": {"value": "see attached"}},
        })
        e = self.get(cr["id"], ["from", "subject", "sentAt", "references",
                                "attachments"])
        self.assertEqual(e["from"], [{"name": "X Y", "email": "x@y.org"}])
        self.assertEqual(e["subject"], "structured")
        self.assertEqual(e["sentAt"], "2024-02-29T13:14:15-05:00")
        self.assertEqual(e["references"], ["a@b.c", "d@e.f"])
        self.assertEqual(e["attachments"][0]["name"], "t.csv")
        flags, raw = self.imap_raw("Drafts", "structured")
        self.assertIn(b"Date: Thu, 29 Feb 2024 13:14:15 -0500\r\n", raw)
        self.assertIn(b"X-Part: first\r\n", raw)

    def test_refusals(self):
        drafts = {self.roles["drafts"]: True}
        cases = [
            ({"subject": "x"}, "invalidProperties", ["mailboxIds"]),
            ({"mailboxIds": drafts, "headers": []}, "invalidProperties",
             ["headers"]),
            ({"mailboxIds": drafts, "from": [{"email": "a@b.c"}],
              "header:From:asAddresses": [{"email": "a@b.c"}]},
             "invalidProperties", None),
            ({"mailboxIds": drafts, "header:Content-Type": "text/html"},
             "invalidProperties", ["header:Content-Type"]),
            ({"mailboxIds": drafts, "textBody": [{"partId": "1",
                                                  "type": "text/html"}],
              "bodyValues": {"1": {"value": "x"}}},
             "invalidProperties", ["textBody"]),
            ({"mailboxIds": drafts, "textBody": [{"partId": "1",
                                                  "charset": "latin1"}],
              "bodyValues": {"1": {"value": "x"}}},
             "invalidProperties", None),
            ({"mailboxIds": drafts, "textBody": [{"partId": "9"}],
              "bodyValues": {"1": {"value": "x"}}},
             "invalidProperties", None),
            ({"mailboxIds": drafts, "bodyStructure": {"type": "text/plain"},
              "textBody": []}, "invalidProperties", ["textBody"]),
            # A partId with no bodyValues at all, or not an object: the
            # first crashed jmapd (found by fuzz_jmap_api).
            ({"mailboxIds": drafts, "textBody": [{"partId": "1"}]},
             "invalidProperties", None),
            ({"mailboxIds": drafts, "bodyStructure": {"partId": "1",
                                                      "type": "text/plain"},
              "bodyValues": ["x"]}, "invalidProperties", None),
            ({"mailboxIds": {"Bfffff": True}}, "invalidProperties",
             ["mailboxIds"]),
            ({"mailboxIds": drafts, "keywords": {"bad(kw": True}},
             "invalidProperties", ["keywords"]),
        ]
        for obj, type_, props in cases:
            res = self.create(obj)
            self.assertIsNone(res["created"], obj)
            err = res["notCreated"]["k"]
            self.assertEqual(err["type"], type_, (obj, err))
            if props is not None:
                self.assertEqual(err["properties"], props, obj)
        missing = "G" + "0" * 64
        res = self.create({"mailboxIds": drafts, "attachments": [
            {"blobId": missing, "type": "image/png"}]})
        err = res["notCreated"]["k"]
        self.assertEqual(err["type"], "blobNotFound")
        self.assertEqual(err["notFound"], [missing])

    def test_if_in_state_and_update_in_one_call(self):
        # stateMismatch is a method error, not a SetError.
        (name, res, _), = self.calls([["Email/set", {
            "accountId": self.account, "ifInState": "S999999",
            "create": {"k": {"mailboxIds": {self.roles["drafts"]: True}}}},
            "s"]])
        self.assertEqual((name, res["type"]), ("error", "stateMismatch"))
        first = self.created({"mailboxIds": {self.roles["drafts"]: True},
                              "subject": "first"})
        (name, res, _), = self.calls([["Email/get", {
            "accountId": self.account, "ids": []}, "g"]])
        state = res["state"]
        (name, res, _), = self.calls([["Email/set", {
            "accountId": self.account, "ifInState": state,
            "create": {"k": {"mailboxIds": {self.roles["drafts"]: True},
                             "subject": "second"}},
            "update": {first["id"]: {"keywords/$seen": True}}}, "s"]])
        self.assertEqual(name, "Email/set", res)
        self.assertEqual(res["oldState"], state)
        self.assertIn("k", res["created"])
        self.assertEqual(list(res["updated"]), [first["id"]])
        e = self.get(first["id"], ["keywords"])
        self.assertEqual(e["keywords"], {"$seen": True})


if __name__ == "__main__":
    unittest.main()

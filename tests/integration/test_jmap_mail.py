# SPDX-License-Identifier: ISC
"""jmapd: the Email and Thread methods of JMAP Mail (RFC 8621 3, 4),
against the real bulwarkd.

Four messages of known content (a thread of three, and one on its own)
arrive by LMTP for one account; Email/query (filters, sorts, thread
collapsing, the window), Email/get (every property this server makes from
the parsed record, body values) and Thread/get are checked against that
content.  Email/set (keywords, mailboxIds, destroy, ifInState) runs on a
second account, with messages of its own, and what it does is checked
through Email/changes, Email/get and IMAP (imaplib).
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

USER = "mail@example.org"
PASSWORD = "mail test password"
USER2 = "setter@example.org"
PASSWORD2 = "set test password"
CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
UTC_RE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"

PDF = b"%PDF-1.4 not really a pdf\n" * 8

M1 = ("From: Alice Example <alice@example.net>\r\n"
      "To: Mail User <%s>\r\n"
      "Cc: Carol <carol@example.com>, dave@example.com\r\n"
      "Subject: Lunch plans\r\n"
      "Date: Tue, 02 Jan 2024 03:04:05 +0100\r\n"
      "Message-ID: <m1@example.net>\r\n"
      "X-Note: =?utf-8?q?caf=C3=A9?= and\r\n"
      " more\r\n"
      "\r\n"
      "Shall we meet at noon?\r\n") % USER

M2 = ("From: Bob <bob@example.org>\r\n"
      "To: Alice Example <alice@example.net>\r\n"
      "Reply-To: lunch@example.org\r\n"
      "Subject: Re: Lunch plans\r\n"
      "Date: Tue, 02 Jan 2024 05:00:00 -0500\r\n"
      "Message-ID: <m2@example.org>\r\n"
      "In-Reply-To: <m1@example.net>\r\n"
      "References: <m1@example.net>\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"b2\"\r\n"
      "\r\n"
      "--b2\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n"
      "\r\n"
      "Caf=C3=A9 at noon works.\r\n"
      "--b2\r\n"
      "Content-Type: application/pdf; name=\"menu.pdf\"\r\n"
      "Content-Disposition: attachment; filename=\"menu.pdf\"\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "Content-ID: <menu@example.org>\r\n"
      "\r\n"
      "%s\r\n"
      "--b2--\r\n") % base64.encodebytes(PDF).decode().replace("\n", "\r\n")

HTML = ("<html><body><p>The <b>quarterly</b> numbers are in.</p>"
        "<p>" + "Details follow. " * 20 + "</p></body></html>")
M3 = ("From: Dave <dave@example.com>\r\n"
      "To: %s\r\n"
      "Subject: Quarterly report\r\n"
      "Date: Wed, 03 Jan 2024 10:00:00 +0000\r\n"
      "Message-ID: <m3@example.com>\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/alternative; boundary=\"b3\"\r\n"
      "\r\n"
      "--b3\r\n"
      "Content-Type: text/plain; charset=us-ascii\r\n"
      "\r\n"
      "The quarterly numbers are in.\r\n"
      "--b3\r\n"
      "Content-Type: text/html; charset=us-ascii\r\n"
      "\r\n"
      "%s\r\n"
      "--b3--\r\n") % (USER, HTML)

M4 = ("From: Alice Example <alice@example.net>\r\n"
      "To: Bob <bob@example.org>\r\n"
      "Bcc: secret@example.net\r\n"
      "Subject: Re: Lunch plans\r\n"
      "Date: Tue, 02 Jan 2024 12:30:00 +0100\r\n"
      "Message-ID: <m4@example.net>\r\n"
      "In-Reply-To: <m2@example.org>\r\n"
      "References: <m1@example.net> <m2@example.org>\r\n"
      "\r\n"
      "See you there.\r\n")


class JmapMailTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(None, imap_workers=1, http_workers=1, lmtp_workers=1,
                         cleartext="yes")
        try:
            cls.srv.start()
            cls.srv.add_account(USER, PASSWORD)
            cls.srv.add_account(USER2, PASSWORD2)
            # One second apart: receivedAt orders them.
            for i, m in enumerate((M1, M2, M3, M4)):
                if i > 0:
                    time.sleep(1.1)
                cls.deliver(USER, m)
        except Exception:
            cls.srv.cleanup()
            raise
        cls.account = cls.session(USER)["primaryAccounts"][MAIL]
        cls.account2 = cls.session(USER2)["primaryAccounts"][MAIL]

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    @classmethod
    def deliver(cls, rcpt, msg):
        lmtp = smtplib.LMTP(cls.srv.lmtp_socket, timeout=30)
        lmtp.sendmail("sender@example.net", [rcpt], msg.encode())
        lmtp.quit()

    @classmethod
    def http(cls, method, path, body=None, user=USER, password=PASSWORD):
        c = http.client.HTTPConnection("127.0.0.1", cls.srv.ports["http"],
                                       timeout=30)
        auth = base64.b64encode(("%s:%s" % (user, password)).encode())
        c.request(method, path, body=body, headers={
            "Authorization": "Basic " + auth.decode(),
            "Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, json.loads(data)

    @classmethod
    def session(cls, user):
        status, s = cls.http("GET", "/jmap/session", user=user,
                             password=PASSWORD if user == USER else PASSWORD2)
        assert status == 200, s
        return s

    def calls(self, calls, second=False):
        """The method responses of a request of calls [name, args, id]."""
        acct = self.account2 if second else self.account
        for c in calls:
            c[1].setdefault("accountId", acct)
        status, res = self.http(
            "POST", "/jmap/api/",
            json.dumps({"using": [CORE, MAIL], "methodCalls": calls}).encode(),
            user=USER2 if second else USER,
            password=PASSWORD2 if second else PASSWORD)
        self.assertEqual(status, 200, res)
        return res["methodResponses"]

    def call(self, name, args, second=False):
        (rname, result, cid), = self.calls([[name, dict(args), "c0"]], second)
        self.assertEqual(cid, "c0")
        return rname, result

    def ok(self, name, args, second=False):
        rname, result = self.call(name, args, second)
        self.assertEqual(rname, name, result)
        return result

    def err(self, name, args, second=False):
        rname, result = self.call(name, args, second)
        self.assertEqual(rname, "error", result)
        return result["type"]

    def query(self, filt=None, sort=None, second=False, **kw):
        args = dict(kw)
        if filt is not None:
            args["filter"] = filt
        if sort is not None:
            args["sort"] = sort
        return self.ok("Email/query", args, second)["ids"]

    def by_msgid(self, second=False):
        """Message-ID -> Email id of every email of the account."""
        ids = self.query(second=second)
        lst = self.ok("Email/get", {"ids": ids, "properties": ["messageId"]},
                      second)["list"]
        return {e["messageId"][0]: e["id"] for e in lst}

    def get(self, eid, props=None, second=False, **kw):
        args = {"ids": [eid]}
        if props is not None:
            args["properties"] = props
        args.update(kw)
        res = self.ok("Email/get", args, second)
        self.assertEqual(len(res["list"]), 1, res)
        return res["list"][0]

    def inbox(self, second=False):
        res = self.ok("Mailbox/get", {"ids": None}, second)
        return [m["id"] for m in res["list"] if m["role"] == "inbox"][0]

    def imap(self, user, password):
        c = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"], timeout=20)
        c.login(user, password)
        return c

    # --- Email/query and Email/get of the known messages ---

    def test_query_default_order_and_get_by_reference(self):
        r = self.calls([
            ["Email/query", {"calculateTotal": True}, "q"],
            ["Email/get", {"#ids": {"resultOf": "q", "name": "Email/query",
                                    "path": "/ids"},
                           "properties": ["subject", "receivedAt"]}, "g"]])
        q, g = r[0][1], r[1][1]
        self.assertEqual(r[0][0], "Email/query", q)
        self.assertEqual(q["total"], 4)
        self.assertEqual(q["position"], 0)
        self.assertFalse(q["canCalculateChanges"])
        self.assertRegex(q["queryState"], r"^S[0-9a-f]+$")
        # Newest first by default.
        self.assertEqual([e["subject"] for e in g["list"]],
                         ["Re: Lunch plans", "Quarterly report",
                          "Re: Lunch plans", "Lunch plans"])
        rec = [e["receivedAt"] for e in g["list"]]
        for v in rec:
            self.assertRegex(v, UTC_RE)
        self.assertEqual(rec, sorted(rec, reverse=True))
        self.assertEqual(g["notFound"], [])
        self.assertEqual(g["state"], q["queryState"])
        # Only asked properties and id.
        self.assertEqual(set(g["list"][0]), {"id", "subject", "receivedAt"})

    def test_get_header_properties(self):
        ids = self.by_msgid()
        e = self.get(ids["m1@example.net"])
        self.assertEqual(e["subject"], "Lunch plans")
        self.assertEqual(e["from"], [{"name": "Alice Example",
                                      "email": "alice@example.net"}])
        self.assertEqual(e["to"], [{"name": "Mail User", "email": USER}])
        self.assertEqual(e["cc"], [{"name": "Carol",
                                    "email": "carol@example.com"},
                                   {"name": None,
                                    "email": "dave@example.com"}])
        self.assertIsNone(e["bcc"])
        self.assertIsNone(e["replyTo"])
        self.assertIsNone(e["sender"])
        self.assertEqual(e["messageId"], ["m1@example.net"])
        self.assertIsNone(e["inReplyTo"])
        self.assertIsNone(e["references"])
        self.assertEqual(e["sentAt"], "2024-01-02T03:04:05+01:00")
        self.assertRegex(e["receivedAt"], UTC_RE)
        self.assertFalse(e["hasAttachment"])
        self.assertTrue(e["preview"].startswith("Shall we meet at noon?"),
                        e["preview"])
        self.assertEqual(e["keywords"], {})
        self.assertEqual(e["mailboxIds"], {self.inbox(): True})
        self.assertGreaterEqual(e["size"], len(M1))
        # The raw message's blobId names the email (http_blob.h).
        self.assertEqual(e["blobId"], "E" + e["id"][1:])
        self.assertRegex(e["threadId"], r"^T[0-9a-f]+$")
        self.assertEqual(e["bodyValues"], {})
        # RFC 8621 4.2: the defaults, without bodyStructure.
        self.assertNotIn("bodyStructure", e)
        for p in ("textBody", "htmlBody", "attachments"):
            self.assertIn(p, e)
        e4 = self.get(ids["m4@example.net"])
        self.assertEqual(e4["bcc"], [{"name": None,
                                      "email": "secret@example.net"}])
        self.assertEqual(e4["inReplyTo"], ["m2@example.org"])
        self.assertEqual(e4["references"], ["m1@example.net",
                                            "m2@example.org"])
        self.assertEqual(e4["sentAt"], "2024-01-02T12:30:00+01:00")
        e2 = self.get(ids["m2@example.org"], ["replyTo", "sentAt"])
        self.assertEqual(e2["replyTo"], [{"name": None,
                                          "email": "lunch@example.org"}])
        self.assertEqual(e2["sentAt"], "2024-01-02T05:00:00-05:00")

    def test_get_header_fields(self):
        """RFC 8621 4.1.3: headers and header:{name} as Raw and Text."""
        ids = self.by_msgid()
        e = self.get(ids["m1@example.net"], [
            "headers", "header:Subject", "header:subject:asText",
            "header:X-Note:asText", "header:X-Note", "header:X-None",
            "header:X-None:all", "header:CC:all"])
        names = [h["name"] for h in e["headers"]]
        self.assertEqual(names[-7:], ["From", "To", "Cc", "Subject", "Date",
                                      "Message-ID", "X-Note"])
        self.assertIn({"name": "Subject", "value": " Lunch plans"},
                      e["headers"])
        self.assertEqual(e["header:Subject"], " Lunch plans")
        self.assertEqual(e["header:subject:asText"], "Lunch plans")
        self.assertEqual(e["header:X-Note"],
                         " =?utf-8?q?caf=C3=A9?= and\r\n more")
        self.assertEqual(e["header:X-Note:asText"], "café and more")
        self.assertIsNone(e["header:X-None"])
        self.assertEqual(e["header:X-None:all"], [])
        self.assertEqual(e["header:CC:all"],
                         [" Carol <carol@example.com>, dave@example.com"])
        # The parts' own headers.
        e = self.get(ids["m2@example.org"], ["attachments"],
                     bodyProperties=["partId", "headers",
                                     "header:Content-Type"])
        (a,) = e["attachments"]
        self.assertEqual(a["header:Content-Type"],
                         ' application/pdf; name="menu.pdf"')
        self.assertEqual([h["name"] for h in a["headers"]],
                         ["Content-Type", "Content-Disposition",
                          "Content-Transfer-Encoding", "Content-ID"])
        # asText is not a form of an address field (4.1.2.3).
        for bad in ("header:From:asText", "header:Subject:asNothing",
                    "header::asRaw", "header:Subject:all:asText"):
            self.assertEqual(self.err("Email/get", {
                "ids": [], "properties": [bad]}), "invalidArguments", bad)

    def test_get_body_parts_and_values(self):
        ids = self.by_msgid()
        e = self.get(ids["m2@example.org"],
                     ["hasAttachment", "textBody", "attachments",
                      "bodyStructure", "bodyValues", "preview"],
                     fetchTextBodyValues=True)
        self.assertTrue(e["hasAttachment"])
        (t,) = e["textBody"]
        self.assertEqual(t["type"], "text/plain")
        self.assertEqual(t["charset"], "utf-8")
        (a,) = e["attachments"]
        self.assertEqual(a["type"], "application/pdf")
        self.assertEqual(a["name"], "menu.pdf")
        self.assertEqual(a["disposition"], "attachment")
        self.assertEqual(a["cid"], "menu@example.org")
        self.assertEqual(a["size"], len(PDF))
        self.assertIsNone(a["charset"])
        self.assertNotEqual(a["blobId"], t["blobId"])
        self.assertNotEqual(a["partId"], t["partId"])
        bs = e["bodyStructure"]
        self.assertEqual(bs["type"], "multipart/mixed")
        self.assertIsNone(bs["partId"])
        self.assertEqual([p["type"] for p in bs["subParts"]],
                         ["text/plain", "application/pdf"])
        self.assertEqual(bs["subParts"][0]["partId"], t["partId"])
        self.assertEqual(set(e["bodyValues"]), {t["partId"]})
        v = e["bodyValues"][t["partId"]]
        self.assertEqual(v["value"].rstrip("\r\n"), "Café at noon works.")
        self.assertFalse(v["isTruncated"])
        self.assertFalse(v["isEncodingProblem"])
        self.assertTrue(e["preview"].startswith("Café at noon works."),
                        e["preview"])

        # multipart/alternative: text and HTML, HTML cut short.
        e = self.get(ids["m3@example.com"],
                     ["textBody", "htmlBody", "bodyValues"],
                     bodyProperties=["partId", "type"],
                     fetchHTMLBodyValues=True, maxBodyValueBytes=40)
        (t,) = e["textBody"]
        (h,) = e["htmlBody"]
        self.assertEqual(set(t), {"partId", "type"})
        self.assertEqual((t["type"], h["type"]), ("text/plain", "text/html"))
        self.assertEqual(set(e["bodyValues"]), {h["partId"]})
        v = e["bodyValues"][h["partId"]]
        self.assertTrue(v["isTruncated"])
        self.assertLessEqual(len(v["value"].encode()), 40)
        self.assertTrue(HTML.startswith(v["value"]), v["value"])
        # Not inside a tag: no "<" without its ">" after it.
        self.assertNotRegex(v["value"], r"<[^>]*$")
        e = self.get(ids["m3@example.com"], ["bodyValues"],
                     fetchAllBodyValues=True)
        vals = sorted(x["value"].rstrip("\r\n")
                      for x in e["bodyValues"].values())
        self.assertEqual(vals, sorted(["The quarterly numbers are in.",
                                       HTML]))

    def test_get_not_found_and_duplicates(self):
        ids = self.by_msgid()
        m1 = ids["m1@example.net"]
        res = self.ok("Email/get", {"ids": [m1, "Mfffffff", m1, "T1", "x"],
                                    "properties": ["id"]})
        self.assertEqual([e["id"] for e in res["list"]], [m1])
        self.assertEqual(sorted(res["notFound"]), sorted(["Mfffffff", "T1",
                                                          "x"]))
        # ids null: every email (RFC 8620 5.1).
        res = self.ok("Email/get", {"ids": None, "properties": ["id"]})
        self.assertEqual(sorted(e["id"] for e in res["list"]),
                         sorted(ids.values()))
        # No id to look up: still the state of the account.
        q = self.ok("Email/query", {})
        res = self.ok("Email/get", {"ids": ["T1"]})
        self.assertEqual((res["list"], res["notFound"], res["state"]),
                         ([], ["T1"], q["queryState"]))

    def test_thread_get(self):
        ids = self.by_msgid()
        lst = self.ok("Email/get", {"ids": list(ids.values()),
                                    "properties": ["threadId",
                                                   "messageId"]})["list"]
        tid = {e["messageId"][0]: e["threadId"] for e in lst}
        self.assertEqual(tid["m1@example.net"], tid["m2@example.org"])
        self.assertEqual(tid["m1@example.net"], tid["m4@example.net"])
        self.assertNotEqual(tid["m1@example.net"], tid["m3@example.com"])
        res = self.ok("Thread/get", {"ids": [tid["m1@example.net"],
                                             tid["m3@example.com"],
                                             "Tfffffff", "Mzz"]})
        got = {t["id"]: t["emailIds"] for t in res["list"]}
        # Oldest received first (RFC 8621 3).
        self.assertEqual(got[tid["m1@example.net"]],
                         [ids["m1@example.net"], ids["m2@example.org"],
                          ids["m4@example.net"]])
        self.assertEqual(got[tid["m3@example.com"]], [ids["m3@example.com"]])
        self.assertEqual(sorted(res["notFound"]), ["Mzz", "Tfffffff"])
        self.assertRegex(res["state"], r"^S[0-9a-f]+$")
        res = self.ok("Thread/get", {"ids": [tid["m3@example.com"]],
                                     "properties": ["id"]})
        self.assertEqual(res["list"], [{"id": tid["m3@example.com"]}])

    def test_query_filters(self):
        ids = self.by_msgid()
        m1, m2, m3, m4 = (ids["m1@example.net"], ids["m2@example.org"],
                          ids["m3@example.com"], ids["m4@example.net"])
        inbox = self.inbox()
        asc = [{"property": "receivedAt", "isAscending": True}]
        self.assertEqual(self.query({"inMailbox": inbox}, asc),
                         [m1, m2, m3, m4])
        self.assertEqual(self.query({"inMailbox": "Bfffffff"}), [])
        self.assertEqual(self.query({"inMailboxOtherThan": [inbox]}), [])
        self.assertEqual(self.query({"hasAttachment": True}), [m2])
        self.assertEqual(self.query({"hasAttachment": False}, asc),
                         [m1, m3, m4])
        self.assertEqual(self.query({"from": "alice"}, asc), [m1, m4])
        self.assertEqual(self.query({"from": "ALICE EXAMPLE"}, asc), [m1, m4])
        self.assertEqual(self.query({"to": "bob@"}, asc), [m4])
        self.assertEqual(self.query({"cc": "carol"}), [m1])
        self.assertEqual(self.query({"bcc": "secret"}), [m4])
        self.assertEqual(self.query({"subject": "quarterly"}), [m3])
        self.assertEqual(self.query({"subject": "lunch",
                                     "hasAttachment": False}, asc), [m1, m4])
        self.assertEqual(self.query({"operator": "NOT", "conditions": [
            {"from": "alice"}]}, asc), [m2, m3])
        self.assertEqual(self.query({"operator": "OR", "conditions": [
            {"subject": "quarterly"}, {"hasAttachment": True}]}, asc),
            [m2, m3])
        self.assertEqual(self.query({"operator": "AND", "conditions": [
            {"inMailbox": inbox}, {"operator": "NOT", "conditions": [
                {"subject": "lunch"}]}]}), [m3])
        self.assertEqual(self.query({"after": "2000-01-01T00:00:00Z"}, asc),
                         [m1, m2, m3, m4])
        self.assertEqual(self.query({"before": "2000-01-01T00:00:00Z"}), [])
        sizes = {e["id"]: e["size"] for e in self.ok("Email/get", {
            "ids": [m1, m2, m3, m4], "properties": ["size"]})["list"]}
        self.assertEqual(self.query({"minSize": sizes[m2]}), [m2])
        self.assertEqual(sorted(self.query({"maxSize": sizes[m2]})),
                         sorted([m1, m3, m4]))
        self.assertEqual(self.query({"notKeyword": "$seen"}, asc),
                         [m1, m2, m3, m4])
        self.assertEqual(self.query({"hasKeyword": "$seen"}), [])
        self.assertEqual(self.query({"someInThreadHaveKeyword": "$draft"}),
                         [])
        self.assertEqual(self.query({"noneInThreadHaveKeyword": "$draft"},
                                    asc), [m1, m2, m3, m4])
        self.assertEqual(self.query({}, asc), [m1, m2, m3, m4])
        # header: present, or holding a text (any case, decoded).
        self.assertEqual(self.query({"header": ["x-note"]}), [m1])
        self.assertEqual(self.query({"header": ["X-Note", "AND MORE"]}),
                         [m1])
        self.assertEqual(self.query({"header": ["X-Note", "nothing"]}), [])
        self.assertEqual(self.query({"header": ["Message-ID", "m3@"]}), [m3])
        self.assertEqual(self.query({"header": ["In-Reply-To"]}, asc),
                         [m2, m4])
        self.assertEqual(self.query({"operator": "OR", "conditions": [
            {"header": ["X-None"]}, {"hasAttachment": True}]}), [m2])
        self.assertEqual(self.query({"operator": "NOT", "conditions": [
            {"header": ["In-Reply-To"]}]}, asc), [m1, m3])
        for bad in ({"header": []}, {"header": ["a:b"]},
                    {"header": ["a", "b", "c"]}):
            self.assertEqual(self.err("Email/query", {"filter": bad}),
                             "invalidArguments", bad)
        for bad in ({"text": "noon"}, {"body": "noon"}, {"nosuch": 1}):
            self.assertEqual(self.err("Email/query", {"filter": bad}),
                             "unsupportedFilter", bad)
        self.assertEqual(self.err("Email/query", {"filter": {
            "before": "yesterday"}}), "invalidArguments")
        self.assertEqual(self.err("Email/query", {"filter": {
            "operator": "XOR", "conditions": []}}), "invalidArguments")

    def test_query_sort_collapse_window(self):
        ids = self.by_msgid()
        m1, m2, m3, m4 = (ids["m1@example.net"], ids["m2@example.org"],
                          ids["m3@example.com"], ids["m4@example.net"])
        # Base subjects: "lunch plans" (3) before "quarterly report".
        got = self.query(None, [{"property": "subject"},
                                {"property": "receivedAt"}])
        self.assertEqual(got, [m1, m2, m4, m3])
        # From: Alice Example, Bob, Dave.
        got = self.query(None, [{"property": "from"},
                                {"property": "receivedAt",
                                 "isAscending": False}])
        self.assertEqual(got, [m4, m1, m2, m3])
        got = self.query(None, [{"property": "sentAt"}])
        self.assertEqual(got, [m1, m2, m4, m3])
        got = self.query(None, [{"property": "size", "isAscending": False}])
        self.assertEqual(got[0], m2)
        got = self.query(None, [{"property": "receivedAt"}],
                         collapseThreads=True)
        self.assertEqual(got, [m1, m3])
        got = self.query(None, [{"property": "receivedAt",
                                 "isAscending": False}],
                         collapseThreads=True)
        self.assertEqual(got, [m4, m3])
        asc = [{"property": "receivedAt"}]
        res = self.ok("Email/query", {"sort": asc, "position": 1,
                                      "limit": 2, "calculateTotal": True})
        self.assertEqual((res["ids"], res["position"], res["total"]),
                         ([m2, m3], 1, 4))
        res = self.ok("Email/query", {"sort": asc, "anchor": m3,
                                      "anchorOffset": -1, "limit": 2})
        self.assertEqual((res["ids"], res["position"]), ([m2, m3], 1))
        res = self.ok("Email/query", {"sort": asc, "position": -1})
        self.assertEqual(res["ids"], [m4])
        self.assertEqual(self.err("Email/query", {"anchor": "Mfffffff"}),
                         "anchorNotFound")
        self.assertEqual(self.err("Email/query", {"sort": [
            {"property": "nosuch"}]}), "unsupportedSort")
        self.assertEqual(self.err("Email/query", {"sort": [
            {"property": "hasKeyword"}]}), "invalidArguments")
        self.assertEqual(self.err("Email/queryChanges", {
            "sinceQueryState": "S1"}), "cannotCalculateChanges")

    def test_search_snippets(self):
        ids = self.query({"subject": "lunch"})
        self.assertTrue(ids)
        res = self.ok("SearchSnippet/get", {
            "filter": {"operator": "AND", "conditions": [
                {"subject": "lunch"},
                {"operator": "NOT", "conditions": [{"subject": "plans"}]}]},
            "emailIds": ids + ["Mfffffff", "x"]})
        self.assertEqual(sorted(res["notFound"]), ["Mfffffff", "x"])
        self.assertEqual(len(res["list"]), len(ids))
        for s in res["list"]:
            self.assertIn(s["emailId"], ids)
            # Marked where the filter's words match; words under NOT not.
            self.assertIn("<mark>Lunch</mark> plans", s["subject"])
            self.assertIsNone(s["preview"])
        # No text in the filter: nothing to mark.
        res = self.ok("SearchSnippet/get", {"filter": {"minSize": 1},
                                            "emailIds": ids[:1]})
        self.assertEqual(res["list"], [{"emailId": ids[0], "subject": None,
                                        "preview": None}])
        self.assertIsNone(res["notFound"])
        self.assertEqual(self.err("SearchSnippet/get", {
            "filter": {"text": "lunch"}, "emailIds": ids}), "unsupportedFilter")
        self.assertEqual(self.err("SearchSnippet/get", {"emailIds": "x"}),
                         "invalidArguments")

    def test_email_copy_needs_another_account(self):
        # RFC 8620 5.4: from another account; a user has one until sharing.
        self.assertEqual(self.err("Email/copy", {
            "fromAccountId": self.account, "create": {}}), "invalidArguments")
        self.assertEqual(self.err("Email/copy", {
            "fromAccountId": self.account2, "create": {
                "c": {"id": "M1", "mailboxIds": {self.inbox(): True}}}}),
            "fromAccountNotFound")

    def test_errors(self):
        self.assertEqual(self.err("Email/get", {"ids": [],
                                                "properties": ["nosuch"]}),
                         "invalidArguments")
        self.assertEqual(self.err("Email/get", {"ids": [],
                                                "bodyProperties": ["x"]}),
                         "invalidArguments")
        self.assertEqual(self.err("Email/get", {"ids": [],
                                                "accountId": "Affffff"}),
                         "accountNotFound")
        self.assertEqual(self.err("Email/query", {"accountId": "Affffff"}),
                         "accountNotFound")
        self.assertEqual(self.err("Thread/get", {"ids": [],
                                                 "properties": ["subject"]}),
                         "invalidArguments")
        self.assertEqual(self.err("Email/changes", {"sinceState": "bogus"}),
                         "cannotCalculateChanges")

    # --- Email/set, on the second account ---

    def fresh(self, subject):
        """Delivers a message to the second account; its Email id."""
        mid = "%s.%f@example.net" % (subject.replace(" ", "-"), time.time())
        self.deliver(USER2, "From: x@example.net\r\nTo: %s\r\nSubject: %s\r\n"
                     "Message-ID: <%s>\r\n\r\nhello\r\n" % (USER2, subject,
                                                            mid))
        ids = self.by_msgid(second=True)
        return ids[mid]

    def imap2(self):
        return self.imap(USER2, PASSWORD2)

    def imap_flags(self, c, mailbox, eid):
        c.select(mailbox)
        typ, data = c.uid("SEARCH", None, "EMAILID", eid)
        if typ != "OK" or not data[0]:
            # Without OBJECTID in imapd: the last message of the box.
            typ, data = c.uid("SEARCH", None, "ALL")
            uid = data[0].split()[-1]
        else:
            uid = data[0].split()[0]
        typ, data = c.uid("FETCH", uid, "(FLAGS)")
        self.assertEqual(typ, "OK")
        flags = set(re.search(rb"FLAGS \(([^)]*)\)",
                              data[0]).group(1).decode().split())
        return flags - {"\\Recent"}

    def test_set_keywords_and_changes(self):
        e = self.fresh("keywords")
        state = self.ok("Email/get", {"ids": [e], "properties": ["id"]},
                        True)["state"]
        res = self.ok("Email/set", {"update": {
            e: {"keywords/$flagged": True, "keywords/Work": True}}}, True)
        self.assertEqual(res["updated"], {e: None}, res)
        self.assertIsNone(res["notUpdated"])
        self.assertEqual(res["oldState"], state)
        self.assertNotEqual(res["newState"], state)
        self.assertEqual(self.get(e, ["keywords"], True)["keywords"],
                         {"$flagged": True, "work": True})
        # The thread keyword filters and sorts (e is alone in its thread,
        # and no other email of the account has "work").
        self.assertEqual(self.query({"allInThreadHaveKeyword": "WORK"},
                                    second=True), [e])
        self.assertEqual(self.query({"someInThreadHaveKeyword": "work"},
                                    second=True), [e])
        self.assertNotIn(e, self.query({"noneInThreadHaveKeyword": "work"},
                                       second=True))
        for prop in ("hasKeyword", "someInThreadHaveKeyword",
                     "allInThreadHaveKeyword"):
            got = self.query(None, [{"property": prop, "keyword": "work",
                                     "isAscending": False}], second=True)
            self.assertEqual(got[0], e, prop)
        ch = self.ok("Email/changes", {"sinceState": state}, True)
        self.assertEqual(ch["oldState"], state)
        self.assertEqual(ch["newState"], res["newState"])
        self.assertIn(e, ch["updated"] + ch["created"])
        self.assertEqual(ch["destroyed"], [])
        c = self.imap2()
        self.assertEqual(self.imap_flags(c, "INBOX", e), {"\\Flagged", "work"})
        # IMAP's change shows in JMAP.
        c.select("INBOX")
        typ, data = c.uid("SEARCH", None, "ALL")
        c.uid("STORE", data[0].split()[-1], "+FLAGS", "(\\Answered)")
        c.logout()
        self.assertEqual(self.get(e, ["keywords"], True)["keywords"],
                         {"$flagged": True, "work": True, "$answered": True})
        # Full replace; then a patch to null takes one away.
        res = self.ok("Email/set", {"update": {
            e: {"keywords": {"$seen": True, "other": True}}}}, True)
        self.assertEqual(res["updated"], {e: None}, res)
        self.assertEqual(self.get(e, ["keywords"], True)["keywords"],
                         {"$seen": True, "other": True})
        self.ok("Email/set", {"update": {e: {"keywords/other": None}}}, True)
        self.assertEqual(self.get(e, ["keywords"], True)["keywords"],
                         {"$seen": True})
        c = self.imap2()
        self.assertEqual(self.imap_flags(c, "INBOX", e), {"\\Seen"})
        c.logout()
        self.assertIn(e, self.query({"hasKeyword": "$seen"}, second=True))

    def test_set_mailbox_ids(self):
        e = self.fresh("mover")
        c = self.imap2()
        self.assertEqual(c.create("Projects")[0], "OK")
        c.logout()
        boxes = self.ok("Mailbox/get", {"ids": None}, True)["list"]
        proj = [m["id"] for m in boxes if m["name"] == "Projects"][0]
        inbox = [m["id"] for m in boxes if m["role"] == "inbox"][0]
        res = self.ok("Email/set", {"update": {
            e: {"mailboxIds": {proj: True}}}}, True)
        self.assertEqual(res["updated"], {e: None}, res)
        self.assertEqual(self.get(e, ["mailboxIds"], True)["mailboxIds"],
                         {proj: True})
        self.assertEqual(self.query({"inMailbox": proj}, second=True), [e])
        self.assertNotIn(e, self.query({"inMailbox": inbox}, second=True))
        c = self.imap2()
        typ, data = c.select("Projects")
        self.assertEqual(int(data[0]), 1)
        c.logout()
        res = self.ok("Email/set", {"update": {
            e: {"mailboxIds/" + inbox: True}}}, True)
        self.assertEqual(res["updated"], {e: None}, res)
        self.assertEqual(self.get(e, ["mailboxIds"], True)["mailboxIds"],
                         {proj: True, inbox: True})
        res = self.ok("Email/set", {"update": {
            e: {"mailboxIds/" + proj: None}}}, True)
        self.assertEqual(self.get(e, ["mailboxIds"], True)["mailboxIds"],
                         {inbox: True})
        c = self.imap2()
        typ, data = c.select("Projects")
        self.assertEqual(int(data[0]), 0)
        c.logout()
        # No mailbox left, or one that does not exist: refused.
        res = self.ok("Email/set", {"update": {e: {"mailboxIds": {}}}}, True)
        self.assertEqual(res["notUpdated"][e]["type"], "invalidProperties")
        res = self.ok("Email/set", {"update": {
            e: {"mailboxIds": {"Bfffffff": True}}}}, True)
        self.assertEqual(res["notUpdated"][e]["type"], "invalidProperties")
        self.assertEqual(self.get(e, ["mailboxIds"], True)["mailboxIds"],
                         {inbox: True})

    def test_body_value_latin1(self):
        """A body value in another charset comes as UTF-8 (4.1.4)."""
        mid = "latin1.%f@example.net" % time.time()
        self.deliver(USER2, "From: x@example.net\r\nTo: %s\r\n"
                     "Subject: latin1\r\nMessage-ID: <%s>\r\n"
                     "MIME-Version: 1.0\r\n"
                     "Content-Type: text/plain; charset=iso-8859-1\r\n"
                     "Content-Transfer-Encoding: quoted-printable\r\n"
                     "\r\ncaf=E9 cr=E8me\r\n" % (USER2, mid))
        e = self.by_msgid(second=True)[mid]
        e = self.get(e, ["textBody", "bodyValues"], True,
                     fetchTextBodyValues=True)
        (t,) = e["textBody"]
        self.assertEqual(t["charset"], "iso-8859-1")
        self.assertEqual(e["bodyValues"][t["partId"]]["value"].rstrip(),
                         "café crème")

    def test_set_destroy(self):
        e = self.fresh("doomed")
        res = self.ok("Email/set", {"destroy": [e, "Mfffffff", "Bx"]}, True)
        self.assertEqual(res["destroyed"], [e])
        self.assertEqual(res["notDestroyed"]["Mfffffff"]["type"], "notFound")
        self.assertEqual(res["notDestroyed"]["Bx"]["type"], "notFound")
        got = self.ok("Email/get", {"ids": [e]}, True)
        self.assertEqual((got["list"], got["notFound"]), ([], [e]))
        ch = self.ok("Email/changes", {"sinceState": res["oldState"]}, True)
        self.assertIn(e, ch["destroyed"])
        self.assertNotIn(e, self.query(second=True))

    def test_set_if_in_state_and_errors(self):
        e = self.fresh("state")
        old = self.ok("Email/get", {"ids": [e], "properties": ["id"]},
                      True)["state"]
        self.ok("Email/set", {"update": {e: {"keywords/$seen": True}}}, True)
        self.assertEqual(self.err("Email/set", {
            "ifInState": old, "update": {e: {"keywords/$flagged": True}}},
            True), "stateMismatch")
        self.assertNotIn("$flagged",
                         self.get(e, ["keywords"], True)["keywords"])
        cur = self.ok("Email/get", {"ids": [e], "properties": ["id"]},
                      True)["state"]
        res = self.ok("Email/set", {"ifInState": cur, "update": {
            e: {"keywords/$flagged": True}}}, True)
        self.assertEqual(res["updated"], {e: None}, res)
        res = self.ok("Email/set", {
            "update": {e: {"subject": "new"},
                       "Mfffffff": {"keywords/$seen": True},
                       "Tq": {"keywords/$seen": True}},
            "create": {"k1": {"subject": "hi"}}}, True)
        self.assertEqual(res["notUpdated"][e]["type"], "invalidProperties")
        self.assertEqual(res["notUpdated"][e]["properties"], ["subject"])
        self.assertEqual(res["notUpdated"]["Mfffffff"]["type"], "notFound")
        self.assertEqual(res["notUpdated"]["Tq"]["type"], "notFound")
        # An email without mailboxIds (test_jmap_create has the rest).
        self.assertEqual(res["notCreated"]["k1"]["type"], "invalidProperties")
        self.assertEqual(res["notCreated"]["k1"]["properties"],
                         ["mailboxIds"])
        self.assertIsNone(res["created"])
        res = self.ok("Email/set", {"update": {
            e: {"keywords/bad(word": True}}}, True)
        self.assertEqual(res["notUpdated"][e]["type"], "invalidProperties")
        res = self.ok("Email/set", {"update": {
            e: {"keywords": {"$seen": True}, "keywords/$flagged": True}}},
            True)
        self.assertEqual(res["notUpdated"][e]["type"], "invalidPatch")
        big = {"M%x" % (i + 1): {"keywords/$seen": True}
               for i in range(10000)}
        self.assertEqual(self.err("Email/set", {"update": big}, True),
                         "requestTooLarge")


if __name__ == "__main__":
    unittest.main()

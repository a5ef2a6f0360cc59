# SPDX-License-Identifier: ISC
"""jmapd: the parsed forms of Email/get's header:{name} properties (RFC 8621
4.1.2, 4.1.3) against the real bulwarkd.

Messages arrive by LMTP with header fields that exercise each form:
address lists with groups, encoded display names and a comment for a name,
two To fields, well-formed and malformed dates with their offsets, msg-id
lists folded over lines with comments, a bare Resent-Message-ID, and the
URL lists of RFC 2369; a part carries fields of its own.  Email/get must
answer each property exactly, with and without :all, on the Email and in
bodyProperties, and refuse with invalidArguments every form 4.1.2 does not
allow for a field.
"""
import base64
import http.client
import json
import smtplib
import unittest

from bulwark import Server

USER = "headers@example.org"
PASSWORD = "header test password"
CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"

H1 = ("From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.net>\r\n"
      "To: \"Smythe, James\" <james@example.com>, Friends:\r\n"
      " jane@example.com, =?UTF-8?Q?John_Sm=C3=AEth?=\r\n"
      " <john@example.com>;, undisclosed-recipients:;\r\n"
      "To: second@example.org (Second Person)\r\n"
      "Cc: Team: a@example.com, \"B. B.\" <b@example.com>;\r\n"
      "Subject: Parsed forms\r\n"
      "Date: Thu, 29 Feb 2024 13:14:15 -0500\r\n"
      "Resent-Date: not a date at all\r\n"
      "Resent-Date: Fri, 1 Mar 2024 08:00:00 +0530\r\n"
      "Message-ID: <h1@example.net>\r\n"
      "Resent-Message-ID: bare-id@example.net\r\n"
      "In-Reply-To: <p1@example.net>\r\n"
      "References: <r1@example.net> (first)\r\n"
      " <r2@example.net>\r\n"
      "  <r3@example.net>\r\n"
      "List-Unsubscribe: <mailto:leave@example.org?subject=unsubscribe>"
      " (by mail),\r\n"
      " <https://example.org/ unsub?u=1>\r\n"
      "List-Post: NO (posting not allowed on this list)\r\n"
      "List-Help: <https://example.org/help> (instructions), junk\r\n"
      "X-Addr: Zoe <zoe@example.com>\r\n"
      "X-Date: Sat, 02 Mar 2024 10:00:00 +0000\r\n"
      "X-Ids: <x1@a.example> <x2@b.example>\r\n"
      "X-Ids: no ids here\r\n"
      "X-Urls: <http://x.example/>\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"hb\"\r\n"
      "\r\n"
      "--hb\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "X-Part-To: Part Person <part@example.com>, Crew: c1@example.com;\r\n"
      "X-Part-Date: 31 Foo 2024 10:00:00 +0000\r\n"
      "X-Part-Date: Sun, 03 Mar 2024 01:02:03 +0100\r\n"
      "\r\n"
      "First part.\r\n"
      "--hb\r\n"
      "Content-Type: text/plain; charset=us-ascii\r\n"
      "\r\n"
      "Second part, without those fields.\r\n"
      "--hb--\r\n")

# A malformed Date, and no address fields at all.
H2 = ("Subject: Broken date\r\n"
      "Date: 31 Foo 2024 10:00:00 +0000\r\n"
      "Message-ID: <h2@example.net>\r\n"
      "\r\n"
      "Nothing here.\r\n")

JUERGEN = {"name": "J\u00fcrgen M\u00fcller", "email": "juergen@example.net"}
JAMES = {"name": "Smythe, James", "email": "james@example.com"}
JANE = {"name": None, "email": "jane@example.com"}
JOHN = {"name": "John Sm\u00eeth", "email": "john@example.com"}
SECOND = {"name": "Second Person", "email": "second@example.org"}
TO1_GROUPED = [{"name": None, "addresses": [JAMES]},
               {"name": "Friends", "addresses": [JANE, JOHN]},
               {"name": "undisclosed-recipients", "addresses": []}]
TO2_GROUPED = [{"name": None, "addresses": [SECOND]}]


class JmapHeaderFormsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(None, imap_workers=1, http_workers=1, lmtp_workers=1,
                         cleartext="yes")
        try:
            cls.srv.start()
            cls.srv.add_account(USER, PASSWORD)
            for m in (H1, H2):
                cls.deliver(USER, m)
        except Exception:
            cls.srv.cleanup()
            raise
        cls.account = cls.session()["primaryAccounts"][MAIL]

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    @classmethod
    def deliver(cls, rcpt, msg):
        lmtp = smtplib.LMTP(cls.srv.lmtp_socket, timeout=30)
        lmtp.sendmail("sender@example.net", [rcpt], msg.encode())
        lmtp.quit()

    @classmethod
    def http(cls, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", cls.srv.ports["http"],
                                       timeout=30)
        auth = base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode())
        c.request(method, path, body=body, headers={
            "Authorization": "Basic " + auth.decode(),
            "Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, json.loads(data)

    @classmethod
    def session(cls):
        status, s = cls.http("GET", "/jmap/session")
        assert status == 200, s
        return s

    def call(self, name, args):
        args = dict(args)
        args.setdefault("accountId", self.account)
        status, res = self.http("POST", "/jmap/api/", json.dumps({
            "using": [CORE, MAIL],
            "methodCalls": [[name, args, "c0"]]}).encode())
        self.assertEqual(status, 200, res)
        (rname, result, cid), = res["methodResponses"]
        self.assertEqual(cid, "c0")
        return rname, result

    def ok(self, name, args):
        rname, result = self.call(name, args)
        self.assertEqual(rname, name, result)
        return result

    def err(self, name, args):
        rname, result = self.call(name, args)
        self.assertEqual(rname, "error", result)
        return result["type"]

    def ids(self):
        """Message-ID -> Email id."""
        ids = self.ok("Email/query", {})["ids"]
        lst = self.ok("Email/get", {"ids": ids,
                                    "properties": ["messageId"]})["list"]
        return {e["messageId"][0]: e["id"] for e in lst}

    def get(self, eid, props, **kw):
        args = {"ids": [eid], "properties": props}
        args.update(kw)
        (e,) = self.ok("Email/get", args)["list"]
        self.assertEqual(e["id"], eid)
        return e

    def check(self, eid, expect):
        """Email/get of the properties of expect must give exactly it."""
        e = self.get(eid, list(expect))
        del e["id"]
        self.assertEqual(e, expect)

    def test_addresses(self):
        """4.1.2.3, 4.1.2.4: groups, encoded names, the last of two To."""
        eid = self.ids()["h1@example.net"]
        self.check(eid, {
            "header:From:asAddresses": [JUERGEN],
            "header:from:asGroupedAddresses": [
                {"name": None, "addresses": [JUERGEN]}],
            "header:To:asAddresses": [SECOND],
            "header:To:asAddresses:all": [[JAMES, JANE, JOHN], [SECOND]],
            "header:TO:asGroupedAddresses": TO2_GROUPED,
            "header:To:asGroupedAddresses:all": [TO1_GROUPED, TO2_GROUPED],
            "header:Cc:asGroupedAddresses": [
                {"name": "Team", "addresses": [
                    {"name": None, "email": "a@example.com"},
                    {"name": "B. B.", "email": "b@example.com"}]}],
            "header:Cc:asAddresses": [
                {"name": None, "email": "a@example.com"},
                {"name": "B. B.", "email": "b@example.com"}],
            # Not defined by RFC 5322 or 2369: any form.
            "header:X-Addr:asAddresses": [
                {"name": "Zoe", "email": "zoe@example.com"}],
            "header:X-Addr:asText": "Zoe <zoe@example.com>",
            # Absent: null, or [] with :all.
            "header:Bcc:asAddresses": None,
            "header:Bcc:asAddresses:all": [],
            "header:Reply-To:asGroupedAddresses": None,
            "header:Resent-To:asGroupedAddresses:all": [],
        })
        # The first To is also what the to property shows.
        e = self.get(eid, ["to"])
        self.assertEqual(e["to"], [JAMES, JANE, JOHN])

    def test_dates(self):
        """4.1.2.6: the field's own offset; null if it does not parse."""
        ids = self.ids()
        self.check(ids["h1@example.net"], {
            "header:Date:asDate": "2024-02-29T13:14:15-05:00",
            "header:Date:asDate:all": ["2024-02-29T13:14:15-05:00"],
            "header:Resent-Date:asDate": "2024-03-01T08:00:00+05:30",
            "header:Resent-Date:asDate:all": [
                None, "2024-03-01T08:00:00+05:30"],
            "header:X-Date:asDate": "2024-03-02T10:00:00+00:00",
            "header:X-Addr:asDate": None,
            "header:X-None:asDate": None,
            "header:X-None:asDate:all": [],
        })
        self.check(ids["h2@example.net"], {
            "header:Date:asDate": None,
            "header:Date:asDate:all": [None],
            "header:Date": " 31 Foo 2024 10:00:00 +0000",
            "sentAt": None,
            "header:From:asAddresses": None,
            "header:From:asGroupedAddresses:all": [],
        })

    def test_message_ids(self):
        """4.1.2.5: comments and folding removed; null if none parse."""
        eid = self.ids()["h1@example.net"]
        self.check(eid, {
            "header:Message-ID:asMessageIds": ["h1@example.net"],
            "messageId": ["h1@example.net"],
            "header:In-Reply-To:asMessageIds": ["p1@example.net"],
            "header:References:asMessageIds": [
                "r1@example.net", "r2@example.net", "r3@example.net"],
            "references": [
                "r1@example.net", "r2@example.net", "r3@example.net"],
            "header:References:asMessageIds:all": [[
                "r1@example.net", "r2@example.net", "r3@example.net"]],
            # One id per Resent-Message-ID: a bare one is taken.
            "header:Resent-Message-ID:asMessageIds": [
                "bare-id@example.net"],
            "header:X-Ids:asMessageIds": None,
            "header:X-Ids:asMessageIds:all": [
                ["x1@a.example", "x2@b.example"], None],
            "header:X-None:asMessageIds": None,
        })

    def test_urls(self):
        """4.1.2.7 and RFC 2369 2: brackets, white space, comments gone."""
        eid = self.ids()["h1@example.net"]
        self.check(eid, {
            "header:List-Unsubscribe:asURLs": [
                "mailto:leave@example.org?subject=unsubscribe",
                "https://example.org/unsub?u=1"],
            "header:List-Unsubscribe:asURLs:all": [[
                "mailto:leave@example.org?subject=unsubscribe",
                "https://example.org/unsub?u=1"]],
            # "NO": not a URL list; after a URL, only a comma goes on.
            "header:List-Post:asURLs": None,
            "header:List-Post:asURLs:all": [None],
            "header:List-Help:asURLs": ["https://example.org/help"],
            "header:X-Urls:asURLs": ["http://x.example/"],
            "header:List-Archive:asURLs": None,
            "header:List-Archive:asURLs:all": [],
        })

    def test_part_headers(self):
        """The same forms in bodyProperties, per part."""
        eid = self.ids()["h1@example.net"]
        props = ["partId", "subParts", "header:X-Part-To:asAddresses",
                 "header:X-Part-To:asGroupedAddresses:all",
                 "header:X-Part-Date:asDate",
                 "header:X-Part-Date:asDate:all",
                 "header:Content-Type:asURLs"]
        e = self.get(eid, ["bodyStructure"], bodyProperties=props)
        root = e["bodyStructure"]
        self.assertEqual(root["partId"], None)
        # The root part's header is the message's: none of those fields.
        self.assertEqual(root["header:X-Part-To:asAddresses"], None)
        self.assertEqual(root["header:X-Part-Date:asDate:all"], [])
        p1, p2 = root["subParts"]
        self.assertEqual(p1, {
            "partId": "1",
            "header:X-Part-To:asAddresses": [
                {"name": "Part Person", "email": "part@example.com"},
                {"name": None, "email": "c1@example.com"}],
            "header:X-Part-To:asGroupedAddresses:all": [[
                {"name": None, "addresses": [
                    {"name": "Part Person", "email": "part@example.com"}]},
                {"name": "Crew", "addresses": [
                    {"name": None, "email": "c1@example.com"}]}]],
            "header:X-Part-Date:asDate": "2024-03-03T01:02:03+01:00",
            "header:X-Part-Date:asDate:all": [
                None, "2024-03-03T01:02:03+01:00"],
            "header:Content-Type:asURLs": None,
        })
        self.assertEqual(p2, {
            "partId": "2",
            "header:X-Part-To:asAddresses": None,
            "header:X-Part-To:asGroupedAddresses:all": [],
            "header:X-Part-Date:asDate": None,
            "header:X-Part-Date:asDate:all": [],
            "header:Content-Type:asURLs": None,
        })

    def test_email_parse(self):
        """Email/parse makes the same header properties from its bytes."""
        eid = self.ids()["h1@example.net"]
        blob = self.get(eid, ["blobId"])["blobId"]
        res = self.ok("Email/parse", {"blobIds": [blob], "properties": [
            "header:To:asGroupedAddresses:all", "header:Date:asDate",
            "header:List-Unsubscribe:asURLs"]})
        self.assertEqual(res["parsed"][blob], {
            "header:To:asGroupedAddresses:all": [TO1_GROUPED, TO2_GROUPED],
            "header:Date:asDate": "2024-02-29T13:14:15-05:00",
            "header:List-Unsubscribe:asURLs": [
                "mailto:leave@example.org?subject=unsubscribe",
                "https://example.org/unsub?u=1"]})

    def test_forbidden_forms(self):
        """4.1.2: a form not allowed for a field is invalidArguments."""
        eid = self.ids()["h1@example.net"]
        for bad in ("header:Subject:asAddresses",
                    "header:Date:asGroupedAddresses",
                    "header:From:asDate", "header:From:asMessageIds",
                    "header:To:asURLs", "header:Message-ID:asDate",
                    "header:References:asAddresses",
                    "header:Resent-Date:asMessageIds",
                    "header:List-Unsubscribe:asText",
                    "header:List-Post:asAddresses",
                    "header:Received:asDate",
                    "header:Return-Path:asAddresses",
                    "header:Comments:asURLs", "header:Keywords:asDate",
                    "header:Resent-Reply-To:asText",
                    "header:X-Foo:asAddress", "header:X-Foo:asurls",
                    "header:To:all:asAddresses",
                    "header:To:asAddresses:all:all",
                    "header:To:asAddresses:"):
            self.assertEqual(self.err("Email/get", {
                "ids": [eid], "properties": [bad]}), "invalidArguments", bad)
            self.assertEqual(self.err("Email/get", {
                "ids": [eid], "properties": ["bodyStructure"],
                "bodyProperties": ["partId", bad]}),
                "invalidArguments", bad)
        # And the allowed ones of the same fields pass.
        self.check(eid, {
            "header:Subject:asText": "Parsed forms",
            "header:Keywords:asText": None,
            "header:Received:asRaw:all": self.get(
                eid, ["header:Received:all"])["header:Received:all"],
            "header:Resent-Reply-To:asGroupedAddresses": None,
            "header:List-Id:asURLs": None,
        })


if __name__ == "__main__":
    unittest.main()

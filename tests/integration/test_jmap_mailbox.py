# SPDX-License-Identifier: ISC
"""jmapd: the Mailbox methods of JMAP Mail (RFC 8621 2) and the mail
capability of the session (1.3), against the real bulwarkd.

Mailbox/get, /changes, /query (filters, sortAsTree, filterAsTree,
anchor), /queryChanges and /set (create under a creation reference,
rename, move, subscribe, destroy with its errors, ifInState), checked
against what IMAP (imaplib) sees of the same account, and the counts
after mail arrives by LMTP.
"""
import base64
import http.client
import imaplib
import json
import smtplib
import unittest

from bulwark import Server

USER = "mbox@example.org"
PASSWORD = "mailbox test password"
CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
ROLES = {"inbox", "drafts", "sent", "trash", "junk", "archive"}


class JmapMailboxTest(unittest.TestCase):
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
        cls.account = cls.session()["primaryAccounts"][MAIL]

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

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

    def call(self, name, args, using=(CORE, MAIL)):
        """One method call; its [name, result] after checking the id."""
        a = dict(args)
        a.setdefault("accountId", self.account)
        status, res = self.http("POST", "/jmap/api/", json.dumps({
            "using": list(using), "methodCalls": [[name, a, "c0"]]}).encode())
        self.assertEqual(status, 200, res)
        (rname, result, cid), = res["methodResponses"]
        self.assertEqual(cid, "c0")
        return rname, result

    def ok(self, name, args):
        rname, result = self.call(name, args)
        self.assertEqual(rname, name, result)
        return result

    def boxes(self):
        return {m["id"]: m for m in self.ok("Mailbox/get", {"ids": None})["list"]}

    def by_name(self, name, parent=None):
        for m in self.boxes().values():
            if m["name"] == name and m["parentId"] == parent:
                return m
        return None

    def imap(self):
        c = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"], timeout=20)
        c.login(USER, PASSWORD)
        return c

    def imap_names(self, cmd="LIST"):
        c = self.imap()
        typ, data = (c.list() if cmd == "LIST" else c.lsub())
        c.logout()
        self.assertEqual(typ, "OK")
        names = set()
        for line in data:
            # (\Flags) "/" name
            names.add(line.decode().split(' "/" ', 1)[1].strip('"'))
        return names

    def test_session_mail_capability(self):
        s = self.session()
        self.assertIn(MAIL, s["capabilities"])
        acct = s["accounts"][self.account]
        cap = acct["accountCapabilities"][MAIL]
        self.assertEqual(cap["maxSizeMailboxName"], 255)
        self.assertIs(cap["mayCreateTopLevelMailbox"], True)
        self.assertIn("receivedAt", cap["emailQuerySortOptions"])
        self.assertTrue(cap["maxMailboxesPerEmail"] is None or
                        cap["maxMailboxesPerEmail"] >= 1)

    def test_get_default_mailboxes(self):
        res = self.ok("Mailbox/get", {"ids": None})
        self.assertTrue(res["state"])
        self.assertEqual(res["notFound"], [])
        roles = {m["role"] for m in res["list"] if m["role"]}
        self.assertTrue(ROLES <= roles, roles)
        inbox = [m for m in res["list"] if m["role"] == "inbox"][0]
        self.assertIsNone(inbox["parentId"])
        for k in ("totalEmails", "unreadEmails", "totalThreads",
                  "unreadThreads", "sortOrder"):
            self.assertIsInstance(inbox[k], int, k)
        self.assertIs(inbox["myRights"]["mayReadItems"], True)
        self.assertIsInstance(inbox["isSubscribed"], bool)
        # Asked by id, with a property list: the id always comes (5.1).
        res = self.ok("Mailbox/get", {"ids": [inbox["id"], "Bffffff", "x"],
                                      "properties": ["name"]})
        self.assertEqual(res["list"], [{"id": inbox["id"],
                                        "name": inbox["name"]}])
        self.assertEqual(res["notFound"], ["Bffffff", "x"])

    def test_get_errors(self):
        rname, res = self.call("Mailbox/get", {"accountId": "A999"})
        self.assertEqual((rname, res["type"]), ("error", "accountNotFound"))
        rname, res = self.call("Mailbox/get", {"properties": ["nope"]})
        self.assertEqual((rname, res["type"]), ("error", "invalidArguments"))
        rname, res = self.call("Mailbox/get", {"ids": "B1"})
        self.assertEqual((rname, res["type"]), ("error", "invalidArguments"))
        # Without the mail capability in "using" the method does not exist.
        rname, res = self.call("Mailbox/get", {}, using=(CORE,))
        self.assertEqual((rname, res["type"]), ("error", "unknownMethod"))

    def test_set_create_rename_destroy(self):
        state0 = self.ok("Mailbox/get", {"ids": []})["state"]
        res = self.ok("Mailbox/set", {"create": {
            "p": {"name": "Projects", "isSubscribed": True},
            "c": {"name": "2026", "parentId": "#p"}}})
        self.assertEqual(res["oldState"], state0)
        self.assertNotEqual(res["newState"], state0)
        self.assertIsNone(res["notCreated"], res)
        pid, cid = res["created"]["p"]["id"], res["created"]["c"]["id"]
        self.assertEqual(res["created"]["c"]["totalEmails"], 0)
        boxes = self.boxes()
        self.assertEqual(boxes[cid]["parentId"], pid)
        self.assertEqual(boxes[cid]["name"], "2026")
        self.assertIs(boxes[pid]["isSubscribed"], True)
        self.assertIn("Projects/2026", self.imap_names())
        self.assertIn("Projects", self.imap_names("LSUB"))

        # What changed since state0: the two creations.
        ch = self.ok("Mailbox/changes", {"sinceState": state0})
        self.assertEqual(set(ch["created"]), {pid, cid})
        self.assertEqual(ch["oldState"], state0)
        self.assertEqual(ch["newState"], res["newState"])
        self.assertIs(ch["hasMoreChanges"], False)

        # Rename the child and move it to the top; unsubscribe the parent.
        res = self.ok("Mailbox/set", {"update": {
            cid: {"name": "Year 2026", "parentId": None},
            pid: {"isSubscribed": False}}})
        self.assertEqual(set(res["updated"]), {cid, pid}, res)
        names = self.imap_names()
        self.assertIn("Year 2026", names)
        self.assertNotIn("Projects/2026", names)
        self.assertNotIn("Projects", self.imap_names("LSUB"))
        ch = self.ok("Mailbox/changes", {"sinceState": res["oldState"]})
        self.assertIn(cid, ch["updated"] + ch["created"])

        # Errors per object, and the rest goes on.
        res = self.ok("Mailbox/set", {
            "create": {"bad": {"name": "a/b"}, "ro": {"name": "x",
                                                       "totalEmails": 3},
                       "np": {"name": "y", "parentId": "Bfffff"}},
            "update": {"Bfffff": {"name": "z"}, pid: {"parentId": pid}},
            "destroy": ["Bfffff"]})
        self.assertIsNone(res["created"])
        self.assertEqual(res["notCreated"]["bad"]["type"], "invalidProperties")
        self.assertEqual(res["notCreated"]["bad"]["properties"], ["name"])
        self.assertEqual(res["notCreated"]["ro"]["properties"], ["totalEmails"])
        self.assertEqual(res["notCreated"]["np"]["properties"], ["parentId"])
        self.assertEqual(res["notUpdated"]["Bfffff"]["type"], "notFound")
        self.assertEqual(res["notUpdated"][pid]["type"], "invalidProperties")
        self.assertEqual(res["notDestroyed"]["Bfffff"]["type"], "notFound")
        self.assertEqual(res["oldState"], res["newState"])

        # A parent with a child stays; then both go, child first.
        res = self.ok("Mailbox/set", {"create": {"k": {
            "name": "kid", "parentId": pid}}})
        kid = res["created"]["k"]["id"]
        res = self.ok("Mailbox/set", {"destroy": [pid]})
        self.assertEqual(res["notDestroyed"][pid]["type"], "mailboxHasChild")
        res = self.ok("Mailbox/set", {"destroy": [kid, pid, cid]})
        self.assertEqual(sorted(res["destroyed"]), sorted([kid, pid, cid]))
        names = self.imap_names()
        self.assertFalse({"Projects", "Projects/kid", "Year 2026"} & names)
        ch = self.ok("Mailbox/changes", {"sinceState": res["oldState"]})
        self.assertEqual(set(ch["destroyed"]), {kid, pid, cid})

    def test_set_if_in_state(self):
        rname, res = self.call("Mailbox/set", {
            "ifInState": "S99999", "create": {"a": {"name": "never"}}})
        self.assertEqual((rname, res["type"]), ("error", "stateMismatch"))
        self.assertIsNone(self.by_name("never"))
        state = self.ok("Mailbox/get", {"ids": []})["state"]
        res = self.ok("Mailbox/set", {"ifInState": state,
                                      "create": {"a": {"name": "once"}}})
        self.assertIn("a", res["created"])
        self.ok("Mailbox/set", {"destroy": [res["created"]["a"]["id"]]})

    def test_changes_errors(self):
        rname, res = self.call("Mailbox/changes", {"sinceState": "garbage"})
        self.assertEqual((rname, res["type"]), ("error", "cannotCalculateChanges"))
        rname, res = self.call("Mailbox/changes", {"sinceState": "S1",
                                                   "maxChanges": 0})
        self.assertEqual((rname, res["type"]), ("error", "invalidArguments"))
        rname, res = self.call("Mailbox/queryChanges", {"sinceQueryState": "S1"})
        self.assertEqual((rname, res["type"]), ("error", "cannotCalculateChanges"))

    def test_query(self):
        res = self.ok("Mailbox/set", {"create": {
            "a": {"name": "Alpha"}, "b": {"name": "beta", "parentId": "#a"},
            "z": {"name": "Zed"}}})
        a, b, z = (res["created"][k]["id"] for k in "abz")
        try:
            res = self.ok("Mailbox/query", {"filter": {"hasAnyRole": True}})
            roles = {self.boxes()[i]["role"] for i in res["ids"]}
            self.assertEqual(roles, ROLES)
            self.assertEqual(res["position"], 0)
            self.assertIs(res["canCalculateChanges"], False)

            res = self.ok("Mailbox/query", {
                "filter": {"operator": "AND", "conditions": [
                    {"hasAnyRole": False}, {"name": "e"}]},
                "sort": [{"property": "name"}], "calculateTotal": True})
            self.assertEqual(res["ids"], [b, z])
            self.assertEqual(res["total"], 2)

            res = self.ok("Mailbox/query", {"filter": {"parentId": a}})
            self.assertEqual(res["ids"], [b])

            # As a tree: each parent right before its children.
            res = self.ok("Mailbox/query", {
                "filter": {"hasAnyRole": False}, "sortAsTree": True,
                "sort": [{"property": "name", "isAscending": False}]})
            self.assertEqual(res["ids"], [z, a, b])
            # filterAsTree: "beta" matches but its parent does not.
            res = self.ok("Mailbox/query", {
                "filter": {"name": "beta"}, "filterAsTree": True})
            self.assertEqual(res["ids"], [])

            # Window: anchor, offset and limit.
            res = self.ok("Mailbox/query", {
                "filter": {"hasAnyRole": False},
                "sort": [{"property": "name"}], "anchor": b,
                "anchorOffset": -1, "limit": 2})
            self.assertEqual(res["ids"], [a, b])
            self.assertEqual(res["position"], 0)
            rname, res = self.call("Mailbox/query", {"anchor": "Bfffff"})
            self.assertEqual((rname, res["type"]), ("error", "anchorNotFound"))
            rname, res = self.call("Mailbox/query", {"filter": {"color": 1}})
            self.assertEqual((rname, res["type"]), ("error", "unsupportedFilter"))
            rname, res = self.call("Mailbox/query", {
                "sort": [{"property": "color"}]})
            self.assertEqual((rname, res["type"]), ("error", "unsupportedSort"))
        finally:
            self.ok("Mailbox/set", {"destroy": [b, a, z]})

    def test_counts_after_delivery(self):
        inbox = [m for m in self.boxes().values() if m["role"] == "inbox"][0]
        msg = ("From: a@example.net\r\nTo: %s\r\nSubject: count %d\r\n"
               "Message-ID: <count-%d@example.net>\r\n\r\nbody\r\n")
        lmtp = smtplib.LMTP(self.srv.lmtp_socket, timeout=30)
        for i in range(2):
            lmtp.sendmail("a@example.net", [USER], msg % (USER, i, i))
        lmtp.quit()
        now = self.boxes()[inbox["id"]]
        self.assertEqual(now["totalEmails"], inbox["totalEmails"] + 2)
        self.assertEqual(now["unreadEmails"], inbox["unreadEmails"] + 2)
        self.assertEqual(now["totalThreads"], inbox["totalThreads"] + 2)
        self.assertEqual(now["unreadThreads"], inbox["unreadThreads"] + 2)
        # Seen in IMAP: one read, the counts follow.
        c = self.imap()
        c.select("INBOX")
        typ, data = c.search(None, "UNSEEN")
        first = data[0].split()[0]
        c.store(first, "+FLAGS", "\\Seen")
        c.logout()
        after = self.boxes()[inbox["id"]]
        self.assertEqual(after["unreadEmails"], now["unreadEmails"] - 1)
        self.assertEqual(after["unreadThreads"], now["unreadThreads"] - 1)
        # Destroying it keeps its mail unless asked.
        rname, res = self.call("Mailbox/set", {"destroy": [inbox["id"]]})
        self.assertEqual(res["notDestroyed"][inbox["id"]]["type"],
                         "mailboxHasEmail")


if __name__ == "__main__":
    unittest.main()

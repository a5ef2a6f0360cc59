# SPDX-License-Identifier: ISC
"""jmapd: JMAP push (RFC 8620 7) over the event source (7.3) and over a
WebSocket (RFC 8887 4.3.5), against the real bulwarkd.

Changes made by LMTP delivery, by IMAP (imaplib) and by another JMAP
connection arrive as StateChange objects whose states are the ones
Mailbox/get and Email/changes then show; types, closeafter, ping and
Last-Event-ID of the event source; WebSocketPushEnable with dataTypes and
pushState, and WebSocketPushDisable.
"""
import asyncio
import base64
import http.client
import imaplib
import json
import smtplib
import socket
import time
import unittest

from bulwark import Server

try:
    import websockets
except ImportError:
    websockets = None

USER = "push@example.org"
PASSWORD = "push test password"
CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
WS = "urn:ietf:params:jmap:websocket"


def basic():
    return "Basic " + base64.b64encode(
        ("%s:%s" % (USER, PASSWORD)).encode()).decode()


class EventStream:
    """A raw HTTP/1.1 client of the event source, reading events."""

    def __init__(self, port, query, headers=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        h = {"Host": "127.0.0.1", "Authorization": basic(),
             "Accept": "text/event-stream"}
        h.update(headers or {})
        req = "GET /jmap/eventsource/?%s HTTP/1.1\r\n" % query
        req += "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
        self.sock.sendall(req.encode())
        self.f = self.sock.makefile("rb")
        self.status = int(self.f.readline().split()[1])
        self.headers = {}
        while True:
            line = self.f.readline().decode().rstrip("\r\n")
            if not line:
                break
            k, v = line.split(":", 1)
            self.headers[k.strip().lower()] = v.strip()

    def event(self, timeout=10):
        """The next event as a dict of its fields; None at the end."""
        self.sock.settimeout(timeout)
        ev = {}
        while True:
            line = self.f.readline()
            if not line:
                return None
            line = line.decode().rstrip("\n")
            if line == "":
                if ev:
                    return ev
                continue
            k, _, v = line.partition(":")
            ev[k] = v.lstrip(" ")

    def close(self):
        self.f.close()
        self.sock.close()


class JmapPushTest(unittest.TestCase):
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
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    @classmethod
    def session(cls):
        c = http.client.HTTPConnection("127.0.0.1", cls.srv.ports["http"],
                                       timeout=30)
        c.request("GET", "/jmap/session", headers={"Authorization": basic()})
        return json.loads(c.getresponse().read())

    @classmethod
    def api(cls, calls):
        c = http.client.HTTPConnection("127.0.0.1", cls.srv.ports["http"],
                                       timeout=30)
        c.request("POST", "/jmap/api/", json.dumps({
            "using": [CORE, MAIL], "methodCalls": calls}).encode(),
            {"Authorization": basic(), "Content-Type": "application/json"})
        r = c.getresponse()
        assert r.status == 200
        return json.loads(r.read())["methodResponses"]

    def state(self):
        (name, res, _), = self.api([["Mailbox/get", {
            "accountId": self.account, "ids": []}, "s"]])
        return res["state"]

    def deliver(self):
        JmapPushTest.n += 1
        lmtp = smtplib.LMTP(self.srv.lmtp_socket, timeout=30)
        lmtp.sendmail("a@example.net", [USER], (
            "From: a@example.net\r\nTo: %s\r\nSubject: push %d\r\n"
            "Message-ID: <push-%d@example.net>\r\n\r\nhello\r\n")
            % (USER, self.n, self.n))
        lmtp.quit()

    def stream(self, query="types=*&closeafter=no&ping=0", headers=None):
        es = EventStream(self.srv.ports["http"], query, headers)
        self.addCleanup(es.close)
        return es

    def wait_watching(self):
        # The watch starts when the stream does; give storaged the message.
        time.sleep(0.3)

    def test_event_source_states(self):
        es = self.stream()
        self.assertEqual(es.status, 200)
        self.assertTrue(es.headers["content-type"].startswith(
            "text/event-stream"))
        self.wait_watching()
        self.deliver()
        ev = es.event()
        self.assertEqual(ev["event"], "state")
        data = json.loads(ev["data"])
        self.assertEqual(data["@type"], "StateChange")
        changed = data["changed"][self.account]
        self.assertEqual(set(changed), {"Mailbox", "Email", "Thread",
                                        "EmailDelivery"})
        # The state pushed is the one the API shows now, and the event id.
        self.assertEqual(changed["Mailbox"], self.state())
        self.assertEqual(ev["id"], changed["Email"])

        # A mailbox made by another JMAP connection.
        (name, res, _), = self.api([["Mailbox/set", {
            "accountId": self.account,
            "create": {"n": {"name": "pushed"}}}, "s"]])
        ev = es.event()
        self.assertEqual(ev["event"], "state")
        self.assertEqual(json.loads(ev["data"])["changed"][self.account][
            "Mailbox"], res["newState"])

        # A flag set over IMAP.
        c = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"], timeout=20)
        c.login(USER, PASSWORD)
        c.select("INBOX")
        c.store("1", "+FLAGS", "\\Flagged")
        c.logout()
        ev = es.event()
        st = json.loads(ev["data"])["changed"][self.account]["Email"]
        self.assertEqual(st, self.state())
        (name, ch, _), = self.api([["Email/changes", {
            "accountId": self.account, "sinceState": res["newState"]}, "c"]])
        self.assertEqual(ch["newState"], st)
        self.assertEqual(len(ch["updated"]), 1)

    def test_types_filter(self):
        es = self.stream("types=Mailbox&closeafter=no&ping=0")
        self.wait_watching()
        self.deliver()
        data = json.loads(es.event()["data"])
        self.assertEqual(set(data["changed"][self.account]), {"Mailbox"})
        # Types this server does not have: no state events, only pings.
        es = self.stream("types=CalendarEvent&closeafter=no&ping=1")
        self.wait_watching()
        self.deliver()
        ev = es.event()
        self.assertEqual(ev["event"], "ping")

    def test_email_delivery_type(self):
        # RFC 8621 1.5: EmailDelivery moves with new mail only.
        es = self.stream("types=EmailDelivery&closeafter=no&ping=0")
        self.wait_watching()
        self.deliver()
        first = json.loads(es.event()["data"])["changed"][self.account]
        self.assertEqual(set(first), {"EmailDelivery"})
        c = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"], timeout=20)
        c.login(USER, PASSWORD)
        c.select("INBOX")
        c.store("1:*", "+FLAGS", "\\Seen")
        c.logout()
        time.sleep(0.5)
        self.deliver()
        # The next event is the delivery's: the flag change made none
        # (it would carry the first delivery's state again).
        second = json.loads(es.event()["data"])["changed"][self.account]
        self.assertNotEqual(second["EmailDelivery"], first["EmailDelivery"])
        # With every type: a flag change lists the mail types it changed,
        # not EmailDelivery (RFC 8620 7.1: the types that changed).
        es = self.stream()
        self.wait_watching()
        c = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"], timeout=20)
        c.login(USER, PASSWORD)
        c.select("INBOX")
        c.store("1", "-FLAGS", "\\Seen")
        a = json.loads(es.event()["data"])["changed"][self.account]
        c.store("1", "+FLAGS", "\\Seen")
        b = json.loads(es.event()["data"])["changed"][self.account]
        c.logout()
        self.assertEqual(set(a), {"Mailbox", "Email", "Thread"})
        self.assertEqual(set(b), {"Mailbox", "Email", "Thread"})
        self.assertNotEqual(a["Email"], b["Email"])
        self.deliver()
        while True:
            d = json.loads(es.event()["data"])["changed"][self.account]
            # The delivery's other changes may come first.
            self.assertNotEqual(d["Email"], b["Email"])
            if "EmailDelivery" in d:
                break
        self.assertNotEqual(d["EmailDelivery"], second["EmailDelivery"])

    def test_identity_submission_vacation_types(self):
        # The types that are not mail (RFC 8621 6, 7, 8) come when their
        # objects change, and only then.
        es = self.stream("types=Identity,EmailSubmission,VacationResponse,"
                         "Email&closeafter=no&ping=0")
        self.wait_watching()
        c = http.client.HTTPConnection("127.0.0.1", self.srv.ports["http"],
                                       timeout=30)
        c.request("POST", "/jmap/api/", json.dumps({
            "using": [CORE, MAIL, "urn:ietf:params:jmap:submission",
                      "urn:ietf:params:jmap:vacationresponse"],
            "methodCalls": [["Identity/set", {
                "accountId": self.account, "create": {"i": {
                    "email": USER, "name": "Push"}}}, "i"]]}).encode(),
            {"Authorization": basic(), "Content-Type": "application/json"})
        (_, res, _), = json.loads(c.getresponse().read())["methodResponses"]
        c.close()
        self.assertIn("i", res.get("created") or {}, res)
        ev = json.loads(es.event()["data"])["changed"][self.account]
        self.assertEqual(set(ev), {"Identity"})
        self.assertEqual(ev["Identity"], res["newState"])
        c = http.client.HTTPConnection("127.0.0.1", self.srv.ports["http"],
                                       timeout=30)
        c.request("POST", "/jmap/api/", json.dumps({
            "using": [CORE, "urn:ietf:params:jmap:vacationresponse"],
            "methodCalls": [["VacationResponse/set", {
                "accountId": self.account, "update": {"singleton": {
                    "subject": "push test"}}}, "v"]]}).encode(),
            {"Authorization": basic(), "Content-Type": "application/json"})
        (_, res, _), = json.loads(c.getresponse().read())["methodResponses"]
        c.close()
        self.assertEqual(res.get("updated"), {"singleton": None}, res)
        ev = json.loads(es.event()["data"])["changed"][self.account]
        self.assertEqual(set(ev), {"VacationResponse"})
        self.assertEqual(ev["VacationResponse"], res["newState"])
        # A delivery is an Email change, not one of these.
        self.deliver()
        ev = json.loads(es.event()["data"])["changed"][self.account]
        self.assertEqual(set(ev), {"Email"})
        # A draft (Email) sent (EmailSubmission, queued: no relay here).
        (_, res, _), = self.api([["Mailbox/get", {
            "accountId": self.account, "ids": None,
            "properties": ["role"]}, "m"]])
        drafts = [m["id"] for m in res["list"] if m["role"] == "drafts"][0]
        c = http.client.HTTPConnection("127.0.0.1", self.srv.ports["http"],
                                       timeout=30)
        c.request("POST", "/jmap/api/", json.dumps({
            "using": [CORE, MAIL, "urn:ietf:params:jmap:submission"],
            "methodCalls": [["Email/set", {
                "accountId": self.account, "create": {"e": {
                    "mailboxIds": {drafts: True},
                    "from": [{"email": USER}],
                    "to": [{"email": "far@example.net"}],
                    "subject": "push submission",
                    "textBody": [{"partId": "1"}],
                    "bodyValues": {"1": {"value": "hi"}}}}}, "e"],
                ["EmailSubmission/set", {
                    "accountId": self.account, "create": {"s": {
                        "identityId": "I1", "emailId": "#e"}}}, "s"]]}
                                               ).encode(),
            {"Authorization": basic(), "Content-Type": "application/json"})
        (_, eres, _), (_, sres, _) = json.loads(
            c.getresponse().read())["methodResponses"]
        c.close()
        self.assertIn("s", sres.get("created") or {}, sres)
        seen = set()
        while "EmailSubmission" not in seen:
            ev = json.loads(es.event()["data"])["changed"][self.account]
            self.assertLessEqual(set(ev), {"Email", "EmailSubmission"})
            seen |= set(ev)
        self.assertEqual(ev["EmailSubmission"], sres["newState"])

    def test_closeafter_and_last_event_id(self):
        old = self.state()
        self.deliver()
        # The client says where it was: it hears at once, and with
        # closeafter=state the response ends after that event.
        es = self.stream("types=*&closeafter=state&ping=0",
                         {"Last-Event-ID": old})
        ev = es.event()
        self.assertEqual(ev["event"], "state")
        self.assertNotEqual(ev["id"], old)
        self.assertIsNone(es.event())
        # Up to date: nothing until something changes.
        es = self.stream("types=*&closeafter=state&ping=0",
                         {"Last-Event-ID": self.state()})
        self.assertRaises(socket.timeout, es.event, 1)

    def test_ping(self):
        es = self.stream("types=*&closeafter=no&ping=1")
        t0 = time.monotonic()
        ev = es.event()
        self.assertEqual(ev["event"], "ping")
        self.assertEqual(json.loads(ev["data"]), {"interval": 1})
        self.assertNotIn("id", ev)
        self.assertGreaterEqual(time.monotonic() - t0, 0.5)
        # ping=0: none.
        es = self.stream("types=*&closeafter=no&ping=0")
        self.assertRaises(socket.timeout, es.event, 2)

    def test_bad_event_source_requests(self):
        for q in ("types=*&closeafter=no", "types=*&closeafter=maybe&ping=0",
                  "types=*&closeafter=no&ping=x"):
            es = self.stream(q)
            self.assertEqual(es.status, 400, q)
        c = http.client.HTTPConnection("127.0.0.1", self.srv.ports["http"],
                                       timeout=30)
        c.request("GET", "/jmap/eventsource/?types=*&closeafter=no&ping=0")
        self.assertEqual(c.getresponse().status, 401)

    @unittest.skipUnless(websockets, "python3-websockets not installed")
    def test_websocket_push(self):
        url = "ws://127.0.0.1:%d/jmap/ws" % self.srv.ports["http"]
        self.assertIs(self.session()["capabilities"][WS]["supportsPush"], True)

        async def go():
            async with websockets.connect(
                    url, subprotocols=["jmap"],
                    extra_headers={"Authorization": basic()}) as ws:
                await ws.send(json.dumps({"@type": "WebSocketPushEnable",
                                          "dataTypes": ["Email"]}))
                # A request still answers, and the watch is set by then.
                await ws.send(json.dumps({
                    "@type": "Request", "using": [CORE],
                    "methodCalls": [["Core/echo", {}, "e"]]}))
                first = json.loads(await ws.recv())
                await asyncio.get_running_loop().run_in_executor(
                    None, self.deliver)
                change = json.loads(await asyncio.wait_for(ws.recv(), 10))
                await ws.send(json.dumps({"@type": "WebSocketPushDisable"}))
                await ws.send(json.dumps({
                    "@type": "Request", "using": [CORE],
                    "methodCalls": [["Core/echo", {}, "e"]]}))
                json.loads(await ws.recv())
                await asyncio.get_running_loop().run_in_executor(
                    None, self.deliver)
                try:
                    late = await asyncio.wait_for(ws.recv(), 1.5)
                except asyncio.TimeoutError:
                    late = None
                return first, change, late
        first, change, late = asyncio.run(asyncio.wait_for(go(), 60))
        self.assertEqual(first["@type"], "Response")
        self.assertEqual(change["@type"], "StateChange")
        self.assertEqual(set(change["changed"][self.account]), {"Email"})
        self.assertEqual(change["pushState"],
                         change["changed"][self.account]["Email"])
        self.assertIsNone(late)

    @unittest.skipUnless(websockets, "python3-websockets not installed")
    def test_websocket_push_state_catch_up(self):
        url = "ws://127.0.0.1:%d/jmap/ws" % self.srv.ports["http"]
        old = self.state()
        self.deliver()
        now = self.state()

        async def go():
            async with websockets.connect(
                    url, subprotocols=["jmap"],
                    extra_headers={"Authorization": basic()}) as ws:
                await ws.send(json.dumps({"@type": "WebSocketPushEnable",
                                          "dataTypes": None,
                                          "pushState": old}))
                return json.loads(await asyncio.wait_for(ws.recv(), 10))
        change = asyncio.run(asyncio.wait_for(go(), 60))
        self.assertEqual(change["pushState"], now)
        # What changed while away is not known: every type is listed.
        self.assertEqual(set(change["changed"][self.account]),
                         {"Mailbox", "Email", "Thread", "EmailDelivery",
                          "Identity", "EmailSubmission", "VacationResponse"})


if __name__ == "__main__":
    unittest.main()

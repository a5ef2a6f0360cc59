# SPDX-License-Identifier: ISC
"""jmapd: maxConcurrentRequests (RFC 8620 2, 3.6.1), against the real
bulwarkd.  storaged is stopped (SIGSTOP) so that requests that need it
stay running; the one past the limit is refused at once with a "limit"
problem, over HTTP and over a WebSocket, and the others are answered when
storaged goes on (SIGCONT).
"""
import asyncio
import base64
import http.client
import json
import os
import signal
import unittest

from bulwark import Server

try:
    import websockets
except ImportError:
    websockets = None

USER = "limits@example.org"
PASSWORD = "limits test password"
CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"


def basic():
    return "Basic " + base64.b64encode(
        ("%s:%s" % (USER, PASSWORD)).encode()).decode()


@unittest.skipUnless(websockets, "python3-websockets not installed")
class JmapLimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(None, imap_workers=1, http_workers=1)
        try:
            cls.srv.start()
            cls.srv.add_account(USER, PASSWORD)
        except Exception:
            cls.srv.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def test_max_concurrent_requests(self):
        c = http.client.HTTPConnection("127.0.0.1", self.srv.ports["http"],
                                       timeout=30)
        c.request("GET", "/jmap/session", headers={"Authorization": basic()})
        s = json.loads(c.getresponse().read())
        limit = s["capabilities"][CORE]["maxConcurrentRequests"]
        account = s["primaryAccounts"][MAIL]
        req = json.dumps({"using": [CORE, MAIL], "methodCalls": [
            ["Mailbox/get", {"accountId": account, "ids": []}, "m"]]})
        url = "ws://127.0.0.1:%d/jmap/ws" % self.srv.ports["http"]
        storaged = self.srv.children()["storaged"][0]

        def post():
            # On the connection authenticated before: no storaged needed.
            c.request("POST", "/jmap/api/", req.encode(), {
                "Authorization": basic(),
                "Content-Type": "application/json"})
            r = c.getresponse()
            return r.status, json.loads(r.read())

        async def go():
            conns = [await websockets.connect(
                url, subprotocols=["jmap"],
                extra_headers={"Authorization": basic()})
                for i in range(limit + 1)]
            os.kill(storaged, signal.SIGSTOP)
            try:
                msg = json.loads(req)
                msg["@type"] = "Request"
                for i in range(limit):
                    msg["id"] = "r%d" % i
                    await conns[i].send(json.dumps(msg))
                await asyncio.sleep(0.5)
                loop = asyncio.get_running_loop()
                status, problem = await loop.run_in_executor(None, post)
                msg["id"] = "over"
                await conns[limit].send(json.dumps(msg))
                ws_problem = json.loads(await asyncio.wait_for(
                    conns[limit].recv(), 10))
            finally:
                os.kill(storaged, signal.SIGCONT)
            answers = [json.loads(await asyncio.wait_for(w.recv(), 20))
                       for w in conns[:limit]]
            # Once they are answered, requests run again.
            msg["id"] = "after"
            await conns[limit].send(json.dumps(msg))
            after = json.loads(await asyncio.wait_for(conns[limit].recv(),
                                                      20))
            for w in conns:
                await w.close()
            return status, problem, ws_problem, answers, after

        status, problem, ws_problem, answers, after = asyncio.run(
            asyncio.wait_for(go(), 60))
        self.assertEqual(status, 400)
        self.assertEqual(problem["type"], "urn:ietf:params:jmap:error:limit")
        self.assertEqual(problem["limit"], "maxConcurrentRequests")
        self.assertEqual(ws_problem["@type"], "RequestError")
        self.assertEqual(ws_problem["limit"], "maxConcurrentRequests")
        for i, a in enumerate(answers):
            self.assertEqual(a["requestId"], "r%d" % i)
            self.assertEqual(a["methodResponses"][0][0], "Mailbox/get")
        self.assertEqual(after["requestId"], "after")
        self.assertEqual(after["methodResponses"][0][0], "Mailbox/get")
        self.srv.wait_log(r"request refused: maxConcurrentRequests")


if __name__ == "__main__":
    unittest.main()

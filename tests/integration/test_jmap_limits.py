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
import socket
import time
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

    def test_max_concurrent_upload(self):
        c = http.client.HTTPConnection("127.0.0.1", self.srv.ports["http"],
                                       timeout=30)
        c.request("GET", "/jmap/session", headers={"Authorization": basic()})
        s = json.loads(c.getresponse().read())
        limit = s["capabilities"][CORE]["maxConcurrentUpload"]
        account = s["primaryAccounts"][MAIL]
        echo = json.dumps({"using": [CORE], "methodCalls": [
            ["Core/echo", {}, "e"]]}).encode()

        def request(path, body, ctype):
            return ("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"
                    "Content-Type: %s\r\nContent-Length: %d\r\n\r\n"
                    % (path, basic(), ctype, len(body))).encode() + body

        def response(sock):
            f = sock.makefile("rb")
            status = int(f.readline().split()[1])
            length = 0
            while True:
                line = f.readline().strip()
                if not line:
                    break
                k, _, v = line.decode().partition(":")
                if k.lower() == "content-length":
                    length = int(v)
            return status, f.read(length)

        # Connections that have authenticated: no storaged needed after.
        socks = []
        for i in range(limit + 1):
            sk = socket.create_connection(("127.0.0.1",
                                           self.srv.ports["http"]), 30)
            sk.sendall(request("/jmap/api/", echo, "application/json"))
            self.assertEqual(response(sk)[0], 200)
            socks.append(sk)
        storaged = self.srv.children()["storaged"][0]
        up = "/jmap/upload/%s/" % account
        os.kill(storaged, signal.SIGSTOP)
        try:
            for i in range(limit):
                socks[i].sendall(request(up, b"upload %d" % i, "text/plain"))
            time.sleep(0.5)
            socks[limit].sendall(request(up, b"one too many", "text/plain"))
            status, body = response(socks[limit])
        finally:
            os.kill(storaged, signal.SIGCONT)
        self.assertEqual(status, 429)
        problem = json.loads(body)
        self.assertEqual(problem["limit"], "maxConcurrentUpload")
        for i in range(limit):
            status, body = response(socks[i])
            self.assertEqual(status, 201)
            self.assertEqual(json.loads(body)["size"], len(b"upload %d" % i))
        socks[limit].sendall(request(up, b"now it fits", "text/plain"))
        self.assertEqual(response(socks[limit])[0], 201)
        for sk in socks:
            sk.close()


if __name__ == "__main__":
    unittest.main()

# SPDX-License-Identifier: ISC
"""JMAP over WebSocket (RFC 8887) on RFC 6455, through python3-websockets
(Debian's, asyncio) and raw sockets, against the real bulwarkd's jmapd:
the capability in the session resource; the opening handshake with the
"jmap" subprotocol and Basic credentials (401, 400, 426 when it is not
right); Request and Response objects with "@type" and the request id,
RequestError objects for request-level errors; fragmented messages,
pings, binary messages (1003), frames a client must not send (1002),
text that is not UTF-8 (1007); permessage-deflate (RFC 7692) with the
client library and with frames compressed here; and wss:// on the TLS
port.
"""
import asyncio
import base64
import http.client
import json
import os
import socket
import ssl
import struct
import unittest
import zlib

from bulwark import Server

try:
    import websockets
    import websockets.exceptions
except ImportError:
    websockets = None

USER = "ws@example.org"
PASSWORD = "ws test password"
CORE = "urn:ietf:params:jmap:core"
WS = "urn:ietf:params:jmap:websocket"
ERR = "urn:ietf:params:jmap:error:"


def basic():
    return "Basic " + base64.b64encode(
        ("%s:%s" % (USER, PASSWORD)).encode()).decode()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


@unittest.skipUnless(websockets, "python3-websockets not installed")
class JmapWebSocketTest(unittest.TestCase):
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

    def url(self):
        return "ws://127.0.0.1:%d/jmap/ws" % self.srv.ports["http"]

    def connect(self, url=None, **kw):
        kw.setdefault("subprotocols", ["jmap"])
        kw.setdefault("extra_headers", {"Authorization": basic()})
        return websockets.connect(url or self.url(), **kw)

    def test_capability_in_session(self):
        c = http.client.HTTPConnection("127.0.0.1", self.srv.ports["http"],
                                       timeout=30)
        c.request("GET", "/jmap/session", headers={"Authorization": basic()})
        s = json.loads(c.getresponse().read())
        self.assertEqual(s["capabilities"][WS],
                         {"url": self.url(), "supportsPush": True})

    def test_requests_and_responses(self):
        async def go():
            async with self.connect() as ws:
                self.assertEqual(ws.subprotocol, "jmap")
                out = []
                for i in range(20):
                    await ws.send(json.dumps({
                        "@type": "Request", "id": "r%d" % i, "using": [CORE],
                        "methodCalls": [["Core/echo", {"n": i}, "c"]]}))
                    out.append(json.loads(await ws.recv()))
                await ws.send(json.dumps({
                    "@type": "Request", "using": [CORE],
                    "methodCalls": [["Core/echo", {"x": "\u00fc"}, "c"]]}))
                out.append(json.loads(await ws.recv()))
                return out
        out = run(go())
        for i in range(20):
            self.assertEqual(out[i]["@type"], "Response")
            self.assertEqual(out[i]["requestId"], "r%d" % i)
            self.assertEqual(out[i]["methodResponses"],
                             [["Core/echo", {"n": i}, "c"]])
            self.assertIsInstance(out[i]["sessionState"], str)
        self.assertNotIn("requestId", out[20])
        self.assertEqual(out[20]["methodResponses"][0][1], {"x": "\u00fc"})

    def test_store_requests_sent_at_once_answer_in_order(self):
        # Mailbox/get waits for storaged; requests sent before any answer
        # are answered one by one, in the order sent (RFC 8887 4.3).
        mail = "urn:ietf:params:jmap:mail"

        async def go():
            async with self.connect() as ws:
                for i in range(8):
                    calls = [["Core/echo", {"n": i}, "e"]]
                    if i % 2 == 0:
                        calls.insert(0, ["Mailbox/get", {
                            "accountId": self.account(),
                            "properties": ["role"]}, "m"])
                    await ws.send(json.dumps({
                        "@type": "Request", "id": "r%d" % i,
                        "using": [CORE, mail], "methodCalls": calls}))
                return [json.loads(await ws.recv()) for i in range(8)]
        out = run(go())
        for i, res in enumerate(out):
            self.assertEqual(res["requestId"], "r%d" % i)
            calls = res["methodResponses"]
            self.assertEqual(calls[-1], ["Core/echo", {"n": i}, "e"])
            if i % 2 == 0:
                self.assertEqual(calls[0][0], "Mailbox/get")
                roles = {m["role"] for m in calls[0][1]["list"]}
                self.assertIn("inbox", roles)

    def account(self):
        c = http.client.HTTPConnection("127.0.0.1", self.srv.ports["http"],
                                       timeout=30)
        c.request("GET", "/jmap/session", headers={"Authorization": basic()})
        s = json.loads(c.getresponse().read())
        return s["primaryAccounts"]["urn:ietf:params:jmap:mail"]

    def test_request_errors(self):
        async def go():
            async with self.connect() as ws:
                res = []
                for m in ("{not json",
                          json.dumps({"using": [CORE], "methodCalls": []}),
                          json.dumps({"@type": "WebSocketPushEnabled",
                                      "dataTypes": None}),
                          json.dumps({"@type": "Request", "id": "e1",
                                      "using": ["urn:x"], "methodCalls": []}),
                          json.dumps({"@type": "Request", "id": "e2",
                                      "using": [CORE], "methodCalls": 5})):
                    await ws.send(m)
                    res.append(json.loads(await ws.recv()))
                # Still open after errors.
                await ws.send(json.dumps({"@type": "Request", "id": "ok",
                                          "using": [CORE], "methodCalls": []}))
                res.append(json.loads(await ws.recv()))
                return res
        res = run(go())
        want = ["notJSON", "notRequest", "notRequest", "unknownCapability",
                "notRequest"]
        for r, t in zip(res, want):
            self.assertEqual(r["@type"], "RequestError")
            self.assertEqual(r["type"], ERR + t)
            self.assertEqual(r["status"], 400)
        self.assertNotIn("requestId", res[0])
        self.assertEqual(res[3]["requestId"], "e1")
        self.assertEqual(res[4]["requestId"], "e2")
        self.assertEqual(res[5]["requestId"], "ok")

    def test_fragmented_message_and_ping(self):
        async def go():
            async with self.connect() as ws:
                pong = await ws.ping(b"hello")
                await asyncio.wait_for(pong, 10)
                text = json.dumps({"@type": "Request", "id": "f",
                                   "using": [CORE], "methodCalls": [
                                       ["Core/echo", {"pad": "p" * 5000}, "c"]]})
                await ws.send([text[i:i + 700] for i in range(0, len(text), 700)])
                return json.loads(await ws.recv())
        r = run(go())
        self.assertEqual(r["requestId"], "f")
        self.assertEqual(r["methodResponses"][0][1]["pad"], "p" * 5000)

    def test_binary_message_closes_1003(self):
        async def go():
            async with self.connect() as ws:
                await ws.send(b"\x00\x01")
                try:
                    await ws.recv()
                except websockets.exceptions.ConnectionClosed as e:
                    return e.code
        self.assertEqual(run(go()), 1003)

    def test_handshake_refusals(self):
        async def status(**kw):
            try:
                async with self.connect(**kw):
                    return 101
            except websockets.exceptions.InvalidStatusCode as e:
                return e.status_code
        self.assertEqual(run(status(extra_headers={})), 401)
        self.assertEqual(run(status(subprotocols=["other"])), 400)
        # RFC 6455 4.4: another version gets 426 and the one we speak.
        s = socket.create_connection(("127.0.0.1", self.srv.ports["http"]),
                                     timeout=30)
        s.sendall(b"GET /jmap/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\nSec-WebSocket-Key: "
                  b"dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 12\r\n"
                  b"Sec-WebSocket-Protocol: jmap\r\nAuthorization: "
                  + basic().encode() + b"\r\nConnection: close\r\n\r\n")
        out = s.recv(4096)
        s.close()
        self.assertTrue(out.startswith(b"HTTP/1.1 426 "), out)
        self.assertIn(b"Sec-WebSocket-Version: 13", out)

    def raw_ws(self):
        """A raw socket after a handshake done by hand (RFC 6455 1.3)."""
        s = socket.create_connection(("127.0.0.1", self.srv.ports["http"]),
                                     timeout=30)
        s.sendall(b"GET /jmap/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\nSec-WebSocket-Key: "
                  b"dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                  b"Sec-WebSocket-Protocol: jmap\r\nAuthorization: "
                  + basic().encode() + b"\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(1)
        self.assertTrue(head.startswith(b"HTTP/1.1 101 "), head)
        # The example of RFC 6455 1.3.
        self.assertIn(b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
                      head)
        return s

    def close_code(self, s):
        data = b""
        while True:
            d = s.recv(4096)
            if not d:
                break
            data += d
        s.close()
        self.assertEqual(data[0], 0x88, data)      # FIN + Close
        return struct.unpack("!H", data[2:4])[0]

    @staticmethod
    def frame(op, payload, mask=True, fin=True):
        key = os.urandom(4)
        head = bytes([(0x80 if fin else 0) | op])
        n = len(payload)
        lb = (0x80 if mask else 0)
        if n < 126:
            head += bytes([lb | n])
        else:
            head += bytes([lb | 126]) + struct.pack("!H", n)
        if not mask:
            return head + payload
        return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))

    def test_protocol_violations(self):
        s = self.raw_ws()
        s.sendall(self.frame(1, b"{}", mask=False))
        self.assertEqual(self.close_code(s), 1002)
        s = self.raw_ws()
        s.sendall(self.frame(1, b'{"a":"\xff"}'))
        self.assertEqual(self.close_code(s), 1007)
        s = self.raw_ws()
        s.sendall(self.frame(9, b"x", fin=False))      # fragmented ping
        self.assertEqual(self.close_code(s), 1002)
        s = self.raw_ws()
        s.sendall(self.frame(0, b"more"))               # no message to go on
        self.assertEqual(self.close_code(s), 1002)
        # A close from the client is answered with its code.
        s = self.raw_ws()
        s.sendall(self.frame(8, struct.pack("!H", 1000) + b"bye"))
        self.assertEqual(self.close_code(s), 1000)

    def test_permessage_deflate(self):
        """RFC 7692: websockets offers it by default; both ends compress."""
        async def go(**kw):
            async with self.connect(**kw) as ws:
                names = [type(e).__name__ for e in ws.extensions]
                await ws.send(json.dumps({
                    "@type": "Request", "id": "z", "using": [CORE],
                    "methodCalls": [["Core/echo", {"pad": "ab" * 4000}, "c"]]}))
                r = json.loads(await ws.recv())
                return names, r
        names, r = run(go())
        self.assertEqual(names, ["PerMessageDeflate"])
        self.assertEqual(r["methodResponses"][0][1]["pad"], "ab" * 4000)
        names, r = run(go(compression=None))
        self.assertEqual(names, [])
        self.assertEqual(r["requestId"], "z")

    def handshake(self, extensions):
        s = socket.create_connection(("127.0.0.1", self.srv.ports["http"]),
                                     timeout=30)
        s.sendall(b"GET /jmap/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\nSec-WebSocket-Key: "
                  b"dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                  b"Sec-WebSocket-Protocol: jmap\r\n"
                  b"Sec-WebSocket-Extensions: " + extensions + b"\r\n"
                  b"Authorization: " + basic().encode() + b"\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(1)
        self.assertTrue(head.startswith(b"HTTP/1.1 101 "), head)
        return s, head

    def test_deflate_negotiation_and_raw_frames(self):
        s, head = self.handshake(b"permessage-deflate; server_max_window_bits=10")
        self.assertIn(b"Sec-WebSocket-Extensions: permessage-deflate; "
                      b"server_no_context_takeover; client_no_context_takeover; "
                      b"server_max_window_bits=10\r\n", head)
        # A compressed request (RFC 7692 7.2.1), RSV1 on its frame.
        text = json.dumps({"@type": "Request", "id": "raw", "using": [CORE],
                           "methodCalls": [["Core/echo", {"p": "q" * 3000},
                                            "c"]]}).encode()
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        z = c.compress(text) + c.flush(zlib.Z_SYNC_FLUSH)
        self.assertEqual(z[-4:], b"\x00\x00\xff\xff")
        f = bytearray(self.frame(1, z[:-4]))
        f[0] |= 0x40
        s.sendall(bytes(f))
        hdr = s.recv(2)
        self.assertEqual(hdr[0], 0xc1)          # FIN, RSV1, text
        n = hdr[1] & 0x7f
        if n == 126:
            n = struct.unpack("!H", s.recv(2))[0]
        body = b""
        while len(body) < n:
            body += s.recv(n - len(body))
        d = zlib.decompressobj(-15)
        r = json.loads(d.decompress(body + b"\x00\x00\xff\xff"))
        self.assertEqual(r["requestId"], "raw")
        self.assertEqual(r["methodResponses"][0][1]["p"], "q" * 3000)
        s.close()
        # Offers the server declines: no extension, and RSV1 is then 1002.
        for offer in (b"permessage-deflate; server_max_window_bits=8",
                      b"permessage-deflate; unknown_param",
                      b"x-webkit-deflate-frame"):
            s, head = self.handshake(offer)
            self.assertNotIn(b"Sec-WebSocket-Extensions", head)
            f = bytearray(self.frame(1, z[:-4]))
            f[0] |= 0x40
            s.sendall(bytes(f))
            self.assertEqual(self.close_code(s), 1002)

    def test_wss_on_the_tls_port(self):
        ctx = ssl.create_default_context(cafile=self.srv.cert)

        async def go():
            async with self.connect("wss://localhost:%d/jmap/ws"
                                    % self.srv.ports["https"], ssl=ctx) as ws:
                await ws.send(json.dumps({"@type": "Request", "id": "t",
                                          "using": [CORE], "methodCalls": [
                                              ["Core/echo", {}, "c"]]}))
                return json.loads(await ws.recv())
        self.assertEqual(run(go())["requestId"], "t")
        c = http.client.HTTPSConnection("localhost", self.srv.ports["https"],
                                        timeout=30, context=ctx)
        c.request("GET", "/jmap/session", headers={"Authorization": basic()})
        url = json.loads(c.getresponse().read())["capabilities"][WS]["url"]
        self.assertEqual(url, "wss://localhost:%d/jmap/ws" % self.srv.ports["https"])


if __name__ == "__main__":
    unittest.main()

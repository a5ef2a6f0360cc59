# SPDX-License-Identifier: ISC
"""jmapd, first slice: HTTP/1.1 and the JMAP Core request (RFC 8620 2, 3).

Through curl and Python's http.client, against the real bulwarkd with
jmapd on a cleartext and an implicit-TLS loopback port:
 - /.well-known/jmap redirects to the session resource (RFC 8620 2.2);
 - the session resource needs HTTP Basic credentials that storaged checks
   (RFC 7617), and holds the core capability with its limits, the
   account, the URLs and a state (RFC 8620 2);
 - the API endpoint runs Core/echo, result references (3.7), and answers
   every request-level error of 3.6.1 with a problem details object and
   the method-level errors of 3.6.2 in methodResponses;
 - persistence, pipelining, Expect: 100-continue and the HTTP errors of
   RFC 9112 (400, 404, 405, 413, 505).
"""
import base64
import gzip
import http.client
import json
import shutil
import socket
import ssl
import subprocess
import time
import unittest

from bulwark import Server

USER = "jmap@example.org"
PASSWORD = "jmap test password"
CURL = shutil.which("curl")
CORE = "urn:ietf:params:jmap:core"
ERR = "urn:ietf:params:jmap:error:"


def basic(user=USER, password=PASSWORD):
    return "Basic " + base64.b64encode(
        ("%s:%s" % (user, password)).encode()).decode()


class JmapCoreTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(None, imap_workers=1, http_workers=1,
                         http_opts='\tcors-origins "https://app.example.com '
                                   'http://localhost:8000"\n')
        try:
            cls.srv.start()
            cls.srv.add_account(USER, PASSWORD)
        except Exception:
            cls.srv.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.srv.ports["http"],
                                          timeout=30)

    def request(self, method, path, body=None, headers=None, auth=True):
        c = self.conn()
        h = dict(headers or {})
        if auth:
            h.setdefault("Authorization", basic())
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r, data

    def api(self, req, content_type="application/json", raw=None):
        body = raw if raw is not None else json.dumps(req).encode()
        r, data = self.request("POST", "/jmap/api/", body,
                               {"Content-Type": content_type})
        return r, json.loads(data) if data else None

    def session(self):
        r, data = self.request("GET", "/jmap/session")
        self.assertEqual(r.status, 200, data)
        return json.loads(data)

    # --- RFC 8620 2.2 and 2 ---

    def test_well_known_redirects(self):
        r, _ = self.request("GET", "/.well-known/jmap", auth=False)
        self.assertIn(r.status, (301, 302, 307, 308))
        self.assertEqual(r.getheader("Location"), "/jmap/session")

    @unittest.skipUnless(CURL, "curl not installed")
    def test_curl_follows_to_session(self):
        out = subprocess.run(
            [CURL, "-sS", "-L", "-u", "%s:%s" % (USER, PASSWORD),
             "http://127.0.0.1:%d/.well-known/jmap" % self.srv.ports["http"]],
            capture_output=True, timeout=30, check=True).stdout
        s = json.loads(out)
        self.assertEqual(s["username"], USER)

    def test_session_needs_credentials(self):
        r, data = self.request("GET", "/jmap/session", auth=False)
        self.assertEqual(r.status, 401)
        self.assertRegex(r.getheader("WWW-Authenticate"), r'^Basic realm="')
        r, _ = self.request("GET", "/jmap/session",
                            headers={"Authorization": basic(password="wrong")})
        self.assertEqual(r.status, 401)
        r, _ = self.request("GET", "/jmap/session",
                            headers={"Authorization": "Basic !!!notbase64"})
        self.assertEqual(r.status, 401)
        r, _ = self.request("GET", "/jmap/session",
                            headers={"Authorization": "Bearer abc"})
        self.assertEqual(r.status, 401)

    def test_session_resource(self):
        s = self.session()
        core = s["capabilities"][CORE]
        for k in ("maxSizeUpload", "maxConcurrentUpload", "maxSizeRequest",
                  "maxConcurrentRequests", "maxCallsInRequest",
                  "maxObjectsInGet", "maxObjectsInSet"):
            self.assertIsInstance(core[k], int, k)
            self.assertGreater(core[k], 0, k)
        self.assertIn("i;unicode-casemap", core["collationAlgorithms"])
        self.assertEqual(len(s["accounts"]), 1)
        (aid, acct), = s["accounts"].items()
        self.assertRegex(aid, r"^[A-Za-z0-9_-]{1,255}$")
        self.assertEqual(acct["name"], USER)
        self.assertIs(acct["isPersonal"], True)
        self.assertIs(acct["isReadOnly"], False)
        self.assertEqual(s["username"], USER)
        # Absolute, on the host the client used (Node's fetch, which
        # jmap-jam uses, takes no relative URL).
        base = "http://127.0.0.1:%d/" % self.srv.ports["http"]
        self.assertEqual(s["apiUrl"], base + "jmap/api/")
        for k in ("downloadUrl", "uploadUrl", "eventSourceUrl"):
            self.assertTrue(s[k].startswith(base + "jmap/"), k)
        for var in ("{accountId}", "{blobId}", "{type}", "{name}"):
            self.assertIn(var, s["downloadUrl"])
        self.assertIn("{accountId}", s["uploadUrl"])
        for var in ("{types}", "{closeafter}", "{ping}"):
            self.assertIn(var, s["eventSourceUrl"])
        self.assertEqual(s["state"], self.session()["state"])

    def test_session_over_tls_with_curl(self):
        if not CURL:
            self.skipTest("curl not installed")
        out = subprocess.run(
            [CURL, "-sS", "--cacert", self.srv.cert, "-u",
             "%s:%s" % (USER, PASSWORD),
             "https://localhost:%d/jmap/session" % self.srv.ports["https"]],
            capture_output=True, timeout=30, check=True).stdout
        s = json.loads(out)
        self.assertEqual(s["username"], USER)
        # The API as the session names it, over TLS.
        self.assertEqual(s["apiUrl"], "https://localhost:%d/jmap/api/"
                         % self.srv.ports["https"])
        out = subprocess.run(
            [CURL, "-sS", "--cacert", self.srv.cert, "-u",
             "%s:%s" % (USER, PASSWORD), "-H", "Content-Type: application/json",
             "--data-binary", json.dumps({"using": [CORE], "methodCalls": [
                 ["Core/echo", {"tls": 1}, "t"]]}), s["apiUrl"]],
            capture_output=True, timeout=30, check=True).stdout
        self.assertEqual(json.loads(out)["methodResponses"],
                         [["Core/echo", {"tls": 1}, "t"]])

    # --- RFC 8620 3 ---

    def test_echo(self):
        args = {"hello": True, "high": 5, "list": [1, "two", None],
                "text": "gr\u00fc\u00dfe \"quoted\" \\ \u2603"}
        r, res = self.api({"using": [CORE],
                           "methodCalls": [["Core/echo", args, "c1"]]})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Type").split(";")[0],
                         "application/json")
        self.assertEqual(res["methodResponses"], [["Core/echo", args, "c1"]])
        self.assertEqual(res["sessionState"], self.session()["state"])
        self.assertNotIn("createdIds", res)

    def test_created_ids_returned(self):
        r, res = self.api({"using": [CORE], "createdIds": {"k1": "M1"},
                           "methodCalls": []})
        self.assertEqual(r.status, 200)
        self.assertEqual(res["createdIds"], {"k1": "M1"})
        self.assertEqual(res["methodResponses"], [])

    def test_result_references(self):
        r, res = self.api({"using": [CORE], "methodCalls": [
            ["Core/echo", {"ids": ["a", "b"],
                           "list": [{"id": "x", "t": ["1", "2"]},
                                    {"id": "y", "t": ["3"]}]}, "0"],
            ["Core/echo", {"#ids": {"resultOf": "0", "name": "Core/echo",
                                    "path": "/ids"},
                           "#t": {"resultOf": "0", "name": "Core/echo",
                                  "path": "/list/*/t"},
                           "#one": {"resultOf": "0", "name": "Core/echo",
                                    "path": "/list/1/id"}}, "1"],
            ["Core/echo", {"#x": {"resultOf": "nope", "name": "Core/echo",
                                  "path": "/ids"}}, "2"],
            ["Core/echo", {"#x": {"resultOf": "0", "name": "Other/get",
                                  "path": "/ids"}}, "3"],
            ["Core/echo", {"#x": {"resultOf": "0", "name": "Core/echo",
                                  "path": "/missing"}}, "4"],
            ["Core/echo", {"x": 1, "#x": {"resultOf": "0",
                                          "name": "Core/echo",
                                          "path": "/ids"}}, "5"],
        ]})
        self.assertEqual(r.status, 200)
        m = res["methodResponses"]
        self.assertEqual(m[1], ["Core/echo", {"ids": ["a", "b"],
                                              "t": ["1", "2", "3"],
                                              "one": "y"}, "1"])
        for i in (2, 3, 4):
            self.assertEqual(m[i][0], "error")
            self.assertEqual(m[i][1]["type"], "invalidResultReference")
            self.assertEqual(m[i][2], str(i))
        self.assertEqual(m[5][1]["type"], "invalidArguments")

    def test_unknown_method(self):
        r, res = self.api({"using": [CORE], "methodCalls": [
            ["Foo/bar", {}, "a"], ["Core/echo", {"n": 1}, "b"]]})
        self.assertEqual(r.status, 200)
        self.assertEqual(res["methodResponses"][0],
                         ["error", {"type": "unknownMethod"}, "a"])
        # 3.6.2: the calls after an error run as usual.
        self.assertEqual(res["methodResponses"][1], ["Core/echo", {"n": 1}, "b"])
        # 1.8: a method of a capability not in "using" does not exist.
        r, res = self.api({"using": [], "methodCalls": [
            ["Core/echo", {}, "a"]]})
        self.assertEqual(res["methodResponses"][0][1]["type"], "unknownMethod")

    def assertProblem(self, r, res, type_, status=400):
        self.assertEqual(r.status, status)
        self.assertEqual(r.getheader("Content-Type"), "application/problem+json")
        self.assertEqual(res["type"], ERR + type_ if type_ else "about:blank")
        self.assertEqual(res["status"], status)
        self.assertIsInstance(res["detail"], str)

    def test_request_level_errors(self):
        r, res = self.api(None, raw=b"{\"using\": [")
        self.assertProblem(r, res, "notJSON")
        r, res = self.api(None, raw=b"\xff\xfe")
        self.assertProblem(r, res, "notJSON")
        r, res = self.api(None, raw=b'{"a": 1, "a": 2}')
        self.assertProblem(r, res, "notJSON")
        r, res = self.api({"using": [CORE], "methodCalls": []},
                          content_type="text/plain")
        self.assertProblem(r, res, "notJSON")
        for bad in ([], {"using": [CORE]}, {"methodCalls": []},
                    {"using": "x", "methodCalls": []},
                    {"using": [1], "methodCalls": []},
                    {"using": [CORE], "methodCalls": [["Core/echo", {}]]},
                    {"using": [CORE], "methodCalls": [["Core/echo", [], "a"]]},
                    {"using": [CORE], "methodCalls": [], "createdIds": []}):
            r, res = self.api(bad)
            self.assertProblem(r, res, "notRequest")
        r, res = self.api({"using": [CORE, "https://example.com/apis/foobar"],
                           "methodCalls": []})
        self.assertProblem(r, res, "unknownCapability")
        self.assertIn("https://example.com/apis/foobar", res["detail"])
        limit = self.session()["capabilities"][CORE]["maxCallsInRequest"]
        r, res = self.api({"using": [CORE], "methodCalls":
                           [["Core/echo", {}, str(i)] for i in range(limit + 1)]})
        self.assertProblem(r, res, "limit")
        self.assertEqual(res["limit"], "maxCallsInRequest")
        r, res = self.api({"using": [CORE], "methodCalls":
                           [["Core/echo", {}, str(i)] for i in range(limit)]})
        self.assertEqual(r.status, 200)
        self.assertEqual(len(res["methodResponses"]), limit)

    def test_request_too_large(self):
        big = self.session()["capabilities"][CORE]["maxSizeRequest"] + 1
        c = self.conn()
        c.putrequest("POST", "/jmap/api/")
        c.putheader("Authorization", basic())
        c.putheader("Content-Type", "application/json")
        c.putheader("Content-Length", str(big))
        c.endheaders()
        r = c.getresponse()
        self.assertEqual(r.status, 413)
        c.close()

    def test_methods_and_paths(self):
        r, _ = self.request("GET", "/jmap/api/")
        self.assertEqual(r.status, 405)
        self.assertIn("POST", r.getheader("Allow"))
        r, _ = self.request("POST", "/jmap/session", b"{}")
        self.assertEqual(r.status, 405)
        r, _ = self.request("GET", "/nothing/here")
        self.assertEqual(r.status, 404)
        r, data = self.request("HEAD", "/jmap/session")
        self.assertEqual(r.status, 200)
        self.assertEqual(data, b"")
        self.assertGreater(int(r.getheader("Content-Length")), 0)

    # --- RFC 9112 ---

    def raw(self, data, port=None, read_until_close=True):
        s = socket.create_connection(("127.0.0.1", port or self.srv.ports["http"]),
                                     timeout=30)
        s.sendall(data)
        out = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
        s.close()
        return out

    def test_pipelined_requests_answer_in_order(self):
        auth = basic().encode()
        body = [json.dumps({"using": [CORE], "methodCalls": [
            ["Core/echo", {"n": i}, "c"]]}).encode() for i in range(3)]
        req = b"".join(b"POST /jmap/api/ HTTP/1.1\r\nHost: localhost\r\n"
                       b"Authorization: " + auth + b"\r\n"
                       b"Content-Type: application/json\r\n"
                       b"Content-Length: %d\r\n\r\n" % len(b) + b
                       for b in body)
        req += (b"GET /jmap/session HTTP/1.1\r\nHost: localhost\r\n"
                b"Authorization: " + auth + b"\r\nConnection: close\r\n\r\n")
        out = self.raw(req)
        self.assertEqual(out.count(b"HTTP/1.1 200 "), 4, out[:400])
        for i in range(3):
            self.assertIn(b'"n":%d' % i, out)
        self.assertLess(out.index(b'"n":0'), out.index(b'"n":1'))
        self.assertLess(out.index(b'"n":1'), out.index(b'"n":2'))
        self.assertLess(out.index(b'"n":2'), out.index(b'"username"'))

    def test_chunked_request_body(self):
        body = json.dumps({"using": [CORE], "methodCalls": [
            ["Core/echo", {"chunked": "yes"}, "c"]]}).encode()
        chunks = b"".join(b"%x;ext=1\r\n" % len(body[i:i + 7]) + body[i:i + 7] + b"\r\n"
                          for i in range(0, len(body), 7))
        out = self.raw(b"POST /jmap/api HTTP/1.1\r\nHost: x\r\nAuthorization: "
                       + basic().encode() + b"\r\nContent-Type: application/json"
                       b"\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                       + chunks + b"0\r\nX-Trailer: t\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 200 "), out[:200])
        self.assertIn(b'"chunked":"yes"', out)

    @unittest.skipUnless(CURL, "curl not installed")
    def test_expect_100_continue_with_curl(self):
        body = json.dumps({"using": [CORE], "methodCalls": [
            ["Core/echo", {"pad": "x" * 2000}, "c"]]})
        r = subprocess.run(
            [CURL, "-sS", "-v", "-u", "%s:%s" % (USER, PASSWORD),
             "-H", "Content-Type: application/json", "-H", "Expect: 100-continue",
             "--data-binary", body,
             "http://127.0.0.1:%d/jmap/api/" % self.srv.ports["http"]],
            capture_output=True, timeout=30, check=True)
        self.assertIn(b"HTTP/1.1 100 Continue", r.stderr)
        self.assertEqual(json.loads(r.stdout)["methodResponses"][0][1]["pad"],
                         "x" * 2000)

    def test_bad_requests(self):
        self.assertTrue(self.raw(b"GET /jmap/session HTTP/1.1\r\n\r\n")
                        .startswith(b"HTTP/1.1 400 "))          # no Host
        self.assertTrue(self.raw(b"GET /jmap/session HTTP/2.0\r\nHost: x\r\n\r\n")
                        .startswith(b"HTTP/1.1 505 "))
        self.assertTrue(self.raw(b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400 "))
        self.assertTrue(self.raw(b"POST /jmap/api HTTP/1.1\r\nHost: x\r\n"
                                 b"Content-Length: 5\r\nTransfer-Encoding: chunked"
                                 b"\r\n\r\n0\r\n\r\n").startswith(b"HTTP/1.1 400 "))
        self.assertTrue(self.raw(b"GET /jmap/session HTTP/1.1\r\nHost: x\r\n"
                                 b"X-Folded: a\r\n b\r\n\r\n")
                        .startswith(b"HTTP/1.1 400 "))
        # The server is still there and answers the next client.
        r, _ = self.request("GET", "/jmap/session")
        self.assertEqual(r.status, 200)

    def test_gzip_when_asked(self):
        body = json.dumps({"using": [CORE], "methodCalls": [
            ["Core/echo", {"pad": "abc" * 2000}, "c"]]}).encode()
        for enc, zipped in (("gzip", True), ("br, gzip;q=0.5", True),
                            ("gzip;q=0", False), ("*", True),
                            ("*, gzip;q=0", False), ("identity", False),
                            (None, False)):
            h = {"Content-Type": "application/json"}
            if enc is not None:
                h["Accept-Encoding"] = enc
            r, data = self.request("POST", "/jmap/api/", body, h)
            self.assertEqual(r.status, 200)
            self.assertIn("Accept-Encoding", r.getheader("Vary"))
            if zipped:
                self.assertEqual(r.getheader("Content-Encoding"), "gzip", enc)
                self.assertLess(len(data), 1000)
                data = gzip.decompress(data)
            else:
                self.assertIsNone(r.getheader("Content-Encoding"), enc)
            self.assertEqual(json.loads(data)["methodResponses"][0][1]["pad"],
                             "abc" * 2000)

    @unittest.skipUnless(CURL, "curl not installed")
    def test_curl_compressed(self):
        body = json.dumps({"using": [CORE], "methodCalls": [
            ["Core/echo", {"list": list(range(500))}, "c"]]})
        out = subprocess.run(
            [CURL, "-sS", "--compressed", "-D", "-", "-u",
             "%s:%s" % (USER, PASSWORD), "-H", "Content-Type: application/json",
             "--data-binary", body,
             "http://127.0.0.1:%d/jmap/api/" % self.srv.ports["http"]],
            capture_output=True, timeout=30, check=True).stdout
        head, body = out.split(b"\r\n\r\n", 1)
        self.assertIn(b"content-encoding: gzip", head.lower())
        self.assertEqual(json.loads(body)["methodResponses"][0][1]["list"],
                         list(range(500)))

    def test_cors(self):
        # A preflight from a listed origin: what the page may send.
        r, data = self.request("OPTIONS", "/jmap/api/", auth=False, headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})
        self.assertEqual(r.status, 204)
        self.assertEqual(data, b"")
        self.assertIsNone(r.getheader("Content-Length"))
        self.assertEqual(r.getheader("Access-Control-Allow-Origin"),
                         "https://app.example.com")
        self.assertIn("POST", r.getheader("Access-Control-Allow-Methods"))
        allowed = r.getheader("Access-Control-Allow-Headers").lower()
        self.assertIn("authorization", allowed)
        self.assertIn("content-type", allowed)
        self.assertIn("Origin", r.getheader("Vary"))
        # From an origin not listed: no permission.
        r, _ = self.request("OPTIONS", "/jmap/api/", auth=False, headers={
            "Origin": "https://evil.example.net",
            "Access-Control-Request-Method": "POST"})
        self.assertIsNone(r.getheader("Access-Control-Allow-Origin"))
        # The request itself, and its 401, carry the permission.
        for auth in (True, False):
            r, _ = self.request("GET", "/jmap/session", auth=auth,
                                headers={"Origin": "http://localhost:8000"})
            self.assertEqual(r.status, 200 if auth else 401)
            self.assertEqual(r.getheader("Access-Control-Allow-Origin"),
                             "http://localhost:8000")
        r, _ = self.request("GET", "/jmap/session",
                            headers={"Origin": "http://localhost:8001"})
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.getheader("Access-Control-Allow-Origin"))

    def test_other_credentials_on_same_connection(self):
        self.srv.add_account("other@example.org", "other password")
        c = self.conn()
        c.request("GET", "/jmap/session", headers={"Authorization": basic()})
        r = c.getresponse()
        self.assertEqual(json.loads(r.read())["username"], USER)
        c.request("GET", "/jmap/session", headers={
            "Authorization": basic("other@example.org", "other password")})
        r = c.getresponse()
        self.assertEqual(json.loads(r.read())["username"], "other@example.org")
        c.request("GET", "/jmap/session", headers={
            "Authorization": basic(password="wrong")})
        r = c.getresponse()
        r.read()
        self.assertEqual(r.status, 401)
        c.close()


class JmapTlsOnlyTest(unittest.TestCase):
    """cleartext-auth no: Basic only over TLS (the default); and a short
    idle timeout, which also bounds how long a request's head may take."""

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(None, imap_workers=1, http_workers=1,
                         http_cleartext="no",
                         http_opts="\tidle-timeout 10s\n")
        try:
            cls.srv.start()
            cls.srv.add_account(USER, PASSWORD)
        except Exception:
            cls.srv.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def test_no_cors_by_default(self):
        ctx = ssl.create_default_context(cafile=self.srv.cert)
        c = http.client.HTTPSConnection("localhost", self.srv.ports["https"],
                                        timeout=30, context=ctx)
        c.request("GET", "/jmap/session", headers={
            "Authorization": basic(), "Origin": "https://app.example.com"})
        r = c.getresponse()
        r.read()
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.getheader("Access-Control-Allow-Origin"))

    def test_cleartext_refused_tls_accepted(self):
        c = http.client.HTTPConnection("127.0.0.1", self.srv.ports["http"],
                                       timeout=30)
        c.request("GET", "/jmap/session", headers={"Authorization": basic()})
        r = c.getresponse()
        r.read()
        self.assertEqual(r.status, 403)
        ctx = ssl.create_default_context(cafile=self.srv.cert)
        c = http.client.HTTPSConnection("localhost", self.srv.ports["https"],
                                        timeout=30, context=ctx)
        c.request("GET", "/jmap/session", headers={"Authorization": basic()})
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(json.loads(r.read())["username"], USER)

    def test_trickled_request_gets_408(self):
        s = socket.create_connection(("127.0.0.1", self.srv.ports["http"]),
                                     timeout=30)
        start = time.monotonic()
        s.sendall(b"GET /jmap/session HTTP/1.1\r\n")
        out = b""
        # One byte every 2 s keeps the idle timer from firing; the
        # request's own deadline (10 s here) ends it.
        for c in b"Host: localhost\r\nX-Slow: " + b"a" * 20:
            try:
                s.sendall(bytes([c]))
            except OSError:
                break
            s.settimeout(2)
            try:
                d = s.recv(4096)
                if d:
                    out += d
                    break
            except socket.timeout:
                pass
        s.settimeout(30)
        while True:
            try:
                d = s.recv(4096)
            except OSError:
                break
            if not d:
                break
            out += d
        s.close()
        self.assertTrue(out.startswith(b"HTTP/1.1 408 "), out[:100])
        self.assertIn(b"Connection: close", out)
        self.assertLess(time.monotonic() - start, 25)


if __name__ == "__main__":
    unittest.main()

# SPDX-License-Identifier: ISC
"""JMAP PushSubscription (RFC 8620 7.2): jmapd's /get and /set, storaged's
queue and lmtpd's HTTPS client, against a push service run by the test
(http.server over TLS, with a CA and a server certificate for 127.0.0.1
made here with openssl; push { ca allow-local yes } trusts it).

A new subscription gets its PushVerification and nothing else until the
client sets the code; a wrong code is invalidProperties; then Email/set
and an LMTP delivery each push a StateChange whose states are what
Email/get says; types filter; expires is capped, an expired subscription
gets nothing; a destroyed one gets nothing more; keys make the body
aes128gcm (RFC 8291), decrypted here with python3-cryptography; 410 from
the push service destroys the subscription (RFC 8030 8.3); http:// is
refused, url and keys are never shown, 17 are too many; a server
without allow-local does not connect to 127.0.0.1; and a URL's host name
is resolved with the name server of push { nameserver } (a DNS responder
run here over UDP).
"""
import base64
import datetime
import http.client
import http.server
import json
import os
import queue
import smtplib
import socket
import ssl
import struct
import subprocess
import threading
import time
import unittest

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives import serialization

from bulwark import Server

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
SUB = "urn:ietf:params:jmap:submission"
PASSWORD = "push subscription test password"


def make_ca(d):
    """A CA and a certificate for 127.0.0.1 and push.test it signed:
    (ca, cert, key)."""
    ca, cakey = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
    cert, key = os.path.join(d, "push.pem"), os.path.join(d, "push.key")
    csr, ext = os.path.join(d, "push.csr"), os.path.join(d, "ext.cnf")
    run = lambda *a: subprocess.run(a, check=True, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
        "-keyout", cakey, "-out", ca, "-days", "2", "-subj", "/CN=push test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
        "-out", csr, "-subj", "/CN=push.test")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:push.test\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cakey,
        "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext)
    os.chmod(d, 0o755)
    for p in (ca, cert):
        os.chmod(p, 0o644)
    return ca, cert, key


class Receiver:
    """An HTTPS push service: records each POST by path; /gone... says 410."""

    def __init__(self, cert, key):
        self.q = {}
        self.lock = threading.Lock()
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                rec.box(self.path).put((dict(self.headers.items()), body))
                code = 410 if self.path.startswith("/gone") else 201
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket,
                                            server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def box(self, path):
        with self.lock:
            return self.q.setdefault(path, queue.Queue())

    def url(self, path):
        return "https://127.0.0.1:%d%s" % (self.port, path)

    def get(self, path, timeout=20):
        return self.box(path).get(timeout=timeout)

    def none(self, path, wait=3):
        try:
            got = self.box(path).get(timeout=wait)
        except queue.Empty:
            return
        raise AssertionError("unexpected push to %s: %r" % (path, got))

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def decrypt(priv, auth, body):
    """RFC 8291 3.4 and RFC 8188 2 on the receiving side."""
    salt, rs, idlen = body[:16], int.from_bytes(body[16:20], "big"), body[20]
    as_pub = body[21:21 + idlen]
    ct = body[21 + idlen:]
    ua_pub = priv.public_key().public_bytes(
        serialization.Encoding.X962,
        serialization.PublicFormat.UncompressedPoint)
    peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(),
                                                        as_pub)
    ecdh = priv.exchange(ec.ECDH(), peer)

    def mac(key, data):
        h = hmac.HMAC(key, hashes.SHA256())
        h.update(data)
        return h.finalize()
    prk_key = mac(auth, ecdh)
    ikm = mac(prk_key, b"WebPush: info\x00" + ua_pub + as_pub + b"\x01")
    prk = mac(salt, ikm)
    cek = mac(prk, b"Content-Encoding: aes128gcm\x00\x01")[:16]
    nonce = mac(prk, b"Content-Encoding: nonce\x00\x01")[:12]
    plain = AESGCM(cek).decrypt(nonce, ct, None)
    assert rs == 4096 and plain.endswith(b"\x02"), (rs, plain[-4:])
    return plain[:-1]


def utc(t):
    return datetime.datetime.fromtimestamp(
        t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


class PushSubscriptionTest(unittest.TestCase):
    n = 0

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(None, imap_workers=1, http_workers=1, lmtp_workers=1)
        try:
            os.mkdir(os.path.join(cls.srv.dir, "pki"))
            cls.ca, cert, key = make_ca(os.path.join(cls.srv.dir, "pki"))
            cls.rx = Receiver(cert, key)
            cls.srv.write_conf(extra="push {\n\tca \"%s\"\n\tallow-local yes"
                               "\n\ttimeout 5\n}\n" % cls.ca)
            cls.srv.start()
            for u in ("flow", "types", "keys", "gone", "misc", "exp",
                      "revoke"):
                cls.srv.add_account("%s@example.org" % u, PASSWORD)
        except Exception:
            cls.srv.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.rx.close()
        cls.srv.cleanup()

    # --- JMAP ---
    def api(self, user, calls, port=None):
        auth = "Basic " + base64.b64encode(
            ("%s@example.org:%s" % (user, PASSWORD)).encode()).decode()
        c = http.client.HTTPConnection(
            "127.0.0.1", port or self.srv.ports["http"], timeout=30)
        c.request("POST", "/jmap/api/", json.dumps({
            "using": [CORE, MAIL, SUB], "methodCalls": calls}).encode(),
            {"Authorization": auth, "Content-Type": "application/json"})
        r = c.getresponse()
        body = r.read()
        self.assertEqual(r.status, 200, body)
        return json.loads(body)["methodResponses"]

    def ok(self, user, name, args, port=None):
        (rname, res, _), = self.api(user, [[name, args, "c"]], port)
        self.assertEqual(rname, name, res)
        return res

    def account(self, user):
        c = http.client.HTTPConnection("127.0.0.1", self.srv.ports["http"],
                                       timeout=30)
        auth = "Basic " + base64.b64encode(
            ("%s@example.org:%s" % (user, PASSWORD)).encode()).decode()
        c.request("GET", "/jmap/session", headers={"Authorization": auth})
        return json.loads(c.getresponse().read())["primaryAccounts"][MAIL]

    def create(self, user, path, port=None, **props):
        obj = {"deviceClientId": "dev-" + path, "url": self.rx.url(path)}
        obj.update(props)
        res = self.ok(user, "PushSubscription/set", {"create": {"s": obj}},
                      port)
        self.assertIn("s", res["created"] or {}, res)
        return res["created"]["s"]

    def verify(self, user, path, sid):
        headers, body = self.rx.get(path)
        v = json.loads(body)
        self.assertEqual(v["@type"], "PushVerification")
        self.assertEqual(v["pushSubscriptionId"], sid)
        res = self.ok(user, "PushSubscription/set", {"update": {
            sid: {"verificationCode": v["verificationCode"]}}})
        self.assertIn(sid, res["updated"], res)
        return v["verificationCode"]

    def inbox_email(self, user):
        self.deliver(user)
        acct = self.account(user)
        q = self.ok(user, "Email/query", {"accountId": acct})
        return acct, q["ids"][0]

    def deliver(self, user):
        PushSubscriptionTest.n += 1
        lmtp = smtplib.LMTP(self.srv.lmtp_socket, timeout=30)
        lmtp.sendmail("a@example.net", ["%s@example.org" % user], (
            "From: a@example.net\r\nSubject: push %d\r\nMessage-ID: "
            "<pushsub-%d@example.net>\r\n\r\nhello\r\n") % (self.n, self.n))
        lmtp.quit()

    def flag(self, user, acct, eid, kw):
        res = self.ok(user, "Email/set", {"accountId": acct, "update": {
            eid: {"keywords/" + kw: True}}})
        self.assertIn(eid, res["updated"], res)

    def email_state(self, user, acct):
        return self.ok(user, "Email/get", {"accountId": acct,
                                           "ids": []})["state"]

    def state_change(self, path, acct):
        headers, body = self.rx.get(path)
        self.assertEqual(headers.get("Content-Type", "").split(";")[0],
                         "application/json")
        self.assertIn("TTL", headers)
        sc = json.loads(body)
        self.assertEqual(sc["@type"], "StateChange", sc)
        return sc["changed"][acct]

    # --- Tests ---
    def test_verify_then_push(self):
        """Verification first; wrong code refused; then Email and delivery."""
        acct, eid = self.inbox_email("flow")
        before = time.time()
        created = self.create("flow", "/flow")
        sid = created["id"]
        exp = parse_utc(created["expires"])
        self.assertTrue(before + 7 * 86400 - 5 <= exp <= time.time() +
                        7 * 86400 + 5, created)
        headers, body = self.rx.get("/flow")
        v = json.loads(body)
        self.assertEqual(v, {"@type": "PushVerification",
                             "pushSubscriptionId": sid,
                             "verificationCode": v["verificationCode"]})
        self.assertGreaterEqual(len(v["verificationCode"]), 32)
        # Not verified: changes push nothing.
        self.flag("flow", acct, eid, "$before")
        self.rx.none("/flow")
        got = self.ok("flow", "PushSubscription/get", {"ids": None})
        self.assertEqual(got["list"], [{
            "id": sid, "deviceClientId": "dev-/flow",
            "verificationCode": None, "expires": created["expires"],
            "types": None}])
        self.assertNotIn("accountId", got)
        self.assertNotIn("state", got)
        res = self.ok("flow", "PushSubscription/set", {"update": {
            sid: {"verificationCode": "0" * 32}}})
        self.assertEqual(res["notUpdated"][sid]["type"], "invalidProperties")
        self.assertEqual(res["notUpdated"][sid]["properties"],
                         ["verificationCode"])
        res = self.ok("flow", "PushSubscription/set", {"update": {
            sid: {"verificationCode": v["verificationCode"]}}})
        self.assertEqual(res["updated"], {sid: None})
        got = self.ok("flow", "PushSubscription/get", {"ids": [sid]})
        self.assertEqual(got["list"][0]["verificationCode"],
                         v["verificationCode"])
        # An Email change.
        self.flag("flow", acct, eid, "$after")
        changed = self.state_change("/flow", acct)
        self.assertEqual(changed["Email"], self.email_state("flow", acct))
        self.assertNotIn("EmailDelivery", changed)
        # A delivery.
        self.deliver("flow")
        changed = self.state_change("/flow", acct)
        st = self.email_state("flow", acct)
        self.assertEqual(changed["Email"], st)
        self.assertIn("EmailDelivery", changed)
        self.assertIn("Thread", changed)
        self.assertIn("Mailbox", changed)
        # Destroyed: nothing more.
        res = self.ok("flow", "PushSubscription/set", {"destroy": [sid]})
        self.assertEqual(res["destroyed"], [sid])
        self.flag("flow", acct, eid, "$gone")
        self.rx.none("/flow")
        res = self.ok("flow", "PushSubscription/set", {"destroy": [sid]})
        self.assertEqual(res["notDestroyed"][sid]["type"], "notFound")

    def test_types(self):
        """types: only Identity changes push; then null pushes Email."""
        acct, eid = self.inbox_email("types")
        sid = self.create("types", "/types", types=["Identity", "Todo"])["id"]
        self.verify("types", "/types", sid)
        got = self.ok("types", "PushSubscription/get", {
            "ids": [sid], "properties": ["types"]})
        self.assertEqual(got["list"], [{"id": sid, "types": ["Identity"]}])
        self.flag("types", acct, eid, "$one")
        self.rx.none("/types")
        res = self.ok("types", "Identity/set", {"accountId": acct, "create": {
            "i": {"email": "types@example.org", "name": "T"}}})
        self.assertIn("i", res["created"], res)
        changed = self.state_change("/types", acct)
        self.assertEqual(list(changed), ["Identity"])
        self.assertEqual(changed["Identity"], self.ok(
            "types", "Identity/get", {"accountId": acct, "ids": []})["state"])
        res = self.ok("types", "PushSubscription/set", {"update": {
            sid: {"types": None}}})
        self.assertEqual(res["updated"], {sid: None})
        self.flag("types", acct, eid, "$two")
        changed = self.state_change("/types", acct)
        self.assertEqual(changed["Email"], self.email_state("types", acct))

    def test_expires(self):
        """expires is capped at 7 days; an expired subscription gets nothing."""
        far = time.time() + 30 * 86400
        created = self.create("exp", "/exp-far", expires=utc(far))
        self.assertLess(parse_utc(created["expires"]),
                        time.time() + 7 * 86400 + 5)
        sid = created["id"]
        self.verify("exp", "/exp-far", sid)
        soon = int(time.time()) + 3600
        res = self.ok("exp", "PushSubscription/set", {"update": {
            sid: {"expires": utc(soon)}}})
        self.assertEqual(res["updated"], {sid: None})
        res = self.ok("exp", "PushSubscription/set", {"update": {
            sid: {"expires": utc(far)}}})
        self.assertLess(parse_utc(res["updated"][sid]["expires"]),
                        time.time() + 7 * 86400 + 5)
        # In the past: no verification goes out.
        self.create("exp", "/exp-past", expires=utc(time.time() - 60))
        self.rx.none("/exp-past")
        # Expired after verification: no StateChange.
        acct, eid = self.inbox_email("exp")
        self.state_change("/exp-far", acct)
        res = self.ok("exp", "PushSubscription/set", {"update": {
            sid: {"expires": utc(time.time() - 1)}}})
        self.assertIn(sid, res["updated"])
        self.flag("exp", acct, eid, "$late")
        self.rx.none("/exp-far")

    def test_keys(self):
        """keys: every body is aes128gcm and decrypts to the object."""
        priv = ec.generate_private_key(ec.SECP256R1())
        pub = priv.public_key().public_bytes(
            serialization.Encoding.X962,
            serialization.PublicFormat.UncompressedPoint)
        auth = os.urandom(16)
        acct, eid = self.inbox_email("keys")
        sid = self.create("keys", "/keys", keys={
            "p256dh": b64u(pub), "auth": b64u(auth)})["id"]
        headers, body = self.rx.get("/keys")
        self.assertEqual(headers.get("Content-Encoding"), "aes128gcm")
        v = json.loads(decrypt(priv, auth, body))
        self.assertEqual(v["@type"], "PushVerification")
        self.assertEqual(v["pushSubscriptionId"], sid)
        res = self.ok("keys", "PushSubscription/set", {"update": {
            sid: {"verificationCode": v["verificationCode"]}}})
        self.assertEqual(res["updated"], {sid: None})
        self.flag("keys", acct, eid, "$enc")
        headers, body = self.rx.get("/keys")
        self.assertEqual(headers.get("Content-Encoding"), "aes128gcm")
        sc = json.loads(decrypt(priv, auth, body))
        self.assertEqual(sc["changed"][acct]["Email"],
                         self.email_state("keys", acct))
        # Not an uncompressed point: refused.
        res = self.ok("keys", "PushSubscription/set", {"create": {"k": {
            "deviceClientId": "x", "url": self.rx.url("/nokeys"),
            "keys": {"p256dh": b64u(bytes([2]) + pub[1:]),
                     "auth": b64u(auth)}}}})
        self.assertEqual(res["notCreated"]["k"]["properties"], ["keys"])

    def test_gone(self):
        """410 from the push service destroys the subscription."""
        sid = self.create("gone", "/gone")["id"]
        self.rx.get("/gone")
        for _ in range(100):
            got = self.ok("gone", "PushSubscription/get", {"ids": [sid]})
            if got["notFound"] == [sid]:
                break
            time.sleep(0.1)
        self.assertEqual(got["notFound"], [sid])
        self.assertEqual(got["list"], [])

    def test_revoked_with_the_password(self):
        """7.2: new credentials, and the old ones' subscriptions go."""
        sid = self.create("revoke", "/revoke")["id"]
        self.rx.get("/revoke")
        got = self.ok("revoke", "PushSubscription/get", {"ids": None})
        self.assertEqual([s["id"] for s in got["list"]], [sid])
        r = self.srv.ctl("account", "passwd", "revoke@example.org",
                         password=PASSWORD)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.srv.wait_log(r"storaged\[\d+\]: account password changed "
                          r"name=revoke@example\.org id=\d+ "
                          r"push_subscriptions=1")
        got = self.ok("revoke", "PushSubscription/get", {"ids": None})
        self.assertEqual(got["list"], [])

    def test_refusals(self):
        """http:// and bad properties refused; url and keys never shown."""
        res = self.ok("misc", "PushSubscription/set", {"create": {
            "h": {"deviceClientId": "d", "url": "http://127.0.0.1/x"},
            "u": {"deviceClientId": "d", "url": "https://me@127.0.0.1/x"},
            "c": {"deviceClientId": "d", "url": self.rx.url("/c"),
                  "verificationCode": "abc"},
            "n": {"url": self.rx.url("/n")},
            "i": {"deviceClientId": "d", "url": self.rx.url("/i"),
                  "id": "P1"}}})
        self.assertEqual(res["created"], None)
        self.assertEqual(res["notCreated"]["h"]["properties"], ["url"])
        self.assertEqual(res["notCreated"]["u"]["properties"], ["url"])
        self.assertEqual(res["notCreated"]["c"]["properties"],
                         ["verificationCode"])
        self.assertEqual(res["notCreated"]["n"]["properties"],
                         ["deviceClientId"])
        self.assertEqual(res["notCreated"]["i"]["properties"], ["id"])
        (name, err, _), = self.api("misc", [["PushSubscription/get", {
            "ids": None, "properties": ["url"]}, "g"]])
        self.assertEqual((name, err["type"]), ("error", "forbidden"))
        (name, err, _), = self.api("misc", [["PushSubscription/get", {
            "ids": None, "properties": ["keys"]}, "g"]])
        self.assertEqual((name, err["type"]), ("error", "forbidden"))
        # PUSHSUB_MAX of 16, then overQuota.
        create = {"k%d" % i: {"deviceClientId": "d%d" % i,
                              "url": self.rx.url("/many")}
                  for i in range(17)}
        res = self.ok("misc", "PushSubscription/set", {"create": create})
        self.assertEqual(len(res["created"]), 16, res)
        self.assertEqual([e["type"] for e in res["notCreated"].values()],
                         ["overQuota"])
        got = self.ok("misc", "PushSubscription/get", {"ids": None})
        self.assertEqual(len(got["list"]), 16)
        for o in got["list"]:
            self.assertNotIn("url", o)
            self.assertNotIn("keys", o)
        ids = [o["id"] for o in got["list"]]
        res = self.ok("misc", "PushSubscription/set", {"destroy": ids})
        self.assertEqual(sorted(res["destroyed"]), sorted(ids))
        # Immutable properties.
        sid = self.create("misc", "/imm")["id"]
        res = self.ok("misc", "PushSubscription/set", {"update": {
            sid: {"url": self.rx.url("/other")}}})
        self.assertEqual(res["notUpdated"][sid]["properties"], ["url"])


class PushLocalRefusedTest(unittest.TestCase):
    """Without allow-local, a push to 127.0.0.1 is never connected."""

    def test_loopback_refused(self):
        srv = Server(self, imap_workers=1, http_workers=1, lmtp_workers=1)
        self.addCleanup(srv.cleanup)
        os.mkdir(os.path.join(srv.dir, "pki"))
        ca, cert, key = make_ca(os.path.join(srv.dir, "pki"))
        rx = Receiver(cert, key)
        self.addCleanup(rx.close)
        srv.write_conf(extra="push {\n\tca \"%s\"\n}\n" % ca)
        srv.start()
        srv.add_account("local@example.org", PASSWORD)
        auth = "Basic " + base64.b64encode(
            ("local@example.org:%s" % PASSWORD).encode()).decode()
        c = http.client.HTTPConnection("127.0.0.1", srv.ports["http"],
                                       timeout=30)
        c.request("POST", "/jmap/api/", json.dumps({
            "using": [CORE], "methodCalls": [["PushSubscription/set", {
                "create": {"s": {"deviceClientId": "d",
                                 "url": rx.url("/local")}}}, "c"]]}).encode(),
            {"Authorization": auth, "Content-Type": "application/json"})
        res = json.loads(c.getresponse().read())["methodResponses"][0][1]
        self.assertIn("s", res["created"], res)
        srv.wait_log(r"push failed .*address refused", timeout=20)
        rx.none("/local", wait=1)


class DnsResponder:
    """A UDP name server on loopback that answers A queries for push.test
    with 127.0.0.1, every other question with no answer, and keeps the
    names asked."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.asked = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                q, peer = self.sock.recvfrom(512)
            except OSError:
                return
            qid = q[:2]
            i, labels = 12, []
            while i < len(q) and q[i] != 0:
                labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
                i += 1 + q[i]
            qtype, = struct.unpack("!H", q[i + 1:i + 3])
            question = q[12:i + 5]
            name = ".".join(labels).lower()
            self.asked.append((name, qtype))
            answer = b""
            if name == "push.test" and qtype == 1:
                answer = (b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4)
                          + socket.inet_aton("127.0.0.1"))
            rcode = 0 if name == "push.test" else 3
            head = qid + struct.pack("!HHHHH", 0x8180 | rcode, 1,
                                     1 if answer else 0, 0, 0)
            self.sock.sendto(head + question + answer, peer)

    def close(self):
        self.sock.close()


class PushNameserverTest(unittest.TestCase):
    """push { nameserver }: a URL's host name resolved there, then the
    name checked in the certificate (RFC 6125 6)."""

    def test_resolved_by_name(self):
        srv = Server(self, imap_workers=1, http_workers=1, lmtp_workers=1)
        self.addCleanup(srv.cleanup)
        os.mkdir(os.path.join(srv.dir, "pki"))
        ca, cert, key = make_ca(os.path.join(srv.dir, "pki"))
        rx = Receiver(cert, key)
        self.addCleanup(rx.close)
        dns = DnsResponder()
        self.addCleanup(dns.close)
        srv.write_conf(extra="push {\n\tca \"%s\"\n\tallow-local yes\n"
                       "\tnameserver \"127.0.0.1:%d\"\n}\n" % (ca, dns.port))
        srv.start()
        srv.add_account("dns@example.org", PASSWORD)
        auth = "Basic " + base64.b64encode(
            ("dns@example.org:%s" % PASSWORD).encode()).decode()
        c = http.client.HTTPConnection("127.0.0.1", srv.ports["http"],
                                       timeout=30)
        c.request("POST", "/jmap/api/", json.dumps({
            "using": [CORE], "methodCalls": [["PushSubscription/set", {
                "create": {"s": {"deviceClientId": "d", "url":
                                 "https://push.test:%d/dns" % rx.port}}},
                "c"]]}).encode(),
            {"Authorization": auth, "Content-Type": "application/json"})
        res = json.loads(c.getresponse().read())["methodResponses"][0][1]
        c.close()
        self.assertIn("s", res["created"], res)
        headers, body = rx.get("/dns")
        self.assertEqual(json.loads(body)["@type"], "PushVerification")
        self.assertIn(("push.test", 1), dns.asked)


if __name__ == "__main__":
    unittest.main()

# SPDX-License-Identifier: ISC
"""lmtpd's outbound relay of JMAP submissions (relay { } of bulwark.conf(5)).

The smarthost is a Python SMTP server (aiosmtpd, Debian's python3-aiosmtpd)
on loopback, with or without STARTTLS on the fixture's test certificate.
 - the master resolves the relay's host name and sends the address to
   lmtpd, which logs it; a name that does not resolve leaves the relay off
   with a warning; no relay { } host, no relay;
 - end to end (once jmapd answers EmailSubmission and storaged has the
   RELAY_* handlers: skipped until the session advertises
   urn:ietf:params:jmap:submission): EmailSubmission/set sends through
   the smarthost with the envelope asked for, the message byte for byte
   (dot-stuffing undone by the server), STARTTLS as configured, and each
   recipient's reply and deliveryStatus (RFC 8621 7) from its SMTP reply:
   yes after 250, no after 5xx, queued after 4xx; `tls require` does not
   send to a server whose certificate the system does not trust;
 - DKIM (dkim DOMAIN { } sections, keys made with `bulwarkctl dkim
   keygen`): what the smarthost gets From a domain with a key verifies
   with dkimpy (Debian's python3-dkim) against the record `bulwarkctl dkim
   record` prints, Bcc taken out after signing included; From another
   domain it goes unsigned; the stored email never has the signature; a
   key file that others may read, or that holds no key, stops bulwarkd at
   startup and is refused at reload.
"""
import base64
import http.client
import imaplib
import json
import logging
import os
import re
import signal
import ssl
import time
import unittest

from bulwark import Server, free_port

try:
    from aiosmtpd.controller import Controller
except ImportError:     # contrib/install-deps.sh installs python3-aiosmtpd
    Controller = None
try:
    import dkim
except ImportError:     # contrib/install-deps.sh installs python3-dkim
    dkim = None

# aiosmtpd logs the handshake our relay refuses (tls require) with a trace.
logging.getLogger("mail.log").setLevel(logging.CRITICAL)

USER = "sender@example.org"
PASSWORD = "relay test password"
CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
SUBMISSION = "urn:ietf:params:jmap:submission"


class Recorder:
    """aiosmtpd handler: keeps each transaction; recipients by their name:
    reject5... gets a 550, defer4... a 450, any other a 250."""

    def __init__(self):
        self.received = []

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        if address.startswith("reject5"):
            return "550 5.1.1 No such user here"
        if address.startswith("defer4"):
            return "450 4.2.1 Mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append({
            "mail_from": envelope.mail_from,
            "mail_options": list(envelope.mail_options),
            "rcpt_tos": list(envelope.rcpt_tos),
            "content": envelope.original_content,
            "tls": session.ssl is not None,
            "helo": session.host_name,
            "authenticated": session.authenticated,
        })
        return "250 2.0.0 Queued as test"


def smarthost(srv, starttls, **smtp_kw):
    """A started Controller on a free loopback port, with STARTTLS on the
    fixture's self-signed certificate if starttls; smtp_kw go to
    aiosmtpd's SMTP (authentication, say)."""
    ctx = None
    if starttls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(srv.cert, srv.key)
    handler = Recorder()
    port = free_port()
    kw = dict(smtp_kw)
    if ctx is not None:
        kw["tls_context"] = ctx
    c = Controller(handler, hostname="127.0.0.1", port=port,
                   decode_data=False, **kw)
    c.start()
    c.recorder = handler
    c.port = port
    return c


def relay_section(host, port, tls, helo=None, extra=""):
    s = "relay {\n\thost %s\n\tport %d\n\ttls %s\n" % (host, port, tls)
    if helo is not None:
        s += "\thelo %s\n" % helo
    return s + extra + "}\n"


class RelayConfTest(unittest.TestCase):
    """The relay's configuration as lmtpd gets it from the master."""

    def server(self, extra):
        srv = Server(self, imap_workers=1, lmtp_workers=1)
        srv.write_conf(extra=extra)
        self.addCleanup(srv.cleanup)
        srv.start()
        return srv

    def test_master_resolves_host(self):
        port = free_port()
        srv = self.server(relay_section("localhost", port, "none",
                                        helo="out.example.org"))
        m = srv.wait_log(r"lmtpd\[(\d+)\]: relay on host=localhost "
                         r"address=(\S+) port=(\d+) tls=none "
                         r"helo=out\.example\.org")
        self.assertIn(m.group(2), ("127.0.0.1", "::1"))
        self.assertEqual(int(m.group(3)), port)

    def test_literal_and_defaults(self):
        srv = self.server("relay {\n\thost 127.0.0.1\n}\n")
        srv.wait_log(r"lmtpd\[\d+\]: relay on host=127\.0\.0\.1 "
                     r"address=127\.0\.0\.1 port=25 tls=require "
                     r"helo=test\.example\.org")

    def test_unresolvable_host_leaves_relay_off(self):
        srv = self.server(relay_section("relay.invalid", 25, "require"))
        srv.wait_log(r"bulwarkd\[\d+\]: relay host=relay\.invalid cannot "
                     r"be resolved")
        time.sleep(0.5)
        self.assertNotRegex(srv.log(), r"lmtpd\[\d+\]: relay on")

    def test_no_relay_section(self):
        srv = self.server("")
        time.sleep(0.5)
        self.assertNotRegex(srv.log(), r"lmtpd\[\d+\]: relay ")


def basic():
    return "Basic " + base64.b64encode(
        ("%s:%s" % (USER, PASSWORD)).encode()).decode()


@unittest.skipUnless(Controller is not None, "python3-aiosmtpd missing")
class RelayEndToEnd(unittest.TestCase):
    """A submission through JMAP reaches the smarthost (subclasses choose
    the relay's tls option and whether the smarthost offers STARTTLS)."""
    TLS = "starttls"
    STARTTLS = True
    DOWN = False        # the smarthost stops before the first submission
    SMTP_KW = {}        # more arguments for aiosmtpd's SMTP

    @classmethod
    def relay_extra(cls):
        """More lines of the relay section, made once the server's
        directory exists."""
        return ""

    @classmethod
    def conf_extra(cls):
        """More configuration, made once the server's directory exists."""
        return ""

    @classmethod
    def setUpClass(cls):
        if cls is RelayEndToEnd:
            raise unittest.SkipTest("base class")
        cls.srv = Server(None, imap_workers=1, lmtp_workers=1,
                         http_workers=1, cleartext="yes")
        cls.smtp = smarthost(cls.srv, cls.STARTTLS, **cls.SMTP_KW)
        if cls.DOWN:
            cls.smtp.stop()
        try:
            cls.srv.write_conf(extra=relay_section(
                "127.0.0.1", cls.smtp.port, cls.TLS, helo="out.example.org",
                extra=cls.relay_extra())
                + cls.conf_extra())
            cls.srv.start()
            cls.srv.add_account(USER, PASSWORD)
            c = cls.conn()
            c.request("GET", "/jmap/session",
                      headers={"Authorization": basic()})
            cls.session = json.loads(c.getresponse().read())
        except Exception:
            cls.tearDownClass()
            raise
        if SUBMISSION not in cls.session.get("capabilities", {}):
            cls.tearDownClass()
            raise unittest.SkipTest("jmapd does not answer EmailSubmission "
                                    "yet (no %s)" % SUBMISSION)
        cls.account = cls.session["primaryAccounts"][MAIL]
        (_, res, _), = cls.calls([["Mailbox/get", {
            "accountId": cls.account, "ids": None,
            "properties": ["role"]}, "m"]])
        cls.drafts = [m["id"] for m in res["list"]
                      if m["role"] == "drafts"][0]
        (_, res, _), = cls.calls([["Identity/get", {
            "accountId": cls.account, "ids": None}, "i"]])
        assert "list" in res, res
        cls.identity = res["list"][0]["id"]

    @classmethod
    def tearDownClass(cls):
        if not cls.DOWN:
            cls.smtp.stop()
        cls.srv.cleanup()

    @classmethod
    def conn(cls):
        return http.client.HTTPConnection("127.0.0.1", cls.srv.ports["http"],
                                          timeout=60)

    @classmethod
    def calls(cls, calls):
        c = cls.conn()
        c.request("POST", "/jmap/api/", json.dumps({
            "using": [CORE, MAIL, SUBMISSION],
            "methodCalls": calls}).encode(),
            {"Authorization": basic(), "Content-Type": "application/json"})
        r = c.getresponse()
        body = r.read()
        assert r.status == 200, body
        return json.loads(body)["methodResponses"]

    def email(self, rcpts, marker):
        """Creates a draft to rcpts whose body has lines that need
        dot-stuffing; returns (id, raw bytes)."""
        (_, res, _), = self.calls([["Email/set", {
            "accountId": self.account, "create": {"k": {
                "mailboxIds": {self.drafts: True},
                "from": [{"email": USER}],
                "to": [{"email": a} for a in rcpts],
                "subject": "relay " + marker,
                "textBody": [{"partId": "1", "type": "text/plain"}],
                "bodyValues": {"1": {"value":
                    "Hello,\n.a line with a dot\n..two\n.\nend\n"}},
            }}}, "e"]])
        self.assertIsNone(res.get("notCreated"), res)
        cr = res["created"]["k"]
        url = (self.session["downloadUrl"]
               .replace("{accountId}", self.account)
               .replace("{blobId}", cr["blobId"])
               .replace("{name}", "m.eml")
               .replace("{type}", "message/rfc822"))
        c = self.conn()
        c.request("GET", url, headers={"Authorization": basic()})
        r = c.getresponse()
        raw = r.read()
        self.assertEqual(r.status, 200)
        return cr["id"], raw

    def submit(self, eid, rcpts, params=None):
        (name, res, _), = self.calls([["EmailSubmission/set", {
            "accountId": self.account, "create": {"s": {
                "identityId": self.identity, "emailId": eid,
                "envelope": {
                    "mailFrom": {"email": USER, "parameters": params},
                    "rcptTo": [{"email": a, "parameters": None}
                               for a in rcpts]}}}}, "s"]])
        self.assertEqual(name, "EmailSubmission/set", res)
        self.assertIsNone(res.get("notCreated"), res)
        return res["created"]["s"]["id"]

    def status(self, sid, until, timeout=30):
        """Polls EmailSubmission/get until until(deliveryStatus) holds."""
        deadline = time.time() + timeout
        while True:
            (_, res, _), = self.calls([["EmailSubmission/get", {
                "accountId": self.account, "ids": [sid]}, "g"]])
            ds = res["list"][0].get("deliveryStatus") or {}
            if until(ds) or time.time() > deadline:
                return res["list"][0]
            time.sleep(0.2)

    def received(self, subject_marker, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for t in self.smtp.recorder.received:
                if (b"relay " + subject_marker.encode()) in t["content"]:
                    return t
            time.sleep(0.1)
        return None


class RelayStartTlsTest(RelayEndToEnd):
    """tls starttls against a server that offers it: encrypted, not
    verified (the certificate is self-signed)."""

    def test_send_with_replies(self):
        ok, bad, later = ("ok@remote.example", "reject5@remote.example",
                          "defer4@remote.example")
        eid, raw = self.email([ok, bad, later], "starttls-1")
        sid = self.submit(eid, [ok, bad, later])
        t = self.received("starttls-1")
        self.assertIsNotNone(t, self.srv.log())
        self.assertEqual(t["mail_from"], USER)
        self.assertEqual(t["rcpt_tos"], [ok])
        self.assertTrue(t["tls"])
        self.assertEqual(t["helo"], "out.example.org")
        # The server undid the dot-stuffing: the message byte for byte.
        self.assertEqual(t["content"], raw)
        sub = self.status(sid, lambda ds: len(ds) == 3 and all(
            d.get("smtpReply") for d in ds.values()))
        ds = sub["deliveryStatus"]
        self.assertEqual(ds[ok]["delivered"], "yes")
        self.assertTrue(ds[ok]["smtpReply"].startswith("250"), ds)
        self.assertEqual(ds[bad]["delivered"], "no")
        self.assertTrue(ds[bad]["smtpReply"].startswith("550 5.1.1"), ds)
        self.assertEqual(ds[later]["delivered"], "queued")
        self.assertTrue(ds[later]["smtpReply"].startswith("450 4.2.1"), ds)
        self.assertEqual(sub["undoStatus"], "final")
        self.srv.wait_log(r"lmtpd\[\d+\]: relay done id=\S+ account=\d+ "
                          r"delivered=1 failed=1 queued=1 retry_at=[1-9]")

    def test_bcc_not_sent(self):
        # RFC 8621 7.5: the Bcc field leaves; its address is in the
        # envelope (made from the email: To, Cc and Bcc).
        to, hidden = "to@remote.example", "hidden@remote.example"
        (_, res, _), = self.calls([["Email/set", {
            "accountId": self.account, "create": {"k": {
                "mailboxIds": {self.drafts: True},
                "from": [{"email": USER}], "to": [{"email": to}],
                "bcc": [{"email": hidden}], "subject": "relay bcc-1",
                "textBody": [{"partId": "1"}],
                "bodyValues": {"1": {"value": "hi"}}}}}, "e"]])
        eid = res["created"]["k"]["id"]
        (name, res, _), = self.calls([["EmailSubmission/set", {
            "accountId": self.account, "create": {"s": {
                "identityId": self.identity, "emailId": eid}}}, "s"]])
        self.assertIsNone(res.get("notCreated"), res)
        t = self.received("bcc-1")
        self.assertIsNotNone(t, self.srv.log())
        self.assertEqual(sorted(t["rcpt_tos"]), sorted([to, hidden]))
        self.assertNotIn(b"\nBcc:", t["content"])
        self.assertNotIn(hidden.encode(), t["content"])
        self.assertIn(b"Subject: relay bcc-1", t["content"])
        # The stored email keeps it.
        (_, res, _), = self.calls([["Email/get", {
            "accountId": self.account, "ids": [eid],
            "properties": ["bcc"]}, "g"]])
        self.assertEqual(res["list"][0]["bcc"], [{"name": None,
                                                   "email": hidden}])

    def test_mail_parameters(self):
        ok = "params@remote.example"
        eid, _ = self.email([ok], "starttls-2")
        self.submit(eid, [ok], params={"BODY": "8BITMIME"})
        t = self.received("starttls-2")
        self.assertIsNotNone(t, self.srv.log())
        self.assertEqual(t["mail_options"], ["BODY=8BITMIME"])


class RelayPlainTest(RelayEndToEnd):
    """tls none: in clear, even to a server that would offer STARTTLS."""
    TLS = "none"
    STARTTLS = True

    def test_send_in_clear(self):
        ok = "plain@remote.example"
        eid, raw = self.email([ok], "plain-1")
        sid = self.submit(eid, [ok])
        t = self.received("plain-1")
        self.assertIsNotNone(t, self.srv.log())
        self.assertFalse(t["tls"])
        self.assertEqual(t["content"], raw)
        sub = self.status(sid, lambda ds: ds.get(ok, {}).get("delivered")
                          == "yes")
        self.assertEqual(sub["deliveryStatus"][ok]["delivered"], "yes")


class RelayRequireUntrustedTest(RelayEndToEnd):
    """tls require: the test certificate is not in the system's store, so
    nothing is sent and the recipient stays queued."""
    TLS = "require"
    STARTTLS = True

    def test_untrusted_certificate(self):
        ok = "secret@remote.example"
        eid, _ = self.email([ok], "require-1")
        sid = self.submit(eid, [ok])
        sub = self.status(sid, lambda ds: ds.get(ok, {}).get("smtpReply"))
        d = sub["deliveryStatus"][ok]
        self.assertEqual(d["delivered"], "queued")
        self.assertRegex(d["smtpReply"], r"^421 4\.7\.5 .*certificate")
        self.assertIsNone(self.received("require-1", timeout=1))
        self.srv.wait_log(r"lmtpd\[\d+\]: relay fail id=\S+ "
                          r"state=handshake")


class RelayRequireWithoutStartTlsTest(RelayEndToEnd):
    """tls require against a server without STARTTLS: nothing is sent."""
    TLS = "require"
    STARTTLS = False

    def test_no_starttls(self):
        ok = "clear@remote.example"
        eid, _ = self.email([ok], "require-2")
        sid = self.submit(eid, [ok])
        sub = self.status(sid, lambda ds: ds.get(ok, {}).get("smtpReply"))
        d = sub["deliveryStatus"][ok]
        self.assertEqual(d["delivered"], "queued")
        self.assertRegex(d["smtpReply"], r"^421 4\.7\.10 .*STARTTLS")
        self.assertIsNone(self.received("require-2", timeout=1))


class RelayRefusedTest(RelayEndToEnd):
    """No smarthost listening: the recipient stays queued, to be tried
    again in 5 minutes (the first step of the backoff)."""
    DOWN = True

    def test_connection_refused(self):
        ok = "later@remote.example"
        eid, _ = self.email([ok], "refused-1")
        before = time.time()
        sid = self.submit(eid, [ok])
        sub = self.status(sid, lambda ds: ds.get(ok, {}).get("smtpReply"))
        d = sub["deliveryStatus"][ok]
        self.assertEqual(d["delivered"], "queued")
        self.assertRegex(d["smtpReply"],
                         r"^421 4\.4\.1 127\.0\.0\.1: Connection refused")
        m = self.srv.wait_log(r"lmtpd\[\d+\]: relay done id=\S+ account=\d+ "
                              r"delivered=0 failed=0 queued=1 "
                              r"retry_at=(\d+) attempt=1")
        self.assertAlmostEqual(int(m.group(1)), before + 300, delta=30)


DKIM_DOMAIN = USER.split("@", 1)[1]
DKIM_SELECTOR = "relay2026"


def dkim_keygen(srv, domain, selector, name):
    """A key made by bulwarkctl in the server's directory: (path, the
    TXT record's value that `bulwarkctl dkim record` prints)."""
    path = os.path.join(srv.dir, name)
    srv.ctl("dkim", "keygen", domain, selector, path)
    line = srv.ctl("dkim", "record", path, domain, selector).stdout
    assert line.startswith("%s._domainkey.%s. IN TXT " % (selector, domain)), line
    return path, "".join(re.findall(r'"([^"]*)"', line))


def dkim_section(domain, selector, path):
    return "dkim %s {\n\tselector %s\n\tkey \"%s\"\n}\n" % (
        domain, selector, path)


@unittest.skipUnless(dkim is not None, "python3-dkim missing")
class RelayDkimTest(RelayEndToEnd):
    """dkim example.org { }: the relay's mail From example.org is signed
    by storaged (RELAY_TAKE), and verifies where it arrives."""
    TLS = "none"
    STARTTLS = False

    @classmethod
    def conf_extra(cls):
        path, cls.record = dkim_keygen(cls.srv, DKIM_DOMAIN, DKIM_SELECTOR,
                                       "dkim.key")
        return dkim_section(DKIM_DOMAIN, DKIM_SELECTOR, path)

    def verify(self, content):
        """dkim.verify with the record published; the names looked up."""
        asked = []

        def dns(name, timeout=5):
            asked.append(name)
            if name == ("%s._domainkey.%s." % (DKIM_SELECTOR,
                                               DKIM_DOMAIN)).encode():
                return self.record.encode()
            return None
        return dkim.verify(content, dnsfunc=dns), asked

    def create(self, sender, rcpts, marker, bcc=()):
        email = {
            "mailboxIds": {self.drafts: True},
            "from": [{"name": "Sender", "email": sender}],
            "to": [{"email": a} for a in rcpts],
            "subject": "relay " + marker,
            "textBody": [{"partId": "1", "type": "text/plain"}],
            "bodyValues": {"1": {"value":
                "Hello,\n.a line with a dot\n  spaced   out  \nend\n"}},
        }
        if bcc:
            email["bcc"] = [{"email": a} for a in bcc]
        (_, res, _), = self.calls([["Email/set", {
            "accountId": self.account, "create": {"k": email}}, "e"]])
        self.assertIsNone(res.get("notCreated"), res)
        return res["created"]["k"]

    def download(self, blob):
        url = (self.session["downloadUrl"]
               .replace("{accountId}", self.account)
               .replace("{blobId}", blob)
               .replace("{name}", "m.eml")
               .replace("{type}", "message/rfc822"))
        c = self.conn()
        c.request("GET", url, headers={"Authorization": basic()})
        r = c.getresponse()
        raw = r.read()
        self.assertEqual(r.status, 200)
        return raw

    def imap_drafts(self):
        """Every message in Drafts, as IMAP serves it."""
        m = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"])
        try:
            m.login(USER, PASSWORD)
            typ, _ = m.select("Drafts", readonly=True)
            self.assertEqual(typ, "OK")
            typ, data = m.fetch("1:*", "(BODY.PEEK[])")
            self.assertEqual(typ, "OK")
            return [d[1] for d in data if isinstance(d, tuple)]
        finally:
            m.logout()

    def test_signed_and_verifies(self):
        ok = "signed@remote.example"
        cr = self.create(USER, [ok], "dkim-1")
        raw = self.download(cr["blobId"])
        self.submit(cr["id"], [ok])
        t = self.received("dkim-1")
        self.assertIsNotNone(t, self.srv.log())
        content = t["content"]
        self.assertTrue(content.startswith(b"DKIM-Signature: v=1; "
                                           b"a=rsa-sha256; "), content[:200])
        # The field, then the message as stored.
        self.assertTrue(content.endswith(raw))
        field = content[:len(content) - len(raw)]
        self.assertIn(b" d=%s;" % DKIM_DOMAIN.encode(), field)
        self.assertIn(b" s=%s;" % DKIM_SELECTOR.encode(), field)
        good, asked = self.verify(content)
        self.assertTrue(good, content)
        self.assertEqual(asked, [("%s._domainkey.%s." % (
            DKIM_SELECTOR, DKIM_DOMAIN)).encode()])
        # A changed message does not verify: the check can fail.
        good, _ = self.verify(content.replace(b"relay dkim-1",
                                              b"relay dkim-X"))
        self.assertFalse(good)
        self.srv.wait_log(r"storaged\[\d+\]: submission taken account=\d+ "
                          r"id=\d+ rcpts=1 size=%d dkim=%s" % (
                              len(content), re.escape(DKIM_DOMAIN)))
        # The stored email is as it was: no signature in JMAP's copy nor
        # in IMAP's.
        self.assertEqual(self.download(cr["blobId"]), raw)
        self.assertNotIn(b"DKIM-Signature", raw)
        (_, res, _), = self.calls([["Email/get", {
            "accountId": self.account, "ids": [cr["id"]],
            "properties": ["header:DKIM-Signature", "size"]}, "g"]])
        self.assertIsNone(res["list"][0]["header:DKIM-Signature"])
        self.assertEqual(res["list"][0]["size"], len(raw))
        stored = [m for m in self.imap_drafts() if b"relay dkim-1" in m]
        self.assertEqual(stored, [raw])

    def test_bcc_removed_after_signing(self):
        # Bcc is not a signed field: the relay takes it out and the
        # signature still holds.
        to, hidden = "to@remote.example", "hidden@remote.example"
        cr = self.create(USER, [to], "dkim-bcc", bcc=[hidden])
        self.assertIn(b"\r\nBcc: ", self.download(cr["blobId"]))
        self.submit(cr["id"], [to, hidden])
        t = self.received("dkim-bcc")
        self.assertIsNotNone(t, self.srv.log())
        self.assertNotIn(hidden.encode(), t["content"])
        self.assertTrue(t["content"].startswith(b"DKIM-Signature: "))
        good, _ = self.verify(t["content"])
        self.assertTrue(good, t["content"])

    def test_other_domain_unsigned(self):
        ok = "unsigned@remote.example"
        cr = self.create("someone@elsewhere.example", [ok], "dkim-2")
        raw = self.download(cr["blobId"])
        self.submit(cr["id"], [ok])
        t = self.received("dkim-2")
        self.assertIsNotNone(t, self.srv.log())
        self.assertEqual(t["content"], raw)
        self.assertNotIn(b"DKIM-Signature", t["content"])
        self.srv.wait_log(r"storaged\[\d+\]: submission taken account=\d+ "
                          r"id=\d+ rcpts=1 size=%d dkim=none" % len(raw))


class DkimKeyFileTest(unittest.TestCase):
    """The master reads each dkim key file as root and refuses the
    configuration when one is open to others or holds no usable key."""

    def server(self):
        srv = Server(self, imap_workers=1)
        self.addCleanup(srv.cleanup)
        return srv

    def refused(self, srv, section, want):
        srv.write_conf(extra=section)
        with self.assertRaises(RuntimeError):
            srv.start(timeout=15)
        self.assertRegex(srv.log(), want)

    def test_readable_by_others(self):
        srv = self.server()
        path, _ = dkim_keygen(srv, "example.org", "s", "open.key")
        os.chmod(path, 0o640)
        self.refused(srv, dkim_section("example.org", "s", path),
                     r"bulwarkd\[\d+\]: dkim example\.org: %s: mode 0640: "
                     r"a private key or password must be private to its "
                     r"owner \(chmod 600\)" % re.escape(path))

    def test_not_a_key(self):
        srv = self.server()
        path = os.path.join(srv.dir, "bad.key")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n"
                    "-----END PRIVATE KEY-----\n")
        self.refused(srv, dkim_section("example.org", "s", path),
                     r"bulwarkd\[\d+\]: dkim example\.org: %s: "
                     % re.escape(path))

    def test_missing(self):
        srv = self.server()
        path = os.path.join(srv.dir, "none.key")
        self.refused(srv, dkim_section("example.org", "s", path),
                     r"bulwarkd\[\d+\]: dkim example\.org: %s: No such "
                     r"file" % re.escape(path))

    def test_reload(self):
        srv = self.server()
        path, _ = dkim_keygen(srv, "example.org", "s", "good.key")
        srv.write_conf(extra=dkim_section("example.org", "s", path))
        srv.start()
        srv.wait_log(r"storaged\[\d+\]: dkim key domain=example\.org "
                     r"selector=s")
        store = srv.children()["storaged"]
        # A key others may read: refused, storaged keeps running.
        os.chmod(path, 0o644)
        mark = len(srv.log())
        srv.proc.send_signal(signal.SIGHUP)
        srv.wait_log(r"reload refused: dkim example\.org: .*mode 0644",
                     start=mark)
        self.assertEqual(srv.children()["storaged"], store)
        # Fixed, with a new selector: storaged starts again with it.
        os.chmod(path, 0o600)
        srv.write_conf(extra=dkim_section("example.org", "s2", path))
        mark = len(srv.log())
        srv.proc.send_signal(signal.SIGHUP)
        srv.wait_log(r"storaged\[\d+\]: dkim key domain=example\.org "
                     r"selector=s2", start=mark)


if __name__ == "__main__":
    unittest.main()

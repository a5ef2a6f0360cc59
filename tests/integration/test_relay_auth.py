# SPDX-License-Identifier: ISC
"""The relay's SMTP AUTH (RFC 4954) and its private trust anchors:
relay { user password-file ca } of bulwark.conf(5).

The smarthost is test_relay's aiosmtpd server with STARTTLS on the
fixture's self-signed certificate, here asking for authentication:
 - with the right credentials the submission is delivered, over TLS, as
   the configured user, with PLAIN, or LOGIN when that is all the server
   offers; the password never shows in any log;
 - with a wrong password the server's 535 comes back as the recipient's
   smtpReply and it stays queued (the configuration is wrong, not the
   message);
 - `tls require` with `ca` naming the certificate trusts it and sends;
 - a password file open to others, an empty one, or a relay or push
   ca file without a certificate stops bulwarkd at startup.
"""
import os
import re
import unittest

import test_relay as base
from bulwark import Server

try:
    from aiosmtpd.smtp import AuthResult
except ImportError:     # contrib/install-deps.sh installs python3-aiosmtpd
    AuthResult = None

RELAY_USER = "relay-user@example.org"
RELAY_PASSWORD = "s3cret relay pw\u00e9"


class Authenticator:
    """aiosmtpd authenticator: takes RELAY_USER with RELAY_PASSWORD and
    remembers every attempt as (mechanism, login, password)."""

    def __init__(self):
        self.attempts = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        login = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        self.attempts.append((mechanism, login, password))
        # handled=False: aiosmtpd answers 535 itself.
        return AuthResult(success=(login == RELAY_USER and
                                   password == RELAY_PASSWORD),
                          handled=False)


def tried(ok):
    """A status() condition: the relay has answered for ok (before, the
    reply is the queue's own 250)."""
    return lambda ds: not ds.get(ok, {}).get("smtpReply",
                                             "250").startswith("250")


def password_file(srv, password, mode=0o600):
    path = os.path.join(srv.dir, "relay.secret")
    with open(path, "w", encoding="utf-8") as f:
        f.write(password + "\n")
    os.chmod(path, mode)
    return path


@unittest.skipUnless(AuthResult is not None, "python3-aiosmtpd missing")
class RelayAuthTest(base.RelayEndToEnd):
    """tls starttls with credentials against a server that requires
    AUTH and offers PLAIN and LOGIN."""
    PASSWORD = RELAY_PASSWORD
    AUTH = Authenticator()
    SMTP_KW = {"auth_required": True, "authenticator": AUTH}

    @classmethod
    def relay_extra(cls):
        return "\tuser \"%s\"\n\tpassword-file \"%s\"\n" % (
            RELAY_USER, password_file(cls.srv, cls.PASSWORD))

    def send(self, marker):
        ok = "%s@remote.example" % marker
        eid, raw = self.email([ok], marker)
        sid = self.submit(eid, [ok])
        sub = self.status(sid, lambda ds: ds.get(ok, {}).get("delivered")
                          == "yes")
        return ok, raw, sub

    def test_delivered_as_user(self):
        ok, raw, sub = self.send("auth-1")
        t = self.received("auth-1")
        self.assertIsNotNone(t, self.srv.log())
        self.assertTrue(t["tls"])
        self.assertTrue(t["authenticated"])
        self.assertEqual(t["content"], raw)
        self.assertEqual(sub["deliveryStatus"][ok]["delivered"], "yes")
        mech, login, password = self.AUTH.attempts[-1]
        self.assertEqual((mech, login, password),
                         (self.MECH, RELAY_USER, RELAY_PASSWORD))
        self.srv.wait_log(r"storaged\[\d+\]: relay credentials "
                          r"user=%s" % re.escape(RELAY_USER))
        self.assertNotIn("s3cret", self.srv.log())

    MECH = "PLAIN"


@unittest.skipUnless(AuthResult is not None, "python3-aiosmtpd missing")
class RelayAuthLoginTest(RelayAuthTest):
    """A server that offers only LOGIN gets LOGIN."""
    AUTH = Authenticator()
    SMTP_KW = {"auth_required": True, "authenticator": AUTH,
               "auth_exclude_mechanism": ["PLAIN"]}
    MECH = "LOGIN"


@unittest.skipUnless(AuthResult is not None, "python3-aiosmtpd missing")
class RelayAuthRefusedTest(base.RelayEndToEnd):
    """A wrong password: 535 from the server, the recipient stays
    queued with the server's words."""
    AUTH = Authenticator()
    SMTP_KW = {"auth_required": True, "authenticator": AUTH}

    @classmethod
    def relay_extra(cls):
        return "\tuser \"%s\"\n\tpassword-file \"%s\"\n" % (
            RELAY_USER, password_file(cls.srv, "not the password"))

    def test_wrong_password(self):
        ok = "refused@remote.example"
        eid, _ = self.email([ok], "auth-bad")
        sid = self.submit(eid, [ok])
        sub = self.status(sid, tried(ok))
        d = sub["deliveryStatus"][ok]
        self.assertEqual(d["delivered"], "queued")
        self.assertRegex(d["smtpReply"], r"^451 4\.7\.8 127\.0\.0\.1 "
                         r"refused the relay's credentials: 535 ")
        self.assertIsNone(self.received("auth-bad", timeout=1))
        self.assertEqual(self.AUTH.attempts[-1][1:],
                         (RELAY_USER, "not the password"))
        self.srv.wait_log(r"lmtpd\[\d+\]: relay fail id=\S+ state=auth ")


@unittest.skipUnless(AuthResult is not None, "python3-aiosmtpd missing")
class RelayAuthNoTlsTest(base.RelayEndToEnd):
    """tls starttls with credentials against a server without STARTTLS:
    the credentials are not sent in clear, nothing is."""
    STARTTLS = False
    AUTH = Authenticator()
    SMTP_KW = {"authenticator": AUTH, "auth_require_tls": False}

    @classmethod
    def relay_extra(cls):
        return "\tuser \"%s\"\n\tpassword-file \"%s\"\n" % (
            RELAY_USER, password_file(cls.srv, RELAY_PASSWORD))

    def test_not_in_clear(self):
        ok = "clear@remote.example"
        eid, _ = self.email([ok], "auth-clear")
        sid = self.submit(eid, [ok])
        sub = self.status(sid, tried(ok))
        d = sub["deliveryStatus"][ok]
        self.assertEqual(d["delivered"], "queued")
        self.assertRegex(d["smtpReply"], r"^421 4\.7\.10 .*no TLS")
        self.assertEqual(self.AUTH.attempts, [])
        self.assertIsNone(self.received("auth-clear", timeout=1))


class RelayRequireCaTest(base.RelayEndToEnd):
    """tls require with ca naming the server's certificate: verified
    (name 127.0.0.1 in its subjectAltName) and sent."""
    TLS = "require"

    @classmethod
    def relay_extra(cls):
        return "\tca \"%s\"\n" % cls.srv.cert

    def test_trusted_by_ca(self):
        ok = "verified@remote.example"
        eid, raw = self.email([ok], "ca-1")
        sid = self.submit(eid, [ok])
        t = self.received("ca-1")
        self.assertIsNotNone(t, self.srv.log())
        self.assertTrue(t["tls"])
        self.assertEqual(t["content"], raw)
        sub = self.status(sid, lambda ds: ds.get(ok, {}).get("delivered")
                          == "yes")
        self.assertEqual(sub["deliveryStatus"][ok]["delivered"], "yes")
        self.srv.wait_log(r"lmtpd\[\d+\]: relay ca certificates=1")


class RelayFilesTest(unittest.TestCase):
    """The master reads the password and CA files as root and refuses
    a configuration whose files will not do."""

    def refused(self, extra, want):
        srv = Server(self, imap_workers=1)
        self.addCleanup(srv.cleanup)
        srv.write_conf(extra=base.relay_section(
            "127.0.0.1", 25, "require", extra=extra(srv)))
        with self.assertRaises(RuntimeError):
            srv.start(timeout=15)
        self.assertRegex(srv.log(), want(srv))

    def test_password_readable_by_others(self):
        self.refused(
            lambda srv: "\tuser u\n\tpassword-file \"%s\"\n" %
            password_file(srv, "pw", 0o644),
            lambda srv: r"bulwarkd\[\d+\]: relay password-file: %s: mode "
            r"0644: a private key or password must be private to its "
            r"owner" % re.escape(os.path.join(srv.dir, "relay.secret")))

    def test_empty_password(self):
        self.refused(
            lambda srv: "\tuser u\n\tpassword-file \"%s\"\n" %
            password_file(srv, ""),
            lambda srv: r"relay password-file: %s holds no password" %
            re.escape(os.path.join(srv.dir, "relay.secret")))

    def test_push_ca_not_pem(self):
        # push { ca } is read the same way, and refused the same way.
        srv = Server(self, imap_workers=1)
        self.addCleanup(srv.cleanup)
        path = password_file(srv, "junk")
        srv.write_conf(extra="push {\n\tca \"%s\"\n}\n" % path)
        with self.assertRaises(RuntimeError):
            srv.start(timeout=15)
        self.assertRegex(srv.log(), r"push ca: %s holds no PEM "
                         r"certificate" % re.escape(path))

    def test_ca_not_pem(self):
        self.refused(
            lambda srv: "\tca \"%s\"\n" % password_file(srv, "junk"),
            lambda srv: r"relay ca: %s holds no PEM certificate" %
            re.escape(os.path.join(srv.dir, "relay.secret")))


if __name__ == "__main__":
    unittest.main()

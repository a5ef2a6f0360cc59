# SPDX-License-Identifier: ISC
"""imapd's first commands through real clients: imaplib and openssl s_client.

Logins go over implicit TLS and STARTTLS and are checked by storaged; wrong
passwords are refused, and repeated failures block the address for a while,
even with the right password.  Cleartext logins are refused with
LOGINDISABLED unless the configuration allows them.
"""
import imaplib
import socket
import ssl
import subprocess
import unittest

from bulwark import Server

USER = "alice@example.org"
PASSWORD = "correct horse battery staple"


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class ImapLoginTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(None, imap_workers=2, fail_limit=3)
        try:
            cls.srv.start()
            cls.srv.add_account(USER, PASSWORD)
        except Exception:
            cls.srv.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def imaps(self):
        return imaplib.IMAP4_SSL("127.0.0.1", self.srv.ports["imaps"],
                                 ssl_context=tls_context(), timeout=10)

    def test_greeting_and_capabilities_over_tls(self):
        c = self.imaps()
        self.assertIn(b"Bulwark", c.welcome)
        caps = c.capabilities
        for cap in ("IMAP4REV1", "IMAP4REV2", "AUTH=PLAIN", "SASL-IR", "LITERAL+"):
            self.assertIn(cap, caps)
        self.assertNotIn("STARTTLS", caps)
        self.assertNotIn("LOGINDISABLED", caps)
        self.assertEqual(c.noop()[0], "OK")
        c.logout()

    def test_login_over_implicit_tls(self):
        c = self.imaps()
        typ, data = c.login(USER, PASSWORD)
        self.assertEqual(typ, "OK")
        self.assertEqual(c.state, "AUTH")
        self.assertEqual(c.noop()[0], "OK")
        self.assertEqual(c.logout()[0], "BYE")
        self.srv.wait_log(r"imapd\[\d+\]: [0-9a-f]{16} login user=alice@example\.org remote=127\.0\.0\.1:\d+ tls=TLSv1\.[23]")

    def test_authenticate_plain_with_initial_response(self):
        c = self.imaps()
        typ, _ = c.authenticate("PLAIN", lambda _: ("\0%s\0%s" % (USER, PASSWORD)).encode())
        self.assertEqual(typ, "OK")
        c.logout()

    def test_login_with_literals(self):
        # The user name as a synchronizing literal, the password as a
        # non-synchronizing one (LITERAL+, RFC 7888).
        raw = socket.create_connection(("127.0.0.1", self.srv.ports["imaps"]), timeout=10)
        s = tls_context().wrap_socket(raw)
        f = s.makefile("rwb")
        f.readline()
        user, pw = USER.encode(), PASSWORD.encode()
        f.write(b"a1 LOGIN {%d}\r\n" % len(user))
        f.flush()
        self.assertTrue(f.readline().startswith(b"+"))
        f.write(user + b" {%d+}\r\n" % len(pw) + pw + b"\r\n")
        f.flush()
        self.assertTrue(f.readline().startswith(b"a1 OK"))
        f.write(b"a2 LOGOUT\r\n")
        f.flush()
        self.assertTrue(f.readline().startswith(b"* BYE"))
        s.close()

    def test_starttls_then_login(self):
        c = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"], timeout=10)
        self.assertIn("STARTTLS", c.capabilities)
        self.assertIn("LOGINDISABLED", c.capabilities)
        self.assertNotIn("AUTH=PLAIN", c.capabilities)
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            c.login(USER, PASSWORD)
        self.assertIn("PRIVACYREQUIRED", str(cm.exception))
        c.starttls(ssl_context=tls_context())
        c.capabilities = None
        typ, caps = c.capability()
        self.assertNotIn(b"STARTTLS", caps[0])
        self.assertNotIn(b"LOGINDISABLED", caps[0])
        self.assertEqual(c.login(USER, PASSWORD)[0], "OK")
        c.logout()

    def test_wrong_password_is_refused(self):
        c = self.imaps()
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            c.login(USER, "wrong")
        self.assertIn("AUTHENTICATIONFAILED", str(cm.exception))
        self.assertEqual(c.state, "NONAUTH")
        c.logout()
        self.srv.wait_log(r"auth failed user=alice@example\.org remote=127\.0\.0\.1 proto=imap")

    def test_unknown_user_is_refused_the_same_way(self):
        c = self.imaps()
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            c.login("nobody@example.org", "whatever")
        self.assertIn("AUTHENTICATIONFAILED", str(cm.exception))
        c.logout()

    def test_malformed_commands_get_bad(self):
        s = socket.create_connection(("127.0.0.1", self.srv.ports["imap"]), timeout=10)
        f = s.makefile("rwb")
        f.readline()
        for line, want in ((b"a1 NOSUCHCOMMAND\r\n", b"a1 BAD"),
                           (b"a2 LOGIN onlyone\r\n", b"a2 BAD"),
                           (b"a3 LOGIN \"unterminated\r\n", b"a3 BAD"),
                           (b"\r\n", b"* BAD"),
                           (b"a4 NOOP\r\n", b"a4 OK")):
            f.write(line)
            f.flush()
            resp = f.readline()
            self.assertTrue(resp.startswith(want), (line, resp))
        s.close()

    def test_openssl_s_client_starttls(self):
        script = b"a1 CAPABILITY\r\na2 LOGIN %s \"%s\"\r\na3 LOGOUT\r\n" % (
            USER.encode(), PASSWORD.encode())
        r = subprocess.run(["openssl", "s_client", "-quiet", "-starttls", "imap",
                            "-connect", "127.0.0.1:%d" % self.srv.ports["imap"]],
                           input=script, capture_output=True, timeout=30)
        self.assertIn(b"a2 OK", r.stdout)
        self.assertIn(b"a3 OK", r.stdout)


class ImapBlockTest(unittest.TestCase):
    """Repeated failures from one address block it, right password or not."""

    def setUp(self):
        self.srv = Server(self, imap_workers=1, fail_limit=3)
        self.addCleanup(self.srv.cleanup)
        self.srv.start()
        self.srv.add_account(USER, PASSWORD)

    def test_repeated_failures_block_the_address(self):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.srv.ports["imaps"],
                              ssl_context=tls_context(), timeout=10)
        self.assertEqual(c.login(USER, PASSWORD)[0], "OK")
        c.logout()
        for _ in range(3):
            c = imaplib.IMAP4_SSL("127.0.0.1", self.srv.ports["imaps"],
                                  ssl_context=tls_context(), timeout=10)
            with self.assertRaises(imaplib.IMAP4.error):
                c.login(USER, "wrong")
            c.logout()
        c = imaplib.IMAP4_SSL("127.0.0.1", self.srv.ports["imaps"],
                              ssl_context=tls_context(), timeout=10)
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            c.login(USER, PASSWORD)
        self.assertIn("UNAVAILABLE", str(cm.exception))
        c.logout()
        self.srv.wait_log(r"auth blocked remote=127\.0\.0\.1")


class ImapCleartextTest(unittest.TestCase):
    """With cleartext-auth yes (development), LOGIN works without TLS."""

    def setUp(self):
        self.srv = Server(self, imap_workers=1, cleartext="yes")
        self.addCleanup(self.srv.cleanup)
        self.srv.start()
        self.srv.add_account(USER, PASSWORD)

    def test_cleartext_login_allowed(self):
        c = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"], timeout=10)
        self.assertNotIn("LOGINDISABLED", c.capabilities)
        self.assertIn("AUTH=PLAIN", c.capabilities)
        self.assertEqual(c.login(USER, PASSWORD)[0], "OK")
        c.logout()


if __name__ == "__main__":
    unittest.main()

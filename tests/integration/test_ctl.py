# SPDX-License-Identifier: ISC
"""bulwarkctl against a running server: round trips, refusals, exit codes."""
import os
import shutil
import subprocess
import unittest

from bulwark import Server, binary


class CtlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(None, imap_workers=1)
        try:
            cls.srv.start()
        except Exception:
            cls.srv.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def ctl(self, *args, **kw):
        return self.srv.ctl(*args, check=False, **kw)

    def test_domain_account_alias_quota_round_trip(self):
        self.assertEqual(self.ctl("domain", "add", "example.net").returncode, 0)
        self.assertIn("example.net", self.ctl("domain", "list").stdout.split())
        r = self.ctl("account", "add", "bob@example.net", password="pw-bob-1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("bob@example.net", self.ctl("account", "list", "example.net").stdout.split())
        self.assertEqual(self.ctl("alias", "add", "postmaster@example.net",
                                  "bob@example.net").returncode, 0)
        self.assertIn("postmaster@example.net bob@example.net",
                      self.ctl("alias", "list", "example.net").stdout)
        self.assertEqual(self.ctl("quota", "set", "bob@example.net", "10M", "5000").returncode, 0)
        show = self.ctl("account", "show", "bob@example.net").stdout
        self.assertRegex(show, r"(?m)^name: bob@example\.net$")
        self.assertRegex(show, r"(?m)^quota-bytes: 10485760$")
        self.assertRegex(show, r"(?m)^quota-messages: 5000$")
        self.assertIn("postmaster@example.net", show)
        self.assertEqual(self.ctl("account", "passwd", "bob@example.net",
                                  password="pw-bob-2").returncode, 0)
        self.assertEqual(self.ctl("alias", "del", "postmaster@example.net").returncode, 0)
        self.assertEqual(self.ctl("account", "del", "bob@example.net").returncode, 0)
        self.assertNotIn("bob@example.net", self.ctl("account", "list").stdout.split())
        self.assertEqual(self.ctl("domain", "del", "example.net").returncode, 0)

    def test_refusals_exit_1(self):
        self.assertEqual(self.ctl("domain", "add", "example.com").returncode, 0)
        cases = [
            ("domain", "add", "example.com"),                 # exists
            ("domain", "add", "nodot"),                       # invalid
            ("domain", "add", "bad-.example"),                # invalid label
            ("domain", "del", "nowhere.example"),             # not found
            ("account", "show", "nobody@example.com"),        # not found
            ("alias", "add", "x@example.com", "nobody@example.com"),  # no target
        ]
        for args in cases:
            r = self.ctl(*args)
            self.assertEqual(r.returncode, 1, (args, r.stdout, r.stderr))
            self.assertTrue(r.stderr.startswith("bulwarkctl: "), r.stderr)
        r = self.ctl("account", "add", "someone@nodomain.example", password="x1")
        self.assertEqual(r.returncode, 1, r.stderr)
        r = self.ctl("account", "add", "bad..local@example.com", password="x1")
        self.assertEqual(r.returncode, 1, r.stderr)
        r = self.ctl("account", "add", "carol@example.com", password="")
        self.assertNotEqual(r.returncode, 0)
        # A domain with accounts cannot be deleted.
        self.assertEqual(self.ctl("account", "add", "dave@example.com",
                                  password="pw-dave").returncode, 0)
        self.assertEqual(self.ctl("domain", "del", "example.com").returncode, 1)

    def test_usage_errors_exit_2(self):
        for args in (("frobnicate",), ("domain",), ("domain", "add"),
                     ("domain", "add", "not a domain"),
                     ("quota", "set", "a@example.com", "12Q")):
            r = self.ctl(*args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))

    def test_unreachable_store_exits_2(self):
        r = subprocess.run([binary("bulwarkctl"), "-s", "/nonexistent/admin.sock",
                            "domain", "list"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("/nonexistent/admin.sock", r.stderr)

    @unittest.skipUnless(os.geteuid() == 0, "needs root to switch users")
    def test_admin_socket_refuses_other_users(self):
        # A copy where nobody may run it, whatever the checkout's mode.
        ctl = os.path.join(self.srv.dir, "bulwarkctl")
        shutil.copy(binary("bulwarkctl"), ctl)
        os.chmod(ctl, 0o755)
        r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                            ctl, "-s",
                            os.path.join(self.srv.dir, "run", "admin.sock"), "domain", "list"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("Permission denied", r.stderr)

    def test_password_never_from_argv(self):
        r = self.ctl("account", "add", "eve@example.org", "hunter2")
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main()


@unittest.skipUnless(os.geteuid() == 0, "needs root to create a group")
class CtlAdminGroupTest(unittest.TestCase):
    """Members of `admin socket ... group` may administer; others may not."""
    GROUP = "_bulwarkadm"

    def setUp(self):
        if subprocess.run(["getent", "group", self.GROUP], capture_output=True).returncode:
            subprocess.run(["groupadd", "--system", self.GROUP], check=True)
        self.srv = Server(self, imap_workers=1)
        self.srv.params["admin_group"] = ' group "%s"' % self.GROUP
        self.srv.write_conf()
        self.addCleanup(self.srv.cleanup)
        self.srv.start()
        self.ctl = os.path.join(self.srv.dir, "bulwarkctl")
        shutil.copy(binary("bulwarkctl"), self.ctl)
        os.chmod(self.ctl, 0o755)

    def run_as(self, group):
        return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup",
                               "--groups=" + group, self.ctl, "-s",
                               os.path.join(self.srv.dir, "run", "admin.sock"),
                               "domain", "list"], capture_output=True, text=True)

    def test_admin_group(self):
        sock = os.path.join(self.srv.dir, "run", "admin.sock")
        self.assertEqual(os.stat(sock).st_mode & 0o777, 0o660)
        r = self.run_as(self.GROUP)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.run_as("nogroup")
        self.assertEqual(r.returncode, 2, r.stderr)

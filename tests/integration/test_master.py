# SPDX-License-Identifier: ISC
"""bulwarkd as a supervisor: privilege separation, restarts, reload, stop."""
import imaplib
import os
import pwd
import signal
import socket
import ssl
import time
import unittest

from bulwark import Server, STORE_USER, WORKER_USER, free_port


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class MasterTest(unittest.TestCase):
    def setUp(self):
        self.srv = Server(self, imap_workers=2)
        self.addCleanup(self.srv.cleanup)
        self.srv.start()

    def login(self, user="alice@example.org", password="secret-1"):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.srv.ports["imaps"],
                              ssl_context=tls_context(), timeout=10)
        c.login(user, password)
        return c

    @unittest.skipUnless(os.geteuid() == 0, "privilege separation needs root")
    def test_process_tree_users_and_chroot(self):
        kids = self.srv.children()
        self.assertEqual(sorted(kids), ["imapd", "storaged"])
        self.assertEqual(len(kids["imapd"]), 2)
        store = pwd.getpwnam(STORE_USER)
        worker = pwd.getpwnam(WORKER_USER)
        master_ids = Server.proc_ids(self.srv.proc.pid)
        self.assertEqual(master_ids[0], 0)
        uid, gid, groups, root = Server.proc_ids(kids["storaged"][0])
        self.assertEqual((uid, gid), (store.pw_uid, store.pw_gid))
        self.assertEqual(groups, [store.pw_gid])
        self.assertEqual(root, os.path.join(self.srv.dir, "data"))
        for pid in kids["imapd"]:
            uid, gid, groups, root = Server.proc_ids(pid)
            self.assertEqual((uid, gid), (worker.pw_uid, worker.pw_gid))
            self.assertEqual(groups, [worker.pw_gid])
            self.assertEqual(root, os.path.join(self.srv.dir, "empty"))
            # seccomp filter mode 2 is on
            with open("/proc/%d/status" % pid) as f:
                self.assertIn("Seccomp:\t2", f.read())
        # Workers cannot read the data directory.
        st = os.stat(os.path.join(self.srv.dir, "data"))
        self.assertEqual(st.st_mode & 0o777, 0o700)
        self.assertEqual(st.st_uid, store.pw_uid)

    def test_killed_worker_is_restarted_and_others_go_on(self):
        self.srv.add_account("alice@example.org", "secret-1")
        sessions = [self.login() for _ in range(4)]
        before = self.srv.children()["imapd"]
        victim = before[0]
        os.kill(victim, signal.SIGKILL)
        self.srv.wait_log(r"imapd\[%d\] killed by signal 9" % victim)
        self.srv.wait_ready()
        after = self.srv.children()["imapd"]
        self.assertEqual(len(after), 2)
        self.assertNotIn(victim, after)
        self.assertIn(before[1], after)
        # Sessions on the surviving worker still answer; the victim's died.
        on_victim = 0
        for c in sessions:
            port = c.sock.getsockname()[1]
            m = self.srv.wait_log(r"imapd\[(\d+)\]: \S+ connect remote=127\.0\.0\.1:%d\b" % port)
            owner = int(m.group(1))
            if owner == victim:
                on_victim += 1
                with self.assertRaises((imaplib.IMAP4.abort, OSError)):
                    c.noop()
            else:
                self.assertEqual(c.noop()[0], "OK")
                c.logout()
        self.assertLess(on_victim, 5)
        # A new login works.
        self.login().logout()

    def test_killed_storaged_is_restarted_and_nothing_is_lost(self):
        self.srv.add_account("alice@example.org", "secret-1")
        c = self.login()
        victim = self.srv.children()["storaged"][0]
        os.kill(victim, signal.SIGKILL)
        self.srv.wait_log(r"storaged\[%d\] killed by signal 9" % victim)
        self.srv.wait_ready()
        self.assertNotEqual(self.srv.children()["storaged"][0], victim)
        # The account written before the crash is still there.
        out = self.srv.ctl("account", "list").stdout.split()
        self.assertIn("alice@example.org", out)
        # The existing session goes on; new logins work.
        deadline = time.time() + 10
        while True:
            typ, _ = c.noop()
            if typ == "OK" or time.time() > deadline:
                break
        self.assertEqual(typ, "OK")
        self.login().logout()

    def test_sighup_applies_a_changed_worker_count(self):
        self.srv.write_conf(imap_workers=3)
        self.srv.proc.send_signal(signal.SIGHUP)
        self.srv.wait_log(r"reloaded")
        self.srv.wait_ready()
        self.assertEqual(len(self.srv.children()["imapd"]), 3)
        self.srv.write_conf(imap_workers=1)
        self.srv.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 20
        while len(self.srv.children().get("imapd", [])) != 1 and time.time() < deadline:
            time.sleep(0.1)
        self.assertEqual(len(self.srv.children()["imapd"]), 1)

    def test_sighup_changing_storage_settings_replaces_storaged(self):
        self.srv.add_account("alice@example.org", "secret-1")
        c = self.login()
        old = self.srv.children()["storaged"][0]
        workers = sorted(self.srv.children()["imapd"])
        self.srv.write_conf(fail_limit=7)
        self.srv.proc.send_signal(signal.SIGHUP)
        self.srv.wait_log(r"storaged\[%d\] configuration changed" % old)
        self.srv.wait_log(r"storaged\[%d\] exited status=0" % old)
        self.srv.wait_ready()
        self.assertNotEqual(self.srv.children()["storaged"][0], old)
        # Workers' configuration did not change: they were kept.
        self.assertEqual(sorted(self.srv.children()["imapd"]), workers)
        # The logged-in session is bound again in the new storaged.
        new = self.srv.children()["storaged"][0]
        self.srv.wait_log(r"storaged\[%d\]: session resumed user=alice@example\.org" % new)
        self.assertEqual(c.noop()[0], "OK")
        c.logout()
        self.login().logout()

    def test_sighup_adds_a_listener(self):
        self.srv.add_account("alice@example.org", "secret-1")
        port = free_port()
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        self.srv.write_conf(extra="listen imap on 127.0.0.1 port %d\n" % port)
        self.srv.proc.send_signal(signal.SIGHUP)
        self.srv.wait_log(r"reloaded")
        self.srv.wait_ready()
        c = imaplib.IMAP4("127.0.0.1", port, timeout=10)
        self.assertIn("STARTTLS", c.capabilities)
        c.logout()
        # The old listeners kept working throughout.
        self.login().logout()

    def test_sighup_with_broken_configuration_keeps_serving(self):
        self.srv.add_account("alice@example.org", "secret-1")
        before = self.srv.children()
        with open(self.srv.conf, "a") as f:
            f.write("imap {\n\tworkers banana\n}\n")
        self.srv.proc.send_signal(signal.SIGHUP)
        m = self.srv.wait_log(r"reload refused")
        self.assertRegex(self.srv.log(), r"bulwark\.conf:\d+:\d+: ")
        self.assertEqual(self.srv.children(), before)
        self.login().logout()
        self.assertIsNotNone(m)

    def test_sigterm_ends_every_process(self):
        kids = [p for pids in self.srv.children().values() for p in pids]
        self.assertEqual(len(kids), 3)
        start = time.time()
        self.srv.proc.send_signal(signal.SIGTERM)
        self.srv.proc.wait(30)
        self.assertLess(time.time() - start, 30)
        self.assertEqual(self.srv.proc.returncode, 0)
        for pid in kids:
            self.assertFalse(os.path.exists("/proc/%d" % pid) and
                             open("/proc/%d/stat" % pid).read().split()[2] != "Z",
                             "pid %d survived" % pid)
        self.assertFalse(os.path.exists(os.path.join(self.srv.dir, "run", "admin.sock")))
        self.assertFalse(os.path.exists(os.path.join(self.srv.dir, "run", "bulwarkd.pid")))


if __name__ == "__main__":
    unittest.main()

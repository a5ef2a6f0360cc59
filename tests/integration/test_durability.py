# SPDX-License-Identifier: ISC
"""Nothing acknowledged is lost: storaged killed while writes stream in."""
import os
import signal
import subprocess
import threading
import time
import unittest

from bulwark import Server, binary


class DurabilityTest(unittest.TestCase):
    def setUp(self):
        self.srv = Server(self, imap_workers=1)
        self.addCleanup(self.srv.cleanup)
        self.srv.start()
        self.srv.ctl("domain", "add", "example.org")

    def add_accounts(self, prefix, count, acked, stop):
        for i in range(count):
            if stop.is_set():
                return
            name = "%s%d@example.org" % (prefix, i)
            r = subprocess.run([binary("bulwarkctl"), "-f", self.srv.conf,
                                "account", "add", name],
                               input="pw-%d\n" % i, capture_output=True, text=True)
            if r.returncode == 0:
                acked.append(name)

    def test_kill_9_storaged_during_writes(self):
        acked = []
        stop = threading.Event()
        writers = [threading.Thread(target=self.add_accounts, args=("u%d-" % t, 400, acked, stop))
                   for t in range(4)]
        for w in writers:
            w.start()
        deadline = time.time() + 20
        while len(acked) < 20 and time.time() < deadline:
            time.sleep(0.05)
        victim = self.srv.children()["storaged"][0]
        os.kill(victim, signal.SIGKILL)
        time.sleep(1.0)
        stop.set()
        for w in writers:
            w.join(60)
        self.srv.wait_log(r"storaged\[%d\] killed by signal 9" % victim)
        self.srv.wait_ready()
        self.assertGreaterEqual(len(acked), 20)
        stored = set(self.srv.ctl("account", "list").stdout.split())
        lost = [a for a in acked if a not in stored]
        self.assertEqual(lost, [], "acknowledged but lost")
        # Every stored account has a complete record.
        for name in list(stored)[:10]:
            show = self.srv.ctl("account", "show", name).stdout
            self.assertRegex(show, r"(?m)^id: \d+$")


if __name__ == "__main__":
    unittest.main()

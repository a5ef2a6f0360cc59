# SPDX-License-Identifier: ISC
"""Nothing acknowledged is lost: storaged killed by SIGKILL during LMTP delivery.

Four LMTP connections (Python's smtplib.LMTP on lmtpd's Unix socket) deliver
1,000 messages, each with its own Message-ID and subject, to one account.
Once about a tenth have their 250, storaged is killed with SIGKILL; the
master restarts it and the clients go on, reconnecting when the kill broke
their connection.  Each message ends in one of three states:

  acked    lmtpd said 250 after DATA: it must be stored exactly once.
  refused  a permanent (5xx) refusal: it must not be stored, and there is
           no reason for one here.
  unknown  the reply was lost (the connection broke) or was temporary
           (4xx, which must be 451 4.3.0, "store unavailable"): lmtpd says
           451 also when the store died with the delivery in flight, after
           it may have committed, and the MTA retries (RFC 5321 4.2.5).
           Stored at most once.

The mailbox is read with `bulwarkctl message list` after the restart.  Then
the test retries every message that was not acked, as an MTA retries a 4xx
or a lost reply; lmtpd's duplicate suppression (same Message-ID, same
mailbox) must keep those that were stored, so that in the end every one of
the 1,000 messages is stored exactly once.  One acked message is read back
with `bulwarkctl message show` and compared byte for byte.
"""
import collections
import os
import signal
import smtplib
import subprocess
import threading
import time
import unittest

from bulwark import Server, binary

RCPT = "crash@example.org"
COUNT = 1000
CONNS = 4


def big(i):
    """Every 25th message is past storaged's blob file size (256 KiB): its
    bytes are a file of blobs/, and its redo record names that file."""
    return i % 25 == 7


def message(run, i):
    """Message i: unique Message-ID and subject, a few KB (or, big(i),
    about 300 KB), CRLF lines."""
    body = "".join("line %04d of message %d, padding to look like mail\r\n"
                   % (k, i) for k in range(6000 if big(i) else 20 + i % 40))
    return ("From: Sender <sender@example.net>\r\n"
            "To: <%s>\r\n"
            "Subject: crash %s %04d\r\n"
            "Date: Wed, 25 Nov 2026 12:00:00 +0000\r\n"
            "Message-ID: <crash-%s-%04d@example.net>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n"
            "\r\n%s" % (RCPT, run, i, run, i, body)).encode()


class Client:
    """One LMTP connection that reconnects when it breaks."""

    def __init__(self, path, deadline):
        self.path = path
        self.deadline = deadline
        self.conn = None

    def connect(self):
        while time.time() < self.deadline:
            try:
                self.conn = smtplib.LMTP(self.path, timeout=30)
                self.conn.ehlo_or_helo_if_needed()
                return True
            except (OSError, smtplib.SMTPException):
                self.conn = None
                time.sleep(0.1)
        return False

    def send(self, data):
        """Returns "acked", "refused" or "unknown", and the reply."""
        if self.conn is None and not self.connect():
            return "unknown", "no connection"
        try:
            self.conn.sendmail("sender@example.net", [RCPT], data)
            return "acked", "250"
        except smtplib.SMTPRecipientsRefused as e:
            code, text = e.recipients[RCPT]
        except smtplib.SMTPResponseException as e:
            code, text = e.smtp_code, e.smtp_error
        except (OSError, smtplib.SMTPException) as e:
            # SMTPServerDisconnected, a reset, a timeout: the reply is lost.
            self.close()
            return "unknown", repr(e)
        try:
            self.conn.rset()
        except (OSError, smtplib.SMTPException):
            self.close()
        reply = "%d %s" % (code, text.decode(errors="replace"))
        return ("unknown" if 400 <= code < 500 else "refused"), reply

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
        self.conn = None


class DeliveryCrashTest(unittest.TestCase):
    def setUp(self):
        self.srv = Server(self, imap_workers=1, lmtp_workers=2)
        self.addCleanup(self.srv.cleanup)
        self.srv.start()
        self.srv.add_account(RCPT, "crash-password")
        self.run_id = "%x" % os.getpid()

    def deliver(self, ids, outcome, deadline):
        c = Client(self.srv.lmtp_socket, deadline)
        for i in ids:
            outcome[i] = c.send(message(self.run_id, i))
            if outcome[i][0] != "acked":
                # Paced as an MTA would defer, so that the burst goes on
                # after storaged is back.
                time.sleep(0.1)
        c.close()

    def stored_subjects(self):
        """{subject: count} of the inbox, from bulwarkctl message list."""
        out = self.srv.ctl("message", "list", RCPT, "INBOX").stdout
        lines = out.splitlines()
        self.assertRegex(lines[0], r"^ *UID +EMAIL-ID +THREAD-ID +SIZE +"
                         r"RECEIVED +FLAGS +FROM +SUBJECT$")
        subjects = collections.Counter()
        for line in lines[1:]:
            fields = line.split(None, 7)
            self.assertEqual(len(fields), 8, line)
            subjects[fields[7]] += 1
        return subjects, lines[1:]

    def test_kill_9_storaged_during_lmtp_burst(self):
        outcome = {}
        deadline = time.time() + 240
        workers = [threading.Thread(target=self.deliver,
                                    args=(range(t, COUNT, CONNS), outcome,
                                          deadline))
                   for t in range(CONNS)]
        for w in workers:
            w.start()
        while (sum(1 for o in list(outcome.values()) if o[0] == "acked")
               < COUNT // 10 and time.time() < deadline):
            time.sleep(0.005)
        acked_before = sum(1 for o in list(outcome.values())
                           if o[0] == "acked")
        victim = self.srv.children()["storaged"][0]
        os.kill(victim, signal.SIGKILL)
        for w in workers:
            w.join(max(deadline - time.time(), 1))
        self.assertFalse(any(w.is_alive() for w in workers),
                         "deliveries did not finish")
        self.srv.wait_log(r"storaged\[%d\] killed by signal 9" % victim)
        self.srv.wait_ready()

        self.assertEqual(len(outcome), COUNT)
        states = collections.Counter(o[0] for o in outcome.values())
        self.assertLess(acked_before, COUNT, "the kill came after the burst")
        temporary = {i: o[1] for i, o in outcome.items()
                     if o[0] == "unknown" and o[1][:1] == "4" and
                     not o[1].startswith("451 4.3.0")}
        self.assertEqual(temporary, {}, "temporary failures other than "
                         "451 4.3.0")
        subjects, lines = self.stored_subjects()
        want = {"crash %s %04d" % (self.run_id, i): i for i in range(COUNT)}
        strangers = [s for s in subjects if s not in want]
        self.assertEqual(strangers, [], "stored but never sent")
        twice = {s: n for s, n in subjects.items() if n > 1}
        self.assertEqual(twice, {}, "stored more than once")
        lost = [i for i, o in outcome.items()
                if o[0] == "acked" and subjects[message_subject(self, i)] != 1]
        self.assertEqual(lost, [], "acknowledged but not stored")
        wrongly = {i: o[1] for i, o in outcome.items()
                   if o[0] == "refused" and subjects[message_subject(self, i)]}
        self.assertEqual(wrongly, {}, "refused but stored")
        refused = {i: o[1] for i, o in outcome.items() if o[0] == "refused"}
        self.assertEqual(refused, {}, "permanent refusals")
        print("\n  acked %d (%d before the kill), not acknowledged %d, of "
              "which stored %d" % (
                  states["acked"], acked_before, states["unknown"],
                  sum(1 for i, o in outcome.items()
                      if o[0] == "unknown" and
                      subjects[message_subject(self, i)])), end=" ")

        # The restarted storaged replayed the records after its last
        # checkpoint (a SIGKILL leaves LMDB's unsynced commits in the page
        # cache, but nothing says they are whole).  The byte-exact copy of
        # the first acked message, and of the first big one (whose record
        # names its file), with the two lines lmtpd adds in front.
        self.assertRegex(self.srv.log(),
                         r"store replayed records=[1-9]\d* from its redo log")
        acked = sorted(i for i, o in outcome.items() if o[0] == "acked")
        for i in (acked[0], next(i for i in acked if big(i))):
            uid = next(line.split()[0] for line in lines
                       if line.split(None, 7)[7] == message_subject(self, i))
            raw = subprocess.run([binary("bulwarkctl"), "-f", self.srv.conf,
                                  "message", "show", RCPT, "INBOX", uid],
                                 capture_output=True, timeout=60)
            self.assertEqual(raw.returncode, 0, raw.stderr)
            sent = message(self.run_id, i)
            self.assertTrue(raw.stdout.endswith(sent), raw.stdout[:400])
            head = raw.stdout[:len(raw.stdout) - len(sent)].decode()
            self.assertRegex(head,
                             r"(?mi)^Return-Path: <sender@example\.net>\r$")
            self.assertRegex(head, r"(?mi)^Delivered-To: <?%s>?\r$"
                             % RCPT.replace(".", r"\."))

        # What an MTA does next: retry whatever was not acked.  Duplicate
        # suppression keeps what the store had already committed.
        retry = sorted(i for i, o in outcome.items() if o[0] != "acked")
        again = {}
        self.deliver(retry, again, time.time() + 120)
        self.assertEqual({i: o for i, o in again.items() if o[0] != "acked"},
                         {}, "retries not acked")
        subjects, _ = self.stored_subjects()
        self.assertEqual(sorted(subjects), sorted(want), "not all stored")
        self.assertEqual({s: n for s, n in subjects.items() if n != 1}, {},
                         "stored more than once after the retries")


def message_subject(test, i):
    return "crash %s %04d" % (test.run_id, i)


if __name__ == "__main__":
    unittest.main()

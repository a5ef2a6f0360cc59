# SPDX-License-Identifier: ISC
"""NOTIFY (RFC 5465) against the real bulwarkd with privilege separation.

One session (a line-level client, because imaplib cannot wait for untagged
responses between commands) asks NOTIFY for events; another one (imaplib)
changes the account: APPEND, STORE, EXPUNGE in the selected mailbox and in
others, CREATE, RENAME, DELETE, SUBSCRIBE, UNSUBSCRIBE.  The first must
hear of them between commands, in IDLE, or not at all after NOTIFY NONE;
invalid commands are refused with BAD or NO [BADEVENT] and change nothing.
The server runs two imapd processes, so the two sessions may be served by
different processes: events cross them through storaged.
"""
import imaplib
import os
import re
import signal
import socket
import time
import unittest

from bulwark import Server

USER = "nora@example.org"
PASSWORD = "imap notify test"


def message(n, subject=None):
    return (b"From: s%d@example.com\r\nTo: nora@example.org\r\n"
            b"Subject: %s\r\nMessage-ID: <n%d@example.com>\r\n\r\n"
            b"body %d\r\n" % (n, subject or (b"note %d" % n), n, n))


class Raw:
    """A line-level IMAP client that can wait for unsolicited responses."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        self.line()

    def send(self, data):
        self.sock.sendall(data)

    def line(self, timeout=10):
        self.sock.settimeout(timeout)
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def literal(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def quiet(self, wait=0.7):
        """Whatever arrives within wait seconds, as lines."""
        lines = []
        end = time.time() + wait
        while True:
            left = end - time.time()
            if left <= 0:
                return lines
            try:
                lines.append(self.line(left))
            except socket.timeout:
                return lines

    def until(self, tag):
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines

    def cmd(self, tag, text):
        self.send(tag + b" " + text + b"\r\n")
        return self.until(tag)

    def close(self):
        self.sock.close()


def untagged(lines, word=None):
    out = [l for l in lines if l.startswith(b"* ")]
    if word is not None:
        out = [l for l in out if l.split(b" ", 2)[1] == word]
    return out


class ImapNotifyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(None, imap_workers=2, cleartext="yes")
        try:
            cls.srv.start()
            cls.srv.add_account(USER, PASSWORD)
        except Exception:
            cls.srv.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def client(self):
        c = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"], timeout=20)
        c.login(USER, PASSWORD)
        return c

    def raw(self):
        r = Raw(self.srv.ports["imap"])
        lines = r.cmd(b"L", b'LOGIN "%s" "%s"' % (USER.encode(),
                                                  PASSWORD.encode()))
        self.assertTrue(lines[-1].startswith(b"L OK"), lines)
        return r

    def ok(self, r, tag, text):
        lines = r.cmd(tag, text)
        self.assertTrue(lines[-1].startswith(tag + b" OK"), lines)
        return lines

    def wait_for(self, r, pred, what, timeout=10):
        """Reads lines until pred(line); returns the lines read."""
        lines = []
        end = time.time() + timeout
        while time.time() < end:
            try:
                line = r.line(max(0.1, end - time.time()))
            except socket.timeout:
                break
            lines.append(line)
            if pred(line):
                return lines
        self.fail("no %s in %r" % (what, lines))

    def status_of(self, line):
        m = re.match(rb"^\* STATUS (\S+) \((.*)\)$", line)
        self.assertIsNotNone(m, line)
        items = m.group(2).split()
        return m.group(1), {items[i]: int(items[i + 1])
                            for i in range(0, len(items), 2)}

    # --- Capability, syntax, refusals ---
    def test_capability(self):
        c = self.client()
        typ, data = c.capability()
        self.assertIn(b"NOTIFY", data[0].split())
        c.logout()

    def test_bad_and_badevent_change_nothing(self):
        c = self.client()
        c.create("Keep")
        r = self.raw()
        self.ok(r, b"N0", b"NOTIFY SET (mailboxes Keep (MessageNew "
                b"MessageExpunge))")
        bad = [
            b"NOTIFY",
            b"NOTIFY SET",
            b"NOTIFY SOMETIMES",
            b"NOTIFY NONE extra",
            b"NOTIFY SET (selected (MailboxName))",
            b"NOTIFY SET (selected (MessageNew MessageExpunge "
            b"MailboxMetadataChange))",
            b"NOTIFY SET (selected-delayed (ServerMetadataChange))",
            b"NOTIFY SET (selected (MessageNew MessageExpunge)) "
            b"(selected-delayed (MessageNew MessageExpunge))",
            b"NOTIFY SET (personal (MessageNew (UID) MessageExpunge))",
            b"NOTIFY SET (selected (MessageNew (UID BOGUS) "
            b"MessageExpunge))",
            b"NOTIFY SET (selected (MessageNew (UID MessageExpunge))",
            b"NOTIFY SET (nowhere (MessageNew MessageExpunge))",
            b"NOTIFY SET (personal MessageNew)",
            b"NOTIFY SET STATUS",
        ]
        for i, text in enumerate(bad):
            tag = b"B%d" % i
            lines = r.cmd(tag, text)
            self.assertTrue(lines[-1].startswith(tag + b" BAD"),
                            (text, lines))
        badevent = [
            b"NOTIFY SET (selected (MessageNew MessageExpunge "
            b"AnnotationChange))",
            b"NOTIFY SET (personal (MailboxMetadataChange "
            b"AnnotationChange))",
            b"NOTIFY SET (personal (FutureEvent))",
        ]
        for i, text in enumerate(badevent):
            tag = b"E%d" % i
            lines = r.cmd(tag, text)
            self.assertEqual(lines[-1][:len(tag) + 1], tag + b" ")
            m = re.match(rb"^E\d+ NO \[BADEVENT \(([^)]*)\)\]", lines[-1])
            self.assertIsNotNone(m, (text, lines))
            self.assertEqual(sorted(m.group(1).split()),
                             sorted([b"MessageNew", b"MessageExpunge",
                                     b"FlagChange", b"MailboxName",
                                     b"SubscriptionChange",
                                     b"MailboxMetadataChange",
                                     b"ServerMetadataChange"]))
        # The first NOTIFY still holds: Keep's new message is told.
        c.append("Keep", None, None, message(1))
        got = self.wait_for(r, lambda l: l.startswith(b"* STATUS Keep "),
                            "STATUS of Keep")
        name, st = self.status_of(got[-1])
        self.assertEqual((st[b"MESSAGES"], st[b"UIDNEXT"]), (1, 2))
        self.ok(r, b"X", b"NOTIFY NONE")
        r.close()
        c.logout()

    def test_lone_events_taken_as_dovecot_does(self):
        # RFC 5465 5 says BAD; Dovecot and imaptest's script take them.
        c = self.client()
        c.create("Lone")
        c.append("Lone", None, None, message(1))
        r = self.raw()
        lines = self.ok(r, b"N", b"NOTIFY SET STATUS (mailboxes Lone "
                        b"(MessageExpunge))")
        _, st = self.status_of(untagged(lines, b"STATUS")[0])
        self.assertEqual(st[b"MESSAGES"], 1)
        self.assertNotIn(b"HIGHESTMODSEQ", st)
        # FlagChange: with HIGHESTMODSEQ (3.1), CONDSTORE enabled or not.
        lines = self.ok(r, b"F", b"NOTIFY SET STATUS (mailboxes Lone "
                        b"(FlagChange))")
        _, st = self.status_of(untagged(lines, b"STATUS")[0])
        self.assertIn(b"UIDVALIDITY", st)
        hms = st[b"HIGHESTMODSEQ"]
        # A keyword changes no count but the modseq: told.
        c.select("Lone")
        c.store("1", "+FLAGS", "($Work)")
        got = self.wait_for(r, lambda l: l.startswith(b"* STATUS Lone "),
                            "STATUS after a keyword")
        self.assertGreater(self.status_of(got[-1])[1][b"HIGHESTMODSEQ"], hms)
        r.close()
        c.logout()

    # --- Other mailboxes: STATUS ---
    def test_set_status_sends_initial_status(self):
        c = self.client()
        c.create("Init/One")
        c.create("Init/Two")
        c.append("Init/One", None, None, message(1))
        c.append("Init/One", r"(\Seen)", None, message(2))
        r = self.raw()
        lines = self.ok(r, b"N", b"NOTIFY SET STATUS (subtree Init "
                        b"(MessageNew MessageExpunge))")
        st = dict(self.status_of(l) for l in untagged(lines, b"STATUS"))
        self.assertEqual(sorted(st), [b"Init", b"Init/One", b"Init/Two"])
        one = st[b"Init/One"]
        self.assertEqual((one[b"MESSAGES"], one[b"UIDNEXT"], one[b"UNSEEN"]),
                         (2, 3, 1))
        self.assertIn(b"UIDVALIDITY", one)
        self.assertEqual(st[b"Init/Two"][b"MESSAGES"], 0)
        # Without STATUS: no STATUS responses.
        lines = self.ok(r, b"M", b"NOTIFY SET (subtree Init (MessageNew "
                        b"MessageExpunge))")
        self.assertEqual(untagged(lines, b"STATUS"), [])
        r.close()
        c.logout()

    def test_own_changes_elsewhere_not_told(self):
        """RFC 5465 5: the server SHOULD NOT tell a client of what it
        did itself: its own APPEND, STORE and EXPUNGE in a mailbox other
        than the selected one bring no STATUS; another session's do."""
        c = self.client()
        c.create("Mine")
        r = self.raw()
        self.ok(r, b"N", b"NOTIFY SET (personal (MessageNew MessageExpunge "
                b"FlagChange))")
        lines = self.ok(r, b"A", b"APPEND Mine {%d+}\r\n%s" % (
            len(message(1)), message(1)))
        self.assertEqual(untagged(lines, b"STATUS"), [])
        self.assertEqual(r.quiet(), [])
        # The same from another session is told.
        c.append("Mine", None, None, message(2))
        got = self.wait_for(r, lambda l: l.startswith(b"* STATUS Mine "),
                            "STATUS after the other session's APPEND")
        self.assertEqual(self.status_of(got[-1])[1][b"MESSAGES"], 2)
        r.close()
        c.logout()

    def test_other_mailbox_changes(self):
        c = self.client()
        c.create("Far")
        c.create("Elsewhere")
        r = self.raw()
        self.ok(r, b"N", b"NOTIFY SET (personal (MessageNew MessageExpunge "
                b"FlagChange))")
        # Between commands, with no command sent: a new message.
        c.append("Far", None, None, message(1))
        got = self.wait_for(r, lambda l: l.startswith(b"* STATUS Far "),
                            "STATUS after APPEND")
        self.assertEqual(untagged(got[:-1], b"STATUS"), [])
        _, st = self.status_of(got[-1])
        self.assertEqual((st[b"MESSAGES"], st[b"UIDNEXT"], st[b"UNSEEN"]),
                         (1, 2, 1))
        # FlagChange brings HIGHESTMODSEQ (RFC 5465 3.1, 5.1).
        hms = st[b"HIGHESTMODSEQ"]
        # A flag change shows in UNSEEN (FlagChange).
        c.select("Far")
        c.store("1", "+FLAGS", r"(\Seen)")
        got = self.wait_for(r, lambda l: l.startswith(b"* STATUS Far "),
                            "STATUS after STORE")
        self.assertEqual(self.status_of(got[-1])[1][b"UNSEEN"], 0)
        # \Deleted changes neither the count nor UNSEEN, but the modseq.
        c.store("1", "+FLAGS", r"(\Deleted)")
        got = self.wait_for(r, lambda l: l.startswith(b"* STATUS Far "),
                            "STATUS after \\Deleted")
        _, st = self.status_of(got[-1])
        self.assertEqual((st[b"MESSAGES"], st[b"UNSEEN"]), (1, 0))
        self.assertGreater(st[b"HIGHESTMODSEQ"], hms)
        # An expunge.
        c.expunge()
        got = self.wait_for(r, lambda l: l.startswith(b"* STATUS Far ") and
                            b"MESSAGES 0" in l, "STATUS after EXPUNGE")
        _, st = self.status_of(got[-1])
        self.assertEqual((st[b"MESSAGES"], st[b"UIDNEXT"]), (0, 2))
        # Without FlagChange: no HIGHESTMODSEQ, and a flag change that
        # leaves the counts is not told.
        self.ok(r, b"M", b"NOTIFY SET (personal (MessageNew "
                b"MessageExpunge))")
        c.append("Elsewhere", None, None, message(4))
        got = self.wait_for(r, lambda l: l.startswith(b"* STATUS "
                                                      b"Elsewhere "),
                            "STATUS without FlagChange")
        self.assertNotIn(b"HIGHESTMODSEQ", self.status_of(got[-1])[1])
        c.select("Elsewhere")
        c.store("1", "+FLAGS", r"(\Flagged)")
        self.assertEqual(r.quiet(), [])
        # With CONDSTORE on, HIGHESTMODSEQ comes along (RFC 5465 5.2).
        self.ok(r, b"E", b"ENABLE CONDSTORE")
        c.append("Elsewhere", None, None, message(2))
        got = self.wait_for(r, lambda l: l.startswith(b"* STATUS "
                                                      b"Elsewhere "),
                            "STATUS with HIGHESTMODSEQ")
        self.assertIn(b"HIGHESTMODSEQ", self.status_of(got[-1])[1])
        # NOTIFY NONE: nothing any more.
        self.ok(r, b"X", b"NOTIFY NONE")
        c.append("Far", None, None, message(3))
        time.sleep(0.5)
        lines = self.ok(r, b"Y", b"NOOP")
        self.assertEqual(untagged(lines), [])
        self.assertEqual(r.quiet(), [])
        r.close()
        c.logout()

    def test_mailboxes_filter_and_idle(self):
        c = self.client()
        c.create("Watched")
        c.create("Ignored")
        r = self.raw()
        self.ok(r, b"N", b"NOTIFY SET (mailboxes (Watched \"No Such\") "
                b"(MessageNew MessageExpunge))")
        c.append("Ignored", None, None, message(1))
        c.append("Watched", None, None, message(2))
        got = self.wait_for(r, lambda l: l.startswith(b"* STATUS "),
                            "STATUS")
        self.assertTrue(got[-1].startswith(b"* STATUS Watched "), got)
        self.assertEqual(r.quiet(), [])
        # Inside IDLE too (RFC 5465 4).
        r.send(b"I IDLE\r\n")
        self.assertTrue(r.line().startswith(b"+ "))
        c.append("Watched", None, None, message(3))
        got = self.wait_for(r, lambda l: l.startswith(b"* STATUS "),
                            "STATUS in IDLE")
        self.assertEqual(self.status_of(got[-1])[1][b"MESSAGES"], 2)
        r.send(b"DONE\r\n")
        self.assertTrue(r.until(b"I")[-1].startswith(b"I OK"))
        r.close()
        c.logout()

    # --- The selected mailbox ---
    def test_selected_events_between_commands(self):
        c = self.client()
        c.create("Live")
        r = self.raw()
        self.ok(r, b"E", b"ENABLE IMAP4rev2")
        self.ok(r, b"S", b"SELECT Live")
        self.ok(r, b"N", b"NOTIFY SET (selected (MessageNew (UID "
                b"BODY.PEEK[HEADER.FIELDS (Subject)]) MessageExpunge "
                b"FlagChange))")
        c.select("Live")
        c.append("Live", None, None, message(1, b"pushed"))
        got = self.wait_for(r, lambda l: l.startswith(b"* 1 FETCH"),
                            "FETCH of the new message")
        self.assertIn(b"* 1 EXISTS", got)
        m = re.match(rb"^\* 1 FETCH \((.*)\{(\d+)\}$", got[-1])
        self.assertIsNotNone(m, got[-1])
        self.assertIn(b"UID 1", m.group(1))
        self.assertIn(b"BODY[HEADER.FIELDS (SUBJECT)]", m.group(1).upper())
        self.assertEqual(r.literal(int(m.group(2))),
                         b"Subject: pushed\r\n\r\n")
        self.assertEqual(r.line(), b")")
        # \Seen was not set by the FETCH (PEEK).
        c.noop()
        typ, data = c.fetch("1", "(FLAGS)")
        self.assertNotIn(b"\\Seen", data[0])
        # Flags of another session (FlagChange).
        c.store("1", "+FLAGS", r"(\Flagged)")
        got = self.wait_for(r, lambda l: b"FETCH" in l, "FETCH FLAGS")
        self.assertEqual(got[-1], b"* 1 FETCH (UID 1 FLAGS (\\Flagged))")
        # An expunge, immediately with SELECTED (not delayed).
        c.append("Live", None, None, message(2))
        got = self.wait_for(r, lambda l: l.startswith(b"* 2 FETCH"),
                            "FETCH of message 2")
        r.literal(int(re.search(rb"\{(\d+)\}$", got[-1]).group(1)))
        self.assertEqual(r.line(), b")")
        c.store("1", "+FLAGS", r"(\Deleted)")
        self.wait_for(r, lambda l: b"FETCH" in l, "FETCH \\Deleted")
        c.expunge()
        got = self.wait_for(r, lambda l: l == b"* 1 EXPUNGE", "EXPUNGE")
        self.assertEqual(r.quiet(), [b"* 1 EXISTS"])
        lines = self.ok(r, b"F", b"FETCH 1:* (UID)")
        self.assertEqual(untagged(lines), [b"* 1 FETCH (UID 2)"])
        r.close()
        c.logout()

    def test_message_new_not_for_own_messages(self):
        # RFC 5465 5.2: the FETCH of MessageNew is for messages others
        # add; the session's own APPEND and COPY into the selected
        # mailbox get their EXISTS only.  (A message another session adds
        # while this one runs a command is learnt by the command's end and
        # told between commands; when it comes does not depend on the
        # test, so only its FETCH is checked.)
        c = self.client()
        c.create("During")
        r = self.raw()
        self.ok(r, b"E", b"ENABLE IMAP4rev2")
        self.ok(r, b"S", b"SELECT During")
        self.ok(r, b"N", b"NOTIFY SET (selected (MessageNew (UID "
                b"FLAGS) MessageExpunge))")
        own = message(21, b"mine")
        r.send(b"A APPEND During {%d}\r\n" % len(own))
        self.assertTrue(r.line().startswith(b"+"))
        c.append("During", None, None, message(22, b"theirs"))
        time.sleep(0.5)
        r.send(own + b"\r\n")
        lines = r.until(b"A")
        self.assertTrue(lines[-1].startswith(b"A OK"), lines)
        lines += r.quiet()
        fetches = [l for l in lines if b"FETCH" in l]
        self.assertEqual(fetches, [b"* 1 FETCH (UID 1 FLAGS ())"])
        self.assertIn(b"* 2 EXISTS", lines)
        # The own APPEND alone: EXISTS with its OK, no FETCH after.
        lines = r.cmd(b"B", b"APPEND During {%d+}\r\n%s" % (len(own), own))
        self.assertIn(b"* 3 EXISTS", lines)
        self.assertEqual([l for l in lines if b"FETCH" in l], [])
        self.assertEqual(r.quiet(), [])
        # COPY into the selected mailbox itself: no FETCH either.
        lines = self.ok(r, b"C", b"UID COPY 1 During")
        self.assertIn(b"* 4 EXISTS", lines)
        self.assertEqual([l for l in lines if b"FETCH" in l], [])
        self.assertEqual(r.quiet(), [])
        # Another delivery between commands is still told.
        c.append("During", None, None, message(23))
        got = self.wait_for(r, lambda l: b"FETCH" in l, "FETCH of UID 5")
        self.assertEqual(got[-1], b"* 5 FETCH (UID 5 FLAGS ())")
        r.close()
        c.logout()

    def test_selected_without_flag_change_and_delayed(self):
        c = self.client()
        c.create("Calm")
        c.append("Calm", None, None, message(1))
        r = self.raw()
        self.ok(r, b"S", b"SELECT Calm")
        self.ok(r, b"N", b"NOTIFY SET (selected-delayed (MessageNew "
                b"MessageExpunge))")
        c.select("Calm")
        c.store("1", "+FLAGS", r"(\Flagged)")
        c.append("Calm", None, None, message(2))
        c.store("1", "+FLAGS", r"(\Deleted)")
        c.expunge()
        # Delayed: an expunge waits for a command that may report it.
        self.assertEqual([l for l in r.quiet() if b"EXPUNGE" in l], [])
        lines = self.ok(r, b"P", b"NOOP")
        self.assertIn(b"* 1 EXPUNGE", lines)
        self.assertIn(b"* 1 EXISTS", lines)
        # No FlagChange asked: no FETCH FLAGS.
        self.assertEqual([l for l in lines if b"FETCH" in l], [])
        # In IDLE, a command that may report them, they come at once.
        r.send(b"I IDLE\r\n")
        self.assertTrue(r.line().startswith(b"+ "))
        c.append("Calm", None, None, message(3))
        self.wait_for(r, lambda l: l == b"* 2 EXISTS", "EXISTS in IDLE")
        c.noop()
        c.store("1", "+FLAGS", r"(\Deleted)")
        c.expunge()
        self.wait_for(r, lambda l: l == b"* 1 EXPUNGE", "EXPUNGE in IDLE")
        r.send(b"DONE\r\n")
        lines = r.until(b"I")
        self.assertTrue(lines[-1].startswith(b"I OK"), lines)
        self.assertEqual([l for l in lines if b"FETCH" in l], [])
        r.close()
        c.logout()

    def test_no_selected_group_hides_selected_mailbox(self):
        c = self.client()
        c.create("Hidden")
        c.create("Side")
        r = self.raw()
        self.ok(r, b"S", b"SELECT Hidden")
        self.ok(r, b"N", b"NOTIFY SET (personal (MessageNew "
                b"MessageExpunge))")
        c.append("Hidden", None, None, message(1))
        c.append("Side", None, None, message(2))
        got = self.wait_for(r, lambda l: l.startswith(b"* STATUS Side "),
                            "STATUS of Side")
        # The selected mailbox is left to SELECTED, which is not asked.
        self.assertEqual([l for l in got if b"Hidden" in l or
                          b"EXISTS" in l], [])
        lines = self.ok(r, b"P", b"NOOP")
        self.assertEqual(untagged(lines), [])
        # A new NOTIFY SET with SELECTED brings the change at once
        # (its implicit NOOP).
        lines = self.ok(r, b"M", b"NOTIFY SET (selected (MessageNew "
                        b"MessageExpunge))")
        self.assertIn(b"* 1 EXISTS", lines)
        r.close()
        c.logout()

    # --- Names and subscriptions ---
    def test_mailbox_name_events(self):
        c = self.client()
        r = self.raw()
        self.ok(r, b"N", b"NOTIFY SET (personal (MailboxName))")
        typ, _ = c.create("Tree/Leaf")
        self.assertEqual(typ, "OK")
        # Tree did not exist: CREATE made it (RFC 9051 6.3.4), and it is
        # told as created first, then the leaf, then the leaf's parent.
        got = self.wait_for(r, lambda l: l.endswith(b'"/" Tree/Leaf'),
                            "LIST of the leaf")
        self.assertEqual(got, [b'* LIST (\\HasChildren) "/" Tree',
                               b'* LIST (\\HasNoChildren) "/" Tree/Leaf'])
        got = self.wait_for(r, lambda l: l.endswith(b'"/" Tree'),
                            "LIST of the parent")
        self.assertEqual(got, [b'* LIST (\\HasChildren) "/" Tree'])
        # Each level made on the way is told, outermost first, each
        # followed by its parent's (whose children changed, 5.4).
        typ, _ = c.create("Deep/er/Leaf")
        self.assertEqual(typ, "OK")
        got = self.wait_for(r, lambda l: l.endswith(b'"/" Deep/er/Leaf'),
                            "LIST of Deep/er/Leaf")
        self.assertEqual(got, [b'* LIST (\\HasChildren) "/" Deep',
                               b'* LIST (\\HasChildren) "/" Deep/er',
                               b'* LIST (\\HasChildren) "/" Deep',
                               b'* LIST (\\HasNoChildren) "/" Deep/er/Leaf'])
        got = self.wait_for(r, lambda l: l.endswith(b'"/" Deep/er'),
                            "LIST of the parent of Deep/er/Leaf")
        self.assertEqual(got, [b'* LIST (\\HasChildren) "/" Deep/er'])
        # RENAME to a name under a new parent makes it too.
        typ, _ = c.rename("Deep/er/Leaf", "Far/Leaf")
        self.assertEqual(typ, "OK")
        got = self.wait_for(r, lambda l: b"OLDNAME" in l, "OLDNAME")
        self.assertEqual(got[0], b'* LIST (\\HasChildren) "/" Far')
        self.assertEqual(got[-1], b'* LIST (\\HasNoChildren) "/" '
                         b'Far/Leaf ("OLDNAME" (Deep/er/Leaf))')
        self.assertEqual(r.quiet(), [])
        typ, _ = c.rename("Tree/Leaf", "Tree/Branch")
        self.assertEqual(typ, "OK")
        got = self.wait_for(r, lambda l: b"OLDNAME" in l, "OLDNAME")
        self.assertEqual(got[-1], b'* LIST (\\HasNoChildren) "/" '
                         b'Tree/Branch ("OLDNAME" (Tree/Leaf))')
        typ, _ = c.delete("Tree/Branch")
        self.assertEqual(typ, "OK")
        got = self.wait_for(r, lambda l: l.endswith(b'"/" Tree'),
                            "LIST of the parent after DELETE")
        self.assertIn(b'* LIST (\\NonExistent) "/" Tree/Branch', got)
        self.assertEqual(got[-1], b'* LIST (\\HasNoChildren) "/" Tree')
        # The session's own changes are not told (RFC 5465 5).
        self.ok(r, b"C", b"CREATE Mine")
        self.ok(r, b"D", b"DELETE Mine")
        self.assertEqual(r.quiet(), [])
        # NOTIFY NONE stops them.
        self.ok(r, b"X", b"NOTIFY NONE")
        c.create("Silent")
        self.assertEqual(r.quiet(), [])
        lines = self.ok(r, b"Y", b"NOOP")
        self.assertEqual(untagged(lines), [])
        r.close()
        c.logout()

    def test_subscription_events(self):
        c = self.client()
        c.create("Sub")
        r = self.raw()
        self.ok(r, b"N", b"NOTIFY SET (subtree Sub (SubscriptionChange))")
        c.subscribe("Sub")
        got = self.wait_for(r, lambda l: l.startswith(b"* LIST"), "LIST")
        self.assertEqual(got[-1],
                         b'* LIST (\\HasNoChildren \\Subscribed) "/" Sub')
        c.unsubscribe("Sub")
        got = self.wait_for(r, lambda l: l.startswith(b"* LIST"), "LIST")
        self.assertEqual(got[-1], b'* LIST (\\HasNoChildren) "/" Sub')
        # A name without a mailbox.
        c.subscribe("Sub/Ghost")
        got = self.wait_for(r, lambda l: l.startswith(b"* LIST"), "LIST")
        self.assertEqual(got[-1],
                         b'* LIST (\\NonExistent \\Subscribed) "/" Sub/Ghost')
        # Outside the subtree: nothing; MailboxName was not asked.
        c.subscribe("INBOX")
        c.create("Sub/New")
        self.assertEqual(r.quiet(), [])
        r.close()
        c.logout()

    def test_metadata_events(self):
        """RFC 5465 5.6, 5.7 (required with METADATA): an unsolicited
        METADATA response names the entries another session set or
        removed, for the mailboxes the group covers, and "" for the
        server's."""
        c = self.client()
        c.create("Meta")
        c.create("Other")
        r = self.raw()
        self.ok(r, b"N", b"NOTIFY SET (mailboxes Meta "
                b"(MailboxMetadataChange ServerMetadataChange))")

        w = self.raw()

        def setmeta(mbox, *kv):
            self.ok(w, b"W", ("SETMETADATA %s (%s)" % (
                mbox, " ".join(kv))).encode())

        setmeta("Meta", "/private/comment", '"hello"',
                "/shared/vendor/x", '"y"')
        got = self.wait_for(r, lambda l: l.startswith(b"* METADATA"),
                            "METADATA of Meta")
        self.assertEqual(got[-1], b"* METADATA Meta /private/comment "
                         b"/shared/vendor/x")
        # A removed entry is named too (5.6: MUST).
        setmeta("Meta", "/private/comment", "NIL")
        got = self.wait_for(r, lambda l: l.startswith(b"* METADATA"),
                            "METADATA after NIL")
        self.assertEqual(got[-1], b"* METADATA Meta /private/comment")
        # The server's entries: the mailbox is "".
        setmeta('""', "/private/comment", '"srv"')
        got = self.wait_for(r, lambda l: l.startswith(b"* METADATA"),
                            "server METADATA")
        self.assertEqual(got[-1], b'* METADATA "" /private/comment')
        # A mailbox outside the group: nothing.
        setmeta("Other", "/private/comment", '"no"')
        self.assertEqual(r.quiet(), [])
        # Without the events: nothing for Meta either.
        self.ok(r, b"M", b"NOTIFY SET (mailboxes Meta (MailboxName))")
        setmeta("Meta", "/private/comment", '"again"')
        setmeta('""', "/private/comment", '"again"')
        self.assertEqual(r.quiet(), [])
        # Its own change is not told to the session that made it.
        self.ok(r, b"O", b"NOTIFY SET (mailboxes Meta "
                b"(MailboxMetadataChange))")
        lines = self.ok(r, b"S", b'SETMETADATA Meta (/private/comment '
                        b'"mine")')
        self.assertEqual(untagged(lines, b"METADATA"), [])
        self.assertEqual(r.quiet(), [])
        self.ok(r, b"X", b"NOTIFY NONE")
        r.close()
        w.close()
        c.logout()

    def test_zz_storaged_restart_keeps_watching(self):
        """The new storaged learns again what the session watches."""
        c = self.client()
        c.create("Survive")
        c.logout()
        r = self.raw()
        self.ok(r, b"N", b"NOTIFY SET (mailboxes Survive (MessageNew "
                b"MessageExpunge))")
        victim = self.srv.children()["storaged"][0]
        os.kill(victim, signal.SIGKILL)
        self.srv.wait_log(r"storaged\[%d\] killed by signal 9" % victim)
        self.srv.wait_ready()
        deadline = time.time() + 30
        while True:
            try:
                c = self.client()
                typ, _ = c.append("Survive", None, None, message(1))
                if typ == "OK":
                    break
            except (imaplib.IMAP4.error, OSError):
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        got = self.wait_for(r, lambda l: l.startswith(b"* STATUS Survive "),
                            "STATUS after storaged restarted")
        self.assertEqual(self.status_of(got[-1])[1][b"MESSAGES"], 1)
        r.close()
        c.logout()


if __name__ == "__main__":
    unittest.main()

# SPDX-License-Identifier: ISC
"""imapd's mailbox commands of the authenticated state through imaplib.

LIST with its extensions (RFC 9051 6.3.9, RFC 5258 selection and return
options, RFC 6154 special use, RFC 5819 STATUS), LSUB, CREATE (nested, with
USE), DELETE, RENAME, SUBSCRIBE/UNSUBSCRIBE, STATUS, NAMESPACE, ID and
ENABLE against the real server and storaged, with mailbox names in modified
UTF-7 and, after ENABLE UTF8=ACCEPT, in UTF-8.  Each test logs in as its own
account, which starts with the default mailboxes Inbox (shown as INBOX),
Drafts, Sent, Trash, Junk and Archive, all subscribed.  Malformed commands
are sent on a raw socket to check the exact BAD texts.
"""
import imaplib
import re
import smtplib
import socket
import ssl
import unittest

from bulwark import Server

DOMAIN = "example.org"
PASSWORD = "mailbox test password"
DEFAULTS = [
    '(\\HasNoChildren \\Archive) "/" Archive',
    '(\\HasNoChildren \\Drafts) "/" Drafts',
    '(\\HasNoChildren) "/" INBOX',
    '(\\HasNoChildren \\Junk) "/" Junk',
    '(\\HasNoChildren \\Sent) "/" Sent',
    '(\\HasNoChildren \\Trash) "/" Trash',
]

imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED"))


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Raw:
    """A line client on a TLS socket: sends a command, returns its lines."""

    def __init__(self, port):
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock = tls_context().wrap_socket(raw)
        self.f = self.sock.makefile("rwb")
        self.f.readline()
        self.n = 0

    def cmd(self, line):
        self.n += 1
        tag = b"r%d" % self.n
        self.f.write(tag + b" " + line + b"\r\n")
        self.f.flush()
        lines = []
        while True:
            got = self.f.readline()
            if not got:
                raise AssertionError("connection closed after %r" % line)
            got = got.rstrip(b"\r\n")
            if got.startswith(tag + b" "):
                return lines, got[len(tag) + 1:]
            lines.append(got)

    def close(self):
        self.cmd(b"LOGOUT")
        self.sock.close()


class ImapMailboxTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(None, imap_workers=1, lmtp_workers=1)
        cls.users = 0
        try:
            cls.srv.start()
            cls.srv.ctl("domain", "add", DOMAIN)
        except Exception:
            cls.srv.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    # --- helpers ---
    def account(self):
        """A fresh account for this test; returns its address."""
        type(self).users += 1
        user = "u%d@%s" % (self.users, DOMAIN)
        self.srv.ctl("account", "add", user, password=PASSWORD)
        return user

    def login(self, user=None):
        user = user or self.account()
        c = imaplib.IMAP4_SSL("127.0.0.1", self.srv.ports["imaps"],
                              ssl_context=tls_context(), timeout=10)
        self.assertEqual(c.login(user, PASSWORD)[0], "OK")
        c.user = user
        return c

    def raw(self, user):
        r = Raw(self.srv.ports["imaps"])
        _, st = r.cmd(b'LOGIN "%s" "%s"' % (user.encode(), PASSWORD.encode()))
        self.assertTrue(st.startswith(b"OK"), st)
        return r

    def run_cmd(self, c, name, *args, untagged=None):
        """Runs a command; returns (status, tagged text, untagged data)."""
        typ, dat = c._simple_command(name, *args)
        data = []
        for key in (untagged or (name,)):
            _, d = c._untagged_response(typ, dat, key)
            data += [x for x in d if x is not None]
        return typ, dat[0].decode(), [x.decode() if isinstance(x, bytes) else x
                                      for x in data]

    def listed(self, c, *args):
        typ, text, data = self.run_cmd(c, "LIST", *args,
                                       untagged=("LIST", "STATUS"))
        self.assertEqual(typ, "OK", text)
        return data

    def assert_no(self, c, code, name, *args):
        typ, text, _ = self.run_cmd(c, name, *args)
        self.assertEqual(typ, "NO", text)
        self.assertTrue(text.startswith("[%s]" % code), text)

    # --- LIST ---
    def test_list_default_mailboxes(self):
        c = self.login()
        self.assertEqual(self.listed(c, '""', "*"), DEFAULTS)
        # The basic LIST "" "" gives the delimiter and the root.
        self.assertEqual(self.listed(c, '""', '""'), ['(\\Noselect) "/" ""'])
        # INBOX is case-insensitive, and LIST shows it as INBOX.
        self.assertEqual(self.listed(c, '""', "inbox"), ['(\\HasNoChildren) "/" INBOX'])
        self.assertEqual(self.listed(c, '""', "Nothing*"), [])
        c.logout()

    def test_list_patterns_and_reference(self):
        c = self.login()
        for name in ("Proj/A", "Proj/B/C"):
            self.assertEqual(c.create(name)[0], "OK")
        top = self.listed(c, '""', "%")
        self.assertIn('(\\HasChildren) "/" Proj', top)
        self.assertEqual(len(top), 7)
        self.assertEqual(self.listed(c, '""', "Proj/%"),
                         ['(\\HasNoChildren) "/" Proj/A', '(\\HasChildren) "/" Proj/B'])
        self.assertEqual(self.listed(c, '""', "Proj/*"),
                         ['(\\HasNoChildren) "/" Proj/A', '(\\HasChildren) "/" Proj/B',
                          '(\\HasNoChildren) "/" Proj/B/C'])
        # The reference is prefixed to the pattern.
        self.assertEqual(self.listed(c, "Proj/", "%"),
                         ['(\\HasNoChildren) "/" Proj/A', '(\\HasChildren) "/" Proj/B'])
        self.assertEqual(self.listed(c, "Proj/B/", "*"), ['(\\HasNoChildren) "/" Proj/B/C'])
        self.assertEqual(self.listed(c, '""', "%/%/%"), ['(\\HasNoChildren) "/" Proj/B/C'])
        # Several patterns (RFC 5258 3); empty ones are ignored.
        self.assertEqual(self.listed(c, '""', '(Sent "" Proj/A Trash)'),
                         ['(\\HasNoChildren) "/" Proj/A', '(\\HasNoChildren \\Sent) "/" Sent',
                          '(\\HasNoChildren \\Trash) "/" Trash'])
        self.assertEqual(self.listed(c, "()", '""', '""'), [])
        c.logout()

    def test_list_special_use(self):
        c = self.login()
        self.assertEqual(self.listed(c, "(SPECIAL-USE)", '""', "*"),
                         [l for l in DEFAULTS if "INBOX" not in l])
        self.assertEqual(self.listed(c, '""', "Sent", "RETURN", "(SPECIAL-USE CHILDREN)"),
                         ['(\\HasNoChildren \\Sent) "/" Sent'])
        c.logout()

    def test_list_return_status(self):
        user = self.account()
        self.deliver(user)
        # Raw, to see each STATUS right after its LIST (RFC 5819 2).
        r = self.raw(user)
        lines, st = r.cmd(b'LIST "" (INBOX Junk) RETURN (STATUS (MESSAGES UNSEEN UIDNEXT))')
        self.assertEqual(st, b"OK LIST completed")
        self.assertEqual(lines, [b'* LIST (\\HasNoChildren) "/" INBOX',
                                 b"* STATUS INBOX (MESSAGES 1 UIDNEXT 2 UNSEEN 1)",
                                 b'* LIST (\\HasNoChildren \\Junk) "/" Junk',
                                 b"* STATUS Junk (MESSAGES 0 UIDNEXT 1 UNSEEN 0)"])
        r.close()

    def test_list_return_status_recent(self):
        """RECENT in LIST's STATUS (RFC 5819 with RFC 3501 6.3.10) is what
        STATUS RECENT says: each mailbox's own count, which a read-write
        SELECT takes."""
        user = self.account()
        c = self.login(user)
        for name, n in (("Rec/A", 2), ("Rec/B", 1)):
            self.assertEqual(c.create(name)[0], "OK")
            for i in range(n):
                self.assertEqual(c.append(name, None, None, b"Subject: r%d"
                                          b"\r\n\r\nx\r\n" % i)[0], "OK")
        r = self.raw(user)
        cmd = b'LIST "" (Rec Rec/*) RETURN (STATUS (MESSAGES RECENT))'
        lines, st = r.cmd(cmd)
        self.assertEqual(st, b"OK LIST completed")
        self.assertEqual(lines, [b'* LIST (\\HasChildren) "/" Rec',
                                 b"* STATUS Rec (MESSAGES 0 RECENT 0)",
                                 b'* LIST (\\HasNoChildren) "/" Rec/A',
                                 b"* STATUS Rec/A (MESSAGES 2 RECENT 2)",
                                 b'* LIST (\\HasNoChildren) "/" Rec/B',
                                 b"* STATUS Rec/B (MESSAGES 1 RECENT 1)"])
        self.assertEqual(c.select("Rec/A")[0], "OK")
        lines, st = r.cmd(cmd)
        self.assertEqual(st, b"OK LIST completed")
        self.assertEqual(lines[3], b"* STATUS Rec/A (MESSAGES 2 RECENT 0)")
        self.assertEqual(lines[5], b"* STATUS Rec/B (MESSAGES 1 RECENT 1)")
        self.assertEqual(r.cmd(b"STATUS Rec/B (RECENT)"),
                         ([b"* STATUS Rec/B (RECENT 1)"], b"OK STATUS completed"))
        # With SUBSCRIBED: a name without a mailbox gets no STATUS.
        self.assertEqual(c.subscribe("Rec/Gone")[0], "OK")
        self.assertEqual(c.subscribe("Rec/B")[0], "OK")
        lines, st = r.cmd(b'LIST (SUBSCRIBED) "" Rec/* RETURN (STATUS (RECENT))')
        self.assertEqual(st, b"OK LIST completed")
        self.assertEqual(lines, [b'* LIST (\\HasNoChildren \\Subscribed) "/" Rec/B',
                                 b"* STATUS Rec/B (RECENT 1)",
                                 b'* LIST (\\HasNoChildren \\Subscribed '
                                 b'\\NonExistent) "/" Rec/Gone'])
        r.close()
        c.logout()

    def test_list_subscribed_and_recursivematch(self):
        c = self.login()
        self.assertEqual(c.create("Lists/dev")[0], "OK")
        self.assertEqual(c.create("Lists/announce")[0], "OK")
        # New mailboxes are not subscribed.
        self.assertEqual(self.listed(c, "(SUBSCRIBED)", '""', "Lists*"), [])
        self.assertEqual(c.subscribe("Lists/dev")[0], "OK")
        self.assertEqual(self.listed(c, "(SUBSCRIBED)", '""', "Lists*"),
                         ['(\\HasNoChildren \\Subscribed) "/" Lists/dev'])
        self.assertEqual(self.listed(c, "(SUBSCRIBED RECURSIVEMATCH)", '""', "%"),
                         ['(\\HasNoChildren \\Subscribed \\Archive) "/" Archive',
                          '(\\HasNoChildren \\Subscribed \\Drafts) "/" Drafts',
                          '(\\HasNoChildren \\Subscribed) "/" INBOX',
                          '(\\HasNoChildren \\Subscribed \\Junk) "/" Junk',
                          '(\\HasChildren) "/" Lists ("CHILDINFO" ("SUBSCRIBED"))',
                          '(\\HasNoChildren \\Subscribed \\Sent) "/" Sent',
                          '(\\HasNoChildren \\Subscribed \\Trash) "/" Trash'])
        # A child that is listed too makes CHILDINFO redundant.
        self.assertEqual(self.listed(c, "(SUBSCRIBED RECURSIVEMATCH)", '""', "Lists*"),
                         ['(\\HasNoChildren \\Subscribed) "/" Lists/dev'])
        # RETURN (SUBSCRIBED) marks without selecting.
        self.assertEqual(self.listed(c, '""', "Lists/*", "RETURN", "(SUBSCRIBED)"),
                         ['(\\HasNoChildren) "/" Lists/announce',
                          '(\\HasNoChildren \\Subscribed) "/" Lists/dev'])
        self.assertEqual(c.unsubscribe("Lists/dev")[0], "OK")
        self.assertEqual(self.listed(c, "(SUBSCRIBED)", '""', "Lists*"), [])
        # Unsubscribing what is not subscribed is fine (RFC 9051 6.3.8).
        self.assertEqual(c.unsubscribe("Lists/dev")[0], "OK")
        # A name without a mailbox can be subscribed (RFC 9051 6.3.7);
        # test_imap_subscribe.py has the rest.
        self.assertEqual(c.subscribe("Nope")[0], "OK")
        self.assertEqual(self.listed(c, "(SUBSCRIBED)", '""', "Nope"),
                         ['(\\HasNoChildren \\Subscribed \\NonExistent) "/" Nope'])
        c.logout()

    def test_lsub(self):
        c = self.login()
        typ, data = c.lsub('""', "*")
        self.assertEqual(typ, "OK")
        self.assertEqual([d.decode() for d in data],
                         ['() "/" Archive', '() "/" Drafts', '() "/" INBOX',
                          '() "/" Junk', '() "/" Sent', '() "/" Trash'])
        self.assertEqual(c.create("Feeds/news")[0], "OK")
        self.assertEqual(c.subscribe("Feeds/news")[0], "OK")
        # "%" reaches the unsubscribed parent: \Noselect (RFC 3501 6.3.9).
        typ, data = c.lsub('""', "F%")
        self.assertEqual([d.decode() for d in data], ['(\\Noselect) "/" Feeds'])
        typ, data = c.lsub("Feeds/", "%")
        self.assertEqual([d.decode() for d in data], ['() "/" Feeds/news'])
        c.logout()

    # --- CREATE, DELETE, RENAME ---
    def test_create_nested_and_special_use(self):
        c = self.login()
        self.assertEqual(c.create("Years/2025/Q1")[0], "OK")
        self.assertEqual(self.listed(c, '""', "Years*"),
                         ['(\\HasChildren) "/" Years', '(\\HasChildren) "/" Years/2025',
                          '(\\HasNoChildren) "/" Years/2025/Q1'])
        # A trailing delimiter is ignored (RFC 9051 6.3.4).
        self.assertEqual(c.create("Later/")[0], "OK")
        self.assertEqual(self.listed(c, '""', "Later*"), ['(\\HasNoChildren) "/" Later'])
        # Children of INBOX live under the inbox.
        self.assertEqual(c.create("inbox/Sub")[0], "OK")
        self.assertEqual(self.listed(c, '""', "INBOX*"),
                         ['(\\HasChildren) "/" INBOX', '(\\HasNoChildren) "/" INBOX/Sub'])
        # CREATE-SPECIAL-USE (RFC 6154 3).
        typ, text, _ = self.run_cmd(c, "CREATE", "Starred", "(USE (\\Flagged))")
        self.assertEqual(typ, "OK", text)
        # With the new mailbox's id (RFC 8474 4.1), the one STATUS gives.
        mailboxid = re.match(r"\[MAILBOXID \((B[0-9a-f]+)\)\] CREATE completed$", text).group(1)
        _, _, data = self.run_cmd(c, "STATUS", "Starred", "(MAILBOXID)")
        self.assertEqual(data, ["Starred (MAILBOXID (%s))" % mailboxid])
        self.assertEqual(self.listed(c, "(SPECIAL-USE)", '""', "Starred"),
                         ['(\\HasNoChildren \\Flagged) "/" Starred'])
        self.assert_no(c, "USEATTR", "CREATE", "Sent2", "(USE (\\Sent))")
        self.assert_no(c, "USEATTR", "CREATE", "Odd", "(USE (\\Bogus))")
        self.assertEqual(self.listed(c, '""', "Sent2"), [])
        c.logout()

    def test_create_existing(self):
        c = self.login()
        self.assert_no(c, "ALREADYEXISTS", "CREATE", "Sent")
        self.assert_no(c, "ALREADYEXISTS", "CREATE", "INBOX")
        self.assert_no(c, "ALREADYEXISTS", "CREATE", "iNbOx")
        self.assertEqual(c.create("Twice")[0], "OK")
        self.assert_no(c, "ALREADYEXISTS", "CREATE", "Twice")
        self.assert_no(c, "CANNOT", "CREATE", '"a//b"')
        self.assert_no(c, "CANNOT", "CREATE", '"star*"')
        c.logout()

    def test_delete(self):
        c = self.login()
        self.assertEqual(c.create("Old/Stuff")[0], "OK")
        self.assert_no(c, "HASCHILDREN", "DELETE", "Old")
        self.assert_no(c, "NONEXISTENT", "DELETE", "Never")
        self.assert_no(c, "CANNOT", "DELETE", "INBOX")
        self.assertEqual(c.delete("Old/Stuff")[0], "OK")
        self.assertEqual(self.listed(c, '""', "Old*"), ['(\\HasNoChildren) "/" Old'])
        self.assertEqual(c.delete("Old")[0], "OK")
        self.assertEqual(self.listed(c, '""', "Old*"), [])
        self.assert_no(c, "NONEXISTENT", "DELETE", "Old")
        c.logout()

    def test_rename_with_children(self):
        c = self.login()
        self.assertEqual(c.create("Tree/Leaf/Bud")[0], "OK")
        self.assertEqual(c.rename("Tree", "Wood/Forest")[0], "OK")
        self.assertEqual(self.listed(c, '""', "Tree*"), [])
        self.assertEqual(self.listed(c, '""', "Wood*"),
                         ['(\\HasChildren) "/" Wood', '(\\HasChildren) "/" Wood/Forest',
                          '(\\HasChildren) "/" Wood/Forest/Leaf',
                          '(\\HasNoChildren) "/" Wood/Forest/Leaf/Bud'])
        self.assert_no(c, "ALREADYEXISTS", "RENAME", "Wood", "Sent")
        self.assert_no(c, "ALREADYEXISTS", "RENAME", "Wood", "INBOX")
        self.assert_no(c, "NONEXISTENT", "RENAME", "Tree", "Other")
        self.assert_no(c, "CANNOT", "RENAME", "Wood", "Wood/Forest/Again")
        c.logout()

    def test_rename_inbox_leaves_it_empty(self):
        user = self.account()
        self.deliver(user)
        c = self.login(user)
        self.assertEqual(c.rename("INBOX", "Saved")[0], "OK")
        typ, text, data = self.run_cmd(c, "STATUS", "INBOX", "(MESSAGES)")
        self.assertEqual(data, ["INBOX (MESSAGES 0)"])
        typ, text, data = self.run_cmd(c, "STATUS", "Saved", "(MESSAGES)")
        self.assertEqual(data, ["Saved (MESSAGES 1)"])
        c.logout()

    # --- STATUS ---
    def deliver(self, user):
        """Delivers one message to user's inbox over LMTP; returns it."""
        msg = ("From: sender@example.net\r\nTo: %s\r\nSubject: status test\r\n"
               "Message-ID: <%s.status@example.net>\r\n\r\nHello.\r\n" % (user, user))
        c = smtplib.LMTP(self.srv.lmtp_socket, timeout=30)
        c.sendmail("sender@example.net", [user], msg)
        c.quit()
        return msg

    def test_status_items(self):
        user = self.account()
        self.deliver(user)
        # The stored size, as bulwarkctl shows it (lmtpd adds headers).
        rows = self.srv.ctl("message", "list", user, "INBOX").stdout.splitlines()
        size = int(rows[1].split()[3])
        c = self.login(user)
        _, _, data = self.run_cmd(c, "LIST", '""', "INBOX", "RETURN",
                                  "(STATUS (UIDVALIDITY MAILBOXID))", untagged=("STATUS",))
        uidvalidity, mailboxid = re.match(r"INBOX \(UIDVALIDITY (\d+) MAILBOXID \((\w+)\)\)",
                                          data[0]).groups()
        typ, text, data = self.run_cmd(
            c, "STATUS", "INBOX",
            "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN SIZE RECENT MAILBOXID HIGHESTMODSEQ)")
        self.assertEqual(typ, "OK", text)
        m = re.match(r"INBOX \(MESSAGES 1 RECENT 1 UIDNEXT 2 UIDVALIDITY (\d+) UNSEEN 1 "
                     r"SIZE (\d+) HIGHESTMODSEQ (\d+) MAILBOXID \((\w+)\)\)$", data[0])
        self.assertIsNotNone(m, data)
        self.assertEqual(m.group(1), uidvalidity)
        self.assertEqual(int(m.group(2)), size)
        self.assertGreater(int(m.group(3)), 0)
        self.assertEqual(m.group(4), mailboxid)
        # Another mailbox has another id.
        _, _, data = self.run_cmd(c, "STATUS", "Trash", "(MAILBOXID MESSAGES)")
        self.assertRegex(data[0], r"^Trash \(MESSAGES 0 MAILBOXID \(\w+\)\)$")
        self.assertNotIn("(%s)" % mailboxid, data[0])
        self.assert_no(c, "NONEXISTENT", "STATUS", "Missing", "(MESSAGES)")
        # SELECT names the mailbox the same way (lib/objid.h).
        self.assertEqual(c.select("INBOX")[0], "OK")
        self.assertEqual(c.response("MAILBOXID"), ("MAILBOXID", [b"(%s)" % mailboxid.encode()]))
        c.logout()

    def test_status_refusals(self):
        user = self.account()
        r = self.raw(user)
        # DELETED is answered from the store's counter (RFC 9051, RFC 9208).
        self.assertEqual(r.cmd(b"STATUS INBOX (MESSAGES DELETED)"),
                         ([b"* STATUS INBOX (MESSAGES 0 DELETED 0)"], b"OK STATUS completed"))
        # APPENDLIMIT is the one of the capability (RFC 7889 3.1).
        lines, _ = r.cmd(b"CAPABILITY")
        limit = re.search(rb" APPENDLIMIT=(\d+)", lines[0]).group(1)
        self.assertEqual(r.cmd(b"STATUS INBOX (APPENDLIMIT)"),
                         ([b"* STATUS INBOX (APPENDLIMIT %s)" % limit], b"OK STATUS completed"))
        self.assertEqual(r.cmd(b"STATUS INBOX (FROBS)"),
                         ([], b"BAD Unknown STATUS item FROBS"))
        self.assertEqual(r.cmd(b"STATUS INBOX MESSAGES"),
                         ([], b'BAD Expected "(" before STATUS items'))
        # RECENT is IMAP4rev1 only.
        self.assertEqual(r.cmd(b"ENABLE IMAP4rev2"),
                         ([b"* ENABLED IMAP4rev2"], b"OK ENABLE completed"))
        self.assertEqual(r.cmd(b"STATUS INBOX (RECENT)"),
                         ([], b"BAD Unknown STATUS item RECENT"))
        self.assertEqual(r.cmd(b"STATUS INBOX (MESSAGES)"),
                         ([b"* STATUS INBOX (MESSAGES 0)"], b"OK STATUS completed"))
        r.close()

    # --- NAMESPACE, ID, ENABLE ---
    def test_namespace(self):
        c = self.login()
        typ, data = c.namespace()
        self.assertEqual(typ, "OK")
        self.assertEqual(data, [b'(("" "/")) NIL NIL'])
        c.logout()

    def test_id(self):
        # ID works before login too (RFC 2971 3.1).
        c = imaplib.IMAP4_SSL("127.0.0.1", self.srv.ports["imaps"],
                              ssl_context=tls_context(), timeout=10)
        typ, text, data = self.run_cmd(c, "ID", '("name" "imaplib" "version" "3")')
        self.assertEqual(typ, "OK", text)
        self.assertEqual(data, ['("name" "Bulwark" "version" "0.1.0")'])
        typ, text, data = self.run_cmd(c, "ID", "NIL")
        self.assertEqual(data, ['("name" "Bulwark" "version" "0.1.0")'])
        c.logout()
        r = Raw(self.srv.ports["imaps"])
        self.assertEqual(r.cmd(b'ID ("name")'),
                         ([], b"BAD Expected a space between arguments"))
        self.assertEqual(r.cmd(b"ID name"),
                         ([], b"BAD Expected a list of ID fields or NIL"))
        self.assertEqual(r.cmd(b'ID ("a-field-name-longer-than-thirty-octets" NIL)'),
                         ([], b"BAD ID field name too long"))
        r.close()

    def test_enable(self):
        r = self.raw(self.account())
        before = r.cmd(b"CAPABILITY")
        self.assertIn(b" ENABLE ", before[0][0])
        self.assertEqual(r.cmd(b"ENABLE CONDSTORE X-UNKNOWN"),
                         ([b"* ENABLED CONDSTORE"], b"OK ENABLE completed"))
        # Only what a command newly enables is listed (RFC 5161 3.1).
        self.assertEqual(r.cmd(b"ENABLE condstore QRESYNC"),
                         ([b"* ENABLED QRESYNC"], b"OK ENABLE completed"))
        self.assertEqual(r.cmd(b"ENABLE QRESYNC"),
                         ([b"* ENABLED"], b"OK ENABLE completed"))
        self.assertEqual(r.cmd(b"ENABLE"), ([], b"BAD Missing argument"))
        # CAPABILITY does not change (RFC 9051 6.3.1).
        self.assertEqual(r.cmd(b"CAPABILITY"), before)
        r.close()
        # ENABLE is refused before login.
        r = Raw(self.srv.ports["imaps"])
        self.assertEqual(r.cmd(b"ENABLE UTF8=ACCEPT"),
                         ([], b"BAD Command not valid in this state"))
        r.close()

    def test_capabilities(self):
        c = self.login()
        typ, data = c.capability()
        caps = data[0].decode().split()
        for cap in ("ENABLE", "ID", "NAMESPACE", "CHILDREN", "LIST-EXTENDED",
                    "LIST-STATUS", "SPECIAL-USE", "CREATE-SPECIAL-USE", "UTF8=ACCEPT"):
            self.assertIn(cap, caps)
        self.assertNotIn("MAILBOX-REFERRALS", caps)
        c.logout()

    # --- International names ---
    def test_mutf7_names_round_trip(self):
        user = self.account()
        c = self.login(user)
        self.assertEqual(c.create("Entw&APw-rfe")[0], "OK")
        self.assertEqual(c.create("R&-D/Caf&AOk-")[0], "OK")
        self.assertEqual(self.listed(c, '""', "Entw*"), ['(\\HasNoChildren) "/" Entw&APw-rfe'])
        self.assertEqual(self.listed(c, '""', "R&-D/*"), ['(\\HasNoChildren) "/" R&-D/Caf&AOk-'])
        typ, text, data = self.run_cmd(c, "STATUS", "Entw&APw-rfe", "(MESSAGES)")
        self.assertEqual(data, ["Entw&APw-rfe (MESSAGES 0)"])
        # Not canonical modified UTF-7 ("a" encoded): refused.
        self.assert_no(c, "CANNOT", "CREATE", "&AGE-")
        c.logout()
        # The same names in UTF-8 once the client enables UTF8=ACCEPT.
        c = self.login(user)
        typ, data = c.enable("UTF8=ACCEPT")
        self.assertEqual(typ, "OK")
        self.assertEqual(self.listed(c, '""', "Entw*"), ['(\\HasNoChildren) "/" "Entwürfe"'])
        self.assertEqual(self.listed(c, '""', "R&D/*"), ['(\\HasNoChildren) "/" "R&D/Café"'])
        # UTF-8 names in, and "&" is itself.
        typ, text, _ = self.run_cmd(c, "CREATE", '"Ünïcode & more"')
        self.assertEqual(typ, "OK", text)
        typ, text, data = self.run_cmd(c, "STATUS", '"Ünïcode & more"', "(MESSAGES)")
        self.assertEqual(data, ['"Ünïcode & more" (MESSAGES 0)'])
        c.logout()
        # And back in modified UTF-7 for an IMAP4rev1 client.
        c = self.login(user)
        self.assertEqual(self.listed(c, '""', "&ANw-*"),
                         ['(\\HasNoChildren) "/" "&ANw-n&AO8-code &- more"'])
        c.logout()

    def test_utf8_names_with_imap4rev2(self):
        user = self.account()
        r = self.raw(user)
        self.assertEqual(r.cmd(b"ENABLE IMAP4rev2"),
                         ([b"* ENABLED IMAP4rev2"], b"OK ENABLE completed"))
        lines, st = r.cmd('CREATE "Ordner/Übersicht"'.encode())
        self.assertRegex(st, rb"^OK \[MAILBOXID \(B[0-9a-f]+\)\] CREATE completed$")
        self.assertEqual(r.cmd(b'LIST "" "Ordner/*"'),
                         (['* LIST (\\HasNoChildren) "/" "Ordner/Übersicht"'.encode()],
                          b"OK LIST completed"))
        r.close()
        r = self.raw(user)
        self.assertEqual(r.cmd(b'LIST "" "Ordner/*"'),
                         ([b'* LIST (\\HasNoChildren) "/" Ordner/&ANw-bersicht'],
                          b"OK LIST completed"))
        # 8-bit names are not modified UTF-7.
        lines, st = r.cmd('CREATE "Ä"'.encode())
        self.assertTrue(st.startswith(b"NO [CANNOT] "), st)
        r.close()

    # --- Malformed arguments ---
    def test_malformed_arguments(self):
        r = self.raw(self.account())
        for line, want in (
                (b"CREATE", b"BAD Missing argument"),
                (b"RENAME onlyone", b"BAD Missing argument"),
                (b"DELETE a b", b"BAD Unexpected extra arguments"),
                (b'LIST ""', b"BAD Missing argument"),
                (b'LIST "" (a', b"BAD Missing argument"),
                (b'LIST (BOGUS) "" *', b"BAD Unknown LIST selection option BOGUS"),
                (b'LIST "" * RETURN (BOGUS)', b"BAD Unknown LIST return option BOGUS"),
                (b'LIST "" * FOO (CHILDREN)', b"BAD Expected RETURN"),
                (b'LIST (RECURSIVEMATCH) "" *',
                 b"BAD RECURSIVEMATCH needs another selection option"),
                (b'LIST "" * RETURN (STATUS (BOGUS))', b"BAD Unknown STATUS item BOGUS"),
                (b"CREATE x (FOO (bar))", b"BAD Unknown CREATE parameter"),
                (b"CREATE x (USE (Drafts))", b"BAD Expected a special-use attribute"),
                (b'LSUB ""', b"BAD Missing argument"),
                (b"STATUS INBOX (MESSAGES", b"BAD Missing argument"),
                (b"STATUS INBOX ()", b"BAD Expected a STATUS item"),
                (b"ENABLE (IMAP4rev2)", b"BAD Expected an atom"),
        ):
            self.assertEqual(r.cmd(line), ([], want), line)
        # The session still works.
        self.assertEqual(r.cmd(b"NOOP"), ([], b"OK NOOP completed"))
        r.close()


if __name__ == "__main__":
    unittest.main()

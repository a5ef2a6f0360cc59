# SPDX-License-Identifier: ISC
"""Subscriptions are names, independent of mailboxes, through imaplib.

RFC 9051 6.3.7 and 6.3.8 (SUBSCRIBE of a name without a mailbox,
UNSUBSCRIBE of one), 6.3.5 with 6.3.7 (DELETE keeps the subscription),
6.3.6 (RENAME leaves subscriptions with the names, as Dovecot does), CREATE
of a subscribed name, RFC 5258 (LIST (SUBSCRIBED) with \\NonExistent,
RECURSIVEMATCH with CHILDINFO for a parent that does not exist) and LSUB of
RFC 3501 6.3.9 (a subscribed name whose parent does not exist, with "%").
Each test logs in as its own account, which starts with the default
mailboxes Inbox (shown as INBOX), Drafts, Sent, Trash, Junk and Archive, all
subscribed.
"""
import imaplib
import ssl
import unittest

from bulwark import Server

DOMAIN = "example.org"
PASSWORD = "subscribe test password"
# LIST (SUBSCRIBED) "" "*" of a new account.
DEFAULTS = [
    '(\\HasNoChildren \\Subscribed \\Archive) "/" Archive',
    '(\\HasNoChildren \\Subscribed \\Drafts) "/" Drafts',
    '(\\HasNoChildren \\Subscribed) "/" INBOX',
    '(\\HasNoChildren \\Subscribed \\Junk) "/" Junk',
    '(\\HasNoChildren \\Subscribed \\Sent) "/" Sent',
    '(\\HasNoChildren \\Subscribed \\Trash) "/" Trash',
]
LSUB_DEFAULTS = ['() "/" Archive', '() "/" Drafts', '() "/" INBOX',
                 '() "/" Junk', '() "/" Sent', '() "/" Trash']


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class ImapSubscribeTest(unittest.TestCase):
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
        type(self).users += 1
        user = "s%d@%s" % (self.users, DOMAIN)
        self.srv.ctl("account", "add", user, password=PASSWORD)
        return user

    def login(self, user=None):
        user = user or self.account()
        c = imaplib.IMAP4_SSL("127.0.0.1", self.srv.ports["imaps"],
                              ssl_context=tls_context(), timeout=10)
        self.assertEqual(c.login(user, PASSWORD)[0], "OK")
        c.user = user
        return c

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

    def lsub(self, c, ref, pat):
        typ, text, data = self.run_cmd(c, "LSUB", ref, pat)
        self.assertEqual(typ, "OK", text)
        return data

    def ok(self, c, name, *args):
        typ, text, _ = self.run_cmd(c, name, *args)
        self.assertEqual(typ, "OK", "%s %s: %s" % (name, args, text))

    # --- SUBSCRIBE, UNSUBSCRIBE ---
    def test_subscribe_name_without_mailbox(self):
        c = self.login()
        # RFC 9051 6.3.7: OK, also when subscribed already.
        self.ok(c, "SUBSCRIBE", "Ghost")
        self.ok(c, "SUBSCRIBE", "Ghost")
        self.assertEqual(self.listed(c, "(SUBSCRIBED)", '""', "*"),
                         DEFAULTS[:2] + ['(\\HasNoChildren \\Subscribed \\NonExistent) "/" Ghost']
                         + DEFAULTS[2:])
        self.assertEqual(self.lsub(c, '""', "*"),
                         LSUB_DEFAULTS[:2] + ['() "/" Ghost'] + LSUB_DEFAULTS[2:])
        # Still no mailbox: LIST without SUBSCRIBED does not show it.
        self.assertEqual(self.listed(c, '""', "Ghost"), [])
        self.assertEqual(self.listed(c, '""', "G*", "RETURN", "(SUBSCRIBED)"), [])
        typ, text, _ = self.run_cmd(c, "STATUS", "Ghost", "(MESSAGES)")
        self.assertEqual(typ, "NO", text)
        self.assertTrue(text.startswith("[NONEXISTENT]"), text)
        # RFC 5819: a name that is no mailbox gets no STATUS.
        self.assertEqual(self.listed(c, "(SUBSCRIBED)", '""', "Ghost", "RETURN",
                                     "(STATUS (MESSAGES))"),
                         ['(\\HasNoChildren \\Subscribed \\NonExistent) "/" Ghost'])
        # RFC 9051 6.3.8: the subscribed name without a mailbox goes...
        self.ok(c, "UNSUBSCRIBE", "Ghost")
        self.assertEqual(self.listed(c, "(SUBSCRIBED)", '""', "*"), DEFAULTS)
        self.assertEqual(self.lsub(c, '""', "*"), LSUB_DEFAULTS)
        # ... and unsubscribing what is not subscribed is OK too.
        self.ok(c, "UNSUBSCRIBE", "Ghost")
        self.ok(c, "UNSUBSCRIBE", "Never/Was")
        # Names are checked as mailbox names are.
        typ, text, _ = self.run_cmd(c, "SUBSCRIBE", '"a//b"')
        self.assertEqual(typ, "NO", text)
        self.assertTrue(text.startswith("[CANNOT]"), text)
        c.logout()

    def test_subscription_survives_restart(self):
        user = self.account()
        c = self.login(user)
        self.ok(c, "SUBSCRIBE", "Kept/For/Later")
        c.logout()
        self.srv.stop()
        self.srv.start()
        c = self.login(user)
        self.assertEqual(self.lsub(c, '""', "Kept*"), ['() "/" Kept/For/Later'])
        c.logout()

    def test_inbox_names(self):
        c = self.login()
        # "INBOX" in any case is the inbox, and below it its children.
        self.ok(c, "SUBSCRIBE", "inbox/Later")
        self.assertEqual(self.lsub(c, '""', "INBOX*"),
                         ['() "/" INBOX', '() "/" INBOX/Later'])
        self.assertEqual(self.listed(c, "(SUBSCRIBED)", '""', "INBOX/*"),
                         ['(\\HasNoChildren \\Subscribed \\NonExistent) "/" INBOX/Later'])
        self.ok(c, "CREATE", "INBOX/Later")
        self.assertEqual(self.listed(c, "(SUBSCRIBED)", '""', "INBOX/*"),
                         ['(\\HasNoChildren \\Subscribed) "/" INBOX/Later'])
        self.ok(c, "UNSUBSCRIBE", "Inbox")
        self.assertEqual(self.lsub(c, '""', "INBOX*"), ['() "/" INBOX/Later'])
        c.logout()

    # --- DELETE, CREATE, RENAME ---
    def test_delete_keeps_subscription(self):
        c = self.login()
        self.ok(c, "CREATE", "Project")
        self.ok(c, "SUBSCRIBE", "Project")
        self.ok(c, "CREATE", "Scratch")
        # RFC 9051 6.3.7: the server SHOULD NOT drop the subscription.
        self.ok(c, "DELETE", "Project")
        self.ok(c, "DELETE", "Scratch")
        self.assertEqual(self.listed(c, '""', "Project"), [])
        self.assertEqual(self.listed(c, "(SUBSCRIBED)", '""', "P*"),
                         ['(\\HasNoChildren \\Subscribed \\NonExistent) "/" Project'])
        # An unsubscribed mailbox leaves no subscription behind.
        self.assertEqual(self.listed(c, "(SUBSCRIBED)", '""', "S*"),
                         ['(\\HasNoChildren \\Subscribed \\Sent) "/" Sent'])
        self.assertEqual(self.lsub(c, '""', "P*"), ['() "/" Project'])
        # Made again, the mailbox is subscribed: the name was.
        self.ok(c, "CREATE", "Project")
        self.assertEqual(self.listed(c, '""', "P*", "RETURN", "(SUBSCRIBED)"),
                         ['(\\HasNoChildren \\Subscribed) "/" Project'])
        # Deleted again and unsubscribed while it does not exist.
        self.ok(c, "DELETE", "Project")
        self.ok(c, "UNSUBSCRIBE", "Project")
        self.assertEqual(self.listed(c, "(SUBSCRIBED)", '""', "P*"), [])
        self.ok(c, "CREATE", "Project")
        self.assertEqual(self.listed(c, '""', "P*", "RETURN", "(SUBSCRIBED)"),
                         ['(\\HasNoChildren) "/" Project'])
        c.logout()

    def test_create_takes_subscription(self):
        c = self.login()
        self.ok(c, "SUBSCRIBE", "Future")
        self.ok(c, "SUBSCRIBE", "Tree")
        self.ok(c, "CREATE", "Future")
        # A parent made on the way takes its subscription too.
        self.ok(c, "CREATE", "Tree/Leaf")
        self.assertEqual(self.listed(c, '""', "*", "RETURN", "(SUBSCRIBED)"),
                         ['(\\HasNoChildren \\Subscribed \\Archive) "/" Archive',
                          '(\\HasNoChildren \\Subscribed \\Drafts) "/" Drafts',
                          '(\\HasNoChildren \\Subscribed) "/" Future',
                          '(\\HasNoChildren \\Subscribed) "/" INBOX',
                          '(\\HasNoChildren \\Subscribed \\Junk) "/" Junk',
                          '(\\HasNoChildren \\Subscribed \\Sent) "/" Sent',
                          '(\\HasNoChildren \\Subscribed \\Trash) "/" Trash',
                          '(\\HasChildren \\Subscribed) "/" Tree',
                          '(\\HasNoChildren) "/" Tree/Leaf'])
        c.logout()

    def test_rename_leaves_subscriptions_with_names(self):
        c = self.login()
        self.ok(c, "CREATE", "Old/Kid")
        self.ok(c, "CREATE", "Old/Other")
        self.ok(c, "SUBSCRIBE", "Old")
        self.ok(c, "SUBSCRIBE", "Old/Kid")
        self.ok(c, "SUBSCRIBE", "New/Other")
        self.ok(c, "RENAME", "Old", "New")
        # RFC 9051 6.3.6 and Dovecot: the old names stay subscribed, the
        # new ones are subscribed exactly where the name was.
        self.assertEqual(self.listed(c, "(SUBSCRIBED)", '""', "*"),
                         DEFAULTS[:4]
                         + ['(\\HasNoChildren \\Subscribed) "/" New/Other',
                            '(\\HasNoChildren \\Subscribed \\NonExistent) "/" Old',
                            '(\\HasNoChildren \\Subscribed \\NonExistent) "/" Old/Kid']
                         + DEFAULTS[4:])
        self.assertEqual(self.listed(c, '""', "New*", "RETURN", "(SUBSCRIBED)"),
                         ['(\\HasChildren) "/" New', '(\\HasNoChildren) "/" New/Kid',
                          '(\\HasNoChildren \\Subscribed) "/" New/Other'])
        # The client that wants them moved says so (6.3.6).
        self.ok(c, "SUBSCRIBE", "New")
        self.ok(c, "UNSUBSCRIBE", "Old")
        self.ok(c, "UNSUBSCRIBE", "Old/Kid")
        self.assertEqual(self.listed(c, "(SUBSCRIBED)", '""', "Old*"), [])
        self.assertEqual(self.listed(c, "(SUBSCRIBED)", '""', "New"),
                         ['(\\HasChildren \\Subscribed) "/" New'])
        c.logout()

    # --- LIST-EXTENDED, LSUB ---
    def test_list_extended_subscribed(self):
        c = self.login()
        self.ok(c, "CREATE", "Box")
        self.ok(c, "CREATE", "Box/gone")
        self.ok(c, "SUBSCRIBE", "Box/gone")
        self.ok(c, "DELETE", "Box/gone")
        self.ok(c, "SUBSCRIBE", "Far/Away")
        self.ok(c, "CREATE", "Near/Kid")
        self.ok(c, "SUBSCRIBE", "Near")
        self.assertEqual(self.listed(c, "(SUBSCRIBED)", '""', "*"),
                         DEFAULTS[:1]
                         + ['(\\HasNoChildren \\Subscribed \\NonExistent) "/" Box/gone']
                         + DEFAULTS[1:2]
                         + ['(\\HasNoChildren \\Subscribed \\NonExistent) "/" Far/Away']
                         + DEFAULTS[2:4]
                         + ['(\\HasChildren \\Subscribed) "/" Near']
                         + DEFAULTS[4:])
        # RFC 5258 3.5: a parent that is not subscribed, or does not even
        # exist, comes with CHILDINFO for its subscribed child.
        self.assertEqual(self.listed(c, "(SUBSCRIBED RECURSIVEMATCH)", '""', "%",
                                     "RETURN", "(CHILDREN)"),
                         DEFAULTS[:1]
                         + ['(\\HasNoChildren) "/" Box ("CHILDINFO" ("SUBSCRIBED"))']
                         + DEFAULTS[1:2]
                         + ['(\\HasNoChildren \\NonExistent) "/" Far ("CHILDINFO" ("SUBSCRIBED"))']
                         + DEFAULTS[2:4]
                         + ['(\\HasChildren \\Subscribed) "/" Near']
                         + DEFAULTS[4:])
        # Without RECURSIVEMATCH only what is subscribed.
        self.assertEqual(self.listed(c, "(SUBSCRIBED)", '""', "F%"), [])
        # A child the pattern lists makes CHILDINFO redundant.
        self.assertEqual(self.listed(c, "(SUBSCRIBED RECURSIVEMATCH)", '""', "F*"),
                         ['(\\HasNoChildren \\Subscribed \\NonExistent) "/" Far/Away'])
        self.assertEqual(self.listed(c, "(SUBSCRIBED RECURSIVEMATCH)", '""',
                                     '(Far Far/Away)'),
                         ['(\\HasNoChildren \\Subscribed \\NonExistent) "/" Far/Away'])
        self.assertEqual(self.listed(c, "(SUBSCRIBED RECURSIVEMATCH)", '""', "Far"),
                         ['(\\HasNoChildren \\NonExistent) "/" Far ("CHILDINFO" ("SUBSCRIBED"))'])
        # Plain LIST shows mailboxes only.
        self.assertEqual(self.listed(c, '""', "F*"), [])
        self.assertEqual(self.listed(c, '""', "Box*"), ['(\\HasNoChildren) "/" Box'])
        c.logout()

    def test_lsub_parent_without_mailbox(self):
        c = self.login()
        self.ok(c, "SUBSCRIBE", "Far/Away")
        self.ok(c, "SUBSCRIBE", "Far/Beyond/Deep")
        # RFC 3501 6.3.9: "%" reaches the parent that is not subscribed,
        # here not even a mailbox: \Noselect.
        self.assertEqual(self.lsub(c, '""', "%"),
                         LSUB_DEFAULTS[:2] + ['(\\Noselect) "/" Far'] + LSUB_DEFAULTS[2:])
        self.assertEqual(self.lsub(c, '""', "Far/%"),
                         ['() "/" Far/Away', '(\\Noselect) "/" Far/Beyond'])
        self.assertEqual(self.lsub(c, "Far/", "*"),
                         ['() "/" Far/Away', '() "/" Far/Beyond/Deep'])
        self.assertEqual(self.lsub(c, '""', "*"),
                         LSUB_DEFAULTS[:2] + ['() "/" Far/Away', '() "/" Far/Beyond/Deep']
                         + LSUB_DEFAULTS[2:])
        # Subscribed, the parent is listed as it is.
        self.ok(c, "SUBSCRIBE", "Far")
        self.assertEqual(self.lsub(c, '""', "F%"), ['() "/" Far'])
        c.logout()


if __name__ == "__main__":
    unittest.main()

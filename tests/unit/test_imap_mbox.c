/* SPDX-License-Identifier: ISC */
/*
 * test_imap_mbox.c: imapd's mailbox names (workers/imapd/imap_mbox.c):
 * LIST pattern matching with "*" and "%" (RFC 9051 6.3.9), client names
 * decoded from modified UTF-7 or UTF-8 per session with the INBOX and
 * delimiter rules, names written back, and the client view of an
 * MBOX_LIST reply (INBOX for the inbox whatever its stored name, children
 * below it, sorting, lookups, stored names).  Expected values by hand.
 */
/* unit-deps: workers/imapd/imap_mbox.c workers/imapd/imap_mutf7.c workers/imapd/imap_parse.c */
#include "harness.h"
#include "buf.h"
#include "wire.h"
#include "workers/imapd/imap_mbox.h"
#include "workers/imapd/imap_session.h"

#include <stdlib.h>
#include <string.h>

/* imap_mbox.c asks imapd for the store channel; none here. */
struct ipc_chan *imapd_store(void);
struct ipc_chan *
imapd_store(void)
{
	return NULL;
}

static const char *
bstr(struct buf *b)
{
	static char s[4096];

	memcpy(s, b->data, b->len);
	s[b->len] = '\0';
	return s;
}

TEST(test_match)
{
	CHECK(imap_mbox_match("*", "a/b/c"));
	CHECK(imap_mbox_match("*", ""));
	CHECK(imap_mbox_match("%", "abc"));
	CHECK(!imap_mbox_match("%", "a/b"));
	CHECK(imap_mbox_match("a/%", "a/b"));
	CHECK(!imap_mbox_match("a/%", "a/b/c"));
	CHECK(imap_mbox_match("a/*", "a/b/c"));
	CHECK(!imap_mbox_match("a/*", "a"));
	CHECK(imap_mbox_match("%/%", "a/b"));
	CHECK(!imap_mbox_match("%/%", "ab"));
	CHECK(imap_mbox_match("*b", "a/b"));
	CHECK(imap_mbox_match("a*b%c", "ax/xbyc"));
	CHECK(!imap_mbox_match("a*b%c", "axb/yc"));
	CHECK(imap_mbox_match("INBOX", "INBOX"));
	CHECK(!imap_mbox_match("INBOX", "Inbox"));	/* case counts */
	CHECK(imap_mbox_match("", ""));
	CHECK(!imap_mbox_match("", "a"));
	CHECK(imap_mbox_match("%%*%", "x/y"));
	CHECK(!imap_mbox_match("Sent", "Sent/x"));
}

TEST(test_decode_mutf7)
{
	struct imap_session s;
	const char *err;
	char *n;

	memset(&s, 0, sizeof(s));
	n = imap_mbox_name_decode(&s, "Entw&APw-rfe", 12, false, &err);
	CHECK_STR(n, "Entw\xc3\xbcrfe");
	free(n);
	n = imap_mbox_name_decode(&s, "inbox/Foo", 9, false, &err);
	CHECK_STR(n, "INBOX/Foo");
	free(n);
	n = imap_mbox_name_decode(&s, "InBoXes", 7, false, &err);
	CHECK_STR(n, "InBoXes");
	free(n);
	n = imap_mbox_name_decode(&s, "a&-b", 4, false, &err);
	CHECK_STR(n, "a&b");
	free(n);
	n = imap_mbox_name_decode(&s, "foo/", 4, true, &err);
	CHECK_STR(n, "foo");
	free(n);
	CHECK(imap_mbox_name_decode(&s, "foo/", 4, false, &err) == NULL);
	CHECK_STR(err, "Mailbox name has an empty level");
	CHECK(imap_mbox_name_decode(&s, "a//b", 4, true, &err) == NULL);
	CHECK_STR(err, "Mailbox name has an empty level");
	CHECK(imap_mbox_name_decode(&s, "/a", 2, true, &err) == NULL);
	CHECK(imap_mbox_name_decode(&s, "a*", 2, false, &err) == NULL);
	CHECK_STR(err, "Mailbox name holds a wildcard");
	CHECK(imap_mbox_name_decode(&s, "", 0, false, &err) == NULL);
	CHECK_STR(err, "Empty mailbox name");
	/* 8-bit is not modified UTF-7; neither is a non-canonical shift. */
	CHECK(imap_mbox_name_decode(&s, "Entw\xc3\xbcrfe", 9, false,
	    &err) == NULL);
	CHECK(imap_mbox_name_decode(&s, "&AGE-", 5, false, &err) == NULL);
}

TEST(test_decode_utf8)
{
	struct imap_session s;
	const char *err;
	char *n;

	memset(&s, 0, sizeof(s));
	s.enabled = IMAP_ENABLED_UTF8;
	n = imap_mbox_name_decode(&s, "Entw\xc3\xbcrfe", 9, false, &err);
	CHECK_STR(n, "Entw\xc3\xbcrfe");
	free(n);
	/* "&" is itself once names are UTF-8 (RFC 6855 3). */
	n = imap_mbox_name_decode(&s, "Entw&APw-rfe", 12, false, &err);
	CHECK_STR(n, "Entw&APw-rfe");
	free(n);
	CHECK(imap_mbox_name_decode(&s, "a\xc3", 2, false, &err) == NULL);
	CHECK_STR(err, "Mailbox name is not valid UTF-8");
	CHECK(imap_mbox_name_decode(&s, "a\x01", 2, false, &err) == NULL);
	CHECK_STR(err, "Mailbox name holds a control character");
	CHECK(imap_mbox_name_decode(&s, "a\xc2\x85", 3, false, &err) == NULL);
	CHECK(imap_mbox_name_decode(&s, "a\xe2\x80\xa8", 4, false,
	    &err) == NULL);
	n = imap_mbox_name_decode(&s, "a\xe2\x80\xa7", 4, false, &err);
	CHECK_STR(n, "a\xe2\x80\xa7");
	free(n);
	s.enabled = IMAP_ENABLED_REV2;
	n = imap_mbox_name_decode(&s, "\xc3\xa9t\xc3\xa9", 5, false, &err);
	CHECK_STR(n, "\xc3\xa9t\xc3\xa9");
	free(n);
}

TEST(test_write)
{
	struct imap_session s;
	struct buf b = BUF_INIT;

	memset(&s, 0, sizeof(s));
	imap_mbox_name_write(&s, &b, "Entw\xc3\xbcrfe");
	CHECK_STR(bstr(&b), "Entw&APw-rfe");
	buf_reset(&b);
	imap_mbox_name_write(&s, &b, "a b");
	CHECK_STR(bstr(&b), "\"a b\"");
	buf_reset(&b);
	imap_mbox_name_write(&s, &b, "R&D");
	CHECK_STR(bstr(&b), "R&-D");
	buf_reset(&b);
	s.enabled = IMAP_ENABLED_UTF8;
	imap_mbox_name_write(&s, &b, "Entw\xc3\xbcrfe");
	CHECK_STR(bstr(&b), "\"Entw\xc3\xbcrfe\"");
	buf_reset(&b);
	imap_mbox_name_write(&s, &b, "R&D");
	CHECK_STR(bstr(&b), "R&D");
	buf_clear(&b);
}

TEST(test_roles)
{
	char id[24];

	CHECK_STR(imap_mbox_role_attr("sent"), "\\Sent");
	CHECK_STR(imap_mbox_role_attr("all"), "\\All");
	CHECK(imap_mbox_role_attr("inbox") == NULL);
	CHECK(imap_mbox_role_attr("") == NULL);
	CHECK_STR(imap_mbox_attr_role("\\drafts", 7), "drafts");
	CHECK(imap_mbox_attr_role("\\Inbox", 6) == NULL);
	imap_mbox_objectid(42, id, sizeof(id));
	CHECK_STR(id, "B2a");
}

/* Encodes then decodes a U64LIST of n values (kept alive in b). */
static void
u64list(struct buf *b, struct wire_u64list *l, size_t n, const uint64_t *v)
{
	struct wire_reader r;
	size_t i;

	wire_put_u64list_begin(b, n);
	for (i = 0; i < n; i++)
		wire_u64list_add(b, v[i]);
	wire_reader_init(&r, b->data, b->len);
	CHECK(wire_get_U64LIST(&r, l) == 0);
}

static void
strlist(struct buf *b, struct wire_strlist *l, size_t n,
    const char *const *v)
{
	struct wire_reader r;
	size_t i;

	wire_put_strlist_begin(b, n);
	for (i = 0; i < n; i++)
		wire_strlist_add(b, v[i]);
	wire_reader_init(&r, b->data, b->len);
	CHECK(wire_get_STRLIST(&r, l) == 0);
}

TEST(test_list)
{
	static const char *const names[] = { "Inbox", "Inbox/Sub", "Sent",
	    "inbox/bogus", "Work", "Work/A" };
	static const char *const roles[] = { "inbox", "", "sent", "", "",
	    "" };
	static const uint64_t ids[] = { 1, 7, 3, 9, 10, 11 };
	static const uint64_t parents[] = { 0, 1, 0, 0, 0, 10 };
	static const uint64_t sub[] = { 1, 0, 1, 0, 0, 1 };
	static const uint64_t total[] = { 5, 0, 2, 0, 0, 1 };
	struct buf b[13];
	struct ipc_MBOX_LIST_rep r;
	struct imap_mbox_list l;
	const struct imap_mbox *mb;
	char *st;
	size_t i;

	for (i = 0; i < 13; i++)
		memset(&b[i], 0, sizeof(b[i]));
	memset(&r, 0, sizeof(r));
	r.state = 17;
	u64list(&b[0], &r.ids, 6, ids);
	strlist(&b[1], &r.names, 6, names);
	u64list(&b[2], &r.parents, 6, parents);
	strlist(&b[3], &r.roles, 6, roles);
	u64list(&b[4], &r.subscribed, 6, sub);
	u64list(&b[5], &r.total, 6, total);
	u64list(&b[6], &r.unread, 6, total);
	u64list(&b[7], &r.uidvalidity, 6, ids);
	u64list(&b[8], &r.uidnext, 6, ids);
	u64list(&b[9], &r.highestmodseq, 6, ids);
	u64list(&b[10], &r.size, 6, total);
	u64list(&b[11], &r.deleted, 6, total);
	u64list(&b[12], &r.deleted_size, 6, total);
	CHECK(imap_mbox_list_init(&l, &r) == 0);
	/* "inbox/bogus" reads as INBOX's tree but is not in it: hidden. */
	CHECK_INT(l.n, 5);
	CHECK_STR(l.v[0].cname, "INBOX");
	CHECK_STR(l.v[1].cname, "INBOX/Sub");
	CHECK_STR(l.v[2].cname, "Sent");
	CHECK_STR(l.v[3].cname, "Work");
	CHECK_STR(l.v[4].cname, "Work/A");
	CHECK(l.inbox == &l.v[0]);
	CHECK(l.v[0].has_children && !l.v[1].has_children);
	CHECK(l.v[3].has_children && !l.v[2].has_children);
	CHECK_INT(l.state, 17);
	mb = imap_mbox_find(&l, "INBOX/Sub");
	CHECK(mb != NULL && mb->id == 7 && !mb->subscribed);
	CHECK_STR(mb->name, "Inbox/Sub");
	mb = imap_mbox_find(&l, "Sent");
	CHECK(mb != NULL && mb->subscribed && mb->total == 2);
	CHECK(mb != NULL && mb->deleted == 2 && mb->deleted_size == 2);
	CHECK_STR(mb->role, "sent");
	CHECK(imap_mbox_find(&l, "sent") == NULL);
	CHECK(imap_mbox_find_id(&l, 11) == &l.v[4]);
	st = imap_mbox_stored_name(&l, "INBOX/New/x");
	CHECK_STR(st, "Inbox/New/x");
	free(st);
	st = imap_mbox_stored_name(&l, "INBOXes");
	CHECK_STR(st, "INBOXes");
	free(st);
	imap_mbox_list_clear(&l);
	/* Lists of different lengths are refused. */
	buf_reset(&b[10]);
	u64list(&b[10], &r.size, 5, total);
	CHECK(imap_mbox_list_init(&l, &r) == -1);
	for (i = 0; i < 13; i++)
		buf_clear(&b[i]);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(test_match),
	TEST_ENTRY(test_decode_mutf7),
	TEST_ENTRY(test_decode_utf8),
	TEST_ENTRY(test_write),
	TEST_ENTRY(test_roles),
	TEST_ENTRY(test_list),
};

HARNESS_MAIN(tests)

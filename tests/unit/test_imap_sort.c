/* SPDX-License-Identifier: ISC */
/*
 * test_imap_sort.c: the pure parts of SORT and THREAD (RFC 5256): the
 * i;unicode-casemap keys (RFC 5051), whether a subject is a reply or forward
 * (RFC 5256 2.1), ORDEREDSUBJECT, and REFERENCES with chains, missing
 * parents, duplicate ids, loops, dummies at the top and below it, merging
 * by subject, and a chain too long for recursion.  Expected thread lists
 * were worked out by hand from RFC 5256 3, step by step.
 */
/* unit-deps: workers/imapd/imap_thread.c */
#include "harness.h"
#include "buf.h"
#include "casemap.h"
#include "workers/imapd/imap_thread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A NUL-terminated copy of a buffer's contents, in a static slot. */
static const char *
buf_str(struct buf *b)
{
	static char s[8192];
	size_t n = b->len < sizeof(s) - 1 ? b->len : sizeof(s) - 1;

	memcpy(s, b->data, n);
	s[n] = '\0';
	return s;
}

/* A message for the tables below: refs is a space-separated list. */
struct tmsg {
	int64_t		 date;
	const char	*subject;
	bool		 reply;
	const char	*id;
	const char	*refs;
};

#define MAXREFS	8

static const char *
thread_of(const struct tmsg *v, uint32_t n, bool refs_alg)
{
	static struct buf out;
	struct imap_thread_msg m[32];
	static char words[32][MAXREFS][32];
	static const char *ptrs[32][MAXREFS];
	static struct buf keys[32];
	const char *subj[32];
	const char *p, *e;
	uint32_t i, k;

	buf_reset(&out);
	for (i = 0; i < n && i < 32; i++) {
		/* Subjects come as their keys, as imap_cmd_sort.c gives them. */
		buf_reset(&keys[i]);
		(void)casemap_key(v[i].subject, strlen(v[i].subject), &keys[i]);
		buf_append(&keys[i], "", 1);
		subj[i] = (const char *)keys[i].data;
	}
	for (i = 0; i < n && i < 32; i++) {
		memset(&m[i], 0, sizeof(m[i]));
		m[i].num = i + 1;
		m[i].date = v[i].date;
		m[i].subject = subj[i];
		m[i].reply = v[i].reply;
		m[i].id = v[i].id;
		for (k = 0, p = v[i].refs; p != NULL && *p != '\0' &&
		    k < MAXREFS; k++) {
			e = strchr(p, ' ');
			if (e == NULL)
				e = p + strlen(p);
			snprintf(words[i][k], sizeof(words[i][k]), "%.*s",
			    (int)(e - p), p);
			ptrs[i][k] = words[i][k];
			p = *e == ' ' ? e + 1 : e;
		}
		m[i].refs = ptrs[i];
		m[i].nrefs = k;
	}
	if (refs_alg)
		imap_thread_references(m, n, &out);
	else
		imap_thread_orderedsubject(m, n, &out);
	return buf_str(&out);
}

/* The key of s, NUL-terminated, in one of a few static slots. */
static const char *
key(const char *s)
{
	static struct buf slot[8];
	static unsigned next;
	struct buf *b = &slot[next++ % 8];

	buf_reset(b);
	(void)casemap_key(s, strlen(s), b);
	buf_append(b, "", 1);
	return (const char *)b->data;
}

/* i;unicode-casemap (RFC 5051), as keys compared as octets. */
TEST(casemap)
{
	struct buf b = BUF_INIT;

	CHECK_INT(strcmp(key("hello"), key("HELLO")), 0);
	CHECK_INT(strcmp(key(""), key("")), 0);
	CHECK(strcmp(key(""), key("a")) < 0);
	CHECK(strcmp(key("a"), key("B")) < 0);
	CHECK(strcmp(key("ab"), key("abc")) < 0);
	/* "_" is 0x5f, after "Z" (0x5a), so after "a" read as "A". */
	CHECK(strcmp(key("_"), key("a")) > 0);
	CHECK(strcmp(key("1"), key("a")) < 0);
	/* Beyond ASCII: a-umlaut in either case, composed or not. */
	CHECK_STR(key("\xc3\xa4"), key("\xc3\x84"));
	CHECK_STR(key("\xc3\xa4"), key("A\xcc\x88"));
	CHECK_STR(key("Stra\xc3\x9f" "e"), key("STRA\xc3\x9f" "E"));
	/* Greek sigma, final sigma and capital all title-case to capital. */
	CHECK_STR(key("\xcf\x83"), key("\xce\xa3"));
	CHECK_STR(key("\xcf\x82"), key("\xce\xa3"));
	/* RFC 5051's example: U+01C4 is D, z, U+030C. */
	CHECK_STR(key("\xc7\x84"), "Dz\xcc\x8c");
	/*
	 * Compatibility decompositions too, after the titlecase step: the
	 * "fi" ligature has no simple titlecase, so its key is "fi", which
	 * is not "FI" (RFC 5051 2 maps case before it decomposes).
	 */
	CHECK_STR(key("\xef\xac\x81"), "fi");
	CHECK(strcmp(key("\xef\xac\x81"), key("fi")) != 0);
	/* Not UTF-8: the string itself, compared as octets. */
	CHECK(!casemap_key("a\xff", 2, &b));
	CHECK_INT(b.len, 2);
	CHECK(memcmp(b.data, "a\xff", 2) == 0);
	buf_reset(&b);
	CHECK(!casemap_key("\xc0\x80", 2, &b));	/* overlong NUL */
	buf_reset(&b);
	CHECK(casemap_key("x\xc3\xa4", 3, &b));
	CHECK_INT(b.len, 4);
	CHECK(b.len == 4 && memcmp(b.data, "XA\xcc\x88", 4) == 0);
	buf_clear(&b);
}

TEST(is_reply)
{
	static const struct {
		const char	*s;
		bool		 reply;
	} v[] = {
		{ "Re: hello", true },
		{ "RE:hello", true },
		{ "Fwd: hello", true },
		{ "fw: hello", true },
		{ "Re: Fwd: hello", true },
		{ "Re [2]: hello", true },
		{ "[list] Re: hello", true },
		{ "  [a] [b] re: hello", true },
		{ "hello (fwd)", true },
		{ "hello (FWD)  ", true },
		{ "[fwd: hello]", true },
		{ "[list] [Fwd: hello]", true },
		{ "hello", false },
		{ "Rebus: hello", false },
		{ "[PATCH] fix", false },
		{ "[only]", false },
		{ "hello re: world", false },
		{ "Re", false },
		{ "", false },
		{ "(fwd) hello", false },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (imap_thread_is_reply(v[i].s) != v[i].reply)
			harness_fail(__FILE__, __LINE__, "is_reply(\"%s\")",
			    v[i].s);
}

TEST(orderedsubject)
{
	/*
	 * By subject then date: a: 4 (200), 5 (200, after 4 by number),
	 * 2 (300); b: 3 (50), 1 (100); c: 6 (10).  Threads by their first
	 * date: c (10), b (50), a (200).
	 */
	static const struct tmsg v[] = {
		{ 100, "b", false, "", NULL },
		{ 300, "a", false, "", NULL },
		{ 50, "B", false, "", NULL },
		{ 200, "a", false, "", NULL },
		{ 200, "A", false, "", NULL },
		{ 10, "c", false, "", NULL },
	};

	CHECK_STR(thread_of(v, 6, false), "(6)(3 1)(4 (5)(2))");
	CHECK_STR(thread_of(v, 1, false), "(1)");
	CHECK_STR(thread_of(v, 0, false), "");
}

TEST(references_tree)
{
	/*
	 * 1 <- 2 <- {3, 4}; 4 names a missing "x" before 2's id; 5 and 6
	 * answer the missing "y" (a dummy with two children stays at the
	 * top); 7 has no references but "Re: hello" and joins 1 by subject;
	 * 8 is alone; 9 repeats 1's id and is treated as having none.
	 * Top by date: 8 (0), 1 (1), y (5, its first child), 7, 9; 7 is a
	 * reply and 1 is not, so 7 becomes 1's child.
	 */
	static const struct tmsg v[] = {
		{ 1, "hello", false, "a", NULL },
		{ 2, "hello", true, "b", "a" },
		{ 3, "hello", true, "c", "a b" },
		{ 4, "hello", true, "d", "x b" },
		{ 5, "other", false, "e", "y" },
		{ 6, "other", true, "f", "y" },
		{ 7, "hello", true, "g", NULL },
		{ 0, "lonely", false, "h", NULL },
		{ 9, "dup", false, "a", NULL },
	};

	CHECK_STR(thread_of(v, 9, true),
	    "(8)(1 (2 (3)(4))(7))((5)(6))(9)");
}

TEST(references_subjects)
{
	/* Two non-replies of one subject: siblings under a new dummy. */
	static const struct tmsg a[] = {
		{ 2, "x", false, "1", NULL },
		{ 1, "x", false, "2", NULL },
	};
	/* A reply first, then the original: the reply goes below it. */
	static const struct tmsg b[] = {
		{ 1, "x", true, "1", NULL },
		{ 2, "x", false, "2", NULL },
	};
	/*
	 * Two dummies of one subject merge their children; an empty
	 * subject is never merged.
	 */
	static const struct tmsg c[] = {
		{ 1, "s", false, "1", "p" },
		{ 2, "s", false, "2", "p" },
		{ 3, "s", false, "3", "q" },
		{ 4, "s", false, "4", "q" },
		{ 5, "", false, "5", NULL },
		{ 6, "", false, "6", NULL },
	};
	/* A dummy and a message: the message goes below the dummy. */
	static const struct tmsg d[] = {
		{ 1, "s", false, "1", "p" },
		{ 2, "s", false, "2", "p" },
		{ 3, "s", false, "3", NULL },
	};

	CHECK_STR(thread_of(a, 2, true), "((2)(1))");
	CHECK_STR(thread_of(b, 2, true), "(2 1)");
	CHECK_STR(thread_of(c, 6, true), "((1)(2)(3)(4))(5)(6)");
	CHECK_STR(thread_of(d, 3, true), "((1)(2)(3))");
}

TEST(references_dummies)
{
	/* A missing parent with one child: the child goes to the top. */
	static const struct tmsg a[] = {
		{ 1, "a", false, "m1", "z" },
	};
	/* Missing grandparents p -> q and p -> r: one dummy at the top. */
	static const struct tmsg b[] = {
		{ 1, "a", false, "m1", "p q" },
		{ 2, "b", false, "m2", "p r" },
	};
	/* A missing message between two real ones is spliced out. */
	static const struct tmsg c[] = {
		{ 1, "a", false, "m1", NULL },
		{ 3, "c", true, "m3", "m1 gone" },
		{ 2, "b", true, "m2", "m1 gone" },
	};

	CHECK_STR(thread_of(a, 1, true), "(1)");
	CHECK_STR(thread_of(b, 2, true), "((1)(2))");
	CHECK_STR(thread_of(c, 3, true), "(1 (3)(2))");
}

TEST(references_loops)
{
	/* Each names the other: 1 goes below 2, the link back is refused. */
	static const struct tmsg a[] = {
		{ 1, "a", false, "a", "b" },
		{ 2, "b", false, "b", "a" },
	};
	/* A message naming itself. */
	static const struct tmsg b[] = {
		{ 1, "a", false, "a", "a" },
	};
	/*
	 * A truncated References: 3 names only 1, then 4 says 1 2 3; 3
	 * keeps its parent 1 (1.A does not move a message that has one),
	 * so 2 and 3 are both 1's children and 4 is 3's.
	 */
	static const struct tmsg c[] = {
		{ 1, "a", false, "1", NULL },
		{ 2, "a", true, "2", "1" },
		{ 3, "a", true, "3", "1" },
		{ 4, "a", true, "4", "1 2 3" },
	};

	CHECK_STR(thread_of(a, 2, true), "(2 1)");
	CHECK_STR(thread_of(b, 1, true), "(1)");
	CHECK_STR(thread_of(c, 4, true), "(1 (2)(3 4))");
}

TEST(references_long_chain)
{
	enum { N = 20000 };
	struct imap_thread_msg *m;
	char (*ids)[16];
	const char **refs;
	struct buf out = BUF_INIT;
	uint32_t i;
	bool ok = true;
	size_t want = 0;

	m = calloc(N, sizeof(*m));
	ids = calloc(N, sizeof(*ids));
	refs = calloc(N, sizeof(*refs));
	for (i = 0; i < N; i++) {
		snprintf(ids[i], sizeof(ids[i]), "m%u", i);
		m[i].num = i + 1;
		m[i].date = i;
		m[i].subject = "chain";
		m[i].id = ids[i];
		if (i > 0) {
			refs[i] = ids[i - 1];
			m[i].refs = &refs[i];
			m[i].nrefs = 1;
		}
	}
	imap_thread_references(m, N, &out);
	/* "(1 2 ... N)" */
	for (i = 1; i <= N; i++)
		want += snprintf(NULL, 0, "%u", i) + 1;
	want += 1;
	CHECK_INT(out.len, want);
	ok = out.len > 10 && memcmp(out.data, "(1 2 3 ", 7) == 0 &&
	    out.data[out.len - 1] == ')';
	CHECK(ok);
	/* Each a reply to the first: one parent with N - 1 children. */
	buf_reset(&out);
	for (i = 1; i < N; i++)
		m[i].refs = &refs[1];
	imap_thread_references(m, N, &out);
	CHECK(out.len > 10 && memcmp(out.data, "(1 (2)(3)(4)", 12) == 0);
	buf_clear(&out);
	free(refs);
	free(ids);
	free(m);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(casemap),
	TEST_ENTRY(is_reply),
	TEST_ENTRY(orderedsubject),
	TEST_ENTRY(references_tree),
	TEST_ENTRY(references_subjects),
	TEST_ENTRY(references_dummies),
	TEST_ENTRY(references_loops),
	TEST_ENTRY(references_long_chain),
};

HARNESS_MAIN(tests)

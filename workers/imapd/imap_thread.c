/* SPDX-License-Identifier: ISC */
/*
 * imap_thread.c: THREAD's algorithms, ORDEREDSUBJECT and REFERENCES (RFC
 * 5256 3), over messages described by the caller, and the thread-list
 * writer (RFC 5256 4).  The REFERENCES tree lives in one array of nodes
 * linked by index (dummies included); ids and subjects are found with
 * open-addressing hash tables.  Every walk is a loop, so that a mailbox
 * of long reference chains cannot exhaust the stack.
 */
#include "imap_thread.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NONE	UINT32_MAX

/* --- Strings --- */

static bool
thread_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* subj-blob = "[" *BLOBCHAR "]" *WSP; its length, or 0. */
static size_t
thread_blob(const char *s)
{
	size_t i;

	if (*s != '[')
		return 0;
	for (i = 1; s[i] != '\0' && s[i] != '[' && s[i] != ']'; i++)
		;
	if (s[i] != ']')
		return 0;
	for (i++; thread_wsp(s[i]); i++)
		;
	return i;
}

/* subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":" at s? */
static bool
thread_refwd(const char *s)
{
	size_t i;

	if (strncasecmp(s, "re", 2) == 0)
		i = 2;
	else if (strncasecmp(s, "fwd", 3) == 0)
		i = 3;
	else if (strncasecmp(s, "fw", 2) == 0)
		i = 2;
	else
		return false;
	while (thread_wsp(s[i]))
		i++;
	i += thread_blob(s + i);
	return s[i] == ':';
}

bool
imap_thread_is_reply(const char *subject)
{
	const char *s = subject;
	size_t n = strlen(s), b, k, last;

	/* Step 2: trailers, "(fwd)" and white space. */
	while (n > 0) {
		if (thread_wsp(s[n - 1]))
			n--;
		else if (n >= 5 && strncasecmp(s + n - 5, "(fwd)", 5) == 0)
			return true;
		else
			break;
	}
	/* Steps 3 and 4: leaders; blobs go if something follows them. */
	for (;;) {
		while (n > 0 && thread_wsp(*s)) {
			s++;
			n--;
		}
		for (k = last = 0; k < n && (b = thread_blob(s + k)) > 0;
		    k += b)
			last = k;
		if (k < n && thread_refwd(s + k))
			return true;
		if (k >= n) {
			/* Only blobs: the last one stays (step 4). */
			s += last;
			n -= last;
			break;
		}
		if (k == 0)
			break;
		s += k;
		n -= k;
	}
	/* Step 5: "[fwd:" subject "]". */
	return n >= 6 && strncasecmp(s, "[fwd:", 5) == 0 && s[n - 1] == ']';
}

/* --- Hash tables of strings --- */

struct thread_hash {
	const char	**keys;
	uint32_t	 *vals;
	size_t		  mask;
};

static void
thread_hash_init(struct thread_hash *h, size_t n)
{
	size_t size = 16;

	while (size < 2 * n)
		size *= 2;
	h->keys = xcalloc(size, sizeof(*h->keys));
	h->vals = xcalloc(size, sizeof(*h->vals));
	h->mask = size - 1;
}

static void
thread_hash_clear(struct thread_hash *h)
{
	free(h->keys);
	free(h->vals);
}

static size_t
thread_hash_slot(const struct thread_hash *h, const char *key)
{
	const unsigned char *p;
	uint64_t v = 1469598103934665603ULL;	/* FNV-1a */
	size_t i;

	for (p = (const unsigned char *)key; *p != '\0'; p++)
		v = (v ^ *p) * 1099511628211ULL;
	for (i = (size_t)v & h->mask; h->keys[i] != NULL;
	    i = (i + 1) & h->mask)
		if (strcmp(h->keys[i], key) == 0)
			break;
	return i;
}

/* The value of key, or NONE. */
static uint32_t
thread_hash_get(const struct thread_hash *h, const char *key)
{
	size_t i = thread_hash_slot(h, key);

	return h->keys[i] == NULL ? NONE : h->vals[i];
}

/* Sets key (borrowed, it must outlive h); h has room (sized by init). */
static void
thread_hash_put(struct thread_hash *h, const char *key, uint32_t val)
{
	size_t i = thread_hash_slot(h, key);

	h->keys[i] = key;
	h->vals[i] = val;
}

/* --- Sorting by sent date, then sequence number --- */

struct thread_key {
	int64_t		 date;
	uint32_t	 seq;	/* index of the message: mailbox order */
	uint32_t	 node;
};

static int
thread_key_cmp(const void *a, const void *b)
{
	const struct thread_key *x = a, *y = b;

	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return 0;
}

/* --- ORDEREDSUBJECT --- */

struct thread_os {
	const struct imap_thread_msg *m;
	uint32_t	 i;
};

static int
thread_os_cmp(const void *a, const void *b)
{
	const struct thread_os *x = a, *y = b;
	int c;

	if ((c = strcmp(x->m->subject, y->m->subject)) != 0)
		return c;
	if (x->m->date != y->m->date)
		return x->m->date < y->m->date ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

void
imap_thread_orderedsubject(const struct imap_thread_msg *m, uint32_t n,
    struct buf *out)
{
	struct thread_os *v;
	struct thread_key *t;
	uint32_t i, j, k, nt = 0;

	if (n == 0)
		return;
	v = xreallocarray(NULL, n, sizeof(*v));
	t = xreallocarray(NULL, n, sizeof(*t));
	for (i = 0; i < n; i++) {
		v[i].m = &m[i];
		v[i].i = i;
	}
	qsort(v, n, sizeof(*v), thread_os_cmp);
	/* Threads: runs of one base subject, by their first message. */
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && strcmp(v[i].m->subject,
		    v[j].m->subject) == 0; j++)
			;
		t[nt].date = v[i].m->date;
		t[nt].seq = v[i].i;
		t[nt].node = i;
		nt++;
	}
	qsort(t, nt, sizeof(*t), thread_key_cmp);
	for (k = 0; k < nt; k++) {
		i = t[k].node;
		for (j = i + 1; j < n && strcmp(v[i].m->subject,
		    v[j].m->subject) == 0; j++)
			;
		buf_printf(out, "(%u", v[i].m->num);
		if (j - i == 2)
			buf_printf(out, " %u", v[i + 1].m->num);
		else if (j - i > 2) {
			buf_append(out, " ", 1);
			for (i++; i < j; i++)
				buf_printf(out, "(%u)", v[i].m->num);
		}
		buf_append(out, ")", 1);
	}
	free(t);
	free(v);
}

/* --- REFERENCES --- */

struct thread_node {
	uint32_t	 msg;		/* index into m; NONE: a dummy */
	uint32_t	 parent, child, tail, next;
};

struct thread_tree {
	const struct imap_thread_msg *m;
	struct thread_node *nd;
	uint32_t	 n, cap;
	struct thread_hash ids;
	uint32_t	*top;		/* children of the root */
	uint32_t	 ntop;
};

static uint32_t
thread_node_new(struct thread_tree *t, uint32_t msg)
{
	struct thread_node *x;

	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->nd = xreallocarray(t->nd, t->cap, sizeof(*t->nd));
	}
	x = &t->nd[t->n];
	x->msg = msg;
	x->parent = x->child = x->tail = x->next = NONE;
	return t->n++;
}

/* Appends c (without a parent) to the children of p. */
static void
thread_link(struct thread_tree *t, uint32_t p, uint32_t c)
{
	t->nd[c].parent = p;
	t->nd[c].next = NONE;
	if (t->nd[p].child == NONE)
		t->nd[p].child = c;
	else
		t->nd[t->nd[p].tail].next = c;
	t->nd[p].tail = c;
}

static void
thread_unlink(struct thread_tree *t, uint32_t c)
{
	uint32_t p = t->nd[c].parent, k, prev = NONE;

	for (k = t->nd[p].child; k != c; k = t->nd[k].next)
		prev = k;
	if (prev == NONE)
		t->nd[p].child = t->nd[c].next;
	else
		t->nd[prev].next = t->nd[c].next;
	if (t->nd[p].tail == c)
		t->nd[p].tail = prev;
	t->nd[c].parent = t->nd[c].next = NONE;
}

/* Would making p the parent of c close a loop (p is c or below it)? */
static bool
thread_loops(const struct thread_tree *t, uint32_t p, uint32_t c)
{
	/* A leaf has nothing below it: no walk up a long chain. */
	if (t->nd[c].child == NONE)
		return p == c;
	for (; p != NONE; p = t->nd[p].parent)
		if (p == c)
			return true;
	return false;
}

/* The node of a referenced id, a new dummy if no message has it. */
static uint32_t
thread_ref(struct thread_tree *t, const char *id)
{
	uint32_t x = thread_hash_get(&t->ids, id);

	if (x == NONE) {
		x = thread_node_new(t, NONE);
		thread_hash_put(&t->ids, id, x);
	}
	return x;
}

/* Step 1: links messages and their references. */
static void
thread_link_all(struct thread_tree *t, uint32_t n)
{
	const struct imap_thread_msg *m;
	uint32_t i, k, c, r, prev;

	for (i = 0; i < n; i++) {
		m = &t->m[i];
		c = NONE;
		if (m->id[0] != '\0') {
			c = thread_hash_get(&t->ids, m->id);
			if (c == NONE) {
				c = thread_node_new(t, i);
				thread_hash_put(&t->ids, m->id, c);
			} else if (t->nd[c].msg == NONE)
				t->nd[c].msg = i;
			else
				c = NONE;	/* a duplicate: unique id */
		}
		if (c == NONE)
			c = thread_node_new(t, i);
		/* 1.A: each reference is the parent of the next. */
		for (k = 0, prev = NONE; k < m->nrefs; k++) {
			if (m->refs[k][0] == '\0')
				continue;
			r = thread_ref(t, m->refs[k]);
			if (prev != NONE && t->nd[r].parent == NONE &&
			    !thread_loops(t, prev, r))
				thread_link(t, prev, r);
			prev = r;
		}
		/* 1.B: the last reference is the parent of the message. */
		if (t->nd[c].parent != NONE)
			thread_unlink(t, c);
		if (prev != NONE && !thread_loops(t, prev, c))
			thread_link(t, prev, c);
	}
}

/*
 * Steps 2 and 3: the messages without a parent are the root's children;
 * dummies are pruned.  A dummy below another node gives its children to
 * its parent; one at the top goes if it has no child, gives way to its
 * only child, and stays if it has several.  Walked breadth first, each
 * node learns its nearest real ancestor and its top node; the tree is
 * then rebuilt from those.
 */
static void
thread_prune(struct thread_tree *t)
{
	uint32_t *order, *near, *root, *cnt, i, j, x, c, no = 0, nn = t->n;

	order = xreallocarray(NULL, nn, sizeof(*order));
	near = xreallocarray(NULL, nn, sizeof(*near));
	root = xreallocarray(NULL, nn, sizeof(*root));
	cnt = xcalloc(nn, sizeof(*cnt));
	for (i = 0; i < nn; i++)
		if (t->nd[i].parent == NONE) {
			order[no++] = i;
			near[i] = NONE;
			root[i] = i;
		}
	for (j = 0; j < no; j++) {
		x = order[j];
		for (c = t->nd[x].child; c != NONE; c = t->nd[c].next) {
			near[c] = t->nd[x].msg != NONE ? x : near[x];
			root[c] = root[x];
			order[no++] = c;
		}
	}
	for (j = 0; j < no; j++) {
		x = order[j];
		if (t->nd[x].msg != NONE && near[x] == NONE && root[x] != x)
			cnt[root[x]]++;
	}
	for (i = 0; i < nn; i++)
		t->nd[i].parent = t->nd[i].child = t->nd[i].tail =
		    t->nd[i].next = NONE;
	t->top = xreallocarray(NULL, nn > 0 ? nn : 1, sizeof(*t->top));
	t->ntop = 0;
	for (j = 0; j < no; j++) {
		x = order[j];
		if (t->nd[x].msg == NONE) {
			if (root[x] == x && cnt[x] >= 2)
				t->top[t->ntop++] = x;
			continue;
		}
		if (near[x] != NONE)
			thread_link(t, near[x], x);
		else if (root[x] == x || cnt[root[x]] == 1)
			t->top[t->ntop++] = x;
		else
			thread_link(t, root[x], x);
	}
	free(cnt);
	free(root);
	free(near);
	free(order);
}

/* The sort key of node x: its message, or a dummy's first child's. */
static void
thread_key_of(const struct thread_tree *t, uint32_t x, struct thread_key *k)
{
	uint32_t msg = t->nd[x].msg;

	if (msg == NONE)
		msg = t->nd[t->nd[x].child].msg;
	k->date = t->m[msg].date;
	k->seq = msg;
	k->node = x;
}

/* Sorts the children of p by sent date; tmp has room for them. */
static void
thread_sort_children(struct thread_tree *t, uint32_t p,
    struct thread_key *tmp)
{
	uint32_t c, k, nk = 0;

	for (c = t->nd[p].child; c != NONE; c = t->nd[c].next)
		thread_key_of(t, c, &tmp[nk++]);
	if (nk < 2)
		return;
	qsort(tmp, nk, sizeof(*tmp), thread_key_cmp);
	t->nd[p].child = t->nd[p].tail = NONE;
	for (k = 0; k < nk; k++)
		thread_link(t, p, tmp[k].node);
}

/* Sorts the root's children; dummies' children must be sorted. */
static void
thread_sort_top(struct thread_tree *t, struct thread_key *tmp)
{
	uint32_t i;

	for (i = 0; i < t->ntop; i++)
		thread_key_of(t, t->top[i], &tmp[i]);
	qsort(tmp, t->ntop, sizeof(*tmp), thread_key_cmp);
	for (i = 0; i < t->ntop; i++)
		t->top[i] = tmp[i].node;
}

/* The thread subject of top node x (5.B.i). */
static const char *
thread_subject(const struct thread_tree *t, uint32_t x)
{
	uint32_t msg = t->nd[x].msg;

	if (msg == NONE)
		msg = t->nd[t->nd[x].child].msg;
	return t->m[msg].subject;
}

static bool
thread_is_dummy(const struct thread_tree *t, uint32_t x)
{
	return t->nd[x].msg == NONE;
}

static bool
thread_is_reply(const struct thread_tree *t, uint32_t x)
{
	return t->nd[x].msg != NONE && t->m[t->nd[x].msg].reply;
}

/*
 * 5.C: merges top node c into tbl, the table's node of its subject.
 * Returns the node that now stands for the subject: tbl, or a new dummy
 * holding both.
 */
static uint32_t
thread_merge(struct thread_tree *t, uint32_t c, uint32_t tbl)
{
	uint32_t k, d;

	if (thread_is_dummy(t, tbl) && thread_is_dummy(t, c)) {
		while ((k = t->nd[c].child) != NONE) {
			thread_unlink(t, k);
			thread_link(t, tbl, k);
		}
		return tbl;
	}
	if (thread_is_dummy(t, tbl) || (thread_is_reply(t, c) &&
	    !thread_is_reply(t, tbl))) {
		thread_link(t, tbl, c);
		return tbl;
	}
	d = thread_node_new(t, NONE);
	thread_link(t, d, tbl);
	thread_link(t, d, c);
	return d;
}

/* Step 5: threads of one base subject are gathered. */
static void
thread_by_subject(struct thread_tree *t)
{
	struct thread_hash subj;
	uint32_t *slot, i, j, x, y, d;
	const char *s;

	thread_hash_init(&subj, t->ntop);
	/* Where each top node stands, for a new dummy to take its place. */
	slot = xreallocarray(NULL, t->n + t->ntop + 1, sizeof(*slot));
	for (i = 0; i < t->ntop; i++)
		slot[t->top[i]] = i;
	/* 5.B: one node per subject, preferring dummies, then non-replies. */
	for (i = 0; i < t->ntop; i++) {
		x = t->top[i];
		if (*(s = thread_subject(t, x)) == '\0')
			continue;
		if ((y = thread_hash_get(&subj, s)) == NONE ||
		    (!thread_is_dummy(t, y) && (thread_is_dummy(t, x) ||
		    (thread_is_reply(t, y) && !thread_is_reply(t, x)))))
			thread_hash_put(&subj, s, x);
	}
	/* 5.C */
	for (i = 0; i < t->ntop; i++) {
		x = t->top[i];
		s = thread_subject(t, x);
		if (*s == '\0' || (y = thread_hash_get(&subj, s)) == x)
			continue;
		t->top[i] = NONE;
		if ((d = thread_merge(t, x, y)) != y) {
			slot[d] = slot[y];
			t->top[slot[y]] = d;
			thread_hash_put(&subj, s, d);
		}
	}
	for (i = j = 0; i < t->ntop; i++)
		if (t->top[i] != NONE)
			t->top[j++] = t->top[i];
	t->ntop = j;
	thread_hash_clear(&subj);
	free(slot);
}

/*
 * Step 6: every set of siblings by sent date; a dummy (only at the top,
 * with real children) by its first child, so dummies' children first.
 */
static void
thread_sort_all(struct thread_tree *t)
{
	struct thread_key *tmp;
	uint32_t i;

	tmp = xreallocarray(NULL, t->n > t->ntop ? t->n : t->ntop + 1,
	    sizeof(*tmp));
	for (i = 0; i < t->n; i++)
		if (!thread_is_dummy(t, i))
			thread_sort_children(t, i, tmp);
	for (i = 0; i < t->ntop; i++)
		if (thread_is_dummy(t, t->top[i]))
			thread_sort_children(t, t->top[i], tmp);
	thread_sort_top(t, tmp);
	free(tmp);
}

/*
 * thread-list = "(" (thread-members / thread-nested) ")" for top node x:
 * a chain of only children is written flat, a node with several children
 * is followed by one thread-list each.  An explicit stack holds the lists
 * still to write (node numbers) and the ")" still to close (NONE).
 */
static void
thread_write(const struct thread_tree *t, uint32_t x, uint32_t *stack,
    struct buf *out)
{
	uint32_t sp = 0, c, k, nk;

	stack[sp++] = x;
	while (sp > 0) {
		if ((x = stack[--sp]) == NONE) {
			buf_append(out, ")", 1);
			continue;
		}
		buf_append(out, "(", 1);
		if (!thread_is_dummy(t, x)) {
			buf_printf(out, "%u", t->m[t->nd[x].msg].num);
			while ((c = t->nd[x].child) != NONE &&
			    t->nd[c].next == NONE) {
				x = c;
				buf_printf(out, " %u", t->m[t->nd[x].msg].num);
			}
			if (t->nd[x].child == NONE) {
				buf_append(out, ")", 1);
				continue;
			}
			buf_append(out, " ", 1);
		}
		/* The children, pushed last first. */
		stack[sp++] = NONE;
		for (nk = 0, c = t->nd[x].child; c != NONE; c = t->nd[c].next)
			nk++;
		sp += nk;
		for (k = 1, c = t->nd[x].child; c != NONE;
		    c = t->nd[c].next, k++)
			stack[sp - k] = c;
	}
}

void
imap_thread_references(const struct imap_thread_msg *m, uint32_t n,
    struct buf *out)
{
	struct thread_tree t;
	struct thread_key *tmp;
	uint32_t *stack, i, nids = n;

	if (n == 0)
		return;
	memset(&t, 0, sizeof(t));
	t.m = m;
	for (i = 0; i < n; i++)
		nids += m[i].nrefs;
	thread_hash_init(&t.ids, nids);
	thread_link_all(&t, n);
	thread_hash_clear(&t.ids);
	thread_prune(&t);
	/* Step 4: the top, dummies by their earliest child. */
	tmp = xreallocarray(NULL, t.n, sizeof(*tmp));
	for (i = 0; i < t.ntop; i++)
		if (thread_is_dummy(&t, t.top[i]))
			thread_sort_children(&t, t.top[i], tmp);
	thread_sort_top(&t, tmp);
	free(tmp);
	thread_by_subject(&t);
	thread_sort_all(&t);
	stack = xreallocarray(NULL, 2 * (size_t)t.n + 1, sizeof(*stack));
	for (i = 0; i < t.ntop; i++)
		thread_write(&t, t.top[i], stack, out);
	free(stack);
	free(t.top);
	free(t.nd);
}

/* SPDX-License-Identifier: ISC */
/*
 * imap_view.c: the selected mailbox's view and its catching up with
 * storaged (see imap_view.h).
 */
#include "imap_view.h"
#include "imap_cmd_notify.h"
#include "compat.h"
#include "conn.h"
#include "imap_resp.h"
#include "imap_session.h"
#include "imap_seqset.h"
#include "imapd.h"
#include "ipc.h"
#include "mailflags.h"
#include "wire.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint32_t
imap_view_vec_get(const uint8_t *vec, size_t i)
{
	return wire_be32_get(vec + 4 * i);
}

void
imap_view_vec_put(struct buf *vec, uint32_t uid)
{
	uint8_t b[4];

	wire_be32_put(b, uid);
	buf_append(vec, b, sizeof(b));
}

struct imap_view *
imap_view_new(uint32_t mailbox_id, bool readonly,
    const struct ipc_MBOX_SELECT_rep *r)
{
	struct imap_view *v = xcalloc(1, sizeof(*v));
	struct wire_iter it;
	const char *kw;
	struct buf b = BUF_INIT;

	v->mailbox_id = mailbox_id;
	v->readonly = readonly;
	v->uidvalidity = r->uidvalidity;
	v->uidnext = r->uidnext;
	v->highestmodseq = r->highestmodseq;
	imap_view_append(v, r->uids.p, r->uids.len);
	wire_strlist_iter(&r->keywords, &it);
	while ((kw = wire_strlist_next(&it)) != NULL) {
		if (b.len > 0)
			buf_append(&b, " ", 1);
		buf_append(&b, kw, strlen(kw));
	}
	buf_append(&b, "", 1);
	v->keywords = xstrdup((const char *)b.data);
	buf_clear(&b);
	return v;
}

void
imap_view_free(struct imap_view **vp)
{
	struct imap_view *v = *vp;

	*vp = NULL;
	if (v == NULL)
		return;
	free(v->uids);
	free(v->keywords);
	free(v->own);
	free(v->saved);
	free(v->recent);
	free(v);
}

uint32_t
imap_view_last_uid(const struct imap_view *v)
{
	return v->n > 0 ? v->uids[v->n - 1] : 0;
}

uint32_t
imap_view_append(struct imap_view *v, const uint8_t *vec, size_t len)
{
	size_t i, count = len / 4;
	uint32_t uid, added = 0;

	for (i = 0; i < count; i++) {
		uid = imap_view_vec_get(vec, i);
		if (uid <= imap_view_last_uid(v))
			continue;
		if (v->n == v->cap) {
			v->cap = v->cap < 64 ? 64 : v->cap * 2;
			v->uids = xreallocarray(v->uids, v->cap,
			    sizeof(*v->uids));
		}
		v->uids[v->n++] = uid;
		added++;
	}
	return added;
}

uint32_t
imap_view_msn(const struct imap_view *v, uint32_t uid)
{
	uint32_t lo = 0, hi = v->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v->uids[mid] == uid)
			return mid + 1;
		if (v->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

uint32_t
imap_view_remove(struct imap_view *v, uint32_t uid)
{
	uint32_t msn = imap_view_msn(v, uid);

	if (msn == 0)
		return 0;
	memmove(v->uids + msn - 1, v->uids + msn,
	    (v->n - msn) * sizeof(*v->uids));
	v->n--;
	return msn;
}

void
imap_view_save_result(struct imap_view *v, const struct buf *vec)
{
	size_t i, n = vec->len / 4;

	free(v->saved);
	v->saved = xreallocarray(NULL, n > 0 ? n : 1, sizeof(*v->saved));
	for (i = 0; i < n; i++)
		v->saved[i] = imap_view_vec_get(vec->data, i);
	v->nsaved = (uint32_t)n;
	v->has_saved = true;
}

int
imap_view_saved_set(const struct imap_view *v, struct imap_seqset *set,
    bool uid)
{
	const char *why;
	uint32_t i, msn;

	imap_seqset_init(set);
	for (i = 0; i < v->nsaved; i++) {
		if ((msn = imap_view_msn(v, v->saved[i])) == 0)
			continue;	/* expunged since */
		imap_seqset_add(set, uid ? v->saved[i] : msn,
		    uid ? v->saved[i] : msn);
	}
	(void)imap_seqset_resolve(set, 1, &why);
	return v->has_saved ? 0 : -1;
}

int
imap_view_resolve_set(const struct imap_view *v, struct imap_seqset *set,
    bool uid, const char **why)
{
	uint32_t star;

	if (set->saved) {
		/* "$": the last saved search result (RFC 5182). */
		imap_seqset_clear(set);
		(void)imap_view_saved_set(v, set, uid);
		return 0;
	}
	star = uid ? (v->n > 0 ? imap_view_last_uid(v) : v->uidnext) : v->n;
	if (imap_seqset_resolve(set, star, why) == -1) {
		imap_seqset_clear(set);
		return -1;
	}
	if (!uid && imap_seqset_max(set) > v->n) {
		imap_seqset_clear(set);
		*why = "Message sequence number out of range";
		return -1;
	}
	return 0;
}

/* Own changes remembered between two syncs, at most. */
#define VIEW_OWN_MAX	4096

void
imap_view_own_change(struct imap_view *v, uint32_t uid, uint64_t modseq)
{
	if (v->nown == VIEW_OWN_MAX)
		return;		/* the client just hears of it twice */
	if (v->own == NULL)
		v->own = xreallocarray(NULL, VIEW_OWN_MAX, sizeof(*v->own));
	v->own[v->nown].uid = uid;
	v->own[v->nown].modseq = modseq;
	v->nown++;
}

/* Whether uid at modseq is a change the client was told of already. */
static bool
imap_view_is_own(const struct imap_view *v, uint32_t uid, uint64_t modseq)
{
	uint32_t i;

	for (i = 0; i < v->nown; i++)
		if (v->own[i].uid == uid && v->own[i].modseq == modseq)
			return true;
	return false;
}

/* Whether keyword kw (len bytes) is in the space-separated list. */
static bool
imap_view_has_keyword(const char *list, const char *kw, size_t len)
{
	const char *p = list, *e;

	while (*p != '\0') {
		e = strchr(p, ' ');
		if (e == NULL)
			e = p + strlen(p);
		if ((size_t)(e - p) == len && strncasecmp(p, kw, len) == 0)
			return true;
		p = *e == ' ' ? e + 1 : e;
	}
	return false;
}

void
imap_view_set_keywords(struct imap_view *v, const char *kw)
{
	free(v->keywords);
	v->keywords = xstrdup(kw != NULL ? kw : "");
}

bool
imap_view_add_keywords(struct imap_view *v, const char *kw)
{
	const char *p = kw, *e;
	size_t len, old;
	bool added = false;

	while (*p != '\0') {
		e = strchr(p, ' ');
		if (e == NULL)
			e = p + strlen(p);
		len = (size_t)(e - p);
		if (len > 0 && !imap_view_has_keyword(v->keywords, p, len)) {
			old = strlen(v->keywords);
			v->keywords = xreallocarray(v->keywords, 1,
			    old + len + 2);
			if (old > 0)
				v->keywords[old++] = ' ';
			memcpy(v->keywords + old, p, len);
			v->keywords[old + len] = '\0';
			added = true;
		}
		p = *e == ' ' ? e + 1 : e;
	}
	return added;
}

void
imap_view_write_flags(struct buf *out, uint64_t flags, bool recent,
    const char *keywords)
{
	static const struct {
		uint64_t	 bit;
		const char	*name;
	} sys[] = {
		{ MAIL_F_SEEN, "\\Seen" }, { MAIL_F_ANSWERED, "\\Answered" },
		{ MAIL_F_FLAGGED, "\\Flagged" }, { MAIL_F_DELETED, "\\Deleted" },
		{ MAIL_F_DRAFT, "\\Draft" },
	};
	bool first = true;
	size_t i;

	buf_append(out, "(", 1);
	if (recent) {
		buf_append(out, "\\Recent", 7);
		first = false;
	}
	for (i = 0; i < sizeof(sys) / sizeof(sys[0]); i++) {
		if ((flags & sys[i].bit) == 0)
			continue;
		if (!first)
			buf_append(out, " ", 1);
		buf_append(out, sys[i].name, strlen(sys[i].name));
		first = false;
	}
	if (keywords != NULL && keywords[0] != '\0') {
		if (!first)
			buf_append(out, " ", 1);
		buf_append(out, keywords, strlen(keywords));
	}
	buf_append(out, ")", 1);
}

void
imap_view_write_flag_lists(struct imap_session *s, const struct imap_view *v)
{
	const char *sys = "\\Answered \\Flagged \\Deleted \\Seen \\Draft";

	buf_printf(s->out, "* FLAGS (%s%s%s)\r\n", sys,
	    v->keywords[0] != '\0' ? " " : "", v->keywords);
	if (v->readonly)
		buf_printf(s->out, "* OK [PERMANENTFLAGS ()] Read-only "
		    "mailbox\r\n");
	else
		buf_printf(s->out, "* OK [PERMANENTFLAGS (%s%s%s \\*)] "
		    "Flags permitted\r\n", sys,
		    v->keywords[0] != '\0' ? " " : "", v->keywords);
}

/* --- \Recent, RFC 3501 2.3.2 --- */

/* MBOX_RECENT's modes (lib/ipc_types.def). */
#define VIEW_RECENT_LOOK	0
#define VIEW_RECENT_CLAIM	1

/* The index of the first UID of the view at or above uid. */
static uint32_t
imap_view_lower(const struct imap_view *v, uint32_t uid)
{
	uint32_t lo = 0, hi = v->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool
imap_view_is_recent(const struct imap_session *s, uint32_t uid)
{
	const struct imap_view *v = s->view;
	uint32_t lo = 0, hi, mid;

	if (v == NULL || v->nrecent == 0 || (s->enabled & IMAP_ENABLED_REV2))
		return false;
	/* The last range that starts at or below uid. */
	hi = v->nrecent;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v->recent[mid].lo <= uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && uid < v->recent[lo - 1].hi;
}

uint32_t
imap_view_recent_count(const struct imap_view *v)
{
	uint32_t i, n = 0;

	for (i = 0; i < v->nrecent; i++)
		n += imap_view_lower(v, v->recent[i].hi) -
		    imap_view_lower(v, v->recent[i].lo);
	return n;
}

/* Adds [lo, hi) to the recent ranges, which it follows. */
static void
imap_view_recent_add(struct imap_view *v, uint32_t lo, uint32_t hi)
{
	if (lo >= hi)
		return;
	if (v->nrecent > 0 && v->recent[v->nrecent - 1].hi == lo) {
		v->recent[v->nrecent - 1].hi = hi;
		return;
	}
	if (v->nrecent == v->recent_cap) {
		v->recent_cap = v->recent_cap < 4 ? 4 : v->recent_cap * 2;
		v->recent = xreallocarray(v->recent, v->recent_cap,
		    sizeof(*v->recent));
	}
	v->recent[v->nrecent].lo = lo;
	v->recent[v->nrecent].hi = hi;
	v->nrecent++;
}

static void
imap_view_recent_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MBOX_RECENT_rep *r = rep;
	struct imap_session *s = arg;
	struct imap_view *v = s->view;
	imap_view_done_fn *done;

	(void)c;
	v->sync_id = 0;
	done = s->view_done;
	s->view_done = NULL;
	if (st == IPC_S_OK) {
		/*
		 * A look may give a boundary below what was asked before;
		 * those UIDs were decided then (the boundary only rises).
		 */
		imap_view_recent_add(v, r->first > v->recent_upto ? r->first :
		    v->recent_upto, v->recent_asking);
		/* With the EXISTS of new messages (RFC 3501 7.3.2). */
		if (v->recent_tell)
			buf_printf(s->out, "* %u RECENT\r\n",
			    imap_view_recent_count(v));
	} else
		imap_session_debug(s, "recent: %s: %s", ipc_status_name(st),
		    text != NULL ? text : "");
	/* Asked once, whatever came back: a failure is not tried again. */
	v->recent_upto = v->recent_asking;
	/*
	 * A change noted while this was waiting found the view busy; an
	 * idling client has no command to bring it, so catch up now.
	 */
	if (v->recent_tell && v->changed && s->idling) {
		(void)imap_view_sync(s, false, done);
		return;
	}
	if (done != NULL)
		done(s);
}

bool
imap_view_learn_recent(struct imap_session *s, bool tell,
    imap_view_done_fn *done)
{
	struct ipc_MBOX_RECENT_req req;
	struct imap_view *v = s->view;
	struct ipc_chan *store;
	uint32_t upto;

	/*
	 * Up to the UIDNEXT the view was told, or past its last UID if
	 * MSG_UIDS brought some above that.
	 */
	upto = v != NULL ? v->uidnext : 0;
	if (v != NULL && v->n > 0 && imap_view_last_uid(v) >= upto)
		upto = imap_view_last_uid(v) + 1;
	if (v == NULL || (s->enabled & IMAP_ENABLED_REV2) ||
	    upto <= v->recent_upto || v->sync_id != 0 ||
	    (store = imapd_store()) == NULL) {
		if (done != NULL)
			done(s);
		return true;
	}
	req.mailbox_id = v->mailbox_id;
	req.uidvalidity = v->uidvalidity;
	req.uidnext = upto;
	req.mode = v->readonly ? VIEW_RECENT_LOOK : VIEW_RECENT_CLAIM;
	v->recent_asking = upto;
	v->recent_tell = tell;
	s->view_done = done;
	v->sync_id = ipc_request(store, IPC_T_MBOX_RECENT, conn_id(s->conn),
	    &req, imap_view_recent_cb, s);
	return false;
}

/*
 * RFC 7162 3.2: changes the view has not caught up with (expunges among
 * them, maybe) wait while MODSEQ data goes out in a FETCH or STORE
 * response, so the client is told the modseq it is really caught up to.
 */
void
imap_view_write_held_modseq(struct imap_session *s)
{
	const struct imap_view *v = s->view;
	uint32_t i, j;

	if (v == NULL || !v->changed || (s->enabled &
	    (IMAP_ENABLED_CONDSTORE | IMAP_ENABLED_QRESYNC)) == 0)
		return;
	/*
	 * Nothing is held back if what waits is only this session's own
	 * changes, or what the view caught up with since.
	 */
	for (i = 0; !v->notified_over && i < v->nnotified; i++) {
		if (v->notified[i] <= v->highestmodseq)
			continue;
		for (j = 0; j < v->nown_hms; j++)
			if (v->own_hms[j] == v->notified[i])
				break;
		if (j == v->nown_hms)
			break;
	}
	if (!v->notified_over && i == v->nnotified)
		return;
	buf_printf(s->out, "* OK [HIGHESTMODSEQ %llu] Later changes wait\r\n",
	    (unsigned long long)v->highestmodseq);
}

void
imap_view_own_hms(struct imap_view *v, uint64_t hms)
{
	if (v->nown_hms < sizeof(v->own_hms) / sizeof(v->own_hms[0]))
		v->own_hms[v->nown_hms++] = hms;
}

void
imap_view_notified(struct imap_view *v, uint64_t modseq)
{
	v->changed = true;
	if (v->nnotified == sizeof(v->notified) / sizeof(v->notified[0]))
		v->notified_over = true;
	else
		v->notified[v->nnotified++] = modseq;
}

/* --- Catching up --- */

/*
 * The view's UIDs inside the absent ranges of an MBOX_SYNC reply (sent
 * instead of the vanished UIDs, store/mail_msg.h), as a uid vector: those
 * are the ones gone.
 */
static void
imap_view_absent(const struct imap_view *v, const struct ipc_MBOX_SYNC_rep *r,
    struct buf *out)
{
	size_t i = 0, k, nr = r->absent.len / 8;
	uint32_t first, last;

	for (k = 0; k < nr && i < v->n; k++) {
		first = imap_view_vec_get(r->absent.p, 2 * k);
		last = imap_view_vec_get(r->absent.p, 2 * k + 1);
		while (i < v->n && v->uids[i] < first)
			i++;
		for (; i < v->n && v->uids[i] <= last; i++)
			imap_view_vec_put(out, v->uids[i]);
	}
}

/*
 * Removes the UIDs of vec (n of them) from the view; appends to out, for
 * each UID that was there, the UID and its sequence number as EXPUNGE
 * gives it (counting the ones removed before), u32 pairs.  An ascending
 * vec is merged with the view in one pass: removing 100,000 messages one
 * memmove at a time took seconds.
 */
static void
imap_view_remove_vec(struct imap_view *v, const uint8_t *vec, size_t n,
    struct buf *out)
{
	uint32_t k, w, removed = 0, uid, msn;
	size_t i, j;

	for (i = 1; i < n; i++)
		if (imap_view_vec_get(vec, i) <= imap_view_vec_get(vec, i - 1))
			break;
	if (i < n) {
		for (i = 0; i < n; i++) {
			uid = imap_view_vec_get(vec, i);
			if ((msn = imap_view_remove(v, uid)) == 0)
				continue;
			imap_view_vec_put(out, uid);
			imap_view_vec_put(out, msn);
		}
		return;
	}
	for (k = 0, w = 0, j = 0; k < v->n; k++) {
		uid = v->uids[k];
		while (j < n && imap_view_vec_get(vec, j) < uid)
			j++;
		if (j < n && imap_view_vec_get(vec, j) == uid) {
			imap_view_vec_put(out, uid);
			imap_view_vec_put(out, k - removed + 1);
			removed++;
		} else
			v->uids[w++] = uid;
	}
	v->n = w;
}

void
imap_view_apply_sync(struct imap_session *s, const struct ipc_MBOX_SYNC_rep *r)
{
	struct imap_view *v = s->view;
	bool qresync = (s->enabled & IMAP_ENABLED_QRESYNC) != 0;
	bool condstore = (s->enabled & (IMAP_ENABLED_CONDSTORE |
	    IMAP_ENABLED_QRESYNC)) != 0;
	struct buf vanished = BUF_INIT, gone = BUF_INIT, pairs = BUF_INIT;
	const uint8_t *gonep = r->vanished.p;
	struct wire_iter kit;
	const char *kw;
	size_t i, n;
	uint32_t uid, msn, added, vcount = 0, first = 0, last = 0;
	uint32_t removed = 0;

	/* Expunges first: sequence numbers of later responses count them. */
	n = r->vanished.len / 4;
	if (r->absent.len > 0) {
		imap_view_absent(v, r, &gone);
		gonep = gone.data;
		n = gone.len / 4;
	}
	imap_view_remove_vec(v, gonep, n, &pairs);
	for (i = 0; i + 1 < pairs.len / 4; i += 2) {
		uid = imap_view_vec_get(pairs.data, i);
		msn = imap_view_vec_get(pairs.data, i + 1);
		removed++;
		if (!qresync) {
			buf_printf(s->out, "* %u EXPUNGE\r\n", msn);
			continue;
		}
		/* VANISHED uid-set, ranges of consecutive UIDs. */
		if (vcount > 0 && uid == last + 1)
			last = uid;
		else {
			if (vcount > 0)
				buf_printf(&vanished, first == last ? "%u," :
				    "%u:%u,", first, last);
			first = last = uid;
		}
		vcount++;
	}
	if (vcount > 0) {
		buf_printf(&vanished, first == last ? "%u" : "%u:%u", first,
		    last);
		buf_printf(s->out, "* VANISHED %.*s\r\n", (int)vanished.len,
		    (const char *)vanished.data);
	}
	buf_clear(&vanished);
	buf_clear(&gone);
	buf_clear(&pairs);
	added = imap_view_append(v, r->added.p, r->added.len);
	if (r->uidnext > v->uidnext)
		v->uidnext = r->uidnext;
	/* New keywords change FLAGS (RFC 9051 7.3.5). */
	wire_strlist_iter(&r->keywords, &kit);
	for (i = 0; (kw = wire_strlist_next(&kit)) != NULL; i++)
		if (imap_view_add_keywords(v, kw))
			imap_view_write_flag_lists(s, v);
	/* Only when the count changed (a known UID again is no news). */
	if (added > 0 || removed > 0)
		buf_printf(s->out, "* %u EXISTS\r\n", v->n);
	/*
	 * Flag changes of messages the client knows, unless NOTIFY left
	 * out FlagChange (RFC 5465 5.1).
	 */
	wire_strlist_iter(&r->keywords, &kit);
	n = imap_notify_sel_flags(s) ? r->changed.len / 4 : 0;
	for (i = 0; i < n; i++) {
		uid = imap_view_vec_get(r->changed.p, i);
		kw = wire_strlist_next(&kit);
		if ((msn = imap_view_msn(v, uid)) == 0 ||
		    i >= r->flags.count)
			continue;
		/* Just added: the client fetches their flags itself. */
		if (msn > v->n - added)
			continue;
		if (i < r->modseqs.count && imap_view_is_own(v, uid,
		    wire_u64list_get(&r->modseqs, (uint32_t)i)))
			continue;
		buf_printf(s->out, "* %u FETCH (UID %u FLAGS ", msn, uid);
		imap_view_write_flags(s->out, wire_u64list_get(&r->flags,
		    (uint32_t)i), imap_view_is_recent(s, uid), kw);
		if (condstore && i < r->modseqs.count)
			buf_printf(s->out, " MODSEQ (%llu)",
			    (unsigned long long)wire_u64list_get(&r->modseqs,
			    (uint32_t)i));
		buf_append(s->out, ")\r\n", 3);
	}
	if (r->highestmodseq > v->highestmodseq) {
		v->highestmodseq = r->highestmodseq;
		v->nown = 0;
	}
}

struct imap_view_sync {
	struct imap_session	*s;
	imap_view_done_fn	*done;
};

static bool	imap_view_sync_send(struct imap_session *, uint32_t);

static void
imap_view_sync_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MBOX_SYNC_rep *r = rep;
	struct ipc_MBOX_SYNC_rep page;
	struct imap_session *s = arg;
	imap_view_done_fn *done;

	(void)c;
	s->view->sync_id = 0;
	if (st == IPC_S_OK) {
		/*
		 * A later page was read after the first: the view stays at
		 * the first page's HIGHESTMODSEQ, so that what changed in
		 * between comes at the next sync.
		 */
		if (s->view->sync_after != 0) {
			page = *r;
			page.highestmodseq = 0;
			r = &page;
		}
		imap_view_apply_sync(s, r);
		if (r->next != 0) {
			if (imap_view_sync_send(s, r->next))
				return;
			/* The rest at the next sync, from the start again. */
			s->view->highestmodseq = s->view->sync_since;
			s->view->changed = true;
		}
		done = s->view_done;
		s->view_done = NULL;
		/* New messages may be recent here (RFC 3501 7.3.2). */
		(void)imap_view_learn_recent(s, true, done);
		return;
	}
	done = s->view_done;
	s->view_done = NULL;
	/* Try again at the next point; what waits is not known. */
	s->view->changed = true;
	s->view->notified_over = true;
	imap_session_debug(s, "mailbox sync failed: %s: %s",
	    ipc_status_name(st), text != NULL ? text : "");
	if (done != NULL)
		done(s);
}

bool
imap_view_sync(struct imap_session *s, bool force, imap_view_done_fn *done)
{
	struct imap_view *v = s->view;

	/*
	 * NOTIFY without message events for the selected mailbox: the
	 * client hears of no change (RFC 5465 3.1), and the view stays.
	 */
	if (v == NULL || (!v->changed && !force) || v->sync_id != 0 ||
	    (!force && imap_notify_sel_hidden(s)) || imapd_store() == NULL) {
		if (done != NULL)
			done(s);
		return true;
	}
	v->changed = false;
	v->nnotified = 0;
	v->notified_over = false;
	v->nown_hms = 0;
	v->sync_since = v->highestmodseq;
	s->view_done = done;
	(void)imap_view_sync_send(s, 0);	/* the store is there */
	return false;
}

/* Asks for the page after `after` of the view's sync; false: no store. */
static bool
imap_view_sync_send(struct imap_session *s, uint32_t after)
{
	struct ipc_MBOX_SYNC_req req;
	struct ipc_chan *store;
	struct imap_view *v = s->view;

	if ((store = imapd_store()) == NULL)
		return false;
	req.mailbox_id = v->mailbox_id;
	req.since = v->sync_since;
	req.after = after;
	v->sync_after = after;
	v->sync_id = ipc_request(store, IPC_T_MBOX_SYNC, conn_id(s->conn),
	    &req, imap_view_sync_cb, s);
	return true;
}

void
imap_view_condstore_enable(struct imap_session *s)
{
	if (s->enabled & (IMAP_ENABLED_CONDSTORE | IMAP_ENABLED_QRESYNC))
		return;
	s->enabled |= IMAP_ENABLED_CONDSTORE;
	if (s->view != NULL)
		buf_printf(s->out, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
		    (unsigned long long)s->view->highestmodseq);
}

/* --- A tagged response after catching up --- */

struct imap_view_reply {
	const char	*cond;
	char		*code;
	char		*text;
};

static void
imap_view_reply_free(void *arg)
{
	struct imap_view_reply *r = arg;

	if (r == NULL)
		return;
	free(r->code);
	free(r->text);
	free(r);
}

static void
imap_view_reply_done(struct imap_session *s)
{
	struct imap_view_reply *r = s->cmd_ctx;

	imap_session_reply(s, r->cond, r->code, r->text);
	s->cmd_ctx = NULL;
	s->cmd_ctx_free = NULL;
	imap_view_reply_free(r);
	imap_session_resume(s, IMAP_CMD_DONE);
}

void
imap_view_reply_synced(struct imap_session *s, const char *cond,
    const char *code, const char *text)
{
	struct imap_view_reply *r = xcalloc(1, sizeof(*r));

	r->cond = cond;
	r->code = code != NULL ? xstrdup(code) : NULL;
	r->text = xstrdup(text);
	s->cmd_ctx = r;
	s->cmd_ctx_free = imap_view_reply_free;
	(void)imap_view_sync(s, true, imap_view_reply_done);
}

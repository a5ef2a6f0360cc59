/* SPDX-License-Identifier: ISC */
/*
 * admin.c: the admin socket (accept, peer check) and the requests of
 * bulwarkctl (see admin.h).  The store logic is in domain.c, account.c,
 * alias.c and quota.c; this file turns requests into calls and results
 * into replies and log lines.
 */
#include "admin.h"
#include "account.h"
#include "alias.h"
#include "compat.h"
#include "dispatch.h"
#include "domain.h"
#include "log.h"
#include "pushsub.h"
#include "quota.h"
#include "worker.h"
#include "workq.h"
#include "xmalloc.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

/* Room left in a frame for everything but a reply's lists. */
#define ADMIN_LIST_MAX	(IPC_MAX_PAYLOAD - 4096)

struct admin_conn {
	struct admin		*adm;
	struct ipc_chan		*chan;
	uint64_t		 serial;
	uid_t			 uid;
	TAILQ_ENTRY(admin_conn)	 entry;
};

struct admin {
	struct storaged		*sd;
	int			 fd;
	struct event		*ev_accept;
	struct event		*ev_pause;	/* after EMFILE */
	TAILQ_HEAD(, admin_conn) conns;
	size_t			 nconns;
	bool			 stopped;
};

/* A password being hashed for ACCOUNT_ADD or ACCOUNT_PASSWD. */
struct admin_job {
	struct storaged		*sd;
	uint64_t		 conn_serial;
	struct ipc_reqref	 ref;
	struct name_addr	 addr;
	uint64_t		 quota_bytes, quota_messages;
	char			*password;
	size_t			 pwlen;
	char			 hash[crypto_pwhash_STRBYTES];
	int			 rc;
};

/* --- Connections --- */

static void
admin_listen_resume(struct admin *a)
{
	if (!a->stopped && a->nconns < ADMIN_MAX_CONNS)
		event_add(a->ev_accept, NULL);
}

static void
admin_conn_free(struct admin_conn *ac)
{
	struct admin *a = ac->adm;

	TAILQ_REMOVE(&a->conns, ac, entry);
	a->nconns--;
	ipc_chan_free(&ac->chan);
	free(ac);
}

static void
admin_close_cb(struct ipc_chan *c, const char *why, void *arg)
{
	struct admin_conn *ac = arg;
	struct admin *a = ac->adm;

	(void)c;
	log_debug("admin connection closed uid=%u why=\"%s\"",
	    (unsigned)ac->uid, why);
	admin_conn_free(ac);
	admin_listen_resume(a);
}

static struct admin_conn *
admin_conn_find(struct admin *a, uint64_t serial)
{
	struct admin_conn *ac;

	if (a == NULL)
		return NULL;
	TAILQ_FOREACH(ac, &a->conns, entry)
		if (ac->serial == serial)
			return ac;
	return NULL;
}

/* Whether the peer has gid among its supplementary groups (Linux). */
static bool
admin_peer_in_group(int fd, gid_t gid)
{
#ifdef SO_PEERGROUPS
	gid_t groups[256];
	socklen_t len = sizeof(groups);
	size_t i;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == -1)
		return false;
	for (i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == gid)
			return true;
#else
	(void)fd;
	(void)gid;
#endif
	return false;
}

static int
admin_peer_cred(int fd, uid_t *uid, gid_t *gid)
{
#ifdef __linux__
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1)
		return -1;
	*uid = uc.uid;
	*gid = uc.gid;
	return 0;
#else
	return getpeereid(fd, uid, gid);
#endif
}

/* Root, storaged's own user, or the admin group may administer. */
static bool
admin_peer_ok(struct admin *a, int fd, uid_t *uid_r)
{
	uint32_t admin_gid = a->sd->conf.admin_gid;
	uid_t uid;
	gid_t gid;

	if (admin_peer_cred(fd, &uid, &gid) == -1) {
		log_warn("admin connection: peer credentials");
		return false;
	}
	*uid_r = uid;
	if (uid == 0 || uid == getuid())
		return true;
	if (admin_gid != UINT32_MAX && (gid == (gid_t)admin_gid ||
	    admin_peer_in_group(fd, (gid_t)admin_gid)))
		return true;
	log_warnx("admin connection refused uid=%u gid=%u", (unsigned)uid,
	    (unsigned)gid);
	return false;
}

static void
admin_conn_new(struct admin *a, int fd, uid_t uid)
{
	struct admin_conn *ac = xcalloc(1, sizeof(*ac));
	struct ipc_chan_params p = {
		.self = IPC_P_STORE,
		.peer = IPC_P_CTL,
		.name = "storaged",
		.handlers = dispatch_ctl,
		.close_cb = admin_close_cb,
		.arg = ac,
	};

	ac->adm = a;
	ac->uid = uid;
	ac->chan = ipc_chan_new(a->sd->base, fd, &p);
	ac->serial = ipc_chan_serial(ac->chan);
	TAILQ_INSERT_TAIL(&a->conns, ac, entry);
	if (++a->nconns >= ADMIN_MAX_CONNS)
		event_del(a->ev_accept);
	log_debug("admin connection uid=%u", (unsigned)uid);
}

static void
admin_pause_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	admin_listen_resume(arg);
}

static void
admin_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct timeval tv = { 1, 0 };
	struct admin *a = arg;
	uid_t uid = (uid_t)-1;
	int fd;

	(void)what;
	while (a->nconns < ADMIN_MAX_CONNS && !a->stopped) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE) {
				log_warn("admin accept");
				event_del(a->ev_accept);
				evtimer_add(a->ev_pause, &tv);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("admin accept");
			return;
		}
		if (!admin_peer_ok(a, fd, &uid)) {
			close(fd);
			continue;
		}
		admin_conn_new(a, fd, uid);
	}
}

struct admin *
admin_new(struct storaged *sd, int fd)
{
	struct admin *a = xcalloc(1, sizeof(*a));
	int fl;

	/* accept4 must not block the loop when a peer went away. */
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		fatal("admin socket: fcntl");
	a->sd = sd;
	a->fd = fd;
	TAILQ_INIT(&a->conns);
	a->ev_accept = event_new(sd->base, fd, EV_READ | EV_PERSIST,
	    admin_accept_cb, a);
	a->ev_pause = evtimer_new(sd->base, admin_pause_cb, a);
	if (a->ev_accept == NULL || a->ev_pause == NULL)
		fatalx("admin: event_new");
	event_add(a->ev_accept, NULL);
	return a;
}

void
admin_stop(struct admin *a)
{
	if (a == NULL)
		return;
	a->stopped = true;
	event_del(a->ev_accept);
	event_del(a->ev_pause);
}

void
admin_free(struct admin **ap)
{
	struct admin *a = *ap;

	*ap = NULL;
	if (a == NULL)
		return;
	while (!TAILQ_EMPTY(&a->conns))
		admin_conn_free(TAILQ_FIRST(&a->conns));
	event_free(a->ev_accept);
	event_free(a->ev_pause);
	close(a->fd);
	free(a);
}

/* --- Replies --- */

static struct storaged *
admin_sd(void *arg)
{
	return ((struct admin_conn *)arg)->adm->sd;
}

struct storaged *
admin_conn_storaged(void *arg)
{
	return admin_sd(arg);
}

static void
admin_reply_error(struct ipc_chan *c, const struct ipc_frame *f,
    enum ipc_status st, const struct store_error *err)
{
	ipc_reply(c, f, st, err->text, NULL);
}

/* Whether lists of these strings fit in one reply frame. */
static bool
admin_list_fits(struct ipc_chan *c, const struct ipc_frame *f,
    const struct strvec *a, const struct strvec *b)
{
	size_t bytes = a->bytes + 4 * a->n;

	if (b != NULL)
		bytes += b->bytes + 4 * b->n;
	if (bytes <= ADMIN_LIST_MAX)
		return true;
	ipc_reply(c, f, IPC_S_TOOBIG, "list too long for one reply; "
	    "ask for one domain", NULL);
	return false;
}

/* --- Password jobs --- */

static struct admin_job *
admin_job_new(void *arg, const struct ipc_frame *f, const char *password)
{
	struct admin_conn *ac = arg;
	struct admin_job *j = xcalloc(1, sizeof(*j));

	j->sd = ac->adm->sd;
	j->conn_serial = ac->serial;
	ipc_reqref_set(&j->ref, f);
	j->pwlen = strlen(password);
	j->password = xmalloc(j->pwlen + 1);
	memcpy(j->password, password, j->pwlen + 1);
	return j;
}

static void
admin_job_free(struct admin_job *j)
{
	if (j->password != NULL)
		xfree_secret(j->password, j->pwlen);
	sodium_memzero(j->hash, sizeof(j->hash));
	free(j);
}

static void
admin_job_work(void *arg)
{
	struct admin_job *j = arg;
	const struct store_conf *conf = &j->sd->conf;

	j->rc = auth_hash_password(j->password, conf->pwhash_ops,
	    conf->pwhash_mem, j->hash);
	xfree_secret(j->password, j->pwlen);
	j->password = NULL;
}

/*
 * Queues job j, whose done function is done; replies and frees j if the
 * store is stopping or busy.
 */
static void
admin_job_submit(struct ipc_chan *c, const struct ipc_frame *f,
    struct admin_job *j, workq_done_fn *done)
{
	if (j->sd->stopping)
		ipc_reply(c, f, IPC_S_UNAVAIL, "storaged is stopping", NULL);
	else if (workq_submit(j->sd->wq, admin_job_work, done, j) == 0)
		return;
	else
		ipc_reply(c, f, IPC_S_UNAVAIL, "storaged is busy", NULL);
	admin_job_free(j);
}

/* Finds the connection a finished job replies on, or NULL. */
static struct admin_conn *
admin_job_conn(struct admin_job *j, bool cancelled, const char *what)
{
	struct admin_conn *ac;

	if (cancelled)
		return NULL;
	if ((ac = admin_conn_find(j->sd->admin, j->conn_serial)) == NULL)
		log_info("%s abandoned name=%s", what, j->addr.full);
	else if (j->rc != 0) {
		ipc_reply_ref(ac->chan, &j->ref, IPC_S_INTERNAL,
		    "out of memory hashing the password", NULL);
		ac = NULL;
	}
	return ac;
}

/* --- Domains --- */

void
admin_domain_add(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_DOMAIN_ADD_req *m = msg;
	char name[NAME_DOMAIN_MAX + 1];
	struct store_error err;
	enum ipc_status st;

	st = domain_add(&admin_sd(arg)->db, m->name, storaged_now(), name,
	    &err);
	if (st != IPC_S_OK) {
		admin_reply_error(c, f, st, &err);
		return;
	}
	log_info("domain added name=%s", name);
	ipc_reply(c, f, IPC_S_OK, NULL, NULL);
}

void
admin_domain_del(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_DOMAIN_DEL_req *m = msg;
	char name[NAME_DOMAIN_MAX + 1];
	struct store_error err;
	enum ipc_status st;

	if ((st = domain_del(&admin_sd(arg)->db, m->name, name, &err)) !=
	    IPC_S_OK) {
		admin_reply_error(c, f, st, &err);
		return;
	}
	log_info("domain deleted name=%s", name);
	ipc_reply(c, f, IPC_S_OK, NULL, NULL);
}

void
admin_domain_list(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	struct ipc_DOMAIN_LIST_rep rep;
	struct strvec sv = STRVEC_INIT;
	struct buf b = BUF_INIT;
	struct store_error err;
	enum ipc_status st;

	(void)msg;
	if ((st = domain_list(&admin_sd(arg)->db, &sv, &err)) != IPC_S_OK)
		admin_reply_error(c, f, st, &err);
	else if (admin_list_fits(c, f, &sv, NULL)) {
		strvec_to_wire(&sv, &b, &rep.names);
		ipc_reply(c, f, IPC_S_OK, NULL, &rep);
	}
	strvec_clear(&sv);
	buf_clear(&b);
}

/* --- Accounts --- */

static void
admin_account_add_done(void *arg, bool cancelled)
{
	struct admin_job *j = arg;
	struct ipc_ACCOUNT_ADD_rep rep;
	struct store_error err;
	struct admin_conn *ac;
	enum ipc_status st;

	if ((ac = admin_job_conn(j, cancelled, "account add")) != NULL) {
		st = account_add(&j->sd->db, &j->addr, j->hash,
		    j->quota_bytes, j->quota_messages, storaged_now(),
		    &rep.account_id, &err);
		if (st == IPC_S_OK) {
			log_info("account added name=%s id=%llu",
			    j->addr.full, (unsigned long long)rep.account_id);
			ipc_reply_ref(ac->chan, &j->ref, st, NULL, &rep);
		} else
			ipc_reply_ref(ac->chan, &j->ref, st, err.text, NULL);
	}
	admin_job_free(j);
}

void
admin_account_add(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_ACCOUNT_ADD_req *m = msg;
	struct store_error err;
	struct admin_job *j;
	struct name_addr a;
	enum ipc_status st;

	if ((st = account_check_new(&admin_sd(arg)->db, m->name, &a,
	    &err)) != IPC_S_OK ||
	    (st = name_password(m->password, &err)) != IPC_S_OK) {
		admin_reply_error(c, f, st, &err);
		return;
	}
	j = admin_job_new(arg, f, m->password);
	j->addr = a;
	j->quota_bytes = m->quota_bytes;
	j->quota_messages = m->quota_messages;
	admin_job_submit(c, f, j, admin_account_add_done);
}

void
admin_account_del(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_ACCOUNT_DEL_req *m = msg;
	struct storaged *sd = admin_sd(arg);
	struct store_error err;
	struct account acc;
	enum ipc_status st;
	size_t naliases, nsessions;

	if ((st = account_del(&sd->db, m->name, &acc, &naliases, &err)) !=
	    IPC_S_OK) {
		admin_reply_error(c, f, st, &err);
		return;
	}
	nsessions = worker_unbind_account(sd, acc.rec.id);
	log_info("account deleted name=%s id=%llu aliases=%zu sessions=%zu",
	    acc.name, (unsigned long long)acc.rec.id, naliases, nsessions);
	ipc_reply(c, f, IPC_S_OK, NULL, NULL);
}

static void
admin_account_passwd_done(void *arg, bool cancelled)
{
	struct admin_job *j = arg;
	struct store_error err, e2;
	struct admin_conn *ac;
	enum ipc_status st;
	uint64_t id;
	size_t npush = 0;

	if ((ac = admin_job_conn(j, cancelled, "account passwd")) != NULL) {
		st = account_set_hash(&j->sd->db, j->addr.full, j->hash, &id,
		    &err);
		/* RFC 8620 7.2: the old credentials' push subscriptions go. */
		if (st == IPC_S_OK && pushsub_revoke(&j->sd->db, id, &npush,
		    &e2) != IPC_S_OK)
			log_warnx("account %s: push subscriptions not "
			    "revoked: %s", j->addr.full, e2.text);
		if (st == IPC_S_OK) {
			log_info("account password changed name=%s id=%llu "
			    "push_subscriptions=%zu", j->addr.full,
			    (unsigned long long)id, npush);
			ipc_reply_ref(ac->chan, &j->ref, st, NULL, NULL);
		} else
			ipc_reply_ref(ac->chan, &j->ref, st, err.text, NULL);
	}
	admin_job_free(j);
}

void
admin_account_passwd(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_ACCOUNT_PASSWD_req *m = msg;
	struct store_error err;
	struct admin_job *j;
	struct account acc;
	enum ipc_status st;

	if ((st = account_get(&admin_sd(arg)->db, m->name, &acc, &err)) !=
	    IPC_S_OK || (st = name_password(m->password, &err)) != IPC_S_OK) {
		admin_reply_error(c, f, st, &err);
		return;
	}
	j = admin_job_new(arg, f, m->password);
	name_address(acc.name, &j->addr, &err);
	admin_job_submit(c, f, j, admin_account_passwd_done);
}

void
admin_account_list(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_ACCOUNT_LIST_req *m = msg;
	struct ipc_ACCOUNT_LIST_rep rep;
	struct strvec sv = STRVEC_INIT;
	struct buf b = BUF_INIT;
	struct store_error err;
	enum ipc_status st;

	st = account_list(&admin_sd(arg)->db, m->domain, &sv, &err);
	if (st != IPC_S_OK)
		admin_reply_error(c, f, st, &err);
	else if (admin_list_fits(c, f, &sv, NULL)) {
		strvec_to_wire(&sv, &b, &rep.names);
		ipc_reply(c, f, IPC_S_OK, NULL, &rep);
	}
	strvec_clear(&sv);
	buf_clear(&b);
}

void
admin_account_show(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_ACCOUNT_SHOW_req *m = msg;
	struct storaged *sd = admin_sd(arg);
	struct ipc_ACCOUNT_SHOW_rep rep;
	struct strvec sv = STRVEC_INIT;
	struct buf b = BUF_INIT;
	struct store_error err;
	struct account acc;
	struct name_addr a;
	enum ipc_status st;

	if ((st = account_get(&sd->db, m->name, &acc, &err)) == IPC_S_OK &&
	    (st = name_address(acc.name, &a, &err)) == IPC_S_OK)
		st = alias_of(&sd->db, &a, &sv, &err);
	if (st != IPC_S_OK)
		admin_reply_error(c, f, st, &err);
	else if (admin_list_fits(c, f, &sv, NULL)) {
		rep.account_id = acc.rec.id;
		rep.name = acc.name;
		rep.domain = a.domain;
		rep.created = acc.rec.created;
		rep.quota_bytes = acc.rec.quota_bytes;
		rep.quota_messages = acc.rec.quota_messages;
		rep.used_bytes = acc.rec.used_bytes;
		rep.used_messages = acc.rec.used_messages;
		strvec_to_wire(&sv, &b, &rep.aliases);
		ipc_reply(c, f, IPC_S_OK, NULL, &rep);
	}
	sodium_memzero(acc.rec.hash, sizeof(acc.rec.hash));
	strvec_clear(&sv);
	buf_clear(&b);
}

/* --- Aliases and quotas --- */

void
admin_alias_add(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_ALIAS_ADD_req *m = msg;
	struct store_error err;
	struct name_addr a, t;
	enum ipc_status st;

	st = alias_add(&admin_sd(arg)->db, m->alias, m->target,
	    storaged_now(), &a, &t, &err);
	if (st != IPC_S_OK) {
		admin_reply_error(c, f, st, &err);
		return;
	}
	log_info("alias added name=%s target=%s", a.full, t.full);
	ipc_reply(c, f, IPC_S_OK, NULL, NULL);
}

void
admin_alias_del(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_ALIAS_DEL_req *m = msg;
	char target[NAME_ADDR_MAX + 1];
	struct store_error err;
	struct name_addr a;
	enum ipc_status st;

	st = alias_del(&admin_sd(arg)->db, m->alias, &a, target, &err);
	if (st != IPC_S_OK) {
		admin_reply_error(c, f, st, &err);
		return;
	}
	log_info("alias deleted name=%s target=%s", a.full, target);
	ipc_reply(c, f, IPC_S_OK, NULL, NULL);
}

void
admin_alias_list(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_ALIAS_LIST_req *m = msg;
	struct ipc_ALIAS_LIST_rep rep;
	struct strvec al = STRVEC_INIT, tl = STRVEC_INIT;
	struct buf ab = BUF_INIT, tb = BUF_INIT;
	struct store_error err;
	enum ipc_status st;

	st = alias_list(&admin_sd(arg)->db, m->domain, &al, &tl, &err);
	if (st != IPC_S_OK)
		admin_reply_error(c, f, st, &err);
	else if (admin_list_fits(c, f, &al, &tl)) {
		strvec_to_wire(&al, &ab, &rep.aliases);
		strvec_to_wire(&tl, &tb, &rep.targets);
		ipc_reply(c, f, IPC_S_OK, NULL, &rep);
	}
	strvec_clear(&al);
	strvec_clear(&tl);
	buf_clear(&ab);
	buf_clear(&tb);
}

void
admin_quota_set(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_QUOTA_SET_req *m = msg;
	struct store_error err;
	struct name_addr a;
	enum ipc_status st;
	uint64_t id;

	if ((st = name_address(m->name, &a, &err)) == IPC_S_OK)
		st = quota_set(&admin_sd(arg)->db, a.full, m->bytes,
		    m->messages, &id, &err);
	if (st != IPC_S_OK) {
		admin_reply_error(c, f, st, &err);
		return;
	}
	log_info("quota set name=%s id=%llu bytes=%llu messages=%llu", a.full,
	    (unsigned long long)id, (unsigned long long)m->bytes,
	    (unsigned long long)m->messages);
	ipc_reply(c, f, IPC_S_OK, NULL, NULL);
}

/* --- The clean-up --- */

/* A STORE_PRUNE waiting for its clean-up to commit. */
struct admin_prune {
	struct storaged		*sd;
	uint64_t		 conn_serial;
	struct ipc_reqref	 ref;
};

static void
admin_prune_done(void *arg, enum ipc_status st, const struct store_error *err,
    const struct storaged_pruned *p)
{
	struct admin_prune *j = arg;
	struct ipc_STORE_PRUNE_rep rep;
	struct admin_conn *ac;

	if ((ac = admin_conn_find(j->sd->admin, j->conn_serial)) == NULL)
		log_info("prune reply abandoned");
	else if (st != IPC_S_OK)
		ipc_reply_ref(ac->chan, &j->ref, st, err->text, NULL);
	else {
		rep.duplicates = p->duplicates;
		rep.uploads = p->uploads;
		rep.changes = p->changes;
		rep.accounts = p->accounts;
		ipc_reply_ref(ac->chan, &j->ref, IPC_S_OK, NULL, &rep);
	}
	free(j);
}

void
admin_store_prune(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	struct admin_conn *ac = arg;
	struct admin_prune *j;

	(void)msg;
	if (ac->adm->sd->stopping) {
		ipc_reply(c, f, IPC_S_UNAVAIL, "storaged is stopping", NULL);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->sd = ac->adm->sd;
	j->conn_serial = ac->serial;
	ipc_reqref_set(&j->ref, f);
	if (storaged_prune_run(j->sd, admin_prune_done, j) == -1) {
		ipc_reply(c, f, IPC_S_UNAVAIL, "storaged is busy", NULL);
		free(j);
		return;
	}
	log_info("prune asked by bulwarkctl");
}

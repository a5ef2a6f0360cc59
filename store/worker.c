/* SPDX-License-Identifier: ISC */
/*
 * worker.c: network worker channels, their sessions and authentication
 * (see worker.h).  An AUTH is checked in three steps: on the loop (session,
 * mechanism, authorization identity, rate limits, the account's hash read
 * in a short LMDB read transaction), on the thread pool (argon2id), and on
 * the loop again (rate limits once more, the account still the same, the
 * session still open, bind and reply).
 */
#include "worker.h"
#include "account.h"
#include "compat.h"
#include "dispatch.h"
#include "log.h"
#include "token.h"
#include "workq.h"
#include "xmalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

/* One AUTH on its way through the thread pool. */
struct auth_job {
	struct storaged		*sd;
	uint64_t		 chan_serial;
	uint64_t		 session_id;
	uint64_t		 session_serial;
	struct ipc_reqref	 ref;
	char			 user[NAME_ADDR_MAX + 1];	/* lower case */
	char			 proto[16];
	struct auth_remote	 remote;
	char			*password;	/* wiped after use */
	size_t			 pwlen;
	char			 hash[crypto_pwhash_STRBYTES];
	uint64_t		 account_id;	/* 0: no such user */
	uint32_t		 auth_gen;
	bool			 ok;
};

static void
worker_close_cb(struct ipc_chan *c, const char *why, void *arg)
{
	struct wchan *w = arg;

	(void)c;
	log_info("worker channel closed name=%s pid=%u sessions=%zu why=\"%s\"",
	    w->name, w->pid, w->sessions.n, why);
	TAILQ_REMOVE(&w->sd->workers, w, entry);
	session_table_clear(&w->sessions);
	ipc_chan_free(&w->chan);
	free(w);
}

void
worker_chan_new(struct storaged *sd, int fd, const char *name, uint32_t pid)
{
	struct wchan *w = xcalloc(1, sizeof(*w));
	struct ipc_chan_params p = {
		.self = IPC_P_STORE,
		.peer = IPC_P_WORKER,
		.name = "storaged",
		.handlers = dispatch_worker,
		.close_cb = worker_close_cb,
		.arg = w,
	};

	w->sd = sd;
	strlcpy(w->name, name, sizeof(w->name));
	w->pid = pid;
	session_table_init(&w->sessions);
	w->chan = ipc_chan_new(sd->base, fd, &p);
	w->serial = ipc_chan_serial(w->chan);
	TAILQ_INSERT_TAIL(&sd->workers, w, entry);
	log_debug("worker channel open name=%s pid=%u serial=%llu", w->name,
	    pid, (unsigned long long)w->serial);
}

struct wchan *
worker_find(struct storaged *sd, uint64_t serial)
{
	struct wchan *w;

	TAILQ_FOREACH(w, &sd->workers, entry)
		if (w->serial == serial)
			return w;
	return NULL;
}

void
worker_free_all(struct storaged *sd)
{
	struct wchan *w;

	while ((w = TAILQ_FIRST(&sd->workers)) != NULL) {
		TAILQ_REMOVE(&sd->workers, w, entry);
		session_table_clear(&w->sessions);
		ipc_chan_free(&w->chan);
		free(w);
	}
}

size_t
worker_unbind_account(struct storaged *sd, uint64_t account_id)
{
	struct wchan *w;
	size_t n = 0;

	TAILQ_FOREACH(w, &sd->workers, entry)
		n += session_unbind_account(&w->sessions, account_id);
	return n;
}

/* --- Sessions --- */

void
worker_session_open(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_SESSION_OPEN_req *m = msg;
	struct wchan *w = arg;

	(void)c;
	if (f->session == 0) {
		log_debug("worker session open without id name=%s", w->name);
		return;
	}
	if (session_open(&w->sessions, f->session, m->proto, m->remote,
	    m->local, m->tls) == NULL)
		log_warnx("worker session table full name=%s pid=%u", w->name,
		    w->pid);
}

void
worker_session_close(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	struct wchan *w = arg;

	(void)c;
	(void)msg;
	session_close(&w->sessions, f->session);
}

/* Sessions of proto from remote, or bound to account_id, on all channels. */
static size_t
worker_count_remote(struct storaged *sd, const char *proto,
    const struct auth_remote *remote)
{
	struct wchan *w;
	size_t n = 0;

	TAILQ_FOREACH(w, &sd->workers, entry)
		n += session_count_remote(&w->sessions, proto, remote);
	return n;
}

static size_t
worker_count_account(struct storaged *sd, const char *proto,
    uint64_t account_id)
{
	struct wchan *w;
	size_t n = 0;

	TAILQ_FOREACH(w, &sd->workers, entry)
		n += session_count_account(&w->sessions, proto, account_id);
	return n;
}

/*
 * SESSION_ADMIT: SESSION_OPEN with the connection limits of the worker's
 * protocol section (bulwark.conf max-connections-per-ip and -per-user).
 * Counting walks every channel's table: a few microseconds per thousand
 * sessions, once per connection.
 */
void
worker_session_admit(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_SESSION_ADMIT_req *m = msg;
	struct wchan *w = arg;
	struct auth_remote remote;
	struct session *s;
	char proto[16];

	if (f->session == 0) {
		ipc_reply(c, f, IPC_S_INVALID, "no session id", NULL);
		return;
	}
	/* A session reopened (UNAUTHENTICATE) is not counted twice. */
	session_close(&w->sessions, f->session);
	auth_remote_parse(m->remote, &remote);
	if (m->max_remote != 0 && worker_count_remote(w->sd, m->proto,
	    &remote) >= m->max_remote) {
		name_log_safe(m->proto, proto, sizeof(proto));
		log_info("session refused remote=%s proto=%s limit=%u",
		    remote.text, proto, m->max_remote);
		ipc_reply(c, f, IPC_S_LIMIT,
		    "too many connections from this address", NULL);
		return;
	}
	if ((s = session_open(&w->sessions, f->session, m->proto, m->remote,
	    m->local, m->tls)) == NULL) {
		log_warnx("worker session table full name=%s pid=%u", w->name,
		    w->pid);
		ipc_reply(c, f, IPC_S_UNAVAIL, "too many sessions", NULL);
		return;
	}
	s->max_user = m->max_user;
	ipc_reply(c, f, IPC_S_OK, NULL, NULL);
}

struct session *
worker_session_bound(struct ipc_chan *c, const struct ipc_frame *f,
    struct wchan *w)
{
	struct session *s = session_find(&w->sessions, f->session);

	if (s == NULL || s->account_id == 0) {
		ipc_reply(c, f, IPC_S_DENIED, "session not authenticated",
		    NULL);
		return NULL;
	}
	return s;
}

void
worker_session_info(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	struct ipc_SESSION_INFO_rep rep;
	struct wchan *w = arg;
	struct session *s;

	(void)msg;
	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	rep.account_id = s->account_id;
	rep.username = s->username;
	ipc_reply(c, f, IPC_S_OK, NULL, &rep);
}

/* --- AUTH --- */

static void
auth_job_free(struct auth_job *j)
{
	if (j->password != NULL)
		xfree_secret(j->password, j->pwlen);
	sodium_memzero(j->hash, sizeof(j->hash));
	free(j);
}

/* Logs a failure and counts it against the address and the user. */
static void
worker_auth_failed(struct storaged *sd, struct auth_job *j,
    const char *reason)
{
	char user[NAME_ADDR_MAX + 1];
	uint64_t now = storaged_mono();

	name_log_safe(j->user, user, sizeof(user));
	log_info("auth failed user=%s remote=%s proto=%s reason=%s", user,
	    j->remote.text, j->proto, reason);
	if (strcmp(reason, "blocked") == 0)
		return;
	if (auth_limiter_fail(sd->limiter, AUTH_KEY_REMOTE, j->remote.key,
	    j->remote.keylen, now))
		log_info("auth blocked remote=%s", j->remote.text);
	if (auth_limiter_fail(sd->limiter, AUTH_KEY_USER, j->user,
	    strlen(j->user), now))
		log_info("auth blocked user=%s", user);
}

static bool
worker_auth_blocked(struct storaged *sd, const struct auth_job *j)
{
	uint64_t now = storaged_mono();

	return auth_limiter_blocked(sd->limiter, AUTH_KEY_REMOTE,
	    j->remote.key, j->remote.keylen, now) ||
	    auth_limiter_blocked(sd->limiter, AUTH_KEY_USER, j->user,
	    strlen(j->user), now);
}

/* Copies what the job needs from the request and its session. */
static struct auth_job *
auth_job_new(struct wchan *w, const struct session *s,
    const struct ipc_frame *f, const struct ipc_AUTH_req *m)
{
	struct auth_job *j = xcalloc(1, sizeof(*j));
	size_t i;

	j->sd = w->sd;
	j->chan_serial = w->serial;
	j->session_id = s->id;
	j->session_serial = s->serial;
	ipc_reqref_set(&j->ref, f);
	for (i = 0; m->username[i] != '\0' && i < NAME_ADDR_MAX; i++)
		j->user[i] = (char)tolower((unsigned char)m->username[i]);
	name_log_safe(s->proto, j->proto, sizeof(j->proto));
	j->remote = s->remote;
	j->pwlen = strlen(m->password);
	j->password = xmalloc(j->pwlen + 1);
	memcpy(j->password, m->password, j->pwlen + 1);
	return j;
}

/* Reads the account's hash, or takes the dummy one for an unknown user. */
static void
auth_job_account(struct storaged *sd, struct auth_job *j, const char *name)
{
	struct store_error err;
	struct account acc;

	if (strlen(name) <= NAME_ADDR_MAX &&
	    account_get(&sd->db, name, &acc, &err) == IPC_S_OK) {
		j->account_id = acc.rec.id;
		j->auth_gen = acc.rec.auth_gen;
		strlcpy(j->hash, acc.rec.hash, sizeof(j->hash));
		sodium_memzero(acc.rec.hash, sizeof(acc.rec.hash));
	} else
		strlcpy(j->hash, sd->dummy_hash, sizeof(j->hash));
}

static void
auth_job_work(void *arg)
{
	struct auth_job *j = arg;

	j->ok = auth_verify_password(j->hash, j->password);
	xfree_secret(j->password, j->pwlen);
	j->password = NULL;
}

/* Binds the session and replies with the account and a token. */
static void
worker_auth_ok(struct wchan *w, struct session *s, struct auth_job *j,
    const struct account *acc)
{
	struct ipc_AUTH_rep rep;
	struct token_claims tc;
	uint8_t tok[TOKEN_LEN];

	auth_limiter_forget(w->sd->limiter, AUTH_KEY_USER, j->user,
	    strlen(j->user));
	log_info("auth ok user=%s remote=%s proto=%s", acc->name,
	    j->remote.text, j->proto);
	session_bind(s, acc->rec.id, acc->name);
	tc.account_id = acc->rec.id;
	tc.auth_gen = acc->rec.auth_gen;
	tc.session = s->id;
	tc.expiry = storaged_now() + TOKEN_TTL;
	token_mint(w->sd->token_key, &tc, w->name, tok);
	rep.account_id = acc->rec.id;
	rep.username = acc->name;
	rep.token.p = tok;
	rep.token.len = sizeof(tok);
	ipc_reply_ref(w->chan, &j->ref, IPC_S_OK, NULL, &rep);
}

/* Whether the verified account is still the one that was read. */
static bool
worker_auth_same(struct storaged *sd, const struct auth_job *j,
    struct account *acc)
{
	struct store_error err;

	return j->account_id != 0 &&
	    account_get_id(&sd->db, j->account_id, acc, &err) == IPC_S_OK &&
	    acc->rec.auth_gen == j->auth_gen;
}

static void
worker_auth_finish(struct storaged *sd, struct wchan *w, struct session *s,
    struct auth_job *j)
{
	struct account acc;
	enum ipc_status st = IPC_S_AUTHFAIL;
	const char *text = "authentication failed";

	if (worker_auth_blocked(sd, j)) {
		worker_auth_failed(sd, j, "blocked");
		st = IPC_S_BLOCKED;
		text = "too many failures, try again later";
	} else if (!j->ok || !worker_auth_same(sd, j, &acc)) {
		worker_auth_failed(sd, j, j->account_id == 0 ?
		    "unknown-user" : "password");
	} else if (s == NULL) {
		st = IPC_S_DENIED;
		text = "session closed";
	} else if (s->max_user != 0 && worker_count_account(sd, s->proto,
	    acc.rec.id) >= s->max_user) {
		/* Only a client that knows the password learns this. */
		log_info("auth refused user=%s remote=%s proto=%s limit=%u",
		    acc.name, j->remote.text, j->proto, s->max_user);
		st = IPC_S_LIMIT;
		text = "too many connections for this user";
	} else {
		worker_auth_ok(w, s, j, &acc);
		return;
	}
	if (w != NULL)
		ipc_reply_ref(w->chan, &j->ref, st, text, NULL);
}

static void
auth_job_done(void *arg, bool cancelled)
{
	struct auth_job *j = arg;
	struct storaged *sd = j->sd;
	struct session *s = NULL;
	struct wchan *w;

	if (!cancelled) {
		if ((w = worker_find(sd, j->chan_serial)) != NULL &&
		    (s = session_find(&w->sessions, j->session_id)) != NULL &&
		    s->serial != j->session_serial)
			s = NULL;
		if (s != NULL)
			s->busy = false;
		worker_auth_finish(sd, w, s, j);
	}
	auth_job_free(j);
}

/* The checks made before any work: returns IPC_S_OK or a refusal. */
static enum ipc_status
worker_auth_precheck(struct wchan *w, const struct session *s,
    const struct ipc_AUTH_req *m, const char **text_r)
{
	if (s == NULL) {
		*text_r = "no such session";
		return IPC_S_DENIED;
	}
	if (s->account_id != 0 || s->busy) {
		*text_r = s->busy ? "authentication in progress" :
		    "session already authenticated";
		return IPC_S_DENIED;
	}
	if (strcmp(m->mech, "PLAIN") != 0 && strcmp(m->mech, "LOGIN") != 0 &&
	    strcmp(m->mech, "BASIC") != 0) {
		*text_r = "unsupported mechanism";
		return IPC_S_INVALID;
	}
	if (m->authzid[0] != '\0' && strcasecmp(m->authzid, m->username) != 0) {
		*text_r = "authorization identity must be the user";
		return IPC_S_DENIED;
	}
	if (w->sd->stopping) {
		*text_r = "storaged is stopping";
		return IPC_S_UNAVAIL;
	}
	return IPC_S_OK;
}

void
worker_auth(struct ipc_chan *c, const struct ipc_frame *f, const void *msg,
    void *arg)
{
	const struct ipc_AUTH_req *m = msg;
	struct wchan *w = arg;
	struct session *s = session_find(&w->sessions, f->session);
	struct store_error err;
	struct auth_job *j;
	enum ipc_status st;
	const char *text;

	if ((st = worker_auth_precheck(w, s, m, &text)) != IPC_S_OK) {
		ipc_reply(c, f, st, text, NULL);
		return;
	}
	j = auth_job_new(w, s, f, m);
	if (worker_auth_blocked(w->sd, j)) {
		worker_auth_failed(w->sd, j, "blocked");
		ipc_reply(c, f, IPC_S_BLOCKED,
		    "too many failures, try again later", NULL);
	} else if (name_password(m->password, &err) != IPC_S_OK) {
		worker_auth_failed(w->sd, j, "password");
		ipc_reply(c, f, IPC_S_AUTHFAIL, "authentication failed", NULL);
	} else {
		auth_job_account(w->sd, j, m->username);
		if (workq_submit(w->sd->wq, auth_job_work, auth_job_done,
		    j) == 0) {
			s->busy = true;
			log_trace(LOG_TRACE_AUTH, "auth queued session=%016llx "
			    "known=%d pending=%zu", (unsigned long long)s->id,
			    j->account_id != 0, workq_pending(w->sd->wq));
			return;
		}
		ipc_reply(c, f, IPC_S_UNAVAIL, "storaged is busy", NULL);
	}
	auth_job_free(j);
}

/* --- SESSION_RESUME --- */

/* Checks the token and its account; fills *acc.  Returns a status. */
static enum ipc_status
worker_resume_check(struct wchan *w, const struct ipc_frame *f,
    const struct ipc_SESSION_RESUME_req *m, struct account *acc,
    const char **text_r)
{
	struct token_claims tc;
	struct store_error err;
	const char *why;

	if (token_check(w->sd->token_key, m->token.p, m->token.len,
	    f->session, w->name, storaged_now(), &tc, &why) == -1) {
		log_warnx("session resume refused name=%s pid=%u reason=\"%s\"",
		    w->name, w->pid, why);
		*text_r = why;
		return IPC_S_DENIED;
	}
	if (account_get_id(&w->sd->db, tc.account_id, acc, &err) != IPC_S_OK ||
	    acc->rec.auth_gen != tc.auth_gen) {
		*text_r = "account deleted or password changed";
		return IPC_S_DENIED;
	}
	return IPC_S_OK;
}

void
worker_session_resume(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_SESSION_RESUME_req *m = msg;
	struct ipc_SESSION_RESUME_rep rep;
	struct wchan *w = arg;
	struct session *s = session_find(&w->sessions, f->session);
	struct account acc;
	enum ipc_status st;
	const char *text;

	if (s != NULL && (s->busy || s->account_id != 0)) {
		ipc_reply(c, f, IPC_S_DENIED, "session already bound", NULL);
		return;
	}
	if ((st = worker_resume_check(w, f, m, &acc, &text)) != IPC_S_OK) {
		ipc_reply(c, f, st, text, NULL);
		return;
	}
	if ((s = session_open(&w->sessions, f->session, m->proto, m->remote,
	    m->local, m->tls)) == NULL) {
		ipc_reply(c, f, IPC_S_UNAVAIL, "too many sessions", NULL);
		return;
	}
	session_bind(s, acc.rec.id, acc.name);
	log_debug("session resumed user=%s remote=%s proto=%s", acc.name,
	    s->remote.text, s->proto);
	rep.account_id = acc.rec.id;
	rep.username = acc.name;
	ipc_reply(c, f, IPC_S_OK, NULL, &rep);
}

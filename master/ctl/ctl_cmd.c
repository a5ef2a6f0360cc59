/* SPDX-License-Identifier: ISC */
/*
 * ctl_cmd.c: the commands of bulwarkctl(8), one table row each, and their
 * handlers.  A handler gets arguments that ctl_args.c has already checked,
 * sends one admin request to storaged (store/admin.c, store/admin_mail.c)
 * and prints its reply: lists one entry per line, records as `key: value`
 * lines, tables as aligned columns (ctl_mail.c), so that scripts can read
 * them.  Errors go to stderr as `bulwarkctl: <what>: <text>`.  The dkim
 * commands are the exception: they make, publish and try out DKIM keys
 * (lib/dkim.c) in files, and need no store.
 */
#include "ctl.h"
#include "compat.h"
#include "dkim.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

/* What a handler works with. */
struct ctl {
	const char	*socket;	/* admin socket path */
	struct ctl_conn	 conn;
	bool		 connected;
	char		 what[CTL_NAME_MAX + 32]; /* "account add a@b" */
};

void
ctl_warnx(const char *fmt, ...)
{
	va_list ap;

	fputs("bulwarkctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Says which socket could not be used, and the likely reason. */
static void
ctl_connect_error(const char *path, int err, const char *text)
{
	const char *hint = "";

	if (err == EACCES || err == EPERM || err == ECONNABORTED)
		hint = " (only root, the store's user or the admin group "
		    "may use it)";
	else if (err == ECONNREFUSED || err == ENOENT)
		hint = " (is bulwarkd running?)";
	ctl_warnx("%s: %s%s", path, text, hint);
}

/* Connects unless connected; reports a failure.  Returns CTL_EXIT_*. */
static int
ctl_open(struct ctl *ctx)
{
	const char *err;

	if (ctx->connected)
		return CTL_EXIT_OK;
	if (ctl_connect(&ctx->conn, ctx->socket, &err) == -1) {
		ctl_connect_error(ctx->socket, errno, err);
		return CTL_EXIT_FAIL;
	}
	ctx->connected = true;
	return CTL_EXIT_OK;
}

/*
 * Sends one request (connecting first if needed) and reports a failure.
 * Returns CTL_EXIT_OK with rep filled, CTL_EXIT_REFUSED when the store
 * refused, CTL_EXIT_FAIL when it could not be asked.
 */
static int
ctl_request(struct ctl *ctx, uint16_t type, const void *req, void *rep)
{
	enum ipc_status st;
	const char *text, *err;

	if (ctl_open(ctx) != CTL_EXIT_OK)
		return CTL_EXIT_FAIL;
	if (ctl_call(&ctx->conn, type, req, rep, &st, &text, &err) == -1) {
		ctl_warnx("%s: %s: %s", ctx->what, ctx->socket, err);
		return CTL_EXIT_FAIL;
	}
	if (st != IPC_S_OK) {
		ctl_warnx("%s: %s", ctx->what,
		    text[0] != '\0' ? text : ipc_status_name(st));
		return CTL_EXIT_REFUSED;
	}
	return CTL_EXIT_OK;
}

static void
ctl_print_list(const struct wire_strlist *l)
{
	struct wire_iter it;
	const char *s;

	wire_strlist_iter(l, &it);
	while ((s = wire_strlist_next(&it)) != NULL)
		printf("%s\n", s);
}

/*
 * Reads a new password; reports a failure.  Connects first, so that a
 * socket one may not use is reported before anyone types a password.
 */
static int
ctl_read_password(struct ctl *ctx, char *pw, size_t size)
{
	const char *err;

	if (ctl_open(ctx) != CTL_EXIT_OK)
		return -1;
	if (ctl_password_read(pw, size, &err) == -1) {
		ctl_warnx("%s: %s", ctx->what, err);
		return -1;
	}
	return 0;
}

/* --- domain --- */

static int
ctl_domain_add(struct ctl *ctx, const struct ctl_args *a)
{
	struct ipc_DOMAIN_ADD_req req = { .name = a->arg[0] };
	union ipc_msg_any rep;

	return ctl_request(ctx, IPC_T_DOMAIN_ADD, &req, &rep);
}

static int
ctl_domain_del(struct ctl *ctx, const struct ctl_args *a)
{
	struct ipc_DOMAIN_DEL_req req = { .name = a->arg[0] };
	union ipc_msg_any rep;

	return ctl_request(ctx, IPC_T_DOMAIN_DEL, &req, &rep);
}

static int
ctl_domain_list(struct ctl *ctx, const struct ctl_args *a)
{
	struct ipc_DOMAIN_LIST_req req;
	union ipc_msg_any rep;
	int r;

	(void)a;
	memset(&req, 0, sizeof(req));
	if ((r = ctl_request(ctx, IPC_T_DOMAIN_LIST, &req, &rep)) ==
	    CTL_EXIT_OK)
		ctl_print_list(&rep.DOMAIN_LIST_rep.names);
	return r;
}

/* --- account --- */

/* opts[0] of account add is -q, opts[1] is -m (see the table). */
static int
ctl_account_add(struct ctl *ctx, const struct ctl_args *a)
{
	char pw[CTL_PASSWORD_MAX + 1];
	struct ipc_ACCOUNT_ADD_req req = {
		.name = a->arg[0], .password = pw,
		.quota_bytes = a->optnum[0], .quota_messages = a->optnum[1],
	};
	union ipc_msg_any rep;
	int r;

	if (ctl_read_password(ctx, pw, sizeof(pw)) == -1)
		return CTL_EXIT_FAIL;
	r = ctl_request(ctx, IPC_T_ACCOUNT_ADD, &req, &rep);
	sodium_memzero(pw, sizeof(pw));
	return r;
}

static int
ctl_account_del(struct ctl *ctx, const struct ctl_args *a)
{
	struct ipc_ACCOUNT_DEL_req req = { .name = a->arg[0] };
	union ipc_msg_any rep;

	return ctl_request(ctx, IPC_T_ACCOUNT_DEL, &req, &rep);
}

static int
ctl_account_passwd(struct ctl *ctx, const struct ctl_args *a)
{
	char pw[CTL_PASSWORD_MAX + 1];
	struct ipc_ACCOUNT_PASSWD_req req = {
		.name = a->arg[0], .password = pw,
	};
	union ipc_msg_any rep;
	int r;

	if (ctl_read_password(ctx, pw, sizeof(pw)) == -1)
		return CTL_EXIT_FAIL;
	r = ctl_request(ctx, IPC_T_ACCOUNT_PASSWD, &req, &rep);
	sodium_memzero(pw, sizeof(pw));
	return r;
}

static int
ctl_account_list(struct ctl *ctx, const struct ctl_args *a)
{
	struct ipc_ACCOUNT_LIST_req req = {
		.domain = a->n > 0 ? a->arg[0] : "",
	};
	union ipc_msg_any rep;
	int r;

	if ((r = ctl_request(ctx, IPC_T_ACCOUNT_LIST, &req, &rep)) ==
	    CTL_EXIT_OK)
		ctl_print_list(&rep.ACCOUNT_LIST_rep.names);
	return r;
}

/* 0 means no limit, in quotas as on the command line. */
static void
ctl_print_limit(const char *key, uint64_t v)
{
	if (v == 0)
		printf("%s: unlimited\n", key);
	else
		printf("%s: %llu\n", key, (unsigned long long)v);
}

static void
ctl_print_time(const char *key, uint64_t t)
{
	char buf[32];
	struct tm tm;
	time_t tt = (time_t)t;

	if (t > (uint64_t)INT64_MAX || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		printf("%s: %llu\n", key, (unsigned long long)t);
	else
		printf("%s: %s\n", key, buf);
}

static int
ctl_account_show(struct ctl *ctx, const struct ctl_args *a)
{
	struct ipc_ACCOUNT_SHOW_req req = { .name = a->arg[0] };
	union ipc_msg_any rep;
	const struct ipc_ACCOUNT_SHOW_rep *s = &rep.ACCOUNT_SHOW_rep;
	struct wire_iter it;
	const char *alias;
	int r;

	if ((r = ctl_request(ctx, IPC_T_ACCOUNT_SHOW, &req, &rep)) !=
	    CTL_EXIT_OK)
		return r;
	printf("id: %llu\n", (unsigned long long)s->account_id);
	printf("name: %s\n", s->name);
	printf("domain: %s\n", s->domain);
	ctl_print_time("created", s->created);
	ctl_print_limit("quota-bytes", s->quota_bytes);
	ctl_print_limit("quota-messages", s->quota_messages);
	printf("used-bytes: %llu\n", (unsigned long long)s->used_bytes);
	printf("used-messages: %llu\n", (unsigned long long)s->used_messages);
	fputs("aliases:", stdout);
	wire_strlist_iter(&s->aliases, &it);
	while ((alias = wire_strlist_next(&it)) != NULL)
		printf(" %s", alias);
	fputc('\n', stdout);
	return CTL_EXIT_OK;
}

/* --- alias --- */

static int
ctl_alias_add(struct ctl *ctx, const struct ctl_args *a)
{
	struct ipc_ALIAS_ADD_req req = {
		.alias = a->arg[0], .target = a->arg[1],
	};
	union ipc_msg_any rep;

	return ctl_request(ctx, IPC_T_ALIAS_ADD, &req, &rep);
}

static int
ctl_alias_del(struct ctl *ctx, const struct ctl_args *a)
{
	struct ipc_ALIAS_DEL_req req = { .alias = a->arg[0] };
	union ipc_msg_any rep;

	return ctl_request(ctx, IPC_T_ALIAS_DEL, &req, &rep);
}

static int
ctl_alias_list(struct ctl *ctx, const struct ctl_args *a)
{
	struct ipc_ALIAS_LIST_req req = {
		.domain = a->n > 0 ? a->arg[0] : "",
	};
	union ipc_msg_any rep;
	const struct ipc_ALIAS_LIST_rep *l = &rep.ALIAS_LIST_rep;
	struct wire_iter ia, it;
	const char *alias, *target;
	int r;

	if ((r = ctl_request(ctx, IPC_T_ALIAS_LIST, &req, &rep)) !=
	    CTL_EXIT_OK)
		return r;
	if (l->aliases.count != l->targets.count) {
		ctl_warnx("%s: %s: malformed reply from the store", ctx->what,
		    ctx->socket);
		return CTL_EXIT_FAIL;
	}
	wire_strlist_iter(&l->aliases, &ia);
	wire_strlist_iter(&l->targets, &it);
	while ((alias = wire_strlist_next(&ia)) != NULL &&
	    (target = wire_strlist_next(&it)) != NULL)
		printf("%s %s\n", alias, target);
	return CTL_EXIT_OK;
}

/* --- quota --- */

static int
ctl_quota_set(struct ctl *ctx, const struct ctl_args *a)
{
	/* An omitted MESSAGES is 0, no limit, as with account add. */
	struct ipc_QUOTA_SET_req req = {
		.name = a->arg[0], .bytes = a->num[1],
		.messages = a->n > 2 ? a->num[2] : 0,
	};
	union ipc_msg_any rep;

	return ctl_request(ctx, IPC_T_QUOTA_SET, &req, &rep);
}

/* --- store --- */

static int
ctl_store_prune(struct ctl *ctx, const struct ctl_args *a)
{
	struct ipc_STORE_PRUNE_req req;
	union ipc_msg_any rep;
	int r;

	(void)a;
	memset(&req, 0, sizeof(req));
	if ((r = ctl_request(ctx, IPC_T_STORE_PRUNE, &req, &rep)) ==
	    CTL_EXIT_OK)
		printf("pruned duplicates %llu uploads %llu changes %llu "
		    "accounts %llu\n",
		    (unsigned long long)rep.STORE_PRUNE_rep.duplicates,
		    (unsigned long long)rep.STORE_PRUNE_rep.uploads,
		    (unsigned long long)rep.STORE_PRUNE_rep.changes,
		    (unsigned long long)rep.STORE_PRUNE_rep.accounts);
	return r;
}

/* --- mailbox, message --- */

/* A reply the printers refuse is the store's fault, as in alias list. */
static int
ctl_malformed(struct ctl *ctx, const char *err)
{
	ctl_warnx("%s: %s: %s", ctx->what, ctx->socket, err);
	return CTL_EXIT_FAIL;
}

static int
ctl_mailbox_list(struct ctl *ctx, const struct ctl_args *a)
{
	struct ipc_MAILBOX_LIST_req req = { .account = a->arg[0] };
	union ipc_msg_any rep;
	const char *err;
	int r;

	if ((r = ctl_request(ctx, IPC_T_MAILBOX_LIST, &req, &rep)) !=
	    CTL_EXIT_OK)
		return r;
	if (ctl_mailbox_print(stdout, &rep.MAILBOX_LIST_rep, &err) == -1)
		return ctl_malformed(ctx, err);
	return CTL_EXIT_OK;
}

/* RFC 9051 5.1: INBOX, in any case, is the account's inbox. */
#define CTL_INBOX	"INBOX"

static int
ctl_message_list(struct ctl *ctx, const struct ctl_args *a)
{
	struct ipc_MESSAGE_LIST_req req = {
		.account = a->arg[0],
		.mailbox = a->n > 1 ? a->arg[1] : CTL_INBOX,
	};
	union ipc_msg_any rep;
	const char *err;
	int r;

	if ((r = ctl_request(ctx, IPC_T_MESSAGE_LIST, &req, &rep)) !=
	    CTL_EXIT_OK)
		return r;
	if (ctl_message_print(stdout, &rep.MESSAGE_LIST_rep, &err) == -1)
		return ctl_malformed(ctx, err);
	return CTL_EXIT_OK;
}

static int
ctl_message_show(struct ctl *ctx, const struct ctl_args *a)
{
	enum ipc_status st;
	const char *text, *err;

	if (ctl_open(ctx) != CTL_EXIT_OK)
		return CTL_EXIT_FAIL;
	if (ctl_message_fetch(&ctx->conn, a->arg[0], a->arg[1],
	    (uint32_t)a->num[2], stdout, &st, &text, &err) == -1) {
		ctl_warnx("%s: %s", ctx->what, err);
		return CTL_EXIT_FAIL;
	}
	if (st != IPC_S_OK) {
		ctl_warnx("%s: %s", ctx->what,
		    text[0] != '\0' ? text : ipc_status_name(st));
		return CTL_EXIT_REFUSED;
	}
	return CTL_EXIT_OK;
}

/* --- dkim --- */

/*
 * Keys live next to the configuration, in a directory of mode 0700, each
 * in a file of mode 0600: they are the domain's signing secrets.
 */
static void
ctl_dkim_dir(char *dir, size_t size)
{
	char *slash;

	strlcpy(dir, BULWARK_CONFFILE, size);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	strlcat(dir, "/dkim", size);
}

/* Writes the len bytes at p to fd; returns 0 or -1 with errno. */
static int
ctl_write_all(int fd, const void *p, size_t len)
{
	const char *c = p;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, c, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Reads fd to its end into out, failing past max bytes (0: no limit).
 * Returns 0, or -1 with errno (EFBIG past max).
 */
static int
ctl_read_all(int fd, struct buf *out, size_t max)
{
	ssize_t n;

	for (;;) {
		buf_reserve(out, 65536);
		n = read(fd, buf_tail(out), 65536);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			return 0;
		buf_commit(out, (size_t)n);
		if (max != 0 && out->len > max) {
			errno = EFBIG;
			return -1;
		}
	}
}

/*
 * Loads the DKIM key in the file path.  Returns the key, or NULL after
 * reporting why (*status_r: CTL_EXIT_FAIL when the file could not be
 * read, CTL_EXIT_REFUSED when it holds no usable key).
 */
static struct dkim_key *
ctl_dkim_load(struct ctl *ctx, const char *path, int *status_r)
{
	struct buf pem = BUF_INIT;	/* wiped by buf_clear */
	struct dkim_key *k = NULL;
	char err[256];
	int fd;

	*status_r = CTL_EXIT_FAIL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    ctl_read_all(fd, &pem, CTL_KEYFILE_MAX) == -1) {
		ctl_warnx("%s: %s: %s", ctx->what, path, errno == EFBIG ?
		    "too large for a key file" : strerror(errno));
	} else if ((k = dkim_key_load((const char *)pem.data, pem.len, err,
	    sizeof(err))) == NULL) {
		ctl_warnx("%s: %s: %s", ctx->what, path, err);
		*status_r = CTL_EXIT_REFUSED;
	}
	if (fd != -1)
		close(fd);
	buf_clear(&pem);
	return k;
}

/* Makes the zone file line that publishes k, into rec. */
static int
ctl_dkim_zone(struct ctl *ctx, const struct dkim_key *k, const char *domain,
    const char *selector, struct buf *rec)
{
	char err[256];

	if (dkim_zone_record(k, domain, selector, rec, err,
	    sizeof(err)) == -1) {
		ctl_warnx("%s: %s", ctx->what, err);
		return CTL_EXIT_REFUSED;
	}
	return CTL_EXIT_OK;
}

/*
 * Writes the key to a new file at path, mode 0600: never over an existing
 * file (O_EXCL; a link there is not followed either), which could be the
 * key in DNS today.  A file half written is removed.
 */
static int
ctl_dkim_write_key(struct ctl *ctx, const struct dkim_key *k,
    const char *path)
{
	struct buf pem = BUF_INIT;
	int fd, r = CTL_EXIT_FAIL;

	if (dkim_key_pem(k, &pem) == -1) {
		ctl_warnx("%s: cannot write the key as PEM", ctx->what);
		return CTL_EXIT_FAIL;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		ctl_warnx("%s: %s: %s%s", ctx->what, path, strerror(errno),
		    errno == EEXIST ? " (a key is never overwritten)" : "");
		r = errno == EEXIST ? CTL_EXIT_REFUSED : CTL_EXIT_FAIL;
	} else if (ctl_write_all(fd, pem.data, pem.len) == -1 ||
	    fsync(fd) == -1 || close(fd) == -1) {
		ctl_warnx("%s: %s: %s", ctx->what, path, strerror(errno));
		(void)unlink(path);
	} else
		r = CTL_EXIT_OK;
	buf_clear(&pem);
	return r;
}

/*
 * The key file: FILE, or DOMAIN.SELECTOR.key in the default directory,
 * which is made if missing.  Call it only once the domain and selector
 * have been checked as host names, so that they cannot climb out of it.
 */
static int
ctl_dkim_path(struct ctl *ctx, const struct ctl_args *a, char *path,
    size_t size)
{
	char dir[CTL_PATH_MAX];

	if (a->n > 2) {
		strlcpy(path, a->arg[2], size);
		return CTL_EXIT_OK;
	}
	ctl_dkim_dir(dir, sizeof(dir));
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		ctl_warnx("%s: %s: %s", ctx->what, dir, strerror(errno));
		return CTL_EXIT_FAIL;
	}
	if ((size_t)snprintf(path, size, "%s/%s.%s.key", dir, a->arg[0],
	    a->arg[1]) >= size) {
		ctl_warnx("%s: file name too long", ctx->what);
		return CTL_EXIT_FAIL;
	}
	return CTL_EXIT_OK;
}

/* opts[0] of dkim keygen is -t. */
static int
ctl_dkim_keygen(struct ctl *ctx, const struct ctl_args *a)
{
	enum dkim_alg alg = DKIM_RSA_SHA256;
	struct buf rec = BUF_INIT;
	struct dkim_key *k;
	char path[CTL_PATH_MAX], err[256];
	int r;

	if (a->opt[0] != NULL && strcmp(a->opt[0], "ed25519") == 0)
		alg = DKIM_ED25519_SHA256;
	if ((k = dkim_key_generate(alg, err, sizeof(err))) == NULL) {
		ctl_warnx("%s: %s", ctx->what, err);
		return CTL_EXIT_FAIL;
	}
	/* The record checks domain and selector; then the file is made. */
	if ((r = ctl_dkim_zone(ctx, k, a->arg[0], a->arg[1], &rec)) ==
	    CTL_EXIT_OK && (r = ctl_dkim_path(ctx, a, path, sizeof(path))) ==
	    CTL_EXIT_OK && (r = ctl_dkim_write_key(ctx, k, path)) ==
	    CTL_EXIT_OK)
		fwrite(rec.data, 1, rec.len, stdout);
	dkim_key_free(&k);
	buf_clear(&rec);
	return r;
}

static int
ctl_dkim_record(struct ctl *ctx, const struct ctl_args *a)
{
	struct buf rec = BUF_INIT;
	struct dkim_key *k;
	int r;

	if ((k = ctl_dkim_load(ctx, a->arg[0], &r)) == NULL)
		return r;
	if ((r = ctl_dkim_zone(ctx, k, a->arg[1], a->arg[2], &rec)) ==
	    CTL_EXIT_OK)
		fwrite(rec.data, 1, rec.len, stdout);
	dkim_key_free(&k);
	buf_clear(&rec);
	return r;
}

/*
 * Signs the message on the standard input and writes it, the signature
 * first, to the standard output.  The field is written with the line ends
 * of the message's first line, so that a Unix file stays one.
 */
static int
ctl_dkim_sign(struct ctl *ctx, const struct ctl_args *a)
{
	struct buf msg = BUF_INIT, hdr = BUF_INIT;
	struct dkim_key *k;
	const uint8_t *lf;
	char err[256];
	size_t i;
	int r;

	if ((k = ctl_dkim_load(ctx, a->arg[0], &r)) == NULL)
		return r;
	msg.nowipe = true;
	r = CTL_EXIT_FAIL;
	if (ctl_read_all(STDIN_FILENO, &msg, 0) == -1)
		ctl_warnx("%s: standard input: %s", ctx->what,
		    strerror(errno));
	else if (dkim_sign(k, a->arg[1], a->arg[2], msg.data, msg.len,
	    time(NULL), &hdr, err, sizeof(err)) == -1) {
		ctl_warnx("%s: %s", ctx->what, err);
		r = CTL_EXIT_REFUSED;
	} else {
		lf = msg.len > 0 ? memchr(msg.data, '\n', msg.len) : NULL;
		if (lf != NULL && (lf == msg.data || lf[-1] != '\r')) {
			for (i = 0; i < hdr.len; i++)
				if (hdr.data[i] != '\r')
					fputc(hdr.data[i], stdout);
		} else
			fwrite(hdr.data, 1, hdr.len, stdout);
		fwrite(msg.data, 1, msg.len, stdout);
		r = CTL_EXIT_OK;
	}
	dkim_key_free(&k);
	buf_clear(&msg);
	buf_clear(&hdr);
	return r;
}

/* --- help --- */

static int
ctl_help(struct ctl *ctx, const struct ctl_args *a)
{
	(void)ctx;
	if (a->n > 0 && !ctl_cmd_known(a->arg[0])) {
		ctl_warnx("help: unknown command: %s", a->arg[0]);
		return CTL_EXIT_FAIL;
	}
	printf("usage: bulwarkctl [-f file] [-s socket] command "
	    "[argument ...]\n");
	ctl_cmd_usage(stdout, a->n > 0 ? a->arg[0] : NULL);
	return CTL_EXIT_OK;
}

#define A(kind, name)	{ CTL_ARG_##kind, name }
#define O(flag, kind, name)	{ flag, CTL_ARG_##kind, name }

static const struct ctl_cmd ctl_cmd_table[] = {
	{ "domain", "add", 1, 1, { A(DOMAIN, "NAME") }, { { 0 } },
	    "add a mail domain", true, ctl_domain_add },
	{ "domain", "del", 1, 1, { A(DOMAIN, "NAME") }, { { 0 } },
	    "delete an empty domain", true, ctl_domain_del },
	{ "domain", "list", 0, 0, { { 0 } }, { { 0 } },
	    "list the domains", true, ctl_domain_list },
	{ "account", "add", 1, 1, { A(ADDRESS, "ADDRESS") },
	    { O('q', SIZE, "BYTES"), O('m', COUNT, "MESSAGES") },
	    "add an account", true, ctl_account_add },
	{ "account", "del", 1, 1, { A(ADDRESS, "ADDRESS") }, { { 0 } },
	    "delete an account and its mail", true, ctl_account_del },
	{ "account", "passwd", 1, 1, { A(ADDRESS, "ADDRESS") }, { { 0 } },
	    "set a new password", true, ctl_account_passwd },
	{ "account", "list", 0, 1, { A(DOMAIN, "DOMAIN") }, { { 0 } },
	    "list the accounts", true, ctl_account_list },
	{ "account", "show", 1, 1, { A(ADDRESS, "ADDRESS") }, { { 0 } },
	    "show an account", true, ctl_account_show },
	{ "alias", "add", 2, 2,
	    { A(ALIAS, "ALIAS"), A(ADDRESS, "TARGET") }, { { 0 } },
	    "deliver ALIAS to TARGET", true, ctl_alias_add },
	{ "alias", "del", 1, 1, { A(ALIAS, "ALIAS") }, { { 0 } },
	    "delete an alias", true, ctl_alias_del },
	{ "alias", "list", 0, 1, { A(DOMAIN, "DOMAIN") }, { { 0 } },
	    "list aliases and targets", true, ctl_alias_list },
	{ "quota", "set", 2, 3,
	    { A(ADDRESS, "ADDRESS"), A(SIZE, "BYTES"), A(COUNT, "MESSAGES") },
	    { { 0 } }, "set an account's quota", true, ctl_quota_set },
	{ "mailbox", "list", 1, 1, { A(ADDRESS, "ADDRESS") }, { { 0 } },
	    "list an account's mailboxes", true, ctl_mailbox_list },
	{ "message", "list", 1, 2,
	    { A(ADDRESS, "ADDRESS"), A(MAILBOX, "MAILBOX") }, { { 0 } },
	    "list the messages of a mailbox (INBOX)", true,
	    ctl_message_list },
	{ "message", "show", 3, 3,
	    { A(ADDRESS, "ADDRESS"), A(MAILBOX, "MAILBOX"), A(UID, "UID") },
	    { { 0 } }, "print a message exactly as stored", true,
	    ctl_message_show },
	{ "store", "prune", 0, 0, { { 0 } }, { { 0 } },
	    "run the store's clean-up now (storage change-history)", true,
	    ctl_store_prune },
	{ "dkim", "keygen", 2, 3,
	    { A(DOMAIN, "DOMAIN"), A(SELECTOR, "SELECTOR"), A(FILE, "FILE") },
	    { O('t', KEYTYPE, "TYPE") },
	    "make a DKIM key (TYPE rsa or ed25519), print its DNS record",
	    false, ctl_dkim_keygen },
	{ "dkim", "record", 3, 3,
	    { A(FILE, "FILE"), A(DOMAIN, "DOMAIN"), A(SELECTOR, "SELECTOR") },
	    { { 0 } }, "print the DNS record of a DKIM key", false,
	    ctl_dkim_record },
	{ "dkim", "sign", 3, 3,
	    { A(FILE, "FILE"), A(DOMAIN, "DOMAIN"), A(SELECTOR, "SELECTOR") },
	    { { 0 } }, "sign the message on standard input", false,
	    ctl_dkim_sign },
	{ "help", NULL, 0, 1, { A(WORD, "COMMAND") }, { { 0 } },
	    "show the commands", false, ctl_help },
	{ NULL, NULL, 0, 0, { { 0 } }, { { 0 } }, NULL, false, NULL },
};

#undef A
#undef O

const struct ctl_cmd *
ctl_cmds(void)
{
	return ctl_cmd_table;
}

const struct ctl_cmd *
ctl_cmd_find(const char *name, const char *sub)
{
	const struct ctl_cmd *c;

	for (c = ctl_cmd_table; c->name != NULL; c++) {
		if (strcmp(c->name, name) != 0)
			continue;
		if (c->sub == NULL ||
		    (sub != NULL && strcmp(c->sub, sub) == 0))
			return c;
	}
	return NULL;
}

bool
ctl_cmd_known(const char *name)
{
	const struct ctl_cmd *c;

	for (c = ctl_cmd_table; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return true;
	return false;
}

void
ctl_cmd_usage(FILE *fp, const char *name)
{
	const struct ctl_cmd *c;
	char line[128];

	for (c = ctl_cmd_table; c->name != NULL; c++) {
		if (name != NULL && strcmp(c->name, name) != 0)
			continue;
		ctl_cmd_format_usage(c, line, sizeof(line));
		fprintf(fp, "  %-44s %s\n", line, c->help);
	}
}

int
ctl_cmd_run(const struct ctl_args *a, const char *socket_path)
{
	struct ctl ctx;
	int r;

	memset(&ctx, 0, sizeof(ctx));
	ctx.socket = socket_path;
	ctx.conn.fd = -1;
	snprintf(ctx.what, sizeof(ctx.what), "%s%s%s%s%s", a->cmd->name,
	    a->cmd->sub != NULL ? " " : "",
	    a->cmd->sub != NULL ? a->cmd->sub : "",
	    a->n > 0 ? " " : "", a->n > 0 ? a->arg[0] : "");
	r = a->cmd->fn(&ctx, a);
	if (ctx.connected)
		ctl_close(&ctx.conn);
	return r;
}

/* SPDX-License-Identifier: ISC */
/*
 * proc.c: the table of process kinds, their configuration slices, and
 * fork+exec with the descriptor plan of lib/boot.h.  Each child gets only
 * its own slice: storaged the storage and authentication settings and the
 * DKIM signing keys (it signs what the relay takes), a network worker its
 * listeners, protocol options and TLS material, and lmtpd also the
 * relay's smarthost, its name resolved here, and the certificates it
 * trusts.  The relay's password goes to storaged, not lmtpd.
 */
#include "proc.h"
#include "boot.h"
#include "compat.h"
#include "ipc.h"
#include "log.h"

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Descriptors are moved up here first so that dup2 never clobbers one. */
#define PROC_FD_STAGE	200

/*
 * One CONF_DKIM per dkim section, to storaged only: the keys are secrets
 * that no worker needs.  out is wiped when cleared (buf_clear), as the
 * master's own copies are (bulwarkd.c).
 */
static void
proc_conf_dkim(struct buf *out, const struct proc_env *env)
{
	const struct conf *conf = env->conf;
	struct ipc_CONF_DKIM_req m;
	size_t i;

	for (i = 0; i < conf->ndkim; i++) {
		m.domain = conf->dkim[i]->domain;
		m.selector = conf->dkim[i]->selector;
		m.key.p = env->dkim_keys[i].data;
		m.key.len = env->dkim_keys[i].len;
		ipc_encode(out, IPC_T_CONF_DKIM, 0, 0, 0, &m);
	}
}

/*
 * relay { user password-file }: to storaged only, which hands lmtpd the
 * credential per transaction (RELAY_TAKE).  Wiped with out, as CONF_DKIM.
 */
static void
proc_conf_relay_auth(struct buf *out, const struct proc_env *env)
{
	const struct conf_relay *r = &env->conf->relay;
	struct ipc_CONF_RELAY_AUTH_req m;

	if (r->user == NULL || env->relay_password == NULL ||
	    env->relay_password->len == 0)
		return;
	m.user = r->user;
	m.password.p = env->relay_password->data;
	m.password.len = env->relay_password->len;
	ipc_encode(out, IPC_T_CONF_RELAY_AUTH, 0, 0, 0, &m);
}

static void
proc_conf_store(struct buf *out, const struct proc_env *env)
{
	const struct conf *conf = env->conf;
	struct ipc_CONF_STORE_req m = {
		.datadir = env->privsep ? "/" : conf->data_dir,
		.map_size = conf->map_size,
		.change_history = conf->change_history,
		.admin_gid = env->admin_gid == (gid_t)-1 ? UINT32_MAX :
		    (uint32_t)env->admin_gid,
		.auth_fail_limit = conf->auth.fail_limit,
		.auth_fail_window = conf->auth.fail_window,
		.auth_block_time = conf->auth.block_time,
		.pwhash_ops = 0,
		.pwhash_mem = 0,
		.auth_threads = conf->auth.threads,
		/* Vacation replies are made only when they can leave. */
		.relay = conf->relay.host != NULL,
	};

	ipc_encode(out, IPC_T_CONF_STORE, 0, 0, 0, &m);
	proc_conf_dkim(out, env);
	proc_conf_relay_auth(out, env);
}

static void
proc_conf_tls(struct buf *out, const struct proc_env *env)
{
	struct ipc_CONF_TLS_req m;

	if (env->tls_cert->len == 0)
		return;
	m.cert.p = env->tls_cert->data;
	m.cert.len = env->tls_cert->len;
	m.key.p = env->tls_key->data;
	m.key.len = env->tls_key->len;
	ipc_encode(out, IPC_T_CONF_TLS, 0, 0, 0, &m);
}

static void
proc_conf_imap(struct buf *out, const struct proc_env *env)
{
	const struct conf_proto_opts *o = &env->conf->proto[CONF_PROTO_IMAP];
	struct ipc_CONF_IMAP_req m = {
		.hostname = env->conf->hostname,
		.cleartext_auth = o->cleartext_auth,
		.idle_timeout = o->idle_timeout,
		.max_line = o->max_line,
		.max_connections = o->max_connections,
		.max_per_remote = o->max_per_ip,
		.max_per_user = o->max_per_user,
	};

	proc_conf_tls(out, env);
	ipc_encode(out, IPC_T_CONF_IMAP, 0, 0, 0, &m);
}

/*
 * The smarthost's first address, resolved here: lmtpd's chroot has no
 * resolver configuration, and a worker may not open files.  Each encoding
 * resolves again, so a restart or reload follows a changed address.
 * Returns 0, or -1 after a warning.
 */
static int
proc_relay_resolve(const struct conf_relay *r, char *addr, size_t size)
{
	struct addrinfo hints, *res;
	int error;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if ((error = getaddrinfo(r->host, NULL, &hints, &res)) != 0) {
		log_warnx("relay host=%s cannot be resolved: %s; "
		    "submissions stay queued", r->host, gai_strerror(error));
		return -1;
	}
	error = getnameinfo(res->ai_addr, res->ai_addrlen, addr, size, NULL,
	    0, NI_NUMERICHOST);
	freeaddrinfo(res);
	if (error != 0) {
		log_warnx("relay host=%s: getnameinfo: %s", r->host,
		    gai_strerror(error));
		return -1;
	}
	return 0;
}

/* relay { }: after CONF_LMTP; host "" when there is none to send to. */
static void
proc_conf_relay(struct buf *out, const struct proc_env *env)
{
	const struct conf_relay *r = &env->conf->relay;
	char addr[NI_MAXHOST];
	struct ipc_CONF_RELAY_req m = {
		.host = "",
		.address = "",
		.port = r->port,
		.tls = r->tls,
		.helo = r->helo != NULL ? r->helo : env->conf->hostname,
	};

	if (env->relay_ca != NULL) {
		m.ca.p = env->relay_ca->data;
		m.ca.len = env->relay_ca->len;
	}

	if (r->host != NULL && proc_relay_resolve(r, addr, sizeof(addr)) == 0) {
		m.host = r->host;
		m.address = addr;
	}
	ipc_encode(out, IPC_T_CONF_RELAY, 0, 0, 0, &m);
}

/*
 * push { }: after CONF_RELAY; the CA file as the master read it at start
 * or reload (bulwarkd.c), so a file that will not do stops the
 * configuration instead of leaving lmtpd with the system's CAs.
 */
static void
proc_conf_push(struct buf *out, const struct proc_env *env)
{
	const struct conf_push *p = &env->conf->push;
	struct ipc_CONF_PUSH_req m = {
		.allow_local = p->allow_local,
		.timeout = p->timeout,
		.nameserver = p->nameserver != NULL ? p->nameserver : "",
	};

	m.ca.p = (const uint8_t *)"";
	m.ca.len = 0;
	if (env->push_ca != NULL && env->push_ca->len > 0) {
		m.ca.p = env->push_ca->data;
		m.ca.len = (uint32_t)env->push_ca->len;
	}
	ipc_encode(out, IPC_T_CONF_PUSH, 0, 0, 0, &m);
}

static void
proc_conf_lmtp(struct buf *out, const struct proc_env *env)
{
	const struct conf_proto_opts *o = &env->conf->proto[CONF_PROTO_LMTP];
	struct ipc_CONF_LMTP_req m = {
		.hostname = env->conf->hostname,
		.max_message_size = o->max_message_size,
		.max_recipients = o->max_recipients,
		.idle_timeout = o->idle_timeout,
		.max_line = o->max_line,
		.max_connections = o->max_connections,
	};

	proc_conf_tls(out, env);
	ipc_encode(out, IPC_T_CONF_LMTP, 0, 0, 0, &m);
	proc_conf_relay(out, env);
	proc_conf_push(out, env);
}

static void
proc_conf_jmap(struct buf *out, const struct proc_env *env)
{
	const struct conf_proto_opts *o = &env->conf->proto[CONF_PROTO_HTTP];
	struct ipc_CONF_JMAP_req m = {
		.hostname = env->conf->hostname,
		.cleartext_auth = o->cleartext_auth,
		.idle_timeout = o->idle_timeout,
		.max_line = o->max_line,
		.max_connections = o->max_connections,
		.cors_origins = o->cors_origins != NULL ? o->cors_origins : "",
	};

	proc_conf_tls(out, env);
	ipc_encode(out, IPC_T_CONF_JMAP, 0, 0, 0, &m);
}

const struct proc_kind proc_kinds[] = {
	{ "storaged",	true,	-1,			proc_conf_store },
	{ "imapd",	false,	CONF_PROTO_IMAP,	proc_conf_imap },
	{ "lmtpd",	false,	CONF_PROTO_LMTP,	proc_conf_lmtp },
	{ "jmapd",	false,	CONF_PROTO_HTTP,	proc_conf_jmap },
};
const size_t proc_kinds_n = sizeof(proc_kinds) / sizeof(proc_kinds[0]);

bool
proc_proto_served(enum conf_proto proto)
{
	size_t i;

	for (i = 0; i < proc_kinds_n; i++)
		if (proc_kinds[i].proto == (int)proto)
			return true;
	return false;
}

unsigned
proc_instances(const struct proc_kind *k, const struct conf *conf)
{
	if (k->is_store)
		return 1;
	return conf->proto[k->proto].workers;
}

/* Whether listener s is handed to kind k. */
static bool
proc_takes(const struct proc_kind *k, const struct listen_sock *s)
{
	if (k->is_store)
		return strcmp(s->proto, "admin") == 0;
	return strcmp(s->proto, "admin") != 0 &&
	    s->l.proto == (enum conf_proto)k->proto;
}

void
proc_conf_encode(struct buf *out, const struct proc_kind *k, unsigned inst,
    const struct proc_env *env)
{
	struct ipc_CONF_PROC_req p = {
		.name = k->name,
		.instance = inst,
		.instances = proc_instances(k, env->conf),
		.uid = k->is_store ? env->store_uid : env->worker_uid,
		.gid = k->is_store ? env->store_gid : env->worker_gid,
		.chroot = k->is_store ? env->conf->data_dir : env->conf->chroot,
		.drop = env->privsep,
		.sandbox = true,
		.verbose = env->conf->verbose,
		.trace = env->conf->trace,
	};
	struct ipc_CONF_LISTENER_req l;
	uint32_t fd = BOOT_FD_LISTEN;
	size_t i;

	ipc_encode(out, IPC_T_CONF_PROC, 0, 0, 0, &p);
	for (i = 0; i < env->listeners->n; i++) {
		const struct listen_sock *s = &env->listeners->socks[i];

		if (!proc_takes(k, s))
			continue;
		l.fd = fd++;
		l.proto = s->proto;
		l.addr = s->name;
		l.tls = s->l.tls;
		ipc_encode(out, IPC_T_CONF_LISTENER, 0, 0, 0, &l);
	}
	k->conf(out, env);
	ipc_encode(out, IPC_T_CONF_END, 0, 0, 0, NULL);
}

/* In the child: moves fd to target, dying (with a note) on failure. */
static void
proc_move(int fd, int target)
{
	if (fd == target) {
		if (fcntl(fd, F_SETFD, 0) == -1)
			_exit(127);
		return;
	}
	if (dup2(fd, target) == -1)
		_exit(127);
}

/* The child side of proc_spawn: never returns. */
static void __attribute__((noreturn))
proc_child(const struct proc_kind *k, const struct proc_env *env,
    const struct proc_fds *fds)
{
	char path[PATH_MAX], *argv[2], *envp[4];
	int staged[BOOT_MAX_LISTENERS + 3], n = 0, i, null, fd;
	size_t j;
	sigset_t all;
	int nenv = 0;

	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/*
	 * Its own process group: a Ctrl-C at bulwarkd -d reaches only the
	 * master, which stops the children in order.
	 */
	setpgid(0, 0);
	signal(SIGPIPE, SIG_DFL);
	if ((null = open("/dev/null", O_RDWR)) == -1)
		_exit(127);
	/* Stage everything above the targets, then place it. */
	staged[n++] = fcntl(fds->log, F_DUPFD, PROC_FD_STAGE);
	staged[n++] = fcntl(fds->master, F_DUPFD, PROC_FD_STAGE);
	staged[n++] = fcntl(fds->store != -1 ? fds->store : null, F_DUPFD,
	    PROC_FD_STAGE);
	for (j = 0; j < env->listeners->n && n < (int)(sizeof(staged) /
	    sizeof(staged[0])); j++)
		if (proc_takes(k, &env->listeners->socks[j]))
			staged[n++] = fcntl(env->listeners->socks[j].fd,
			    F_DUPFD, PROC_FD_STAGE);
	for (i = 0; i < n; i++)
		if (staged[i] == -1)
			_exit(127);
	proc_move(null, 0);
	proc_move(null, 1);
	proc_move(staged[0], STDERR_FILENO);
	proc_move(staged[1], BOOT_FD_MASTER);
	proc_move(staged[2], BOOT_FD_STORE);
	for (i = 3; i < n; i++)
		proc_move(staged[i], BOOT_FD_LISTEN + i - 3);
	/* Everything else goes: the child sees only its plan. */
	fd = BOOT_FD_LISTEN + n - 3;
	if (close_range(fd, ~0U, 0) == -1)
		for (; fd < PROC_FD_STAGE + n + 1024; fd++)
			close(fd);
	if (snprintf(path, sizeof(path), "%s/%s", env->libexec_dir,
	    k->name) >= (int)sizeof(path))
		_exit(127);
	argv[0] = (char *)k->name;
	argv[1] = NULL;
#ifdef BULWARK_SANITIZE
	/* Sanitizer builds pass their options on; nothing else is kept. */
	{
		static const char *keep[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS",
		    "LSAN_OPTIONS" };
		static char kept[3][512];
		const char *v;

		for (j = 0; j < 3; j++)
			if ((v = getenv(keep[j])) != NULL &&
			    snprintf(kept[j], sizeof(kept[j]), "%s=%s",
			    keep[j], v) < (int)sizeof(kept[j]))
				envp[nenv++] = kept[j];
	}
#endif
	envp[nenv] = NULL;
	execve(path, argv, envp);
	dprintf(STDERR_FILENO, "<2>bulwarkd[%d]: exec %s: %s\n",
	    (int)getpid(), path, strerror(errno));
	_exit(127);
}

pid_t
proc_spawn(const struct proc_kind *k, unsigned inst,
    const struct proc_env *env, const struct proc_fds *fds)
{
	pid_t pid;

	(void)inst;
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0)
		proc_child(k, env, fds);
	return pid;
}

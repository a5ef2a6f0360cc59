/* SPDX-License-Identifier: ISC */
/*
 * bulwarkd.c: the master.  Reads the configuration, prepares directories,
 * users, TLS material and DKIM keys, binds every listener as root, then
 * starts and supervises storaged and the workers (supervise.c).  SIGHUP
 * reloads the configuration (refused whole if anything in it is wrong),
 * SIGTERM and SIGINT stop everything within a bounded time.
 */
#include "boot.h"
#include "compat.h"
#include "conf.h"
#include "dkim.h"
#include "listen.h"
#include "log.h"
#include "proc.h"
#include "supervise.h"
#include "xmalloc.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

/*
 * relay { ca password-file } and push { ca }, read as root at start and
 * reload; the password is wiped.
 */
struct relay_files {
	struct buf		 ca, password, push_ca;
};

static struct {
	const char		*conf_path;
	struct conf		*conf;
	struct listen_set	 listeners;
	struct proc_env		 env;
	struct buf		 tls_cert, tls_key;
	struct buf		*dkim_keys;	/* conf->ndkim, wiped */
	struct relay_files	 relay;
	struct event_base	*base;
	bool			 debug;
	int			 verbose;
	bool			 pidfile_written;
	const char		*libexec;
} master;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: bulwarkd [-dhnv] [-f file] [-X libexecdir]\n");
	exit(2);
}

/* The largest DKIM key file read: a 4096-bit RSA key takes 3.3K. */
#define DKIM_KEYFILE_MAX	(64 * 1024)
#define RELAY_PASSWORD_MAX	1024
#define RELAY_CA_MAX		(1024 * 1024)

/*
 * Reads a whole file of at most max bytes into b; with secret, refuses a
 * file that its group or others may open (checked on the descriptor read
 * from).  Returns 0 or -1 with a reason in err.
 */
static int
read_file(const char *path, struct buf *b, size_t max, bool secret,
    char *err, size_t errlen)
{
	char chunk[4096];
	struct stat st;
	ssize_t n;
	int fd;

	buf_reset(b);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (secret && fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (secret && (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s: mode %04o: a private key or "
		    "password must be private to its owner (chmod 600)", path,
		    (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		buf_append(b, chunk, n);
		if (b->len > max) {
			snprintf(err, errlen, "%s: file too large", path);
			explicit_bzero(chunk, sizeof(chunk));
			close(fd);
			return -1;
		}
	}
	explicit_bzero(chunk, sizeof(chunk));
	close(fd);
	if (n == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
resolve_user(const char *name, uid_t *uid, gid_t *gid, char *err,
    size_t errlen)
{
	struct passwd *pw;

	if ((pw = getpwnam(name)) == NULL) {
		snprintf(err, errlen, "user %s does not exist (create it: "
		    "see contrib/ or bulwarkd(8))", name);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user %s must not be root", name);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* Creates dir if missing with mode and owner; checks an existing one. */
static int
prepare_dir(const char *dir, mode_t mode, uid_t uid, gid_t gid, bool chown_it,
    char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(dir, mode) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", dir);
		return -1;
	}
	if (chown_it && (st.st_uid != uid || st.st_gid != gid) &&
	    chown(dir, uid, gid) == -1) {
		snprintf(err, errlen, "chown %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* Wipes and frees n keys of read_dkim_keys(), and NULLs *keysp. */
static void
free_dkim_keys(struct buf **keysp, size_t n)
{
	size_t i;

	if (*keysp == NULL)
		return;
	for (i = 0; i < n; i++)
		buf_clear(&(*keysp)[i]);
	free(*keysp);
	*keysp = NULL;
}

/*
 * Reads the key file of each dkim section into (*keys_r)[i], as root:
 * only the owner may read it, and it must load (dkim_key_load) as
 * storaged will load it, so that a bad key stops the configuration here
 * rather than the signing later.  Returns 0, or -1 with a reason in err
 * and nothing in *keys_r.
 */
static int
read_dkim_keys(const struct conf *conf, struct buf **keys_r, char *err,
    size_t errlen)
{
	const struct conf_dkim *d;
	struct dkim_key *k;
	struct buf *keys;
	char why[256];
	size_t i;

	*keys_r = NULL;
	if (conf->ndkim == 0)
		return 0;
	keys = xcalloc(conf->ndkim, sizeof(*keys));
	for (i = 0; i < conf->ndkim; i++) {
		d = conf->dkim[i];
		if (read_file(d->key, &keys[i], DKIM_KEYFILE_MAX, true, why,
		    sizeof(why)) == -1) {
			snprintf(err, errlen, "dkim %s: %s", d->domain, why);
			goto fail;
		}
		if ((k = dkim_key_load((const char *)keys[i].data,
		    keys[i].len, why, sizeof(why))) == NULL) {
			snprintf(err, errlen, "dkim %s: %s: %s", d->domain,
			    d->key, why);
			goto fail;
		}
		dkim_key_free(&k);
	}
	*keys_r = keys;
	return 0;
fail:
	free_dkim_keys(&keys, conf->ndkim);
	return -1;
}

static void
relay_files_clear(struct relay_files *rf)
{
	buf_clear(&rf->ca);
	buf_clear(&rf->password);
	buf_clear(&rf->push_ca);
}

/* A CA file of what (for errors) into b: a PEM certificate is required. */
static int
read_ca_file(const char *what, const char *path, struct buf *b, char *err,
    size_t errlen)
{
	char why[256];

	if (read_file(path, b, RELAY_CA_MAX, false, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", what, why);
		return -1;
	}
	if (memmem(b->data, b->len, "-----BEGIN CERTIFICATE-----", 27) ==
	    NULL) {
		snprintf(err, errlen, "%s: %s holds no PEM certificate", what,
		    path);
		return -1;
	}
	return 0;
}

/*
 * relay { password-file ca }: the password is the file's first line
 * (without its newline), owner-only; the CA file must hold a PEM
 * certificate.  Returns 0, or -1 with a reason in err.
 */
static int
read_relay_files(const struct conf *conf, struct relay_files *rf, char *err,
    size_t errlen)
{
	const struct conf_relay *r = &conf->relay;
	char why[256];
	size_t n;

	relay_files_clear(rf);
	if (r->password_file != NULL) {
		if (read_file(r->password_file, &rf->password,
		    RELAY_PASSWORD_MAX, true, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "relay password-file: %s", why);
			return -1;
		}
		n = 0;
		while (n < rf->password.len && rf->password.data[n] != '\n' &&
		    rf->password.data[n] != '\r' && rf->password.data[n] != 0)
			n++;
		explicit_bzero(rf->password.data + n, rf->password.len - n);
		rf->password.len = n;
		if (n == 0) {
			snprintf(err, errlen, "relay password-file: %s holds "
			    "no password", r->password_file);
			return -1;
		}
	}
	if (r->ca != NULL && read_ca_file("relay ca", r->ca, &rf->ca, err,
	    errlen) == -1)
		return -1;
	if (conf->push.ca != NULL && read_ca_file("push ca", conf->push.ca,
	    &rf->push_ca, err, errlen) == -1)
		return -1;
	return 0;
}

/*
 * Builds env for conf: users, directories, TLS files, DKIM keys (into
 * *dkim_r, which the caller frees with free_dkim_keys).  Touches nothing
 * that the running configuration uses, so a failure leaves it intact.
 */
static int
prepare_env(struct conf *conf, struct proc_env *env, struct buf *cert,
    struct buf *key, struct buf **dkim_r, struct relay_files *rf, char *err,
    size_t errlen)
{
	struct stat st;
	struct group *gr;

	memset(env, 0, sizeof(*env));
	env->conf = conf;
	env->listeners = &master.listeners;
	env->privsep = geteuid() == 0;
	env->admin_gid = (gid_t)-1;
	env->tls_cert = cert;
	env->tls_key = key;
	if (env->privsep) {
		if (resolve_user(conf->user, &env->store_uid,
		    &env->store_gid, err, errlen) == -1 ||
		    resolve_user(conf->worker_user, &env->worker_uid,
		    &env->worker_gid, err, errlen) == -1)
			return -1;
		if (env->store_uid == env->worker_uid) {
			snprintf(err, errlen, "user and worker-user must "
			    "differ: workers may not read the data directory");
			return -1;
		}
		if (conf->admin_group != NULL) {
			if ((gr = getgrnam(conf->admin_group)) == NULL) {
				snprintf(err, errlen, "group %s does not exist",
				    conf->admin_group);
				return -1;
			}
			env->admin_gid = gr->gr_gid;
		}
	} else {
		env->store_uid = env->worker_uid = getuid();
		env->store_gid = env->worker_gid = getgid();
	}
	if (prepare_dir(conf->run_dir, 0755, 0, 0, false, err, errlen) == -1 ||
	    prepare_dir(conf->data_dir, 0700, env->store_uid, env->store_gid,
	    env->privsep, err, errlen) == -1)
		return -1;
	if (env->privsep) {
		if (prepare_dir(conf->chroot, 0755, 0, 0, false, err,
		    errlen) == -1)
			return -1;
		if (stat(conf->chroot, &st) == -1 || st.st_uid != 0 ||
		    (st.st_mode & 022) != 0) {
			snprintf(err, errlen, "chroot %s must be owned by root "
			    "and writable by no one else", conf->chroot);
			return -1;
		}
	}
	buf_reset(cert);
	buf_reset(key);
	if (conf->tls_cert != NULL &&
	    (read_file(conf->tls_cert, cert, 1 << 20, false, err,
	    errlen) == -1 ||
	    read_file(conf->tls_key, key, 1 << 20, false, err, errlen) == -1))
		return -1;
	if (read_dkim_keys(conf, dkim_r, err, errlen) == -1)
		return -1;
	env->dkim_keys = *dkim_r;
	if (read_relay_files(conf, rf, err, errlen) == -1)
		return -1;
	env->relay_ca = &rf->ca;
	env->relay_password = &rf->password;
	env->push_ca = &rf->push_ca;
	return 0;
}

static void
print_errors(struct conf_errors *errs)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		log_warnx("%s", errs->msgs[i]);
}

static void
remove_pidfile(void)
{
	if (master.pidfile_written)
		unlink(master.conf->pidfile);
	master.pidfile_written = false;
}

static void
write_pidfile(void)
{
	FILE *fp;

	if ((fp = fopen(master.conf->pidfile, "we")) == NULL) {
		log_warn("pidfile %s", master.conf->pidfile);
		return;
	}
	fprintf(fp, "%d\n", (int)getpid());
	fclose(fp);
	master.pidfile_written = true;
}

static void
stopped(void)
{
	log_info("stopped");
	event_base_loopexit(master.base, NULL);
}

/* SIGHUP: the new configuration replaces the old one only if all of it works. */
static void
reload(void)
{
	struct conf_errors errs = { NULL, 0 };
	struct conf *nconf = NULL;
	struct proc_env nenv;
	struct buf cert = BUF_INIT, key = BUF_INIT, *dkim = NULL;
	struct relay_files rf = { BUF_INIT, BUF_INIT, BUF_INIT };
	const char *lerr;
	char err[512];

	log_info("reloading %s", master.conf_path);
	if (conf_load(master.conf_path, &nconf, &errs) == -1) {
		print_errors(&errs);
		conf_errors_clear(&errs);
		log_warnx("reload refused: configuration has errors; "
		    "the running configuration stays");
		return;
	}
	if (prepare_env(nconf, &nenv, &cert, &key, &dkim, &rf, err,
	    sizeof(err)) == -1) {
		log_warnx("reload refused: %s", err);
		goto fail;
	}
	if (listen_apply(&master.listeners, nconf, proc_proto_served,
	    &lerr) == -1) {
		log_warnx("reload refused: %s", lerr);
		goto fail;
	}
	buf_clear(&master.tls_cert);
	buf_clear(&master.tls_key);
	master.tls_cert = cert;
	master.tls_key = key;
	nenv.tls_cert = &master.tls_cert;
	nenv.tls_key = &master.tls_key;
	free_dkim_keys(&master.dkim_keys, master.conf->ndkim);
	master.dkim_keys = dkim;
	relay_files_clear(&master.relay);
	master.relay = rf;
	nenv.relay_ca = &master.relay.ca;
	nenv.relay_password = &master.relay.password;
	nenv.push_ca = &master.relay.push_ca;
	conf_free(&master.conf);
	master.conf = nconf;
	nenv.libexec_dir = master.libexec;
	master.env = nenv;
	log_set_verbose(master.verbose > master.conf->verbose ?
	    master.verbose : master.conf->verbose);
	supervise_apply();
	log_info("reloaded");
	return;
fail:
	buf_clear(&cert);
	buf_clear(&key);
	free_dkim_keys(&dkim, nconf->ndkim);
	relay_files_clear(&rf);
	conf_free(&nconf);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	switch (sig) {
	case SIGHUP:
		reload();
		break;
	case SIGCHLD:
		supervise_reap();
		break;
	case SIGTERM:
	case SIGINT:
		log_info("stopping on signal %d", (int)sig);
		supervise_shutdown(stopped);
		break;
	}
}

/* A missing child program is an installation error: say so at once. */
static void
check_binaries(const char *dir)
{
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < proc_kinds_n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, proc_kinds[i].name);
		if (access(path, X_OK) == -1)
			fatal("%s", path);
	}
}

static void
check_only(struct conf *conf, bool dump)
{
	if (dump)
		conf_dump(conf, stdout);
	else
		fprintf(stderr, "configuration OK\n");
	conf_free(&conf);
	exit(0);
}

int
main(int argc, char **argv)
{
	static const int sigs[] = { SIGHUP, SIGCHLD, SIGTERM, SIGINT };
	struct conf_errors errs = { NULL, 0 };
	struct event *sigev[4];
	const char *libexec = BULWARK_LIBEXECDIR, *lerr;
	bool noaction = false;
	char err[512];
	size_t i;
	int ch;

	master.conf_path = BULWARK_CONFFILE;
	while ((ch = getopt(argc, argv, "df:hnvX:")) != -1) {
		switch (ch) {
		case 'd':
			master.debug = true;
			break;
		case 'f':
			master.conf_path = optarg;
			break;
		case 'n':
			noaction = true;
			break;
		case 'v':
			master.verbose++;
			break;
		case 'X':
			if ((libexec = realpath(optarg, NULL)) == NULL)
				fatal("-X %s", optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("bulwarkd", LOG_DEST_STDERR, master.verbose);
	if (conf_load(master.conf_path, &master.conf, &errs) == -1) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		conf_errors_clear(&errs);
		return 1;
	}
	if (noaction)
		check_only(master.conf, master.verbose > 0);
	if (master.conf->verbose > master.verbose)
		log_set_verbose(master.conf->verbose);
	log_set_trace(master.conf->trace);
	signal(SIGPIPE, SIG_IGN);
	if (prepare_env(master.conf, &master.env, &master.tls_cert,
	    &master.tls_key, &master.dkim_keys, &master.relay, err,
	    sizeof(err)) == -1)
		fatalx("%s", err);
	master.env.libexec_dir = libexec;
	master.libexec = libexec;
	check_binaries(libexec);
	if (listen_apply(&master.listeners, master.conf, proc_proto_served,
	    &lerr) == -1)
		fatalx("%s", lerr);
	if (!master.env.privsep)
		log_warnx("not running as root: no privilege separation "
		    "(development only)");
	if (!master.debug) {
		if (daemon(0, 0) == -1)
			fatal("daemon");
		log_init("bulwarkd", LOG_DEST_SYSLOG, log_get_verbose());
	}
	write_pidfile();
	if ((master.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	for (i = 0; i < 4; i++) {
		sigev[i] = evsignal_new(master.base, sigs[i], signal_cb, NULL);
		evsignal_add(sigev[i], NULL);
	}
	supervise_init(master.base, &master.env);
	log_info("starting pid=%d privsep=%d", (int)getpid(),
	    master.env.privsep);
	supervise_apply();
	event_base_dispatch(master.base);
	for (i = 0; i < 4; i++)
		event_free(sigev[i]);
	listen_close_all(&master.listeners);
	remove_pidfile();
	buf_clear(&master.tls_cert);
	buf_clear(&master.tls_key);
	free_dkim_keys(&master.dkim_keys, master.conf->ndkim);
	relay_files_clear(&master.relay);
	conf_free(&master.conf);
	event_base_free(master.base);
	return 0;
}

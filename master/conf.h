/* SPDX-License-Identifier: ISC */
/*
 * conf.h: the configuration of bulwarkd as read from bulwark.conf(5).
 *
 * parse.c turns the file (and its includes) into a struct conf; conf.c holds
 * the keyword tables, defaults, validation and the canonical dump printed by
 * `bulwarkd -n -v`.  Every error names file:line:col and what was expected;
 * parsing goes on after an error so that one run reports all of them.
 */
#ifndef BULWARK_CONF_H
#define BULWARK_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

enum conf_proto {
	CONF_PROTO_IMAP,
	CONF_PROTO_LMTP,
	CONF_PROTO_HTTP,
	CONF_PROTO_SIEVE,
	CONF_PROTO_MAX
};

struct conf_listener {
	enum conf_proto	 proto;
	bool		 is_unix;	/* socket path instead of address */
	char		 addr[64];	/* IPv4/IPv6 literal, or "*" for any */
	uint16_t	 port;
	bool		 tls;		/* implicit TLS */
	char		 path[108];	/* unix: socket path */
	char		 owner[64];	/* unix: "" = the master's user */
	char		 group[64];	/* unix: "" = the master's group */
	mode_t		 mode;		/* unix: default 0660 */
	char		 where[160];	/* "file:line" of the directive */
};

/* Options of one protocol's section (imap { ... }); not all apply to all. */
struct conf_proto_opts {
	uint32_t	 workers;	/* processes; 0 disables the protocol */
	bool		 cleartext_auth; /* allow logins without TLS */
	uint32_t	 idle_timeout;	/* seconds */
	uint32_t	 max_line;	/* bytes of one command line */
	uint32_t	 max_connections; /* per process */
};

struct conf {
	char		*path;		/* the main file as given */
	char		*hostname;	/* default: gethostname() */
	char		*data_dir;	/* default BULWARK_DBDIR */
	char		*run_dir;	/* default BULWARK_RUNDIR */
	char		*pidfile;	/* default run_dir/bulwarkd.pid */
	char		*chroot;	/* empty directory for workers, default /var/empty */
	char		*user;		/* storaged, default "_bulwark" */
	char		*worker_user;	/* network workers, default "_bulwarkw" */
	char		*admin_socket;	/* default run_dir/admin.sock */
	char		*admin_group;	/* may also use bulwarkctl; default none */
	char		*tls_cert;	/* PEM chain; NULL = none */
	char		*tls_key;	/* PEM key */
	struct conf_listener *listeners;
	size_t		 nlisteners;
	uint64_t	 map_size;	/* storage map-size, default 1G */
	struct {
		uint32_t fail_limit;	/* failures before blocking, default 5 */
		uint32_t fail_window;	/* seconds they are counted, 300 */
		uint32_t block_time;	/* seconds blocked, default 900 */
		uint32_t threads;	/* password hashing threads, default 2 */
	} auth;
	struct conf_proto_opts proto[CONF_PROTO_MAX];
	int		 verbose;	/* log { verbose N } */
	uint32_t	 trace;		/* log { trace "imap,ipc" } (log.h bits) */
};

/* Collected errors, each "file:line:col: message". */
struct conf_errors {
	char		**msgs;
	size_t		 n;
};

/*
 * Reads and validates path.  On success returns 0 and a new conf in
 * *conf_r (free with conf_free).  On failure returns -1 and errs holds every
 * error found (free with conf_errors_clear); *conf_r is NULL.
 */
int	conf_load(const char *path, struct conf **conf_r,
	    struct conf_errors *errs);
void	conf_free(struct conf **confp);
void	conf_errors_clear(struct conf_errors *errs);

/* Writes the configuration in canonical form, every option explicit. */
void	conf_dump(const struct conf *conf, FILE *out);

/* "imap", "lmtp", "http", "sieve". */
const char *conf_proto_name(enum conf_proto p);

#endif

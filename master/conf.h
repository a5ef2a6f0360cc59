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
	uint32_t	 max_per_ip;	/* imap: per address, 0 = no limit */
	uint32_t	 max_per_user;	/* imap: per account, 0 = no limit */
	uint64_t	 max_message_size; /* lmtp: bytes, default 50M */
	uint32_t	 max_recipients; /* lmtp: per transaction, default 1000 */
	char		*cors_origins;	/* http: "*" or origins; NULL: none */
};

/* relay { tls ... }: how lmtpd's relay uses STARTTLS (CONF_RELAY tls). */
enum conf_relay_tls {
	CONF_RELAY_TLS_NONE,		/* never */
	CONF_RELAY_TLS_STARTTLS,	/* when offered, unverified */
	CONF_RELAY_TLS_REQUIRE		/* always, verified */
};

/* relay { }: the smarthost of lmtpd's outbound relay (JMAP submission). */
struct conf_relay {
	char		*host;		/* name or address; NULL: no relay */
	uint32_t	 port;		/* default 25 */
	uint32_t	 tls;		/* enum conf_relay_tls, default require */
	char		*helo;		/* default the hostname */
	char		*user;		/* SMTP AUTH (RFC 4954); NULL: none */
	char		*password_file;	/* its password, read by the master */
	char		*ca;		/* PEM trust anchors; NULL: system's */
};

/* push { }: lmtpd's JMAP push client (RFC 8620 7.2, CONF_PUSH). */
struct conf_push {
	char		*ca;		/* PEM trust anchors; NULL: system's */
	bool		 allow_local;	/* private and loopback addresses */
	uint32_t	 timeout;	/* seconds per step, default 30 */
	char		*nameserver;	/* NULL: /etc/resolv.conf's */
};

/*
 * dkim DOMAIN { selector NAME  key FILE }: the key that signs what the
 * relay sends From an address of DOMAIN (storaged, CONF_DKIM).  The file
 * is read by the master (bulwarkd.c), never here.
 */
struct conf_dkim {
	char		*domain;	/* d=, as given; compared in any case */
	char		*selector;	/* s= */
	char		*key;		/* PEM private key file */
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
	/* storage change-history: modseqs kept per account, 0 all; 50000 */
	uint64_t	 change_history;
	struct {
		uint32_t fail_limit;	/* failures before blocking, default 5 */
		uint32_t fail_window;	/* seconds they are counted, 300 */
		uint32_t block_time;	/* seconds blocked, default 900 */
		uint32_t threads;	/* password hashing threads, default 2 */
	} auth;
	struct conf_proto_opts proto[CONF_PROTO_MAX];
	struct conf_relay relay;
	struct conf_push push;
	/* Each its own allocation: a section's body is parsed into it. */
	struct conf_dkim **dkim;
	size_t		 ndkim;
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
 * error found (free with conf_errors_clear); *conf_r is NULL.  Each error
 * is "file:line:col: message", except a file that cannot be read at all:
 * "file: reason".  Nothing outside the files is consulted (no user or group
 * lookups, no certificates read) except gethostname() for the default
 * hostname.
 */
int	conf_load(const char *path, struct conf **conf_r,
	    struct conf_errors *errs);
void	conf_free(struct conf **confp);
void	conf_errors_clear(struct conf_errors *errs);

/* Writes the configuration in canonical form, every option explicit. */
void	conf_dump(const struct conf *conf, FILE *out);

/*
 * As conf_load, but reads the configuration from len bytes at buf, named
 * name in error messages.  For tests and the fuzzer: include is refused
 * (an error), so the result depends on buf alone.
 */
int	conf_load_mem(const char *name, const char *buf, size_t len,
	    struct conf **conf_r, struct conf_errors *errs);

/* "imap", "lmtp", "http", "sieve". */
const char *conf_proto_name(enum conf_proto p);

/*
 * Between parse.c and conf.c only; nothing else should use what follows.
 *
 * parse.c reads tokens and groups them into directives: the words of one
 * line up to its end, a "{" or a "}".  It looks the first word (and, for
 * entries with a sub-table but no block, the next one: "tls key") up in a
 * keyword table and hands the rest to conf_directive() in conf.c, which
 * checks for repeats and calls the entry's type to parse the arguments into
 * base + off.  Entries with CONF_CMD_BLOCK open a section whose body is
 * looked up in sub, with base + off as its base, or the one the section's
 * type set in d->body (a repeatable section: dkim DOMAIN { }).
 */
enum conf_tok {
	CONF_TOK_WORD,			/* bare word or number */
	CONF_TOK_STRING,		/* "quoted", or a $macro's value */
	CONF_TOK_EQUAL,
	CONF_TOK_LBRACE,
	CONF_TOK_RBRACE,
	CONF_TOK_EOL,
	CONF_TOK_EOF,
	CONF_TOK_ERROR			/* a bad token, already reported */
};

struct conf_pos {
	const char	*file;		/* alive until conf_parse_free() */
	uint32_t	 line, col;	/* 1-based; col counts bytes */
};

struct conf_token {
	enum conf_tok	 kind;
	char		*s;		/* WORD and STRING, else NULL */
	struct conf_pos	 pos;
};

struct conf_parse;			/* parse.c: files, macros */
struct conf_build;			/* conf.c: the conf being built */
struct conf_cmd;

/* One directive as handed to its type's parse function. */
struct conf_dir {
	struct conf_parse	*p;
	struct conf_build	*b;
	const struct conf_cmd	*cmd;
	char			 name[64];	/* "tls key": keywords used */
	struct conf_pos		 pos;		/* of its first keyword */
	struct conf_token	*argv;		/* the arguments after them */
	size_t			 argc;
	struct conf_pos		 end;		/* where the directive ended */
	void			*base;		/* cmd->off is relative to it */
	int			 sect;		/* section id (proto), -1 */
	/*
	 * A section's type may set the base of its body here (a repeated
	 * section makes a new entry for each); NULL: base + cmd->off.
	 */
	void			*body;
};

struct conf_unit {
	char		 suffix;
	uint64_t	 mult;
};

struct conf_type {
	const char	*what;			/* "a duration": for errors */
	const struct conf_unit *units;		/* numeric types, or NULL */
	/* Parses d->argv into the field; 0, or -1 after reporting. */
	int		(*parse)(struct conf_dir *d);
	/* String types: NULL, or what is wrong with s ("is not ..."). */
	const char	*(*check)(const char *s);
	/* Prints the directive in canonical form; NULL: never printed. */
	void		(*print)(FILE *out, const char *indent,
			    const char *name, const struct conf_cmd *cmd,
			    const void *base);
};

#define CONF_CMD_BLOCK	0x01		/* opens a section: name { ... } */
#define CONF_CMD_MULTI	0x02		/* may be given more than once; a
					   section's type then prints it */
#define CONF_CMD_DEF	0x04		/* def is the field's default value */

struct conf_cmd {
	const char		*name;
	const struct conf_type	*type;		/* NULL for prefixes ("tls") */
	size_t			 off;		/* of the field in base */
	size_t			 size;		/* of the field */
	uint32_t		 flags;
	uint64_t		 min, max, def;	/* numeric types */
	const struct conf_cmd	*sub;		/* body, or second keywords */
	uint32_t		 only;		/* 1 << section ids; 0: all */
	int			 id;		/* section id for its body */
};

/* conf.c: the table of top-level directives, ended by a NULL name. */
extern const struct conf_cmd conf_main_cmds[];

/*
 * conf.c: checks d for a repeat of a single-valued directive or section,
 * then calls its type.  Returns 0, or -1 after reporting (a repeated
 * section's body is then skipped).
 */
int	conf_directive(struct conf_dir *d);

/*
 * parse.c: a parse writing directives into base via table; errors go to
 * errs.  conf_parse_file() reads name (buf NULL) or len bytes at buf.
 */
struct conf_parse *conf_parse_new(struct conf_errors *errs,
	    struct conf_build *b, const struct conf_cmd *table, void *base);
void	conf_parse_file(struct conf_parse *p, const char *name,
	    const char *buf, size_t len);
/* Frees p and the file names that positions point to. */
void	conf_parse_free(struct conf_parse **pp);
/* Reads the file named by path (relative to the current file) in place. */
void	conf_parse_include(struct conf_parse *p,
	    const struct conf_token *path);
/*
 * parse.c: the value types every table uses, and helpers for the others.
 * conf_arg, conf_arg_end and conf_arg_number read argument i of d (or t)
 * and return NULL or -1 after reporting what was expected there.
 */
extern const struct conf_type conf_type_number;	/* 1000 */
extern const struct conf_type conf_type_size;		/* 64K: K M G T, 1024 */
extern const struct conf_type conf_type_duration;	/* 30m: s m h d */
extern const struct conf_type conf_type_bool;		/* yes | no */
/* A word, string or macro value. */
const struct conf_token *conf_arg(struct conf_dir *d, size_t i,
	    const char *what);
/* A bare word (a keyword), else NULL without reporting. */
const char *conf_arg_word(const struct conf_dir *d, size_t i);
/* Nothing from argument i on. */
int	conf_arg_end(struct conf_dir *d, size_t i);
/* t as a number of type (its units) in [min, max], named name in errors. */
int	conf_arg_number(struct conf_dir *d, const struct conf_token *t,
	    const char *name, const struct conf_type *type, uint64_t min,
	    uint64_t max, uint64_t *v_r);
/* conf.c: the field of c in base; numbers by their size (8, 4, bool). */
void	*conf_field(const struct conf_cmd *c, const void *base);
uint64_t conf_field_get(const struct conf_cmd *c, const void *base);
void	conf_field_set(const struct conf_cmd *c, void *base, uint64_t v);
/*
 * Appends "file:line:col: message"; at is NULL for errors without a place.
 * After CONF_ERRORS_MAX errors one "too many errors" line ends the list.
 */
#define CONF_ERRORS_MAX	100
void	conf_error(struct conf_errors *errs, const struct conf_pos *at,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif

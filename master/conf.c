/* SPDX-License-Identifier: ISC */
/*
 * conf.c: the keywords of bulwark.conf(5), declared as tables in the manner
 * of nginx: each entry names a keyword, the type that parses and prints its
 * arguments, and the field of struct conf they go to.  Defaults come from
 * the same tables; the checks that span several directives (TLS files,
 * duplicate listeners, workers for the protocols that listen) run once the
 * files are read; and conf_dump() walks the tables again to print the
 * canonical form, which parses back to itself.  The grammar is parse.c's.
 */
#include "conf.h"
#include "compat.h"
#include "log.h"
#include "xmalloc.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#ifndef BULWARK_DBDIR
#define BULWARK_DBDIR		"/var/db/bulwark"
#endif
#ifndef BULWARK_RUNDIR
#define BULWARK_RUNDIR		"/var/run/bulwark"
#endif

#define CONF_LISTENERS_MAX	64
#define CONF_DKIM_MAX		256	/* dkim sections */
#define CONF_NAME_MAX		32	/* user and group names */
#define CONF_SUN_PATH_MAX	\
	(sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

#define KB			1024ULL
#define MB			(1024 * KB)
#define GB			(1024 * MB)
#define TB			(1024 * GB)
#define MINUTE			60ULL
#define HOUR			(60 * MINUTE)
#define DAY			(24 * HOUR)

/* A single-valued directive or section already given, and where. */
struct conf_seen {
	const struct conf_cmd	*cmd;
	const void		*base;
	struct conf_pos		 pos;
};

struct conf_build {
	struct conf		*conf;
	struct conf_errors	*errs;
	struct conf_pos		*lpos;	/* where listeners[i] was declared */
	struct conf_pos		*dpos;	/* where dkim[i] was declared */
	struct conf_seen	*seen;
	size_t			 nseen;
};

static const char *const conf_proto_names[CONF_PROTO_MAX] = {
	[CONF_PROTO_IMAP] = "imap",	[CONF_PROTO_LMTP] = "lmtp",
	[CONF_PROTO_HTTP] = "http",	[CONF_PROTO_SIEVE] = "sieve",
};

/* In the order conf_dump() prints them; each bit comes from log.c. */
static const char *const conf_trace_names[] = {
	"imap", "jmap", "lmtp", "store", "txn", "auth", "tls", "ipc", "raft",
	"index",
};

const char *
conf_proto_name(enum conf_proto p)
{
	return (unsigned)p < CONF_PROTO_MAX ? conf_proto_names[p] : "unknown";
}

/* Fields. */

void *
conf_field(const struct conf_cmd *c, const void *base)
{
	return (char *)(uintptr_t)base + c->off;
}

uint64_t
conf_field_get(const struct conf_cmd *c, const void *base)
{
	const void *f = conf_field(c, base);

	if (c->size == sizeof(uint64_t))
		return *(const uint64_t *)f;
	if (c->size == sizeof(uint32_t))
		return *(const uint32_t *)f;
	return *(const bool *)f;
}

void
conf_field_set(const struct conf_cmd *c, void *base, uint64_t v)
{
	void *f = conf_field(c, base);

	if (c->size == sizeof(uint64_t))
		*(uint64_t *)f = v;
	else if (c->size == sizeof(uint32_t))
		*(uint32_t *)f = (uint32_t)v;
	else
		*(bool *)f = v != 0;
}

/* Where the single-valued option stored at f was set; NULL: defaulted. */
static const struct conf_pos *
seen_field(const struct conf_build *b, const void *f)
{
	const struct conf_seen *s;
	size_t i;

	for (i = 0; i < b->nseen; i++) {
		s = &b->seen[i];
		if (s->cmd->type != NULL && s->cmd->sub == NULL &&
		    conf_field(s->cmd, s->base) == f)
			return &s->pos;
	}
	return NULL;
}

/* Strings: checks return NULL or what is wrong ("is not ..."). */

static const char *
check_path(const char *s)
{
	if (s[0] != '/')
		return "is not an absolute path";
	if (strlen(s) >= PATH_MAX)
		return "is too long";
	return NULL;
}

static const char *
check_socket(const char *s)
{
	static char why[64];

	if (s[0] != '/')
		return "is not an absolute path";
	if (strlen(s) > CONF_SUN_PATH_MAX) {
		snprintf(why, sizeof(why), "is longer than %zu bytes",
		    CONF_SUN_PATH_MAX);
		return why;
	}
	return NULL;
}

/* A portable user or group name, as useradd(8) wants them. */
static bool
valid_name(const char *s)
{
	size_t i;

	if (s[0] == '\0' || s[0] == '-' || s[0] == '.' ||
	    strlen(s) > CONF_NAME_MAX)
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", s[i]) == NULL)
			return false;
	return true;
}

static const char *
check_name(const char *s)
{
	return valid_name(s) ? NULL : "is not a valid name";
}

static const char *
check_user(const char *s)
{
	if (strcmp(s, "root") == 0)
		return "would defeat privilege separation";
	return check_name(s);
}

/* RFC 1123 2.1 host names: dot-separated labels of letters, digits, '-'. */
static const char *
check_host(const char *s)
{
	size_t len = 0, total = strlen(s);

	if (total == 0 || total > 253)
		return "is not a valid host name";
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (len == 0 || s[-1] == '-')
				return "is not a valid host name";
			len = 0;
			continue;
		}
		if (((*s < 'a' || *s > 'z') && (*s < 'A' || *s > 'Z') &&
		    (*s < '0' || *s > '9') && *s != '-') ||
		    (len == 0 && *s == '-') || ++len > 63)
			return "is not a valid host name";
	}
	return len == 0 || s[-1] == '-' ? "is not a valid host name" : NULL;
}

/* RFC 6376 3.1: a selector is labels, as a host name is. */
static const char *
check_selector(const char *s)
{
	return check_host(s) == NULL ? NULL : "is not a valid selector "
	    "(labels of letters, digits and hyphens)";
}

/*
 * The smarthost: a host name, or an IPv4 or IPv6 literal (bare, without
 * RFC 5321 4.1.3's brackets: this is not an address literal in SMTP).
 */
static const char *
check_relay_host(const char *s)
{
	unsigned char a[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1)
		return NULL;
	return check_host(s) == NULL ? NULL :
	    "is not a host name or an IP address";
}

/* A name server: "ip", "ip:port" or "[ip6]:port" (libevent's evdns form). */
static const char *
check_nameserver(const char *s)
{
	unsigned char a[sizeof(struct in6_addr)];
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL, *e;
	size_t n;

	if (s[0] == '[') {
		if ((e = strchr(s, ']')) == NULL || e[1] != ':')
			return "is not [an IPv6 address]:port";
		n = (size_t)(e - s - 1);
		port = e + 2;
		s++;
	} else if ((e = strchr(s, ':')) != NULL && strchr(e + 1, ':') ==
	    NULL) {
		n = (size_t)(e - s);
		port = e + 1;
	} else
		n = strlen(s);
	if (n == 0 || n >= sizeof(host))
		return "is not an IP address";
	memcpy(host, s, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, a) != 1 &&
	    inet_pton(AF_INET6, host, a) != 1)
		return "is not an IP address";
	if (port != NULL && (port[0] == '\0' || strlen(port) > 5 ||
	    strspn(port, "0123456789") != strlen(port) ||
	    strtoul(port, NULL, 10) < 1 || strtoul(port, NULL, 10) > 65535))
		return "has a bad port";
	return NULL;
}

/*
 * The relay's SASL authentication identity (RFC 4616 2: any UTF-8 but
 * NUL): here printable, without controls, at most 255 bytes.
 */
static const char *
check_relay_user(const char *s)
{
	const unsigned char *p;

	if (*s == '\0' || strlen(s) > 255)
		return "must be 1 to 255 bytes";
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return "may not hold control characters";
	return NULL;
}

/*
 * CORS origins (RFC 6454 6.2 serializations): "*" alone, or origins
 * "http://host" or "https://host:port" separated by spaces.
 */
static const char *
check_origins(const char *s)
{
	const char *p, *host, *end;
	struct in6_addr in6;
	char name[254];
	size_t n = 0, len;

	if (strcmp(s, "*") == 0)
		return NULL;
	for (p = s; *p != '\0'; p = end) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		if ((end = strchr(p, ' ')) == NULL)
			end = p + strlen(p);
		if (strncmp(p, "https://", 8) == 0)
			host = p + 8;
		else if (strncmp(p, "http://", 7) == 0)
			host = p + 7;
		else
			return "is not a list of origins (\"https://host[:port]"
			    "\" ...) or \"*\"";
		if (host[0] == '[') {
			/* An IPv6 literal (RFC 3986 3.2.2). */
			len = strcspn(host, "] ");
			if (host[len] != ']' || len - 1 >= sizeof(name))
				return "has an origin without a valid host";
			memcpy(name, host + 1, len - 1);
			name[len - 1] = '\0';
			if (inet_pton(AF_INET6, name, &in6) != 1)
				return "has an origin without a valid host";
			len++;
		} else {
			len = strcspn(host, ":/ ");
			if (len == 0 || len >= sizeof(name))
				return "has an origin without a valid host";
			memcpy(name, host, len);
			name[len] = '\0';
			if (check_host(name) != NULL)
				return "has an origin without a valid host";
		}
		if (host[len] == ':') {
			host += len + 1;
			len = strspn(host, "0123456789");
			if (len == 0 || len > 5 || host + len != end ||
			    strtol(host, NULL, 10) > 65535)
				return "has an origin with a bad port";
		} else if (host + len != end)
			return "has an origin with a path";
		n++;
	}
	return n == 0 ? "is empty" : NULL;
}

/* Parses argument i as a string that check accepts; -1 after reporting. */
static const struct conf_token *
arg_string(struct conf_dir *d, size_t i, const char *what, const char *name,
    const char *(*check)(const char *))
{
	const struct conf_token *t;
	const char *why;

	if ((t = conf_arg(d, i, what)) == NULL)
		return NULL;
	if ((why = check(t->s)) != NULL) {
		conf_error(d->b->errs, &t->pos, "%s \"%s\" %s", name, t->s,
		    why);
		return NULL;
	}
	return t;
}

/* A string field that the type's check accepts. */
static int
type_string_parse(struct conf_dir *d)
{
	const struct conf_token *t;
	char **f = conf_field(d->cmd, d->base);

	if ((t = arg_string(d, 0, d->cmd->type->what, d->name,
	    d->cmd->type->check)) == NULL)
		return -1;
	free(*f);
	*f = xstrdup(t->s);
	return conf_arg_end(d, 1);
}

static void
print_quoted(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static void
print_string(FILE *out, const char *indent, const char *name,
    const struct conf_cmd *c, const void *base)
{
	const char *s = *(char *const *)conf_field(c, base);

	if (s == NULL) {
		fprintf(out, "%s# %s not set\n", indent, name);
		return;
	}
	fprintf(out, "%s%s ", indent, name);
	print_quoted(out, s);
	fputc('\n', out);
}

static int
type_trace_parse(struct conf_dir *d)
{
	const struct conf_token *t;
	uint32_t mask;

	if ((t = conf_arg(d, 0, d->cmd->type->what)) == NULL)
		return -1;
	if (log_trace_parse(t->s, &mask) == -1) {
		conf_error(d->b->errs, &t->pos, "trace \"%s\" names an "
		    "unknown category", t->s);
		return -1;
	}
	conf_field_set(d->cmd, d->base, mask);
	return conf_arg_end(d, 1);
}

static void
type_trace_print(FILE *out, const char *indent, const char *name,
    const struct conf_cmd *c, const void *base)
{
	uint32_t mask = (uint32_t)conf_field_get(c, base), bit;
	const char *sep = "";
	size_t i;

	fprintf(out, "%s%s \"", indent, name);
	if (mask == UINT32_MAX || mask == 0)
		fputs(mask == 0 ? "none" : "all", out);
	for (i = 0; mask != UINT32_MAX && i < sizeof(conf_trace_names) /
	    sizeof(conf_trace_names[0]); i++)
		if (log_trace_parse(conf_trace_names[i], &bit) == 0 &&
		    (mask & bit) != 0) {
			fprintf(out, "%s%s", sep, conf_trace_names[i]);
			sep = ",";
		}
	fputs("\"\n", out);
}

/* relay { tls none | starttls | require }, in enum conf_relay_tls order. */
static const char *const conf_relay_tls_names[] = {
	"none", "starttls", "require",
};

static int
type_relay_tls_parse(struct conf_dir *d)
{
	const struct conf_token *t;
	size_t i;

	/* Quoted or bare alike, as yes and no. */
	if ((t = conf_arg(d, 0, d->cmd->type->what)) == NULL)
		return -1;
	for (i = 0; i < sizeof(conf_relay_tls_names) /
	    sizeof(conf_relay_tls_names[0]); i++)
		if (strcmp(t->s, conf_relay_tls_names[i]) == 0) {
			conf_field_set(d->cmd, d->base, i);
			return conf_arg_end(d, 1);
		}
	conf_error(d->b->errs, &t->pos, "expected %s, got \"%s\"",
	    d->cmd->type->what, t->s);
	return -1;
}

static void
type_relay_tls_print(FILE *out, const char *indent, const char *name,
    const struct conf_cmd *c, const void *base)
{
	uint64_t v = conf_field_get(c, base);
	size_t n = sizeof(conf_relay_tls_names) /
	    sizeof(conf_relay_tls_names[0]);

	fprintf(out, "%s%s %s\n", indent, name, v < n ?
	    conf_relay_tls_names[v] : "?");
}

/* listen PROTO on ADDRESS port N [tls] | listen PROTO socket PATH ... */

struct listen_opt {
	const char	*name;
	bool		 is_unix;
	int		(*parse)(struct conf_dir *, size_t *,
			    struct conf_listener *, const struct listen_opt *);
	size_t		 off;		/* of owner or group */
};

static int
listen_port(struct conf_dir *d, size_t *ip, struct conf_listener *l,
    const struct listen_opt *o)
{
	static const struct conf_type port = { "a port number", NULL, NULL,
	    NULL, NULL };
	const struct conf_token *t;
	uint64_t v;

	(void)o;
	if ((t = conf_arg(d, ++*ip, port.what)) == NULL ||
	    conf_arg_number(d, t, "port", &port, 1, 65535, &v) == -1)
		return -1;
	l->port = (uint16_t)v;
	return 0;
}

static int
listen_tls(struct conf_dir *d, size_t *ip, struct conf_listener *l,
    const struct listen_opt *o)
{
	(void)d;
	(void)ip;
	(void)o;
	l->tls = true;
	return 0;
}

/* owner or group: a name stored for the master to look up. */
static int
listen_name(struct conf_dir *d, size_t *ip, struct conf_listener *l,
    const struct listen_opt *o)
{
	const struct conf_token *t;

	if ((t = arg_string(d, ++*ip, "a name", o->name, check_name)) == NULL)
		return -1;
	strlcpy((char *)l + o->off, t->s, sizeof(l->owner));
	return 0;
}

static int
listen_mode(struct conf_dir *d, size_t *ip, struct conf_listener *l,
    const struct listen_opt *o)
{
	const struct conf_token *t;
	size_t len;

	(void)o;
	if ((t = conf_arg(d, ++*ip, "an octal mode")) == NULL)
		return -1;
	len = strspn(t->s, "01234567");
	if (len == 0 || len > 4 || t->s[len] != '\0' ||
	    strtol(t->s, NULL, 8) > 0777) {
		conf_error(d->b->errs, &t->pos, "mode %s is not an octal "
		    "mode up to 0777", t->s);
		return -1;
	}
	l->mode = (mode_t)strtol(t->s, NULL, 8);
	return 0;
}

static const struct listen_opt listen_opts[] = {
	{ "port",	false,	listen_port,	0 },
	{ "tls",	false,	listen_tls,	0 },
	{ "owner",	true,	listen_name,
	    offsetof(struct conf_listener, owner) },
	{ "group",	true,	listen_name,
	    offsetof(struct conf_listener, group) },
	{ "mode",	true,	listen_mode,	0 },
	{ NULL,		false,	NULL,		0 }
};

/* The options after the address or path, each at most once. */
static int
listen_options(struct conf_dir *d, size_t i, struct conf_listener *l)
{
	const struct listen_opt *o;
	uint32_t seen = 0, bit;
	const char *kw;

	for (; i < d->argc; i++) {
		kw = conf_arg_word(d, i);
		for (o = listen_opts, bit = 1; kw != NULL && o->name != NULL;
		    o++, bit <<= 1)
			if (o->is_unix == l->is_unix &&
			    strcmp(o->name, kw) == 0)
				break;
		if (kw == NULL || o->name == NULL) {
			conf_error(d->b->errs, &d->argv[i].pos, "expected %s, "
			    "got \"%s\"", l->is_unix ? "\"owner\", "
			    "\"group\" or \"mode\"" : "\"port\" or \"tls\"",
			    d->argv[i].s ? d->argv[i].s : "=");
			return -1;
		}
		if ((seen & bit) != 0) {
			conf_error(d->b->errs, &d->argv[i].pos, "duplicate "
			    "\"%s\" in listen", kw);
			return -1;
		}
		seen |= bit;
		if (o->parse(d, &i, l, o) == -1)
			return -1;
	}
	if (!l->is_unix && l->port == 0) {
		conf_error(d->b->errs, &d->end, "expected \"port\" after the "
		    "address");
		return -1;
	}
	return 0;
}

/* "*", or an IPv4 or IPv6 literal stored in the form inet_ntop gives. */
static int
listen_addr(struct conf_dir *d, const struct conf_token *t,
    struct conf_listener *l)
{
	unsigned char a[sizeof(struct in6_addr)];
	int af = strchr(t->s, ':') != NULL ? AF_INET6 : AF_INET;

	if (strcmp(t->s, "*") == 0)
		strlcpy(l->addr, "*", sizeof(l->addr));
	else if (inet_pton(af, t->s, a) != 1 ||
	    inet_ntop(af, a, l->addr, sizeof(l->addr)) == NULL) {
		conf_error(d->b->errs, &t->pos, "expected an IPv4 or IPv6 "
		    "address or \"*\", got \"%s\"", t->s);
		return -1;
	}
	return 0;
}

static int
type_listen_parse(struct conf_dir *d)
{
	struct conf_build *b = d->b;
	struct conf *c = b->conf;
	struct conf_listener l;
	const struct conf_token *t;
	const char *kw;
	int p;

	memset(&l, 0, sizeof(l));
	l.mode = 0660;
	if ((t = conf_arg(d, 0, "a protocol")) == NULL)
		return -1;
	for (p = 0; p < CONF_PROTO_MAX; p++)
		if (strcmp(t->s, conf_proto_names[p]) == 0)
			break;
	if (p == CONF_PROTO_MAX) {
		conf_error(b->errs, &t->pos, "expected \"imap\", \"lmtp\", "
		    "\"http\" or \"sieve\", got \"%s\"", t->s);
		return -1;
	}
	l.proto = (enum conf_proto)p;
	if ((t = conf_arg(d, 1, "\"on\" or \"socket\"")) == NULL)
		return -1;
	if ((kw = conf_arg_word(d, 1)) == NULL || (strcmp(kw, "on") != 0 &&
	    strcmp(kw, "socket") != 0)) {
		conf_error(b->errs, &t->pos, "expected \"on\" or \"socket\", "
		    "got \"%s\"", t->s);
		return -1;
	}
	l.is_unix = strcmp(kw, "socket") == 0;
	if (l.is_unix) {
		if ((t = arg_string(d, 2, "a socket path", "socket",
		    check_socket)) == NULL)
			return -1;
		strlcpy(l.path, t->s, sizeof(l.path));
	} else if ((t = conf_arg(d, 2, "an address")) == NULL ||
	    listen_addr(d, t, &l) == -1)
		return -1;
	if (listen_options(d, 3, &l) == -1)
		return -1;
	if (c->nlisteners == CONF_LISTENERS_MAX) {
		conf_error(b->errs, &d->pos, "more than %d listeners",
		    CONF_LISTENERS_MAX);
		return -1;
	}
	snprintf(l.where, sizeof(l.where), "%s:%u", d->pos.file, d->pos.line);
	c->listeners = xreallocarray(c->listeners, c->nlisteners + 1,
	    sizeof(*c->listeners));
	b->lpos = xreallocarray(b->lpos, c->nlisteners + 1, sizeof(*b->lpos));
	b->lpos[c->nlisteners] = d->pos;
	c->listeners[c->nlisteners++] = l;
	return 0;
}

static void
type_listen_print(FILE *out, const char *indent, const char *name,
    const struct conf_cmd *cmd, const void *base)
{
	const struct conf *c = base;
	const struct conf_listener *l;
	size_t i;

	(void)cmd;
	for (i = 0; i < c->nlisteners; i++) {
		l = &c->listeners[i];
		fprintf(out, "%s%s %s ", indent, name,
		    conf_proto_name(l->proto));
		if (!l->is_unix) {
			fprintf(out, "on %s port %u%s\n", l->addr, l->port,
			    l->tls ? " tls" : "");
			continue;
		}
		fputs("socket ", out);
		print_quoted(out, l->path);
		if (l->owner[0] != '\0') {
			fputs(" owner ", out);
			print_quoted(out, l->owner);
		}
		if (l->group[0] != '\0') {
			fputs(" group ", out);
			print_quoted(out, l->group);
		}
		fprintf(out, " mode %04o\n", (unsigned)l->mode);
	}
}

/* admin socket PATH [group NAME] */
static int
type_admin_parse(struct conf_dir *d)
{
	struct conf *c = d->base;
	const struct conf_token *t, *g = NULL;
	const char *kw;

	if ((t = arg_string(d, 0, "a socket path", d->name, check_socket)) ==
	    NULL)
		return -1;
	if ((kw = conf_arg_word(d, 1)) != NULL && strcmp(kw, "group") == 0) {
		if ((g = arg_string(d, 2, "a group name", "group",
		    check_name)) == NULL)
			return -1;
	} else if (d->argc > 1) {
		conf_error(d->b->errs, &d->argv[1].pos, "expected \"group\" or "
		    "end of line, got \"%s\"", d->argv[1].s ? d->argv[1].s :
		    "=");
		return -1;
	}
	free(c->admin_socket);
	c->admin_socket = xstrdup(t->s);
	free(c->admin_group);
	c->admin_group = g != NULL ? xstrdup(g->s) : NULL;
	return conf_arg_end(d, g != NULL ? 3 : 1);
}

static void
type_admin_print(FILE *out, const char *indent, const char *name,
    const struct conf_cmd *cmd, const void *base)
{
	const struct conf *c = base;

	(void)cmd;
	fprintf(out, "%s%s ", indent, name);
	print_quoted(out, c->admin_socket);
	if (c->admin_group != NULL) {
		fputs(" group ", out);
		print_quoted(out, c->admin_group);
	}
	fputc('\n', out);
}

/*
 * dkim DOMAIN { ... }: a new entry for each domain, which the section's
 * body fills (d->body); a domain given twice, in any case, is refused.
 */
static int
type_dkim_parse(struct conf_dir *d)
{
	struct conf_build *b = d->b;
	struct conf *c = b->conf;
	const struct conf_token *t;
	const struct conf_pos *at;
	struct conf_dkim *k;
	size_t i;

	if ((t = arg_string(d, 0, "a domain name", d->name, check_host)) ==
	    NULL)
		return -1;
	if (d->argc > 1) {
		conf_error(b->errs, &d->argv[1].pos, "expected \"{\" after the "
		    "domain, got \"%s\"", d->argv[1].s != NULL ?
		    d->argv[1].s : "=");
		return -1;
	}
	for (i = 0; i < c->ndkim; i++) {
		if (strcasecmp(c->dkim[i]->domain, t->s) != 0)
			continue;
		at = &b->dpos[i];
		conf_error(b->errs, &t->pos, "duplicate dkim \"%s\", first at "
		    "%s:%u:%u", t->s, at->file, at->line, at->col);
		return -1;
	}
	if (c->ndkim == CONF_DKIM_MAX) {
		conf_error(b->errs, &d->pos, "more than %d dkim sections",
		    CONF_DKIM_MAX);
		return -1;
	}
	k = xcalloc(1, sizeof(*k));
	k->domain = xstrdup(t->s);
	c->dkim = xreallocarray(c->dkim, c->ndkim + 1, sizeof(*c->dkim));
	b->dpos = xreallocarray(b->dpos, c->ndkim + 1, sizeof(*b->dpos));
	b->dpos[c->ndkim] = d->pos;
	c->dkim[c->ndkim++] = k;
	d->body = k;
	return 0;
}

static void dump_table(FILE *, const struct conf_cmd *, const void *, int,
    const char *, const char *);

/* Each dkim section, in the order given; none: nothing. */
static void
type_dkim_print(FILE *out, const char *indent, const char *name,
    const struct conf_cmd *cmd, const void *base)
{
	const struct conf *c = base;
	size_t i;

	(void)indent;
	for (i = 0; i < c->ndkim; i++) {
		fprintf(out, "\n%s ", name);
		print_quoted(out, c->dkim[i]->domain);
		fputs(" {\n", out);
		dump_table(out, cmd->sub, c->dkim[i], cmd->id, "\t", "");
		fputs("}\n", out);
	}
}

static int
type_include_parse(struct conf_dir *d)
{
	const struct conf_token *t;

	if ((t = conf_arg(d, 0, d->cmd->type->what)) == NULL ||
	    conf_arg_end(d, 1) == -1)
		return -1;
	conf_parse_include(d->p, t);
	return 0;
}

/* A section takes no argument; its body goes on even after an error. */
static int
type_section_parse(struct conf_dir *d)
{
	if (d->argc > 0)
		conf_error(d->b->errs, &d->argv[0].pos, "expected \"{\" after "
		    "\"%s\", got \"%s\"", d->name, d->argv[0].s ?
		    d->argv[0].s : "=");
	return 0;
}

static const struct conf_type conf_type_path = {
	"an absolute path", NULL, type_string_parse, check_path, print_string
};
static const struct conf_type conf_type_user = {
	"a user name", NULL, type_string_parse, check_user, print_string
};
static const struct conf_type conf_type_host = {
	"a host name", NULL, type_string_parse, check_host, print_string
};
static const struct conf_type conf_type_selector = {
	"a selector", NULL, type_string_parse, check_selector, print_string
};
static const struct conf_type conf_type_dkim = {
	"a domain name", NULL, type_dkim_parse, NULL, type_dkim_print
};
static const struct conf_type conf_type_relayhost = {
	"a host name or address", NULL, type_string_parse, check_relay_host,
	print_string
};
static const struct conf_type conf_type_nameserver = {
	"an address with an optional port", NULL, type_string_parse,
	check_nameserver, print_string
};
static const struct conf_type conf_type_relayuser = {
	"a user name", NULL, type_string_parse, check_relay_user, print_string
};
static const struct conf_type conf_type_relaytls = {
	"\"none\", \"starttls\" or \"require\"", NULL, type_relay_tls_parse,
	NULL, type_relay_tls_print
};
static const struct conf_type conf_type_origins = {
	"origins", NULL, type_string_parse, check_origins, print_string
};
static const struct conf_type conf_type_trace = {
	"trace categories", NULL, type_trace_parse, NULL, type_trace_print
};
static const struct conf_type conf_type_listen = {
	"a listener", NULL, type_listen_parse, NULL, type_listen_print
};
static const struct conf_type conf_type_admin = {
	"a socket path", NULL, type_admin_parse, NULL, type_admin_print
};
static const struct conf_type conf_type_include = {
	"a file name", NULL, type_include_parse, NULL, NULL
};
static const struct conf_type conf_type_section = {
	"a section", NULL, type_section_parse, NULL, NULL
};

/* The tables: keyword, type, field, flags, min, max, default. */

#define FIELD(st, m)		offsetof(struct st, m), \
				sizeof(((struct st *)0)->m)
#define NUM(name, type, st, m, lo, hi, def) \
	{ name, &conf_type_##type, FIELD(st, m), CONF_CMD_DEF, lo, hi, def, \
	    NULL, 0, 0 }
#define STR(name, type, m) \
	{ name, &conf_type_##type, FIELD(conf, m), 0, 0, 0, 0, NULL, 0, 0 }
#define PREFIX(name, sub) \
	{ name, NULL, 0, 0, 0, 0, 0, 0, sub, 0, 0 }
#define SECTION(name, sub, off, id) \
	{ name, &conf_type_section, off, 0, CONF_CMD_BLOCK, 0, 0, 0, sub, \
	    0, id }
#define ONLY(p)			(1u << CONF_PROTO_##p)
#define END			{ NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, 0, 0 }

static const struct conf_cmd conf_admin_cmds[] = {
	STR("socket", admin, admin_socket),
	END
};

static const struct conf_cmd conf_tls_cmds[] = {
	STR("certificate", path, tls_cert),
	STR("key", path, tls_key),
	END
};

static const struct conf_cmd conf_storage_cmds[] = {
	NUM("map-size", size, conf, map_size, 1 * MB, 16 * TB, 1 * GB),
	NUM("change-history", number, conf, change_history, 0,
	    1000000000000ull, 50000),
	END
};

static const struct conf_cmd conf_auth_cmds[] = {
	NUM("fail-limit", number, conf, auth.fail_limit, 1, 1000, 5),
	NUM("fail-window", duration, conf, auth.fail_window, 1, DAY,
	    5 * MINUTE),
	NUM("block-time", duration, conf, auth.block_time, 1, 7 * DAY,
	    15 * MINUTE),
	NUM("threads", number, conf, auth.threads, 1, 64, 2),
	END
};

/* Shared by the four protocol sections; "only" says where each applies. */
static const struct conf_cmd conf_proto_cmds[] = {
	NUM("workers", number, conf_proto_opts, workers, 0, 64, 1),
	{ "cleartext-auth", &conf_type_bool,
	    FIELD(conf_proto_opts, cleartext_auth), CONF_CMD_DEF, 0, 1, 0,
	    NULL, ONLY(IMAP) | ONLY(HTTP) | ONLY(SIEVE), 0 },
	NUM("idle-timeout", duration, conf_proto_opts, idle_timeout, 10,
	    DAY, 30 * MINUTE),
	NUM("max-line-length", size, conf_proto_opts, max_line, 1 * KB,
	    16 * MB, 64 * KB),
	NUM("max-connections", number, conf_proto_opts, max_connections, 1,
	    100000, 1000),
	{ "max-connections-per-ip", &conf_type_number,
	    FIELD(conf_proto_opts, max_per_ip), CONF_CMD_DEF, 0, 100000, 100,
	    NULL, ONLY(IMAP), 0 },
	{ "max-connections-per-user", &conf_type_number,
	    FIELD(conf_proto_opts, max_per_user), CONF_CMD_DEF, 0, 100000, 50,
	    NULL, ONLY(IMAP), 0 },
	{ "max-message-size", &conf_type_size,
	    FIELD(conf_proto_opts, max_message_size), CONF_CMD_DEF, 1 * KB,
	    1 * GB, 50 * MB, NULL, ONLY(LMTP), 0 },
	{ "max-recipients", &conf_type_number,
	    FIELD(conf_proto_opts, max_recipients), CONF_CMD_DEF, 1, 100000,
	    1000, NULL, ONLY(LMTP), 0 },
	{ "cors-origins", &conf_type_origins,
	    FIELD(conf_proto_opts, cors_origins), 0, 0, 0, 0, NULL,
	    ONLY(HTTP), 0 },
	END
};

static const struct conf_cmd conf_relay_cmds[] = {
	STR("host", relayhost, relay.host),
	NUM("port", number, conf, relay.port, 1, 65535, 25),
	NUM("tls", relaytls, conf, relay.tls, 0, 2, CONF_RELAY_TLS_REQUIRE),
	STR("helo", host, relay.helo),
	STR("user", relayuser, relay.user),
	STR("password-file", path, relay.password_file),
	STR("ca", path, relay.ca),
	END
};

static const struct conf_cmd conf_push_cmds[] = {
	STR("ca", path, push.ca),
	NUM("allow-local", bool, conf, push.allow_local, 0, 1, 0),
	NUM("timeout", duration, conf, push.timeout, 1, 600, 30),
	STR("nameserver", nameserver, push.nameserver),
	END
};

/* The body of dkim DOMAIN { }; no defaults: both must be given. */
static const struct conf_cmd conf_dkim_cmds[] = {
	{ "selector", &conf_type_selector, FIELD(conf_dkim, selector), 0, 0,
	    0, 0, NULL, 0, 0 },
	{ "key", &conf_type_path, FIELD(conf_dkim, key), 0, 0, 0, 0, NULL, 0,
	    0 },
	END
};

static const struct conf_cmd conf_log_cmds[] = {
	NUM("verbose", number, conf, verbose, 0, 3, 0),
	NUM("trace", trace, conf, trace, 0, UINT32_MAX, 0),
	END
};

#define PROTO(name, p) \
	SECTION(name, conf_proto_cmds, \
	    offsetof(struct conf, proto[CONF_PROTO_##p]), CONF_PROTO_##p)

const struct conf_cmd conf_main_cmds[] = {
	{ "include", &conf_type_include, 0, 0, CONF_CMD_MULTI, 0, 0, 0,
	    NULL, 0, 0 },
	STR("hostname", host, hostname),
	STR("data-dir", path, data_dir),
	STR("run-dir", path, run_dir),
	STR("pidfile", path, pidfile),
	STR("chroot", path, chroot),
	STR("user", user, user),
	STR("worker-user", user, worker_user),
	PREFIX("admin", conf_admin_cmds),
	PREFIX("tls", conf_tls_cmds),
	{ "listen", &conf_type_listen, 0, 0, CONF_CMD_MULTI, 0, 0, 0, NULL,
	    0, 0 },
	SECTION("storage", conf_storage_cmds, 0, -1),
	SECTION("auth", conf_auth_cmds, 0, -1),
	PROTO("imap", IMAP),
	PROTO("lmtp", LMTP),
	PROTO("http", HTTP),
	PROTO("sieve", SIEVE),
	SECTION("relay", conf_relay_cmds, 0, -1),
	SECTION("push", conf_push_cmds, 0, -1),
	{ "dkim", &conf_type_dkim, 0, 0, CONF_CMD_BLOCK | CONF_CMD_MULTI, 0,
	    0, 0, conf_dkim_cmds, 0, -1 },
	SECTION("log", conf_log_cmds, 0, -1),
	END
};

int
conf_directive(struct conf_dir *d)
{
	const struct conf_cmd *c = d->cmd;
	struct conf_build *b = d->b;
	const struct conf_seen *s;
	size_t i;

	if ((c->flags & CONF_CMD_MULTI) == 0) {
		for (i = 0; i < b->nseen; i++) {
			s = &b->seen[i];
			if (s->cmd != c || s->base != d->base)
				continue;
			conf_error(b->errs, &d->pos, "duplicate %s\"%s\", "
			    "first at %s:%u:%u", c->flags & CONF_CMD_BLOCK ?
			    "section " : "", d->name, s->pos.file,
			    s->pos.line, s->pos.col);
			return -1;
		}
		b->seen = xreallocarray(b->seen, b->nseen + 1,
		    sizeof(*b->seen));
		b->seen[b->nseen].cmd = c;
		b->seen[b->nseen].base = d->base;
		b->seen[b->nseen++].pos = d->pos;
	}
	return c->type->parse(d);
}

/* Defaults. */

static void
defaults_table(const struct conf_cmd *t, void *base)
{
	for (; t->name != NULL; t++) {
		if ((t->flags & CONF_CMD_BLOCK) != 0)
			defaults_table(t->sub, (char *)base + t->off);
		else if (t->sub != NULL)
			defaults_table(t->sub, base);
		else if ((t->flags & CONF_CMD_DEF) != 0)
			conf_field_set(t, base, t->def);
	}
}

static struct conf *
conf_new(const char *path)
{
	struct conf *c = xcalloc(1, sizeof(*c));

	c->path = xstrdup(path);
	defaults_table(conf_main_cmds, c);
	/* The busiest protocol: a process for each core of a small host. */
	c->proto[CONF_PROTO_IMAP].workers = 2;
	return c;
}

/* The string defaults, some derived from run-dir, filled in after parsing. */
static void
defaults_strings(struct conf *c)
{
	static const struct {
		size_t		 off;
		const char	*def;
	} defs[] = {
		{ offsetof(struct conf, data_dir),	BULWARK_DBDIR },
		{ offsetof(struct conf, run_dir),	BULWARK_RUNDIR },
		{ offsetof(struct conf, chroot),	"/var/empty" },
		{ offsetof(struct conf, user),		"_bulwark" },
		{ offsetof(struct conf, worker_user),	"_bulwarkw" },
	};
	char host[256], **f;
	size_t i;

	for (i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
		f = (char **)((char *)c + defs[i].off);
		if (*f == NULL)
			*f = xstrdup(defs[i].def);
	}
	if (c->pidfile == NULL)
		c->pidfile = xasprintf("%s/bulwarkd.pid", c->run_dir);
	if (c->admin_socket == NULL)
		c->admin_socket = xasprintf("%s/admin.sock", c->run_dir);
	if (c->hostname == NULL) {
		/* The dump must load back: only a valid name will do. */
		if (gethostname(host, sizeof(host)) == -1 ||
		    (host[sizeof(host) - 1] = '\0', check_host(host)) != NULL)
			strlcpy(host, "localhost", sizeof(host));
		c->hostname = xstrdup(host);
	}
	/* RFC 5321 4.1.1.1: the client's EHLO names the host it runs on. */
	if (c->relay.helo == NULL)
		c->relay.helo = xstrdup(c->hostname);
}

/* Checks that span directives. */

static void
check_tls(struct conf_build *b)
{
	const struct conf *c = b->conf;
	const struct conf_pos *cert, *key;
	size_t i;

	cert = seen_field(b, &c->tls_cert);
	key = seen_field(b, &c->tls_key);
	if (cert != NULL && key == NULL)
		conf_error(b->errs, cert, "\"tls certificate\" without "
		    "\"tls key\"");
	if (key != NULL && cert == NULL)
		conf_error(b->errs, key, "\"tls key\" without "
		    "\"tls certificate\"");
	for (i = 0; i < c->nlisteners; i++)
		if (c->listeners[i].tls && (cert == NULL || key == NULL))
			conf_error(b->errs, &b->lpos[i], "a tls listener "
			    "needs \"tls certificate\" and \"tls key\"");
}

/* Whether binding a then b (TCP) must fail; see listen.c for "*". */
static bool
listen_overlap(const struct conf_listener *a, const struct conf_listener *b)
{
	bool v6a = strchr(a->addr, ':') != NULL;
	bool v6b = strchr(b->addr, ':') != NULL;

	if (a->port != b->port)
		return false;
	if (strcmp(a->addr, b->addr) == 0 || strcmp(a->addr, "*") == 0 ||
	    strcmp(b->addr, "*") == 0)
		return true;
	if (v6a != v6b)
		return false;
	return strcmp(a->addr, v6a ? "::" : "0.0.0.0") == 0 ||
	    strcmp(b->addr, v6b ? "::" : "0.0.0.0") == 0;
}

static void
check_listeners(struct conf_build *b)
{
	const struct conf *c = b->conf;
	const struct conf_listener *l, *o;
	const struct conf_pos *at;
	size_t i, j;

	for (i = 0; i < c->nlisteners; i++) {
		l = &c->listeners[i];
		if (l->is_unix && strcmp(l->path, c->admin_socket) == 0)
			conf_error(b->errs, &b->lpos[i], "socket \"%s\" is "
			    "also the admin socket", l->path);
		for (j = 0; j < i; j++) {
			o = &c->listeners[j];
			at = &b->lpos[j];
			if (o->is_unix != l->is_unix)
				continue;
			if (l->is_unix && strcmp(l->path, o->path) == 0)
				conf_error(b->errs, &b->lpos[i], "duplicate "
				    "listener on socket \"%s\", first at "
				    "%s:%u:%u", l->path, at->file, at->line,
				    at->col);
			else if (!l->is_unix && strcmp(l->addr, o->addr) == 0 &&
			    l->port == o->port)
				conf_error(b->errs, &b->lpos[i], "duplicate "
				    "listener on %s port %u, first at %s:%u:%u",
				    l->addr, l->port, at->file, at->line,
				    at->col);
			else if (!l->is_unix && listen_overlap(l, o))
				conf_error(b->errs, &b->lpos[i], "listener on "
				    "%s port %u overlaps the one on %s at "
				    "%s:%u:%u", l->addr, l->port, o->addr,
				    at->file, at->line, at->col);
			else
				continue;
			break;
		}
	}
}

static void
check_workers(struct conf_build *b)
{
	const struct conf *c = b->conf;
	const struct conf_pos *at, *lp;
	size_t i;
	int p;

	for (p = 0; p < CONF_PROTO_MAX; p++) {
		if (c->proto[p].workers != 0)
			continue;
		for (i = 0; i < c->nlisteners; i++)
			if ((int)c->listeners[i].proto == p)
				break;
		if (i == c->nlisteners ||
		    (at = seen_field(b, &c->proto[p].workers)) == NULL)
			continue;
		lp = &b->lpos[i];
		conf_error(b->errs, at, "workers 0 disables %s, which has a "
		    "listener at %s:%u:%u", conf_proto_names[p], lp->file,
		    lp->line, lp->col);
	}
}

static void
check_paths(struct conf_build *b)
{
	const struct conf *c = b->conf;
	const struct conf_pos *at;

	at = seen_field(b, &c->worker_user);
	if (at == NULL)
		at = seen_field(b, &c->user);
	if (at != NULL && strcmp(c->user, c->worker_user) == 0)
		conf_error(b->errs, at, "worker-user \"%s\" must differ from "
		    "user: workers may not read the data directory",
		    c->worker_user);
	/* The admin socket may come from a run-dir too long for it. */
	if (seen_field(b, &c->admin_socket) == NULL &&
	    (at = seen_field(b, &c->run_dir)) != NULL &&
	    strlen(c->admin_socket) > CONF_SUN_PATH_MAX)
		conf_error(b->errs, at, "run-dir is too long for the admin "
		    "socket %s/admin.sock (at most %zu bytes)", c->run_dir,
		    CONF_SUN_PATH_MAX);
}

/*
 * relay { user } needs its password-file and the other way round, and
 * credentials go only over TLS (RFC 4954 4 leaves it to us; PLAIN in
 * clear gives them away).
 */
static void
check_relay(struct conf_build *b)
{
	const struct conf_relay *r = &b->conf->relay;
	const struct conf_pos *user = seen_field(b, &r->user);
	const struct conf_pos *pw = seen_field(b, &r->password_file);

	if (user != NULL && pw == NULL)
		conf_error(b->errs, user, "relay \"user\" without "
		    "\"password-file\"");
	if (pw != NULL && user == NULL)
		conf_error(b->errs, pw, "relay \"password-file\" without "
		    "\"user\"");
	if (user != NULL && r->tls == CONF_RELAY_TLS_NONE)
		conf_error(b->errs, user, "relay \"user\" needs tls "
		    "starttls or require: credentials are not sent in clear");
}

/* Each dkim section names its selector and key (a bad one is reported). */
static void
check_dkim(struct conf_build *b)
{
	const struct conf *c = b->conf;
	const struct conf_dkim *k;
	size_t i;

	for (i = 0; i < c->ndkim; i++) {
		k = c->dkim[i];
		if (seen_field(b, &k->selector) == NULL)
			conf_error(b->errs, &b->dpos[i], "dkim \"%s\" without "
			    "\"selector\"", k->domain);
		if (seen_field(b, &k->key) == NULL)
			conf_error(b->errs, &b->dpos[i], "dkim \"%s\" without "
			    "\"key\"", k->domain);
	}
}

static int
conf_load_src(const char *name, const char *buf, size_t len,
    struct conf **conf_r, struct conf_errors *errs)
{
	struct conf_build b;
	struct conf_parse *p;
	size_t nerrs = errs->n;

	*conf_r = NULL;
	memset(&b, 0, sizeof(b));
	b.errs = errs;
	b.conf = conf_new(name);
	p = conf_parse_new(errs, &b, conf_main_cmds, b.conf);
	conf_parse_file(p, name, buf, len);
	defaults_strings(b.conf);
	check_tls(&b);
	check_listeners(&b);
	check_workers(&b);
	check_paths(&b);
	check_dkim(&b);
	check_relay(&b);
	conf_parse_free(&p);
	free(b.lpos);
	free(b.dpos);
	free(b.seen);
	if (errs->n > nerrs) {
		conf_free(&b.conf);
		return -1;
	}
	*conf_r = b.conf;
	return 0;
}

int
conf_load(const char *path, struct conf **conf_r, struct conf_errors *errs)
{
	return conf_load_src(path, NULL, 0, conf_r, errs);
}

int
conf_load_mem(const char *name, const char *buf, size_t len,
    struct conf **conf_r, struct conf_errors *errs)
{
	return conf_load_src(name, buf == NULL ? "" : buf, len, conf_r, errs);
}

void
conf_free(struct conf **confp)
{
	struct conf *c = *confp;
	size_t i;

	if (c == NULL)
		return;
	free(c->path);
	free(c->hostname);
	free(c->data_dir);
	free(c->run_dir);
	free(c->pidfile);
	free(c->chroot);
	free(c->user);
	free(c->worker_user);
	free(c->admin_socket);
	free(c->admin_group);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->relay.host);
	free(c->relay.helo);
	free(c->relay.user);
	free(c->relay.password_file);
	free(c->relay.ca);
	free(c->push.ca);
	free(c->push.nameserver);
	for (i = 0; i < CONF_PROTO_MAX; i++)
		free(c->proto[i].cors_origins);
	for (i = 0; i < c->ndkim; i++) {
		free(c->dkim[i]->domain);
		free(c->dkim[i]->selector);
		free(c->dkim[i]->key);
		free(c->dkim[i]);
	}
	free(c->dkim);
	free(c->listeners);
	free(c);
	*confp = NULL;
}

/* The dump: the tables in order, sections after a blank line. */
static void
dump_table(FILE *out, const struct conf_cmd *t, const void *base, int sect,
    const char *indent, const char *prefix)
{
	char name[64];

	for (; t->name != NULL; t++) {
		if (t->only != 0 && sect >= 0 && (t->only & (1u << sect)) == 0)
			continue;
		snprintf(name, sizeof(name), "%s%s", prefix, t->name);
		if ((t->flags & (CONF_CMD_BLOCK | CONF_CMD_MULTI)) ==
		    (CONF_CMD_BLOCK | CONF_CMD_MULTI))
			t->type->print(out, indent, name, t, base);
		else if ((t->flags & CONF_CMD_BLOCK) != 0) {
			fprintf(out, "\n%s {\n", name);
			dump_table(out, t->sub, (const char *)base + t->off,
			    t->id, "\t", "");
			fputs("}\n", out);
		} else if (t->sub != NULL) {
			strlcat(name, " ", sizeof(name));
			dump_table(out, t->sub, base, sect, indent, name);
		} else if (t->type->print != NULL)
			t->type->print(out, indent, name, t, base);
	}
}

void
conf_dump(const struct conf *conf, FILE *out)
{
	dump_table(out, conf_main_cmds, conf, -1, "", "");
}

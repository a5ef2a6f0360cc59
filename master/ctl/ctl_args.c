/* SPDX-License-Identifier: ISC */
/*
 * ctl_args.c: checks bulwarkctl's command lines against the command table
 * before anything is sent: argument counts, options, size, count and UID
 * syntax, and the cheap part of name syntax (no empty names, no spaces or
 * control bytes, lengths, one '@' in addresses; mailbox names and file
 * names may hold spaces).  storaged validates names
 * authoritatively; these checks only turn obvious mistakes into usage
 * errors (exit 2).
 */
#include "ctl.h"
#include "compat.h"

#include <stdio.h>
#include <string.h>

#define CTL_SIZE_SYNTAX	"not a size (e.g. 512, 100K, 10M, 2G, unlimited)"
#define CTL_COUNT_SYNTAX "not a number (or unlimited)"
#define CTL_UID_SYNTAX	"not a UID (1 to 4294967295)"

/* K, M, G, T: powers of 1024, as quotas are usually thought of. */
static const struct {
	char		 c;
	unsigned	 shift;
} ctl_size_suffixes[] = {
	{ 'K', 10 }, { 'M', 20 }, { 'G', 30 }, { 'T', 40 },
};

/*
 * Parses the decimal digits s starts with (at least one); *end_r is the
 * first byte after them.
 */
static int
ctl_digits_parse(const char *s, const char **end_r, uint64_t *v_r,
    const char **error_r)
{
	uint64_t v = 0, d;

	for (; *s >= '0' && *s <= '9'; s++) {
		d = (uint64_t)(*s - '0');
		if (v > (UINT64_MAX - d) / 10) {
			*error_r = "number too large";
			return -1;
		}
		v = v * 10 + d;
	}
	*end_r = s;
	*v_r = v;
	return 0;
}

int
ctl_size_parse(const char *s, uint64_t *v_r, const char **error_r)
{
	const char *end;
	uint64_t v;
	size_t i;

	if (strcmp(s, "unlimited") == 0) {
		*v_r = 0;
		return 0;
	}
	if (*s < '0' || *s > '9') {
		*error_r = CTL_SIZE_SYNTAX;
		return -1;
	}
	if (ctl_digits_parse(s, &end, &v, error_r) == -1)
		return -1;
	if (*end == '\0') {
		*v_r = v;
		return 0;
	}
	for (i = 0; i < sizeof(ctl_size_suffixes) /
	    sizeof(ctl_size_suffixes[0]); i++) {
		if ((*end & ~0x20) != ctl_size_suffixes[i].c)
			continue;
		if (end[1] != '\0')
			break;
		if (v > (UINT64_MAX >> ctl_size_suffixes[i].shift)) {
			*error_r = "size too large";
			return -1;
		}
		*v_r = v << ctl_size_suffixes[i].shift;
		return 0;
	}
	*error_r = CTL_SIZE_SYNTAX;
	return -1;
}

int
ctl_count_parse(const char *s, uint64_t *v_r, const char **error_r)
{
	const char *end;
	uint64_t v;

	if (strcmp(s, "unlimited") == 0) {
		*v_r = 0;
		return 0;
	}
	if (*s < '0' || *s > '9') {
		*error_r = CTL_COUNT_SYNTAX;
		return -1;
	}
	if (ctl_digits_parse(s, &end, &v, error_r) == -1)
		return -1;
	if (*end != '\0') {
		*error_r = CTL_COUNT_SYNTAX;
		return -1;
	}
	*v_r = v;
	return 0;
}

/* RFC 9051 9: uid = nz-number, a non-zero 32-bit number. */
int
ctl_uid_parse(const char *s, uint64_t *v_r, const char **error_r)
{
	const char *end;
	uint64_t v;

	if (*s < '0' || *s > '9' ||
	    ctl_digits_parse(s, &end, &v, error_r) == -1 || *end != '\0' ||
	    v == 0 || v > UINT32_MAX) {
		*error_r = CTL_UID_SYNTAX;
		return -1;
	}
	*v_r = v;
	return 0;
}

/* Common to every name: not empty, not too long, printable, no spaces. */
static int
ctl_name_check(const char *s, size_t max, const char **error_r)
{
	size_t len = strlen(s), i;

	if (len == 0) {
		*error_r = "empty name";
		return -1;
	}
	if (len > max) {
		*error_r = "name too long";
		return -1;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f) {
			*error_r = "space or control character in name";
			return -1;
		}
	}
	return 0;
}

static int
ctl_domain_check(const char *s, const char **error_r)
{
	if (ctl_name_check(s, CTL_DOMAIN_MAX, error_r) == -1)
		return -1;
	if (strchr(s, '@') != NULL) {
		*error_r = "a domain has no '@'";
		return -1;
	}
	if (s[0] == '.' || strstr(s, "..") != NULL) {
		*error_r = "empty label in domain";
		return -1;
	}
	return 0;
}

/*
 * Mailbox names may hold spaces ("Sent Items") and any UTF-8; the store
 * decides the rest (hierarchy, characters it refuses).  Control characters
 * are refused here since nobody means them.
 */
static int
ctl_mailbox_check(const char *s, const char **error_r)
{
	size_t len = strlen(s), i;

	if (len == 0) {
		*error_r = "empty mailbox name";
		return -1;
	}
	if (len > CTL_MAILBOX_MAX) {
		*error_r = "mailbox name too long";
		return -1;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			*error_r = "control character in mailbox name";
			return -1;
		}
	}
	return 0;
}

/* A path: any bytes but control characters, which nobody means. */
static int
ctl_file_check(const char *s, const char **error_r)
{
	size_t len = strlen(s), i;

	if (len == 0) {
		*error_r = "empty file name";
		return -1;
	}
	if (len >= CTL_PATH_MAX) {
		*error_r = "file name too long";
		return -1;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			*error_r = "control character in file name";
			return -1;
		}
	}
	return 0;
}

/*
 * An address is local@domain.  The store takes dot-atom local parts only
 * (no quoted strings), so a second '@' is always a mistake.
 */
static int
ctl_address_check(const char *s, const char **error_r)
{
	const char *at;

	if (ctl_name_check(s, CTL_NAME_MAX, error_r) == -1)
		return -1;
	if ((at = strchr(s, '@')) == NULL) {
		*error_r = "not an address (local@domain)";
		return -1;
	}
	if (strchr(at + 1, '@') != NULL) {
		*error_r = "more than one '@' in address";
		return -1;
	}
	if (at == s) {
		*error_r = "empty local part";
		return -1;
	}
	if ((size_t)(at - s) > CTL_LOCAL_MAX) {
		*error_r = "local part too long";
		return -1;
	}
	if (at[1] == '\0') {
		*error_r = "empty domain";
		return -1;
	}
	return ctl_domain_check(at + 1, error_r);
}

int
ctl_arg_check(enum ctl_arg_kind kind, const char *s, uint64_t *v_r,
    const char **error_r)
{
	uint64_t v = 0;
	int r;

	switch (kind) {
	case CTL_ARG_DOMAIN:
		return ctl_domain_check(s, error_r);
	case CTL_ARG_ADDRESS:
		return ctl_address_check(s, error_r);
	case CTL_ARG_ALIAS:
		/* "@example.org": every address of the domain not otherwise known. */
		if (s[0] == '@' && strchr(s + 1, '@') == NULL)
			return ctl_domain_check(s + 1, error_r);
		return ctl_address_check(s, error_r);
	case CTL_ARG_SIZE:
	case CTL_ARG_COUNT:
	case CTL_ARG_UID:
		if (kind == CTL_ARG_SIZE)
			r = ctl_size_parse(s, &v, error_r);
		else if (kind == CTL_ARG_COUNT)
			r = ctl_count_parse(s, &v, error_r);
		else
			r = ctl_uid_parse(s, &v, error_r);
		if (r == 0 && v_r != NULL)
			*v_r = v;
		return r;
	case CTL_ARG_WORD:
		return ctl_name_check(s, CTL_NAME_MAX, error_r);
	case CTL_ARG_MAILBOX:
		return ctl_mailbox_check(s, error_r);
	case CTL_ARG_SELECTOR:
		/* RFC 6376 3.1: labels, as a domain; lib/dkim.c checks more. */
		return ctl_domain_check(s, error_r);
	case CTL_ARG_FILE:
		return ctl_file_check(s, error_r);
	case CTL_ARG_KEYTYPE:
		if (strcmp(s, "rsa") == 0 || strcmp(s, "ed25519") == 0)
			return 0;
		*error_r = "not a key type (rsa or ed25519)";
		return -1;
	case CTL_ARG_NONE:
	default:
		*error_r = "unexpected argument";
		return -1;
	}
}

static int
ctl_opt_index(const struct ctl_cmd *cmd, char flag)
{
	int i;

	for (i = 0; i < CTL_MAX_OPTS && cmd->opts[i].flag != 0; i++)
		if (cmd->opts[i].flag == flag)
			return i;
	return -1;
}

/* Takes the option at argv[*ip]; its value may be attached or next. */
static int
ctl_opt_parse(const struct ctl_cmd *cmd, int argc, char **argv, int *ip,
    struct ctl_args *a, char *err, size_t errsize)
{
	const char *s = argv[*ip], *val, *e;
	int o;

	if ((o = ctl_opt_index(cmd, s[1])) == -1) {
		snprintf(err, errsize, "unknown option -%c", s[1]);
		return -1;
	}
	if (s[2] != '\0')
		val = s + 2;
	else if (*ip + 1 < argc)
		val = argv[++*ip];
	else {
		snprintf(err, errsize, "option -%c needs %s", s[1],
		    cmd->opts[o].name);
		return -1;
	}
	if (ctl_arg_check(cmd->opts[o].kind, val, &a->optnum[o], &e) == -1) {
		snprintf(err, errsize, "-%c %s: %s", s[1], val, e);
		return -1;
	}
	a->opt[o] = val;
	return 0;
}

int
ctl_args_parse(const struct ctl_cmd *cmd, int argc, char **argv,
    struct ctl_args *a, char *err, size_t errsize)
{
	const char *e;
	bool optend = false;
	int i;

	memset(a, 0, sizeof(*a));
	a->cmd = cmd;
	for (i = 0; i < argc; i++) {
		if (!optend && strcmp(argv[i], "--") == 0) {
			optend = true;
			continue;
		}
		if (!optend && argv[i][0] == '-' && argv[i][1] != '\0') {
			if (ctl_opt_parse(cmd, argc, argv, &i, a, err,
			    errsize) == -1)
				return -1;
			continue;
		}
		if (a->n == cmd->max) {
			strlcpy(err, "too many arguments", errsize);
			return -1;
		}
		a->arg[a->n++] = argv[i];
	}
	if (a->n < cmd->min) {
		snprintf(err, errsize, "missing %s", cmd->args[a->n].name);
		return -1;
	}
	for (i = 0; i < a->n; i++) {
		if (ctl_arg_check(cmd->args[i].kind, a->arg[i], &a->num[i],
		    &e) == -1) {
			snprintf(err, errsize, "%s: %s", a->arg[i], e);
			return -1;
		}
	}
	return 0;
}

void
ctl_cmd_format_usage(const struct ctl_cmd *cmd, char *buf, size_t size)
{
	char part[64];
	int i;

	strlcpy(buf, cmd->name, size);
	if (cmd->sub != NULL) {
		strlcat(buf, " ", size);
		strlcat(buf, cmd->sub, size);
	}
	for (i = 0; i < cmd->max; i++) {
		snprintf(part, sizeof(part), i < cmd->min ? " %s" : " [%s]",
		    cmd->args[i].name);
		strlcat(buf, part, size);
	}
	for (i = 0; i < CTL_MAX_OPTS && cmd->opts[i].flag != 0; i++) {
		snprintf(part, sizeof(part), " [-%c %s]", cmd->opts[i].flag,
		    cmd->opts[i].name);
		strlcat(buf, part, size);
	}
}

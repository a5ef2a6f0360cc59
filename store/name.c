/* SPDX-License-Identifier: ISC */
/*
 * name.c: domain names as LDH labels (RFC 1035 2.3.1, RFC 1123 2.1: a label
 * may start with a digit) and addresses with a dot-atom local part (RFC 5322
 * 3.2.3).  Internationalized names (RFC 6531) are not accepted yet; their
 * A-labels (xn--) are, being LDH.
 */
#include "name.h"
#include "compat.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* RFC 5322 3.2.3: atext, besides letters and digits. */
static const char name_atext_specials[] = "!#$%&'*+-/=?^_`{|}~";

static int
name_is_ldh(int c)
{
	return isascii(c) && (isalnum(c) || c == '-');
}

static int
name_is_atext(int c)
{
	return isascii(c) && (isalnum(c) ||
	    (c != '\0' && strchr(name_atext_specials, c) != NULL));
}

/* Checks one label [p, p + len) of a domain name. */
static enum ipc_status
name_label(const char *p, size_t len, struct store_error *err)
{
	size_t i;

	if (len == 0)
		return db_error(err, IPC_S_INVALID,
		    "domain name has an empty label");
	if (len > NAME_LABEL_MAX)
		return db_error(err, IPC_S_INVALID,
		    "domain label longer than %d characters", NAME_LABEL_MAX);
	for (i = 0; i < len; i++)
		if (!name_is_ldh((unsigned char)p[i]))
			return db_error(err, IPC_S_INVALID, "domain name may "
			    "hold only letters, digits, hyphens and dots");
	if (p[0] == '-' || p[len - 1] == '-')
		return db_error(err, IPC_S_INVALID,
		    "domain label starts or ends with a hyphen");
	return IPC_S_OK;
}

static int
name_all_digits(const char *p)
{
	for (; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p))
			return 0;
	return 1;
}

enum ipc_status
name_domain(const char *in, char out[NAME_DOMAIN_MAX + 1],
    struct store_error *err)
{
	const char *label, *dot;
	enum ipc_status st;
	size_t len = strlen(in), i;

	if (len == 0)
		return db_error(err, IPC_S_INVALID, "domain name is empty");
	if (len > NAME_DOMAIN_MAX)
		return db_error(err, IPC_S_INVALID,
		    "domain name longer than %d characters", NAME_DOMAIN_MAX);
	if (strchr(in, '.') == NULL)
		return db_error(err, IPC_S_INVALID,
		    "domain name needs at least one dot");
	for (label = in;; label = dot + 1) {
		dot = strchr(label, '.');
		st = name_label(label, dot != NULL ? (size_t)(dot - label) :
		    strlen(label), err);
		if (st != IPC_S_OK)
			return st;
		if (dot == NULL)
			break;
	}
	/* RFC 3696 2: a top-level domain is not all-numeric. */
	if (name_all_digits(label))
		return db_error(err, IPC_S_INVALID,
		    "top-level label is all digits");
	for (i = 0; i <= len; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	return IPC_S_OK;
}

/* RFC 5322 3.2.3: dot-atom-text = 1*atext *("." 1*atext) */
static enum ipc_status
name_local(const char *p, size_t len, struct store_error *err)
{
	size_t i;

	if (len == 0)
		return db_error(err, IPC_S_INVALID,
		    "address has an empty local part");
	if (len > NAME_LOCAL_MAX)
		return db_error(err, IPC_S_INVALID,
		    "local part longer than %d characters", NAME_LOCAL_MAX);
	if (p[0] == '.' || p[len - 1] == '.')
		return db_error(err, IPC_S_INVALID,
		    "local part starts or ends with a dot");
	for (i = 0; i < len; i++) {
		if (p[i] == '.' && p[i + 1] == '.')
			return db_error(err, IPC_S_INVALID,
			    "local part has two dots in a row");
		if (p[i] != '.' && !name_is_atext((unsigned char)p[i]))
			return db_error(err, IPC_S_INVALID,
			    "local part has a character outside RFC 5322 "
			    "atext");
	}
	return IPC_S_OK;
}

enum ipc_status
name_address(const char *in, struct name_addr *a, struct store_error *err)
{
	const char *at = strrchr(in, '@');
	enum ipc_status st;
	size_t llen, i;

	if (at == NULL)
		return db_error(err, IPC_S_INVALID,
		    "address must be local@domain");
	llen = (size_t)(at - in);
	if ((st = name_local(in, llen, err)) != IPC_S_OK)
		return st;
	if ((st = name_domain(at + 1, a->domain, err)) != IPC_S_OK)
		return st;
	for (i = 0; i < llen; i++)
		a->local[i] = (char)tolower((unsigned char)in[i]);
	a->local[llen] = '\0';
	snprintf(a->full, sizeof(a->full), "%s@%s", a->local, a->domain);
	return IPC_S_OK;
}

enum ipc_status
name_password(const char *pw, struct store_error *err)
{
	size_t len = strlen(pw);

	if (len == 0)
		return db_error(err, IPC_S_INVALID, "password is empty");
	if (len > NAME_PASSWORD_MAX)
		return db_error(err, IPC_S_INVALID,
		    "password longer than %d bytes", NAME_PASSWORD_MAX);
	return IPC_S_OK;
}

const char *
name_log_safe(const char *s, char *out, size_t outlen)
{
	size_t i;

	if (outlen == 0)
		return "";
	for (i = 0; s[i] != '\0' && i + 1 < outlen; i++)
		out[i] = (s[i] > 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[i] = '\0';
	if (i == 0 && outlen > 2)
		strlcpy(out, "\"\"", outlen);
	return out;
}

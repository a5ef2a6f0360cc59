/* SPDX-License-Identifier: ISC */
/*
 * imap_cmd.c: the command table, which is RFC 9051's command list (section
 * 6 and the rules command-any, command-nonauth, command-auth and
 * command-select of section 9, with LSUB and CHECK of RFC 3501), the
 * capability list of RFC 9051 7.2.2, and the dispatcher that parses a
 * command's tag and name, checks the state, and runs its handler.
 */
#include "imap_cmd.h"
#include "imap_append.h"
#include "imap_resp.h"
#include "imapd.h"
#include "compat.h"
#include "log.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AUTHED	(IMAP_STATE_AUTH | IMAP_STATE_SELECTED)
#define ANY	(IMAP_STATE_NOAUTH | AUTHED)
#define STORE	IMAP_CMD_F_STORE

/*
 * The commands in the order of RFC 9051 6.  An entry without a handler is
 * answered as unknown until it is written.
 */
static const struct imap_cmd imap_cmds[] = {
	/* 6.1 Client Commands - Any State */
	{ "CAPABILITY",	ANY, 0, 0, imap_cmd_capability },
	{ "NOOP",	ANY, 0, 0, imap_cmd_noop },
	{ "LOGOUT",	ANY, 0, 0, imap_cmd_logout },
	{ "ID",		ANY, 0, IMAP_CMD_MBOX_LITERAL, imap_cmd_id }, /* 2971 */
	/* 6.2 Client Commands - Not Authenticated State */
	{ "STARTTLS",	IMAP_STATE_NOAUTH, 0, 0, imap_cmd_starttls },
	{ "AUTHENTICATE", IMAP_STATE_NOAUTH, STORE, IMAP_CMD_AUTH_LITERAL,
	    imap_cmd_authenticate },
	{ "LOGIN",	IMAP_STATE_NOAUTH, STORE, IMAP_CMD_AUTH_LITERAL,
	    imap_cmd_login },
	/* 6.3 Client Commands - Authenticated State */
	{ "ENABLE",	AUTHED, 0, 0, imap_cmd_enable },
	{ "SELECT",	AUTHED, STORE, IMAP_CMD_MBOX_LITERAL, imap_cmd_select },
	{ "EXAMINE",	AUTHED, STORE, IMAP_CMD_MBOX_LITERAL,
	    imap_cmd_examine },
	{ "CREATE",	AUTHED, STORE, IMAP_CMD_MBOX_LITERAL, imap_cmd_create },
	{ "DELETE",	AUTHED, STORE, IMAP_CMD_MBOX_LITERAL, imap_cmd_delete },
	{ "RENAME",	AUTHED, STORE, IMAP_CMD_MBOX_LITERAL, imap_cmd_rename },
	{ "SUBSCRIBE",	AUTHED, STORE, IMAP_CMD_MBOX_LITERAL,
	    imap_cmd_subscribe },
	{ "UNSUBSCRIBE", AUTHED, STORE, IMAP_CMD_MBOX_LITERAL,
	    imap_cmd_unsubscribe },
	{ "LIST",	AUTHED, STORE, IMAP_CMD_MBOX_LITERAL, imap_cmd_list },
	{ "LSUB",	AUTHED, STORE, IMAP_CMD_MBOX_LITERAL, /* RFC 3501 */
	    imap_cmd_lsub },
	{ "NAMESPACE",	AUTHED, 0, 0, imap_cmd_namespace },	/* RFC 2342 */
	{ "STATUS",	AUTHED, STORE, IMAP_CMD_MBOX_LITERAL, imap_cmd_status },
	{ "APPEND",	AUTHED, STORE, IMAP_CMD_MBOX_LITERAL,
	    imap_cmd_append },
	{ "IDLE",	AUTHED, STORE, 0, imap_cmd_idle },
	/* RFC 9208 4.1 (QUOTA) */
	{ "GETQUOTA",	AUTHED, STORE, IMAP_CMD_MBOX_LITERAL,
	    imap_cmd_getquota },
	{ "GETQUOTAROOT", AUTHED, STORE, IMAP_CMD_MBOX_LITERAL,
	    imap_cmd_getquotaroot },
	{ "SETQUOTA",	AUTHED, 0, IMAP_CMD_MBOX_LITERAL, imap_cmd_setquota },
	/* RFC 5464 4.2, 4.3 (METADATA) */
	{ "GETMETADATA", AUTHED, STORE, IMAP_CMD_MBOX_LITERAL,
	    imap_cmd_getmetadata },
	{ "SETMETADATA", AUTHED, STORE, IMAP_CMD_META_LITERAL,
	    imap_cmd_setmetadata },
	/* RFC 5465 */
	{ "NOTIFY",	AUTHED, STORE, IMAP_CMD_MBOX_LITERAL, imap_cmd_notify },
	{ "COMPRESS",	AUTHED, 0, 0, imap_cmd_compress },	/* RFC 4978 */
	{ "UNAUTHENTICATE", AUTHED, 0, 0,			/* RFC 8437 */
	    imap_cmd_unauthenticate },
	/* 6.4 Client Commands - Selected State */
	{ "CHECK",	IMAP_STATE_SELECTED, STORE, 0,	/* RFC 3501 6.4.1 */
	    imap_cmd_check },
	{ "CLOSE",	IMAP_STATE_SELECTED, STORE, 0, imap_cmd_close },
	{ "UNSELECT",	IMAP_STATE_SELECTED, STORE, 0, imap_cmd_unselect },
	{ "EXPUNGE",	IMAP_STATE_SELECTED, STORE, 0, imap_cmd_expunge },
	{ "SEARCH",	IMAP_STATE_SELECTED, STORE, IMAP_CMD_SEARCH_LITERAL,
	    imap_cmd_search },
	{ "FETCH",	IMAP_STATE_SELECTED, STORE, 0, imap_cmd_fetch },
	{ "STORE",	IMAP_STATE_SELECTED, STORE, 0, imap_cmd_store },
	{ "COPY",	IMAP_STATE_SELECTED, STORE, IMAP_CMD_MBOX_LITERAL,
	    imap_cmd_copy },
	{ "MOVE",	IMAP_STATE_SELECTED, STORE, IMAP_CMD_MBOX_LITERAL,
	    imap_cmd_move },	/* RFC 6851 */
	{ "UID",	IMAP_STATE_SELECTED, STORE, IMAP_CMD_SEARCH_LITERAL,
	    imap_cmd_uid },
	/* RFC 5256 */
	{ "SORT",	IMAP_STATE_SELECTED, STORE, IMAP_CMD_SEARCH_LITERAL,
	    imap_cmd_sort },
	{ "THREAD",	IMAP_STATE_SELECTED, STORE, IMAP_CMD_SEARCH_LITERAL,
	    imap_cmd_thread },
};

/* APPENDLIMIT=IMAP_APPEND_LIMIT, spelled out. */
#define IMAP_CAP_APPENDLIMIT	"APPENDLIMIT=67108864"

/* Conditions under which a capability is advertised. */
#define CAP_NOAUTH	0x01	/* not authenticated yet */
#define CAP_CLEAR	0x02	/* no TLS on the connection */
#define CAP_TLS_CONF	0x04	/* a certificate is configured */
#define CAP_LOGIN_OK	0x08	/* passwords may be sent */
#define CAP_LOGIN_OFF	0x10	/* passwords may not be sent */

/* RFC 9051 7.2.2: each capability with everything it requires. */
static const struct {
	const char	*name;
	unsigned	 requires;
} imap_capabilities[] = {
	{ "IMAP4rev1",		0 },
	{ "IMAP4rev2",		0 },
	{ "LITERAL+",		0 },				/* RFC 7888 */
	{ "ENABLE",		0 },				/* RFC 5161 */
	{ "ID",			0 },				/* RFC 2971 */
	{ "NAMESPACE",		0 },				/* RFC 2342 */
	{ "CHILDREN",		0 },				/* RFC 3348 */
	{ "LIST-EXTENDED",	0 },				/* RFC 5258 */
	{ "LIST-STATUS",	0 },				/* RFC 5819 */
	{ "SPECIAL-USE",	0 },				/* RFC 6154 */
	{ "CREATE-SPECIAL-USE",	0 },				/* RFC 6154 */
	{ "UTF8=ACCEPT",	0 },				/* RFC 6855 */
	{ "IDLE",		0 },				/* RFC 2177 */
	{ "UIDPLUS",		0 },				/* RFC 4315 */
	{ "MOVE",		0 },				/* RFC 6851 */
	{ "UNSELECT",		0 },				/* RFC 3691 */
	{ "MULTIAPPEND",	0 },				/* RFC 3502 */
	{ IMAP_CAP_APPENDLIMIT,	0 },				/* RFC 7889 */
	{ "BINARY",		0 },				/* RFC 3516 */
	{ "ESEARCH",		0 },				/* RFC 4731 */
	{ "SEARCHRES",		0 },				/* RFC 5182 */
	{ "WITHIN",		0 },				/* RFC 5032 */
	{ "CONDSTORE",		0 },				/* RFC 7162 */
	{ "QRESYNC",		0 },				/* RFC 7162 */
	{ "OBJECTID",		0 },				/* RFC 8474 */
	{ "PREVIEW",		0 },				/* RFC 8970 */
	{ "STATUS=SIZE",	0 },				/* RFC 8438 */
	{ "QUOTA",		0 },				/* RFC 9208 */
	{ "QUOTA=RES-STORAGE",	0 },				/* RFC 9208 */
	{ "QUOTA=RES-MESSAGE",	0 },				/* RFC 9208 */
	{ "METADATA",		0 },				/* RFC 5464 */
	{ "METADATA-SERVER",	0 },				/* RFC 5464 */
	{ "NOTIFY",		0 },				/* RFC 5465 */
	{ "SORT",		0 },				/* RFC 5256 */
	{ "SORT=DISPLAY",	0 },				/* RFC 5957 */
	{ "ESORT",		0 },				/* RFC 5267 */
	{ "THREAD=ORDEREDSUBJECT", 0 },				/* RFC 5256 */
	{ "THREAD=REFERENCES",	0 },				/* RFC 5256 */
	{ "PARTIAL",		0 },				/* RFC 9394 */
	{ "I18NLEVEL=1",	0 },				/* RFC 5255 */
	{ "COMPRESS=DEFLATE",	0 },				/* RFC 4978 */
	{ "UNAUTHENTICATE",	0 },				/* RFC 8437 */
	{ "SASL-IR",		CAP_NOAUTH },			/* RFC 4959 */
	{ "STARTTLS",		CAP_NOAUTH | CAP_CLEAR | CAP_TLS_CONF },
	{ "AUTH=PLAIN",		CAP_NOAUTH | CAP_LOGIN_OK },	/* RFC 4616 */
	{ "LOGINDISABLED",	CAP_NOAUTH | CAP_LOGIN_OFF },
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

_Static_assert(IMAP_APPEND_LIMIT == 67108864, "APPENDLIMIT capability");

static unsigned
imap_capability_conditions(const struct imap_session *s)
{
	unsigned have = 0;

	if (s->state == IMAP_STATE_NOAUTH)
		have |= CAP_NOAUTH;
	if (!conn_is_tls(s->conn))
		have |= CAP_CLEAR;
	if (imapd_tls_ctx() != NULL)
		have |= CAP_TLS_CONF;
	have |= imap_session_login_allowed(s) ? CAP_LOGIN_OK : CAP_LOGIN_OFF;
	return have;
}

void
imap_capability_format(const struct imap_session *s, char *buf, size_t size)
{
	unsigned have = imap_capability_conditions(s);
	size_t i;

	strlcpy(buf, "CAPABILITY", size);
	for (i = 0; i < NELEM(imap_capabilities); i++) {
		if ((imap_capabilities[i].requires & ~have) != 0)
			continue;
		strlcat(buf, " ", size);
		strlcat(buf, imap_capabilities[i].name, size);
	}
}

/*
 * Finds the command called name that is valid in s's state.  Returns NULL
 * with the text of a BAD response in *bad_r otherwise.
 */
static const struct imap_cmd *
imap_cmd_lookup(const struct imap_session *s, const struct imap_str *name,
    const char **bad_r)
{
	const struct imap_cmd *cmd;
	size_t i;

	for (i = 0; i < NELEM(imap_cmds); i++) {
		cmd = &imap_cmds[i];
		if (strlen(cmd->name) != name->len ||
		    strncasecmp(cmd->name, name->p, name->len) != 0)
			continue;
		if (cmd->fn == NULL)
			break;
		if ((cmd->states & s->state) == 0) {
			*bad_r = "Command not valid in this state";
			return NULL;
		}
		return cmd;
	}
	*bad_r = "Unknown command";
	return NULL;
}

enum imap_cmd_result
imap_cmd_bad(struct imap_session *s, const struct imap_parser *ps)
{
	imap_session_reply(s, "BAD", NULL,
	    ps->error != NULL ? ps->error : "Syntax error");
	return IMAP_CMD_DONE;
}

/* Parses "tag SP name"; answers and returns NULL if it cannot. */
static char *
imap_cmd_head(struct imap_session *s, struct imap_parser *ps,
    struct imap_str *name)
{
	struct imap_str tag;
	char *t;

	if (imap_parse_tag(ps, &tag) == -1) {
		imap_resp_status(s->out, NULL, "BAD", NULL, ps->error);
		return NULL;
	}
	t = xmalloc(tag.len + 1);
	memcpy(t, tag.p, tag.len);
	t[tag.len] = '\0';
	if (imap_parse_at_eol(ps) || imap_parse_sp(ps) == -1 ||
	    imap_parse_atom(ps, name) == -1) {
		imap_resp_status(s->out, t, "BAD", NULL,
		    imap_parse_at_eol(ps) ? "Missing command" :
		    "Invalid command name");
		free(t);
		return NULL;
	}
	return t;
}

enum imap_cmd_result
imap_cmd_run(struct imap_session *s, uint8_t *buf, size_t len)
{
	const struct imap_cmd *cmd;
	struct imap_parser ps;
	struct imap_str name;
	const char *bad;

	imap_parser_init(&ps, buf, len);
	if ((s->tag = imap_cmd_head(s, &ps, &name)) == NULL)
		return IMAP_CMD_DONE;
	if (LOG_IS_TRACE(LOG_TRACE_IMAP))
		log_trace(LOG_TRACE_IMAP, "%016llx command tag=%s name=%.*s",
		    (unsigned long long)conn_id(s->conn), s->tag,
		    (int)(name.len > 32 ? 32 : name.len), name.p);
	if ((cmd = imap_cmd_lookup(s, &name, &bad)) == NULL) {
		imap_session_reply(s, "BAD", NULL, bad);
		return IMAP_CMD_DONE;
	}
	if ((cmd->flags & IMAP_CMD_F_STORE) && imapd_store() == NULL) {
		imap_session_reply(s, "NO", "UNAVAILABLE",
		    "Store unavailable, try again");
		return IMAP_CMD_DONE;
	}
	s->cmd = cmd;
	return cmd->fn(s, &ps);
}

int
imap_cmd_literal_check(struct imap_session *s, uint8_t *buf, size_t len,
    uint64_t size, size_t max_command)
{
	const struct imap_cmd *cmd;
	struct imap_parser ps;
	struct imap_str name;
	const char *bad;
	char *tag;

	imap_parser_init(&ps, buf, len);
	if ((tag = imap_cmd_head(s, &ps, &name)) == NULL)
		return -1;
	if ((cmd = imap_cmd_lookup(s, &name, &bad)) == NULL)
		imap_resp_status(s->out, tag, "BAD", NULL, bad);
	else if (cmd->fn == imap_cmd_append &&
	    imap_append_is_message(buf, len)) {
		if (imap_append_divert(s, size, &bad) == 0) {
			free(tag);
			return 1;
		}
		imap_resp_status(s->out, tag, "NO", "TOOBIG", bad);
	} else if (cmd->max_literal == 0)
		imap_resp_status(s->out, tag, "BAD", NULL,
		    "Command takes no literal");
	else if (size > cmd->max_literal || len > max_command ||
	    size > max_command - len)
		imap_resp_status(s->out, tag, "NO", "TOOBIG",
		    "Literal too large");
	else {
		free(tag);
		return 0;
	}
	free(tag);
	return -1;
}

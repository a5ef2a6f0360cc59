/* SPDX-License-Identifier: ISC */
/*
 * imap_cmd_any.c: the commands valid in any state, RFC 9051 6.1:
 * CAPABILITY (6.1.1), NOOP (6.1.2) and LOGOUT (6.1.3).
 */
#include "imap_cmd.h"
#include "imap_resp.h"

/* capability = "CAPABILITY" */
enum imap_cmd_result
imap_cmd_capability(struct imap_session *s, struct imap_parser *ps)
{
	char caps[1024];

	if (imap_parse_eol(ps) == -1)
		return imap_cmd_bad(s, ps);
	imap_capability_format(s, caps, sizeof(caps));
	imap_resp_untagged(s->out);
	imap_resp_token(s->out, caps);
	imap_resp_crlf(s->out);
	imap_session_reply(s, "OK", NULL, "CAPABILITY completed");
	return IMAP_CMD_DONE;
}

/*
 * noop = "NOOP".  Later, with a mailbox selected, this is where pending
 * updates are sent (6.1.2).
 */
enum imap_cmd_result
imap_cmd_noop(struct imap_session *s, struct imap_parser *ps)
{
	if (imap_parse_eol(ps) == -1)
		return imap_cmd_bad(s, ps);
	if (imap_selected_noop(s))
		return IMAP_CMD_WAIT;
	imap_session_reply(s, "OK", NULL, "NOOP completed");
	return IMAP_CMD_DONE;
}

/* logout = "LOGOUT": an untagged BYE, then the tagged OK (6.1.3). */
enum imap_cmd_result
imap_cmd_logout(struct imap_session *s, struct imap_parser *ps)
{
	if (imap_parse_eol(ps) == -1)
		return imap_cmd_bad(s, ps);
	imap_resp_status(s->out, NULL, "BYE", NULL, "Logging out");
	imap_session_reply(s, "OK", NULL, "LOGOUT completed");
	s->state = IMAP_STATE_LOGOUT;
	imap_session_log(s, "logout");
	imap_session_close(s, "logout");
	return IMAP_CMD_DONE;
}

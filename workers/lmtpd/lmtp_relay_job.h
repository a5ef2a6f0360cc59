/* SPDX-License-Identifier: ISC */
/*
 * lmtp_relay_job.h: inside lmtpd's relay (lmtp_relay.c): one submission
 * taken from storaged (RELAY_TAKE) and being sent, and what is done to
 * its message and envelope before they go out (lmtp_relay_job.c).
 */
#ifndef BULWARK_LMTP_RELAY_JOB_H
#define BULWARK_LMTP_RELAY_JOB_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "ipc_msg.h"

#define RELAY_REPLY_KEEP	512	/* bytes of a reply kept for JMAP */
#define RELAY_HEADER_MAX	(256 * 1024)	/* Bcc searched within */

/* The recipients' outcomes, as RELAY_DONE and SUBMIT_LIST carry them. */
#define RELAY_QUEUED		0
#define RELAY_DELIVERED		1
#define RELAY_FAILED		2

struct relay_rcpt {
	char		*addr;
	int		 code;		/* RCPT's reply code, 0 before it */
	char		*reply;		/* the reply that decided, or NULL */
	uint64_t	 delivered;
};

struct relay_job {
	uint64_t	 account_id, id, size;
	char		*mail_from, *params;
	struct relay_rcpt *rcpts;
	size_t		 nrcpts, next;	/* next RCPT to send */
	int		 fd;		/* the message, a memfd */
	uint64_t	 off;		/* bytes of it sent */
	bool		 bol, ends_crlf;
	uint8_t		 last;		/* the byte before off */
	bool		 settled;	/* the outcome is known */
	struct buf	 auth;		/* RFC 4616's message; wiped when sent */
	unsigned	 attempt;
	time_t		 started;
};

/*
 * Copies the taken submission r into a new job that takes fd (the memfd
 * holding the message), and the credential in r->auth, which is wiped
 * where it was received.  Never NULL.  Free with lmtp_relay_job_free().
 */
struct relay_job *lmtp_relay_job_new(const struct ipc_RELAY_TAKE_rep *r,
	    int fd);
/* Frees *jp (NULL is fine), wiping its credential, and NULLs it. */
void	lmtp_relay_job_free(struct relay_job **jp);
/*
 * The message in fd (*size bytes) without its Bcc fields (RFC 8621 7.5):
 * a new memfd (fd is closed, *size updated) when the header has one
 * within its first RELAY_HEADER_MAX bytes, else fd itself.  -1 on
 * failure, fd left open.
 */
int	lmtp_relay_without_bcc(int fd, uint64_t *size);
/* Whether an envelope string could break the command line it goes in. */
bool	lmtp_relay_unsafe(const char *s);
/*
 * A copy of a server's reply for JMAP's smtpReply (RFC 8621 7): at most
 * RELAY_REPLY_KEEP bytes, anything but printable ASCII as '?'.  The
 * caller frees it.
 */
char	*lmtp_relay_reply_dup(const char *text);

#endif

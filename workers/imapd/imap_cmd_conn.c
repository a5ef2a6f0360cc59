/* SPDX-License-Identifier: ISC */
/*
 * imap_cmd_conn.c: the commands that change the connection under the
 * session rather than the mailboxes: COMPRESS DEFLATE (RFC 4978 3), which
 * turns on compression in lib/conn.c, and UNAUTHENTICATE (RFC 8437 3),
 * which goes back to the not authenticated state on the same connection
 * and, if compression is on, ends it (RFC 8437 4.1).
 */
#include "imap_cmd.h"
#include "imap_resp.h"

#include <strings.h>

#include <openssl/ssl.h>

/* compress = "COMPRESS" SP algorithm; algorithm = "DEFLATE" (RFC 4978 5) */
enum imap_cmd_result
imap_cmd_compress(struct imap_session *s, struct imap_parser *ps)
{
	struct imap_str alg;
	SSL *ssl;

	if (imap_parse_sp(ps) == -1 || imap_parse_atom(ps, &alg) == -1 ||
	    imap_parse_eol(ps) == -1)
		return imap_cmd_bad(s, ps);
	if (alg.len != 7 || strncasecmp(alg.p, "DEFLATE", 7) != 0) {
		imap_session_reply(s, "BAD", NULL,
		    "Unknown compression algorithm");
		return IMAP_CMD_DONE;
	}
	/*
	 * RFC 4978 3 answers NO [COMPRESSIONACTIVE] when another layer
	 * compresses already; a second COMPRESS gets the same answer, as
	 * clients expect from other servers, and not the BAD the RFC also
	 * allows.
	 */
	if (conn_is_compressed(s->conn)) {
		imap_session_reply(s, "NO", "COMPRESSIONACTIVE",
		    "DEFLATE is already active");
		return IMAP_CMD_DONE;
	}
	if ((ssl = conn_ssl(s->conn)) != NULL &&
	    SSL_get_current_compression(ssl) != NULL) {
		imap_session_reply(s, "NO", "COMPRESSIONACTIVE",
		    "TLS compresses already");
		return IMAP_CMD_DONE;
	}
	/* Compressed from the byte after this CRLF on (RFC 4978 3). */
	imap_session_reply(s, "OK", NULL, "DEFLATE active");
	if (conn_compress_start(s->conn) == -1) {
		/* The client now sends what this end cannot read. */
		imap_resp_status(s->out, NULL, "BYE", "UNAVAILABLE",
		    "Cannot start compression");
		imap_session_close(s, "compress-error");
		return IMAP_CMD_DONE;
	}
	return IMAP_CMD_DONE;
}

/*
 * unauthenticate = "UNAUTHENTICATE" (RFC 8437 6).  It has no NO (RFC 8437
 * 3): resetting the session here cannot fail.
 */
enum imap_cmd_result
imap_cmd_unauthenticate(struct imap_session *s, struct imap_parser *ps)
{
	bool compressed = conn_is_compressed(s->conn);

	if (imap_parse_eol(ps) == -1)
		return imap_cmd_bad(s, ps);
	imap_session_unauthenticate(s);
	imap_session_reply(s, "OK", NULL,
	    "Completed, now in not authenticated state");
	/* RFC 8437 4.1: compression ends after the CRLF of this OK. */
	if (compressed)
		conn_compress_stop(s->conn);
	return IMAP_CMD_DONE;
}

/* SPDX-License-Identifier: ISC */
/*
 * lmtp_relay_job.c: a submission in lmtpd's relay (lmtp_relay_job.h):
 * made from storaged's RELAY_TAKE reply, its message dot-stuffed for DATA
 * (RFC 5321 4.5.2) and without Bcc (RFC 8621 7.5), its envelope checked
 * before it goes into a command line.
 */
#include "lmtp_relay.h"
#include "lmtp_relay_job.h"
#include "wire.h"
#include "xmalloc.h"

#include <sys/mman.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#define RELAY_CHUNK		(64 * 1024)

void
lmtp_relay_dotstuff(struct buf *out, const uint8_t *p, size_t len, bool *bol)
{
	const uint8_t *nl;
	size_t n;

	while (len > 0) {
		if (*bol && p[0] == '.')
			buf_append(out, ".", 1);
		if ((nl = memchr(p, '\n', len)) == NULL) {
			buf_append(out, p, len);
			*bol = false;
			return;
		}
		n = (size_t)(nl - p) + 1;
		buf_append(out, p, n);
		*bol = true;
		p += n;
		len -= n;
	}
}

void
lmtp_relay_job_free(struct relay_job **jp)
{
	struct relay_job *j = *jp;
	size_t i;

	if (j == NULL)
		return;
	for (i = 0; i < j->nrcpts; i++) {
		free(j->rcpts[i].addr);
		free(j->rcpts[i].reply);
	}
	free(j->rcpts);
	buf_clear(&j->auth);	/* wipes */
	free(j->mail_from);
	free(j->params);
	if (j->fd != -1)
		close(j->fd);
	free(j);
	*jp = NULL;
}

/*
 * A recipient's copy of a reply, for JMAP's smtpReply: at most
 * RELAY_REPLY_KEEP bytes of printable ASCII (RFC 5321 4.2 textstring);
 * anything else a server sent becomes '?', so the copy is valid UTF-8.
 */
char *
lmtp_relay_reply_dup(const char *text)
{
	char *s = xstrdup(text), *p;

	if (strlen(s) > RELAY_REPLY_KEEP)
		s[RELAY_REPLY_KEEP] = '\0';
	for (p = s; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	return s;
}

/* Whether an envelope string could break the command line it goes in. */
bool
lmtp_relay_unsafe(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/*
 * RFC 8621 7.5: Bcc fields leave the message before it is sent (the
 * stored email keeps them).  Returns the length of the header at p (len
 * bytes, up to and including the empty line, or len if there is none)
 * with every Bcc field (and its folded lines) taken out into out.
 */
/* Whether the line of n bytes at p starts a Bcc field (RFC 5322 4.5.3
 * obs-bcc: white space may come before the colon). */
static bool
relay_is_bcc(const uint8_t *p, size_t n)
{
	size_t k = 3;

	if (n < 4 || strncasecmp((const char *)p, "bcc", 3) != 0)
		return false;
	while (k < n && (p[k] == ' ' || p[k] == '\t'))
		k++;
	return k < n && p[k] == ':';
}

size_t
lmtp_relay_strip_bcc(const uint8_t *p, size_t len, struct buf *out)
{
	size_t i = 0, e;
	bool skip = false;

	while (i < len) {
		for (e = i; e < len && p[e] != '\n'; e++)
			;
		if (e < len)
			e++;		/* the line with its LF */
		/* The empty line ends the header; it is kept. */
		if (p[i] == '\n' || (p[i] == '\r' && i + 1 < len &&
		    p[i + 1] == '\n')) {
			buf_append(out, p + i, e - i);
			return e;
		}
		if (p[i] != ' ' && p[i] != '\t')
			skip = relay_is_bcc(p + i, e - i);
		if (!skip)
			buf_append(out, p + i, e - i);
		i = e;
	}
	return len;
}

/*
 * The job's message without Bcc: a new memfd when the header has one
 * (within its first RELAY_HEADER_MAX bytes), else fd itself.  -1 on
 * failure.
 */
int
lmtp_relay_without_bcc(int fd, uint64_t *size)
{
	struct buf hdr = BUF_INIT;
	uint8_t *head, chunk[RELAY_CHUNK];
	size_t want, used;
	uint64_t off;
	ssize_t n;
	int nfd;

	want = *size < RELAY_HEADER_MAX ? (size_t)*size : RELAY_HEADER_MAX;
	head = xmalloc(want > 0 ? want : 1);
	if (want > 0 && pread(fd, head, want, 0) != (ssize_t)want) {
		free(head);
		return -1;
	}
	used = lmtp_relay_strip_bcc(head, want, &hdr);
	if (hdr.len == used) {
		/* Nothing taken out. */
		free(head);
		buf_clear(&hdr);
		return fd;
	}
	free(head);
	if ((nfd = memfd_create("relay", MFD_CLOEXEC)) == -1) {
		buf_clear(&hdr);
		return -1;
	}
	if (hdr.len > 0 && write(nfd, hdr.data, hdr.len) != (ssize_t)hdr.len)
		goto fail;
	for (off = used; off < *size; off += (uint64_t)n) {
		want = *size - off < sizeof(chunk) ? (size_t)(*size - off) :
		    sizeof(chunk);
		if ((n = pread(fd, chunk, want, (off_t)off)) <= 0 ||
		    write(nfd, chunk, (size_t)n) != n)
			goto fail;
	}
	*size = *size - used + hdr.len;
	buf_clear(&hdr);
	close(fd);
	return nfd;
fail:
	buf_clear(&hdr);
	close(nfd);
	return -1;
}

/* Copies the taken submission into a new job; NULL if it is unusable. */
struct relay_job *
lmtp_relay_job_new(const struct ipc_RELAY_TAKE_rep *r, int fd)
{
	struct relay_job *j = xcalloc(1, sizeof(*j));
	struct wire_iter it;
	const char *s;
	size_t i;

	j->account_id = r->account_id;
	j->id = r->id;
	j->size = r->size;
	j->fd = fd;
	j->bol = true;
	j->ends_crlf = true;	/* an empty message needs no CRLF */
	j->mail_from = xstrdup(r->mail_from);
	j->params = xstrdup(r->mail_from_params);
	j->nrcpts = r->rcpts.count;
	j->rcpts = xcalloc(j->nrcpts > 0 ? j->nrcpts : 1, sizeof(*j->rcpts));
	wire_strlist_iter(&r->rcpts, &it);
	for (i = 0; i < j->nrcpts && (s = wire_strlist_next(&it)) != NULL;
	    i++)
		j->rcpts[i].addr = xstrdup(s);
	j->nrcpts = i;
	buf_append(&j->auth, r->auth.p, r->auth.len);
	/* The reply's bytes are the channel's input: wipe them there. */
	sodium_memzero((void *)(uintptr_t)r->auth.p, r->auth.len);
	return j;
}

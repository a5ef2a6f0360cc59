/* SPDX-License-Identifier: ISC */
/*
 * bench_lmtp_client.c: the load client of bench/lmtp.  It delivers a list of
 * ready-made messages over N LMTP connections (RFC 2033) the way an MTA's
 * LMTP client does, so that the benchmark measures the server: one process
 * per connection, LHLO, then for each message MAIL FROM, RCPT TO and DATA in
 * one write (PIPELINING, RFC 2920 3.1; one command at a time when the server
 * does not advertise it), the replies, the body straight from the file with
 * sendfile(2), the terminating dot, and one reply per recipient (RFC 2033
 * 4.2).  A message that gets an unexpected reply is counted as failed, and
 * the transaction reset with RSET (RFC 5321 4.1.1.5).
 *
 * usage: bench_lmtp_client HOST PORT JOBS CONNECTIONS
 *
 * JOBS lists one message a line: PATH, a tab, and one or more recipients
 * separated by tabs.  The file at PATH is the message as DATA carries it:
 * CRLF line ends and already dot-stuffed (RFC 5321 4.5.2); nothing is
 * scanned or rewritten here.  Connection k of n sends lines k, k + n, k + 2n,
 * ... in order.  The clock starts when every connection has had its reply
 * to LHLO (a barrier of pipes) and stops at the last reply of the last
 * message.  On stdout:
 *
 *	fail K FILE: REPLY
 *	conn K ok N failed M seconds S
 *	total ok N failed M seconds S cpu U
 *
 * a fail line for each of the first failures of connection K, a conn line
 * per connection, and the total, with U the user and system CPU seconds of
 * this program and its children.
 *
 * It exits 0 when every message was delivered to every recipient, 1 when
 * not, 2 on a usage or setup error.
 */
#include "buf.h"
#include "compat.h"
#include "xmalloc.h"

#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CLIENT_SENDER		"bench@example.net"
#define CLIENT_MAX_CONNS	256
#define CLIENT_MAX_RCPTS	100	/* RFC 5321 4.5.3.1.8's minimum */
#define CLIENT_MAX_ADDR		256	/* RFC 5321 4.5.3.1.3 */
#define CLIENT_FAIL_LINES	10	/* failures printed per connection */
#define CLIENT_TIMEOUT		300	/* seconds per read or write */
#define CLIENT_BARRIER_MS	60000
#define CLIENT_LINE_MAX		1024	/* a result pipe line */

struct job {
	const char	 *path;
	const char	**rcpts;
	size_t		  nrcpts;
};

/* One connection: the state of one child process. */
struct lmtpc {
	int		 fd;
	int		 id;
	bool		 pipelining;
	bool		 size;		/* RFC 1870 SIZE offered */
	char		 in[8192];	/* replies, [off, len) unparsed */
	size_t		 off;
	size_t		 len;
	char		 text[256];	/* the last reply's first line */
	struct buf	 out;
	unsigned long	 ok;
	unsigned long	 failed;
	unsigned long	 reported;
	double		 t_env;		/* envelope sent to DATA's reply */
	double		 t_body;	/* DATA's reply to the dot sent */
	double		 t_reply;	/* the dot sent to the last reply */
	unsigned long	 timed;		/* transactions that reached 354 */
};

static struct {
	const char	*host;
	const char	*port;
	struct job	*jobs;
	size_t		 njobs;
	int		 nconns;
	int		 result_fd;	/* children write their lines */
} client;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --- The job list --- */

static bool
addr_is_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= CLIENT_MAX_ADDR)
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || *s == '<' || *s == '>' ||
		    *s == 0x7f)
			return false;
	return true;
}

/* Reads JOBS into client.jobs; the text stays allocated for the run. */
static void
jobs_load(const char *path)
{
	struct buf b = BUF_INIT;
	char *p, *line, *field;
	size_t lineno = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		err(2, "%s", path);
	for (;;) {
		buf_reserve(&b, 65536);
		if ((n = read(fd, buf_tail(&b), 65536)) == -1) {
			if (errno == EINTR)
				continue;
			err(2, "%s", path);
		}
		if (n == 0)
			break;
		buf_commit(&b, n);
	}
	close(fd);
	buf_append(&b, "", 1);
	if (memchr(b.data, '\0', b.len - 1) != NULL)
		errx(2, "%s: a NUL byte", path);
	p = (char *)b.data;
	while ((line = strsep(&p, "\n")) != NULL) {
		struct job *j;

		lineno++;
		if (*line == '\0')
			continue;
		client.jobs = xreallocarray(client.jobs, client.njobs + 1,
		    sizeof(*client.jobs));
		j = &client.jobs[client.njobs++];
		j->path = strsep(&line, "\t");
		j->rcpts = NULL;
		j->nrcpts = 0;
		while ((field = strsep(&line, "\t")) != NULL) {
			if (!addr_is_ok(field) ||
			    j->nrcpts == CLIENT_MAX_RCPTS)
				errx(2, "%s:%zu: bad recipient", path, lineno);
			j->rcpts = xreallocarray(j->rcpts, j->nrcpts + 1,
			    sizeof(*j->rcpts));
			j->rcpts[j->nrcpts++] = field;
		}
		if (*j->path == '\0' || j->nrcpts == 0)
			errx(2, "%s:%zu: want PATH<tab>RCPT[<tab>RCPT...]",
			    path, lineno);
	}
	/* b.base is deliberately kept: the jobs point into it. */
}

/* Jobs of connection k: k, k + n, k + 2n, ... */
static size_t
jobs_of(int k)
{
	if ((size_t)k >= client.njobs)
		return 0;
	return (client.njobs - k + client.nconns - 1) / client.nconns;
}

/* --- Lines to the parent --- */

/* Writes one line in one write(2): under PIPE_BUF, so never interleaved. */
static void
result_line(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void
result_line(const char *fmt, ...)
{
	char line[CLIENT_LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	while (write(client.result_fd, line, n) == -1 && errno == EINTR)
		;
}

static void
lmtpc_fail(struct lmtpc *c, const struct job *j, const char *why)
{
	const char *base;

	c->failed++;
	if (c->reported++ >= CLIENT_FAIL_LINES)
		return;
	base = j != NULL ? strrchr(j->path, '/') : NULL;
	base = base != NULL ? base + 1 : j != NULL ? j->path : "-";
	result_line("fail %d %s: %s", c->id, base, why);
}

/* --- I/O on the connection --- */

static int
write_all(int fd, const void *p, size_t n)
{
	const char *s = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, s, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		n -= w;
	}
	return 0;
}

static int
lmtpc_flush(struct lmtpc *c)
{
	int r = write_all(c->fd, c->out.data, c->out.len);

	buf_reset(&c->out);
	return r;
}

/* Returns the next line without its CRLF, NUL-terminated, or NULL. */
static char *
lmtpc_line(struct lmtpc *c)
{
	char *nl, *line;
	ssize_t n;

	while ((nl = memchr(c->in + c->off, '\n', c->len - c->off)) == NULL) {
		if (c->off > 0) {
			memmove(c->in, c->in + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		}
		if (c->len == sizeof(c->in)) {
			errno = EMSGSIZE;
			return NULL;
		}
		n = read(c->fd, c->in + c->len, sizeof(c->in) - c->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ECONNRESET;
			return NULL;
		}
		c->len += n;
	}
	line = c->in + c->off;
	c->off = nl + 1 - c->in;
	*nl = '\0';
	if (nl > line && nl[-1] == '\r')
		nl[-1] = '\0';
	return line;
}

/*
 * Reads one reply, all its lines (RFC 5321 4.2.1); returns its code, or -1
 * when the connection failed or sent no reply.  cb, if set, sees the text
 * of every line.
 */
static int
lmtpc_reply(struct lmtpc *c, void (*cb)(struct lmtpc *, const char *))
{
	char *line, *s;
	int code;

	for (;;) {
		if ((line = lmtpc_line(c)) == NULL) {
			snprintf(c->text, sizeof(c->text), "connection: %s",
			    strerror(errno));
			return -1;
		}
		if (line[0] < '2' || line[0] > '5' || line[1] < '0' ||
		    line[1] > '5' || line[2] < '0' || line[2] > '9' ||
		    (line[3] != '\0' && line[3] != ' ' && line[3] != '-')) {
			snprintf(c->text, sizeof(c->text), "not a reply: %.64s",
			    line);
			return -1;
		}
		code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
		    line[2] - '0';
		if (cb != NULL)
			cb(c, line[3] != '\0' ? line + 4 : "");
		if (line[3] != '-')
			break;
	}
	for (s = line; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			*s = '?';
	strlcpy(c->text, line, sizeof(c->text));
	return code;
}

/* The LHLO reply's keywords (RFC 5321 4.1.1.1). */
static void
lmtpc_ext_cb(struct lmtpc *c, const char *kw)
{
	size_t n = strcspn(kw, " ");

	if (n == 10 && strncasecmp(kw, "PIPELINING", n) == 0)
		c->pipelining = true;
	else if (n == 4 && strncasecmp(kw, "SIZE", n) == 0)
		c->size = true;
}

static int
lmtpc_open(struct lmtpc *c)
{
	struct addrinfo hints, *res, *ai;
	struct timeval tv = { CLIENT_TIMEOUT, 0 };
	int e, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(client.host, client.port, &hints, &res)) != 0) {
		snprintf(c->text, sizeof(c->text), "%s: %s", client.host,
		    gai_strerror(e));
		return -1;
	}
	c->fd = -1;
	for (ai = res; ai != NULL && c->fd == -1; ai = ai->ai_next) {
		if ((c->fd = socket(ai->ai_family, ai->ai_socktype,
		    ai->ai_protocol)) == -1)
			continue;
		if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == -1) {
			e = errno;
			close(c->fd);
			c->fd = -1;
			errno = e;
		}
	}
	freeaddrinfo(res);
	if (c->fd == -1) {
		snprintf(c->text, sizeof(c->text), "connect: %s",
		    strerror(errno));
		return -1;
	}
	/* The commands go out as written; the body in large chunks anyway. */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (lmtpc_reply(c, NULL) != 220)
		return -1;
	buf_append(&c->out, "LHLO bench.example.net\r\n", 24);
	if (lmtpc_flush(c) == -1 || lmtpc_reply(c, lmtpc_ext_cb) != 250)
		return -1;
	return 0;
}

/* --- One transaction --- */

static void
out_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
out_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	buf_reserve(b, 512);
	va_start(ap, fmt);
	n = vsnprintf((char *)buf_tail(b), 512, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= 512)
		errx(2, "command too long");
	buf_commit(b, n);
}

/* Sends the file and the end of data; -1 with c->text set on failure. */
static int
lmtpc_body(struct lmtpc *c, int fd, off_t size)
{
	off_t off = 0;
	char tail[2] = { 0, 0 };
	ssize_t n;

	while (off < size) {
		n = sendfile(c->fd, fd, &off, size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(c->text, sizeof(c->text), "sending body: %s",
			    n == 0 ? "file shrank" : strerror(errno));
			return -1;
		}
	}
	/* RFC 5321 4.1.1.4: the dot must follow a CRLF. */
	if (size >= 2 && pread(fd, tail, 2, size - 2) != 2)
		tail[0] = 0;
	if (memcmp(tail, "\r\n", 2) == 0)
		buf_append(&c->out, ".\r\n", 3);
	else
		buf_append(&c->out, "\r\n.\r\n", 5);
	if (lmtpc_flush(c) == -1) {
		snprintf(c->text, sizeof(c->text), "sending body: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

static void
out_envelope_start(struct lmtpc *c, off_t size)
{
	out_printf(&c->out, "MAIL FROM:<%s>", CLIENT_SENDER);
	if (c->size)
		out_printf(&c->out, " SIZE=%lld", (long long)size);
	buf_append(&c->out, "\r\n", 2);
}

/* Notes the first failed reply of a transaction. */
static void
note(const struct lmtpc *c, char *why, size_t whysize)
{
	if (*why == '\0')
		strlcpy(why, c->text, whysize);
}

/*
 * Sends MAIL, RCPT and DATA in one write and then reads their replies
 * (RFC 2920 3.1).  Returns DATA's reply code, or -1 when the connection
 * failed.  *accepted_r counts the recipients that got 250 or 251; why gets
 * the first unexpected reply.
 */
static int
lmtpc_envelope_pipelined(struct lmtpc *c, const struct job *j, off_t size,
    size_t *accepted_r, char *why, size_t whysize)
{
	int code;
	size_t i;

	out_envelope_start(c, size);
	for (i = 0; i < j->nrcpts; i++)
		out_printf(&c->out, "RCPT TO:<%s>\r\n", j->rcpts[i]);
	buf_append(&c->out, "DATA\r\n", 6);
	if (lmtpc_flush(c) == -1 || (code = lmtpc_reply(c, NULL)) == -1)
		return -1;
	if (code != 250)
		note(c, why, whysize);
	for (i = 0; i < j->nrcpts; i++) {
		if ((code = lmtpc_reply(c, NULL)) == -1)
			return -1;
		if (code == 250 || code == 251)
			(*accepted_r)++;
		else
			note(c, why, whysize);
	}
	if ((code = lmtpc_reply(c, NULL)) == -1)
		return -1;
	if (code != 354)
		note(c, why, whysize);
	return code;
}

/*
 * The same one command at a time, for a server without PIPELINING; it stops
 * before RCPT when MAIL failed and before DATA when no recipient was
 * accepted, returning 0.
 */
static int
lmtpc_envelope_serial(struct lmtpc *c, const struct job *j, off_t size,
    size_t *accepted_r, char *why, size_t whysize)
{
	int code;
	size_t i;

	out_envelope_start(c, size);
	if (lmtpc_flush(c) == -1 || (code = lmtpc_reply(c, NULL)) == -1)
		return -1;
	if (code != 250) {
		note(c, why, whysize);
		return 0;
	}
	for (i = 0; i < j->nrcpts; i++) {
		out_printf(&c->out, "RCPT TO:<%s>\r\n", j->rcpts[i]);
		if (lmtpc_flush(c) == -1 || (code = lmtpc_reply(c, NULL)) == -1)
			return -1;
		if (code == 250 || code == 251)
			(*accepted_r)++;
		else
			note(c, why, whysize);
	}
	if (*accepted_r == 0)
		return 0;
	buf_append(&c->out, "DATA\r\n", 6);
	if (lmtpc_flush(c) == -1 || (code = lmtpc_reply(c, NULL)) == -1)
		return -1;
	if (code != 354)
		note(c, why, whysize);
	return code;
}

/*
 * Delivers one message and counts it as delivered (every recipient's reply
 * to the data was 250) or failed; returns -1 when the connection is lost.
 * After 354 the body goes out even if a recipient was refused, as an MTA
 * would send it to the others; before that, a failed transaction is reset.
 */
static int
lmtpc_deliver(struct lmtpc *c, const struct job *j)
{
	char why[sizeof(c->text)];
	struct stat st;
	size_t accepted = 0, replies, i, stored = 0;
	int fd, data, code;
	double t0, t1, t2;

	*why = '\0';
	if ((fd = open(j->path, O_RDONLY)) == -1 || fstat(fd, &st) == -1) {
		snprintf(why, sizeof(why), "%s", strerror(errno));
		if (fd != -1)
			close(fd);
		lmtpc_fail(c, j, why);
		return 0;
	}
	t0 = now();
	data = (c->pipelining ? lmtpc_envelope_pipelined :
	    lmtpc_envelope_serial)(c, j, st.st_size, &accepted, why,
	    sizeof(why));
	if (data == 354) {
		t1 = now();
		if (lmtpc_body(c, fd, st.st_size) == -1)
			goto lost;
		t2 = now();
		/* RFC 2033 4.2: one reply per accepted recipient. */
		replies = accepted > 0 ? accepted : 1;
		for (i = 0; i < replies; i++) {
			if ((code = lmtpc_reply(c, NULL)) == -1)
				goto lost;
			if (code == 250)
				stored++;
			else
				note(c, why, sizeof(why));
		}
		c->t_env += t1 - t0;
		c->t_body += t2 - t1;
		c->t_reply += now() - t2;
		c->timed++;
	} else if (data == -1)
		goto lost;
	close(fd);
	if (data == 354 && *why == '\0' && stored == j->nrcpts) {
		c->ok++;
		return 0;
	}
	lmtpc_fail(c, j, why);
	if (data == 354)
		return 0;
	buf_append(&c->out, "RSET\r\n", 6);
	if (lmtpc_flush(c) == -1 || lmtpc_reply(c, NULL) != 250)
		return -1;
	return 0;
lost:
	close(fd);
	lmtpc_fail(c, j, c->text);
	return -1;
}

/* --- Processes --- */

/* A child: one connection, its share of the jobs. */
static void __attribute__((noreturn))
lmtpc_main(int k, int ready_fd, int go_fd)
{
	struct lmtpc c;
	size_t i, mine = jobs_of(k);
	double end;
	char b;
	int up;

	memset(&c, 0, sizeof(c));
	c.id = k;
	c.fd = -1;
	up = lmtpc_open(&c);
	if (up == -1)
		lmtpc_fail(&c, NULL, c.text);
	/* The barrier: tell the parent, wait until it closes the go pipe. */
	while (write(ready_fd, "r", 1) == -1 && errno == EINTR)
		;
	close(ready_fd);
	while (read(go_fd, &b, 1) == -1 && errno == EINTR)
		;
	close(go_fd);
	for (i = 0; up == 0 && i < mine; i++)
		if (lmtpc_deliver(&c, &client.jobs[k + i * client.nconns]) ==
		    -1)
			break;
	end = now();
	/* Whatever was not tried has failed. */
	if (i < mine) {
		if (up == 0 && i + 1 < mine)
			result_line("fail %d: %zu messages not sent: %s", k,
			    mine - i - 1, c.text);
		c.failed = mine - c.ok;
	}
	if (up == 0 && i == mine) {
		buf_append(&c.out, "QUIT\r\n", 6);
		if (lmtpc_flush(&c) == 0)
			lmtpc_reply(&c, NULL);
	}
	result_line("conn %d ok %lu failed %lu end %.6f timed %lu %.6f %.6f "
	    "%.6f", k, c.ok, c.failed, end, c.timed, c.t_env, c.t_body,
	    c.t_reply);
	_exit(0);
}

struct lmtpc_result {
	pid_t		 pid;
	bool		 reported;
	unsigned long	 ok;
	unsigned long	 failed;
	double		 end;
	unsigned long	 timed;
	double		 t[3];		/* as struct lmtpc's t_env, ... */
};

/* Parses a child's "conn" line; relays "fail" lines to stdout. */
static void
parent_line(char *line, struct lmtpc_result *res)
{
	unsigned long ok, failed, timed;
	double end, t[3];
	int k;

	if (strncmp(line, "fail ", 5) == 0) {
		printf("%s\n", line);
		return;
	}
	if (sscanf(line, "conn %d ok %lu failed %lu end %lf timed %lu %lf %lf "
	    "%lf", &k, &ok, &failed, &end, &timed, &t[0], &t[1], &t[2]) !=
	    8 || k < 0 || k >= client.nconns || res[k].reported)
		errx(2, "bad line from a connection: %s", line);
	res[k].timed = timed;
	memcpy(res[k].t, t, sizeof(t));
	res[k].reported = true;
	res[k].ok = ok;
	res[k].failed = failed;
	res[k].end = end;
}

/* Reads every child's lines until all have closed the pipe. */
static void
parent_collect(int fd, struct lmtpc_result *res)
{
	struct buf in = BUF_INIT;
	uint8_t *nl;
	ssize_t n;

	for (;;) {
		buf_reserve(&in, 4096);
		n = read(fd, buf_tail(&in), 4096);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			err(2, "result pipe");
		if (n == 0)
			break;
		buf_commit(&in, n);
		while ((nl = memchr(in.data, '\n', in.len)) != NULL) {
			*nl = '\0';
			parent_line((char *)in.data, res);
			buf_consume(&in, nl + 1 - in.data);
		}
	}
	buf_clear(&in);
}

/* Waits until every child said LHLO (or gave up), at most a minute. */
static void
parent_barrier(int ready_fd)
{
	struct pollfd pfd = { ready_fd, POLLIN, 0 };
	double deadline = now() + CLIENT_BARRIER_MS / 1000.0;
	char b[CLIENT_MAX_CONNS];
	int got = 0, left;
	ssize_t n;

	while (got < client.nconns) {
		left = (deadline - now()) * 1000;
		if (left <= 0 || poll(&pfd, 1, left) == 0) {
			warnx("barrier: %d of %d connections ready",
			    got, client.nconns);
			return;
		}
		if ((n = read(ready_fd, b, sizeof(b))) == -1 &&
		    errno == EINTR)
			continue;
		if (n <= 0)
			return;
		got += n;
	}
}

static double
cpu_seconds(int who)
{
	struct rusage ru;

	if (getrusage(who, &ru) == -1)
		return 0;
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

int
main(int argc, char *argv[])
{
	struct lmtpc_result res[CLIENT_MAX_CONNS];
	unsigned long ok = 0, failed = 0, timed = 0;
	double t0, end, elapsed, t[3] = { 0, 0, 0 };
	int ready[2], go[2], result[2], k, status;
	const char *errstr;
	pid_t pid;

	if (argc != 5)
		errx(2, "usage: bench_lmtp_client HOST PORT JOBS CONNECTIONS");
	client.host = argv[1];
	client.port = argv[2];
	client.nconns = strtonum(argv[4], 1, CLIENT_MAX_CONNS, &errstr);
	if (errstr != NULL)
		errx(2, "connections: %s", errstr);
	jobs_load(argv[3]);
	signal(SIGPIPE, SIG_IGN);
	if (pipe(ready) == -1 || pipe(go) == -1 || pipe(result) == -1)
		err(2, "pipe");
	fflush(stdout);
	memset(res, 0, sizeof(res));
	for (k = 0; k < client.nconns; k++) {
		if ((pid = fork()) == -1)
			err(2, "fork");
		if (pid == 0) {
			close(ready[0]);
			close(go[1]);
			close(result[0]);
			client.result_fd = result[1];
			lmtpc_main(k, ready[1], go[0]);
		}
		res[k].pid = pid;
	}
	close(ready[1]);
	close(go[0]);
	close(result[1]);
	parent_barrier(ready[0]);
	t0 = now();
	close(go[1]);
	parent_collect(result[0], res);
	end = t0;
	for (k = 0; k < client.nconns; k++) {
		while (waitpid(res[k].pid, &status, 0) == -1)
			if (errno != EINTR)
				err(2, "waitpid");
		if (!res[k].reported || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			printf("fail %d: the connection's process died "
			    "(status %#x)\n", k, status);
			res[k].failed = jobs_of(k) - res[k].ok;
		}
		if (res[k].reported && res[k].end > end)
			end = res[k].end;
		ok += res[k].ok;
		failed += res[k].failed;
		timed += res[k].timed;
		t[0] += res[k].t[0];
		t[1] += res[k].t[1];
		t[2] += res[k].t[2];
	}
	elapsed = end - t0;
	for (k = 0; k < client.nconns; k++)
		printf("conn %d ok %lu failed %lu seconds %.3f\n", k, res[k].ok,
		    res[k].failed, res[k].reported && res[k].end > t0 ?
		    res[k].end - t0 : 0.0);
	printf("total ok %lu failed %lu seconds %.6f cpu %.3f\n", ok, failed,
	    elapsed, cpu_seconds(RUSAGE_SELF) +
	    cpu_seconds(RUSAGE_CHILDREN));
	if (timed > 0)
		printf("phases ms envelope %.3f body %.3f replies %.3f\n",
		    t[0] * 1e3 / timed, t[1] * 1e3 / timed, t[2] * 1e3 / timed);
	return ok == client.njobs && failed == 0 ? 0 : 1;
}

/* SPDX-License-Identifier: ISC */
/*
 * log.c: one logging path for the master, the workers and the tools.
 */
#include "log.h"
#include "compat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#define LOG_LINE_MAX	1024

static struct {
	char		 name[32];
	enum log_dest	 dest;
	int		 verbose;
	uint32_t	 trace;
	int		 syslog_open;
} log_state = { "bulwark", LOG_DEST_STDERR, 0, 0, 0 };

static const struct {
	const char	*name;
	uint32_t	 bit;
} log_trace_names[] = {
	{ "imap", LOG_TRACE_IMAP },	{ "jmap", LOG_TRACE_JMAP },
	{ "lmtp", LOG_TRACE_LMTP },	{ "store", LOG_TRACE_STORE },
	{ "txn", LOG_TRACE_TXN },	{ "auth", LOG_TRACE_AUTH },
	{ "tls", LOG_TRACE_TLS },	{ "ipc", LOG_TRACE_IPC },
	{ "raft", LOG_TRACE_RAFT },	{ "index", LOG_TRACE_INDEX },
};

void
log_init(const char *procname, enum log_dest dest, int verbose)
{
	strlcpy(log_state.name, procname, sizeof(log_state.name));
	log_state.dest = dest;
	log_state.verbose = verbose;
	if (dest == LOG_DEST_SYSLOG && !log_state.syslog_open) {
		openlog("bulwark", LOG_NDELAY, LOG_MAIL);
		log_state.syslog_open = 1;
	}
}

void
log_set_verbose(int verbose)
{
	log_state.verbose = verbose;
}

void
log_set_trace(uint32_t categories)
{
	log_state.trace = categories;
}

int
log_get_verbose(void)
{
	return log_state.verbose;
}

uint32_t
log_get_trace(void)
{
	return log_state.trace;
}

const char *
log_procname(void)
{
	return log_state.name;
}

int
log_trace_parse(const char *names, uint32_t *mask_r)
{
	char tmp[256], *p, *tok;
	uint32_t mask = 0;
	size_t i;

	if (strlcpy(tmp, names, sizeof(tmp)) >= sizeof(tmp))
		return -1;
	for (p = tmp; (tok = strsep(&p, ",")) != NULL;) {
		if (strcmp(tok, "all") == 0) {
			mask = UINT32_MAX;
			continue;
		}
		if (strcmp(tok, "none") == 0)
			continue;
		for (i = 0; i < sizeof(log_trace_names) /
		    sizeof(log_trace_names[0]); i++)
			if (strcmp(tok, log_trace_names[i].name) == 0)
				break;
		if (i == sizeof(log_trace_names) / sizeof(log_trace_names[0]))
			return -1;
		mask |= log_trace_names[i].bit;
	}
	*mask_r = mask;
	return 0;
}

/* Escapes control bytes so that one log call is one line. */
static void
log_sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void
log_emit(int prio, const char *text)
{
	char line[LOG_LINE_MAX + 64];
	int n;

	switch (log_state.dest) {
	case LOG_DEST_SYSLOG:
		syslog(prio, "%s[%d]: %s", log_state.name, (int)getpid(),
		    text);
		return;
	case LOG_DEST_PIPE:
		n = snprintf(line, sizeof(line), "<%d>%s[%d]: %s\n", prio,
		    log_state.name, (int)getpid(), text);
		break;
	case LOG_DEST_STDERR:
	default:
		n = snprintf(line, sizeof(line), "%s[%d]: %s\n",
		    log_state.name, (int)getpid(), text);
		break;
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* One write per line: shorter than PIPE_BUF, so never interleaved. */
	(void)!write(STDERR_FILENO, line, n);
}

static void
log_vlog(int prio, int with_errno, const char *fmt, va_list ap)
{
	char text[LOG_LINE_MAX];
	int saved = errno;
	size_t len;

	vsnprintf(text, sizeof(text), fmt, ap);
	if (with_errno) {
		len = strlen(text);
		snprintf(text + len, sizeof(text) - len, ": %s",
		    strerror(saved));
	}
	log_sanitize(text);
	log_emit(prio, text);
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_WARNING, 1, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_WARNING, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_INFO, 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_state.verbose < 1)
		return;
	va_start(ap, fmt);
	log_vlog(LOG_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void
log_trace(uint32_t category, const char *fmt, ...)
{
	va_list ap;

	if ((log_state.trace & category) == 0)
		return;
	va_start(ap, fmt);
	log_vlog(LOG_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_CRIT, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_CRIT, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

void
log_relay_line(const char *line, size_t len)
{
	char text[LOG_LINE_MAX + 64];
	const char *p = line, *end = line + len;
	int prio = -1;

	if (len > 2 && *p == '<') {
		prio = 0;
		for (p++; p < end && *p >= '0' && *p <= '9' && prio < 8; p++)
			prio = prio * 10 + (*p - '0');
		if (p == end || *p != '>' || prio > LOG_DEBUG)
			prio = -1;
		else
			p++;
	}
	if (prio == -1) {
		p = line;
		prio = LOG_WARNING;
	}
	if ((size_t)(end - p) >= sizeof(text))
		end = p + sizeof(text) - 1;
	memcpy(text, p, end - p);
	text[end - p] = '\0';
	log_sanitize(text);
	if (log_state.dest == LOG_DEST_SYSLOG)
		syslog(prio, "%s", text);
	else	/* the child already applied its verbosity */
		dprintf(STDERR_FILENO, "%s\n", text);
}

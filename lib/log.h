/* SPDX-License-Identifier: ISC */
/*
 * log.h: logging for every Bulwark process.
 *
 * Lines look like `proc[pid]: <session> event key=value ...`, lower case, no
 * trailing period.  The master writes to syslog or, with -d, to stderr.  Other
 * processes write each line whole to their stderr, which is a pipe to the
 * master, prefixed with `<N>` where N is the syslog priority; the master relays
 * them (log_relay_line).  Bytes outside printable ASCII and UTF-8 are escaped
 * so that a client cannot forge log lines.
 */
#ifndef BULWARK_LOG_H
#define BULWARK_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum log_dest {
	LOG_DEST_STDERR,	/* plain lines on stderr (master -d, tools) */
	LOG_DEST_SYSLOG,	/* syslog(3) (daemonized master) */
	LOG_DEST_PIPE		/* <prio> lines on stderr, read by the master */
};

/* Trace categories, switched on at run time. */
#define LOG_TRACE_IMAP	0x0001
#define LOG_TRACE_JMAP	0x0002
#define LOG_TRACE_LMTP	0x0004
#define LOG_TRACE_STORE	0x0008
#define LOG_TRACE_TXN	0x0010
#define LOG_TRACE_AUTH	0x0020
#define LOG_TRACE_TLS	0x0040
#define LOG_TRACE_IPC	0x0080
#define LOG_TRACE_RAFT	0x0100
#define LOG_TRACE_INDEX	0x0200

/* Sets the process name, destination and verbosity (0 info, 1+ debug). */
void	log_init(const char *procname, enum log_dest dest, int verbose);
/* Changes verbosity or trace categories later (from configuration). */
void	log_set_verbose(int verbose);
void	log_set_trace(uint32_t categories);
int	log_get_verbose(void);
uint32_t log_get_trace(void);
/* Returns the name given to log_init. */
const char *log_procname(void);

/*
 * Parses the names of trace categories separated by commas ("imap,ipc",
 * "all", "none") into a mask; returns -1 on an unknown name.
 */
int	log_trace_parse(const char *names, uint32_t *mask_r);

void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_trace(uint32_t category, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Logs with the errno text appended and exits 1. */
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
/* Logs and exits 1. */
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/*
 * Master only: relays one line read from a child's pipe (without its
 * newline).  A line without a valid <N> prefix is logged at warning level.
 */
void	log_relay_line(const char *line, size_t len);

#define LOG_IS_TRACE(cat)	((log_get_trace() & (cat)) != 0)

#endif

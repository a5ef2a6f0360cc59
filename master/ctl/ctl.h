/* SPDX-License-Identifier: ISC */
/*
 * ctl.h: bulwarkctl(8), the admin tool.  Its commands are one table of
 * (command, subcommand, argument counts and kinds, options, help, handler);
 * the usage lines are made from it.  Every argument has a kind (domain,
 * address, size, ...) that is checked before anything is sent, so that a
 * typo is a usage error and not a round trip.  storaged remains the
 * authority on names: these checks only catch what is cheap to catch
 * (counts, empty names, spaces, lengths, size syntax).
 *
 * ctl_args.c holds the table-driven argument parser and the size parser,
 * ctl_passwd.c reads new passwords, ctl_ipc.c is the synchronous client of
 * the admin socket, ctl_mail.c prints mailboxes and messages and fetches a
 * message's bytes, ctl_cmd.c holds the table and the handlers, and
 * bulwarkctl.c is main().  The dkim commands work on key files and the
 * standard input with lib/dkim.c, without the store.
 */
#ifndef BULWARK_CTL_H
#define BULWARK_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ipc.h"

/* Exit statuses, documented in bulwarkctl.8 EXIT STATUS. */
#define CTL_EXIT_OK		0	/* done */
#define CTL_EXIT_REFUSED	1	/* the store refused the request */
#define CTL_EXIT_FAIL		2	/* usage, configuration, connection */

#define CTL_MAX_ARGS		3	/* positional arguments of a command */
#define CTL_MAX_OPTS		2	/* options of a command */
/* Lengths as the store takes them (RFC 1035 2.3.4, RFC 5321 4.5.3.1.1). */
#define CTL_DOMAIN_MAX		253	/* bytes of a domain name */
#define CTL_LOCAL_MAX		64	/* bytes of a local part */
#define CTL_NAME_MAX		(CTL_LOCAL_MAX + 1 + CTL_DOMAIN_MAX)
/* Bytes of a password; buffers hold one more for the NUL. */
#define CTL_PASSWORD_MAX	1024
/* Seconds to wait for the store (argon2id hashing takes about a second). */
#define CTL_TIMEOUT		60
/* Bytes of a path argument (PATH_MAX on Linux). */
#define CTL_PATH_MAX		4096
/* Bytes of a DKIM key file read (a 4096-bit RSA key is about 3.3 KB). */
#define CTL_KEYFILE_MAX		(64u << 10)
/* Bytes of a mailbox name as bulwarkctl passes it on. */
#define CTL_MAILBOX_MAX		1024
/* Most bytes one MESSAGE_GET reply carries (lib/ipc_types.def). */
#define CTL_SLICE_MAX		(512u << 10)

enum ctl_arg_kind {
	CTL_ARG_NONE = 0,
	CTL_ARG_DOMAIN,		/* example.org */
	CTL_ARG_ADDRESS,	/* local@domain: accounts, aliases, targets */
	CTL_ARG_SIZE,		/* bytes: 512, 10M, 2G, unlimited */
	CTL_ARG_COUNT,		/* a number or "unlimited" */
	CTL_ARG_WORD,		/* any word (help topics) */
	CTL_ARG_MAILBOX,	/* a mailbox name: "INBOX", "Lists/bugs" */
	CTL_ARG_UID,		/* an IMAP UID: 1 to 4294967295 */
	CTL_ARG_ALIAS,		/* local@domain, or @domain for a catch-all */
	CTL_ARG_SELECTOR,	/* a DKIM selector: "mail2024", "a.b" */
	CTL_ARG_FILE,		/* a path: "/etc/bulwark/dkim/x.key" */
	CTL_ARG_KEYTYPE		/* a DKIM key type: "rsa" or "ed25519" */
};

struct ctl;
struct ctl_args;
struct ctl_conn;

/* Runs a command; returns a CTL_EXIT_* status. */
typedef int ctl_cmd_fn(struct ctl *ctx, const struct ctl_args *a);

struct ctl_opt {
	char			 flag;		/* 'q' for -q; 0 ends */
	enum ctl_arg_kind	 kind;
	const char		*name;		/* placeholder: "BYTES" */
};

struct ctl_argspec {
	enum ctl_arg_kind	 kind;
	const char		*name;		/* placeholder: "ADDRESS" */
};

/*
 * One command.  Its usage line is made from the argument and option
 * specifications (ctl_cmd_format_usage), so it cannot drift from them.
 */
struct ctl_cmd {
	const char		*name;		/* "account" */
	const char		*sub;		/* "add"; NULL: none */
	int			 min, max;	/* positional argument counts */
	struct ctl_argspec	 args[CTL_MAX_ARGS];
	struct ctl_opt		 opts[CTL_MAX_OPTS + 1];
	const char		*help;		/* one line, for `help` */
	bool			 store;		/* needs the admin socket */
	ctl_cmd_fn		*fn;
};

/* A command line checked against its table entry. */
struct ctl_args {
	const struct ctl_cmd	*cmd;
	int			 n;			/* positional */
	const char		*arg[CTL_MAX_ARGS];	/* borrowed from argv */
	uint64_t		 num[CTL_MAX_ARGS];	/* SIZE, COUNT values */
	const char		*opt[CTL_MAX_OPTS];	/* NULL if not given */
	uint64_t		 optnum[CTL_MAX_OPTS];	/* SIZE, COUNT values */
};

/* --- ctl_args.c --- */

/*
 * Parses a size in bytes: decimal digits with an optional K, M, G or T
 * suffix (either case; powers of 1024), or "unlimited", which is 0 as is
 * "0".  Returns 0 with *v_r, or -1 with a static message in *error_r.
 */
int	ctl_size_parse(const char *s, uint64_t *v_r, const char **error_r);
/* Parses a count: decimal digits or "unlimited" (0).  As ctl_size_parse. */
int	ctl_count_parse(const char *s, uint64_t *v_r, const char **error_r);
/*
 * Parses a UID (RFC 9051 nz-number): decimal digits, 1 to 4294967295, no
 * sign and no suffix.  As ctl_size_parse.
 */
int	ctl_uid_parse(const char *s, uint64_t *v_r, const char **error_r);
/*
 * Checks s as an argument of the given kind; SIZE, COUNT and UID are
 * parsed into *v_r (may be NULL).  Returns 0, or -1 with a static message in
 * *error_r.
 */
int	ctl_arg_check(enum ctl_arg_kind kind, const char *s, uint64_t *v_r,
	    const char **error_r);
/*
 * Writes "name sub ARG [OPTARG] [-q BYTES]" for cmd into buf (size bytes,
 * truncated to fit).  Optional arguments are in brackets.
 */
void	ctl_cmd_format_usage(const struct ctl_cmd *cmd, char *buf,
	    size_t size);
/*
 * Parses the arguments after the subcommand (argv[0 .. argc-1]) against
 * cmd: options (-q 10M, -q10M, "--" ends them) may come before or after
 * the positional arguments.  Returns 0 with *a filled (its strings borrow
 * argv), or -1 with a message in err (errsize bytes).
 */
int	ctl_args_parse(const struct ctl_cmd *cmd, int argc, char **argv,
	    struct ctl_args *a, char *err, size_t errsize);

/* --- ctl_cmd.c --- */

/* The command table; ends with an entry whose name is NULL. */
const struct ctl_cmd *ctl_cmds(void);
/*
 * Finds the entry of command name with subcommand sub (sub is ignored for
 * a command without subcommands; it may be NULL).  Returns NULL if there
 * is none.
 */
const struct ctl_cmd *ctl_cmd_find(const char *name, const char *sub);
/* Returns true if name is the name of some command. */
bool	ctl_cmd_known(const char *name);
/*
 * Writes "  name sub usage" lines for every command, or only for those
 * named name when it is not NULL, to fp.
 */
void	ctl_cmd_usage(FILE *fp, const char *name);
/* Writes "bulwarkctl: " and the message, and a newline, to stderr. */
void	ctl_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * Runs a parsed command against the admin socket at socket_path (borrowed;
 * connected only when the command needs the store).  Returns CTL_EXIT_*;
 * errors are written to stderr.
 */
int	ctl_cmd_run(const struct ctl_args *a, const char *socket_path);

/* --- ctl_mail.c --- */

/*
 * Writes the mailboxes of a MAILBOX_LIST reply to fp: a header line, then
 * one line per mailbox in the store's order, in aligned columns
 *	ID ROLE TOTAL UNREAD UIDVALIDITY UIDNEXT HIGHESTMODSEQ NAME
 * NAME comes last because it may hold spaces; a mailbox without a role
 * shows "-"; control characters are shown as '?'.  Returns 0, or -1 with
 * a static message in *error_r when the reply's lists differ in length
 * (nothing is written then).
 */
int	ctl_mailbox_print(FILE *fp, const struct ipc_MAILBOX_LIST_rep *r,
	    const char **error_r);
/*
 * Writes the messages of a MESSAGE_LIST reply to fp: a header line, then
 * one line per message in the store's order, in aligned columns
 *	UID EMAIL-ID THREAD-ID SIZE RECEIVED FLAGS FROM SUBJECT
 * RECEIVED is ISO 8601 in UTC, FLAGS the message's flags joined by ','
 * ("-" if none), FROM the address of its first From ("-" if none, spaces
 * shown as '_'), SUBJECT the rest of the line.  As ctl_mailbox_print.
 */
int	ctl_message_print(FILE *fp, const struct ipc_MESSAGE_LIST_rep *r,
	    const char **error_r);
/*
 * Writes the raw bytes of message uid in mailbox of account to out,
 * exactly, asking the store with MESSAGE_GET for one slice (at most
 * CTL_SLICE_MAX bytes) after the other until its total.  Returns 0 when
 * the whole message was written, or when the store refused a slice:
 * then *st_r is not IPC_S_OK and *text_r holds its reason (valid until
 * the next call on c), and what came before it has been written.
 * Returns -1 with a static message in *error_r when ctl_call failed, a
 * reply was inconsistent (empty slice before the end, a slice past the
 * total, a total that changed, a slice over CTL_SLICE_MAX) or writing to
 * out failed.
 */
int	ctl_message_fetch(struct ctl_conn *c, const char *account,
	    const char *mailbox, uint32_t uid, FILE *out, enum ipc_status *st_r,
	    const char **text_r, const char **error_r);

/* --- ctl_passwd.c --- */

/*
 * Reads a new password for the account: from a terminal on standard input
 * it prompts twice with echo off and refuses a mismatch; otherwise it
 * reads one line.  An empty password, one with a NUL byte or one that
 * does not fit buf (size bytes, at most CTL_PASSWORD_MAX + 1) is refused.
 * Returns 0 with the NUL-terminated password in buf, or -1 with a static
 * message in *error_r and buf wiped.  The caller wipes buf after use.
 */
int	ctl_password_read(char *buf, size_t size, const char **error_r);
/*
 * Reads one line from fd into buf without stdio (no copy is left in a
 * buffer nobody wipes) and strips its "\n" or "\r\n".  End of file ends
 * the line too; end of file before any byte is an error.  Returns 0 or -1
 * as ctl_password_read, but an empty line is returned as "".
 */
int	ctl_password_read_line(int fd, char *buf, size_t size,
	    const char **error_r);

/* --- ctl_ipc.c --- */

/* A blocking conversation with storaged on the admin socket. */
struct ctl_conn {
	int		 fd;
	struct ipc_rx	 rx;
	uint32_t	 next_id;
	char		 peer[32];	/* the store's name from its HELLO */
};

/*
 * Connects to the admin socket at path and exchanges HELLO with the store
 * (our peer kind IPC_P_CTL, its IPC_P_STORE).  Send and receive time out
 * after CTL_TIMEOUT seconds.  Returns 0, or -1 with *error_r set (a static
 * string or strerror's) and c closed.  errno is kept from a failed connect
 * (EACCES, ECONNREFUSED, ENOENT), is ECONNABORTED when the store closed
 * the connection before its HELLO (as it does to a peer it does not
 * accept), else 0.
 */
int	ctl_connect(struct ctl_conn *c, const char *path,
	    const char **error_r);
/* Exchanges HELLO on an already connected socket fd (taken).  As above. */
int	ctl_conn_open(struct ctl_conn *c, int fd, const char **error_r);
/*
 * Sends one request of type with request struct req and waits for its
 * reply.  Returns 0 when a well-formed reply came: *st_r and *text_r hold
 * its status and text, and when the status is IPC_S_OK the reply fields
 * are decoded into rep (the type's reply struct).  Strings in *text_r and
 * rep point into the connection's buffer and live until the next
 * ctl_call or ctl_close.  Returns -1 with *error_r on an I/O error, a
 * timeout, a closed connection or a malformed or unexpected frame.
 */
int	ctl_call(struct ctl_conn *c, uint16_t type, const void *req,
	    void *rep, enum ipc_status *st_r, const char **text_r,
	    const char **error_r);
/* Closes the connection and frees its buffer; safe to call twice. */
void	ctl_close(struct ctl_conn *c);

#endif

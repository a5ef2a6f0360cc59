/* SPDX-License-Identifier: ISC */
/*
 * auth.h: the pieces of credential checking that need no event loop:
 * argon2id password hashes (libsodium crypto_pwhash_str), the client
 * address of a session as the rate limiter and the log see it, and the
 * rate limiter itself.
 *
 * The limiter counts authentication failures per key (a client address or
 * an account name) within a window of fail_window seconds; the failure that
 * reaches fail_limit blocks that key for block_time seconds.  Its tables
 * have a fixed size chosen at creation: when a table is full, the entry
 * least worth keeping goes (an idle one before a counting one, a counting
 * one before a blocked one), so that a flood of new addresses costs no
 * memory and cannot push out a block that is still running unless the whole
 * table is blocked.  Keys are hashed with a random per-process key, so a
 * client cannot choose colliding names.  IPv6 clients are counted per /64,
 * the block one host usually holds.
 */
#ifndef BULWARK_AUTH_H
#define BULWARK_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

/* --- Password hashes --- */

/*
 * Hashes password pw with argon2id at ops passes and mem bytes (0 for
 * libsodium's INTERACTIVE limits) into out.  Returns 0, or -1 when out of
 * memory.  Slow on purpose: call it on the thread pool (workq.h).
 */
int	auth_hash_password(const char *pw, uint64_t ops, uint64_t mem,
	    char out[crypto_pwhash_STRBYTES]);
/* Whether pw matches hash.  As slow as hashing. */
bool	auth_verify_password(const char *hash, const char *pw);

/* --- Client addresses --- */

#define AUTH_REMOTE_TEXT	64

struct auth_remote {
	char	 text[AUTH_REMOTE_TEXT];	/* for logs: "192.0.2.7" */
	uint8_t	 key[AUTH_REMOTE_TEXT];		/* for the limiter */
	size_t	 keylen;
};

/*
 * Parses the remote address a worker sends ("192.0.2.7:143",
 * "[2001:db8::1]:993", a bare address, or something else such as a Unix
 * socket path) into *r.  An IP address loses its port and is written in
 * canonical form (IPv4-mapped IPv6 as IPv4); its limiter key is the
 * address, or the /64 for IPv6.  Anything else is kept as log-safe
 * text.  Never fails.
 */
void	auth_remote_parse(const char *remote, struct auth_remote *r);

/* --- Rate limiter --- */

enum auth_kind {
	AUTH_KEY_REMOTE = 1,
	AUTH_KEY_USER
};

struct auth_limiter;

/*
 * Creates a limiter: fail_limit failures (0 turns limiting off) within
 * fail_window seconds block for block_time seconds; slots is the table
 * size, rounded up to a power of two.  Returns the limiter (owned).
 */
struct auth_limiter *auth_limiter_new(uint32_t fail_limit,
	    uint32_t fail_window, uint32_t block_time, size_t slots);
void	auth_limiter_free(struct auth_limiter **lp);
/* Whether key of kind is blocked at time now (seconds, monotonic). */
bool	auth_limiter_blocked(struct auth_limiter *l, enum auth_kind kind,
	    const void *key, size_t len, uint64_t now);
/*
 * Counts one failure of key at now.  Returns true if this failure started
 * a block (the caller logs it), false otherwise, also while blocked.
 */
bool	auth_limiter_fail(struct auth_limiter *l, enum auth_kind kind,
	    const void *key, size_t len, uint64_t now);
/* Forgets the failures of key (after a success). */
void	auth_limiter_forget(struct auth_limiter *l, enum auth_kind kind,
	    const void *key, size_t len);
/* Entries in use, for tests and statistics. */
size_t	auth_limiter_used(const struct auth_limiter *l);

#endif

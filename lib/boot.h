/* SPDX-License-Identifier: ISC */
/*
 * boot.h: how every process the master starts comes up, written once.
 *
 * The master execs a child with an empty environment and these descriptors:
 *
 *	0, 1	/dev/null
 *	2	a pipe to the master, for log lines (log.h)
 *	3	the master channel
 *	4	the store channel (workers; /dev/null for storaged)
 *	5...	listening sockets, described by CONF_LISTENER messages
 *
 * The order is: boot_read_config() (log to the pipe, read HELLO and the
 * configuration messages up to CONF_END), boot_confine() (chroot, drop the
 * user, system call filter), then the process builds its event loop, calls
 * boot_master_chan() and boot_ready().  No byte from the network is read
 * before boot_confine() returns.
 */
#ifndef BULWARK_BOOT_H
#define BULWARK_BOOT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipc.h"
#include "sandbox.h"

#define BOOT_FD_MASTER		3
#define BOOT_FD_STORE		4
#define BOOT_FD_LISTEN		5
#define BOOT_MAX_LISTENERS	64

struct boot_listener {
	int	 fd;
	char	 proto[16];	/* "imap", "lmtp", "http", "sieve", "admin" */
	char	 addr[128];	/* for logs: "127.0.0.1:143" or a path */
	bool	 tls;		/* implicit TLS */
};

struct boot_conf {
	char			 name[32];
	uint32_t		 instance;
	uint32_t		 instances;	/* of this kind, instance's too */
	uid_t			 uid;
	gid_t			 gid;
	char			 chroot[256];
	bool			 drop;
	bool			 sandbox;
	struct boot_listener	 listeners[BOOT_MAX_LISTENERS];
	size_t			 nlisteners;
	struct ipc_rx		 rx;	/* bytes the master sent after CONF_END */
};

/*
 * Receives each process-specific configuration message (CONF_PROC and
 * CONF_LISTENER are handled by boot itself); msg is the decoded request
 * struct, valid only during the call.  Copy what you keep.  Return 0, or -1
 * for a message this process does not take, which is fatal.
 */
typedef int boot_conf_fn(uint16_t type, const void *msg, void *arg);

/*
 * Starts logging to the master's pipe as procname, then reads the master's
 * HELLO and configuration from BOOT_FD_MASTER until CONF_END.  Dies on any
 * malformed or unexpected message: the master is trusted, so that is a bug.
 */
void	boot_read_config(const char *procname, struct boot_conf *bc,
	    boot_conf_fn *fn, void *arg);
/* Chroots and drops privileges as configured, then applies profile p. */
void	boot_confine(const struct boot_conf *bc, enum sandbox_profile p);
/*
 * Creates the master channel on BOOT_FD_MASTER, carrying on from the bytes
 * boot_read_config() buffered, with the given handlers.
 */
struct ipc_chan *boot_master_chan(struct event_base *base,
	    struct boot_conf *bc, const struct ipc_handler *handlers,
	    ipc_close_cb *close_cb, void *arg);
/* Tells the master this process is serving. */
void	boot_ready(struct ipc_chan *master);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * listen.h: the master's listening sockets.  Every socket a child serves is
 * bound here, as root, before any child starts; on reload the sockets of
 * listeners that did not change are kept, so no connection is refused while
 * the configuration changes.
 */
#ifndef BULWARK_LISTEN_H
#define BULWARK_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"

struct listen_sock {
	struct conf_listener	 l;	/* copy of the configuration */
	char			 proto[16];	/* "imap"... or "admin" */
	char			 name[128];	/* "127.0.0.1:143", path */
	int			 fd;
	bool			 used;	/* seen in the newest configuration */
};

struct listen_set {
	struct listen_sock	*socks;
	size_t			 n;
};

/*
 * Makes set match conf: keeps sockets whose listener is unchanged, binds
 * new ones (including the admin socket), and closes those no longer wanted.
 * Listeners of protocols for which is_served(proto) is false are skipped and
 * logged.  On failure nothing in set changes, *error_r says which listener
 * failed and why, and -1 is returned.
 */
int	listen_apply(struct listen_set *set, const struct conf *conf,
	    bool (*is_served)(enum conf_proto), const char **error_r);
/* Closes every socket and removes Unix socket files. */
void	listen_close_all(struct listen_set *set);

#endif

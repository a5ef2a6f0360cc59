/* SPDX-License-Identifier: ISC */
/*
 * priv.h: giving up privileges.  A child started by the master as root calls
 * priv_drop() after reading its configuration and before reading a byte from
 * the network: chroot to the given directory, then setgroups, setresgid and
 * setresuid to the unprivileged user, and a check that root cannot be
 * regained.
 */
#ifndef BULWARK_PRIV_H
#define BULWARK_PRIV_H

#include <sys/types.h>

/*
 * Changes root to dir (NULL or "" for none) and becomes uid:gid with gid as
 * the only group.  Dies on any failure: a half-dropped process must not run.
 */
void	priv_drop(const char *dir, uid_t uid, gid_t gid);

#endif

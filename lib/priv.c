/* SPDX-License-Identifier: ISC */
/*
 * priv.c: chroot and user change, checked afterwards.
 */
#include "priv.h"
#include "log.h"

#include <grp.h>
#include <unistd.h>

void
priv_drop(const char *dir, uid_t uid, gid_t gid)
{
	uid_t ruid, euid, suid;

	if (dir != NULL && dir[0] != '\0') {
		if (chroot(dir) == -1)
			fatal("chroot %s", dir);
		if (chdir("/") == -1)
			fatal("chdir /");
	}
	if (setgroups(1, &gid) == -1)
		fatal("setgroups %u", (unsigned)gid);
	if (setresgid(gid, gid, gid) == -1)
		fatal("setresgid %u", (unsigned)gid);
	if (setresuid(uid, uid, uid) == -1)
		fatal("setresuid %u", (unsigned)uid);
	if (getresuid(&ruid, &euid, &suid) == -1 || ruid != uid ||
	    euid != uid || suid != uid)
		fatalx("privilege drop did not take");
	if (uid != 0 && setuid(0) != -1)
		fatalx("root could be regained after the privilege drop");
}

/* SPDX-License-Identifier: ISC */
/*
 * crashsim.h: a crash of the machine, simulated for the files of one
 * directory, for unit tests of what must survive one (LMDB's commits, the
 * redo log).
 *
 * A test binary that links crashsim.c replaces write, writev, pwrite,
 * pwritev, ftruncate, fsync and fdatasync for the whole process, shared
 * libraries included (the executable's definitions come first in the
 * dynamic linker's order, so LMDB's calls arrive here too).  Writes to a
 * file under the directory given to crashsim_watch reach the file as
 * usual, and are also journalled, page by page, beside it
 * (<file>.crashsim-pending); fsync or fdatasync of the file moves its
 * journal into the durable image (<file>.crashsim-durable), without a
 * real sync (a test needs no real durability, and is faster without);
 * a write through a descriptor opened O_DSYNC goes to the image at once.
 *
 * crashsim_crash, run once the process that wrote is dead (SIGKILL),
 * turns every journalled file into what a machine's crash could leave:
 * its durable image, and of the writes never synced a random choice of
 * 4 KiB pieces, applied in order.  Renaming or removing a file
 * (renameat, rename, unlinkat) takes its journal and image along.  Not
 * simulated: directory entries (creating, renaming, removing a file count
 * as durable at once), and writes through a shared writable mapping.
 */
#ifndef BULWARK_CRASHSIM_H
#define BULWARK_CRASHSIM_H

#include <stdint.h>

/* Journals writes to files under dir (an absolute path) from now on. */
void	crashsim_watch(const char *dir);
/*
 * Rewrites each journalled file under dir as a crash could have left it,
 * choosing among unsynced pieces with seed; returns how many pieces of
 * unsynced writes it kept, or -1 on an error.
 */
long	crashsim_crash(const char *dir, uint32_t seed);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * crashsim.c: the simulated crash of crashsim.h.  A journal record is
 * u64 offset, u64 length, the bytes; a length of CRASHSIM_TRUNCATE means
 * "the file's size became offset".  The real calls are made with
 * syscall(2), below anything (libc, the sanitizers) that could come back
 * here.
 */
#include "crashsim.h"

#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CRASHSIM_PENDING	".crashsim-pending"
#define CRASHSIM_DURABLE	".crashsim-durable"
#define CRASHSIM_TRUNCATE	UINT64_MAX
#define CRASHSIM_PIECE		4096u

static char watched[PATH_MAX];
static size_t watched_len;
/*
 * One journal operation at a time: threads of the process may write a
 * file while another syncs it (the store's checkpoint thread).
 */
static pthread_mutex_t lk = PTHREAD_MUTEX_INITIALIZER;

void
crashsim_watch(const char *dir)
{
	snprintf(watched, sizeof(watched), "%s/", dir);
	watched_len = strlen(watched);
}

static ssize_t
sys_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	return syscall(SYS_pwrite64, fd, buf, n, off);
}

static int
sys_open(const char *path, int flags)
{
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC,
	    0600);
}

/* The path fd was opened by, into buf; -1 if it cannot be read. */
static int
fd_path(int fd, char *buf, size_t size)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = (ssize_t)syscall(SYS_readlinkat, AT_FDCWD, link, buf, size - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* path if it names a watched file (not one of ours), else NULL. */
static const char *
watched_name(const char *path)
{
	if (watched_len == 0 || strlen(path) <= watched_len ||
	    strncmp(path, watched, watched_len) != 0 ||
	    strstr(path, ".crashsim-") != NULL)
		return NULL;
	return path;
}

/* The path of fd if it is a watched file, else NULL. */
static const char *
watched_path(int fd, char *buf, size_t size)
{
	if (watched_len == 0 || fd_path(fd, buf, size) == -1)
		return NULL;
	return watched_name(buf);
}

static int
append_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		w = syscall(SYS_write, fd, c, n);
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Journals (or, durable, applies to the image) a write of path. */
static void
note(const char *path, int fd, uint64_t off, const struct iovec *iov,
    int cnt, size_t total)
{
	char side[PATH_MAX + 32];
	uint64_t head[2] = { off, total };
	int flags = (int)syscall(SYS_fcntl, fd, F_GETFL), j, i;
	uint64_t at = off;

	if (flags != -1 && (flags & O_DSYNC) != 0) {
		snprintf(side, sizeof(side), "%s" CRASHSIM_DURABLE, path);
		if ((j = sys_open(side, O_WRONLY | O_CREAT)) == -1)
			abort();
		for (i = 0; i < cnt; i++) {
			if (sys_pwrite(j, iov[i].iov_base, iov[i].iov_len,
			    (off_t)at) != (ssize_t)iov[i].iov_len)
				abort();
			at += iov[i].iov_len;
		}
		syscall(SYS_close, j);
		return;
	}
	snprintf(side, sizeof(side), "%s" CRASHSIM_PENDING, path);
	pthread_mutex_lock(&lk);
	if ((j = sys_open(side, O_WRONLY | O_CREAT | O_APPEND)) == -1 ||
	    append_all(j, head, sizeof(head)) == -1)
		abort();
	for (i = 0; i < cnt && total != CRASHSIM_TRUNCATE; i++)
		if (append_all(j, iov[i].iov_base, iov[i].iov_len) == -1)
			abort();
	syscall(SYS_close, j);
	pthread_mutex_unlock(&lk);
}

/* Applies path's journal to its image (with seed, a random part of it). */
static long
settle(const char *path, int image, uint32_t *seed)
{
	char side[PATH_MAX + 32];
	uint64_t head[2], left, at;
	char piece[CRASHSIM_PIECE];
	long kept = 0;
	size_t n;
	int j;

	snprintf(side, sizeof(side), "%s" CRASHSIM_PENDING, path);
	if ((j = sys_open(side, O_RDONLY)) == -1)
		return 0;
	while (syscall(SYS_read, j, head, sizeof(head)) ==
	    (ssize_t)sizeof(head)) {
		if (head[1] == CRASHSIM_TRUNCATE) {
			if ((seed == NULL || rand_r(seed) % 2 == 0) &&
			    syscall(SYS_ftruncate, image, head[0]) == -1)
				abort();
			continue;
		}
		for (left = head[1], at = head[0]; left > 0; left -= n,
		    at += n) {
			/* Pieces end at page boundaries, as writeback goes. */
			n = CRASHSIM_PIECE - at % CRASHSIM_PIECE;
			if (n > left)
				n = left;
			/* Cut by the kill: a write that never persisted. */
			if (syscall(SYS_read, j, piece, n) != (ssize_t)n)
				goto done;
			if (seed != NULL && rand_r(seed) % 2 != 0)
				continue;
			if (sys_pwrite(image, piece, n, (off_t)at) !=
			    (ssize_t)n)
				abort();
			kept++;
		}
	}
done:
	syscall(SYS_close, j);
	if (syscall(SYS_unlinkat, AT_FDCWD, side, 0) == -1)
		abort();
	return kept;
}

static void
sync_path(const char *path)
{
	char side[PATH_MAX + 32];
	int image;

	snprintf(side, sizeof(side), "%s" CRASHSIM_DURABLE, path);
	pthread_mutex_lock(&lk);
	if ((image = sys_open(side, O_WRONLY | O_CREAT)) == -1)
		abort();
	settle(path, image, NULL);
	syscall(SYS_close, image);
	pthread_mutex_unlock(&lk);
}

/*
 * The absolute path of name relative to dirfd, if it is under the
 * watched directory, else NULL.
 */
static const char *
watched_at(int dirfd, const char *name, char *buf, size_t size)
{
	char dir[PATH_MAX];

	if (watched_len == 0)
		return NULL;
	if (name[0] == '/')
		snprintf(buf, size, "%s", name);
	else if (dirfd == AT_FDCWD || fd_path(dirfd, dir, sizeof(dir)) == -1)
		return NULL;	/* relative to the cwd: not used here */
	else
		snprintf(buf, size, "%s/%s", dir, name);
	return watched_name(buf);
}

/* Moves (to != NULL) or removes the journal and image of from. */
static void
move_sides(const char *from, const char *to)
{
	static const char *const sfx[] = { CRASHSIM_PENDING, CRASHSIM_DURABLE };
	char a[PATH_MAX + 32], b[PATH_MAX + 32];
	size_t i;

	pthread_mutex_lock(&lk);
	for (i = 0; i < 2; i++) {
		snprintf(a, sizeof(a), "%s%s", from, sfx[i]);
		if (to == NULL) {
			(void)syscall(SYS_unlinkat, AT_FDCWD, a, 0);
			continue;
		}
		snprintf(b, sizeof(b), "%s%s", to, sfx[i]);
		if (syscall(SYS_renameat, AT_FDCWD, a, AT_FDCWD, b) == -1)
			(void)syscall(SYS_unlinkat, AT_FDCWD, b, 0);
	}
	pthread_mutex_unlock(&lk);
}

/* Renaming and removing a file take its journal and image along. */
int
renameat(int fd1, const char *old, int fd2, const char *new)
{
	char a[PATH_MAX + 300], b[PATH_MAX + 300];
	const char *pa = watched_at(fd1, old, a, sizeof(a));
	const char *pb = watched_at(fd2, new, b, sizeof(b));
	int rc = (int)syscall(SYS_renameat, fd1, old, fd2, new);

	if (rc == 0 && pa != NULL && pb != NULL)
		move_sides(pa, pb);
	return rc;
}

int
rename(const char *old, const char *new)
{
	return renameat(AT_FDCWD, old, AT_FDCWD, new);
}

int
unlinkat(int fd, const char *name, int flags)
{
	char a[PATH_MAX + 300];
	const char *pa = watched_at(fd, name, a, sizeof(a));
	int rc = (int)syscall(SYS_unlinkat, fd, name, flags);

	if (rc == 0 && pa != NULL && flags == 0)
		move_sides(pa, NULL);
	return rc;
}

ssize_t
pwrite(int fd, const void *buf, size_t n, off_t off)
{
	char path[PATH_MAX];
	struct iovec v = { (void *)buf, n };
	ssize_t w = sys_pwrite(fd, buf, n, off);

	if (w > 0 && watched_path(fd, path, sizeof(path)) != NULL) {
		v.iov_len = (size_t)w;
		note(path, fd, (uint64_t)off, &v, 1, (size_t)w);
	}
	return w;
}

ssize_t pwrite64(int, const void *, size_t, off_t);

ssize_t
pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	return pwrite(fd, buf, n, off);
}

/* The first w bytes of iov, as iovecs in out (at most cnt). */
static int
trim(const struct iovec *iov, int cnt, size_t w, struct iovec *out)
{
	int i;

	for (i = 0; i < cnt && w > 0; i++) {
		out[i] = iov[i];
		if (out[i].iov_len > w)
			out[i].iov_len = w;
		w -= out[i].iov_len;
	}
	return i;
}

ssize_t
pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	char path[PATH_MAX];
	struct iovec v[IOV_MAX];
	ssize_t w = syscall(SYS_pwritev, fd, iov, cnt, off, 0);

	if (w > 0 && cnt <= IOV_MAX &&
	    watched_path(fd, path, sizeof(path)) != NULL)
		note(path, fd, (uint64_t)off, v, trim(iov, cnt, (size_t)w, v),
		    (size_t)w);
	return w;
}

ssize_t pwritev64(int, const struct iovec *, int, off_t);

ssize_t
pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return pwritev(fd, iov, cnt, off);
}

ssize_t
writev(int fd, const struct iovec *iov, int cnt)
{
	char path[PATH_MAX];
	struct iovec v[IOV_MAX];
	off_t off = (off_t)syscall(SYS_lseek, fd, 0, SEEK_CUR);
	ssize_t w = syscall(SYS_writev, fd, iov, cnt);

	if (w > 0 && off != -1 && cnt <= IOV_MAX &&
	    watched_path(fd, path, sizeof(path)) != NULL)
		note(path, fd, (uint64_t)off, v, trim(iov, cnt, (size_t)w, v),
		    (size_t)w);
	return w;
}

ssize_t
write(int fd, const void *buf, size_t n)
{
	struct iovec v = { (void *)buf, n };

	return writev(fd, &v, 1);
}

int
ftruncate(int fd, off_t len)
{
	char path[PATH_MAX];
	int rc = (int)syscall(SYS_ftruncate, fd, len);

	if (rc == 0 && watched_path(fd, path, sizeof(path)) != NULL)
		note(path, fd, (uint64_t)len, NULL, 0, CRASHSIM_TRUNCATE);
	return rc;
}

int
fdatasync(int fd)
{
	char path[PATH_MAX];

	if (watched_path(fd, path, sizeof(path)) != NULL)
		sync_path(path);
	return 0;
}

int
fsync(int fd)
{
	return fdatasync(fd);
}

long
crashsim_crash(const char *dir, uint32_t seed)
{
	char path[PATH_MAX + 300], side[PATH_MAX + 340];
	struct dirent *de;
	struct stat sb;
	long kept = 0;
	DIR *d;
	int f;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strstr(de->d_name, ".crashsim-") != NULL ||
		    de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		snprintf(side, sizeof(side), "%s" CRASHSIM_DURABLE, path);
		if (stat(side, &sb) == -1) {
			snprintf(side, sizeof(side), "%s" CRASHSIM_PENDING,
			    path);
			if (stat(side, &sb) == -1)
				continue;	/* never written here */
			/* Never synced: it starts empty. */
			snprintf(side, sizeof(side), "%s" CRASHSIM_DURABLE,
			    path);
			if ((f = sys_open(side, O_WRONLY | O_CREAT)) == -1)
				return closedir(d), -1;
			syscall(SYS_close, f);
		}
		if ((f = sys_open(side, O_RDWR)) == -1)
			return closedir(d), -1;
		kept += settle(path, f, &seed);
		syscall(SYS_close, f);
		if (syscall(SYS_renameat, AT_FDCWD, side, AT_FDCWD, path) ==
		    -1)
			return closedir(d), -1;
	}
	closedir(d);
	return kept;
}

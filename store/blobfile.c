/* SPDX-License-Identifier: ISC */
/*
 * blobfile.c: the files of big blobs (see blobfile.h).  Unlinks wait on a
 * list tagged with the id of the write transaction that dropped each file,
 * or renamed it in (its operation may still be aborted):
 * LMDB serializes write transactions but another one (the loop's, the
 * writer thread's) may begin the moment a commit returns, so each entry
 * gets a number as it is listed, and the list is processed only up to
 * the number it stood at when the last successful commit began (the
 * entries of transactions that have ended: committed, aborted, or that
 * changed nothing, which LMDB commits without a new id), each name
 * checked against the committed index (a name it holds stays); a later
 * transaction that renames the name in replaces its entry under the same
 * mutex.  An aborted write transaction's entries wait for the next
 * commit.
 */
#include "blobfile.h"
#include "log.h"
#include "xmalloc.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

struct blobfile_gone {
	uint8_t		 hash[MSG_HASH_LEN];
	uint64_t	 txnid;
	uint64_t	 seq;		/* when it was listed */
};

/* A read transaction that is open, and the snapshot it reads. */
struct blobfile_reader {
	MDB_txn		*txn;
	uint64_t	 id;
};

struct blobfile {
	int			 dirfd;		/* blobs/ */
	int			 tmpfd;		/* blobs/tmp/ */
	pthread_mutex_t		 mtx;
	/* Renamed into blobs/ since the last sync, by this write txn id. */
	bool			 dirty;
	uint64_t		 dirty_txnid;
	struct blobfile_gone	*gone;
	size_t			 ngone, capgone;
	uint64_t		 seq;		/* of the last entry listed */
	uint64_t		 resolved;	/* entries up to it are done */
	/* Open read transactions (blobfile_reader_begin). */
	struct blobfile_reader	*readers;
	size_t			 nreaders, capreaders;
};

static void
blobfile_hex(const uint8_t *hash, char name[BLOBFILE_NAME_LEN])
{
	sodium_bin2hex(name, BLOBFILE_NAME_LEN, hash, MSG_HASH_LEN);
}

/* Opens directory name under at, making it first if missing; -1: errno. */
static int
blobfile_opendir(int at, const char *name)
{
	if (mkdirat(at, name, 0700) == -1 && errno != EEXIST)
		return -1;
	return openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int
blobfile_open(struct store_db *db, const char *dir, struct store_error *err)
{
	struct blobfile *bf;
	int top;

	if ((top = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		db_error(err, IPC_S_INTERNAL, "open %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	bf = xcalloc(1, sizeof(*bf));
	bf->tmpfd = -1;
	if ((bf->dirfd = blobfile_opendir(top, BLOBFILE_DIR)) == -1 ||
	    (bf->tmpfd = blobfile_opendir(bf->dirfd, BLOBFILE_TMPDIR)) ==
	    -1) {
		db_error(err, IPC_S_INTERNAL, "blob directory in %s: %s", dir,
		    strerror(errno));
		if (bf->dirfd != -1)
			close(bf->dirfd);
		free(bf);
		close(top);
		return -1;
	}
	/* The new directories themselves must survive a crash. */
	(void)fsync(bf->dirfd);
	(void)fsync(top);
	close(top);
	pthread_mutex_init(&bf->mtx, NULL);
	db->files = bf;
	return 0;
}

void
blobfile_close(struct store_db *db)
{
	struct blobfile *bf = db->files;

	db->files = NULL;
	if (bf == NULL)
		return;
	close(bf->dirfd);
	close(bf->tmpfd);
	pthread_mutex_destroy(&bf->mtx);
	free(bf->gone);
	free(bf->readers);
	free(bf);
}

/* Writes all of [p, p + len) to fd; -1 with errno (0 for a short disk). */
static int
blobfile_write_all(int fd, const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ENOSPC;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

enum ipc_status
blobfile_tmp_write(struct blobfile *bf, const void *p, size_t len,
    struct blob_tmp *t, struct store_error *err)
{
	enum ipc_status st;
	int fd;

	if ((st = blobfile_tmp_start(bf, p, len, t, &fd, err)) != IPC_S_OK)
		return st;
	return blobfile_tmp_finish(bf, t, fd, true, err);
}

enum ipc_status
blobfile_tmp_start(struct blobfile *bf, const void *p, size_t len,
    struct blob_tmp *t, int *fd_r, struct store_error *err)
{
	uint8_t rnd[MSG_HASH_LEN];
	int fd, e;

	randombytes_buf(rnd, sizeof(rnd));
	blobfile_hex(rnd, t->name);
	t->linked = false;
	fd = openat(bf->tmpfd, t->name, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0600);
	if (fd == -1) {
		e = errno;
		t->name[0] = '\0';
		return db_error(err, IPC_S_INTERNAL, "blob file create: %s",
		    strerror(e));
	}
	if (blobfile_write_all(fd, p, len) == -1) {
		e = errno;
		close(fd);
		blobfile_tmp_discard(bf, t);
		log_warnx("blob file write failed: %s", strerror(e));
		return db_error(err, IPC_S_INTERNAL, "blob file write: %s",
		    strerror(e));
	}
	/* The disk starts on it now; blobfile_tmp_finish waits for it. */
	(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	*fd_r = fd;
	return IPC_S_OK;
}

enum ipc_status
blobfile_tmp_finish(struct blobfile *bf, struct blob_tmp *t, int fd,
    bool keep, struct store_error *err)
{
	int e;

	if (!keep) {
		close(fd);
		blobfile_tmp_discard(bf, t);
		return IPC_S_OK;
	}
	if (fdatasync(fd) == -1) {
		e = errno;
		close(fd);
		blobfile_tmp_discard(bf, t);
		log_warnx("blob file sync failed: %s", strerror(e));
		return db_error(err, IPC_S_INTERNAL, "blob file sync: %s",
		    strerror(e));
	}
	close(fd);
	return IPC_S_OK;
}

void
blobfile_tmp_discard(struct blobfile *bf, struct blob_tmp *t)
{
	if (bf != NULL && t->name[0] != '\0' && !t->linked &&
	    unlinkat(bf->tmpfd, t->name, 0) == -1 && errno != ENOENT)
		log_warnx("blob tmp file %s: unlink: %s", t->name,
		    strerror(errno));
	t->name[0] = '\0';
	t->linked = false;
}

/* Drops the pending unlink of hash, if any (called locked). */
static void
blobfile_cancel(struct blobfile *bf, const uint8_t *hash)
{
	size_t i;

	for (i = 0; i < bf->ngone; )
		if (memcmp(bf->gone[i].hash, hash, MSG_HASH_LEN) == 0)
			bf->gone[i] = bf->gone[--bf->ngone];
		else
			i++;
}

/*
 * Makes hash the name to check after the commit of txnid, in place of any
 * earlier entry (called locked).
 */
static void
blobfile_check_later(struct blobfile *bf, uint64_t txnid,
    const uint8_t *hash)
{
	blobfile_cancel(bf, hash);
	if (bf->ngone == bf->capgone) {
		bf->capgone = bf->capgone > 0 ? bf->capgone * 2 : 16;
		bf->gone = xreallocarray(bf->gone, bf->capgone,
		    sizeof(*bf->gone));
	}
	memcpy(bf->gone[bf->ngone].hash, hash, MSG_HASH_LEN);
	bf->gone[bf->ngone].txnid = txnid;
	bf->gone[bf->ngone].seq = ++bf->seq;
	bf->ngone++;
}

enum ipc_status
blobfile_link(struct blobfile *bf, uint64_t txnid,
    const uint8_t hash[MSG_HASH_LEN], struct blob_tmp *t,
    struct store_error *err)
{
	char name[BLOBFILE_NAME_LEN];
	int rc, e;

	blobfile_hex(hash, name);
	pthread_mutex_lock(&bf->mtx);
	/*
	 * An existing name holds the same bytes (it is their hash), left by
	 * an aborted transaction or dropped and not unlinked yet: replacing
	 * it is atomic and costs no check.
	 */
	rc = renameat(bf->tmpfd, t->name, bf->dirfd, name);
	e = errno;
	if (rc == 0) {
		/*
		 * Checked after the commit too: if the operation's nested
		 * transaction or the whole one is aborted, nothing indexes
		 * the file and it goes then, not at the next start.
		 */
		blobfile_check_later(bf, txnid, hash);
		bf->dirty = true;
		if (txnid > bf->dirty_txnid)
			bf->dirty_txnid = txnid;
		t->linked = true;
	}
	pthread_mutex_unlock(&bf->mtx);
	if (rc == -1)
		return db_error(err, IPC_S_INTERNAL, "blob file rename: %s",
		    strerror(e));
	return IPC_S_OK;
}

void
blobfile_gone(struct blobfile *bf, uint64_t txnid,
    const uint8_t hash[MSG_HASH_LEN])
{
	pthread_mutex_lock(&bf->mtx);
	blobfile_check_later(bf, txnid, hash);
	pthread_mutex_unlock(&bf->mtx);
}

int
blobfile_pre_commit(struct blobfile *bf, uint64_t txnid, uint64_t *mark_r,
    struct store_error *err)
{
	bool dirty;

	pthread_mutex_lock(&bf->mtx);
	dirty = bf->dirty && txnid >= bf->dirty_txnid;
	if (dirty)
		bf->dirty = false;
	/* Listed so far: by this transaction, or ones that ended. */
	*mark_r = bf->seq;
	pthread_mutex_unlock(&bf->mtx);
	if (dirty && fsync(bf->dirfd) == -1) {
		pthread_mutex_lock(&bf->mtx);
		bf->dirty = true;
		pthread_mutex_unlock(&bf->mtx);
		db_error(err, IPC_S_INTERNAL, "blob directory sync: %s",
		    strerror(errno));
		log_warnx("%s", err->text);
		return -1;
	}
	return 0;
}

/* Whether the committed index holds hash (true on doubt: keep the file). */
static bool
blobfile_indexed(struct store_db *db, MDB_txn *txn, const uint8_t *hash)
{
	MDB_val k = { MSG_HASH_LEN, (void *)hash }, d;

	return txn == NULL || mdb_get(txn, db->blob_files, &k, &d) !=
	    MDB_NOTFOUND;
}

/*
 * Whether a read transaction that began before write transaction txnid
 * committed is still open (called locked): it may still find and open a
 * file that txnid dropped.
 */
static bool
blobfile_read_before(const struct blobfile *bf, uint64_t txnid)
{
	size_t i;

	for (i = 0; i < bf->nreaders; i++)
		if (bf->readers[i].id < txnid)
			return true;
	return false;
}

/*
 * Unlinks the files dropped by committed transactions that the committed
 * index no longer holds and that no open read transaction can still find;
 * the rest wait for a later commit or the end of a reader.
 */
static void
blobfile_reap(struct store_db *db)
{
	struct blobfile *bf = db->files;
	char name[BLOBFILE_NAME_LEN];
	MDB_txn *txn = NULL;
	size_t i;

	pthread_mutex_lock(&bf->mtx);
	if (bf->ngone == 0 ||
	    mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn) != 0) {
		pthread_mutex_unlock(&bf->mtx);
		return;		/* no read transaction: try later */
	}
	for (i = 0; i < bf->ngone; ) {
		if (bf->gone[i].seq > bf->resolved) {
			i++;	/* its transaction may be under way */
			continue;
		}
		if (!blobfile_indexed(db, txn, bf->gone[i].hash)) {
			if (blobfile_read_before(bf, bf->gone[i].txnid)) {
				i++;	/* a reader may open it yet */
				continue;
			}
			blobfile_hex(bf->gone[i].hash, name);
			if (unlinkat(bf->dirfd, name, 0) == -1 &&
			    errno != ENOENT)
				log_warnx("blob file %s: unlink: %s", name,
				    strerror(errno));
		}
		bf->gone[i] = bf->gone[--bf->ngone];
	}
	pthread_mutex_unlock(&bf->mtx);
	mdb_txn_abort(txn);
}

void
blobfile_post_commit(struct store_db *db, uint64_t mark)
{
	struct blobfile *bf = db->files;

	pthread_mutex_lock(&bf->mtx);
	if (mark > bf->resolved)
		bf->resolved = mark;
	pthread_mutex_unlock(&bf->mtx);
	blobfile_reap(db);
}

bool
blobfile_is_reader(struct blobfile *bf, MDB_txn *txn)
{
	bool found = false;
	size_t i;

	pthread_mutex_lock(&bf->mtx);
	for (i = 0; i < bf->nreaders && !found; i++)
		found = bf->readers[i].txn == txn;
	pthread_mutex_unlock(&bf->mtx);
	return found;
}

int
blobfile_reader_begin(struct blobfile *bf, MDB_env *env, MDB_txn **txn_r)
{
	int rc;

	/*
	 * Begun and counted under the lock, so that no reap sees the
	 * snapshot taken and the reader not yet counted.
	 */
	pthread_mutex_lock(&bf->mtx);
	if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, txn_r)) == 0) {
		if (bf->nreaders == bf->capreaders) {
			bf->capreaders = bf->capreaders > 0 ?
			    bf->capreaders * 2 : 16;
			bf->readers = xreallocarray(bf->readers,
			    bf->capreaders, sizeof(*bf->readers));
		}
		bf->readers[bf->nreaders].txn = *txn_r;
		bf->readers[bf->nreaders++].id = mdb_txn_id(*txn_r);
	}
	pthread_mutex_unlock(&bf->mtx);
	return rc;
}

void
blobfile_reader_end(struct store_db *db, MDB_txn *txn)
{
	struct blobfile *bf = db->files;
	bool reap = false;
	uint64_t id;
	size_t i;

	pthread_mutex_lock(&bf->mtx);
	for (i = 0; i < bf->nreaders; i++)
		if (bf->readers[i].txn == txn) {
			id = bf->readers[i].id;
			bf->readers[i] = bf->readers[--bf->nreaders];
			/* Only the end of the oldest reader lets files go. */
			reap = bf->ngone > 0 && !blobfile_read_before(bf, id);
			break;
		}
	pthread_mutex_unlock(&bf->mtx);
	if (reap)
		blobfile_reap(db);
}

enum ipc_status
blobfile_open_fd(struct blobfile *bf, const uint8_t hash[MSG_HASH_LEN],
    int *fd_r, struct store_error *err)
{
	char name[BLOBFILE_NAME_LEN];

	blobfile_hex(hash, name);
	if ((*fd_r = openat(bf->dirfd, name, O_RDONLY | O_CLOEXEC)) != -1)
		return IPC_S_OK;
	if (errno == ENOENT)
		return db_error(err, IPC_S_NOTFOUND, "no such blob file");
	return db_error(err, IPC_S_INTERNAL, "blob file %s: %s", name,
	    strerror(errno));
}

/* Unlinks every entry of directory fd but its subdirectories. */
static void
blobfile_sweep_dir(int fd, struct store_db *db, MDB_txn *txn, bool tmp,
    struct blobfile_sweep_stats *st)
{
	uint8_t hash[MSG_HASH_LEN];
	struct dirent *de;
	DIR *d;
	int dfd;

	/* Its own descriptor, for closedir (no dup in the sandbox). */
	if ((dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (d = fdopendir(dfd)) == NULL) {
		log_warnx("blob sweep: %s", strerror(errno));
		if (dfd != -1)
			close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || (!tmp &&
		    strcmp(de->d_name, BLOBFILE_TMPDIR) == 0))
			continue;
		if (!tmp && strlen(de->d_name) == 2 * MSG_HASH_LEN &&
		    sodium_hex2bin(hash, sizeof(hash), de->d_name,
		    2 * MSG_HASH_LEN, NULL, NULL, NULL) == 0 &&
		    blobfile_indexed(db, txn, hash)) {
			st->kept++;
			continue;
		}
		if (unlinkat(fd, de->d_name, 0) == -1) {
			log_warnx("blob sweep %s: %s", de->d_name,
			    strerror(errno));
			continue;
		}
		if (tmp)
			st->tmp++;
		else
			st->orphans++;
	}
	closedir(d);
}

/* Counts the index entries without a file, and logs the first few. */
static int
blobfile_sweep_missing_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct { struct blobfile *bf; struct blobfile_sweep_stats *st; }
	    *a = arg;
	char name[BLOBFILE_NAME_LEN];
	struct stat sb;

	(void)v;
	if (k->mv_size != MSG_HASH_LEN)
		return 0;
	blobfile_hex(k->mv_data, name);
	if (fstatat(a->bf->dirfd, name, &sb, 0) == -1 &&
	    a->st->missing++ < 10)
		log_warnx("blob file %s is missing", name);
	return 0;
}

enum ipc_status
blobfile_sweep(struct store_db *db, struct blobfile_sweep_stats *st,
    struct store_error *err)
{
	struct { struct blobfile *bf; struct blobfile_sweep_stats *st; }
	    a = { db->files, st };
	enum ipc_status s;
	MDB_txn *txn;

	memset(st, 0, sizeof(*st));
	if ((s = db_begin(db, false, &txn, err)) != IPC_S_OK)
		return s;
	blobfile_sweep_dir(db->files->tmpfd, db, txn, true, st);
	blobfile_sweep_dir(db->files->dirfd, db, txn, false, st);
	s = db_scan(txn, db->blob_files, NULL, 0, blobfile_sweep_missing_cb,
	    &a, err);
	db_abort(&txn);
	if (st->tmp + st->orphans > 0 && fsync(db->files->dirfd) == -1)
		log_warnx("blob sweep: directory sync: %s", strerror(errno));
	return s;
}

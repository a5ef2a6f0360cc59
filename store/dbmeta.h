/* SPDX-License-Identifier: ISC */
/*
 * dbmeta.h: LMDB's meta pages, saved at a checkpoint of the redo log and
 * written back by its recovery (dblog.h).
 *
 * An LMDB environment finds its newest snapshot through two meta pages at
 * the start of data.mdb, and opened with MDB_NOSYNC it writes them, and
 * the pages they point to, without syncing: after a crash of the machine
 * the file may hold a meta page whose pages never reached the disk.  The
 * redo log therefore never trusts them.  At each checkpoint, once the data
 * file is synced, the meta page of the checkpoint's transaction is saved
 * in the log (dbmeta_save); a read transaction kept open on that snapshot
 * stops LMDB from reusing its pages; and recovery writes the saved page
 * back into both slots (dbmeta_restore) before it opens the environment,
 * which then starts from that snapshot.
 *
 * The layout read here is LMDB 0.9's on-disk format (page header, then
 * MDB_meta: magic, version, ..., last page, transaction id), which LMDB
 * keeps stable within a data version; dbmeta_save checks the magic, the
 * version and the meta flag, and that the id it finds is the one
 * mdb_env_info reports, and refuses otherwise.
 */
#ifndef BULWARK_DBMETA_H
#define BULWARK_DBMETA_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "db.h"

/* Largest page size handled (LMDB's default is the OS page size). */
#define DBMETA_PAGE_MAX		16384u

/*
 * Copies the meta page of transaction txnid from env's data file (synced
 * by the caller) into buf (cap bytes, at least the page size).  Returns
 * 0 with *len_r the page size, or -1 with err (no meta page holds txnid,
 * or the format is not the one known here).
 */
int	dbmeta_save(MDB_env *env, uint64_t txnid, void *buf, size_t cap,
	    size_t *len_r, struct store_error *err);
/*
 * Writes meta, a page from dbmeta_save, into both meta slots of the data
 * file path (not open in any environment) and syncs it.  Returns 0, or
 * -1 with err.
 */
int	dbmeta_restore(const char *path, const void *meta, size_t len,
	    struct store_error *err);
/* The transaction id a saved meta page names (0 if it is not one). */
uint64_t dbmeta_txnid(const void *meta, size_t len);

#endif

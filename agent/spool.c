/* SPDX-License-Identifier: MIT */
/*
 * The durable event spool on SQLite (see spool.h and docs/spool.md).
 *
 * One connection, one lazily opened write transaction (BEGIN IMMEDIATE)
 * that collects appends, PUBACK deletes and overflow drops until the caller
 * commits. Rowids are assigned here from a counter (max(rowid) + 1 at open),
 * so they increase within the process even when the newest rows have been
 * deleted or a transaction was rolled back: that makes them the append
 * sequence numbers and lets a per-priority cursor never miss a row.
 * Everything the stats need is counted in memory (committed counts plus the
 * open transaction's deltas, which a rollback discards).
 */
#include "spool.h"

#include "clock.h"
#include "log.h"
#include "spool_salvage.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define SPOOL_APP_ID 0x534c5350 /* "SLSP" in PRAGMA application_id */
#define SPOOL_SCHEMA_VERSION 1  /* PRAGMA user_version */
#define SPOOL_BUSY_MS 250
#define SPOOL_CACHE_KIB 512
#define SPOOL_DROP_CHUNK 64
#define SPOOL_ROW_OVERHEAD 64   /* record header, cell pointer, index entry */
#define SPOOL_WAL_MAX_PAGES 1000
#define SPOOL_WAL_MIN_PAGES 64
#define SPOOL_WAL_FS_MIN_PAGES 16      /* floor of the WAL bound a small file system sets */
#define SPOOL_REDO_MAX 65536           /* rolled-back deletes remembered; beyond: rewind */
#define SPOOL_RETRY_MIN_MS 100         /* first retry of a failed commit of deletes */
#define SPOOL_RETRY_MAX_MS 5000
#define SPOOL_RESERVE_MIN (64u * 1024u)        /* headroom kept on the file system, */
#define SPOOL_RESERVE_MAX (8u * 1024u * 1024u) /* 1/16 of its size within these bounds */
#define SPOOL_FS_CHECK_MS 1000         /* statvfs at least this often while appending */
#define SPOOL_KEY_PRUNE_CHUNK 16 /* expired keys deleted per key added */

static const struct {
	const char *name;
	unsigned char prio;
	bool droppable;
} spool_classes[SL_CLASS__COUNT] = {
	[SL_CLASS_PURCHASE] = { "purchase", 0, false },
	[SL_CLASS_LOYALTY] = { "loyalty_scan", 0, false },
	[SL_CLASS_PRESENCE] = { "presence", 2, true },
	[SL_CLASS_FOOTFALL] = { "footfall", 1, true },
	[SL_CLASS_STATUS] = { "status", 1, true },
};

/* Which droppable rows go first when the cap is reached. */
static const enum sl_event_class spool_drop_order[] = {
	SL_CLASS_PRESENCE, SL_CLASS_STATUS, SL_CLASS_FOOTFALL,
};

enum spool_stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_INSERT,
	ST_DELETE,
	ST_DROP,
	ST_FETCH,
	ST_PAGE_COUNT,
	ST_FREELIST,
	ST_OLDEST,
	ST__COUNT
};

static const char *const spool_sql[ST__COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_INSERT] = "INSERT INTO events(rowid, prio, class, id, type, created_us, payload)"
		      " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_DELETE] = "DELETE FROM events WHERE rowid = ?1 RETURNING class",
	[ST_DROP] = "DELETE FROM events WHERE rowid IN (SELECT rowid FROM events"
		    " WHERE prio = ?1 AND class = ?2 ORDER BY rowid LIMIT ?3)",
	[ST_FETCH] = "SELECT rowid, class, id, type, created_us, payload FROM events"
		     " WHERE prio = ?1 AND rowid > ?2 AND rowid <= ?3 ORDER BY rowid LIMIT ?4",
	[ST_PAGE_COUNT] = "PRAGMA page_count",
	[ST_FREELIST] = "PRAGMA freelist_count",
	[ST_OLDEST] = "SELECT created_us, rowid FROM events ORDER BY rowid LIMIT 1",
};

/* Idempotency keys: their own table and statements (see "keys" below). */
enum spool_key_stmt {
	KS_FIND,
	KS_ADD,
	KS_PRUNE,
	KS_COUNT,
	KS__COUNT
};

static const char *const spool_key_sql[KS__COUNT] = {
	[KS_FIND] = "SELECT id, seq FROM dedup WHERE key = ?1 AND created_us >= ?2",
	[KS_ADD] = "INSERT OR REPLACE INTO dedup(key, id, seq, created_us) VALUES(?1, ?2, ?3, ?4)",
	[KS_PRUNE] = ("DELETE FROM dedup WHERE key IN (SELECT key FROM dedup"
		      " WHERE created_us < ?1 OR created_us > ?2 LIMIT ?3)"),
	[KS_COUNT] = "SELECT count(*) FROM dedup",
};

static const char spool_key_schema_sql[] =
	"CREATE TABLE IF NOT EXISTS dedup("
	" key BLOB PRIMARY KEY,"
	" id TEXT NOT NULL,"
	" seq INTEGER NOT NULL,"
	" created_us INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS dedup_created ON dedup(created_us);";

static const char spool_schema_sql[] =
	"CREATE TABLE IF NOT EXISTS events("
	" rowid INTEGER PRIMARY KEY,"
	" prio INTEGER NOT NULL,"
	" class INTEGER NOT NULL,"
	" id TEXT NOT NULL,"
	" type TEXT NOT NULL,"
	" created_us INTEGER NOT NULL,"
	" payload BLOB NOT NULL);"
	"CREATE INDEX IF NOT EXISTS events_prio ON events(prio, rowid);";

struct sl_spool {
	sqlite3 *db;
	sqlite3_stmt *st[ST__COUNT];
	uint64_t cap_bytes;      /* 0 = unlimited */
	uint64_t page_size;
	uint32_t commit_ms;
	uint32_t commit_max;

	int64_t next_rowid;      /* next sequence number; never reused within the process */
	int64_t committed_max;   /* highest durable rowid; fetch never goes above it */
	uint64_t depth[SL_CLASS__COUNT];   /* committed rows per class */
	uint64_t dropped[SL_CLASS__COUNT]; /* committed drops since open */
	uint64_t gen;            /* bumped when a rollback resurrects deleted rows */
	uint64_t commits;
	uint64_t commit_failures;

	/* The open write transaction; all zero when in_txn is false. */
	bool in_txn;
	uint64_t txn_start_ms;   /* sl_mono_ms() at BEGIN */
	size_t txn_ops;          /* appends + deletes + drop chunks */
	size_t txn_appends;
	size_t txn_removals;     /* rows deleted or dropped (a rollback brings them back) */
	int64_t txn_max_rowid;   /* highest rowid appended, 0 if none */
	int64_t txn_depth[SL_CLASS__COUNT];
	uint64_t txn_dropped[SL_CLASS__COUNT];

	int txn_err;             /* -errno: SQLite lost a transaction holding appends; next commit reports it */
	uint64_t used_bound;     /* >= bytes of pages in use; 0 = unknown, measure */

	/* PUBACK deletes: those of the open transaction, and those a failed
	 * commit rolled back, which the next commit applies again (the rows
	 * were acknowledged by the broker: sending them again is not needed). */
	int64_t *txn_del;        /* rowids deleted in the open transaction */
	size_t txn_ndel, txn_del_cap;
	uint64_t txn_deleted[SL_CLASS__COUNT]; /* PUBACK deletes per class in the open transaction */
	uint64_t deleted[SL_CLASS__COUNT];     /* durable PUBACK deletes since open */
	int64_t *redo;           /* deletes to apply again; never more than SPOOL_REDO_MAX */
	size_t nredo, redo_cap;
	uint64_t retry_at_ms;    /* sl_mono_ms() when the deletes are retried */
	unsigned retry_streak;   /* failed commits in a row (backoff) */

	/* Headroom on the file system (docs/spool.md "Disk full"): a reserve
	 * file given back when the disk is full, and appends refused while
	 * less than reserve_bytes are free. */
	char *path;              /* the database file */
	char *reserve_path;      /* {path}.reserve */
	uint64_t reserve_bytes;
	bool reserve_held;       /* the reserve file holds reserve_bytes */
	bool fs_low;             /* less than reserve_bytes free (or the reserve was given back) */
	uint64_t fs_checked_ms;  /* last statvfs */
	uint64_t fs_appended;    /* bytes appended since */
	/* Ages (see spool_oldest_age): rows from rowid first_rowid on were
	 * stamped by this process's elapsed clock, older ones by an earlier run. */
	int64_t first_rowid;
	uint64_t open_us;        /* sl_clock_elapsed_us() at open */

	sqlite3_stmt *kst[KS__COUNT]; /* idempotency keys (see "keys" below) */
};

const char *sl_event_class_name(enum sl_event_class c)
{
	if ((unsigned)c >= SL_CLASS__COUNT)
		return NULL;
	return spool_classes[c].name;
}

int sl_event_class_priority(enum sl_event_class c)
{
	if ((unsigned)c >= SL_CLASS__COUNT)
		return -EINVAL;
	return spool_classes[c].prio;
}

bool sl_event_class_droppable(enum sl_event_class c)
{
	return (unsigned)c < SL_CLASS__COUNT && spool_classes[c].droppable;
}

/* Maps an SQLite result code to -errno. */
static int spool_errno(sqlite3 *db, int rc)
{
	int sys;

	switch (rc & 0xff) {
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EUCLEAN;
	case SQLITE_TOOBIG:
		return -EMSGSIZE;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
		sys = db ? sqlite3_system_errno(db) : 0;
		if (sys == EDQUOT)
			return -ENOSPC;
		return sys > 0 ? -sys : -EIO;
	default:
		return -EIO;
	}
}

static int spool_exec(sqlite3 *db, const char *sql)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK) {
		sl_debug("spool: \"%s\": %s", sql, sqlite3_errmsg(db));
		return spool_errno(db, rc);
	}
	return 0;
}

/* Runs a statement returning one integer (a pragma); 0 or -errno. */
static int spool_query_int(sqlite3 *db, const char *sql, int64_t *ret)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return spool_errno(db, rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		*ret = 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return spool_errno(db, rc);
	return 0;
}

/* Steps a prepared statement that returns no row; resets it. */
static int spool_step_done(struct sl_spool *sp, enum spool_stmt s)
{
	sqlite3_stmt *st = sp->st[s];
	int rc;

	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		sl_debug("spool: %s: %s", spool_sql[s], sqlite3_errmsg(sp->db));
		return spool_errno(sp->db, rc);
	}
	return 0;
}

static int spool_step_int(struct sl_spool *sp, enum spool_stmt s, int64_t *ret)
{
	sqlite3_stmt *st = sp->st[s];
	int rc;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		*ret = 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return spool_errno(sp->db, rc);
	return 0;
}

static void spool_finalize(struct sl_spool *sp)
{
	for (int i = 0; i < ST__COUNT; i++) {
		sqlite3_finalize(sp->st[i]);
		sp->st[i] = NULL;
	}
	for (int i = 0; i < KS__COUNT; i++) {
		sqlite3_finalize(sp->kst[i]);
		sp->kst[i] = NULL;
	}
}

static void spool_close_db(struct sl_spool *sp)
{
	spool_finalize(sp);
	sqlite3_close_v2(sp->db);
	sp->db = NULL;
}

/* Database pages in use (the file may hold free pages beyond them). */
static int spool_used_bytes(struct sl_spool *sp, uint64_t *ret)
{
	int64_t pages, free_pages;
	int rc;

	rc = spool_step_int(sp, ST_PAGE_COUNT, &pages);
	if (rc < 0)
		return rc;
	rc = spool_step_int(sp, ST_FREELIST, &free_pages);
	if (rc < 0)
		return rc;
	if (free_pages > pages)
		free_pages = pages;
	*ret = (uint64_t)(pages - free_pages) * sp->page_size;
	return 0;
}

static void spool_schedule_retry(struct sl_spool *sp, bool now);
static int spool_delete_row(struct sl_spool *sp, int64_t rowid);

/* ---- headroom on the file system ---- */

/* statvfs of the spool's file system: the file, or its directory before
 * the file exists. */
static int spool_statvfs(const struct sl_spool *sp, struct statvfs *vfs)
{
	char dir[PATH_MAX], *slash;

	if (statvfs(sp->path, vfs) == 0)
		return 0;
	snprintf(dir, sizeof(dir), "%s", sp->path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	return statvfs(dir, vfs) < 0 ? -errno : 0;
}

/* Allocates the reserve file; 0 or -errno (-ENOSPC: no room for it). */
static int spool_reserve_take(struct sl_spool *sp)
{
	int fd, rc;

	fd = open(sp->reserve_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	rc = posix_fallocate(fd, 0, (off_t)sp->reserve_bytes);
	close(fd);
	if (rc) {
		(void)unlink(sp->reserve_path);
		return rc == EDQUOT ? -ENOSPC : -rc;
	}
	sp->reserve_held = true;
	return 0;
}

/* Gives the reserve back to the file system; true if there was one. Appends
 * stay refused until it could be taken again. */
static bool spool_reserve_release(struct sl_spool *sp)
{
	if (!sp->reserve_held)
		return false;
	(void)unlink(sp->reserve_path);
	sp->reserve_held = false;
	sp->fs_low = true;
	sl_debug("spool: disk full: released the %" PRIu64 " KiB reserve", sp->reserve_bytes / 1024);
	return true;
}

/*
 * Measures the headroom: the file system's free space plus the free pages
 * inside the database (appends reuse them before the file grows). Appends
 * are refused (fs_low) while it is under the reserve's size, or under twice
 * that while the reserve is given back, or while the file system has less
 * than half the reserve free (room for the WAL, bounded to that). The
 * reserve is taken again once twice its size is free.
 */
static void spool_fs_check(struct sl_spool *sp, uint64_t now_ms)
{
	struct statvfs vfs;
	uint64_t avail, headroom;
	int64_t free_pages = 0;
	int rc;

	sp->fs_checked_ms = now_ms;
	sp->fs_appended = 0;
	if (spool_statvfs(sp, &vfs) < 0)
		return; /* keep the last verdict */
	avail = (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize;
	if (!sp->reserve_held && avail >= 2 * sp->reserve_bytes) {
		rc = spool_reserve_take(sp);
		if (rc == 0)
			avail -= sp->reserve_bytes;
		else if (rc != -ENOSPC) {
			/* a file system without room for the idea: no reserve */
			sl_debug("spool: reserve %s: %s", sp->reserve_path, strerror(-rc));
			sp->reserve_bytes = 0;
			sp->fs_low = false;
			return;
		}
	}
	if (sp->st[ST_FREELIST] && spool_step_int(sp, ST_FREELIST, &free_pages) < 0)
		free_pages = 0;
	headroom = avail + (uint64_t)(free_pages > 0 ? free_pages : 0) * sp->page_size;
	sp->fs_low = headroom < (sp->reserve_held ? 1 : 2) * sp->reserve_bytes ||
		     avail < sp->reserve_bytes / 2;
}

/* Before opening: the reserve is 1/16 of the file system, within
 * 64 KiB..8 MiB (0 if the file system cannot be measured). */
static void spool_fs_size(struct sl_spool *sp)
{
	struct statvfs vfs;
	uint64_t total;

	if (spool_statvfs(sp, &vfs) < 0)
		return; /* no reserve */
	total = (uint64_t)vfs.f_blocks * (uint64_t)vfs.f_frsize;
	sp->reserve_bytes = total / 16;
	if (sp->reserve_bytes < SPOOL_RESERVE_MIN)
		sp->reserve_bytes = SPOOL_RESERVE_MIN;
	if (sp->reserve_bytes > SPOOL_RESERVE_MAX)
		sp->reserve_bytes = SPOOL_RESERVE_MAX;
}

/* After opening: an existing reserve file is taken over without needing
 * new space; else one is made if there is room. */
static void spool_fs_open(struct sl_spool *sp)
{
	if (!sp->reserve_bytes)
		return;
	if (access(sp->reserve_path, F_OK) == 0)
		(void)spool_reserve_take(sp);
	spool_fs_check(sp, sl_mono_ms());
}

/* ---- transaction bookkeeping ---- */

static void spool_txn_clear(struct sl_spool *sp)
{
	sp->in_txn = false;
	sp->txn_start_ms = 0;
	sp->txn_ops = 0;
	sp->txn_appends = 0;
	sp->txn_removals = 0;
	sp->txn_max_rowid = 0;
	sp->txn_ndel = 0;
	memset(sp->txn_depth, 0, sizeof(sp->txn_depth));
	memset(sp->txn_dropped, 0, sizeof(sp->txn_dropped));
	memset(sp->txn_deleted, 0, sizeof(sp->txn_deleted));
}

/* Appends n rowids to the redo list; false when it would pass SPOOL_REDO_MAX
 * or memory runs out (the list is then left as it was). */
static bool spool_redo_add(struct sl_spool *sp, const int64_t *rowids, size_t n)
{
	if (!n)
		return true;
	if (sp->nredo + n > SPOOL_REDO_MAX)
		return false;
	if (sp->nredo + n > sp->redo_cap) {
		size_t cap = sp->redo_cap ? sp->redo_cap : 256;
		int64_t *p;

		while (cap < sp->nredo + n)
			cap *= 2;
		p = realloc(sp->redo, cap * sizeof(*p));
		if (!p)
			return false;
		sp->redo = p;
		sp->redo_cap = cap;
	}
	memcpy(sp->redo + sp->nredo, rowids, n * sizeof(*rowids));
	sp->nredo += n;
	return true;
}

/*
 * The transaction is gone (rolled back by us or by SQLite): forget its work.
 * Its PUBACK deletes go to the redo list, applied again by the next commit;
 * rows it evicted are back, and so are deleted rows that do not fit the redo
 * list: cursors must look again (those rows are sent again).
 */
static void spool_txn_discard(struct sl_spool *sp)
{
	bool rewind = sp->txn_removals > sp->txn_ndel;

	sp->used_bound = 0; /* rolled-back deletes came back */
	if (!spool_redo_add(sp, sp->txn_del, sp->txn_ndel)) {
		sp->nredo = 0;
		rewind = true;
	}
	if (rewind)
		sp->gen++;
	sp->commit_failures++;
	spool_txn_clear(sp);
}

static void spool_txn_applied(struct sl_spool *sp)
{
	for (int c = 0; c < SL_CLASS__COUNT; c++) {
		sp->depth[c] = (uint64_t)((int64_t)sp->depth[c] + sp->txn_depth[c]);
		sp->dropped[c] += sp->txn_dropped[c];
		sp->deleted[c] += sp->txn_deleted[c];
	}
	if (sp->txn_max_rowid > sp->committed_max)
		sp->committed_max = sp->txn_max_rowid;
	sp->commits++;
	spool_txn_clear(sp);
}

static int spool_begin(struct sl_spool *sp)
{
	int rc;

	if (sp->in_txn)
		return 0;
	rc = spool_step_done(sp, ST_BEGIN);
	if (rc < 0)
		return rc;
	sp->in_txn = true;
	sp->txn_start_ms = sl_mono_ms();
	return 0;
}

/*
 * An operation inside the transaction failed with err. SQLite either undid
 * that statement only (the transaction goes on) or rolled the whole
 * transaction back; in the latter case appends waiting for their commit are
 * lost, which the next commit must report.
 */
static int spool_txn_failed(struct sl_spool *sp, int err)
{
	if (sp->in_txn && sqlite3_get_autocommit(sp->db)) {
		if (sp->txn_appends && !sp->txn_err)
			sp->txn_err = err;
		spool_txn_discard(sp);
		if (sp->nredo)
			spool_schedule_retry(sp, false);
	}
	if (err == -ENOSPC)
		(void)spool_reserve_release(sp);
	return err;
}

static int spool_op_failed(struct sl_spool *sp, int rc)
{
	sl_debug("spool: statement failed: %s", sqlite3_errmsg(sp->db));
	return spool_txn_failed(sp, spool_errno(sp->db, rc));
}

/* An empty transaction opened for nothing: end it so nothing looks pending. */
static void spool_end_if_empty(struct sl_spool *sp)
{
	if (sp->in_txn && !sp->txn_ops) {
		if (spool_step_done(sp, ST_COMMIT) < 0 && !sqlite3_get_autocommit(sp->db))
			(void)spool_step_done(sp, ST_ROLLBACK);
		spool_txn_clear(sp);
	}
}

/* ---- open / close ---- */

static int spool_prepare(struct sl_spool *sp)
{
	for (int i = 0; i < ST__COUNT; i++) {
		int rc = sqlite3_prepare_v3(sp->db, spool_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					    &sp->st[i], NULL);

		if (rc != SQLITE_OK) {
			sl_debug("spool: prepare \"%s\": %s", spool_sql[i], sqlite3_errmsg(sp->db));
			/* a table of another shape: not our database */
			return (rc & 0xff) == SQLITE_ERROR ? -EUCLEAN : spool_errno(sp->db, rc);
		}
	}
	return 0;
}

/* 0 when PRAGMA quick_check says "ok", -EUCLEAN when damaged, else -errno. */
static int spool_check(sqlite3 *db)
{
	sqlite3_stmt *st;
	int rc, ret;

	/* a file that is not SQLite fails here already, with SQLITE_NOTADB */
	rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		sl_debug("spool: quick_check: %s", sqlite3_errmsg(db));
		return spool_errno(db, rc);
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *txt = sqlite3_column_text(st, 0);

		ret = txt && !strcmp((const char *)txt, "ok") ? 0 : -EUCLEAN;
		if (ret < 0)
			sl_debug("spool: quick_check: %s", txt ? (const char *)txt : "?");
	} else {
		ret = spool_errno(db, rc);
		sl_debug("spool: quick_check: %s", sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	return ret;
}

static int spool_set_pragmas(struct sl_spool *sp, enum sl_spool_sync sync)
{
	char sql[128];
	sqlite3_stmt *st;
	int64_t wal_pages, v;
	bool wal;
	int rc;

	rc = sqlite3_prepare_v2(sp->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return spool_errno(sp->db, rc);
	rc = sqlite3_step(st);
	wal = rc == SQLITE_ROW && sqlite3_column_text(st, 0) &&
	      !strcmp((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return spool_errno(sp->db, rc);
	if (!wal)
		return -ENOTSUP;

	rc = spool_query_int(sp->db, "PRAGMA page_size", &v);
	if (rc < 0)
		return rc;
	sp->page_size = v > 0 ? (uint64_t)v : 4096;

	/* Keep the WAL small next to a small cap; 1000 pages is SQLite's default. */
	wal_pages = SPOOL_WAL_MAX_PAGES;
	if (sp->cap_bytes && (int64_t)(sp->cap_bytes / sp->page_size / 8) < wal_pages)
		wal_pages = (int64_t)(sp->cap_bytes / sp->page_size / 8);
	if (wal_pages < SPOOL_WAL_MIN_PAGES)
		wal_pages = SPOOL_WAL_MIN_PAGES;
	/* and at most half the reserve: on a full disk, a checkpoint (which may
	 * grow the database by the WAL's pages) and the next frames must fit in
	 * the reserve given back */
	if (sp->reserve_bytes && (int64_t)(sp->reserve_bytes / sp->page_size / 2) < wal_pages) {
		wal_pages = (int64_t)(sp->reserve_bytes / sp->page_size / 2);
		if (wal_pages < SPOOL_WAL_FS_MIN_PAGES)
			wal_pages = SPOOL_WAL_FS_MIN_PAGES;
	}

	snprintf(sql, sizeof(sql),
		 "PRAGMA synchronous=%s; PRAGMA wal_autocheckpoint=%" PRId64 ";"
		 " PRAGMA journal_size_limit=%" PRId64 ";",
		 sync == SL_SPOOL_SYNC_FULL ? "FULL" : "NORMAL", wal_pages,
		 wal_pages * (int64_t)sp->page_size);
	return spool_exec(sp->db, sql);
}

/* Creates the schema in a new file or checks that an old file is ours. */
static int spool_schema(struct sl_spool *sp)
{
	int64_t app_id, version, others;
	char sql[160];
	int rc;

	rc = spool_query_int(sp->db, "PRAGMA application_id", &app_id);
	if (rc < 0)
		return rc;
	rc = spool_query_int(sp->db, "PRAGMA user_version", &version);
	if (rc < 0)
		return rc;
	if (app_id == SPOOL_APP_ID && version == SPOOL_SCHEMA_VERSION)
		return 0;
	rc = spool_query_int(sp->db, "SELECT count(*) FROM sqlite_schema"
			     " WHERE name NOT IN ('events', 'events_prio')", &others);
	if (rc < 0)
		return rc;
	if ((app_id && app_id != SPOOL_APP_ID) || version > SPOOL_SCHEMA_VERSION || others) {
		sl_debug("spool: foreign or newer database (application_id %" PRId64
			 ", user_version %" PRId64 ")", app_id, version);
		return -EUCLEAN;
	}

	rc = spool_exec(sp->db, "BEGIN IMMEDIATE");
	if (rc < 0)
		return rc;
	rc = sqlite3_exec(sp->db, spool_schema_sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		sl_debug("spool: schema: %s", sqlite3_errmsg(sp->db));
		/* a table "events" of another shape: CREATE INDEX fails */
		rc = (rc & 0xff) == SQLITE_ERROR ? -EUCLEAN : spool_errno(sp->db, rc);
		goto err_rollback;
	}
	snprintf(sql, sizeof(sql), "PRAGMA application_id=%d; PRAGMA user_version=%d; COMMIT;",
		 SPOOL_APP_ID, SPOOL_SCHEMA_VERSION);
	rc = spool_exec(sp->db, sql);
	if (rc < 0)
		goto err_rollback;
	return 0;

err_rollback:
	if (!sqlite3_get_autocommit(sp->db))
		(void)spool_exec(sp->db, "ROLLBACK");
	return rc;
}

/* The only full scan: per-class counts, once at open. */
static int spool_load_counts(struct sl_spool *sp)
{
	sqlite3_stmt *st;
	int64_t max_rowid;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(sp->db, "SELECT class, prio, count(*) FROM events GROUP BY class, prio",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return spool_errno(sp->db, rc);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t c = sqlite3_column_int64(st, 0);
		int64_t p = sqlite3_column_int64(st, 1);

		if (c < 0 || c >= SL_CLASS__COUNT || p != spool_classes[c].prio) {
			sl_debug("spool: rows of unknown class %" PRId64 "/%" PRId64, c, p);
			ret = -EUCLEAN;
			break;
		}
		sp->depth[c] = (uint64_t)sqlite3_column_int64(st, 2);
	}
	if (!ret && rc != SQLITE_DONE)
		ret = spool_errno(sp->db, rc);
	sqlite3_finalize(st);
	if (ret < 0)
		return ret;

	rc = spool_query_int(sp->db, "SELECT max(rowid) FROM events", &max_rowid);
	if (rc < 0)
		return rc;
	sp->committed_max = max_rowid;
	sp->next_rowid = max_rowid + 1;
	return 0;
}

/*
 * The keys table (created in old spools too: it is not part of the checked
 * schema), its statements, and the sequence counter: a key found later
 * must tell "committed" from "pending in the open transaction" by its
 * sequence alone, so sequences handed out from now on are above every
 * sequence a key recorded in an earlier run (events may all be deleted).
 */
static int spool_keys_open(struct sl_spool *sp)
{
	int64_t max_seq;
	int rc;

	rc = spool_exec(sp->db, spool_key_schema_sql);
	if (rc < 0)
		return rc;
	for (int i = 0; i < KS__COUNT; i++) {
		rc = sqlite3_prepare_v3(sp->db, spool_key_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					&sp->kst[i], NULL);
		if (rc != SQLITE_OK) {
			sl_debug("spool: prepare \"%s\": %s", spool_key_sql[i], sqlite3_errmsg(sp->db));
			return (rc & 0xff) == SQLITE_ERROR ? -EUCLEAN : spool_errno(sp->db, rc);
		}
	}
	rc = spool_query_int(sp->db, "SELECT max(seq) FROM dedup", &max_seq);
	if (rc < 0)
		return rc;
	if (max_seq > sp->committed_max) {
		sp->committed_max = max_seq;
		sp->next_rowid = max_seq + 1;
	}
	return 0;
}

/* Pre-creates the file 0600 (SQLite's default is 0644; the -wal and -shm
 * files take the main file's mode). Existing files are left alone. */
static int spool_create_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	close(fd);
	return 0;
}

/* Opens path into sp->db; -EUCLEAN when the file is damaged or not ours. */
static int spool_try_open(struct sl_spool *sp, const char *path, enum sl_spool_sync sync)
{
	char sql[64];
	int rc;

	rc = spool_create_file(path);
	if (rc < 0)
		return rc;
	rc = sqlite3_open_v2(path, &sp->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = sp->db ? spool_errno(sp->db, rc) : -ENOMEM;
		goto err;
	}
	if (sqlite3_db_readonly(sp->db, "main") == 1) {
		rc = -EROFS;
		goto err;
	}
	sqlite3_extended_result_codes(sp->db, 1);
	sqlite3_busy_timeout(sp->db, SPOOL_BUSY_MS);
	/* Closing a damaged database must neither checkpoint its WAL into it
	 * nor delete that WAL: both go aside as they are. sl_spool_close()
	 * turns the checkpoint back on. */
	sqlite3_db_config(sp->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%d", SPOOL_CACHE_KIB);
	rc = spool_exec(sp->db, sql);
	if (rc < 0)
		goto err;

	rc = spool_check(sp->db);
	if (rc < 0)
		goto err;
	rc = spool_set_pragmas(sp, sync);
	if (rc < 0)
		goto err;
	rc = spool_schema(sp);
	if (rc < 0)
		goto err;
	rc = spool_prepare(sp);
	if (rc < 0)
		goto err;
	rc = spool_load_counts(sp);
	if (rc < 0)
		goto err;
	rc = spool_keys_open(sp);
	if (rc < 0)
		goto err;
	return 0;

err:
	spool_close_db(sp);
	return rc;
}

static int spool_rename(const char *from, const char *to)
{
	if (rename(from, to) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* Moves path (and -wal, -shm) to path.corrupt-<unix time>[.n]. The WAL goes
 * first: a stale WAL left beside a fresh database would be replayed into it. */
static int spool_move_aside(const char *path, char *moved_to, size_t moved_len)
{
	static const char *const sfx[] = { "-wal", "-shm", "" };
	char dst[PATH_MAX], from[PATH_MAX], to[PATH_MAX];
	long long now = (long long)time(NULL);
	char *slash, dir[PATH_MAX];
	int n, rc, fd;

	for (n = 0;; n++) {
		int len = n ? snprintf(dst, sizeof(dst), "%s.corrupt-%lld.%d", path, now, n)
			    : snprintf(dst, sizeof(dst), "%s.corrupt-%lld", path, now);

		if (len < 0 || (size_t)len + 5 >= sizeof(dst))
			return -ENAMETOOLONG;
		if (access(dst, F_OK) < 0 && errno == ENOENT)
			break;
		if (n > 1000)
			return -EEXIST;
	}
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(from, sizeof(from), "%s%s", path, sfx[i]);
		snprintf(to, sizeof(to), "%s%s", dst, sfx[i]);
		rc = spool_rename(from, to);
		if (rc < 0)
			return rc;
	}

	/* make the renames durable before a fresh file appears */
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	snprintf(moved_to, moved_len, "%s", dst);
	sl_debug("spool: damaged database moved aside");
	return 0;
}

/* ---- salvage ---- */

struct salvage_ctx {
	struct sl_spool *sp;
	sqlite3_stmt *ins;
	uint64_t rows, rows_bad, in_txn;
	int err;
};

/* A record found in the damaged file: checked, then copied with its rowid. */
static int salvage_row(const struct spool_salvage_row *r, void *arg)
{
	struct salvage_ctx *c = arg;
	char needle[80];
	int rc;

	/* what a spool row always is; its payload names its id */
	if (r->rowid <= 0 || r->cls < 0 || r->cls >= SL_CLASS__COUNT ||
	    r->prio != spool_classes[r->cls].prio || !r->id_len || r->id_len > 64 ||
	    !r->type_len || r->type_len > 64 || r->len > SL_SPOOL_MAX_PAYLOAD ||
	    memchr(r->id, '\0', r->id_len) || memchr(r->type, '\0', r->type_len) ||
	    snprintf(needle, sizeof(needle), "\"id\":\"%.*s\"", (int)r->id_len, r->id) < 0 ||
	    !memmem(r->payload, r->len, needle, strlen(needle))) {
		c->rows_bad++;
		return 0;
	}
	sqlite3_bind_int64(c->ins, 1, r->rowid);
	sqlite3_bind_int64(c->ins, 2, r->prio);
	sqlite3_bind_int64(c->ins, 3, r->cls);
	sqlite3_bind_text(c->ins, 4, r->id, (int)r->id_len, SQLITE_STATIC);
	sqlite3_bind_text(c->ins, 5, r->type, (int)r->type_len, SQLITE_STATIC);
	sqlite3_bind_int64(c->ins, 6, r->created_us);
	sqlite3_bind_blob64(c->ins, 7, r->len ? r->payload : "", r->len, SQLITE_STATIC);
	rc = sqlite3_step(c->ins);
	sqlite3_clear_bindings(c->ins);
	sqlite3_reset(c->ins);
	if (rc != SQLITE_DONE) {
		c->err = spool_errno(c->sp->db, rc);
		return c->err;
	}
	c->rows += (uint64_t)sqlite3_changes(c->sp->db); /* 0: the same rowid seen before */
	/* commit now and then so that the WAL is checkpointed */
	if (++c->in_txn >= 4096) {
		c->in_txn = 0;
		rc = spool_exec(c->sp->db, "COMMIT; BEGIN IMMEDIATE");
		if (rc < 0) {
			c->err = rc;
			return rc;
		}
	}
	return 0;
}

/* Copies the readable events of the damaged files at `from` (+ "-wal") into
 * the fresh spool sp, then reloads its counters. */
static int spool_salvage(struct sl_spool *sp, const char *from, struct sl_spool_recovery *rec)
{
	struct salvage_ctx c = { .sp = sp };
	struct spool_salvage_stats st = { 0 };
	char wal[PATH_MAX];
	int rc, rc2;

	if (snprintf(wal, sizeof(wal), "%s-wal", from) >= (int)sizeof(wal))
		return -ENAMETOOLONG;
	rc = sqlite3_prepare_v2(sp->db, "INSERT OR IGNORE INTO events(rowid, prio, class, id, type,"
				" created_us, payload) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)", -1, &c.ins,
				NULL);
	if (rc != SQLITE_OK)
		return spool_errno(sp->db, rc);
	rc = spool_exec(sp->db, "BEGIN IMMEDIATE");
	if (rc < 0)
		goto out_finalize;
	rc = sl_spool__salvage(from, wal, salvage_row, &c, &st);
	if (c.err)
		rc = c.err;
	rc2 = spool_exec(sp->db, rc < 0 ? "ROLLBACK" : "COMMIT");
	if (rc >= 0)
		rc = rc2;
out_finalize:
	sqlite3_finalize(c.ins);
	/* on an error, what was committed in chunks stays and is counted */
	rec->rows = 0;
	rec->rows_bad = c.rows_bad + st.rows_bad;
	rec->pages = st.pages;
	rec->pages_bad = st.pages_bad;
	rec->wal_frames = st.wal_frames;
	rec->wal_frames_bad = st.wal_frames_bad;
	rc2 = spool_load_counts(sp);
	for (int i = 0; i < SL_CLASS__COUNT; i++)
		rec->rows += sp->depth[i];
	return rc < 0 ? rc : rc2;
}

int sl_spool_open(struct sl_spool **ret, const struct sl_spool_cfg *cfg,
		  struct sl_spool_recovery *ret_recovery)
{
	struct sl_spool_recovery *rec;
	struct sl_spool *sp;
	char wal[PATH_MAX];
	int rc;

	if (!ret || !cfg || !cfg->path || !*cfg->path ||
	    (cfg->sync != SL_SPOOL_SYNC_NORMAL && cfg->sync != SL_SPOOL_SYNC_FULL))
		return -EINVAL;
	if (snprintf(wal, sizeof(wal), "%s-wal", cfg->path) >= (int)sizeof(wal))
		return -ENAMETOOLONG;

	sp = calloc(1, sizeof(*sp));
	rec = calloc(1, sizeof(*rec));
	if (!sp || !rec) {
		rc = -ENOMEM;
		goto err_free;
	}
	sp->path = strdup(cfg->path);
	sp->reserve_path = malloc(strlen(cfg->path) + sizeof(".reserve"));
	if (!sp->path || !sp->reserve_path) {
		rc = -ENOMEM;
		goto err_free;
	}
	sprintf(sp->reserve_path, "%s.reserve", cfg->path);
	sp->cap_bytes = (uint64_t)cfg->max_mb * 1024u * 1024u;
	sp->commit_ms = cfg->commit_ms ? cfg->commit_ms : SL_SPOOL_DEFAULT_COMMIT_MS;
	sp->commit_max = cfg->commit_max ? cfg->commit_max : SL_SPOOL_DEFAULT_COMMIT_MAX;

	spool_fs_size(sp);

	/* damage SQLite would not see, or would make worse, first: then
	 * SQLite's own checks */
	rc = sl_spool__inspect(cfg->path, wal, rec->reason, sizeof(rec->reason));
	if (rc == 1) {
		rc = -EUCLEAN;
	} else {
		rc = spool_try_open(sp, cfg->path, cfg->sync);
		if (rc == -EUCLEAN)
			snprintf(rec->reason, sizeof(rec->reason),
				 "not a spool database, or it fails SQLite's quick_check");
	}
	if (rc == -EUCLEAN) {
		rc = spool_move_aside(cfg->path, rec->moved_to, sizeof(rec->moved_to));
		if (rc < 0)
			goto err_free;
		rec->damaged = true;
		rc = spool_try_open(sp, cfg->path, cfg->sync);
		if (rc == -EUCLEAN)
			rc = -EIO;
		if (rc == 0) {
			rc = spool_salvage(sp, rec->moved_to, rec);
			if (rc < 0) {
				/* keep what was copied; the damaged files stay aside */
				sl_debug("spool: salvage: %s", strerror(-rc));
				rc = 0;
			}
		}
	}
	if (rc < 0)
		goto err_free;
	spool_fs_open(sp);
	sp->first_rowid = sp->next_rowid;
	sp->open_us = sl_clock_elapsed_us();

	*ret = sp;
	if (ret_recovery)
		*ret_recovery = *rec;
	free(rec);
	return 0;

err_free:
	if (sp && sp->db)
		spool_close_db(sp);
	if (sp) {
		free(sp->reserve_path);
		free(sp->path);
	}
	free(sp);
	free(rec);
	return rc;
}

void sl_spool_close(struct sl_spool *sp)
{
	if (!sp)
		return;
	if (sp->db) {
		if (sp->in_txn || sp->nredo)
			(void)sl_spool_commit(sp);
		spool_finalize(sp);
		/* a checkpoint on close removes the WAL when it is complete */
		sqlite3_db_config(sp->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, NULL);
		(void)spool_exec(sp->db, "PRAGMA wal_checkpoint(TRUNCATE)");
		spool_close_db(sp);
	}
	free(sp->txn_del);
	free(sp->redo);
	free(sp->reserve_path);
	free(sp->path);
	free(sp);
}

/* ---- writing ---- */

/* Deletes up to one chunk of rows that an append of class cls may evict.
 * Returns the rows dropped (0: nothing left to evict) or -errno. */
static int spool_drop_chunk(struct sl_spool *sp, enum sl_event_class cls)
{
	for (size_t i = 0; i < sizeof(spool_drop_order) / sizeof(spool_drop_order[0]); i++) {
		enum sl_event_class v = spool_drop_order[i];
		sqlite3_stmt *st = sp->st[ST_DROP];
		int rc, n;

		if (spool_classes[v].prio < spool_classes[cls].prio)
			continue;
		if ((int64_t)sp->depth[v] + sp->txn_depth[v] <= 0)
			continue;
		sqlite3_bind_int(st, 1, spool_classes[v].prio);
		sqlite3_bind_int(st, 2, (int)v);
		sqlite3_bind_int(st, 3, SPOOL_DROP_CHUNK);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return spool_op_failed(sp, rc);
		n = sqlite3_changes(sp->db);
		if (n > 0) {
			sp->txn_depth[v] -= n;
			sp->txn_dropped[v] += (uint64_t)n;
			sp->txn_removals += (size_t)n;
			sp->txn_ops++;
			return n;
		}
	}
	return 0;
}

/* 1 when an append needing `need` bytes fits under the cap (after evicting
 * what cls may evict), 0 when it does not, -errno. */
static int spool_make_room(struct sl_spool *sp, enum sl_event_class cls, uint64_t need)
{
	for (;;) {
		uint64_t used;
		int rc;

		/* measuring costs two PRAGMAs: skip it while an upper bound
		 * (last measure + twice what was appended since) is under the cap */
		if (sp->used_bound && sp->used_bound + need <= sp->cap_bytes) {
			sp->used_bound += 2 * need;
			return 1;
		}
		rc = spool_used_bytes(sp, &used);
		if (rc < 0)
			return spool_txn_failed(sp, rc);
		if (used + need <= sp->cap_bytes) {
			sp->used_bound = used + 2 * need;
			return 1;
		}
		sp->used_bound = 0;
		rc = spool_drop_chunk(sp, cls);
		if (rc <= 0)
			return rc;
	}
}

int64_t sl_spool_append(struct sl_spool *sp, enum sl_event_class cls, const char *id,
			const char *type, const void *payload, size_t len)
{
	sqlite3_stmt *st;
	int64_t rowid;
	int rc;

	if (!sp || (unsigned)cls >= SL_CLASS__COUNT || !id || !*id || !type || !*type ||
	    (!payload && len))
		return -EINVAL;
	if (len > SL_SPOOL_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (sp->txn_err)
		return sp->txn_err;

	if (sp->reserve_bytes) {
		/* the file system's headroom: checked every second, after each
		 * quarter of the reserve appended, every 100 ms while low */
		uint64_t now = sl_mono_ms(), since = now - sp->fs_checked_ms;

		if (since >= SPOOL_FS_CHECK_MS || sp->fs_appended >= sp->reserve_bytes / 4 ||
		    (sp->fs_low && since >= 100))
			spool_fs_check(sp, now);
		if (sp->fs_low) {
			if (spool_classes[cls].droppable) {
				sp->dropped[cls]++;
				return 0;
			}
			return -ENOSPC;
		}
		sp->fs_appended += len + SPOOL_ROW_OVERHEAD;
	}

	rc = spool_begin(sp);
	if (rc < 0)
		return rc;

	if (sp->cap_bytes) {
		uint64_t need = len + strlen(id) + strlen(type) + SPOOL_ROW_OVERHEAD;

		rc = spool_make_room(sp, cls, need);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			spool_end_if_empty(sp);
			if (spool_classes[cls].droppable) {
				sp->dropped[cls]++;
				return 0;
			}
			return -ENOSPC;
		}
	}

	rowid = sp->next_rowid++;
	st = sp->st[ST_INSERT];
	sqlite3_bind_int64(st, 1, rowid);
	sqlite3_bind_int(st, 2, spool_classes[cls].prio);
	sqlite3_bind_int(st, 3, (int)cls);
	sqlite3_bind_text(st, 4, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (int64_t)sl_clock_elapsed_us());
	sqlite3_bind_blob64(st, 7, len ? payload : "", len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_clear_bindings(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		rc = spool_op_failed(sp, rc);
		spool_end_if_empty(sp);
		return rc;
	}

	sp->txn_depth[cls]++;
	sp->txn_appends++;
	sp->txn_ops++;
	sp->txn_max_rowid = rowid;
	return rowid;
}

/* Keeps n rowids for the next commit, or (no room) rewinds the cursors so
 * that the rows are sent again and deleted then. */
static void spool_redo_keep(struct sl_spool *sp, const int64_t *rowids, size_t n)
{
	if (!spool_redo_add(sp, rowids, n))
		sp->gen++;
}

/* Applies the deletes a failed commit rolled back, in the open transaction. */
static int spool_apply_redo(struct sl_spool *sp)
{
	int64_t *list = sp->redo;
	size_t n = sp->nredo, i;
	int rc;

	rc = spool_begin(sp);
	if (rc < 0)
		return rc;
	sp->redo = NULL;
	sp->nredo = 0;
	sp->redo_cap = 0;
	for (i = 0; i < n; i++) {
		rc = spool_delete_row(sp, list[i]);
		if (rc == -ENOENT)
			rc = 0; /* evicted meanwhile */
		if (rc < 0) {
			spool_redo_keep(sp, list + i, n - i);
			break;
		}
	}
	free(list);
	return rc;
}

/* The next try of a failed commit that held deletes: now, or after a backoff
 * (100 ms doubling to 5 s) so that a lasting fault costs little. */
static void spool_schedule_retry(struct sl_spool *sp, bool now)
{
	uint64_t delay = SPOOL_RETRY_MIN_MS << (sp->retry_streak < 6 ? sp->retry_streak : 6);

	if (delay > SPOOL_RETRY_MAX_MS)
		delay = SPOOL_RETRY_MAX_MS;
	if (sp->retry_streak < 16)
		sp->retry_streak++;
	sp->retry_at_ms = sl_mono_ms() + (now ? 0 : delay);
}

int64_t sl_spool_commit(struct sl_spool *sp)
{
	bool released;
	int rc, err;

	if (!sp)
		return -EINVAL;
	if (sp->nredo) {
		err = spool_apply_redo(sp);
		if (err < 0)
			goto err_rollback;
	}
	if (sp->in_txn) {
		rc = sqlite3_step(sp->st[ST_COMMIT]);
		sqlite3_reset(sp->st[ST_COMMIT]);
		if (rc != SQLITE_DONE) {
			/* the frames were written but not synced: a crash may or
			 * may not bring them back */
			if (rc == SQLITE_IOERR_FSYNC || rc == SQLITE_IOERR_DIR_FSYNC)
				err = -SL_SPOOL_EUNKNOWN;
			else
				err = spool_errno(sp->db, rc);
			sl_debug("spool: commit: %s", sqlite3_errmsg(sp->db));
			goto err_rollback;
		}
		spool_txn_applied(sp);
		sp->retry_streak = 0;
		if (sp->reserve_bytes && !sp->reserve_held)
			spool_fs_check(sp, sl_mono_ms());
	}
	if (sp->txn_err) {
		err = sp->txn_err;
		sp->txn_err = 0;
		return err;
	}
	return sp->committed_max;

err_rollback:
	if (sp->in_txn) {
		if (!sqlite3_get_autocommit(sp->db))
			(void)spool_step_done(sp, ST_ROLLBACK);
		spool_txn_discard(sp);
	}
	sp->txn_err = 0; /* reported now */
	/* the disk is full: give the reserve back so that the deletes and the
	 * checkpoint find room, and retry at once */
	released = err == -ENOSPC && spool_reserve_release(sp);
	if (released)
		/* and move the WAL's pages into the database: a complete
		 * checkpoint lets the next commit write the WAL from its start */
		(void)spool_exec(sp->db, "PRAGMA wal_checkpoint(TRUNCATE)");
	if (sp->nredo)
		spool_schedule_retry(sp, released);
	return err;
}

bool sl_spool_commit_due(const struct sl_spool *sp, uint64_t now_mono_ms)
{
	return sl_spool_commit_due_in_ms(sp, now_mono_ms) == 0;
}

int sl_spool_commit_due_in_ms(const struct sl_spool *sp, uint64_t now_mono_ms)
{
	uint64_t elapsed;

	int due = -1;

	if (!sp)
		return -1;
	if (sp->txn_err)
		return 0;
	if (sp->in_txn) {
		if (sp->txn_ops >= sp->commit_max)
			return 0;
		elapsed = now_mono_ms > sp->txn_start_ms ? now_mono_ms - sp->txn_start_ms : 0;
		if (elapsed >= sp->commit_ms)
			return 0;
		due = (int)(sp->commit_ms - elapsed);
	}
	if (sp->nredo) {
		/* deletes a failed commit rolled back: retried after a backoff */
		int r = sp->retry_at_ms > now_mono_ms ? (int)(sp->retry_at_ms - now_mono_ms) : 0;

		if (due < 0 || r < due)
			due = r;
	}
	return due;
}

size_t sl_spool_pending(const struct sl_spool *sp)
{
	return sp ? sp->txn_appends : 0;
}

/* Deletes one row inside the open transaction and remembers it for a redo.
 * 0, -ENOENT, -ENOMEM, or the statement's -errno. */
static int spool_delete_row(struct sl_spool *sp, int64_t rowid)
{
	sqlite3_stmt *st;
	int64_t cls = -1;
	int rc;

	if (sp->txn_ndel == sp->txn_del_cap) {
		size_t cap = sp->txn_del_cap ? 2 * sp->txn_del_cap : 256;
		int64_t *p = realloc(sp->txn_del, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		sp->txn_del = p;
		sp->txn_del_cap = cap;
	}
	st = sp->st[ST_DELETE];
	sqlite3_bind_int64(st, 1, rowid);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cls = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return spool_op_failed(sp, rc);
	if (cls < 0)
		return -ENOENT;
	if (cls < SL_CLASS__COUNT) {
		sp->txn_depth[cls]--;
		sp->txn_deleted[cls]++;
	}
	sp->txn_del[sp->txn_ndel++] = rowid;
	sp->txn_removals++;
	sp->txn_ops++;
	return 0;
}

int sl_spool_delete(struct sl_spool *sp, int64_t rowid)
{
	int rc;

	if (!sp || rowid <= 0)
		return -EINVAL;
	rc = spool_begin(sp);
	if (rc < 0)
		return rc;
	rc = spool_delete_row(sp, rowid);
	if (rc < 0)
		spool_end_if_empty(sp);
	return rc;
}

/* ---- reading ---- */

int sl_spool_fetch(struct sl_spool *sp, struct sl_spool_cursor *cursor, size_t max,
		   sl_spool_row_cb cb, void *ctx)
{
	sqlite3_stmt *st;
	int n = 0;

	if (!sp || !cursor || !cb)
		return -EINVAL;
	if (max > INT_MAX)
		max = INT_MAX;
	if (cursor->gen != sp->gen) {
		memset(cursor->after, 0, sizeof(cursor->after));
		cursor->gen = sp->gen;
	}

	st = sp->st[ST_FETCH];
	for (int p = 0; p < SL_SPOOL_PRIO_COUNT && (size_t)n < max; p++) {
		int rc;

		sqlite3_bind_int(st, 1, p);
		sqlite3_bind_int64(st, 2, cursor->after[p]);
		sqlite3_bind_int64(st, 3, sp->committed_max);
		sqlite3_bind_int64(st, 4, (int64_t)(max - (size_t)n));
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct sl_spool_row row;
			int64_t c = sqlite3_column_int64(st, 1);
			int r;

			if (c < 0 || c >= SL_CLASS__COUNT) {
				sqlite3_reset(st);
				return -EUCLEAN;
			}
			row.rowid = sqlite3_column_int64(st, 0);
			row.cls = (enum sl_event_class)c;
			row.id = (const char *)sqlite3_column_text(st, 2);
			row.type = (const char *)sqlite3_column_text(st, 3);
			row.created_us = sqlite3_column_int64(st, 4);
			row.payload = sqlite3_column_blob(st, 5);
			row.len = (size_t)sqlite3_column_bytes(st, 5);
			if (!row.id || !row.type) {
				sqlite3_reset(st);
				return -ENOMEM;
			}
			if (!row.payload)
				row.payload = "";

			r = cb(&row, ctx);
			if (r < 0) {
				sqlite3_reset(st);
				return r;
			}
			cursor->after[p] = row.rowid;
			n++;
			if (r > 0) {
				sqlite3_reset(st);
				return n;
			}
		}
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return spool_errno(sp->db, rc);
	}
	return n;
}

/*
 * created_us and the age of the oldest row. A row of this run was stamped by
 * the elapsed clock, which no wall-clock step moves: its age is exact. A row
 * of an earlier run was stamped by that run's elapsed clock, i.e. by the wall
 * clock of its start: its age is now - created_us, but never less than the
 * time since this open (it is older than that), so a clock that went back
 * across the restart neither hides nor underflows it.
 */
static int spool_oldest_age(struct sl_spool *sp, int64_t *ret_created, int64_t *ret_age)
{
	sqlite3_stmt *st = sp->st[ST_OLDEST];
	int64_t created = 0, rowid = 0, age = -1;
	int rc;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		uint64_t now = sl_clock_elapsed_us();

		created = sqlite3_column_int64(st, 0);
		rowid = sqlite3_column_int64(st, 1);
		age = created > 0 && (uint64_t)created < now ? (int64_t)(now - (uint64_t)created) : 0;
		if (rowid < sp->first_rowid && now > sp->open_us &&
		    age < (int64_t)(now - sp->open_us))
			age = (int64_t)(now - sp->open_us);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return spool_errno(sp->db, rc);
	*ret_created = created;
	*ret_age = age;
	return 0;
}

int sl_spool_stats(struct sl_spool *sp, struct sl_spool_stats *out)
{
	struct sl_spool_stats s;
	int64_t oldest = 0;
	int rc;

	if (!sp || !out)
		return -EINVAL;
	memset(&s, 0, sizeof(s));
	for (int c = 0; c < SL_CLASS__COUNT; c++) {
		int64_t d = (int64_t)sp->depth[c] + sp->txn_depth[c];

		s.depth_by_class[c] = d > 0 ? (uint64_t)d : 0;
		s.depth += s.depth_by_class[c];
		s.dropped_by_class[c] = sp->dropped[c] + sp->txn_dropped[c];
	}
	rc = spool_oldest_age(sp, &oldest, &s.oldest_age_us);
	if (rc < 0)
		return rc;
	s.oldest_created_us = oldest;
	rc = spool_used_bytes(sp, &s.bytes);
	if (rc < 0)
		return rc;
	s.cap_bytes = sp->cap_bytes;
	s.commits = sp->commits;
	s.commit_failures = sp->commit_failures;
	memcpy(s.deleted_by_class, sp->deleted, sizeof(s.deleted_by_class));
	s.deletes_pending = sp->nredo;
	s.reserve_bytes = sp->reserve_bytes;
	s.disk_low = sp->fs_low;
	*out = s;
	return 0;
}

/* ---- keys ---- */

int sl_spool_key_find(struct sl_spool *sp, const uint8_t key[SL_SPOOL_KEY_LEN],
		      int64_t not_before_us, char *ret_id, size_t id_size, int64_t *ret_seq)
{
	sqlite3_stmt *st;
	int rc, ret = 0;

	if (!sp || !key || !ret_id || !id_size || !ret_seq)
		return -EINVAL;
	st = sp->kst[KS_FIND];
	sqlite3_bind_blob(st, 1, key, SL_SPOOL_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, not_before_us);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *id = sqlite3_column_text(st, 0);
		int64_t seq = sqlite3_column_int64(st, 1);

		if (!id || (size_t)sqlite3_column_bytes(st, 0) >= id_size) {
			ret = -EUCLEAN;
		} else {
			memcpy(ret_id, id, (size_t)sqlite3_column_bytes(st, 0) + 1);
			/* above committed_max: appended in the open transaction */
			*ret_seq = seq > sp->committed_max ? seq : 0;
			ret = 1;
		}
	} else if (rc != SQLITE_DONE) {
		ret = spool_errno(sp->db, rc);
	}
	sqlite3_clear_bindings(st);
	sqlite3_reset(st);
	return ret;
}

int sl_spool_key_add(struct sl_spool *sp, const uint8_t key[SL_SPOOL_KEY_LEN], const char *id,
		     int64_t seq, int64_t now_us, int64_t prune_before_us)
{
	sqlite3_stmt *st;
	int rc;

	if (!sp || !key || !id || !*id || seq <= 0)
		return -EINVAL;
	rc = spool_begin(sp);
	if (rc < 0)
		return rc;
	st = sp->kst[KS_ADD];
	sqlite3_bind_blob(st, 1, key, SL_SPOOL_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, seq);
	sqlite3_bind_int64(st, 4, now_us);
	rc = sqlite3_step(st);
	sqlite3_clear_bindings(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return spool_op_failed(sp, rc);
	sp->txn_ops++;

	/* a few expired keys per new one: the table stays about one window
	 * of keys without a sweep; keys from "the future" (the clock was
	 * ahead when they were made) go after the same window */
	st = sp->kst[KS_PRUNE];
	sqlite3_bind_int64(st, 1, prune_before_us);
	sqlite3_bind_int64(st, 2, now_us + (now_us - prune_before_us));
	sqlite3_bind_int(st, 3, SPOOL_KEY_PRUNE_CHUNK);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return spool_op_failed(sp, rc);
	return 0;
}

int sl_spool_key_count(struct sl_spool *sp, uint64_t *ret)
{
	sqlite3_stmt *st;
	int rc;

	if (!sp || !ret)
		return -EINVAL;
	st = sp->kst[KS_COUNT];
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : spool_errno(sp->db, rc);
}

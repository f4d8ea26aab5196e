/* SPDX-License-Identifier: MIT */
/*
 * The durable event spool: serialized, already tokenized events in one
 * SQLite database ({state_dir}/spool.db, WAL). Producers append into a
 * write transaction that is committed in batches (every commit_ms or
 * commit_max operations); the POS gets its "ok" only once sl_spool_commit()
 * reports the event's sequence number durable. The publisher reads committed
 * rows by (priority, age) through a cursor and deletes a row after the
 * broker's PUBACK. Each class has a priority and an overflow rule; see
 * docs/spool.md. Single-threaded: one struct sl_spool per database file per
 * process, used from the agent's poll loop only.
 */
#ifndef SL_SPOOL_H
#define SL_SPOOL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sl_event_class {
	SL_CLASS_PURCHASE,
	SL_CLASS_LOYALTY,
	SL_CLASS_PRESENCE,
	SL_CLASS_FOOTFALL,
	SL_CLASS_STATUS,
	SL_CLASS__COUNT
};

/*
 * Priorities (0 is sent first) and overflow rules:
 *   purchase 0, loyalty_scan 0    never dropped: the append fails with -ENOSPC
 *   footfall 1, status 1          droppable
 *   presence 2                    droppable
 * When the cap is reached, droppable rows are deleted oldest first in the
 * order presence, status, footfall, but an append only evicts rows of its own
 * priority or a lower one (a presence event never evicts footfall).
 */
#define SL_SPOOL_PRIO_COUNT 3
#define SL_SPOOL_MAX_PAYLOAD (1024u * 1024u) /* larger appends: -EMSGSIZE */
#define SL_SPOOL_DEFAULT_COMMIT_MS 50u
#define SL_SPOOL_DEFAULT_COMMIT_MAX 256u

/* "purchase", "loyalty_scan", "presence", "footfall", "status"; NULL if out of range. */
const char *sl_event_class_name(enum sl_event_class c);
/* 0..SL_SPOOL_PRIO_COUNT-1, or -EINVAL if out of range. */
int sl_event_class_priority(enum sl_event_class c);
bool sl_event_class_droppable(enum sl_event_class c);

enum sl_spool_sync {
	SL_SPOOL_SYNC_NORMAL, /* WAL synced at checkpoints: survives kill -9, may lose the last commits on power loss */
	SL_SPOOL_SYNC_FULL,   /* WAL synced at every commit: survives power loss */
};

struct sl_spool_cfg {
	const char *path;        /* {state_dir}/spool.db; created 0600 if missing */
	uint32_t max_mb;         /* cap on the database pages in use, MiB (0 = unlimited) */
	enum sl_spool_sync sync;
	uint32_t commit_ms;      /* max time an operation waits for its commit; 0 = 50 */
	uint32_t commit_max;     /* commit when this many operations are pending; 0 = 256 */
};

struct sl_spool; /* opaque */

/* What sl_spool_open() found and salvaged when the file was damaged. */
struct sl_spool_recovery {
	bool damaged;             /* the file was moved aside and replaced */
	char reason[128];         /* why it was found damaged */
	char moved_to[4096];      /* "<path>.corrupt-<unix time>[.n]" (+ "-wal", "-shm") */
	uint64_t rows;            /* events copied into the fresh spool */
	uint64_t rows_bad;        /* records found but unreadable or inconsistent */
	uint64_t pages;           /* pages examined (database file and WAL frames) */
	uint64_t pages_bad;       /* pages that are neither readable b-tree pages nor known */
	uint64_t wal_frames;      /* valid WAL frames used */
	uint64_t wal_frames_bad;  /* WAL frames failing their checksum but followed by valid ones */
};

/*
 * Opens or creates the spool, sets WAL, the sync mode, a busy timeout
 * (250 ms), a bounded page cache (512 KiB), a bounded WAL, and prepares the
 * statements. Before SQLite touches the file, its WAL is read by hand: an
 * empty or short database beside a WAL that holds its pages, or a broken
 * WAL checksum chain followed by valid frames, count as damage (SQLite
 * would silently drop that WAL or the transactions after the break). Then
 * PRAGMA quick_check runs. A damaged file (not SQLite, failing a check, or
 * holding another schema) is renamed with its -wal/-shm to
 * "<path>.corrupt-<unix time>" (+ "-wal"/"-shm"), a fresh spool is created,
 * and every event record still readable in the damaged database and its
 * WAL is copied into it (same rowids, so the same order). *ret_recovery
 * (may be NULL) says what was found; the caller logs it.
 * Also takes the headroom reserve file ("<path>.reserve", see
 * docs/spool.md).
 * Returns 0, -EINVAL (bad cfg), -ENOMEM, -EBUSY (locked by another process),
 * -EACCES/-ENOENT/-EROFS/-ENOSPC/-EIO (file system), -ENOTSUP (WAL
 * unavailable). *ret and *ret_recovery are untouched on failure.
 */
int sl_spool_open(struct sl_spool **ret, const struct sl_spool_cfg *cfg,
		  struct sl_spool_recovery *ret_recovery);
/* Commits what is pending (a failure drops it), checkpoints, closes. NULL ok. */
void sl_spool_close(struct sl_spool *sp);

/*
 * Queues an event into the open write transaction (BEGIN IMMEDIATE lazily).
 * While the file system has less free space than the reserve (or the
 * reserve was given back to let deletes through a full disk), appends are
 * refused as if the cap were reached (-ENOSPC, droppable classes dropped).
 * id: the event's UUID text; type: the event type for the topic; payload:
 * the serialized event, stored as given (never logged).
 * Returns the event's sequence number (> 0, increasing within the process;
 * it is also the row's rowid), durable once sl_spool_commit() returns a
 * value >= it;
 *   0        the class is droppable and the spool is full of rows it may not
 *            evict: the event was dropped and counted (not an error);
 *   -ENOSPC  the class is not droppable and the spool is full even after
 *            evicting droppable rows, or the disk/SQLite is full;
 *   -EINVAL, -EMSGSIZE (payload > SL_SPOOL_MAX_PAYLOAD), -EBUSY, -ENOMEM,
 *   -EIO, -EUCLEAN (database found damaged: close and reopen to recover).
 * If SQLite had to roll back the whole transaction, the events appended
 * before in it are lost: appends then fail with that error and
 * sl_spool_commit_due() is true until sl_spool_commit() reports it.
 */
int64_t sl_spool_append(struct sl_spool *sp, enum sl_event_class cls, const char *id,
			const char *type, const void *payload, size_t len);

/*
 * Commits the open transaction, if any. Returns the highest sequence number
 * now durable (0 if the spool never held a row), or -errno: then every
 * pending operation was rolled back; the caller fails the POS requests
 * waiting on appends made since the last successful commit. The spool stays
 * usable. -ENOSPC: disk or SQLite full (nothing of the batch was stored).
 * -SL_SPOOL_EUNKNOWN: the batch was written but syncing it failed (EIO from
 * fdatasync): the process goes on without it, but its events may reappear
 * after a crash; tell the producer the outcome is unknown.
 *
 * PUBACK deletes of a failed commit are not lost: the spool applies them
 * again in the next commit, and sl_spool_commit_due_in_ms() schedules that
 * retry itself (100 ms, doubling to 5 s) even if nothing else happens. Only
 * durable deletes count in sl_spool_stats().deleted_by_class.
 */
int64_t sl_spool_commit(struct sl_spool *sp);

/* The batch's outcome is unknown (see sl_spool_commit()). */
#define SL_SPOOL_EUNKNOWN EINPROGRESS

/* true when a commit is due: pending operations >= commit_max, the oldest
 * pending one older than commit_ms, a lost transaction to report, or the
 * retry of deletes that a failed commit rolled back. */
bool sl_spool_commit_due(const struct sl_spool *sp, uint64_t now_mono_ms);
/* ms until sl_spool_commit_due() becomes true (0 = now), -1 if nothing is pending. */
int sl_spool_commit_due_in_ms(const struct sl_spool *sp, uint64_t now_mono_ms);
/* Appends waiting for the next commit (deletes not counted). */
size_t sl_spool_pending(const struct sl_spool *sp);

/*
 * Reading for the publisher. A cursor holds, per priority, the last rowid
 * handed out. sl_spool_fetch() calls cb for up to max committed rows, in
 * order of priority then rowid (= append order), that come after the cursor,
 * and advances the cursor past each row cb takes. Rows appended later always
 * come after the cursor of their priority, so a publisher keeps a bounded
 * in-flight window by fetching (window - in_flight) rows at a time, without
 * re-reading rows in flight. Rows still uncommitted are never returned.
 *
 * A zeroed cursor starts from the oldest row: after a restart (or a
 * reconnect that lost in-flight messages) everything not yet deleted is sent
 * again. If a failed commit rolled back deletes, the spool rewinds every
 * cursor (rows already in flight may then be returned again; delivery is
 * at-least-once).
 *
 * cb returns 0 to take the row and go on, > 0 to take it and stop, < 0 to
 * refuse it and stop (fetch then returns that value). Pointers in the row are
 * valid during the callback only.
 * Returns the number of rows taken, or -errno (-EINVAL, -EIO, -EUCLEAN).
 */
struct sl_spool_cursor {
	int64_t after[SL_SPOOL_PRIO_COUNT]; /* last rowid handed out per priority */
	uint64_t gen;                       /* spool rewind generation seen */
};

struct sl_spool_row {
	int64_t rowid;            /* pass to sl_spool_delete() after PUBACK */
	enum sl_event_class cls;
	const char *id;
	const char *type;
	const void *payload;
	size_t len;
	int64_t created_us;       /* elapsed clock at append (sl_clock_elapsed_us(), clock.h) */
};

typedef int (*sl_spool_row_cb)(const struct sl_spool_row *row, void *ctx);

int sl_spool_fetch(struct sl_spool *sp, struct sl_spool_cursor *cursor, size_t max,
		   sl_spool_row_cb cb, void *ctx);

/* Deletes a row after its PUBACK, inside the batched write transaction
 * (durable at the next commit). 0, -ENOENT (already gone: dropped or
 * deleted), -EINVAL, -EBUSY, -EIO. */
int sl_spool_delete(struct sl_spool *sp, int64_t rowid);

struct sl_spool_stats {
	uint64_t depth;                              /* rows, including uncommitted ones */
	uint64_t depth_by_class[SL_CLASS__COUNT];
	int64_t oldest_created_us;                   /* created_us of the oldest row, 0 if empty */
	int64_t oldest_age_us;                       /* its age, -1 if empty: immune to wall-clock
	                                              * steps (see docs/spool.md) */
	uint64_t dropped_by_class[SL_CLASS__COUNT];  /* since open, by the overflow rule */
	uint64_t bytes;                              /* database pages in use (what max_mb caps) */
	uint64_t cap_bytes;                          /* 0 = unlimited */
	uint64_t commits;                            /* successful commits since open */
	uint64_t commit_failures;                    /* transactions rolled back since open */
	uint64_t deleted_by_class[SL_CLASS__COUNT];  /* durable PUBACK deletes since open */
	uint64_t deletes_pending;                    /* rolled-back deletes awaiting their retry */
	uint64_t reserve_bytes;                      /* headroom kept on the file system, 0 = none */
	bool disk_low;                               /* appends refused: the file system is (nearly) full */
};

/* O(1) apart from one indexed lookup; 0 or -EINVAL/-EIO. */
int sl_spool_stats(struct sl_spool *sp, struct sl_spool_stats *out);

/*
 * Idempotency keys (POS resends, docs/pos-protocol.md): a table of (key,
 * event id, sequence, created_us) in the same database, written in the same
 * transaction as the event it names, so a key is durable exactly when its
 * event is, and a rolled-back commit forgets both. Keys are opaque hashes
 * (SHA-256): no request text is stored. Times are the caller's clock
 * (the agent uses sl_clock_elapsed_us()).
 */
#define SL_SPOOL_KEY_LEN 32

/*
 * Looks key up among keys created at or after not_before_us. Returns 1 and
 * copies the event id (NUL-terminated, id_size >= its length + 1) and
 * *ret_seq: 0 when that event is committed, else its sequence (appended in
 * the open transaction: durable once sl_spool_commit() returns >= it).
 * 0 when not found (outputs untouched), -EINVAL, -EIO, -EUCLEAN.
 */
int sl_spool_key_find(struct sl_spool *sp, const uint8_t key[SL_SPOOL_KEY_LEN],
		      int64_t not_before_us, char *ret_id, size_t id_size, int64_t *ret_seq);
/*
 * Records key -> (id, seq) in the open transaction (call it right after the
 * append that returned seq, before any commit), and deletes up to 16 keys
 * created before prune_before_us (or as far after now_us). 0, -EINVAL, or an
 * error of sl_spool_append(); if SQLite rolled the transaction back, the
 * next commit reports it as for an append.
 */
int sl_spool_key_add(struct sl_spool *sp, const uint8_t key[SL_SPOOL_KEY_LEN], const char *id,
		     int64_t seq, int64_t now_us, int64_t prune_before_us);
/* Keys stored (including the open transaction's); 0 or -errno. */
int sl_spool_key_count(struct sl_spool *sp, uint64_t *ret);

#endif

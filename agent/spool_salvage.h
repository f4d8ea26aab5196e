/* SPDX-License-Identifier: MIT */
/*
 * Internal to the spool (spool.c): reading a spool database and its WAL by
 * hand, without SQLite, to judge them before SQLite opens them and to salvage
 * the event records of a damaged one. SQLite 3.40's recovery extension is
 * not part of Debian's libsqlite3 (only the sqlite3 shell has .recover), so
 * this is the equivalent for the one table the spool has: the WAL frames are
 * checked (salts, cumulative checksums) and overlaid on the database pages,
 * and every page that reads as a table leaf gives its records.
 * File formats: https://www.sqlite.org/fileformat2.html (sections 1.3, 1.6,
 * 2.1, 4.2).
 */
#ifndef SL_SPOOL_SALVAGE_H
#define SL_SPOOL_SALVAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One record of the events table as found on a page; pointers valid during
 * the callback only. */
struct spool_salvage_row {
	int64_t rowid;
	int64_t prio, cls, created_us;
	const char *id, *type;        /* not NUL-terminated */
	size_t id_len, type_len;
	const void *payload;
	size_t len;
};

struct spool_salvage_stats {
	uint64_t pages;           /* pages examined */
	uint64_t pages_bad;       /* pages not readable as anything the spool writes */
	uint64_t rows_bad;        /* cells that failed to parse (the callback counts its own refusals) */
	uint64_t wal_frames;      /* valid frames used */
	uint64_t wal_frames_bad;  /* frames failing their checksum with valid frames after them */
};

/*
 * Judges db_path and wal_path before SQLite opens them. Returns 1 and a
 * reason when they are damaged in a way SQLite would not notice or would
 * make worse: an empty or short database file beside a WAL with committed
 * frames that do not bring the missing pages (SQLite deletes such a WAL), a
 * database shorter than its header says with no WAL to fill in, or a WAL
 * whose checksum chain breaks but which holds valid committed frames after
 * the break (SQLite silently ignores everything after it). 0 when nothing is
 * wrong that way (a missing or empty database without a WAL is a fresh one),
 * -errno when the files cannot be read.
 */
int sl_spool__inspect(const char *db_path, const char *wal_path, char *reason, size_t len);

/*
 * Calls cb for every record of seven columns shaped like an events row
 * (NULL rowid alias, integer prio, class, text id, type, integer created_us,
 * blob payload) on every page of db_path overlaid with the committed frames
 * of wal_path (may be missing), skipping freelist pages; the frames of
 * transactions after a checksum break are read too. The same rowid may be
 * reported twice. cb returns 0 to go on, < 0 to stop (returned). st may be
 * NULL. 0 or -errno (-ENOMEM, -EIO).
 */
int sl_spool__salvage(const char *db_path, const char *wal_path,
		      int (*cb)(const struct spool_salvage_row *row, void *ctx), void *ctx,
		      struct spool_salvage_stats *st);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * The event spool on real SQLite files in a fresh temporary directory per
 * test: order by priority then age, batching into one transaction, reopen,
 * a crashed child keeping every committed row, damaged files moved aside,
 * the max_mb cap and its overflow rules, SQLite and disk full (a tiny tmpfs
 * when mount(2) is permitted), a busy database, stats, and memory that does
 * not grow with the backlog.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ASan's quarantine keeps freed memory resident: RSS says nothing there. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_MEANINGFUL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_MEANINGFUL 0
#endif
#endif
#ifndef RSS_MEANINGFUL
#define RSS_MEANINGFUL 1
#endif

struct fixture {
	char dir[1024];
	char path[1100];      /* dir/spool.db */
	char mnt[1100];       /* tmpfs mount point, "" if none */
};

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/test_spool.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/spool.db", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->mnt[0])
		umount2(f->mnt, MNT_DETACH);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static struct sl_spool_cfg cfg_for(const char *path)
{
	struct sl_spool_cfg cfg = {
		.path = path,
		.max_mb = 0,
		.sync = SL_SPOOL_SYNC_NORMAL,
		.commit_ms = 60000, /* no commit falls due by time during a test */
		.commit_max = 256,
	};
	return cfg;
}

static struct sl_spool *open_ok(const struct sl_spool_cfg *cfg, bool expect_recovered)
{
	struct sl_spool *sp = NULL;
	struct sl_spool_recovery rec = { .damaged = !expect_recovered };
	int rc = sl_spool_open(&sp, cfg, &rec);

	if (rc != 0)
		fail_msg("sl_spool_open(%s): %s", cfg->path, strerror(-rc));
	if (rec.damaged != expect_recovered)
		fail_msg("sl_spool_open(%s): damaged %d (%s), expected %d", cfg->path, rec.damaged,
			 rec.reason, expect_recovered);
	return sp;
}

static int64_t append_str(struct sl_spool *sp, enum sl_event_class cls, const char *id,
			  const char *payload)
{
	return sl_spool_append(sp, cls, id, sl_event_class_name(cls), payload, strlen(payload));
}

/* Rows handed out by fetch, copied. */
struct got {
	size_t n;
	int64_t rowid[64];
	enum sl_event_class cls[64];
	char id[64][32];
	char payload[64][64];
	char type[64][16];
};

static int collect(const struct sl_spool_row *row, void *ctx)
{
	struct got *g = ctx;

	if (g->n >= 64)
		return -E2BIG;
	g->rowid[g->n] = row->rowid;
	g->cls[g->n] = row->cls;
	snprintf(g->id[g->n], sizeof(g->id[0]), "%s", row->id);
	snprintf(g->type[g->n], sizeof(g->type[0]), "%s", row->type);
	snprintf(g->payload[g->n], sizeof(g->payload[0]), "%.*s", (int)row->len,
		 (const char *)row->payload);
	g->n++;
	return 0;
}

static int count_row(const struct sl_spool_row *row, void *ctx)
{
	(void)row;
	(*(size_t *)ctx)++;
	return 0;
}

/* Rows in the file as another connection sees them (committed only). */
static int64_t count_rows_external(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM events", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static int64_t commit_ok(struct sl_spool *sp)
{
	int64_t rc = sl_spool_commit(sp);

	if (rc < 0)
		fail_msg("sl_spool_commit: %s", strerror((int)-rc));
	return rc;
}

static bool has_corrupt_file(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	bool found = false;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "spool.db.corrupt-", 17) && !strchr(de->d_name + 17, '-'))
			found = true;
	closedir(d);
	return found;
}

static long rss_kib(void)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(fp);
	return kib;
}

/* ---- tests ---- */

static void test_class_table(void **state)
{
	(void)state;
	assert_string_equal(sl_event_class_name(SL_CLASS_PURCHASE), "purchase");
	assert_string_equal(sl_event_class_name(SL_CLASS_LOYALTY), "loyalty_scan");
	assert_string_equal(sl_event_class_name(SL_CLASS_PRESENCE), "presence");
	assert_string_equal(sl_event_class_name(SL_CLASS_FOOTFALL), "footfall");
	assert_string_equal(sl_event_class_name(SL_CLASS_STATUS), "status");
	assert_null(sl_event_class_name(SL_CLASS__COUNT));
	assert_int_equal(sl_event_class_priority(SL_CLASS_PURCHASE), 0);
	assert_int_equal(sl_event_class_priority(SL_CLASS_LOYALTY), 0);
	assert_int_equal(sl_event_class_priority(SL_CLASS_FOOTFALL), 1);
	assert_int_equal(sl_event_class_priority(SL_CLASS_PRESENCE), 2);
	assert_int_equal(sl_event_class_priority(SL_CLASS__COUNT), -EINVAL);
	assert_false(sl_event_class_droppable(SL_CLASS_PURCHASE));
	assert_false(sl_event_class_droppable(SL_CLASS_LOYALTY));
	assert_true(sl_event_class_droppable(SL_CLASS_PRESENCE));
	assert_true(sl_event_class_droppable(SL_CLASS_FOOTFALL));
}

static void test_bad_args(void **state)
{
	struct fixture *f = *state;
	struct sl_spool_cfg cfg = cfg_for(f->path);
	struct sl_spool_cursor cur = { 0 };
	struct sl_spool_stats st;
	struct sl_spool *sp = (struct sl_spool *)0x1;
	static char big[SL_SPOOL_MAX_PAYLOAD + 1];
	char missing[PATH_MAX + 32];

	assert_int_equal(sl_spool_open(&sp, NULL, NULL), -EINVAL);
	cfg.path = NULL;
	assert_int_equal(sl_spool_open(&sp, &cfg, NULL), -EINVAL);
	snprintf(missing, sizeof(missing), "%s/no/such/dir/spool.db", f->dir);
	cfg.path = missing;
	assert_int_equal(sl_spool_open(&sp, &cfg, NULL), -ENOENT);
	assert_ptr_equal(sp, (struct sl_spool *)0x1); /* untouched */

	sp = open_ok((cfg = cfg_for(f->path), &cfg), false);
	assert_int_equal(sl_spool_append(sp, SL_CLASS__COUNT, "a", "t", "x", 1), -EINVAL);
	assert_int_equal(sl_spool_append(sp, SL_CLASS_PURCHASE, NULL, "t", "x", 1), -EINVAL);
	assert_int_equal(sl_spool_append(sp, SL_CLASS_PURCHASE, "", "t", "x", 1), -EINVAL);
	assert_int_equal(sl_spool_append(sp, SL_CLASS_PURCHASE, "a", NULL, "x", 1), -EINVAL);
	assert_int_equal(sl_spool_append(sp, SL_CLASS_PURCHASE, "a", "t", NULL, 1), -EINVAL);
	assert_int_equal(sl_spool_append(sp, SL_CLASS_PURCHASE, "a", "t", big, sizeof(big)), -EMSGSIZE);
	assert_int_equal(sl_spool_pending(sp), 0);
	assert_int_equal(sl_spool_commit_due_in_ms(sp, sl_mono_ms()), -1);
	assert_int_equal(sl_spool_delete(sp, 0), -EINVAL);
	assert_int_equal(sl_spool_delete(sp, 12345), -ENOENT);
	assert_int_equal(sl_spool_commit_due_in_ms(sp, sl_mono_ms()), -1); /* no empty txn left open */
	assert_int_equal(sl_spool_fetch(sp, NULL, 1, collect, NULL), -EINVAL);
	assert_int_equal(sl_spool_fetch(sp, &cur, 1, NULL, NULL), -EINVAL);
	assert_int_equal(sl_spool_stats(sp, NULL), -EINVAL);
	assert_int_equal(sl_spool_stats(NULL, &st), -EINVAL);
	assert_int_equal(sl_spool_commit(NULL), -EINVAL);
	assert_int_equal(sl_spool_commit(sp), 0); /* nothing ever appended */
	/* an empty payload is a valid (if useless) event */
	assert_true(sl_spool_append(sp, SL_CLASS_STATUS, "e", "status", NULL, 0) > 0);
	commit_ok(sp);
	sl_spool_close(sp);
	sl_spool_close(NULL);
}

static void test_order_priority_then_age(void **state)
{
	struct fixture *f = *state;
	struct sl_spool_cfg cfg = cfg_for(f->path);
	struct sl_spool_cursor cur = { 0 }, fresh = { 0 };
	struct sl_spool *sp = open_ok(&cfg, false);
	struct got g = { 0 };
	int64_t seq[8], last = 0;
	static const struct {
		enum sl_event_class cls;
		const char *id;
	} in[] = {
		{ SL_CLASS_PRESENCE, "p1" }, { SL_CLASS_PURCHASE, "a1" }, { SL_CLASS_FOOTFALL, "f1" },
		{ SL_CLASS_LOYALTY, "l1" },  { SL_CLASS_PRESENCE, "p2" }, { SL_CLASS_PURCHASE, "a2" },
	};
	static const char *const want[] = { "a1", "l1", "a2", "f1", "p1", "p2" };

	for (size_t i = 0; i < 6; i++) {
		char payload[64];

		snprintf(payload, sizeof(payload), "{\"id\":\"%s\"}", in[i].id);
		seq[i] = append_str(sp, in[i].cls, in[i].id, payload);
		assert_true(seq[i] > last); /* increasing */
		last = seq[i];
	}
	assert_int_equal(sl_spool_pending(sp), 6);

	/* nothing is handed out before it is durable */
	assert_int_equal(sl_spool_fetch(sp, &cur, 10, collect, &g), 0);
	assert_int_equal(commit_ok(sp), seq[5]);
	assert_int_equal(sl_spool_pending(sp), 0);

	assert_int_equal(sl_spool_fetch(sp, &fresh, 10, collect, &g), 6);
	for (size_t i = 0; i < 6; i++) {
		char payload[64];

		assert_string_equal(g.id[i], want[i]);
		snprintf(payload, sizeof(payload), "{\"id\":\"%s\"}", want[i]);
		assert_string_equal(g.payload[i], payload);
		assert_string_equal(g.type[i], sl_event_class_name(g.cls[i]));
	}
	assert_int_equal(g.cls[0], SL_CLASS_PURCHASE);
	assert_int_equal(g.cls[1], SL_CLASS_LOYALTY);
	assert_int_equal(g.cls[3], SL_CLASS_FOOTFALL);
	assert_int_equal(g.cls[5], SL_CLASS_PRESENCE);
	assert_int_equal(g.rowid[0], seq[1]);

	/* a bounded window: two rows, then the rest; a purchase appended in
	 * between still comes before the presence rows not yet handed out */
	memset(&g, 0, sizeof(g));
	assert_int_equal(sl_spool_fetch(sp, &cur, 2, collect, &g), 2);
	assert_string_equal(g.id[0], "a1");
	assert_string_equal(g.id[1], "l1");
	assert_true(append_str(sp, SL_CLASS_PURCHASE, "a3", "{}") > seq[5]);
	assert_int_equal(sl_spool_fetch(sp, &cur, 3, collect, &g), 3); /* a3 not committed yet */
	assert_string_equal(g.id[2], "a2");
	assert_string_equal(g.id[3], "f1");
	assert_string_equal(g.id[4], "p1");
	commit_ok(sp);
	assert_int_equal(sl_spool_fetch(sp, &cur, 10, collect, &g), 2);
	assert_string_equal(g.id[5], "a3"); /* before p2 though p1 was handed out */
	assert_string_equal(g.id[6], "p2");
	assert_int_equal(sl_spool_fetch(sp, &cur, 10, collect, &g), 0); /* all in flight */

	/* PUBACKs: deletes are batched; a second delete of a row is -ENOENT */
	assert_int_equal(sl_spool_delete(sp, g.rowid[0]), 0);
	assert_int_equal(sl_spool_delete(sp, g.rowid[0]), -ENOENT);
	assert_int_equal(sl_spool_delete(sp, g.rowid[5]), 0);
	assert_true(sl_spool_commit_due_in_ms(sp, sl_mono_ms()) >= 0); /* deletes are pending */
	assert_int_equal(sl_spool_pending(sp), 0);                      /* but no appends */
	commit_ok(sp);

	/* a new cursor (what a restart does) sees everything not deleted */
	memset(&g, 0, sizeof(g));
	memset(&fresh, 0, sizeof(fresh));
	assert_int_equal(sl_spool_fetch(sp, &fresh, 64, collect, &g), 5);
	assert_string_equal(g.id[0], "l1");
	assert_string_equal(g.id[1], "a2");
	assert_string_equal(g.id[2], "f1");
	assert_string_equal(g.id[3], "p1");
	assert_string_equal(g.id[4], "p2");
	sl_spool_close(sp);
}

static int stop_after_first(const struct sl_spool_row *row, void *ctx)
{
	(void)row;
	(*(int *)ctx)++;
	return 1;
}

static int refuse(const struct sl_spool_row *row, void *ctx)
{
	(void)row;
	(void)ctx;
	return -EAGAIN;
}

static void test_fetch_callback_control(void **state)
{
	struct fixture *f = *state;
	struct sl_spool_cfg cfg = cfg_for(f->path);
	struct sl_spool_cursor cur = { 0 };
	struct sl_spool *sp = open_ok(&cfg, false);
	struct got g = { 0 };
	int calls = 0;

	append_str(sp, SL_CLASS_PURCHASE, "a1", "1");
	append_str(sp, SL_CLASS_PURCHASE, "a2", "2");
	commit_ok(sp);
	/* refused: the cursor does not move */
	assert_int_equal(sl_spool_fetch(sp, &cur, 10, refuse, NULL), -EAGAIN);
	/* > 0: taken, then stop */
	assert_int_equal(sl_spool_fetch(sp, &cur, 10, stop_after_first, &calls), 1);
	assert_int_equal(calls, 1);
	assert_int_equal(sl_spool_fetch(sp, &cur, 10, collect, &g), 1);
	assert_string_equal(g.id[0], "a2");
	assert_int_equal(sl_spool_fetch(sp, &cur, 0, collect, &g), 0);
	sl_spool_close(sp);
}

static void test_batching_one_transaction(void **state)
{
	struct fixture *f = *state;
	struct sl_spool_cfg cfg = cfg_for(f->path);
	struct sl_spool_stats st;
	struct sl_spool *sp;
	int64_t seq = 0, prev = 0, durable;
	uint64_t now, commits;
	int due;

	cfg.commit_max = 256;
	sp = open_ok(&cfg, false);
	assert_int_equal(sl_spool_stats(sp, &st), 0);
	commits = st.commits;

	for (int i = 0; i < 256; i++) {
		char id[32];

		assert_false(sl_spool_commit_due(sp, sl_mono_ms()));
		snprintf(id, sizeof(id), "ev-%d", i);
		seq = append_str(sp, SL_CLASS_PURCHASE, id, "{\"type\":\"purchase\"}");
		assert_true(seq > prev);
		prev = seq;
	}
	assert_int_equal(sl_spool_pending(sp), 256);
	assert_true(sl_spool_commit_due(sp, sl_mono_ms()));
	assert_int_equal(sl_spool_commit_due_in_ms(sp, sl_mono_ms()), 0);
	/* another connection sees none of them until the commit */
	assert_int_equal(count_rows_external(f->path), 0);

	durable = commit_ok(sp);
	assert_int_equal(durable, seq);
	assert_int_equal(sl_spool_stats(sp, &st), 0);
	assert_int_equal(st.commits, commits + 1); /* 256 appends, one transaction */
	assert_int_equal(st.depth, 256);
	assert_int_equal(count_rows_external(f->path), 256);
	assert_int_equal(sl_spool_commit_due_in_ms(sp, sl_mono_ms()), -1);
	assert_false(sl_spool_commit_due(sp, sl_mono_ms()));
	/* committing with nothing pending is free and says the same */
	assert_int_equal(commit_ok(sp), durable);
	assert_int_equal(sl_spool_stats(sp, &st), 0);
	assert_int_equal(st.commits, commits + 1);

	/* the time rule: due commit_ms after the first pending operation */
	now = sl_mono_ms();
	assert_true(append_str(sp, SL_CLASS_LOYALTY, "late", "{}") > durable);
	due = sl_spool_commit_due_in_ms(sp, now);
	assert_true(due > 0 && due <= (int)cfg.commit_ms);
	assert_true(sl_spool_commit_due(sp, sl_mono_ms() + cfg.commit_ms));
	assert_int_equal(sl_spool_commit_due_in_ms(sp, sl_mono_ms() + cfg.commit_ms), 0);
	assert_true(commit_ok(sp) > durable);
	sl_spool_close(sp);
}

static void test_reopen_keeps_rows(void **state)
{
	struct fixture *f = *state;
	struct sl_spool_cfg cfg = cfg_for(f->path);
	struct sl_spool_cursor cur = { 0 };
	struct sl_spool_stats st;
	struct sl_spool *sp;
	struct got g = { 0 };
	int64_t last;

	cfg.sync = SL_SPOOL_SYNC_FULL;
	sp = open_ok(&cfg, false);
	append_str(sp, SL_CLASS_PURCHASE, "a1", "{\"n\":1}");
	append_str(sp, SL_CLASS_PRESENCE, "p1", "{\"n\":2}");
	last = append_str(sp, SL_CLASS_FOOTFALL, "f1", "{\"n\":3}");
	commit_ok(sp);
	append_str(sp, SL_CLASS_LOYALTY, "l1", "{\"n\":4}"); /* committed by close */
	sl_spool_close(sp);

	sp = open_ok(&cfg, false);
	assert_int_equal(sl_spool_stats(sp, &st), 0);
	assert_int_equal(st.depth, 4);
	assert_int_equal(st.depth_by_class[SL_CLASS_PURCHASE], 1);
	assert_int_equal(st.depth_by_class[SL_CLASS_LOYALTY], 1);
	assert_int_equal(st.depth_by_class[SL_CLASS_PRESENCE], 1);
	assert_int_equal(st.depth_by_class[SL_CLASS_FOOTFALL], 1);
	assert_int_equal(sl_spool_fetch(sp, &cur, 10, collect, &g), 4);
	assert_string_equal(g.id[0], "a1");
	assert_string_equal(g.id[1], "l1");
	assert_string_equal(g.id[2], "f1");
	assert_string_equal(g.id[3], "p1");
	assert_string_equal(g.payload[1], "{\"n\":4}");
	/* sequence numbers go on above what the file holds */
	assert_true(append_str(sp, SL_CLASS_PURCHASE, "a2", "{}") > last + 1);
	sl_spool_close(sp);

	/* the WAL was checkpointed and removed on close */
	char wal[PATH_MAX + 8];
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(access(wal, F_OK), -1);
}

/* A child appends and commits, leaves more uncommitted, and dies without
 * closing: every committed row, and nothing else, is there. */
static void test_crash_keeps_committed(void **state)
{
	struct fixture *f = *state;
	struct sl_spool_cfg cfg = cfg_for(f->path);
	struct sl_spool_cursor cur = { 0 };
	struct sl_spool_stats st;
	struct sl_spool *sp;
	size_t n = 0;
	int status = 0;
	pid_t pid;

	cfg.sync = SL_SPOOL_SYNC_FULL;
	cfg.commit_max = 100;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sl_spool *csp = NULL;

		if (sl_spool_open(&csp, &cfg, NULL) < 0)
			_exit(2);
		for (int i = 0; i < 1050; i++) {
			char id[32];

			snprintf(id, sizeof(id), "c-%d", i);
			if (sl_spool_append(csp, SL_CLASS_PURCHASE, id, "purchase", id, strlen(id)) <= 0)
				_exit(3);
			if (i < 1000 && sl_spool_commit_due(csp, sl_mono_ms()) &&
			    sl_spool_commit(csp) <= 0)
				_exit(4);
		}
		_exit(0); /* no close, no commit of the last 50, no checkpoint */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	sp = open_ok(&cfg, false);
	assert_int_equal(sl_spool_stats(sp, &st), 0);
	assert_int_equal(st.depth, 1000);
	assert_int_equal(sl_spool_fetch(sp, &cur, 5000, count_row, &n), 1000);
	assert_int_equal(n, 1000);
	sl_spool_close(sp);
}

/* Makes a spool of n rows (~1 KiB each) and closes it (checkpointed). */
static void make_spool(const char *path, int n)
{
	struct sl_spool_cfg cfg = cfg_for(path);
	struct sl_spool *sp = open_ok(&cfg, false);
	char payload[1000];

	memset(payload, 'x', sizeof(payload));
	for (int i = 0; i < n; i++) {
		char id[32];
		int k;

		/* a payload names its id, as every event does (salvage checks it) */
		snprintf(id, sizeof(id), "r-%d", i);
		k = snprintf(payload, sizeof(payload), "{\"id\":\"%s\",", id);
		payload[k] = 'x';
		assert_true(sl_spool_append(sp, i % 2 ? SL_CLASS_PRESENCE : SL_CLASS_PURCHASE, id,
					    "t", payload, sizeof(payload)) > 0);
	}
	commit_ok(sp);
	sl_spool_close(sp);
}

static void overwrite(const char *path, off_t off, size_t len)
{
	char junk[8192];
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_true(len <= sizeof(junk));
	for (size_t i = 0; i < len; i++)
		junk[i] = (char)(0xa5 ^ (i * 31));
	assert_int_equal(pwrite(fd, junk, len, off), (ssize_t)len);
	close(fd);
}

/* A salvaged row: its payload still names its id. */
static int check_salvaged(const struct sl_spool_row *row, void *ctx)
{
	char needle[48];

	(*(size_t *)ctx)++;
	snprintf(needle, sizeof(needle), "{\"id\":\"%s\",", row->id);
	assert_true(row->len > strlen(needle));
	assert_memory_equal(row->payload, needle, strlen(needle));
	return 0;
}

/* Opens a damaged spool: moved aside, between lo and hi rows salvaged (the
 * report and the fresh spool agree), and the fresh file is sound. */
static void expect_recovery(struct fixture *f, uint64_t lo, uint64_t hi)
{
	struct sl_spool_cfg cfg = cfg_for(f->path);
	struct sl_spool_cursor cur = { 0 };
	struct sl_spool_recovery rec;
	struct sl_spool_stats st;
	struct sl_spool *sp = NULL;
	struct stat sb;
	size_t n = 0;

	assert_int_equal(sl_spool_open(&sp, &cfg, &rec), 0);
	assert_true(rec.damaged);
	assert_true(rec.reason[0]);
	assert_non_null(strstr(rec.moved_to, ".corrupt-"));
	print_message("recovered %" PRIu64 " rows (%s; %" PRIu64 " bad records, %" PRIu64
		      " bad pages)\n", rec.rows, rec.reason, rec.rows_bad, rec.pages_bad);
	assert_true(has_corrupt_file(f->dir));
	assert_int_equal(sl_spool_stats(sp, &st), 0);
	assert_int_equal(st.depth, rec.rows);
	assert_true(rec.rows >= lo && rec.rows <= hi);
	assert_int_equal(sl_spool_fetch(sp, &cur, 100000, check_salvaged, &n), (int)rec.rows);
	assert_true(append_str(sp, SL_CLASS_PURCHASE, "after", "{}") > 0);
	commit_ok(sp);
	sl_spool_close(sp);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	/* and the fresh file is fine next time */
	sp = open_ok(&cfg, false);
	assert_int_equal(sl_spool_stats(sp, &st), 0);
	assert_int_equal(st.depth, rec.rows + 1);
	sl_spool_close(sp);
}

static void test_corrupt_header(void **state)
{
	struct fixture *f = *state;

	make_spool(f->path, 50);
	overwrite(f->path, 0, 100);
	expect_recovery(f, 50, 50);
}

static void test_corrupt_truncated(void **state)
{
	struct fixture *f = *state;
	struct stat sb;

	make_spool(f->path, 200);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_true(sb.st_size > 64 * 4096);
	assert_int_equal(truncate(f->path, sb.st_size / 2 + 1234), 0);
	expect_recovery(f, 60, 140);
}

static void test_corrupt_btree_page(void **state)
{
	struct fixture *f = *state;

	make_spool(f->path, 200);
	overwrite(f->path, 4096 * 3, 4096); /* a b-tree page of the table */
	overwrite(f->path, 4096 * 40, 4096);
	expect_recovery(f, 190, 199);
}

static void test_corrupt_wal_moved_too(void **state)
{
	struct fixture *f = *state;
	char wal[PATH_MAX + 8];
	int fd;

	make_spool(f->path, 10);
	overwrite(f->path, 0, 100);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	fd = open(wal, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "garbage", 7), 7);
	close(fd);
	expect_recovery(f, 10, 10);
	/* the WAL went aside with its database, none is left behind */
	DIR *d = opendir(f->dir);
	struct dirent *de;
	bool moved_wal = false;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strstr(de->d_name, "corrupt-") && strstr(de->d_name, "-wal"))
			moved_wal = true;
	closedir(d);
	assert_true(moved_wal);
}

/* After a crash everything is in the WAL; the database file then lost its
 * content (truncated to 0 bytes): SQLite would delete the WAL. The spool
 * sees it first, keeps both files, and rebuilds every row from the WAL. */
static void crash_child(const struct sl_spool_cfg *cfg, int n)
{
	pid_t pid = fork();
	int status = 0;

	assert_true(pid >= 0);
	if (pid == 0) {
		struct sl_spool *csp = NULL;

		if (sl_spool_open(&csp, cfg, NULL) < 0)
			_exit(2);
		for (int i = 0; i < n; i++) {
			char id[32], payload[300];
			int k;

			snprintf(id, sizeof(id), "w-%d", i);
			memset(payload, 'p', sizeof(payload));
			k = snprintf(payload, sizeof(payload), "{\"id\":\"%s\",", id);
			payload[k] = 'p';
			if (sl_spool_append(csp, SL_CLASS_PURCHASE, id, "purchase", payload,
					    sizeof(payload)) <= 0)
				_exit(3);
			if (i % 20 == 19 && sl_spool_commit(csp) <= 0)
				_exit(4);
		}
		_exit(0); /* no close, no checkpoint */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_wal_only_empty_db(void **state)
{
	struct fixture *f = *state;
	struct sl_spool_cfg cfg = cfg_for(f->path);
	char wal[PATH_MAX + 8];
	struct stat sb;

	cfg.sync = SL_SPOOL_SYNC_FULL;
	crash_child(&cfg, 400);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(stat(wal, &sb), 0);
	assert_true(sb.st_size > 100 * 4096);
	assert_int_equal(truncate(f->path, 0), 0);
	expect_recovery(f, 400, 400);
}

/* A byte flipped in a WAL frame in the middle: SQLite would stop there and
 * drop every later transaction without a word. */
static void test_wal_chain_broken(void **state)
{
	struct fixture *f = *state;
	struct sl_spool_cfg cfg = cfg_for(f->path);
	char wal[PATH_MAX + 8];
	struct stat sb;
	off_t frames, off;
	unsigned char b;
	int fd;

	crash_child(&cfg, 400);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(stat(wal, &sb), 0);
	frames = (sb.st_size - 32) / (24 + 4096);
	assert_true(frames > 20);
	off = 32 + (frames / 2) * (24 + 4096) + 24 + 3000;
	fd = open(wal, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x5a;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
	expect_recovery(f, 380, 400);
}

static void test_foreign_database(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE events(x); INSERT INTO events VALUES(1);",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	expect_recovery(f, 0, 0);
}

static void test_empty_file_is_fresh(void **state)
{
	struct fixture *f = *state;
	struct sl_spool_cfg cfg = cfg_for(f->path);
	int fd = open(f->path, O_WRONLY | O_CREAT, 0600);

	assert_true(fd >= 0);
	close(fd);
	sl_spool_close(open_ok(&cfg, false));
	assert_false(has_corrupt_file(f->dir));
}

/* max_mb: presence is evicted oldest first, purchases are refused once
 * nothing droppable is left, droppable appends then drop themselves. */
static void test_cap_overflow_rules(void **state)
{
	struct fixture *f = *state;
	struct sl_spool_cfg cfg = cfg_for(f->path);
	struct sl_spool_cursor cur = { 0 };
	struct sl_spool_stats st;
	struct sl_spool *sp;
	struct got g = { 0 };
	char payload[900];
	int64_t seq, first_purchase = 0;
	int presence = 3000, purchases = 0;

	cfg.max_mb = 1;
	sp = open_ok(&cfg, false);
	memset(payload, 'p', sizeof(payload));

	/* ~3 MB of presence into a 1 MiB spool: never refused, oldest evicted */
	for (int i = 0; i < presence; i++) {
		char id[32];

		snprintf(id, sizeof(id), "p-%05d", i);
		seq = sl_spool_append(sp, SL_CLASS_PRESENCE, id, "presence", payload, sizeof(payload));
		assert_true(seq > 0);
		if (sl_spool_commit_due(sp, sl_mono_ms()))
			commit_ok(sp);
	}
	commit_ok(sp);
	assert_int_equal(sl_spool_stats(sp, &st), 0);
	assert_true(st.bytes <= st.cap_bytes);
	assert_int_equal(st.cap_bytes, 1024 * 1024);
	assert_true(st.dropped_by_class[SL_CLASS_PRESENCE] > 0);
	assert_int_equal(st.depth_by_class[SL_CLASS_PRESENCE] + st.dropped_by_class[SL_CLASS_PRESENCE],
			 (uint64_t)presence);
	assert_true(st.depth_by_class[SL_CLASS_PRESENCE] > 500); /* most of the MiB is used */
	/* the survivors are the newest ones, in order */
	assert_int_equal(sl_spool_fetch(sp, &cur, 1, collect, &g), 1);
	{
		char want[32];

		snprintf(want, sizeof(want), "p-%05d", presence - (int)st.depth_by_class[SL_CLASS_PRESENCE]);
		assert_string_equal(g.id[0], want);
	}

	/* purchases evict presence, then are refused */
	for (;;) {
		char id[32];

		snprintf(id, sizeof(id), "a-%05d", purchases);
		seq = sl_spool_append(sp, SL_CLASS_PURCHASE, id, "purchase", payload, sizeof(payload));
		if (seq == -ENOSPC)
			break;
		assert_true(seq > 0);
		if (!first_purchase)
			first_purchase = seq;
		purchases++;
		assert_true(purchases < 5000);
		if (sl_spool_commit_due(sp, sl_mono_ms()))
			commit_ok(sp);
	}
	commit_ok(sp);
	assert_int_equal(sl_spool_stats(sp, &st), 0);
	assert_int_equal(st.depth_by_class[SL_CLASS_PRESENCE], 0); /* all evicted before refusing */
	assert_int_equal(st.depth_by_class[SL_CLASS_PURCHASE], (uint64_t)purchases);
	assert_int_equal(st.dropped_by_class[SL_CLASS_PURCHASE], 0);
	assert_true(st.bytes <= st.cap_bytes);
	assert_true(purchases > 500);

	/* full of purchases: droppable events drop themselves and are counted */
	assert_int_equal(sl_spool_append(sp, SL_CLASS_PRESENCE, "p-late", "presence", payload,
					 sizeof(payload)), 0);
	assert_int_equal(sl_spool_append(sp, SL_CLASS_FOOTFALL, "f-late", "footfall", payload,
					 sizeof(payload)), 0);
	assert_int_equal(sl_spool_append(sp, SL_CLASS_LOYALTY, "l-late", "loyalty_scan", payload,
					 sizeof(payload)), -ENOSPC);
	assert_int_equal(sl_spool_commit_due_in_ms(sp, sl_mono_ms()), -1); /* nothing pending */
	assert_int_equal(sl_spool_stats(sp, &st), 0);
	assert_int_equal(st.dropped_by_class[SL_CLASS_PRESENCE], (uint64_t)presence + 1);
	assert_int_equal(st.dropped_by_class[SL_CLASS_FOOTFALL], 1);

	/* the publisher drains some: purchases are accepted again */
	for (int64_t r = first_purchase; r < first_purchase + 100; r++)
		assert_int_equal(sl_spool_delete(sp, r), 0);
	commit_ok(sp);
	assert_true(sl_spool_append(sp, SL_CLASS_PURCHASE, "a-again", "purchase", payload,
				    sizeof(payload)) > 0);
	commit_ok(sp);
	sl_spool_close(sp);
}

/* A presence event never evicts footfall (higher priority); footfall evicts
 * footfall. */
static void test_cap_eviction_respects_priority(void **state)
{
	struct fixture *f = *state;
	struct sl_spool_cfg cfg = cfg_for(f->path);
	struct sl_spool_stats st;
	struct sl_spool *sp;
	uint64_t footfall;
	char payload[900];
	int n = 0;

	cfg.max_mb = 1;
	sp = open_ok(&cfg, false);
	memset(payload, 'f', sizeof(payload));
	for (;; n++) {
		char id[32];
		int64_t seq;

		snprintf(id, sizeof(id), "f-%d", n);
		seq = sl_spool_append(sp, SL_CLASS_FOOTFALL, id, "footfall", payload, sizeof(payload));
		assert_true(seq > 0);
		if (sl_spool_commit_due(sp, sl_mono_ms()))
			commit_ok(sp);
		assert_int_equal(sl_spool_stats(sp, &st), 0);
		if (st.dropped_by_class[SL_CLASS_FOOTFALL])
			break;
		assert_true(n < 5000);
	}
	commit_ok(sp);
	assert_int_equal(sl_spool_stats(sp, &st), 0);
	footfall = st.depth_by_class[SL_CLASS_FOOTFALL];
	assert_true(footfall > 500);
	/* presence fills the room the last eviction left, then evicts older
	 * presence, never footfall */
	for (n = 0; n < 200; n++)
		assert_true(sl_spool_append(sp, SL_CLASS_PRESENCE, "p", "presence", payload,
					    sizeof(payload)) > 0);
	commit_ok(sp);
	assert_int_equal(sl_spool_stats(sp, &st), 0);
	assert_int_equal(st.depth_by_class[SL_CLASS_FOOTFALL], footfall);
	assert_true(st.dropped_by_class[SL_CLASS_PRESENCE] > 0);
	assert_int_equal(st.depth_by_class[SL_CLASS_PRESENCE] + st.dropped_by_class[SL_CLASS_PRESENCE],
			 200);
	sl_spool_close(sp);
}

/* Tracks what the caller would tell the POS: durable or failed. */
struct fill {
	int64_t pending_seq[64];
	size_t npending;
	size_t durable;
	size_t failed;
	int enospc;
};

static void fill_commit(struct sl_spool *sp, struct fill *fl)
{
	int64_t rc = sl_spool_commit(sp);

	if (rc >= 0) {
		for (size_t i = 0; i < fl->npending; i++)
			assert_true(fl->pending_seq[i] <= rc);
		fl->durable += fl->npending;
	} else {
		assert_int_equal(rc, -ENOSPC);
		fl->enospc++;
		fl->failed += fl->npending;
	}
	fl->npending = 0;
}

/* Appends 1 KiB purchases, committing every 16, until the spool reports
 * -ENOSPC (from an append or a commit). */
static void fill_until_full(struct sl_spool *sp, struct fill *fl, const char *prefix)
{
	char payload[1024];

	memset(payload, 'z', sizeof(payload));
	for (int i = 0; !fl->enospc; i++) {
		char id[32];
		int64_t seq;

		assert_true(i < 100000);
		snprintf(id, sizeof(id), "%s-%d", prefix, i);
		seq = sl_spool_append(sp, SL_CLASS_PURCHASE, id, "purchase", payload, sizeof(payload));
		if (seq < 0) {
			assert_int_equal(seq, -ENOSPC);
			fl->enospc++;
			break;
		}
		assert_true(seq > 0);
		fl->pending_seq[fl->npending++] = seq;
		if (fl->npending == 16)
			fill_commit(sp, fl);
	}
	fill_commit(sp, fl);
}

static void expect_durable(struct sl_spool *sp, size_t durable)
{
	struct sl_spool_cursor cur = { 0 };
	struct sl_spool_stats st;
	size_t n = 0;

	assert_int_equal(sl_spool_fetch(sp, &cur, 1000000, count_row, &n), (int)durable);
	assert_int_equal(sl_spool_stats(sp, &st), 0);
	assert_int_equal(st.depth, durable);
}

static unsigned test_max_pages;

static int set_max_page_count(sqlite3 *db, const char **err, const struct sqlite3_api_routines *api)
{
	char sql[64];

	(void)err;
	(void)api;
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count=%u", test_max_pages);
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* SQLITE_FULL from SQLite's own limit: -ENOSPC, nothing half-written, and
 * the spool goes on once rows are deleted. */
static void test_sqlite_full(void **state)
{
	struct fixture *f = *state;
	struct sl_spool_cfg cfg = cfg_for(f->path);
	struct sl_spool_cursor cur = { 0 };
	struct sl_spool *sp;
	struct fill fl = { 0 };
	struct got g = { 0 };
	int64_t seq;

	test_max_pages = 64; /* 256 KiB */
	assert_int_equal(sqlite3_auto_extension((void (*)(void))set_max_page_count), SQLITE_OK);
	sp = open_ok(&cfg, false);
	sqlite3_cancel_auto_extension((void (*)(void))set_max_page_count);

	fill_until_full(sp, &fl, "m");
	assert_true(fl.enospc > 0);
	assert_true(fl.durable > 100);
	expect_durable(sp, fl.durable);

	/* drain 20 rows: appends work again */
	assert_int_equal(sl_spool_fetch(sp, &cur, 20, collect, &g), 20);
	for (size_t i = 0; i < 20; i++)
		assert_int_equal(sl_spool_delete(sp, g.rowid[i]), 0);
	commit_ok(sp);
	seq = append_str(sp, SL_CLASS_PURCHASE, "again", "{}");
	assert_true(seq > 0);
	assert_int_equal(commit_ok(sp), seq);
	expect_durable(sp, fl.durable - 20 + 1);
	sl_spool_close(sp);

	/* and the file is sound */
	sp = open_ok(&cfg, false);
	expect_durable(sp, fl.durable - 20 + 1);
	sl_spool_close(sp);
}

/* A real full file system (512 KiB tmpfs): needs mount(2), skipped without
 * (a failure with SL_REQUIRE_ALL=1, as ./tools/test sets). */
static void test_disk_full_tmpfs(void **state)
{
	struct fixture *f = *state;
	struct sl_spool_cfg cfg;
	struct sl_spool_cursor cur = { 0 };
	struct sl_spool *sp;
	struct fill fl = { 0 };
	struct got g = { 0 };
	char path[1200], filler[1200];
	int64_t rc;
	int fd;

	snprintf(f->mnt, sizeof(f->mnt), "%s/mnt", f->dir);
	assert_int_equal(mkdir(f->mnt, 0700), 0);
	if (mount("tmpfs", f->mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=512k") < 0) {
		int e = errno;

		f->mnt[0] = '\0';
		/* ./tools/test (CI) must run it: there a skip is a failure */
		if (getenv("SL_REQUIRE_ALL") && strcmp(getenv("SL_REQUIRE_ALL"), "1") == 0)
			fail_msg("cannot mount a tmpfs (%s) and SL_REQUIRE_ALL=1: run as root", strerror(e));
		skip();
	}
	/* 128 KiB of filler, freed later to give the spool room again */
	snprintf(filler, sizeof(filler), "%s/filler", f->mnt);
	fd = open(filler, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	{
		char block[4096];

		memset(block, 1, sizeof(block));
		for (int i = 0; i < 32; i++)
			assert_int_equal(write(fd, block, sizeof(block)), (ssize_t)sizeof(block));
	}
	close(fd);

	snprintf(path, sizeof(path), "%s/spool.db", f->mnt);
	cfg = cfg_for(path);
	cfg.sync = SL_SPOOL_SYNC_FULL;
	sp = open_ok(&cfg, false);
	fill_until_full(sp, &fl, "d");
	assert_true(fl.enospc > 0);
	assert_true(fl.durable > 16);
	expect_durable(sp, fl.durable);

	/* the headroom: appends are refused before the file system is full,
	 * so PUBACK deletes still commit, and count as deleted once durable */
	{
		struct sl_spool_stats st;

		assert_int_equal(sl_spool_stats(sp, &st), 0);
		assert_true(st.disk_low);
		assert_true(st.reserve_bytes >= 64 * 1024);
	}
	assert_int_equal(sl_spool_fetch(sp, &cur, 4, collect, &g), 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(sl_spool_delete(sp, g.rowid[i]), 0);
	assert_int_equal(append_str(sp, SL_CLASS_PURCHASE, "y", "{}"), -ENOSPC);
	rc = sl_spool_commit(sp);
	assert_true(rc >= 0);
	{
		struct sl_spool_stats st;

		assert_int_equal(sl_spool_stats(sp, &st), 0);
		assert_int_equal(st.deleted_by_class[SL_CLASS_PURCHASE], 4);
		assert_int_equal(st.deletes_pending, 0);
	}
	expect_durable(sp, fl.durable - 4);

	/* room again: the same spool goes on (the free space is measured at
	 * most every 100 ms while the disk is low) */
	assert_int_equal(unlink(filler), 0);
	for (int i = 0;; i++) {
		rc = append_str(sp, SL_CLASS_PURCHASE, "after-full", "{}");
		if (rc > 0)
			break;
		assert_int_equal(rc, -ENOSPC);
		assert_true(i < 500);
		usleep(10000);
	}
	assert_int_equal(commit_ok(sp), rc);
	sl_spool_close(sp);

	/* reopening: the check passes, every committed row is there */
	sp = open_ok(&cfg, false);
	{
		struct sl_spool_stats st;

		assert_int_equal(sl_spool_stats(sp, &st), 0);
		assert_int_equal(st.depth, fl.durable - 4 + 1);
	}
	sl_spool_close(sp);
}

/* ---- a VFS that fails xSync on demand (as fdatasync returning EIO) ---- */

static bool vfs_fail_sync;
static sqlite3_vfs faulty_vfs;
static sqlite3_vfs *real_vfs;

struct ffile {
	sqlite3_file base;
	sqlite3_file *real; /* right after this struct */
};

#define REAL(f) (((struct ffile *)(f))->real)

static int f_close(sqlite3_file *f) { return REAL(f)->pMethods->xClose(REAL(f)); }
static int f_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o) { return REAL(f)->pMethods->xRead(REAL(f), b, n, o); }
static int f_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o) { return REAL(f)->pMethods->xWrite(REAL(f), b, n, o); }
static int f_truncate(sqlite3_file *f, sqlite3_int64 sz) { return REAL(f)->pMethods->xTruncate(REAL(f), sz); }
static int f_sync(sqlite3_file *f, int flags)
{
	if (vfs_fail_sync)
		return SQLITE_IOERR_FSYNC;
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int f_size(sqlite3_file *f, sqlite3_int64 *sz) { return REAL(f)->pMethods->xFileSize(REAL(f), sz); }
static int f_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int f_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int f_reserved(sqlite3_file *f, int *r) { return REAL(f)->pMethods->xCheckReservedLock(REAL(f), r); }
static int f_fctl(sqlite3_file *f, int op, void *a) { return REAL(f)->pMethods->xFileControl(REAL(f), op, a); }
static int f_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int f_devchar(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int f_shmmap(sqlite3_file *f, int i, int sz, int ext, void volatile **pp) { return REAL(f)->pMethods->xShmMap(REAL(f), i, sz, ext, pp); }
static int f_shmlock(sqlite3_file *f, int o, int n, int fl) { return REAL(f)->pMethods->xShmLock(REAL(f), o, n, fl); }
static void f_shmbarrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int f_shmunmap(sqlite3_file *f, int del) { return REAL(f)->pMethods->xShmUnmap(REAL(f), del); }
static int f_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **pp) { return REAL(f)->pMethods->xFetch(REAL(f), o, n, pp); }
static int f_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p) { return REAL(f)->pMethods->xUnfetch(REAL(f), o, p); }

static const sqlite3_io_methods faulty_io = {
	3, f_close, f_read, f_write, f_truncate, f_sync, f_size, f_lock, f_unlock, f_reserved,
	f_fctl, f_sector, f_devchar, f_shmmap, f_shmlock, f_shmbarrier, f_shmunmap, f_fetch,
	f_unfetch,
};

static int faulty_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out)
{
	struct ffile *ff = (struct ffile *)file;
	int rc;

	(void)vfs;
	ff->real = (sqlite3_file *)(ff + 1);
	rc = real_vfs->xOpen(real_vfs, name, ff->real, flags, out);
	ff->base.pMethods = ff->real->pMethods ? &faulty_io : NULL;
	return rc;
}

static void faulty_register(void)
{
	real_vfs = sqlite3_vfs_find(NULL);
	faulty_vfs = *real_vfs;
	faulty_vfs.zName = "faulty";
	faulty_vfs.szOsFile = (int)sizeof(struct ffile) + real_vfs->szOsFile;
	faulty_vfs.xOpen = faulty_open;
	vfs_fail_sync = false;
	assert_int_equal(sqlite3_vfs_register(&faulty_vfs, 1), SQLITE_OK);
}

static void faulty_unregister(void)
{
	sqlite3_vfs_unregister(&faulty_vfs);
	sqlite3_vfs_register(real_vfs, 1);
}

/* Deletes whose commit fails (the sync: outcome unknown) are not lost, not
 * counted, not re-sent, and committed by a retry the spool schedules itself;
 * an append in a batch whose sync failed is reported as unknown. */
static void test_delete_commit_retry(void **state)
{
	struct fixture *f = *state;
	struct sl_spool_cfg cfg = cfg_for(f->path);
	struct sl_spool_cursor cur = { 0 };
	struct sl_spool_stats st;
	struct sl_spool *sp;
	struct got g = { 0 }, again = { 0 };
	int64_t seq;
	int due;

	faulty_register();
	cfg.sync = SL_SPOOL_SYNC_FULL;
	sp = open_ok(&cfg, false);
	for (int i = 0; i < 10; i++) {
		char id[16];

		snprintf(id, sizeof(id), "d-%d", i);
		assert_true(append_str(sp, SL_CLASS_PURCHASE, id, "{}") > 0);
	}
	assert_int_equal(commit_ok(sp), 10);
	assert_int_equal(sl_spool_fetch(sp, &cur, 10, collect, &g), 10);
	for (size_t i = 0; i < 10; i++)
		assert_int_equal(sl_spool_delete(sp, g.rowid[i]), 0);

	vfs_fail_sync = true;
	assert_int_equal(sl_spool_commit(sp), -SL_SPOOL_EUNKNOWN);
	assert_int_equal(sl_spool_stats(sp, &st), 0);
	assert_int_equal(st.depth, 10);
	assert_int_equal(st.deleted_by_class[SL_CLASS_PURCHASE], 0);
	assert_int_equal(st.deletes_pending, 10);
	/* the rows are not handed out again: the broker has them */
	assert_int_equal(sl_spool_fetch(sp, &cur, 10, collect, &again), 0);
	/* a retry is scheduled, after a backoff */
	due = sl_spool_commit_due_in_ms(sp, sl_mono_ms());
	assert_true(due > 0 && due <= 100);

	/* a new event in a batch whose sync fails: unknown outcome */
	seq = append_str(sp, SL_CLASS_PURCHASE, "during", "{}");
	assert_true(seq > 0);
	assert_int_equal(sl_spool_commit(sp), -SL_SPOOL_EUNKNOWN);

	vfs_fail_sync = false;
	for (int i = 0; sl_spool_commit_due_in_ms(sp, sl_mono_ms()) != 0; i++) {
		assert_true(i < 1000);
		usleep(10000);
	}
	assert_true(sl_spool_commit(sp) >= 0);
	assert_int_equal(sl_spool_stats(sp, &st), 0);
	assert_int_equal(st.depth, 0);
	assert_int_equal(st.deleted_by_class[SL_CLASS_PURCHASE], 10);
	assert_int_equal(st.deletes_pending, 0);
	assert_int_equal(sl_spool_commit_due_in_ms(sp, sl_mono_ms()), -1);
	sl_spool_close(sp);
	faulty_unregister();
}

/* Another process holding the write lock: -EBUSY, then the spool goes on. */
static void test_busy(void **state)
{
	struct fixture *f = *state;
	struct sl_spool_cfg cfg = cfg_for(f->path);
	struct sl_spool *sp = open_ok(&cfg, false);
	sqlite3 *other;
	int64_t seq;

	assert_true(append_str(sp, SL_CLASS_PURCHASE, "a1", "{}") > 0);
	commit_ok(sp);
	assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(append_str(sp, SL_CLASS_PURCHASE, "a2", "{}"), -EBUSY);
	assert_int_equal(sl_spool_pending(sp), 0);
	assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	seq = append_str(sp, SL_CLASS_PURCHASE, "a3", "{}");
	assert_true(seq > 0);
	assert_int_equal(commit_ok(sp), seq);
	sl_spool_close(sp);
}

static void test_stats(void **state)
{
	struct fixture *f = *state;
	struct sl_spool_cfg cfg = cfg_for(f->path);
	struct sl_spool *sp = open_ok(&cfg, false);
	struct sl_spool_cursor cur = { 0 };
	struct sl_spool_stats st;
	struct got g = { 0 };
	uint64_t before = sl_clock_elapsed_us(), after;

	assert_int_equal(sl_spool_stats(sp, &st), 0);
	assert_int_equal(st.depth, 0);
	assert_int_equal(st.oldest_created_us, 0);
	assert_int_equal(st.oldest_age_us, -1);
	assert_int_equal(st.cap_bytes, 0);
	assert_true(st.bytes > 0);

	append_str(sp, SL_CLASS_PRESENCE, "p1", "{}");
	after = sl_clock_elapsed_us();
	append_str(sp, SL_CLASS_PURCHASE, "a1", "{}");
	append_str(sp, SL_CLASS_PURCHASE, "a2", "{}");
	append_str(sp, SL_CLASS_STATUS, "s1", "{}");
	/* uncommitted rows count in the depth */
	assert_int_equal(sl_spool_stats(sp, &st), 0);
	assert_int_equal(st.depth, 4);
	commit_ok(sp);
	assert_int_equal(sl_spool_stats(sp, &st), 0);
	assert_int_equal(st.depth, 4);
	assert_int_equal(st.depth_by_class[SL_CLASS_PURCHASE], 2);
	assert_int_equal(st.depth_by_class[SL_CLASS_PRESENCE], 1);
	assert_int_equal(st.depth_by_class[SL_CLASS_STATUS], 1);
	assert_int_equal(st.depth_by_class[SL_CLASS_LOYALTY], 0);
	/* stamped by the elapsed clock (clock.h), which wall-clock steps do not move */
	assert_true(st.oldest_created_us >= (int64_t)before && st.oldest_created_us <= (int64_t)after);
	assert_true(st.oldest_age_us >= 0 &&
		    st.oldest_age_us <= (int64_t)(sl_clock_elapsed_us() - before));
	for (int c = 0; c < SL_CLASS__COUNT; c++)
		assert_int_equal(st.dropped_by_class[c], 0);

	assert_int_equal(sl_spool_fetch(sp, &cur, 10, collect, &g), 4);
	for (size_t i = 0; i < g.n; i++)
		assert_int_equal(sl_spool_delete(sp, g.rowid[i]), 0);
	assert_int_equal(sl_spool_stats(sp, &st), 0);
	assert_int_equal(st.depth, 0);
	commit_ok(sp);
	assert_int_equal(sl_spool_stats(sp, &st), 0);
	assert_int_equal(st.depth, 0);
	assert_int_equal(st.oldest_created_us, 0);
	sl_spool_close(sp);
}

struct drain {
	struct sl_spool *sp;
	int err;
};

static int drain_row(const struct sl_spool_row *row, void *ctx)
{
	struct drain *d = ctx;
	int rc = sl_spool_delete(d->sp, row->rowid);

	if (rc < 0)
		d->err = rc;
	return rc;
}

/* 200k rows in and out: memory stays flat (no row is ever loaded in bulk). */
static void test_memory_bounded(void **state)
{
	struct fixture *f = *state;
	struct sl_spool_cfg cfg = cfg_for(f->path);
	struct sl_spool_cursor cur = { 0 };
	struct sl_spool_stats st;
	struct sl_spool *sp;
	struct drain d = { 0 };
	char payload[300];
	long rss0, rss1, rss2;
	uint64_t bytes;
	int n;

	sp = open_ok(&cfg, false);
	memset(payload, 'm', sizeof(payload));
	/* warm up: let the page cache and statements reach their steady size */
	for (int i = 0; i < 5000; i++)
		assert_true(sl_spool_append(sp, SL_CLASS_PRESENCE, "warm", "presence", payload,
					    sizeof(payload)) > 0);
	commit_ok(sp);
	rss0 = rss_kib();
	assert_true(rss0 > 0);
	sqlite3_memory_highwater(1);

	for (int i = 0; i < 200000; i++) {
		char id[40];

		snprintf(id, sizeof(id), "0193a6f0-0000-7000-8000-%012d", i);
		assert_true(sl_spool_append(sp, i % 3 ? SL_CLASS_PRESENCE : SL_CLASS_PURCHASE, id,
					    "presence", payload, sizeof(payload)) > 0);
		if (sl_spool_commit_due(sp, sl_mono_ms()))
			commit_ok(sp);
	}
	commit_ok(sp);
	rss1 = rss_kib();
	assert_int_equal(sl_spool_stats(sp, &st), 0);
	assert_int_equal(st.depth, 205000);
	bytes = st.bytes;
	assert_true(bytes > 50u * 1024 * 1024); /* the backlog is on disk, not in memory */

	d.sp = sp;
	while ((n = sl_spool_fetch(sp, &cur, 256, drain_row, &d)) > 0)
		commit_ok(sp);
	assert_int_equal(n, 0);
	assert_int_equal(d.err, 0);
	commit_ok(sp);
	rss2 = rss_kib();
	assert_int_equal(sl_spool_stats(sp, &st), 0);
	assert_int_equal(st.depth, 0);
	print_message("RSS: %ld KiB at start, +%ld KiB with %" PRIu64 " MiB queued, +%ld KiB after"
		      " draining; SQLite heap high-water %lld KiB\n", rss0, rss1 - rss0,
		      bytes >> 20, rss2 - rss0, (long long)sqlite3_memory_highwater(0) / 1024);
	/* SQLite's own heap: page cache (512 KiB) and statements, not the backlog */
	assert_true(sqlite3_memory_highwater(0) < 4 * 1024 * 1024);
	if (RSS_MEANINGFUL) {
		assert_true(rss1 - rss0 < 32 * 1024);
		assert_true(rss2 - rss0 < 32 * 1024);
	}
	sl_spool_close(sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_class_table),
		cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_priority_then_age, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_callback_control, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batching_one_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_keeps_committed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_btree_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_wal_moved_too, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_only_empty_db, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_chain_broken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_file_is_fresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap_overflow_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap_eviction_respects_priority, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sqlite_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disk_full_tmpfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_commit_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_bounded, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * bench_spool: how fast the event spool takes events and what it costs the
 * storage. For sync full and normal, one commit per event versus batches of
 * 256, it appends ~450-byte purchase events for about two seconds and prints
 * events/s and the bytes written to storage per event (/proc/self/io
 * write_bytes; 0 on file systems that do not account it, e.g. tmpfs), plus
 * the syscall-level bytes (wchar). Then the drain rate (fetch + delete after
 * "PUBACK") and the cost of the max_mb size check. Not a test: no pass/fail.
 *
 *   bench_spool [DIR] [SECONDS]   DIR defaults to a new directory in $TMPDIR
 *                                 or /tmp; run it on the gateway's state_dir
 *                                 file system for real numbers.
 */
#include "clock.h"
#include "spool.h"

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct io {
	uint64_t wchar;
	uint64_t write_bytes;
};

static void read_io(struct io *io)
{
	FILE *fp = fopen("/proc/self/io", "r");
	char line[128];

	memset(io, 0, sizeof(*io));
	if (!fp)
		return;
	while (fgets(line, sizeof(line), fp)) {
		unsigned long long v;

		if (sscanf(line, "wchar: %llu", &v) == 1)
			io->wchar = v;
		else if (sscanf(line, "write_bytes: %llu", &v) == 1)
			io->write_bytes = v;
	}
	fclose(fp);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void remove_spool(const char *path)
{
	char p[4200];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static int make_payload(char *buf, size_t size, uint64_t n)
{
	char ts[SL_RFC3339_LEN];

	sl_rfc3339(sl_now_us(), ts);
	return snprintf(buf, size,
			"{\"schema\":\"storelink.event/1\",\"id\":\"0193a6f0-%04" PRIx64
			"-7000-8000-%012" PRIx64 "\",\"type\":\"purchase\",\"ts\":\"%s\","
			"\"clock\":\"synced\",\"tenant\":\"acme\",\"store\":\"0042\","
			"\"gateway\":\"gw-1\",\"zone\":\"lane-3\",\"ids\":{\"card\":"
			"\"v1.q8ZlOT0Wm7n7vS9Xp1bq3dQ6yS0Qw1e5Rr2tYy3uIi4\",\"loyalty\":"
			"\"v1.H3llo0Wq9xN2mB7vC5zL8kJ4gF6dS1aP0oI9uY7tR3e\"},"
			"\"card\":{\"brand\":\"visa\"},\"txn\":{\"id\":\"T-%" PRIu64
			"\",\"amount\":\"12.34\",\"currency\":\"EUR\"}}",
			(n >> 48) & 0xffff, n, ts, n);
}

struct result {
	uint64_t events;
	double secs;
	double write_bytes_per_event;
	double wchar_per_event;
};

/* Appends for `secs` seconds, committing every `batch` events. */
static int run_append(const char *path, enum sl_spool_sync sync, uint32_t batch, uint32_t max_mb,
		      double secs, struct result *res)
{
	struct sl_spool_cfg cfg = {
		.path = path,
		.max_mb = max_mb,
		.sync = sync,
		.commit_ms = 1000000,
		.commit_max = batch,
	};
	struct sl_spool *sp;
	struct io io0, io1;
	uint64_t t0, t1, n = 0;
	char payload[1024];
	int rc;

	remove_spool(path);
	rc = sl_spool_open(&sp, &cfg, NULL);
	if (rc < 0)
		return rc;
	read_io(&io0);
	t0 = sl_mono_ms();
	t1 = t0;
	while ((double)(t1 - t0) < secs * 1000.0) {
		for (uint32_t i = 0; i < batch; i++, n++) {
			char id[48];
			int len = make_payload(payload, sizeof(payload), n);
			int64_t seq;

			snprintf(id, sizeof(id), "0193a6f0-0000-7000-8000-%012" PRIx64, n);
			seq = sl_spool_append(sp, SL_CLASS_PURCHASE, id, "purchase", payload, (size_t)len);
			if (seq <= 0) {
				rc = seq < 0 ? (int)seq : -EIO;
				goto out;
			}
		}
		if (!sl_spool_commit_due(sp, sl_mono_ms())) {
			rc = -EPROTO;
			goto out;
		}
		if (sl_spool_commit(sp) < 0) {
			rc = -EIO;
			goto out;
		}
		t1 = sl_mono_ms();
	}
	read_io(&io1);
	res->events = n;
	res->secs = (double)(t1 - t0) / 1000.0;
	res->write_bytes_per_event = (double)(io1.write_bytes - io0.write_bytes) / (double)n;
	res->wchar_per_event = (double)(io1.wchar - io0.wchar) / (double)n;
	rc = 0;
out:
	sl_spool_close(sp);
	return rc;
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

/* Drains the spool left by the last run: fetch 256, delete each, commit. */
static int run_drain(const char *path, enum sl_spool_sync sync, struct result *res)
{
	struct sl_spool_cfg cfg = { .path = path, .sync = sync, .commit_ms = 1000000, .commit_max = 256 };
	struct sl_spool_cursor cur = { 0 };
	struct drain d = { 0 };
	struct sl_spool *sp;
	struct io io0, io1;
	uint64_t t0, t1, n = 0;
	int rc;

	rc = sl_spool_open(&sp, &cfg, NULL);
	if (rc < 0)
		return rc;
	d.sp = sp;
	read_io(&io0);
	t0 = sl_mono_ms();
	while ((rc = sl_spool_fetch(sp, &cur, 256, drain_row, &d)) > 0) {
		n += (uint64_t)rc;
		if (sl_spool_commit(sp) < 0) {
			rc = -EIO;
			break;
		}
	}
	t1 = sl_mono_ms();
	read_io(&io1);
	sl_spool_close(sp);
	if (rc < 0 || d.err < 0 || n == 0)
		return rc < 0 ? rc : d.err < 0 ? d.err : -ENODATA;
	res->events = n;
	res->secs = (double)(t1 - t0) / 1000.0;
	res->write_bytes_per_event = (double)(io1.write_bytes - io0.write_bytes) / (double)n;
	res->wchar_per_event = (double)(io1.wchar - io0.wchar) / (double)n;
	return 0;
}

static void print_result(const char *what, const struct result *r)
{
	printf("%-34s %9" PRIu64 " ev in %5.2f s  %10.0f ev/s  %8.0f B/ev written  %8.0f B/ev wchar\n",
	       what, r->events, r->secs, r->secs > 0 ? (double)r->events / r->secs : 0.0,
	       r->write_bytes_per_event, r->wchar_per_event);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		enum sl_spool_sync sync;
		uint32_t batch;
		uint32_t max_mb;
	} cases[] = {
		{ "append sync=full   batch=1", SL_SPOOL_SYNC_FULL, 1, 0 },
		{ "append sync=full   batch=256", SL_SPOOL_SYNC_FULL, 256, 0 },
		{ "append sync=normal batch=1", SL_SPOOL_SYNC_NORMAL, 1, 0 },
		{ "append sync=normal batch=256", SL_SPOOL_SYNC_NORMAL, 256, 0 },
		{ "append sync=full   batch=256 cap", SL_SPOOL_SYNC_FULL, 256, 4096 },
	};
	char dir[4096], path[4200], sample[1024];
	const char *tmp = getenv("TMPDIR");
	bool made_dir = false;
	double secs = argc > 2 ? atof(argv[2]) : 2.0;
	int ret = 0;

	if (argc > 1 && strcmp(argv[1], "-h") && strcmp(argv[1], "--help")) {
		snprintf(dir, sizeof(dir), "%s", argv[1]);
	} else if (argc > 1) {
		fprintf(stderr, "usage: %s [DIR] [SECONDS]\n", argv[0]);
		return 2;
	} else {
		snprintf(dir, sizeof(dir), "%s/bench_spool.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(dir)) {
			perror("mkdtemp");
			return 1;
		}
		made_dir = true;
	}
	if (secs <= 0)
		secs = 2.0;
	snprintf(path, sizeof(path), "%s/bench-spool.db", dir);
	printf("spool bench in %s, %.1f s per case, ~%d-byte events\n", dir, secs,
	       make_payload(sample, sizeof(sample), 0));

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct result r = { 0 };
		int rc = run_append(path, cases[i].sync, cases[i].batch, cases[i].max_mb, secs, &r);

		if (rc < 0) {
			fprintf(stderr, "%s: %s\n", cases[i].name, strerror(-rc));
			ret = 1;
			continue;
		}
		print_result(cases[i].name, &r);
		if (i == 3 || i == 4) {
			rc = run_drain(path, cases[i].sync, &r);
			if (rc < 0) {
				fprintf(stderr, "drain: %s\n", strerror(-rc));
				ret = 1;
				continue;
			}
			print_result(cases[i].sync == SL_SPOOL_SYNC_FULL ?
				     "drain  sync=full   fetch+del 256" : "drain  sync=normal fetch+del 256", &r);
		}
	}
	remove_spool(path);
	if (made_dir)
		nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return ret;
}

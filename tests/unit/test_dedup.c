/* SPDX-License-Identifier: MIT */
/*
 * Resend de-duplication (issue 10, item 9): the key derivation against an
 * independent computation (Python hashlib, vectors below), which requests
 * get which key (sl_pos_request), and the spool's key table: found while
 * pending and after the commit, forgotten by a rollback, pruned by age,
 * kept across a reopen with sequences that stay above the stored ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "dedup.h"
#include "pos_request.h"
#include "privacy.h"
#include "spool.h"

#include <errno.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOW_US 1795389275123000ull	/* 2026-11-22T23:14:35.123Z */
#define S 1000000ll

static void hex(const uint8_t *b, char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* python3: sha256(b"".join(struct.pack(">I", len(f)) + f for f in fields)) */
static void test_key_vectors(void **state)
{
	static const struct {
		const char *kind, *f[4];
		size_t n;
		const char *want;
	} v[] = {
		{ "purchase", { "acme", "0042", "3", "T-881" }, 4,
		  "c9fed7c807369c58f1cff9e08224065bdd4485966c5995db1cb2adc2bf15ffb5" },
		{ "request_id", { "acme", "0042", "r-1" }, 3,
		  "ef2d7a82a0e02987d7c4790275cedc1e440c1ab8598b84343d081eb1a17e32f5" },
		{ "purchase", { "acme", "0042", "", "T-881" }, 4,
		  "9917e955f2ce7a718dc82a0f212e7bde6f190f96e0facd2fc8f1bbd2b46e6828" },
	};
	uint8_t key[SL_DEDUP_KEY_LEN];
	char got[65];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t lens[4];

		for (size_t j = 0; j < v[i].n; j++)
			lens[j] = strlen(v[i].f[j]);
		assert_int_equal(sl_dedup_key(v[i].kind, v[i].f, lens, v[i].n, key), 0);
		hex(key, got);
		assert_string_equal(got, v[i].want);
	}
}

/* ---- which requests get which key ---- */

static struct sl_keyring *kr;
static struct sl_pos_result res;

static int run(const char *line)
{
	struct sl_pos_ctx ctx = { .kr = kr, .origin = { "acme", "0042", "gw-1" }, .zone = "store" };
	char buf[1024];
	size_t n = strlen(line);

	assert_true(n < sizeof(buf));
	memcpy(buf, line, n + 1);
	return sl_pos_request(&ctx, buf, n, NOW_US, true, &res);
}

static void key_of(const char *line, bool *has, uint8_t key[SL_DEDUP_KEY_LEN])
{
	assert_int_equal(run(line), 0);
	assert_int_equal(res.outcome, SL_POS_OUT_EVENT);
	*has = res.has_key;
	memcpy(key, res.key, SL_DEDUP_KEY_LEN);
}

#define BUY(lane, txn, extra) "{\"type\":\"purchase\",\"lane\":" lane ",\"txn_id\":\"" txn "\"," \
	"\"pan\":\"4111111111111111\",\"amount\":\"12.34\",\"currency\":\"EUR\"" extra "}"

static void test_request_keys(void **state)
{
	uint8_t a[32], b[32], c[32];
	char got[65];
	bool has;

	(void)state;
	assert_int_equal(sl_keyring_new(&kr, "acme", (const uint8_t *)"0123456789abcdef0123456789abcdef",
					"v1", NULL, NULL), 0);
	/* the vector above: tenant, store, lane "3", txn_id */
	key_of(BUY("\"3\"", "T-881", ""), &has, a);
	assert_true(has);
	hex(a, got);
	assert_string_equal(got, "c9fed7c807369c58f1cff9e08224065bdd4485966c5995db1cb2adc2bf15ffb5");
	/* lane as a number, other amount, other card, a ts: the same purchase */
	key_of("{\"type\":\"purchase\",\"lane\":3,\"txn_id\":\"T-881\",\"pan\":\"5500005555555559\","
	       "\"amount\":\"1\",\"currency\":\"USD\",\"ts\":\"2026-11-22T23:14:35Z\"}", &has, b);
	assert_memory_equal(a, b, 32);
	/* another lane, another txn_id: another purchase */
	key_of(BUY("\"4\"", "T-881", ""), &has, b);
	assert_memory_not_equal(a, b, 32);
	key_of(BUY("\"3\"", "T-882", ""), &has, b);
	assert_memory_not_equal(a, b, 32);
	/* request_id wins over the txn */
	key_of(BUY("\"3\"", "T-881", ",\"request_id\":\"r-1\""), &has, b);
	hex(b, got);
	assert_string_equal(got, "ef2d7a82a0e02987d7c4790275cedc1e440c1ab8598b84343d081eb1a17e32f5");
	key_of("{\"type\":\"loyalty_scan\",\"loyalty_id\":\"LC-1\",\"request_id\":\"r-1\"}", &has, c);
	assert_memory_equal(b, c, 32);
	/* a loyalty scan without request_id has no key */
	key_of("{\"type\":\"loyalty_scan\",\"loyalty_id\":\"LC-1\"}", &has, c);
	assert_false(has);
	/* request_id must be 1-64 printable characters, a string */
	assert_int_equal(run(BUY("\"3\"", "T-1", ",\"request_id\":\"\"")), -EINVAL);
	assert_string_equal(res.error, "invalid_field");
	assert_int_equal(run(BUY("\"3\"", "T-1", ",\"request_id\":7")), -EINVAL);
	assert_string_equal(res.error, "invalid_field");
	assert_int_equal(run(BUY("\"3\"", "T-1", ",\"request_id\":\"a b\"")), -EINVAL);
	assert_int_equal(run(BUY("\"3\"", "T-1", ",\"request_id\":\""
				 "12345678901234567890123456789012345678901234567890123456789012345\"")),
			 -EINVAL);
	/* issue 10 item 8: the id never comes from ts (it used to be year 9999) */
	if (run(BUY("\"3\"", "T-9", ",\"ts\":\"9999-12-31T23:59:59.999Z\"")) == 0) {
		uint64_t ms;
		char h[13];

		memcpy(h, res.id, 8);
		memcpy(h + 8, res.id + 9, 4);
		h[12] = '\0';
		ms = strtoull(h, NULL, 16);
		assert_true(ms < sl_now_us() / 1000 + 3600000 && ms + 3600000 > sl_now_us() / 1000);
	}
	sl_keyring_free(kr);
}

/* ---- the spool's key table ---- */

static char dir[64], path[128];

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static struct sl_spool *open_spool(void)
{
	struct sl_spool_cfg cfg = { .path = path, .sync = SL_SPOOL_SYNC_NORMAL };
	struct sl_spool *sp = NULL;

	assert_int_equal(sl_spool_open(&sp, &cfg, NULL), 0);
	return sp;
}

static void key_n(uint8_t key[32], int n)
{
	memset(key, 0, 32);
	memcpy(key, &n, sizeof(n));
}

static void test_spool_keys(void **state)
{
	struct sl_spool *sp;
	uint8_t k1[32], k2[32], k3[32], k4[32];
	char id[SL_UUID_LEN];
	int64_t seq, s1, s2, durable;
	uint64_t n;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sl-test-dedup-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/spool.db", dir);
	key_n(k1, 1);
	key_n(k2, 2);
	key_n(k3, 3);
	key_n(k4, 4);
	sp = open_spool();

	assert_int_equal(sl_spool_key_find(sp, k1, 0, id, sizeof(id), &seq), 0);
	s1 = sl_spool_append(sp, SL_CLASS_PURCHASE, "id-1", "purchase", "{}", 2);
	assert_true(s1 > 0);
	assert_int_equal(sl_spool_key_add(sp, k1, "id-1", s1, 100 * S, 0), 0);
	/* pending: found, with the sequence to wait for */
	assert_int_equal(sl_spool_key_find(sp, k1, 0, id, sizeof(id), &seq), 1);
	assert_string_equal(id, "id-1");
	assert_int_equal(seq, s1);
	durable = sl_spool_commit(sp);
	assert_true(durable >= s1);
	/* committed: nothing to wait for */
	assert_int_equal(sl_spool_key_find(sp, k1, 0, id, sizeof(id), &seq), 1);
	assert_int_equal(seq, 0);
	/* outside the window: not found */
	assert_int_equal(sl_spool_key_find(sp, k1, 100 * S + 1, id, sizeof(id), &seq), 0);
	/* too small an output buffer */
	assert_int_equal(sl_spool_key_find(sp, k1, 0, id, 4, &seq), -EUCLEAN);
	assert_int_equal(sl_spool_key_add(sp, k1, "", 1, 0, 0), -EINVAL);
	assert_int_equal(sl_spool_key_add(sp, k1, "x", 0, 0, 0), -EINVAL);

	s2 = sl_spool_append(sp, SL_CLASS_PURCHASE, "id-2", "purchase", "{}", 2);
	assert_int_equal(sl_spool_key_add(sp, k2, "id-2", s2, 200 * S, 0), 0);
	assert_int_equal(sl_spool_key_count(sp, &n), 0);
	assert_int_equal(n, 2);
	assert_true(sl_spool_commit(sp) >= s2);

	/* pruning: adding a key at 100 s + window removes keys older than the window */
	{
		int64_t s3 = sl_spool_append(sp, SL_CLASS_PURCHASE, "id-3", "purchase", "{}", 2);

		assert_int_equal(sl_spool_key_add(sp, k3, "id-3", s3, 300 * S, 150 * S), 0);
		assert_true(sl_spool_commit(sp) >= s3);
	}
	assert_int_equal(sl_spool_key_count(sp, &n), 0);
	assert_int_equal(n, 2);	/* k1 (100 s) pruned, k2 (200 s) and k3 kept */
	assert_int_equal(sl_spool_key_find(sp, k1, 0, id, sizeof(id), &seq), 0);
	assert_int_equal(sl_spool_key_find(sp, k2, 0, id, sizeof(id), &seq), 1);
	sl_spool_close(sp);

	/* a process dying before its commit (kill -9): key and event are in one
	 * transaction, so both are gone */
	{
		pid_t pid = fork();
		int status;

		assert_true(pid >= 0);
		if (pid == 0) {
			struct sl_spool *c = open_spool();
			int64_t sq = sl_spool_append(c, SL_CLASS_PURCHASE, "id-x", "purchase", "{}", 2);

			_exit(sq > 0 && sl_spool_key_add(c, k4, "id-x", sq, 300 * S, 0) == 0 &&
			      sl_spool_key_find(c, k4, 0, id, sizeof(id), &seq) == 1 && seq == sq ? 0 : 1);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}

	/* delete every event (published), reopen: the keys stay, committed, and
	 * new sequences are above theirs (else a key of the last run would look
	 * pending in this one) */
	sp = open_spool();
	assert_int_equal(sl_spool_key_find(sp, k4, 0, id, sizeof(id), &seq), 0);
	for (int64_t r = 1; r <= 3; r++)
		assert_int_equal(sl_spool_delete(sp, r), 0);
	assert_true(sl_spool_commit(sp) >= 0);
	sl_spool_close(sp);
	sp = open_spool();
	assert_int_equal(sl_spool_key_find(sp, k3, 0, id, sizeof(id), &seq), 1);
	assert_string_equal(id, "id-3");
	assert_int_equal(seq, 0);
	seq = sl_spool_append(sp, SL_CLASS_PURCHASE, "id-4", "purchase", "{}", 2);
	assert_true(seq > 3);
	sl_spool_close(sp);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Issue 10 item 8: a row of an earlier run whose stamp is ahead of now (the
 * clock went back 10 days across the restart) still shows its backlog age:
 * at least this run's uptime, never "none" or an underflow. */
static void test_backlog_age_after_restart(void **state)
{
	struct sl_spool_stats st;
	struct sl_spool *sp;
	sqlite3 *db;
	int64_t seq;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sl-test-age-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/spool.db", dir);
	sp = open_spool();
	seq = sl_spool_append(sp, SL_CLASS_PURCHASE, "old", "purchase", "{}", 2);
	assert_true(sl_spool_commit(sp) >= seq);
	sl_spool_close(sp);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE events SET created_us = created_us + 864000000000",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	sp = open_spool();
	usleep(20000);
	assert_int_equal(sl_spool_stats(sp, &st), 0);
	assert_int_equal(st.depth, 1);
	assert_true(st.oldest_age_us >= 20000);		/* this run's uptime at least */
	assert_true(st.oldest_age_us < 3600 * S);	/* not an underflow */
	/* a new row of this run is aged exactly */
	seq = sl_spool_append(sp, SL_CLASS_PURCHASE, "new", "purchase", "{}", 2);
	assert_true(seq > 0);
	sl_spool_close(sp);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_vectors),
		cmocka_unit_test(test_request_keys),
		cmocka_unit_test(test_spool_keys),
		cmocka_unit_test(test_backlog_age_after_restart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

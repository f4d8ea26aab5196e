/* SPDX-License-Identifier: MIT */
/*
 * The logger's journald mode: JOURNAL_STREAM is honoured only when it names
 * stderr itself, and then every line starts with its syslog priority.
 */
#include "log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char path[] = "/tmp/sl-test-log-XXXXXX";

/* Points stderr at a fresh temporary file; returns the saved stderr. */
static int stderr_to_file(void)
{
	int saved = dup(STDERR_FILENO), fd = mkstemp(path);

	assert_true(saved >= 0 && fd >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	return saved;
}

static void stderr_restore(int saved, char *out, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	fclose(f);
	unlink(path);
	strcpy(path, "/tmp/sl-test-log-XXXXXX");
	dup2(saved, STDERR_FILENO);
	close(saved);
}

static void set_journal_stream(int fd)
{
	struct stat st;
	char env[64];

	assert_int_equal(fstat(fd, &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
}

static void journal_detected_only_for_stderr(void **state)
{
	int saved = stderr_to_file();
	char out[256];

	(void)state;
	unsetenv("JOURNAL_STREAM");
	assert_false(sl_log_stderr_is_journal());
	setenv("JOURNAL_STREAM", "garbage", 1);
	assert_false(sl_log_stderr_is_journal());
	set_journal_stream(saved);	/* inherited, but stderr was redirected */
	assert_false(sl_log_stderr_is_journal());
	set_journal_stream(STDERR_FILENO);
	assert_true(sl_log_stderr_is_journal());
	unsetenv("JOURNAL_STREAM");
	stderr_restore(saved, out, sizeof(out));
}

static void priorities_prefix_each_line(void **state)
{
	int saved = stderr_to_file();
	char out[512];

	(void)state;
	sl_log_set_level(SL_LOG_DEBUG);
	sl_log_set_timestamps(false);
	sl_log_set_priorities(true);
	sl_err("e %d", 1);
	sl_warn("w");
	sl_info("i");
	sl_debug("d");
	sl_log_set_priorities(false);
	sl_warn("plain");
	stderr_restore(saved, out, sizeof(out));
	assert_string_equal(out, "<3>storelinkd: error: e 1\n"
				 "<4>storelinkd: warn: w\n"
				 "<6>storelinkd: info: i\n"
				 "<7>storelinkd: debug: d\n"
				 "storelinkd: warn: plain\n");
}

static void priority_comes_before_timestamp(void **state)
{
	int saved = stderr_to_file();
	char out[256];

	(void)state;
	sl_log_set_level(SL_LOG_INFO);
	sl_log_set_timestamps(true);
	sl_log_set_priorities(true);
	sl_warn("x");
	sl_log_set_priorities(false);
	sl_log_set_timestamps(false);
	stderr_restore(saved, out, sizeof(out));
	/* "<4>2026-12-01T22:11:12.123Z storelinkd: warn: x\n" */
	assert_memory_equal(out, "<4>", 3);
	assert_int_equal(out[7], '-');
	assert_non_null(strstr(out, "Z storelinkd: warn: x\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(journal_detected_only_for_stderr),
		cmocka_unit_test(priorities_prefix_each_line),
		cmocka_unit_test(priority_comes_before_timestamp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

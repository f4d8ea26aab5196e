/* SPDX-License-Identifier: MIT */
/*
 * stderr logger: one line per message, "LEVEL message", optionally prefixed
 * with an RFC 3339 UTC timestamp. Lines are written with a single write(2)
 * so that concurrent writers (agent and test harness) do not interleave.
 *
 * When stderr is the journal (systemd sets JOURNAL_STREAM to the device and
 * inode of the stream it connected: checked against fstat(2), since a child
 * may inherit the variable with stderr redirected elsewhere), each line
 * starts with its syslog priority, "<3>" .. "<7>" as sd-daemon(3) defines
 * them, so journald records it and `journalctl -p warning` filters by it.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static enum sl_log_level log_level = SL_LOG_INFO;
static bool log_timestamps;
static bool log_priorities;

/* syslog(3) priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
static const char *const level_prefix[] = {
	[SL_LOG_ERR] = "<3>",
	[SL_LOG_WARN] = "<4>",
	[SL_LOG_INFO] = "<6>",
	[SL_LOG_DEBUG] = "<7>",
};

static const char *const level_names[] = {
	[SL_LOG_ERR] = "error",
	[SL_LOG_WARN] = "warn",
	[SL_LOG_INFO] = "info",
	[SL_LOG_DEBUG] = "debug",
};

void sl_log_set_level(enum sl_log_level level)
{
	log_level = level;
}

enum sl_log_level sl_log_get_level(void)
{
	return log_level;
}

void sl_log_set_timestamps(bool on)
{
	log_timestamps = on;
}

void sl_log_set_priorities(bool on)
{
	log_priorities = on;
}

bool sl_log_stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (!env || sscanf(env, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

int sl_log_level_parse(const char *s, enum sl_log_level *ret)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*ret = (enum sl_log_level)i;
			return 0;
		}
	}
	if (strcmp(s, "warning") == 0) {
		*ret = SL_LOG_WARN;
		return 0;
	}
	return -EINVAL;
}

void sl_log(enum sl_log_level level, const char *fmt, ...)
{
	char line[1024];
	size_t n = 0;
	va_list ap;
	int rc;

	if (level > log_level)
		return;
	if (log_priorities) {
		memcpy(line, level_prefix[level], 3);
		n = 3;
	}
	if (log_timestamps) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n += strftime(line + n, sizeof(line) - n, "%Y-%m-%dT%H:%M:%S", &tm);
		rc = snprintf(line + n, sizeof(line) - n, ".%03ldZ ",
			      ts.tv_nsec / 1000000);
		if (rc > 0)
			n += (size_t)rc;
	}
	rc = snprintf(line + n, sizeof(line) - n, "storelinkd: %s: ",
		      level_names[level]);
	if (rc > 0)
		n += (size_t)rc;
	va_start(ap, fmt);
	rc = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (rc > 0)
		n += (size_t)rc;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}

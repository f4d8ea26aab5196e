/* SPDX-License-Identifier: MIT */
/*
 * stderr logger: one line per message, "LEVEL message", optionally prefixed
 * with an RFC 3339 UTC timestamp. Lines are written with a single write(2)
 * so that concurrent writers (agent and test harness) do not interleave.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum sl_log_level log_level = SL_LOG_INFO;
static bool log_timestamps;

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
	if (log_timestamps) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
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

/* SPDX-License-Identifier: MIT */
/*
 * Logging to stderr with levels. The daemon's main sets the level from
 * [agent] log_level; library code (agent/, hal/) logs at debug at most and
 * returns errors to the caller, which decides and logs once.
 *
 * Never pass a raw identifier (PAN, track data, loyalty id, MAC, SSID) to
 * these functions: log tokens or counts instead.
 */
#ifndef SL_LOG_H
#define SL_LOG_H

#include <stdbool.h>

enum sl_log_level {
	SL_LOG_ERR = 0,
	SL_LOG_WARN = 1,
	SL_LOG_INFO = 2,
	SL_LOG_DEBUG = 3,
};

/* Sets the threshold; messages above it are dropped. */
void sl_log_set_level(enum sl_log_level level);
enum sl_log_level sl_log_get_level(void);
/* Parses "error" | "warn" | "info" | "debug"; returns 0 or -EINVAL. */
int sl_log_level_parse(const char *s, enum sl_log_level *ret);
/* Adds a timestamp prefix (off under systemd, whose journal stamps lines). */
void sl_log_set_timestamps(bool on);
/* Starts each line with its syslog priority ("<4>" for warn), for journald. */
void sl_log_set_priorities(bool on);
/* true when stderr is the stream systemd connected to the journal
 * (JOURNAL_STREAM names its device and inode). */
bool sl_log_stderr_is_journal(void);

void sl_log(enum sl_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define sl_err(...)   sl_log(SL_LOG_ERR, __VA_ARGS__)
#define sl_warn(...)  sl_log(SL_LOG_WARN, __VA_ARGS__)
#define sl_info(...)  sl_log(SL_LOG_INFO, __VA_ARGS__)
#define sl_debug(...) sl_log(SL_LOG_DEBUG, __VA_ARGS__)

#endif

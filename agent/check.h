/* SPDX-License-Identifier: MIT */
/*
 * storelinkd --check-config beyond syntax: a dry run of everything the
 * agent checks at start (key files, TLS files and their match and expiry,
 * the POS token and group, the state directory, placeholders such as
 * CHANGE-ME), each problem printed as "FILE:LINE: [section] key: reason",
 * all of them at once. Absent radio adapters and certificates expiring
 * within 30 days are warnings. Run as root, files are opened as user
 * (default SL_CHECK_DEFAULT_USER when it exists), as the service would.
 */
#ifndef SL_CHECK_H
#define SL_CHECK_H

#include "config.h"

#include <stdio.h>

#define SL_CHECK_DEFAULT_USER "storelink"

/* Prints problems and warnings to out; returns the number of problems (0 = ok). */
int sl_check_config(const struct sl_config *cfg, const char *user, FILE *out);

/* The certificate file's notAfter day ("YYYY-MM-DD") and whole days left
 * (negative when expired): 0, or -EINVAL when it cannot be read or parsed. */
#include "clock.h"
#include <stdint.h>
int sl_cert_not_after(const char *path, char out[SL_DAY_LEN], int64_t *ret_days_left);

#endif

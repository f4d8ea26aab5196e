/* SPDX-License-Identifier: MIT */
/*
 * Idempotency keys for POS requests (docs/pos-protocol.md, "Resends"): a
 * resent purchase (same tenant, store, lane and txn_id) or a request with
 * the same explicit request_id names the same event. The key is SHA-256
 * over a domain label and length-prefixed fields, so the free text of a
 * request is never stored a second time; the spool keeps only the hash
 * (sl_spool_key_add()).
 */
#ifndef SL_DEDUP_H
#define SL_DEDUP_H

#include "spool.h"

#include <stddef.h>
#include <stdint.h>

#define SL_DEDUP_KEY_LEN SL_SPOOL_KEY_LEN

/* SHA-256 over "storelink.dedup/1", kind, then each field, every one of
 * them preceded by its length (4 bytes, big-endian); kind is "purchase" or
 * "request_id". 0 or -EIO. */
int sl_dedup_key(const char *kind, const char *const fields[], const size_t lens[], size_t n,
		 uint8_t out[SL_DEDUP_KEY_LEN]);

#endif

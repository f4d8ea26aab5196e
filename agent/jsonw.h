/* SPDX-License-Identifier: MIT */
/*
 * JSON writer into a caller-supplied buffer: no allocation, escapes strings,
 * places commas. Used for event payloads, POS replies, control-socket and
 * storelinkctl output. On overflow further writes are ignored and
 * sl_jw_finish() returns -ENOSPC; the buffer then holds no valid JSON.
 *
 *	struct sl_jw w;
 *	sl_jw_init(&w, buf, sizeof(buf));
 *	sl_jw_obj_begin(&w);
 *	sl_jw_key(&w, "ok"); sl_jw_bool(&w, true);
 *	sl_jw_obj_end(&w);
 *	if (sl_jw_finish(&w) < 0) ...
 */
#ifndef SL_JSONW_H
#define SL_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_JW_MAX_DEPTH 16

struct sl_jw {
	char *buf;
	size_t cap;
	size_t len;		/* bytes written, excluding the NUL */
	bool overflow;		/* sticky: set when anything did not fit */
	int depth;		/* open objects/arrays, <= SL_JW_MAX_DEPTH */
	bool first[SL_JW_MAX_DEPTH + 1]; /* no value yet at this depth */
	bool after_key;		/* a key was written, its value comes next */
};

void sl_jw_init(struct sl_jw *w, char *buf, size_t cap);
void sl_jw_obj_begin(struct sl_jw *w);
void sl_jw_obj_end(struct sl_jw *w);
void sl_jw_arr_begin(struct sl_jw *w);
void sl_jw_arr_end(struct sl_jw *w);
void sl_jw_key(struct sl_jw *w, const char *key);
void sl_jw_str(struct sl_jw *w, const char *s);
void sl_jw_strn(struct sl_jw *w, const char *s, size_t n);
void sl_jw_int(struct sl_jw *w, long long v);
void sl_jw_uint(struct sl_jw *w, unsigned long long v);
void sl_jw_double(struct sl_jw *w, double v, int decimals);
void sl_jw_bool(struct sl_jw *w, bool v);
void sl_jw_null(struct sl_jw *w);
/* Lower-case hex of n bytes, as a JSON string. */
void sl_jw_hex(struct sl_jw *w, const uint8_t *p, size_t n);
/* A value that is already valid JSON (e.g. a stored event), copied as is. */
void sl_jw_raw(struct sl_jw *w, const char *json, size_t n);
/* A key and its value in one call, for the many flat members of status
 * objects and events. */
void sl_jw_kv_str(struct sl_jw *w, const char *key, const char *s);
void sl_jw_kv_uint(struct sl_jw *w, const char *key, unsigned long long v);
void sl_jw_kv_int(struct sl_jw *w, const char *key, long long v);
/* Returns the length written (NUL-terminated), or -ENOSPC on overflow. */
int sl_jw_finish(struct sl_jw *w);

#endif

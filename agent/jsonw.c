/* SPDX-License-Identifier: MIT */
/*
 * JSON writer (see jsonw.h). Strings are escaped per RFC 8259: quote,
 * backslash and control characters; bytes >= 0x80 are copied through, so
 * callers pass UTF-8 (or hex-encode binary data with sl_jw_hex()).
 */
#include "jsonw.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void put(struct sl_jw *w, const char *s, size_t n)
{
	if (w->overflow)
		return;
	if (w->len + n + 1 > w->cap) {
		w->overflow = true;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void putc1(struct sl_jw *w, char c)
{
	put(w, &c, 1);
}

/* Comma before a value or key unless it is the first at this depth. */
static void sep(struct sl_jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (!w->first[w->depth])
		putc1(w, ',');
	w->first[w->depth] = false;
}

void sl_jw_init(struct sl_jw *w, char *buf, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->cap = cap;
	w->first[0] = true;
	if (cap)
		buf[0] = '\0';
	else
		w->overflow = true;
}

static void open_(struct sl_jw *w, char c)
{
	sep(w);
	putc1(w, c);
	if (w->depth >= SL_JW_MAX_DEPTH) {
		w->overflow = true;
		return;
	}
	w->first[++w->depth] = true;
}

static void close_(struct sl_jw *w, char c)
{
	putc1(w, c);
	if (w->depth > 0)
		w->depth--;
}

void sl_jw_obj_begin(struct sl_jw *w) { open_(w, '{'); }
void sl_jw_obj_end(struct sl_jw *w) { close_(w, '}'); }
void sl_jw_arr_begin(struct sl_jw *w) { open_(w, '['); }
void sl_jw_arr_end(struct sl_jw *w) { close_(w, ']'); }

static void put_escaped(struct sl_jw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	putc1(w, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];
		size_t elen = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(w, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			elen = 6;
		}
		put(w, esc, elen);
	}
	put(w, s + run, n - run);
	putc1(w, '"');
}

void sl_jw_key(struct sl_jw *w, const char *key)
{
	sep(w);
	put_escaped(w, key, strlen(key));
	putc1(w, ':');
	w->after_key = true;
}

void sl_jw_strn(struct sl_jw *w, const char *s, size_t n)
{
	sep(w);
	put_escaped(w, s, n);
}

void sl_jw_str(struct sl_jw *w, const char *s)
{
	if (!s) {
		sl_jw_null(w);
		return;
	}
	sl_jw_strn(w, s, strlen(s));
}

void sl_jw_int(struct sl_jw *w, long long v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%lld", v);

	sep(w);
	put(w, tmp, (size_t)n);
}

void sl_jw_uint(struct sl_jw *w, unsigned long long v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%llu", v);

	sep(w);
	put(w, tmp, (size_t)n);
}

void sl_jw_double(struct sl_jw *w, double v, int decimals)
{
	char tmp[64];
	int n;

	if (v != v || v > 1e300 || v < -1e300) { /* NaN/inf are not JSON */
		sl_jw_null(w);
		return;
	}
	n = snprintf(tmp, sizeof(tmp), "%.*f", decimals, v);
	sep(w);
	put(w, tmp, (size_t)n);
}

void sl_jw_bool(struct sl_jw *w, bool v)
{
	sep(w);
	if (v)
		put(w, "true", 4);
	else
		put(w, "false", 5);
}

void sl_jw_null(struct sl_jw *w)
{
	sep(w);
	put(w, "null", 4);
}

void sl_jw_hex(struct sl_jw *w, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	sep(w);
	putc1(w, '"');
	for (size_t i = 0; i < n; i++) {
		char two[2] = { hex[p[i] >> 4], hex[p[i] & 15] };

		put(w, two, 2);
	}
	putc1(w, '"');
}

void sl_jw_raw(struct sl_jw *w, const char *json, size_t n)
{
	sep(w);
	put(w, json, n);
}

void sl_jw_kv_str(struct sl_jw *w, const char *key, const char *s)
{
	sl_jw_key(w, key);
	sl_jw_str(w, s);
}

void sl_jw_kv_uint(struct sl_jw *w, const char *key, unsigned long long v)
{
	sl_jw_key(w, key);
	sl_jw_uint(w, v);
}

void sl_jw_kv_int(struct sl_jw *w, const char *key, long long v)
{
	sl_jw_key(w, key);
	sl_jw_int(w, v);
}

int sl_jw_finish(struct sl_jw *w)
{
	if (w->overflow || w->depth != 0)
		return -ENOSPC;
	return (int)w->len;
}

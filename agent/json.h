/* SPDX-License-Identifier: MIT */
/*
 * Strict reader for one flat JSON object per line (the POS protocol):
 * {"key": "string" | number | true | false | null, ...}. Parsing is in
 * place: string values are unescaped inside the caller's buffer, so the
 * caller can zeroize that one buffer and every copy of a raw identifier is
 * gone. No allocation. Nested objects and arrays are rejected: a POS
 * request has none, and refusing them keeps the parser small.
 */
#ifndef SL_JSON_H
#define SL_JSON_H

#include <stdbool.h>
#include <stddef.h>

#define SL_JSON_MAX_FIELDS 32

enum sl_json_type {
	SL_JSON_STRING,
	SL_JSON_NUMBER,		/* text of the number as written */
	SL_JSON_TRUE,
	SL_JSON_FALSE,
	SL_JSON_NULL,
};

struct sl_json_field {
	const char *key;	/* NUL-terminated, inside the parsed buffer */
	const char *val;	/* NUL-terminated, inside the parsed buffer */
	size_t len;		/* bytes of val, == strlen(val): \u0000 is refused */
	enum sl_json_type type;
};

struct sl_json_obj {
	struct sl_json_field f[SL_JSON_MAX_FIELDS];
	int n;
	const char *error;	/* static text when parsing failed */
};

/*
 * Parses buf[0..len) (no trailing newline) in place. Returns 0, or -EINVAL
 * with obj->error set: not an object, bad syntax, invalid UTF-8 escape,
 * \u0000 in a key or a string value (every reader of a value may then take
 * it as a C string), duplicate key, too many fields, nested value.
 */
int sl_json_parse(char *buf, size_t len, struct sl_json_obj *obj);
/* The field named key, or NULL. */
const struct sl_json_field *sl_json_get(const struct sl_json_obj *obj, const char *key);

#endif

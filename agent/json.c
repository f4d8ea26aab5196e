/* SPDX-License-Identifier: MIT */
/*
 * Flat JSON object reader (see json.h), RFC 8259 grammar restricted to one
 * level. Strings are unescaped in place (the output never grows: an escape
 * is at least as long as what it stands for) and NUL-terminated by
 * overwriting the closing quote; a key or a number is terminated by writing
 * a NUL over the byte after it, which is always syntax (space, colon, comma
 * or brace) already consumed.
 */
#include "json.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

struct cur {
	char *p;
	char *end;
	const char *err;
};

static void skip_ws(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
		c->p++;
}

static int hex4(const char *p, uint32_t *ret)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		char ch = p[i];

		v <<= 4;
		if (ch >= '0' && ch <= '9')
			v |= (uint32_t)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			v |= (uint32_t)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			v |= (uint32_t)(ch - 'A' + 10);
		else
			return -EINVAL;
	}
	*ret = v;
	return 0;
}

static char *put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xc0 | (cp >> 6));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | (cp >> 12));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | (cp >> 18));
		*o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	return o;
}

/* At the opening quote; unescapes in place; leaves p after the closing quote. */
static int string(struct cur *c, const char **ret, size_t *ret_len)
{
	char *start = ++c->p, *o = start;

	while (c->p < c->end) {
		unsigned char ch = (unsigned char)*c->p;

		if (ch == '"') {
			*o = '\0';	/* o <= p: overwrites the quote at worst */
			c->p++;
			*ret = start;
			*ret_len = (size_t)(o - start);
			return 0;
		}
		if (ch < 0x20) {
			c->err = "control character in string";
			return -EINVAL;
		}
		if (ch != '\\') {
			*o++ = (char)ch;
			c->p++;
			continue;
		}
		if (c->end - c->p < 2)
			break;
		c->p++;
		switch (*c->p) {
		case '"': *o++ = '"'; c->p++; break;
		case '\\': *o++ = '\\'; c->p++; break;
		case '/': *o++ = '/'; c->p++; break;
		case 'b': *o++ = '\b'; c->p++; break;
		case 'f': *o++ = '\f'; c->p++; break;
		case 'n': *o++ = '\n'; c->p++; break;
		case 'r': *o++ = '\r'; c->p++; break;
		case 't': *o++ = '\t'; c->p++; break;
		case 'u': {
			uint32_t cp, lo;

			if (c->end - c->p < 5 || hex4(c->p + 1, &cp)) {
				c->err = "bad \\u escape";
				return -EINVAL;
			}
			c->p += 5;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (c->end - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u' ||
				    hex4(c->p + 2, &lo) || lo < 0xdc00 || lo > 0xdfff) {
					c->err = "unpaired surrogate in \\u escape";
					return -EINVAL;
				}
				c->p += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				c->err = "unpaired surrogate in \\u escape";
				return -EINVAL;
			}
			if (cp == 0) {
				/* C code reads values as C strings: "a\u0000b" would be
				 * "a" to one reader and 3 bytes to another */
				c->err = "\\u0000 (NUL) in a string";
				return -EINVAL;
			}
			o = put_utf8(o, cp);
			break;
		}
		default:
			c->err = "bad escape in string";
			return -EINVAL;
		}
	}
	c->err = "unterminated string";
	return -EINVAL;
}

static int number(struct cur *c, const char **ret, size_t *ret_len)
{
	char *start = c->p;

	if (c->p < c->end && *c->p == '-')
		c->p++;
	if (c->p >= c->end || *c->p < '0' || *c->p > '9')
		goto bad;
	if (*c->p == '0')
		c->p++;
	else
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
			c->p++;
	if (c->p < c->end && *c->p == '.') {
		c->p++;
		if (c->p >= c->end || *c->p < '0' || *c->p > '9')
			goto bad;
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
			c->p++;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		if (c->p >= c->end || *c->p < '0' || *c->p > '9')
			goto bad;
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
			c->p++;
	}
	/* the number must be followed by syntax we can overwrite with NUL */
	if (c->p >= c->end)
		goto bad;
	*ret = start;
	*ret_len = (size_t)(c->p - start);
	return 0;
bad:
	c->err = "bad number";
	return -EINVAL;
}

static bool literal(struct cur *c, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
		return false;
	c->p += n;
	return true;
}

int sl_json_parse(char *buf, size_t len, struct sl_json_obj *obj)
{
	struct cur c = { .p = buf, .end = buf + len };
	char *num_end[SL_JSON_MAX_FIELDS];
	int nnum = 0;

	obj->n = 0;
	obj->error = NULL;
	skip_ws(&c);
	if (c.p >= c.end || *c.p != '{') {
		obj->error = "expected a JSON object";
		return -EINVAL;
	}
	c.p++;
	skip_ws(&c);
	if (c.p < c.end && *c.p == '}') {
		c.p++;
		goto tail;
	}
	for (;;) {
		struct sl_json_field *f;
		size_t klen;

		if (obj->n >= SL_JSON_MAX_FIELDS) {
			obj->error = "too many fields";
			return -EINVAL;
		}
		f = &obj->f[obj->n];
		skip_ws(&c);
		if (c.p >= c.end || *c.p != '"') {
			obj->error = "expected a key";
			return -EINVAL;
		}
		if (string(&c, &f->key, &klen)) {
			obj->error = c.err;
			return -EINVAL;
		}
		skip_ws(&c);
		if (c.p >= c.end || *c.p != ':') {
			obj->error = "expected ':'";
			return -EINVAL;
		}
		c.p++;
		skip_ws(&c);
		if (c.p >= c.end) {
			obj->error = "expected a value";
			return -EINVAL;
		}
		switch (*c.p) {
		case '"':
			f->type = SL_JSON_STRING;
			if (string(&c, &f->val, &f->len)) {
				obj->error = c.err;
				return -EINVAL;
			}
			break;
		case '{':
		case '[':
			obj->error = "nested objects and arrays are not accepted";
			return -EINVAL;
		case 't':
			f->type = SL_JSON_TRUE;
			f->val = "true";
			f->len = 4;
			if (!literal(&c, "true"))
				goto bad_value;
			break;
		case 'f':
			f->type = SL_JSON_FALSE;
			f->val = "false";
			f->len = 5;
			if (!literal(&c, "false"))
				goto bad_value;
			break;
		case 'n':
			f->type = SL_JSON_NULL;
			f->val = "null";
			f->len = 4;
			if (!literal(&c, "null"))
				goto bad_value;
			break;
		default:
			f->type = SL_JSON_NUMBER;
			if (number(&c, &f->val, &f->len)) {
				obj->error = c.err;
				return -EINVAL;
			}
			num_end[nnum++] = c.p;
		}
		for (int i = 0; i < obj->n; i++)
			if (strcmp(obj->f[i].key, f->key) == 0) {
				obj->error = "duplicate key";
				return -EINVAL;
			}
		obj->n++;
		skip_ws(&c);
		if (c.p < c.end && *c.p == ',') {
			c.p++;
			continue;
		}
		if (c.p < c.end && *c.p == '}') {
			c.p++;
			break;
		}
		obj->error = "expected ',' or '}'";
		return -EINVAL;
	}
tail:
	skip_ws(&c);
	if (c.p != c.end) {
		obj->error = "trailing data after the object";
		return -EINVAL;
	}
	/* terminate numbers only now: the byte after each was syntax */
	for (int i = 0; i < nnum; i++)
		*num_end[i] = '\0';
	return 0;

bad_value:
	obj->error = "bad value";
	return -EINVAL;
}

const struct sl_json_field *sl_json_get(const struct sl_json_obj *obj, const char *key)
{
	for (int i = 0; i < obj->n; i++)
		if (strcmp(obj->f[i].key, key) == 0)
			return &obj->f[i];
	return NULL;
}

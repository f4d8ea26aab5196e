/* SPDX-License-Identifier: MIT */
/* Fuzz target: the INI configuration parser and validator. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct sl_config *cfg = NULL;
	char err[512];

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (sl_config_load_string(&cfg, "fuzz.conf", text, err, sizeof(err)) == 0)
		sl_config_free(cfg);
	free(text);
	return 0;
}

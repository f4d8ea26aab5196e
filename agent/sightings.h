/* SPDX-License-Identifier: MIT */
/*
 * The sightings pump: opens the radio sources of [ble] and [wifi]
 * (live or replay), reads them from the agent's loop, turns each sighting
 * into a presence-engine sighting and feeds the engine, whose presence and
 * footfall events go to the emit callback (the spool). Raw addresses live
 * only in the sighting buffers here and in the engine, and are zeroized
 * after each one.
 *
 * Live sources are polled; replay files are read in batches from a timer
 * so that a replayed day runs as fast as the machine allows without
 * starving the POS. A live source that goes away (adapter unplugged,
 * interface down) is reopened with backoff.
 */
#ifndef SL_SIGHTINGS_H
#define SL_SIGHTINGS_H

#include "config.h"
#include "jsonw.h"
#include "loop.h"
#include "presence.h"

struct sl_sightings;

/*
 * Opens the sources cfg enables (none: *ret = NULL and 0). emit receives
 * the engine's events. On failure a one-line reason is written to err.
 */
int sl_sightings_open(struct sl_sightings **ret, struct sl_loop *loop,
		      const struct sl_config *cfg, struct sl_keyring *kr,
		      sl_presence_emit_fn emit, void *ctx, char *err, size_t errlen);
/* Finishes the engine (exits for everyone present, the last footfall), closes. NULL ok. */
void sl_sightings_close(struct sl_sightings *s);
/* "sightings": per source counters, engine stats. */
void sl_sightings_status(const struct sl_sightings *s, struct sl_jw *w);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * The control socket: a Unix stream socket ([control] socket, default
 * {state_dir}/control.sock, mode 0660) for storelinkctl. A client sends
 * one command line ("status") and gets one JSON line back, then the
 * connection closes. The JSON comes from the agent's callback.
 */
#ifndef SL_CONTROL_H
#define SL_CONTROL_H

#include "jsonw.h"
#include "loop.h"

#include <stddef.h>

struct sl_control;

/* Writes the status object into w. */
typedef void (*sl_control_status_fn)(void *ctx, struct sl_jw *w);

int sl_control_open(struct sl_control **ret, struct sl_loop *loop, const char *path,
		    sl_control_status_fn status, void *ctx, char *err, size_t errlen);
void sl_control_close(struct sl_control *ctl);	/* NULL ok; removes the socket file */

#endif

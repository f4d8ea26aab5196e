/* SPDX-License-Identifier: MIT */
/*
 * The control socket: a Unix stream socket ([control] socket, default
 * {state_dir}/control.sock, mode 0660) for storelinkctl. A client sends
 * one command line ("status") and gets one JSON line back, then the
 * connection closes. The JSON comes from the agent's callback. Anything
 * else gets {"error":"...","code":C} with C one of malformed_command (a NUL
 * byte), unknown_command, command_too_long (over 63 bytes), timeout (no
 * line within 2 s), busy (all slots taken: the oldest client is closed to
 * make room). The socket file is bound with unixsock.h's rules.
 */
#ifndef SL_CONTROL_H
#define SL_CONTROL_H

#include "jsonw.h"
#include "loop.h"

#include <stddef.h>

struct sl_control;

/* Writes the status object into w. */
typedef void (*sl_control_status_fn)(void *ctx, struct sl_jw *w);

/* 0, or -EADDRINUSE (someone answers on path), -EEXIST (not a socket),
 * -ENOMEM or another -errno from sl_unixsock_listen()/chmod, with err set;
 * on failure no socket file is left behind. */
int sl_control_open(struct sl_control **ret, struct sl_loop *loop, const char *path,
		    sl_control_status_fn status, void *ctx, char *err, size_t errlen);
void sl_control_close(struct sl_control *ctl);	/* NULL ok; removes the socket file */

#endif

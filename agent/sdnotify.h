/* SPDX-License-Identifier: MIT */
/*
 * systemd readiness notification (Type=notify) without libsystemd: one
 * datagram to $NOTIFY_SOCKET. Does nothing when the variable is unset.
 */
#ifndef SL_SDNOTIFY_H
#define SL_SDNOTIFY_H

/* state: "READY=1", "STOPPING=1", "RELOADING=1", "STATUS=..."; 0 or -errno. */
int sl_sd_notify(const char *state);

#endif

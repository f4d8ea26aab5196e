/* SPDX-License-Identifier: MIT */
/*
 * The POS listener: newline-delimited JSON over Unix sockets and TCP
 * ([pos] listen). Each request line goes through sl_pos_request() (the
 * privacy stage) and, for an event, to the sink (the spool). Replies go
 * back in request order, and a reply to an event only once the agent
 * reports the event's spool transaction committed (sl_pos_committed()).
 *
 * Limits, each with a stable error code: 16 KiB per line (too_long; the
 * connection survives), max_connections (too_many_connections), an idle
 * timeout counted from the last complete line, and per-connection
 * backpressure (1024 replies / 64 KiB) so that a client that does not
 * read its replies only stalls itself.
 *
 * TCP strangers cannot lock out a POS: before its auth line a TCP
 * connection only counts against max_unauthenticated (the oldest such
 * connection makes room for a new one), is closed auth_timeout_s after it
 * was accepted, and its lines go through sl_pos_auth_request() only (no
 * card is parsed, no token computed). An address that keeps failing auth
 * is refused for a growing time. Unix clients and authenticated TCP
 * clients count against max_connections only.
 *
 * A client that half-closes (shutdown(SHUT_WR)) still gets every reply:
 * reading stops at EOF, the connection is closed once every pending reply
 * was written after its commit.
 *
 * A resent request (same lane and txn_id, or same request_id:
 * docs/pos-protocol.md) is answered with the first one's reply through the
 * sink's find/submit_key, never stored twice.
 */
#ifndef SL_POS_H
#define SL_POS_H

#include "loop.h"
#include "pos_request.h"

#include <stddef.h>
#include <stdint.h>

#define SL_POS_MAX_LINE 16384	/* bytes of one request, without the newline */

struct sl_pos;

struct sl_pos_cfg {
	const char *listen;		/* "unix:/path,tcp:host:port" */
	const char *auth_token_file;	/* NULL: no auth (only Unix sockets) */
	int socket_mode;		/* of Unix sockets */
	const char *socket_group;	/* NULL: the agent's group */
	int max_connections;		/* Unix + authenticated TCP connections */
	int idle_timeout_s;		/* since the last complete line */
	int auth_timeout_s;		/* 0: 5 */
	int max_unauthenticated;	/* 0: 16 */
	int auth_max_failures;		/* per address before a block; 0: 10 */
};

struct sl_pos_sink {
	/* Queues an event for the next spool commit: sequence number > 0,
	 * -ENOSPC (spool full for this class) or another -errno. */
	int64_t (*submit)(void *ctx, enum sl_event_class cls, const char *id, const char *type,
			  const char *payload, size_t len);
	void *ctx;
	/* Resends (optional, both or neither; NULL: every request is new).
	 * find: 1 when key names an event of the window: its id and the
	 * sequence to wait for (0 = committed); 0 when new; -errno (the
	 * request is then handled as new). submit_key: submit, recording key
	 * with the event in the same transaction. */
	int (*find)(void *ctx, const uint8_t key[SL_SPOOL_KEY_LEN], char id[SL_UUID_LEN],
		    int64_t *ret_seq);
	int64_t (*submit_key)(void *ctx, enum sl_event_class cls, const char *id,
			      const char *type, const char *payload, size_t len,
			      const uint8_t key[SL_SPOOL_KEY_LEN]);
};

#define SL_POS_ERROR_CODES 24	/* more than docs/pos-protocol.md defines */

struct sl_pos_stats {
	uint64_t connections;		/* accepted since start */
	uint64_t open;			/* open now */
	uint64_t requests;
	uint64_t events[SL_CLASS__COUNT];
	uint64_t errors;		/* error replies */
	uint64_t rejected;		/* connections refused at max_connections */
	uint64_t unauthenticated;	/* TCP connections open now, not yet authenticated */
	uint64_t auth_failed;		/* TCP first lines that were not the right auth */
	uint64_t auth_blocked;		/* connections refused: their address kept failing */
	uint64_t auth_dropped;		/* closed without an auth line: at auth_timeout_s,
					 * or to make room for a newer one */
	uint64_t replies_queued;	/* now, all connections: not yet written to the socket */
	uint64_t reply_bytes_queued;	/* their bytes, with the output buffers */
	uint64_t duplicates;		/* resends answered with the first reply */
	/* error replies by code ("invalid_pan": 3, ...), the first
	 * SL_POS_ERROR_CODES distinct codes seen; code points to static text */
	struct {
		const char *code;
		uint64_t n;
	} by_code[SL_POS_ERROR_CODES];
};

/*
 * Binds every listener of cfg->listen and registers them with loop.
 * ctx is copied (its pointers must outlive the listener). On failure a
 * one-line reason is written to err. 0 or -errno.
 */
int sl_pos_open(struct sl_pos **ret, struct sl_loop *loop, const struct sl_pos_cfg *cfg,
		const struct sl_pos_ctx *ctx, const struct sl_pos_sink *sink, char *err,
		size_t errlen);
/* Closes listeners and connections (pending replies are dropped: their
 * events are committed or not, and the POS retries). NULL ok. */
void sl_pos_close(struct sl_pos *pos);

/* Events up to durable_seq are committed: send their replies. */
void sl_pos_committed(struct sl_pos *pos, int64_t durable_seq);
/* The commit covering events up to upto_seq failed with err: they get
 * spool_full when the disk is full (-ENOSPC), spool_unknown when the batch
 * was written but its sync failed (-SL_SPOOL_EUNKNOWN: it may reappear after
 * a crash), else spool_error. */
void sl_pos_commit_failed(struct sl_pos *pos, int64_t upto_seq, int err);

void sl_pos_stats(const struct sl_pos *pos, struct sl_pos_stats *out);
/* Reads [pos] auth_token_file as sl_pos_open() would (regular file, not
 * readable by others, at least 16 characters) and forgets it: 0 or -errno
 * with a one-line reason in err (never the token). For --check-config. */
int sl_pos_check_token_file(const char *path, char *err, size_t errlen);
/* The address listener i is bound to ("tcp:127.0.0.1:7410", "unix:/p"), NULL past the end. */
const char *sl_pos_listen_addr(const struct sl_pos *pos, int i);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Listening Unix stream sockets that never take a live socket away from
 * another process. The POS listener and the control socket both bind a
 * path that may be left over from a previous run (kill -9, power loss) or
 * may belong to an agent that is still running:
 *
 *   - the path does not exist: bind it;
 *   - it exists and is not a socket: refused (-EEXIST), nothing removed;
 *   - it is a socket and a connect() to it succeeds (or its backlog is
 *     full): someone answers on it, refused (-EADDRINUSE), nothing removed;
 *   - connect() is refused (ECONNREFUSED): a stale file, unlinked, then
 *     bound.
 *
 * The socket is bound under a temporary name next to path, listens, and
 * is then renamed to path (RENAME_NOREPLACE): a client never finds the
 * path before it accepts connections.
 *
 * The device and inode of the bound file are remembered, and
 * sl_unixsock_release() removes the path only if it is still that file:
 * an agent that stops never removes a socket another process bound since
 * (short of an inode number reused after someone else removed our file).
 */
#ifndef SL_UNIXSOCK_H
#define SL_UNIXSOCK_H

#include <stddef.h>
#include <sys/types.h>

struct sl_unixsock {
	char *path;	/* NULL: nothing to remove at release */
	dev_t dev;	/* of the file bind() created */
	ino_t ino;
};

/*
 * Binds a non-blocking, close-on-exec stream socket to path and listens
 * with backlog. The file is created mode 0600 (owner only, whatever the
 * umask); the caller chmods/chowns it to what it wants and calls
 * sl_unixsock_release() if that fails.
 *
 * Returns the listening fd (us filled), or
 *   -ENAMETOOLONG  path does not fit sun_path
 *   -EEXIST        path exists and is not a socket
 *   -EADDRINUSE    another process answers on path (or bound it meanwhile)
 *   -ENOMEM        out of memory
 *   other -errno   from socket/connect/unlink/bind/listen
 * with a message in err naming the path (never more than the path).
 * On failure us is zero and nothing that existed before was removed,
 * except a stale socket file nobody answered on.
 */
int sl_unixsock_listen(struct sl_unixsock *us, const char *path, int backlog, char *err,
		       size_t errlen);

/* Removes the path if it is still the file bound by sl_unixsock_listen();
 * frees us->path. Does not close the fd. Zero or released us ok. */
void sl_unixsock_release(struct sl_unixsock *us);

#endif

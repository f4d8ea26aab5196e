/* SPDX-License-Identifier: MIT */
/*
 * Listening Unix sockets that never unlink a live one (see unixsock.h).
 * The probe is a non-blocking connect(): a listener accepts it (or has a
 * full backlog: EAGAIN), a stale file or a bound-but-not-listening socket
 * refuses it. Anything else (EACCES, ...) means we cannot tell, so the file
 * is left alone and the error returned.
 */
#include "unixsock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* 0: nobody answers (stale or gone), -EADDRINUSE: someone does, other -errno */
static int probe(const struct sockaddr_un *sa)
{
	int fd, rc;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		rc = -EADDRINUSE;
	else if (errno == EAGAIN || errno == EINPROGRESS)
		rc = -EADDRINUSE;	/* a listener with a full backlog */
	else if (errno == ECONNREFUSED || errno == ENOENT)
		rc = 0;
	else
		rc = -errno;
	close(fd);
	return rc;
}

int sl_unixsock_listen(struct sl_unixsock *us, const char *path, int backlog, char *err,
		       size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX }, tmp;
	struct stat st;
	mode_t old_mask;
	int fd, rc;

	memset(us, 0, sizeof(*us));
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket", path);
			return -EEXIST;
		}
		rc = probe(&sa);
		if (rc == -EADDRINUSE) {
			snprintf(err, errlen, "%s: another process answers on it "
				 "(another storelinkd with the same socket?)", path);
			return rc;
		}
		if (rc < 0) {
			snprintf(err, errlen, "%s: cannot tell whether it is in use: %s", path,
				 strerror(-rc));
			return rc;
		}
		/* stale: left by a process that is gone */
		if (unlink(path) < 0 && errno != ENOENT) {
			rc = -errno;
			snprintf(err, errlen, "%s: removing the stale socket: %s", path,
				 strerror(-rc));
			return rc;
		}
	}
	us->path = strdup(path);
	if (!us->path) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: socket: %s", path, strerror(-rc));
		goto err_free;
	}
	/* Bound under a temporary name, listening, then renamed into place
	 * (never over an existing file): a client never finds the path before
	 * it accepts connections (a bound, not yet listening socket refuses
	 * them). Owner only until the caller's chmod: it listens before that,
	 * and a connection made meanwhile would outlive the chmod (one thread,
	 * so the process-wide umask is ours for these calls). */
	tmp = sa;
	if ((size_t)snprintf(tmp.sun_path, sizeof(tmp.sun_path), "%s.%ld~", path,
			     (long)getpid()) >= sizeof(tmp.sun_path))
		tmp = sa;	/* no room for a temporary name: bind in place */
	if (tmp.sun_path[strlen(path)])
		unlink(tmp.sun_path);	/* left by a killed process with our pid */
	old_mask = umask(0177);
	rc = bind(fd, (struct sockaddr *)&tmp, sizeof(tmp)) < 0 ? -errno : 0;
	umask(old_mask);
	if (rc < 0) {
		/* EADDRINUSE here: another process bound it since the probe */
		snprintf(err, errlen, "%s: bind: %s", path, strerror(-rc));
		goto err_close;
	}
	if (listen(fd, backlog) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: listen: %s", path, strerror(-rc));
		goto err_unlink_tmp;
	}
	if (tmp.sun_path[strlen(path)] &&
	    renameat2(AT_FDCWD, tmp.sun_path, AT_FDCWD, path, RENAME_NOREPLACE) < 0) {
		rc = errno == EEXIST ? -EADDRINUSE : -errno;
		snprintf(err, errlen, "%s: %s", path, rc == -EADDRINUSE ?
			 "another process bound it meanwhile" : strerror(-rc));
		goto err_unlink_tmp;
	}
	if (stat(path, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		goto err_close;	/* not ours to remove: we cannot tell it is */
	}
	us->dev = st.st_dev;
	us->ino = st.st_ino;
	return fd;

err_unlink_tmp:
	if (tmp.sun_path[strlen(path)])
		unlink(tmp.sun_path);
	else if (stat(path, &st) == 0)
		unlink(path);	/* bound in place by us just now */
err_close:
	close(fd);
err_free:
	free(us->path);
	memset(us, 0, sizeof(*us));
	return rc;
}

void sl_unixsock_release(struct sl_unixsock *us)
{
	struct stat st;

	if (!us->path)
		return;
	if (lstat(us->path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == us->dev &&
	    st.st_ino == us->ino)
		unlink(us->path);
	free(us->path);
	memset(us, 0, sizeof(*us));
}

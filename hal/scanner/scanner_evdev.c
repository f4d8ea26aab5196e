/* SPDX-License-Identifier: MIT */
/*
 * evdev scanners, device side: open the input device and grab it
 * (EVIOCGRAB) so that the scanner's keystrokes reach only the agent, not
 * the console or a login prompt. Needs a real device, so it is kept this
 * small; everything after open() is in scanner.c and tested on pipes.
 */
#include "scanner_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

int hal_scanner__evdev_open_dev(const char *path)
{
	int fd, version, rc;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, EVIOCGVERSION, &version) < 0) {
		rc = errno == EINVAL ? -ENOTTY : -errno;	/* not an input device */
		goto err_close;
	}
	if (ioctl(fd, EVIOCGRAB, 1) < 0) {
		rc = -errno;				/* EBUSY: grabbed by someone else */
		goto err_close;
	}
	return fd;

err_close:
	close(fd);
	return rc;
}

/* SPDX-License-Identifier: MIT */
/*
 * Serial scanners (USB CDC-ACM /dev/ttyACM*, RS-232 adapters), device
 * side: open the terminal without making it our controlling tty and put
 * it in raw mode (no echo, no line editing, no CR/LF translation), so the
 * scanner's bytes reach the line splitter in scanner.c unchanged. The
 * speed is left as it is (CDC-ACM ignores it; set RS-232 with stty).
 */
#include "scanner_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

int hal_scanner__tty_open_dev(const char *path)
{
	struct termios t;
	int fd, rc;

	fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (tcgetattr(fd, &t) < 0) {
		rc = -errno;			/* ENOTTY: not a terminal */
		goto err_close;
	}
	cfmakeraw(&t);
	t.c_cflag |= CLOCAL | CREAD;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(fd, TCSANOW, &t) < 0) {
		rc = -errno;
		goto err_close;
	}
	(void)tcflush(fd, TCIFLUSH);	/* nothing scanned before we were listening */
	return fd;

err_close:
	close(fd);
	return rc;
}

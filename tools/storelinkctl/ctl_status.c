/* SPDX-License-Identifier: MIT */
/*
 * storelinkctl status [-s SOCKET | -c CONF]: asks the running agent over
 * its control socket and prints the JSON it answers. The socket is taken
 * from -s, else from the configuration's [control] socket (-c, default
 * the build's default configuration file).
 */
#include "config.h"
#include "ctl.h"

#include "autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int ctl_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ 0 }
	};
	const char *sock = NULL, *conf = CONFIG_SL_DEFAULT_CONFIG;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sl_config *cfg = NULL;
	char buf[8192], err[2048];
	size_t len = 0;
	int c, fd, rc = 1;

	optind = 1;
	opterr = 0;	/* getopt's message would repeat the argument */
	while ((c = getopt_long(argc, argv, "s:c:", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'c':
			conf = optarg;
			break;
		default:
			fprintf(stderr, "usage: storelinkctl status [-s SOCKET | -c CONF]\n");
			return 2;
		}
	}
	if (!sock) {
		if (sl_config_load(&cfg, conf, err, sizeof(err)) < 0) {
			fprintf(stderr, "storelinkctl: %s(give the socket with -s)\n", err);
			return 1;
		}
		sock = cfg->control_socket;
	}
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "storelinkctl: %s: path too long\n", sock);
		goto out;
	}
	strcpy(sa.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "storelinkctl: %s: %s (is storelinkd running?)\n", sock,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	if (write(fd, "status\n", 7) != 7) {
		fprintf(stderr, "storelinkctl: %s: %s\n", sock, strerror(errno));
		close(fd);
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf) - 1)
			break;
	}
	close(fd);
	if (len == 0) {
		fprintf(stderr, "storelinkctl: %s: no answer\n", sock);
		goto out;
	}
	if (len >= 9 && memcmp(buf, "{\"error\":", 9) == 0) {
		/* the agent refused (busy, timeout, ...): its error object, on stderr */
		fprintf(stderr, "storelinkctl: %s: ", sock);
		fwrite(buf, 1, len, stderr);
		goto out;
	}
	fwrite(buf, 1, len, stdout);
	rc = 0;
out:
	sl_config_free(cfg);
	return rc;
}

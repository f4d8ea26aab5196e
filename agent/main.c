/* SPDX-License-Identifier: MIT */
/*
 * storelinkd: the in-store edge agent. Runs in the foreground (systemd
 * Type=notify friendly), logs to stderr.
 *
 *   storelinkd [-c FILE] [--check-config [--user USER]] [--version]
 */
#include "agent.h"
#include "check.h"
#include "config.h"
#include "log.h"
#include "privacy.h"

#include "autoconf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: storelinkd [-c FILE] [--check-config [--user USER]] [--version]\n"
		"\n"
		"  -c, --config FILE   configuration (default " CONFIG_SL_DEFAULT_CONFIG ")\n"
		"      --check-config  a dry run of everything the agent checks at start\n"
		"                      (files, keys, certificates, groups), then exit\n"
		"      --user USER     as root: open files as USER (default for the installed\n"
		"                      " CONFIG_SL_DEFAULT_CONFIG ": " SL_CHECK_DEFAULT_USER ")\n"
		"      --version       print the version and build options\n"
		"\n"
		"Signals: SIGTERM/SIGINT stop cleanly (pending events are committed),\n"
		"SIGHUP re-reads the configuration and applies log_level.\n");
}

static void version(void)
{
	printf("storelinkd %s (board %s)\nbuilt with:", SL_VERSION, SL_BOARD);
#ifdef CONFIG_SL_POS
	printf(" pos");
#endif
#ifdef CONFIG_SL_POS_TCP
	printf(" pos-tcp");
#endif
#ifdef CONFIG_SL_SCANNER
	printf(" scanner");
#endif
#ifdef CONFIG_SL_BLE
	printf(" ble");
#endif
#ifdef CONFIG_SL_BLE_BLUEZ
	printf(" ble-bluez");
#endif
#ifdef CONFIG_SL_WIFI
	printf(" wifi");
#endif
#ifdef CONFIG_SL_PRESENCE
	printf(" presence");
#endif
#ifdef CONFIG_SL_SYSTEMD
	printf(" systemd");
#endif
	printf("\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "user", required_argument, NULL, 'u' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *path = CONFIG_SL_DEFAULT_CONFIG;
	bool check = false, journal;
	const char *user = NULL;
	struct sl_config *cfg;
	char err[4096];
	enum sl_log_level level;
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'C':
			check = true;
			break;
		case 'u':
			user = optarg;
			break;
		case 'V':
			version();
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "storelinkd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	/* keys and, while a request is handled, raw card data are in memory:
	 * no core dumps, whatever the unit's LimitCORE says */
	rc = sl_no_core_dumps();
	if (rc < 0)
		fprintf(stderr, "storelinkd: warning: cannot disable core dumps: %s\n",
			strerror(-rc));

	rc = sl_config_load(&cfg, path, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "storelinkd: invalid configuration:\n%s", err);
		return 1;
	}
	if (sl_log_level_parse(cfg->log_level, &level) == 0)
		sl_log_set_level(level);
	journal = sl_log_stderr_is_journal();
	sl_log_set_timestamps(!journal && !check);
	sl_log_set_priorities(journal);

	if (check) {
		/* root checking the installed configuration: as the service would */
		if (!user && strcmp(path, CONFIG_SL_DEFAULT_CONFIG) == 0)
			user = SL_CHECK_DEFAULT_USER;
		rc = sl_check_config(cfg, user, stderr);
		if (rc == 0)
			printf("%s: configuration ok\n", path);
		sl_config_free(cfg);
		return rc ? 1 : 0;
	}
	rc = sl_agent_run(cfg);
	sl_config_free(cfg);
	return rc;
}

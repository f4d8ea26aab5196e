/* SPDX-License-Identifier: MIT */
/*
 * storelinkctl: dispatches to the subcommands of ctl.h. Subcommands whose
 * HAL class Kconfig left out are listed as unavailable, not missing.
 */
#include "autoconf.h"
#include "ctl.h"

#include <stdio.h>
#include <string.h>

struct ctl_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
};

static const struct ctl_cmd cmds[] = {
#ifdef CTL_HAVE_STATUS
	{ "status", ctl_status, "status [-s SOCKET]     agent state as JSON" },
#endif
#ifdef CTL_HAVE_TOKEN
	{ "token", ctl_token, "token -c CONF --kind pan|loyalty|email|phone  (identifier on stdin)" },
	{ "keygen", ctl_keygen, "keygen [--tenant T] FILE  write a new master key (mode 0600)" },
	{ "provision", ctl_provision,
	  "provision --tenant T --store S --gateway G --broker HOST[:PORT]\n"
	  "                         configure this gateway: keys, POS token, TLS key + CSR\n"
	  "  provision --install-cert CERT --ca CA   install the signed certificate" },
#endif
#ifdef CONFIG_SL_BLE
	{ "ble-decode", ctl_ble_decode, "ble-decode HEX         decode one advertisement's AD payload" },
#endif
};

static int replay(int argc, char **argv)
{
	(void)argv;	/* unused when the build has no radio class */
	for (int i = 1; i < argc; i++) {
#ifdef CONFIG_SL_BLE
		if (strcmp(argv[i], "--btsnoop") == 0)
			return ctl_replay_btsnoop(argc, argv);
#endif
#ifdef CONFIG_SL_WIFI
		if (strcmp(argv[i], "--pcap") == 0)
			return ctl_replay_pcap(argc, argv);
#endif
	}
	fprintf(stderr, "usage: storelinkctl replay --btsnoop FILE | --pcap FILE [--raw]\n"
		"(only the sources this build was configured with are available)\n");
	return 2;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: storelinkctl COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %s\n", cmds[i].usage);
	fprintf(f, "  replay --btsnoop FILE | --pcap FILE [--raw]\n"
		"                         sightings as JSON lines (addresses hashed unless --raw)\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("storelinkctl %s\n", SL_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "replay") == 0)
		return replay(argc - 1, argv + 1);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].run(argc - 1, argv + 1);
	/* not echoed: a mistyped command line may hold an identifier */
	fprintf(stderr, "storelinkctl: unknown command\n");
	usage(stderr);
	return 2;
}

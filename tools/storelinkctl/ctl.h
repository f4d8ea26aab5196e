/* SPDX-License-Identifier: MIT */
/*
 * storelinkctl subcommands. Each takes the arguments after its name
 * (argv[0] is the subcommand) and returns the process exit status:
 * 0 success, 1 failure (reported on stdout as JSON where the command
 * prints JSON, on stderr otherwise), 2 usage error.
 */
#ifndef SL_CTL_H
#define SL_CTL_H

int ctl_status(int argc, char **argv);       /* ctl_status.c */
int ctl_token(int argc, char **argv);        /* ctl_token.c */
int ctl_keygen(int argc, char **argv);       /* ctl_token.c */
int ctl_provision(int argc, char **argv);    /* ctl_provision.c */
int ctl_ble_decode(int argc, char **argv);   /* ctl_ble.c (CONFIG_SL_BLE) */
int ctl_replay_btsnoop(int argc, char **argv); /* ctl_ble.c: replay --btsnoop FILE [--raw] */
int ctl_replay_pcap(int argc, char **argv);  /* ctl_wifi.c (CONFIG_SL_WIFI): replay --pcap FILE [--raw] */

/* A keyring with a random master key (tenant "replay") for hashing the
 * addresses of a replay: consistent within one run only. 0 or -errno. */
struct sl_keyring;
int ctl_replay_keyring(struct sl_keyring **ret);	/* ctl_token.c */

#endif

/* SPDX-License-Identifier: MIT */
/*
 * storelinkctl token / keygen.
 *
 * token: reads ONE identifier line from stdin (never argv, so it stays out
 * of shell history and ps), canonicalises it as the agent does and prints
 * its token, e.g. for checking what the CDP should receive. For --kind pan
 * the line may also be raw track 1 or track 2 data from a keyboard-wedge
 * card reader; only the PAN is used. Keys come from the agent's INI config
 * (-c, read with the agent's own configuration module) or from
 * --key-file/--tenant/--kid.
 *
 * ctl_replay_keyring(): the throwaway hashing key of `replay`.
 *
 * Errors never repeat a value from the command line or stdin (it could be
 * the card number typed in the wrong place): they name the argument's
 * position or the rule it broke. The process is made non-dumpable first
 * (sl_no_core_dumps); the keyring is mlocked by privacy.c.
 *
 * keygen: writes a new 32-byte master key as 64 hex digits to a new file
 * (mode 0600, never overwriting).
 */
#include "config.h"
#include "ctl.h"
#include "pan.h"
#include "privacy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <termios.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>

#define LINE_MAX_ID 1024        /* longer input is refused, not truncated */

struct token_keys {
	char *tenant;
	char *key_file;
	char *kid;
	char *next_key_file;
	char *next_kid;
};

static void keys_free(struct token_keys *k)
{
	free(k->tenant);
	free(k->key_file);
	free(k->kid);
	free(k->next_key_file);
	free(k->next_kid);
	memset(k, 0, sizeof(*k));
}

/* Replaces *dst with a copy of value; an empty value unsets. */
static int set_str(char **dst, const char *value)
{
	char *v = NULL;

	if (value && *value) {
		v = strdup(value);
		if (!v)
			return -ENOMEM;
	}
	free(*dst);
	*dst = v;
	return 0;
}

/* Takes the key settings from the agent's configuration (same parser,
 * same relative-path rule: relative to the configuration file). */
static int load_config(const char *path, struct token_keys *k)
{
	struct sl_config *cfg;
	char err[2048];

	if (sl_config_load(&cfg, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "storelinkctl token: %s", err);
		return -1;
	}
	if (set_str(&k->tenant, cfg->tenant) || set_str(&k->key_file, cfg->master_key_file) ||
	    set_str(&k->kid, cfg->key_id) || set_str(&k->next_key_file, cfg->next_master_key_file) ||
	    set_str(&k->next_kid, cfg->next_key_id)) {
		sl_config_free(cfg);
		fprintf(stderr, "storelinkctl token: out of memory\n");
		return -1;
	}
	sl_config_free(cfg);
	return 0;
}

static void token_usage(FILE *f)
{
	fprintf(f,
		"usage: storelinkctl token -c CONF --kind KIND [--next]\n"
		"       storelinkctl token --key-file F --tenant T --kid K --kind KIND\n"
		"                          [--next-key-file F --next-kid K] [--next]\n"
		"Reads one identifier line on stdin and prints its token.\n"
		"KIND: pan (digits, or raw track 1/2 data) | loyalty | email | phone\n"
		"--next: the token under the next key ([keys] next_master_key_file/next_key_id)\n");
}

/*
 * Reads the first line of stdin into buf (NUL-terminated, without the line
 * end). Terminal echo is off while a person types it. Returns the length,
 * or -1 (message printed).
 */
static ssize_t read_line(char *buf, size_t cap)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	size_t n = 0;
	char *nl = NULL;

	if (tty) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		fprintf(stderr, "identifier (not echoed): ");
	}
	while (n < cap - 1 && !nl) {
		ssize_t r = read(STDIN_FILENO, buf + n, cap - 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		nl = memchr(buf + n, '\n', (size_t)r);
		n += (size_t)r;
	}
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	if (nl) {
		n = (size_t)(nl - buf);
	} else if (n == cap - 1) {
		fprintf(stderr, "storelinkctl token: identifier longer than %d bytes\n", LINE_MAX_ID - 1);
		return -1;
	}
	if (n && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	if (n == 0) {
		fprintf(stderr, "storelinkctl token: no identifier on stdin\n");
		return -1;
	}
	return (ssize_t)n;
}

static const char *canon_error(enum sl_id_kind kind, int rc, bool track)
{
	if (rc == -EBADMSG)
		return "card number fails the Luhn check";
	switch (kind) {
	case SL_KIND_PAN:
		return track ? "malformed track data (ISO/IEC 7813 track 1 format B or track 2)"
			     : "card number must be 12-19 digits (spaces and dashes allowed)";
	case SL_KIND_LOYALTY:
		return "loyalty id must be 1-64 printable ASCII characters after removing spaces and dashes";
	case SL_KIND_EMAIL:
		return "not an email address (one '@', no spaces or control characters, at most 254 bytes)";
	case SL_KIND_PHONE:
		return "phone number must be E.164: '+' then 8-15 digits (spaces, dashes, parentheses allowed)";
	case SL_KIND__COUNT:
		break;
	}
	return "invalid identifier";
}

/* Canonical form of line for kind; for a PAN, raw track data is accepted. */
static int canonicalise(enum sl_id_kind kind, const char *line, size_t n, char *out, size_t outsz,
			size_t *ret_len, bool *track)
{
	*track = false;
	if (kind == SL_KIND_PAN && outsz >= SL_PAN_BUF) {
		if (line[0] == '%' || line[0] == 'B') {
			*track = true;
			return sl_track1_pan(line, n, out, ret_len);
		}
		if (line[0] == ';' || memchr(line, '=', n)) {
			*track = true;
			return sl_track2_pan(line, n, out, ret_len);
		}
	}
	return sl_id_canonical(kind, line, n, out, outsz, ret_len);
}

int ctl_token(int argc, char **argv)
{
	struct token_keys keys = { 0 };
	const char *conf = NULL, *kind_name = NULL;
	const char *opt_key = NULL, *opt_tenant = NULL, *opt_kid = NULL;
	const char *opt_next_key = NULL, *opt_next_kid = NULL;
	struct sl_keyring *kr = NULL;
	enum sl_id_kind kind;
	char line[LINE_MAX_ID], canon[SL_EMAIL_MAX + 1], tok[SL_TOKEN_MAX], err[512];
	bool next = false, track;
	ssize_t n;
	size_t clen;
	int rc, status = 1;

	/* the keys and the identifier will be in memory: no core dumps */
	rc = sl_no_core_dumps();
	if (rc < 0) {
		fprintf(stderr, "storelinkctl token: cannot disable core dumps: %s\n", strerror(-rc));
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = NULL;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			token_usage(stdout);
			return 0;
		}
		if (strcmp(a, "--next") == 0) {
			next = true;
			continue;
		}
		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0)
			dst = &conf;
		else if (strcmp(a, "--kind") == 0)
			dst = &kind_name;
		else if (strcmp(a, "--key-file") == 0)
			dst = &opt_key;
		else if (strcmp(a, "--tenant") == 0)
			dst = &opt_tenant;
		else if (strcmp(a, "--kid") == 0)
			dst = &opt_kid;
		else if (strcmp(a, "--next-key-file") == 0)
			dst = &opt_next_key;
		else if (strcmp(a, "--next-kid") == 0)
			dst = &opt_next_kid;
		if (!dst) {
			/* never echoed: it may be the identifier itself */
			fprintf(stderr, "storelinkctl token: unknown option or unexpected argument "
				"(argument %d; the identifier is read from stdin, never from the "
				"command line)\n", i);
			token_usage(stderr);
			return 2;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "storelinkctl token: missing value for %s\n", a);
			token_usage(stderr);
			return 2;
		}
		*dst = argv[++i];
	}
	if (!kind_name || sl_id_kind_parse(kind_name, &kind) < 0) {
		fprintf(stderr, "storelinkctl token: --kind must be pan, loyalty, email or phone\n");
		token_usage(stderr);
		return 2;
	}
	if (!!conf == !!(opt_key || opt_tenant || opt_kid || opt_next_key || opt_next_kid)) {
		fprintf(stderr, "storelinkctl token: give either -c CONF or --key-file/--tenant/--kid\n");
		token_usage(stderr);
		return 2;
	}
	if (!conf && (!opt_key || !opt_tenant || !opt_kid)) {
		fprintf(stderr, "storelinkctl token: --key-file, --tenant and --kid go together\n");
		token_usage(stderr);
		return 2;
	}

	if (conf) {
		if (load_config(conf, &keys) < 0)
			goto out;
	} else if (set_str(&keys.tenant, opt_tenant) || set_str(&keys.key_file, opt_key) ||
		   set_str(&keys.kid, opt_kid) || set_str(&keys.next_key_file, opt_next_key) ||
		   set_str(&keys.next_kid, opt_next_kid)) {
		fprintf(stderr, "storelinkctl token: out of memory\n");
		goto out;
	}
	if (next && (!keys.next_key_file || !keys.next_kid)) {
		fprintf(stderr, "storelinkctl token: --next needs a next key (%s)\n",
			conf ? "[keys] next_master_key_file and next_key_id"
			     : "--next-key-file and --next-kid");
		goto out;
	}
	/* the next key is loaded only when asked for: a token under the
	 * current key must not fail because of a staged key */
	rc = sl_keyring_load(&kr, keys.tenant, keys.key_file, keys.kid,
			     next ? keys.next_key_file : NULL, next ? keys.next_kid : NULL,
			     err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "storelinkctl token: %s\n", err);
		goto out;
	}

	n = read_line(line, sizeof(line));
	if (n < 0)
		goto out_zero;
	rc = canonicalise(kind, line, (size_t)n, canon, sizeof(canon), &clen, &track);
	if (rc < 0) {
		fprintf(stderr, "storelinkctl token: %s\n", canon_error(kind, rc, track));
		goto out_zero;
	}
	rc = sl_token(kr, kind, next, canon, clen, tok);
	if (rc < 0) {
		fprintf(stderr, "storelinkctl token: cannot compute the token: %s\n", strerror(-rc));
		goto out_zero;
	}
	printf("%s\n", tok);
	status = fflush(stdout) == 0 ? 0 : 1;

out_zero:
	mbedtls_platform_zeroize(line, sizeof(line));
	mbedtls_platform_zeroize(canon, sizeof(canon));
out:
	sl_keyring_free(kr);
	keys_free(&keys);
	return status;
}

/* --- keygen -------------------------------------------------------------- */

static int fill_random(uint8_t *buf, size_t len)
{
	size_t n = 0;

	while (n < len) {
		ssize_t r = getrandom(buf + n, len - n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		n += (size_t)r;
	}
	return 0;
}

/* Prints the key check value of key under tenant (docs/tokens.md). */
static int print_kcv(const uint8_t key[SL_KEY_LEN], const char *tenant)
{
	char kcv[SL_KCV_LEN];
	int rc = sl_key_kcv(key, tenant, kcv);

	if (rc < 0) {
		fprintf(stderr, "storelinkctl keygen: key check value: %s\n", strerror(-rc));
		return rc;
	}
	printf("key check value (tenant %s): %s\n", tenant, kcv);
	return 0;
}

int ctl_keygen(int argc, char **argv)
{
	static const char hex[] = "0123456789abcdef";
	static const char usage[] = "usage: storelinkctl keygen [--tenant TENANT] FILE\n";
	uint8_t key[SL_KEY_LEN];
	char text[2 * SL_KEY_LEN + 1];
	const char *path, *tenant = NULL;
	size_t off = 0;
	int fd, rc, status = 1;

	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		printf("%s"
		       "Writes a new master key (32 random bytes as 64 hex digits) to FILE,\n"
		       "created with mode 0600; an existing FILE is never overwritten.\n"
		       "With --tenant, also prints the key's check value for that tenant: the\n"
		       "public fingerprint that storelinkctl status and the gateway's status\n"
		       "message show, for the CDP to compare with its own (docs/tokens.md).\n",
		       usage);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "--tenant") == 0) {
		tenant = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc != 2 || argv[1][0] == '-' || (tenant && !*tenant)) {
		fprintf(stderr, "%s", usage);
		return 2;
	}
	path = argv[1];

	rc = fill_random(key, sizeof(key));
	if (rc < 0) {
		fprintf(stderr, "storelinkctl keygen: getrandom: %s\n", strerror(-rc));
		goto out_zero;
	}
	for (size_t i = 0; i < SL_KEY_LEN; i++) {
		text[2 * i] = hex[key[i] >> 4];
		text[2 * i + 1] = hex[key[i] & 15];
	}
	text[2 * SL_KEY_LEN] = '\n';

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			fprintf(stderr, "storelinkctl keygen: %s exists; refusing to overwrite it\n", path);
		else
			fprintf(stderr, "storelinkctl keygen: cannot create %s: %s\n", path,
				strerror(errno));
		goto out_zero;
	}
	while (off < sizeof(text)) {
		ssize_t w = write(fd, text + off, sizeof(text) - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			break;
		off += (size_t)w;
	}
	if (off < sizeof(text) || fsync(fd) != 0) {
		fprintf(stderr, "storelinkctl keygen: cannot write %s: %s\n", path, strerror(errno));
		close(fd);
		unlink(path);
		goto out_zero;
	}
	if (close(fd) != 0) {
		fprintf(stderr, "storelinkctl keygen: cannot write %s: %s\n", path, strerror(errno));
		unlink(path);
		goto out_zero;
	}
	printf("%s\n", path);
	status = 0;
	if (tenant && print_kcv(key, tenant) < 0)
		status = 1;
out_zero:
	mbedtls_platform_zeroize(key, sizeof(key));
	mbedtls_platform_zeroize(text, sizeof(text));
	return status;
}

int ctl_replay_keyring(struct sl_keyring **ret)
{
	uint8_t master[SL_KEY_LEN];
	int rc;

	if (getrandom(master, sizeof(master), 0) != (ssize_t)sizeof(master))
		return -EIO;
	rc = sl_keyring_new(ret, "replay", master, "replay", NULL, NULL);
	mbedtls_platform_zeroize(master, sizeof(master));
	return rc;
}

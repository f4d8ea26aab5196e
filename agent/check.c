/* SPDX-License-Identifier: MIT */
/*
 * storelinkd --check-config as a full dry run (see check.h): everything the
 * agent would refuse at start is refused here, every problem at once, each
 * as "FILE:LINE: [section] key: what is wrong". Run as root, the files are
 * opened with the service user's identity (effective uid, gid and groups),
 * so a key that only root can read is found before the unit restart-loops.
 */
#include "check.h"

#include "autoconf.h"
#include "clock.h"
#ifdef CONFIG_SL_POS
#include "pos.h"
#endif
#include "privacy.h"
#include "publisher.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WARN_DAYS 30
#define MAX_GROUPS 64

struct check {
	const struct sl_config *cfg;
	FILE *out;
	int errors, warnings;
};

static void report(struct check *c, bool warning, const char *section, const char *key,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void report(struct check *c, bool warning, const char *section, const char *key,
		   const char *fmt, ...)
{
	int line = section ? sl_config_line(c->cfg, section, key) : 0;
	va_list ap;

	if (line > 0)
		fprintf(c->out, "%s:%d: ", c->cfg->path, line);
	else
		fprintf(c->out, "%s: ", c->cfg->path);
	if (section)
		fprintf(c->out, "[%s] %s: ", section, key);
	if (warning)
		fputs("warning: ", c->out);
	va_start(ap, fmt);
	vfprintf(c->out, fmt, ap);
	va_end(ap);
	fputc('\n', c->out);
	if (warning)
		c->warnings++;
	else
		c->errors++;
}

/* ---- as the service user ------------------------------------------------ */

struct ids {
	bool switched;
	gid_t groups[MAX_GROUPS];
	int ngroups;
};

/* Takes the service user's effective identity; nothing when not root. */
static int become(const char *user, struct ids *saved, struct check *c)
{
	struct passwd *pw;
	gid_t groups[MAX_GROUPS];
	int n = MAX_GROUPS;

	saved->switched = false;
	if (geteuid() != 0 || !user)
		return 0;
	pw = getpwnam(user);
	if (!pw) {
		if (strcmp(user, SL_CHECK_DEFAULT_USER) != 0)
			report(c, false, NULL, NULL, "--user %s: no such user", user);
		return 0;	/* a development machine: check as root */
	}
	saved->ngroups = getgroups(MAX_GROUPS, saved->groups);
	if (saved->ngroups < 0 || getgrouplist(user, pw->pw_gid, groups, &n) < 0)
		return -E2BIG;
	if (setgroups((size_t)n, groups) < 0 || setegid(pw->pw_gid) < 0 ||
	    seteuid(pw->pw_uid) < 0)
		return -errno;
	saved->switched = true;
	fprintf(c->out, "%s: checking files as user %s\n", c->cfg->path, user);
	return 0;
}

static void unbecome(struct ids *saved)
{
	if (!saved->switched)
		return;
	/* back to root: failing here would leave us someone else */
	if (seteuid(0) < 0 || setegid(0) < 0 ||
	    setgroups((size_t)saved->ngroups, saved->groups) < 0)
		abort();
}

/* ---- the checks ------------------------------------------------------------ */

static void placeholder_cb(void *ctx, const char *section, const char *key, const char *value,
			   int line)
{
	struct check *c = ctx;

	(void)line;
	if (strstr(value, "CHANGE-ME"))
		report(c, false, section, key, "still the placeholder '%s': set it (storelinkctl "
		       "provision does)", value);
}

static void check_keys(struct check *c)
{
	const struct sl_config *cfg = c->cfg;
	const char *files[2] = { cfg->master_key_file, cfg->next_master_key_file };
	const char *names[2] = { "master_key_file", "next_master_key_file" };

	for (int i = 0; i < 2; i++) {
		uint8_t key[SL_KEY_LEN];
		char err[512] = "";

		if (!files[i])
			continue;
		if (sl_key_file_read(files[i], key, err, sizeof(err)) < 0)
			report(c, false, "keys", names[i], "%s", err);
		mbedtls_platform_zeroize(key, sizeof(key));
	}
}

static void check_file_readable(struct check *c, const char *section, const char *key,
				const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		report(c, false, section, key, "%s: %s", path, strerror(errno));
	else
		close(fd);
}

/* An X.509 time (UTC) as a time_t; (time_t)-1 if out of range. */
static time_t x509_epoch(const mbedtls_x509_time *t)
{
	struct tm tm = { .tm_year = t->year - 1900, .tm_mon = t->mon - 1, .tm_mday = t->day,
			 .tm_hour = t->hour, .tm_min = t->min, .tm_sec = t->sec };

	return timegm(&tm);
}

/* A certificate file's validity: expired or not yet valid is an error,
 * expiring within WARN_DAYS a warning. */
static void check_validity(struct check *c, const char *key, const char *path,
			   const mbedtls_x509_crt *crt)
{
	for (; crt && crt->raw.p; crt = crt->next) {
		time_t end = x509_epoch(&crt->valid_to), now = time(NULL);

		if (mbedtls_x509_time_is_future(&crt->valid_from)) {
			report(c, false, "mqtt", key, "%s is not valid before %04d-%02d-%02d (is "
			       "the clock right?)", path, crt->valid_from.year, crt->valid_from.mon,
			       crt->valid_from.day);
		} else if (mbedtls_x509_time_is_past(&crt->valid_to)) {
			report(c, false, "mqtt", key, "%s expired on %04d-%02d-%02d", path,
			       crt->valid_to.year, crt->valid_to.mon, crt->valid_to.day);
		} else if (end != (time_t)-1 && end - now < WARN_DAYS * 86400) {
			report(c, true, "mqtt", key, "%s expires on %04d-%02d-%02d, in %lld days: "
			       "renew it", path, crt->valid_to.year, crt->valid_to.mon,
			       crt->valid_to.day, (long long)((end - now) / 86400));
		}
	}
}

static void check_tls(struct check *c)
{
	const struct sl_config *cfg = c->cfg;
	mbedtls_x509_crt ca, crt;
	mbedtls_pk_context pk;
	bool have_crt = false, have_key = false;
	char err[512];
	int rc;

	if (!cfg->mqtt_tls) {
		report(c, true, "mqtt", "tls", "off: events leave this gateway unencrypted");
		return;
	}
	mbedtls_x509_crt_init(&ca);
	mbedtls_x509_crt_init(&crt);
	mbedtls_pk_init(&pk);
	if (cfg->mqtt_ca_file) {
		rc = mbedtls_x509_crt_parse_file(&ca, cfg->mqtt_ca_file);
		if (rc == MBEDTLS_ERR_PK_FILE_IO_ERROR || rc == MBEDTLS_ERR_X509_FILE_IO_ERROR)
			check_file_readable(c, "mqtt", "ca_file", cfg->mqtt_ca_file);
		else if (rc != 0)
			report(c, false, "mqtt", "ca_file", "%s: no valid certificate in it (PEM "
			       "or DER)", cfg->mqtt_ca_file);
		else
			check_validity(c, "ca_file", cfg->mqtt_ca_file, &ca);
	}
	if (cfg->mqtt_cert_file) {
		rc = mbedtls_x509_crt_parse_file(&crt, cfg->mqtt_cert_file);
		if (rc == MBEDTLS_ERR_PK_FILE_IO_ERROR || rc == MBEDTLS_ERR_X509_FILE_IO_ERROR)
			check_file_readable(c, "mqtt", "cert_file", cfg->mqtt_cert_file);
		else if (rc != 0)
			report(c, false, "mqtt", "cert_file", "%s: not a certificate (PEM or DER)",
			       cfg->mqtt_cert_file);
		else
			have_crt = true;
		if (have_crt)
			check_validity(c, "cert_file", cfg->mqtt_cert_file, &crt);
	}
	if (cfg->mqtt_key_file) {
		rc = sl_publisher_key_private(cfg->mqtt_key_file, err, sizeof(err));
		if (rc == -EPERM) {
			report(c, false, "mqtt", "key_file", "%s", err);
		} else if (rc < 0) {
			report(c, false, "mqtt", "key_file", "%s: %s", cfg->mqtt_key_file,
			       strerror(-rc));
		} else {
			rc = mbedtls_pk_parse_keyfile(&pk, cfg->mqtt_key_file, NULL);
			if (rc == MBEDTLS_ERR_PK_FILE_IO_ERROR)
				check_file_readable(c, "mqtt", "key_file", cfg->mqtt_key_file);
			else if (rc != 0)
				report(c, false, "mqtt", "key_file", "%s: not a private key (PEM or "
				       "DER, without passphrase)", cfg->mqtt_key_file);
			else
				have_key = true;
		}
	}
	if (have_crt && have_key && mbedtls_pk_check_pair(&crt.pk, &pk) != 0)
		report(c, false, "mqtt", "cert_file", "%s does not match the key %s",
		       cfg->mqtt_cert_file, cfg->mqtt_key_file);
	mbedtls_pk_free(&pk);
	mbedtls_x509_crt_free(&crt);
	mbedtls_x509_crt_free(&ca);
}

static void check_pos(struct check *c)
{
	const struct sl_config *cfg = c->cfg;
	char err[512] = "";

#ifdef CONFIG_SL_POS
	if (cfg->pos_auth_token_file &&
	    sl_pos_check_token_file(cfg->pos_auth_token_file, err, sizeof(err)) < 0)
		report(c, false, "pos", "auth_token_file", "%s",
		       strncmp(err, "[pos] auth_token_file ", 22) == 0 ? err + 22 : err);
#else
	(void)err;
#endif
	if (cfg->pos_socket_group && !getgrnam(cfg->pos_socket_group))
		report(c, false, "pos", "socket_group", "'%s': no such group",
		       cfg->pos_socket_group);
	/* each unix: listener's directory must take the socket */
	for (const char *p = cfg->pos_listen; p && *p;) {
		size_t n = strcspn(p, ",");
		char path[PATH_MAX];

		while (*p == ' ' && n)
			p++, n--;
		if (n > 5 && strncmp(p, "unix:", 5) == 0 && n - 5 < sizeof(path)) {
			char *slash;

			memcpy(path, p + 5, n - 5);
			path[n - 5] = '\0';
			slash = strrchr(path, '/');
			if (slash && slash != path)
				*slash = '\0';
			if (access(path, W_OK | X_OK) < 0 && errno != ENOENT)
				report(c, false, "pos", "listen", "cannot create a socket in %s: %s",
				       path, strerror(errno));
		}
		p += n;
		if (*p == ',')
			p++;
	}
}

static void check_state_dir(struct check *c)
{
	const char *dir = c->cfg->state_dir;
	struct stat st;

	if (stat(dir, &st) < 0) {
		if (errno != ENOENT)
			report(c, false, "agent", "state_dir", "%s: %s", dir, strerror(errno));
		return;	/* the agent creates it (systemd's StateDirectory= too) */
	}
	if (!S_ISDIR(st.st_mode))
		report(c, false, "agent", "state_dir", "%s is not a directory", dir);
	else if (access(dir, W_OK | X_OK) < 0)
		report(c, false, "agent", "state_dir", "%s: not writable: %s", dir,
		       strerror(errno));
}

/* A radio adapter that is absent is only a warning: the agent waits for it. */
static void check_sources(struct check *c)
{
	const struct sl_config *cfg = c->cfg;
	char path[PATH_MAX];

	if (strncmp(cfg->ble_source, "hci:", 4) == 0 && strchr(cfg->ble_source + 4, ':') == NULL) {
		snprintf(path, sizeof(path), "/sys/class/bluetooth/%s", cfg->ble_source + 4);
		if (access(path, F_OK) < 0)
			report(c, true, "ble", "source", "no adapter %s now; the agent waits for it",
			       cfg->ble_source + 4);
	}
	if (strncmp(cfg->wifi_source, "pcap:", 5) == 0) {
		snprintf(path, sizeof(path), "/sys/class/net/%s", cfg->wifi_source + 5);
		if (access(path, F_OK) < 0)
			report(c, true, "wifi", "source", "no interface %s now; the agent waits for "
			       "it", cfg->wifi_source + 5);
	}
	if (strncmp(cfg->scanner_source, "evdev:", 6) == 0 ||
	    strncmp(cfg->scanner_source, "tty:", 4) == 0) {
		const char *dev = strchr(cfg->scanner_source, ':') + 1;

		if (access(dev, F_OK) < 0)
			report(c, true, "scanner", "source", "no device %s now; the agent waits "
			       "for it", dev);
	}
	if (strncmp(cfg->scanner_source, "lines:", 6) == 0)
		check_file_readable(c, "scanner", "source", cfg->scanner_source + 6);
	if (strncmp(cfg->ble_source, "btsnoop:", 8) == 0)
		check_file_readable(c, "ble", "source", cfg->ble_source + 8);
	if (strncmp(cfg->wifi_source, "pcapfile:", 9) == 0)
		check_file_readable(c, "wifi", "source", cfg->wifi_source + 9);
}

int sl_check_config(const struct sl_config *cfg, const char *user, FILE *out)
{
	struct check c = { .cfg = cfg, .out = out };
	struct ids saved;
	int rc;

	sl_config_each_text(cfg, placeholder_cb, &c);
	rc = become(user, &saved, &c);
	if (rc < 0) {
		fprintf(out, "%s: cannot take user %s's identity: %s\n", cfg->path, user,
			strerror(-rc));
		return -rc;
	}
	check_keys(&c);
	check_tls(&c);
	check_pos(&c);
	check_state_dir(&c);
	check_sources(&c);
	unbecome(&saved);
	if (c.errors)
		fprintf(out, "%s: %d problem%s, %d warning%s: the agent would not start\n",
			cfg->path, c.errors, c.errors == 1 ? "" : "s", c.warnings,
			c.warnings == 1 ? "" : "s");
	return c.errors;
}

int sl_cert_not_after(const char *path, char out[SL_DAY_LEN], int64_t *ret_days_left)
{
	mbedtls_x509_crt crt;
	int rc = -EINVAL;

	mbedtls_x509_crt_init(&crt);
	if (path && mbedtls_x509_crt_parse_file(&crt, path) == 0) {
		time_t end = x509_epoch(&crt.valid_to);

		snprintf(out, SL_DAY_LEN, "%04u-%02u-%02u", (unsigned)crt.valid_to.year % 10000u,
			 (unsigned)crt.valid_to.mon % 100u, (unsigned)crt.valid_to.day % 100u);
		*ret_days_left = end == (time_t)-1 ? 0 : ((int64_t)end - (int64_t)time(NULL)) / 86400;
		rc = 0;
	}
	mbedtls_x509_crt_free(&crt);
	return rc;
}

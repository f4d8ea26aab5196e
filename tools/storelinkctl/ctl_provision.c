/* SPDX-License-Identifier: MIT */
/*
 * storelinkctl provision: turns a freshly installed gateway into a
 * configured one (docs/operations.md).
 *
 *   provision [-c CONF] [--answers FILE] --tenant T --store S --gateway G
 *             --broker HOST[:PORT] [--import-master-key FILE] [--user USER]
 *     edits CONF in place ([agent] tenant/store_id/gateway_id, [mqtt]
 *     host/port, [pos] auth_token_file), and creates what is missing: the
 *     master key (or imports one), the POS token, the gateway's TLS key
 *     (EC P-256) and, from it, a CSR with CN = gateway id for the CDP's CA.
 *     Files that exist are kept (a key is never replaced), so running it
 *     twice is safe; the CSR is written again from the existing key.
 *   provision [-c CONF] --install-cert CERT --ca CA [--user USER]
 *     checks that CERT belongs to the gateway's key, names the gateway, is
 *     valid now and chains to CA, then installs both where CONF says.
 *
 * Secrets (master key, POS token, TLS key) are written with mode 0600,
 * owned by the service user; the config 0640 root:USER. Nothing secret is
 * ever printed: only paths and the master key's check value.
 */
#include "autoconf.h"
#include "config.h"
#include "ctl.h"
#include "privacy.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ini.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/oid.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/x509_csr.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PEM_MAX 4096
#define TEXT_MAX (256 * 1024)

struct answers {
	const char *conf;
	char *tenant, *store, *gateway, *broker, *import_key, *user;
	const char *install_cert, *install_ca;
};

struct owner {
	uid_t uid;
	gid_t gid;
	const char *user;
};

static void perr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void perr(const char *fmt, ...)
{
	va_list ap;

	fputs("storelinkctl provision: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- answers ---------------------------------------------------------- */

static int set_answer(struct answers *a, const char *key, const char *value)
{
	char **slot = strcmp(key, "tenant") == 0		? &a->tenant
		      : strcmp(key, "store") == 0		? &a->store
		      : strcmp(key, "gateway") == 0		? &a->gateway
		      : strcmp(key, "broker") == 0		? &a->broker
		      : strcmp(key, "import_master_key") == 0	? &a->import_key
		      : strcmp(key, "user") == 0		? &a->user
								: NULL;

	if (!slot)
		return -EINVAL;
	free(*slot);
	*slot = strdup(value);
	return *slot ? 0 : -ENOMEM;
}

static int answer_cb(void *ctx, const char *section, const char *key, const char *value)
{
	if (*section)
		return 0;
	return set_answer(ctx, key, value) == 0;
}

static void answers_free(struct answers *a)
{
	free(a->tenant);
	free(a->store);
	free(a->gateway);
	free(a->broker);
	free(a->import_key);
	free(a->user);
}

/* The board's placeholder, which the config parser accepts as a name. */
static bool placeholder(const char *s)
{
	return strstr(s, "CHANGE-ME") != NULL;
}

/* ---- the config text: set one key of one section, keeping the rest ------ */

/* Replaces "key = ..." in [section] (or adds it at the end of the section,
 * or adds the section); *text is reallocated. 0 or -ENOMEM. */
static int ini_set(char **text, const char *section, const char *key, const char *value)
{
	char *t = *text, *out, *line, *eol, *sec_end = NULL, *hit = NULL, *hit_end = NULL;
	bool in = false;
	size_t klen = strlen(key), n;

	for (line = t; *line; line = eol) {
		char *p = line;

		eol = strchr(line, '\n');
		eol = eol ? eol + 1 : line + strlen(line);
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '[') {
			char *close = strchr(p, ']');

			if (in && !sec_end)
				sec_end = line;
			in = close && close < eol && (size_t)(close - p - 1) == strlen(section) &&
			     strncmp(p + 1, section, strlen(section)) == 0;
			if (in)
				sec_end = NULL;
			continue;
		}
		if (in && strncmp(p, key, klen) == 0) {
			char *q = p + klen;

			while (*q == ' ' || *q == '\t')
				q++;
			if (*q == '=') {
				hit = line;
				hit_end = eol;
			}
		}
		if (in && *p && *p != '\n' && *p != '#' && *p != ';')
			sec_end = eol;	/* after the section's last setting */
	}
	n = strlen(t) + strlen(section) + klen + strlen(value) + 16;
	out = malloc(n);
	if (!out)
		return -ENOMEM;
	if (hit || sec_end) {	/* replace the line, or insert after the section's last */
		char *cut = hit ? hit : sec_end, *rest = hit ? hit_end : sec_end;

		snprintf(out, n, "%.*s%s = %s\n%s", (int)(cut - t), t, key, value, rest);
	} else {
		size_t l = strlen(t);

		snprintf(out, n, "%s%s[%s]\n%s = %s\n", t, l && t[l - 1] != '\n' ? "\n" : "",
			 section, key, value);
	}
	free(t);
	*text = out;
	return 0;
}

static int read_text(const char *path, char **ret)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f)
		return -errno;
	buf = malloc(TEXT_MAX + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, TEXT_MAX, f);
	if (ferror(f) || !feof(f)) {
		fclose(f);
		free(buf);
		return -EFBIG;
	}
	fclose(f);
	buf[n] = '\0';
	*ret = buf;
	return 0;
}

/* ---- files ------------------------------------------------------------ */

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Writes data to path atomically (temp file + rename) with mode and owner. */
static int write_file(const char *path, const void *data, size_t len, mode_t mode, uid_t uid,
		      gid_t gid)
{
	char tmp[4096];
	int fd, rc = 0;
	size_t off = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.new-XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode) < 0 || fchown(fd, uid, gid) < 0) {
		rc = -errno;
		goto err_unlink;
	}
	while (off < len) {
		ssize_t w = write(fd, (const char *)data + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = -errno;
			goto err_unlink;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0) {
		rc = -errno;
		goto err_unlink;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = -errno;
		goto err_unlink;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = -errno;
		goto err_unlink;
	}
	return 0;

err_unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

/* An existing secret: keep it, but give it the owner and mode the agent needs. */
static int fix_secret(const char *path, const struct owner *o)
{
	if (chown(path, o->uid, o->gid) < 0 || chmod(path, 0600) < 0)
		return -errno;
	return 0;
}

/* ---- secrets ---------------------------------------------------------- */

static int master_key(const struct answers *a, const struct sl_config *cfg, const struct owner *o)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t key[SL_KEY_LEN];
	char text[2 * SL_KEY_LEN + 1], err[512], kcv[SL_KCV_LEN];
	const char *how;
	int rc;

	if (exists(cfg->master_key_file)) {
		rc = fix_secret(cfg->master_key_file, o);
		if (rc == 0)
			rc = sl_key_file_read(cfg->master_key_file, key, err, sizeof(err));
		if (rc < 0) {
			perr("%s", rc == -EPERM || err[0] ? err : strerror(-rc));
			goto out;
		}
		how = a->import_key ? "kept (exists; --import-master-key ignored)" : "kept";
	} else {
		if (a->import_key) {
			rc = sl_key_file_read(a->import_key, key, err, sizeof(err));
			if (rc < 0) {
				perr("--import-master-key: %s", err);
				goto out;
			}
			how = "imported";
		} else {
			rc = getrandom(key, sizeof(key), 0) == (ssize_t)sizeof(key) ? 0 : -EIO;
			if (rc < 0) {
				perr("getrandom: %s", strerror(-rc));
				goto out;
			}
			how = "created";
		}
		for (size_t i = 0; i < SL_KEY_LEN; i++) {
			text[2 * i] = hex[key[i] >> 4];
			text[2 * i + 1] = hex[key[i] & 15];
		}
		text[2 * SL_KEY_LEN] = '\n';
		rc = write_file(cfg->master_key_file, text, sizeof(text), 0600, o->uid, o->gid);
		if (rc < 0) {
			perr("%s: %s", cfg->master_key_file, strerror(-rc));
			goto out;
		}
	}
	rc = sl_key_kcv(key, cfg->tenant, kcv);
	if (rc == 0)
		printf("master key %s: %s (key id %s, check value %s: compare it with the CDP's)\n",
		       cfg->master_key_file, how, cfg->key_id, kcv);
out:
	mbedtls_platform_zeroize(key, sizeof(key));
	mbedtls_platform_zeroize(text, sizeof(text));
	return rc;
}

static int pos_token(const struct sl_config *cfg, const struct owner *o)
{
	uint8_t raw[32];
	char text[64];
	int rc, n;

	if (exists(cfg->pos_auth_token_file)) {
		rc = fix_secret(cfg->pos_auth_token_file, o);
		if (rc < 0)
			perr("%s: %s", cfg->pos_auth_token_file, strerror(-rc));
		else
			printf("POS token %s: kept\n", cfg->pos_auth_token_file);
		return rc;
	}
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		perr("getrandom failed");
		return -EIO;
	}
	n = sl_base64url_nopad(raw, sizeof(raw), text, sizeof(text) - 1);
	mbedtls_platform_zeroize(raw, sizeof(raw));
	if (n < 0)
		return n;
	text[n++] = '\n';
	rc = write_file(cfg->pos_auth_token_file, text, (size_t)n, 0600, o->uid, o->gid);
	mbedtls_platform_zeroize(text, sizeof(text));
	if (rc < 0)
		perr("%s: %s", cfg->pos_auth_token_file, strerror(-rc));
	else
		printf("POS token %s: created (give it to the POS integrator for TCP lanes)\n",
		       cfg->pos_auth_token_file);
	return rc;
}

static int drbg_init(mbedtls_entropy_context *ent, mbedtls_ctr_drbg_context *drbg)
{
	static const char pers[] = "storelinkctl provision";

	mbedtls_entropy_init(ent);
	mbedtls_ctr_drbg_init(drbg);
	return mbedtls_ctr_drbg_seed(drbg, mbedtls_entropy_func, ent, (const unsigned char *)pers,
				     sizeof(pers) - 1) ? -EIO : 0;
}

/* The gateway's TLS key (created if missing) and a CSR for it next to it. */
static int tls_key_and_csr(const struct sl_config *cfg, const char *conf, const struct owner *o)
{
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_pk_context pk;
	mbedtls_x509write_csr csr;
	unsigned char *pem = NULL;
	char subject[128], csr_path[4096];
	const char *how = "kept";
	int rc;

	mbedtls_pk_init(&pk);
	mbedtls_x509write_csr_init(&csr);
	rc = drbg_init(&ent, &drbg);
	if (rc < 0) {
		perr("random generator: seeding failed");
		goto out;
	}
	pem = calloc(1, PEM_MAX);
	if (!pem) {
		rc = -ENOMEM;
		goto out;
	}
	if (exists(cfg->mqtt_key_file)) {
		rc = fix_secret(cfg->mqtt_key_file, o);
		if (rc == 0 && mbedtls_pk_parse_keyfile(&pk, cfg->mqtt_key_file, NULL) != 0)
			rc = -EINVAL;
		if (rc < 0) {
			perr("[mqtt] key_file %s: %s", cfg->mqtt_key_file,
			     rc == -EINVAL ? "not a private key (PEM or DER, without passphrase)"
					   : strerror(-rc));
			goto out;
		}
	} else {
		if (mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0 ||
		    mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(pk),
					mbedtls_ctr_drbg_random, &drbg) != 0 ||
		    mbedtls_pk_write_key_pem(&pk, pem, PEM_MAX) != 0) {
			perr("making the TLS key failed");
			rc = -EIO;
			goto out;
		}
		rc = write_file(cfg->mqtt_key_file, pem, strlen((char *)pem), 0600, o->uid, o->gid);
		if (rc < 0) {
			perr("%s: %s", cfg->mqtt_key_file, strerror(-rc));
			goto out;
		}
		how = "created (EC P-256)";
	}
	printf("TLS key %s: %s\n", cfg->mqtt_key_file, how);

	snprintf(subject, sizeof(subject), "CN=%s", cfg->gateway_id);
	mbedtls_x509write_csr_set_md_alg(&csr, MBEDTLS_MD_SHA256);
	mbedtls_x509write_csr_set_key(&csr, &pk);
	if (mbedtls_x509write_csr_set_subject_name(&csr, subject) != 0 ||
	    mbedtls_x509write_csr_pem(&csr, pem, PEM_MAX, mbedtls_ctr_drbg_random, &drbg) != 0) {
		perr("making the certificate request failed");
		rc = -EIO;
		goto out;
	}
	/* gateway.pem → gateway.csr, next to where the certificate will go */
	{
		const char *dot = strrchr(cfg->mqtt_cert_file, '.');
		const char *slash = strrchr(cfg->mqtt_cert_file, '/');
		int base = dot && (!slash || dot > slash) ? (int)(dot - cfg->mqtt_cert_file)
							  : (int)strlen(cfg->mqtt_cert_file);

		if (snprintf(csr_path, sizeof(csr_path), "%.*s.csr", base, cfg->mqtt_cert_file) >=
		    (int)sizeof(csr_path)) {
			rc = -ENAMETOOLONG;
			goto out;
		}
	}
	rc = write_file(csr_path, pem, strlen((char *)pem), 0644, 0, 0);
	if (rc < 0) {
		perr("%s: %s", csr_path, strerror(-rc));
		goto out;
	}
	printf("certificate request %s (CN=%s): have the CDP's CA sign it, then run\n"
	       "  storelinkctl provision -c %s --install-cert SIGNED.pem --ca CA.pem\n",
	       csr_path, cfg->gateway_id, conf);
out:
	if (pem)
		mbedtls_platform_zeroize(pem, PEM_MAX);
	free(pem);
	mbedtls_x509write_csr_free(&csr);
	mbedtls_pk_free(&pk);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
	return rc;
}

/* ---- --install-cert ----------------------------------------------------- */

static int copy_public(const char *from, const char *to)
{
	char *text = NULL;
	int rc = read_text(from, &text);

	if (rc == 0)
		rc = write_file(to, text, strlen(text), 0644, 0, 0);
	free(text);
	return rc;
}

static int install_cert(const struct answers *a, const struct sl_config *cfg)
{
	mbedtls_x509_crt crt, ca;
	mbedtls_pk_context key;
	uint32_t flags = 0;
	char cn[128] = "", info[256];
	int rc = -EINVAL;

	mbedtls_x509_crt_init(&crt);
	mbedtls_x509_crt_init(&ca);
	mbedtls_pk_init(&key);
	if (mbedtls_x509_crt_parse_file(&crt, a->install_cert) != 0) {
		perr("--install-cert %s: not a certificate (PEM or DER)", a->install_cert);
		goto out;
	}
	if (mbedtls_x509_crt_parse_file(&ca, a->install_ca) != 0) {
		perr("--ca %s: not a certificate (PEM or DER)", a->install_ca);
		goto out;
	}
	if (mbedtls_pk_parse_keyfile(&key, cfg->mqtt_key_file, NULL) != 0) {
		perr("[mqtt] key_file %s: missing or not a private key (run provision first)",
		     cfg->mqtt_key_file);
		goto out;
	}
	if (mbedtls_pk_check_pair(&crt.pk, &key) != 0) {
		perr("%s is not for this gateway's key %s (was it signed from another CSR?)",
		     a->install_cert, cfg->mqtt_key_file);
		goto out;
	}
	for (const mbedtls_x509_name *n = &crt.subject; n; n = n->next)
		if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0)
			snprintf(cn, sizeof(cn), "%.*s", (int)n->val.len, (const char *)n->val.p);
	if (strcmp(cn, cfg->gateway_id) != 0) {
		perr("%s names CN=%s, not this gateway (%s)", a->install_cert, cn,
		     cfg->gateway_id);
		goto out;
	}
	if (mbedtls_x509_crt_verify(&crt, &ca, NULL, NULL, &flags, NULL, NULL) != 0) {
		mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
		info[strcspn(info, "\n")] = '\0';
		perr("%s does not verify against %s: %s", a->install_cert, a->install_ca, info);
		goto out;
	}
	rc = copy_public(a->install_cert, cfg->mqtt_cert_file);
	if (rc < 0) {
		perr("%s: %s", cfg->mqtt_cert_file, strerror(-rc));
		goto out;
	}
	rc = copy_public(a->install_ca, cfg->mqtt_ca_file);
	if (rc < 0) {
		perr("%s: %s", cfg->mqtt_ca_file, strerror(-rc));
		goto out;
	}
	printf("certificate %s and CA %s installed (CN=%s, valid until %04d-%02d-%02d)\n",
	       cfg->mqtt_cert_file, cfg->mqtt_ca_file, cn, crt.valid_to.year, crt.valid_to.mon,
	       crt.valid_to.day);
out:
	mbedtls_pk_free(&key);
	mbedtls_x509_crt_free(&ca);
	mbedtls_x509_crt_free(&crt);
	return rc;
}

/* ---- the command ------------------------------------------------------ */

static const char usage[] =
	"usage: storelinkctl provision [-c CONF] [--answers FILE] [--tenant T] [--store S]\n"
	"                              [--gateway G] [--broker HOST[:PORT]]\n"
	"                              [--import-master-key FILE] [--user USER]\n"
	"       storelinkctl provision [-c CONF] --install-cert CERT --ca CA [--user USER]\n";

static int parse_args(struct answers *a, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = 0;

		if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
			printf("%s", usage);
			exit(0);
		}
		if (!val || opt[0] != '-') {
			fprintf(stderr, "%s", usage);
			return -EINVAL;
		}
		i++;
		if (strcmp(opt, "-c") == 0) {
			a->conf = val;
		} else if (strcmp(opt, "--answers") == 0) {
			int line = ini_parse(val, answer_cb, a);

			if (line != 0) {
				perr("--answers %s: %s", val, line < 0 ? strerror(errno) : "bad line");
				if (line > 0)
					fprintf(stderr, "  at line %d (keys: tenant, store, gateway, "
						"broker, import_master_key, user)\n", line);
				return -EINVAL;
			}
		} else if (strcmp(opt, "--install-cert") == 0) {
			a->install_cert = val;
		} else if (strcmp(opt, "--ca") == 0) {
			a->install_ca = val;
		} else if (strncmp(opt, "--", 2) == 0) {
			char key[32];
			size_t j = 0;

			for (const char *p = opt + 2; *p && j < sizeof(key) - 1; p++)
				key[j++] = *p == '-' ? '_' : *p;
			key[j] = '\0';
			rc = set_answer(a, key, val);
		} else {
			rc = -EINVAL;
		}
		if (rc < 0) {
			fprintf(stderr, "storelinkctl provision: unknown option %s\n%s", opt, usage);
			return rc;
		}
	}
	if (!a->install_cert != !a->install_ca) {
		fprintf(stderr, "storelinkctl provision: --install-cert and --ca go together\n");
		return -EINVAL;
	}
	return 0;
}

static int owner_lookup(const char *user, struct owner *o)
{
	struct passwd *pw = getpwnam(user);

	if (!pw) {
		perr("no user '%s' (the package creates 'storelink'; or give --user NAME)", user);
		return -ENOENT;
	}
	o->uid = pw->pw_uid;
	o->gid = pw->pw_gid;
	o->user = user;
	return 0;
}

/* Parses text as if it were the file path (relative paths are taken from
 * its directory): through a private temp file next to it. */
static int load_as(const char *path, const char *text, struct sl_config **cfg, char *err,
		   size_t errlen)
{
	char tmp[4096];
	int fd, rc;
	size_t len = strlen(text);

	if (snprintf(tmp, sizeof(tmp), "%s.check-XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "a temp file next to the configuration: %s\n", strerror(-rc));
		return rc;
	}
	rc = write(fd, text, len) == (ssize_t)len ? 0 : -EIO;
	close(fd);
	if (rc == 0)
		rc = sl_config_load(cfg, tmp, err, errlen);
	unlink(tmp);
	return rc;
}

/* Applies the answers to the config text and checks the result parses. */
static int edit_config(const struct answers *a, char **text, struct sl_config **cfg)
{
	char err[4096], host[256], *port = NULL;
	int rc = 0;

	if (a->broker) {
		if (strchr(a->broker, ',')) {
			perr("--broker: one broker (host[:port]) for now");
			return -EINVAL;
		}
		snprintf(host, sizeof(host), "%s", a->broker);
		port = strrchr(host, ':');
		if (port && !strchr(port + 1, ']'))
			*port++ = '\0';
		else
			port = NULL;
	}
	if (a->tenant)
		rc = ini_set(text, "agent", "tenant", a->tenant);
	if (!rc && a->store)
		rc = ini_set(text, "agent", "store_id", a->store);
	if (!rc && a->gateway)
		rc = ini_set(text, "agent", "gateway_id", a->gateway);
	if (!rc && a->broker)
		rc = ini_set(text, "mqtt", "host", host);
	if (!rc && port)
		rc = ini_set(text, "mqtt", "port", port);
	if (rc < 0)
		return rc;
	rc = load_as(a->conf, *text, cfg, err, sizeof(err));
	if (rc == 0 && !(*cfg)->pos_auth_token_file) {
		sl_config_free(*cfg);
		*cfg = NULL;
		rc = ini_set(text, "pos", "auth_token_file", "pos.token");
		if (rc == 0)
			rc = load_as(a->conf, *text, cfg, err, sizeof(err));
	}
	if (rc < 0) {
		perr("the configuration would not be valid:\n%s", err);
		return rc;
	}
	/* the parser checked they are names; only the placeholder is left */
	if (placeholder((*cfg)->tenant) || placeholder((*cfg)->store_id) ||
	    placeholder((*cfg)->gateway_id)) {
		perr("tenant, store and gateway must be set (--tenant, --store, --gateway): "
		     "1-64 characters of A-Z a-z 0-9 . _ -, not CHANGE-ME");
		return -EINVAL;
	}
	if (!(*cfg)->mqtt_host || placeholder((*cfg)->mqtt_host)) {
		perr("the broker must be set (--broker HOST[:PORT])");
		return -EINVAL;
	}
	if (!(*cfg)->mqtt_tls || !(*cfg)->mqtt_key_file || !(*cfg)->mqtt_cert_file ||
	    !(*cfg)->mqtt_ca_file) {
		perr("[mqtt] tls with ca_file, cert_file and key_file is required");
		return -EINVAL;
	}
	return 0;
}

int ctl_provision(int argc, char **argv)
{
	struct answers a = { .conf = CONFIG_SL_DEFAULT_CONFIG };
	struct sl_config *cfg = NULL;
	struct owner o;
	struct group *gr;
	char *text = NULL;
	int rc;

	rc = parse_args(&a, argc, argv);
	if (rc < 0)
		goto out;
	rc = owner_lookup(a.user ? a.user : "storelink", &o);
	if (rc < 0)
		goto out;
	rc = read_text(a.conf, &text);
	if (rc < 0) {
		perr("%s: %s (the package installs it; from source: copy boards/BOARD/storelink.conf)",
		     a.conf, strerror(-rc));
		goto out;
	}
	if (a.install_cert) {
		char err[4096];

		rc = load_as(a.conf, text, &cfg, err, sizeof(err));
		if (rc < 0)
			perr("%s:\n%s", a.conf, err);
		else
			rc = install_cert(&a, cfg);
		goto out;
	}
	rc = edit_config(&a, &text, &cfg);
	if (rc < 0)
		goto out;
	rc = master_key(&a, cfg, &o);
	if (rc == 0)
		rc = pos_token(cfg, &o);
	if (rc == 0)
		rc = tls_key_and_csr(cfg, a.conf, &o);
	if (rc < 0)
		goto out;
	if (mkdir(cfg->state_dir, 0750) == 0 || errno == EEXIST) {
		if (chown(cfg->state_dir, o.uid, o.gid) < 0)
			perr("%s: chown: %s", cfg->state_dir, strerror(errno));
	} else {
		perr("%s: %s", cfg->state_dir, strerror(errno));
	}
	/* the config last: root:USER 0640, the service reads it, nobody else */
	gr = getgrgid(o.gid);
	rc = write_file(a.conf, text, strlen(text), 0640, 0, o.gid);
	if (rc < 0) {
		perr("%s: %s", a.conf, strerror(-rc));
		goto out;
	}
	printf("configuration %s written (root:%s 0640): tenant %s, store %s, gateway %s, "
	       "broker %s:%d\n", a.conf, gr ? gr->gr_name : o.user, cfg->tenant, cfg->store_id,
	       cfg->gateway_id, cfg->mqtt_host, cfg->mqtt_port);
out:
	sl_config_free(cfg);
	free(text);
	answers_free(&a);
	return rc < 0 ? 1 : 0;
}

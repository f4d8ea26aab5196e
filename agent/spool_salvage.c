/* SPDX-License-Identifier: MIT */
/*
 * Reading a spool database and its WAL by hand (see spool_salvage.h).
 *
 * The WAL is a 32-byte header (magic, version, page size, checkpoint
 * sequence, two salts, a checksum of the header) followed by frames: a
 * 24-byte header (page number, database size in pages for the last frame of
 * a transaction, the two salts, a cumulative checksum) and one page. A frame
 * counts when its salts are the header's and its checksum, computed over its
 * header's first 8 bytes and its page starting from the previous frame's
 * checksum, matches; SQLite stops at the first frame that does not. Frames
 * after such a break with the current salts that verify against their own
 * predecessor's stored checksum are the sign of a damaged frame in the middle
 * (a flipped bit), not of a stale tail: we read their committed transactions
 * too. Everything is bounded by the file sizes; nothing trusts a length
 * field without checking it against the page.
 */
#include "spool_salvage.h"

#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAL_HDR 32
#define WAL_FRAME_HDR 24
#define WAL_MAGIC 0x377f0682u /* | 1: checksums in big-endian words */
#define WAL_VERSION 3007000u
#define DB_HDR 100
#define RECORD_MAX (SL_SPOOL_MAX_PAYLOAD + 4096u) /* payload + id + type + header */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static bool page_size_ok(uint32_t ps)
{
	return ps >= 512 && ps <= 65536 && !(ps & (ps - 1));
}

static int pread_all(int fd, void *buf, size_t n, off_t off)
{
	uint8_t *p = buf;

	while (n) {
		ssize_t r = pread(fd, p, n, off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO; /* shorter than its size said: changed under us */
		p += r;
		n -= (size_t)r;
		off += r;
	}
	return 0;
}

/* ---- the WAL -------------------------------------------------------------- */

struct wal {
	int fd;                  /* -1: no WAL */
	off_t size;
	bool valid;              /* the header checks out */
	bool be;                 /* checksum words big-endian */
	uint32_t page_size;
	uint32_t salt[2];
	uint32_t cks[2];         /* the header's checksum: the chain's start */
	size_t nframes;          /* whole frames in the file */
	size_t chain_end;        /* frames [0, chain_end) verify from the header on */
	size_t last_commit;      /* frames [0, last_commit) are committed, 0 = none */
	uint32_t db_pages;       /* database size after that commit */
	size_t extra_end;        /* after the break: frames up to the last commit that verifies */
	uint8_t *extra_ok;       /* [nframes]: frame verified after the break */
	size_t frames_bad;       /* frames in [chain_end, extra_end) that do not verify */
	uint32_t extra_max_page; /* highest page number committed after the break */
};

static void wal_cksum(bool be, const uint8_t *p, size_t n, uint32_t s[2])
{
	for (size_t i = 0; i + 8 <= n; i += 8) {
		uint32_t x0, x1;

		if (be) {
			x0 = be32(p + i);
			x1 = be32(p + i + 4);
		} else {
			x0 = (uint32_t)p[i] | (uint32_t)p[i + 1] << 8 | (uint32_t)p[i + 2] << 16 |
			     (uint32_t)p[i + 3] << 24;
			x1 = (uint32_t)p[i + 4] | (uint32_t)p[i + 5] << 8 | (uint32_t)p[i + 6] << 16 |
			     (uint32_t)p[i + 7] << 24;
		}
		s[0] += x0 + s[1];
		s[1] += x1 + s[0];
	}
}

static size_t wal_frame_size(const struct wal *w)
{
	return WAL_FRAME_HDR + (size_t)w->page_size;
}

static off_t wal_frame_off(const struct wal *w, size_t i)
{
	return (off_t)WAL_HDR + (off_t)i * (off_t)wal_frame_size(w);
}

/* Does frame (hdr, page) verify from checksum prev? */
static bool wal_frame_ok(const struct wal *w, const uint8_t *frame, const uint32_t prev[2])
{
	uint32_t s[2] = { prev[0], prev[1] };

	if (be32(frame + 8) != w->salt[0] || be32(frame + 12) != w->salt[1] || !be32(frame))
		return false;
	wal_cksum(w->be, frame, 8, s);
	wal_cksum(w->be, frame + WAL_FRAME_HDR, w->page_size, s);
	return s[0] == be32(frame + 16) && s[1] == be32(frame + 20);
}

/* Opens and walks the WAL; a missing or unreadable header leaves w->valid false. */
static int wal_open(struct wal *w, const char *path)
{
	uint8_t hdr[WAL_HDR], *frame = NULL, *prevf = NULL;
	uint32_t s[2] = { 0, 0 }, magic;
	struct stat sb;
	int rc;

	memset(w, 0, sizeof(*w));
	w->fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (w->fd < 0)
		return path && errno != ENOENT ? -errno : 0;
	if (fstat(w->fd, &sb) < 0)
		return -errno;
	w->size = sb.st_size;
	if (w->size < WAL_HDR)
		return 0;
	rc = pread_all(w->fd, hdr, sizeof(hdr), 0);
	if (rc < 0)
		return rc;
	magic = be32(hdr);
	if ((magic & ~1u) != WAL_MAGIC || be32(hdr + 4) != WAL_VERSION || !page_size_ok(be32(hdr + 8)))
		return 0;
	w->be = magic & 1;
	wal_cksum(w->be, hdr, 24, s);
	if (s[0] != be32(hdr + 24) || s[1] != be32(hdr + 28))
		return 0;
	w->valid = true;
	w->page_size = be32(hdr + 8);
	w->salt[0] = be32(hdr + 16);
	w->salt[1] = be32(hdr + 20);
	w->cks[0] = s[0];
	w->cks[1] = s[1];
	w->nframes = (size_t)((w->size - WAL_HDR) / (off_t)wal_frame_size(w));
	if (!w->nframes)
		return 0;

	frame = malloc(wal_frame_size(w));
	prevf = malloc(wal_frame_size(w));
	w->extra_ok = calloc(w->nframes, 1);
	if (!frame || !prevf || !w->extra_ok) {
		rc = -ENOMEM;
		goto out;
	}
	/* the chain SQLite would read */
	s[0] = w->cks[0];
	s[1] = w->cks[1];
	for (w->chain_end = 0; w->chain_end < w->nframes; w->chain_end++) {
		rc = pread_all(w->fd, frame, wal_frame_size(w), wal_frame_off(w, w->chain_end));
		if (rc < 0)
			goto out;
		if (!wal_frame_ok(w, frame, s))
			break;
		s[0] = be32(frame + 16);
		s[1] = be32(frame + 20);
		if (be32(frame + 4)) {
			w->last_commit = w->chain_end + 1;
			w->db_pages = be32(frame + 4);
		}
	}
	/* after a break: frames that verify against their predecessor */
	for (size_t j = w->chain_end + 1; j < w->nframes; j++) {
		uint32_t ps[2];

		rc = pread_all(w->fd, prevf, WAL_FRAME_HDR, wal_frame_off(w, j - 1));
		if (rc < 0)
			goto out;
		rc = pread_all(w->fd, frame, wal_frame_size(w), wal_frame_off(w, j));
		if (rc < 0)
			goto out;
		ps[0] = be32(prevf + 16);
		ps[1] = be32(prevf + 20);
		if (!wal_frame_ok(w, frame, ps))
			continue;
		w->extra_ok[j] = 1;
		if (be32(frame + 4))
			w->extra_end = j + 1;
	}
	for (size_t j = w->chain_end; j < w->extra_end; j++) {
		if (!w->extra_ok[j]) {
			w->frames_bad++;
			continue;
		}
		rc = pread_all(w->fd, frame, WAL_FRAME_HDR, wal_frame_off(w, j));
		if (rc < 0)
			goto out;
		if (be32(frame) > w->extra_max_page)
			w->extra_max_page = be32(frame);
	}
	rc = 0;
out:
	free(frame);
	free(prevf);
	return rc;
}

static void wal_close(struct wal *w)
{
	if (w->fd >= 0)
		close(w->fd);
	free(w->extra_ok);
	w->fd = -1;
	w->extra_ok = NULL;
}

/* ---- the database file ------------------------------------------------------- */

struct dbf {
	int fd;                  /* -1: no file */
	off_t size;
	uint32_t page_size;      /* from the header, 0 if unreadable */
	uint32_t hdr_pages;      /* in-header database size, 0 if not valid */
};

static int db_open(struct dbf *d, const char *path)
{
	uint8_t hdr[DB_HDR];
	struct stat sb;
	uint32_t ps;
	int rc;

	memset(d, 0, sizeof(*d));
	d->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (d->fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(d->fd, &sb) < 0)
		return -errno;
	d->size = sb.st_size;
	if (d->size < DB_HDR)
		return 0;
	rc = pread_all(d->fd, hdr, sizeof(hdr), 0);
	if (rc < 0)
		return rc;
	if (memcmp(hdr, "SQLite format 3", 16))
		return 0;
	ps = be16(hdr + 16);
	if (ps == 1)
		ps = 65536;
	if (!page_size_ok(ps))
		return 0;
	d->page_size = ps;
	if (be32(hdr + 92) == be32(hdr + 24))
		d->hdr_pages = be32(hdr + 28);
	return 0;
}

static void db_close(struct dbf *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

/* ---- judging before SQLite opens the files ------------------------------------ */

int sl_spool__inspect(const char *db_path, const char *wal_path, char *reason, size_t len)
{
	struct dbf d;
	struct wal w;
	uint32_t ps, *in_wal = NULL;
	int rc, ret = 0;

	rc = db_open(&d, db_path);
	if (rc < 0) {
		db_close(&d);
		return rc;
	}
	rc = wal_open(&w, wal_path);
	if (rc < 0)
		goto out;
	ps = w.valid ? w.page_size : d.page_size;

	if (w.valid && w.extra_end) {
		snprintf(reason, len, "WAL checksum chain broken at frame %zu of %zu, with committed "
			 "frames after the break", w.chain_end + 1, w.nframes);
		ret = 1;
		goto out;
	}
	if (w.valid && w.last_commit && d.size == 0) {
		/* SQLite deletes the WAL of an empty database file */
		snprintf(reason, len, "empty database file beside a WAL of %zu committed frames",
			 w.last_commit);
		ret = 1;
		goto out;
	}
	if (w.valid && w.last_commit) {
		/* every page of the committed database: in the WAL or in the file */
		uint32_t missing = 0;

		in_wal = calloc((size_t)w.db_pages + 1, sizeof(*in_wal));
		if (!in_wal) {
			rc = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < w.last_commit; i++) {
			uint8_t fh[WAL_FRAME_HDR];
			uint32_t pg;

			rc = pread_all(w.fd, fh, sizeof(fh), wal_frame_off(&w, i));
			if (rc < 0)
				goto out;
			pg = be32(fh);
			if (pg <= w.db_pages)
				in_wal[pg] = 1;
		}
		for (uint32_t p = 1; p <= w.db_pages; p++)
			if (!in_wal[p] && (off_t)p * ps > d.size)
				missing++;
		if (missing) {
			snprintf(reason, len, "the database file has %lld bytes, %" PRIu32 " of the %"
				 PRIu32 " pages its WAL (%zu committed frames) needs are in neither",
				 (long long)d.size, missing, w.db_pages, w.last_commit);
			ret = 1;
		}
		goto out;
	}
	/* no committed frames: the database file alone */
	if (d.size > 0 && d.page_size && d.size % d.page_size) {
		snprintf(reason, len, "the database file (%lld bytes) is not a whole number of "
			 "%" PRIu32 "-byte pages", (long long)d.size, d.page_size);
		ret = 1;
	} else if (d.page_size && d.hdr_pages && (off_t)d.hdr_pages * d.page_size > d.size) {
		snprintf(reason, len, "the database file has %lld pages, its header says %" PRIu32,
			 (long long)(d.size / d.page_size), d.hdr_pages);
		ret = 1;
	}
out:
	free(in_wal);
	wal_close(&w);
	db_close(&d);
	return rc < 0 ? rc : ret;
}

/* ---- salvage --------------------------------------------------------------------- */

struct salv {
	struct dbf d;
	struct wal w;
	uint32_t ps;             /* page size */
	uint32_t usable;         /* page size minus the reserved bytes */
	uint32_t npages;
	uint32_t *frame_of;      /* [npages + 1]: 1 + the WAL frame of the page's latest version, 0 = file */
	uint8_t *is_free;        /* [npages + 1]: on the freelist */
	uint8_t *pg;             /* one page */
	uint8_t *ovf;            /* one page, for overflow chains */
	uint8_t *rec;            /* an assembled record, RECORD_MAX */
	int (*cb)(const struct spool_salvage_row *row, void *ctx);
	void *ctx;
	struct spool_salvage_stats st;
};

/* Reads page pgno (its latest committed version) into buf; false if unavailable. */
static bool salv_page(struct salv *s, uint32_t pgno, uint8_t *buf)
{
	if (!pgno || pgno > s->npages)
		return false;
	if (s->frame_of[pgno])
		return pread_all(s->w.fd, buf, s->ps,
				 wal_frame_off(&s->w, s->frame_of[pgno] - 1) + WAL_FRAME_HDR) == 0;
	if (s->d.fd < 0 || (off_t)pgno * s->ps > s->d.size)
		return false;
	return pread_all(s->d.fd, buf, s->ps, (off_t)(pgno - 1) * s->ps) == 0;
}

/* SQLite varint at p (at most end); bytes used, 0 if it runs past end. */
static size_t varint(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;

	for (size_t i = 0; i < 9; i++) {
		if (p + i >= end)
			return 0;
		if (i == 8) {
			*v = x << 8 | p[i];
			return 9;
		}
		x = x << 7 | (p[i] & 0x7f);
		if (!(p[i] & 0x80)) {
			*v = x;
			return i + 1;
		}
	}
	return 0;
}

static size_t serial_len(uint64_t t)
{
	static const uint8_t ints[] = { 0, 1, 2, 3, 4, 6, 8, 8, 0, 0 };

	if (t < 10)
		return ints[t];
	if (t < 12)
		return SIZE_MAX;
	return (size_t)((t - 12) / 2);
}

static bool serial_int(uint64_t t)
{
	return (t >= 1 && t <= 6) || t == 8 || t == 9;
}

static int64_t read_int(uint64_t t, const uint8_t *p)
{
	uint64_t v;
	size_t n;

	if (t == 8)
		return 0;
	if (t == 9)
		return 1;
	n = serial_len(t);
	v = p[0] & 0x80 ? UINT64_MAX : 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return (int64_t)v;
}

/* A record of len bytes: 1 = an events row passed to cb, 0 = another shape,
 * -1 = malformed, or cb's error (< -1). */
static int salv_record(struct salv *s, int64_t rowid, const uint8_t *r, size_t len)
{
	uint64_t hlen, t[7];
	size_t off, n = 0, body;
	const uint8_t *col[7];
	struct spool_salvage_row row;
	int rc;

	off = varint(r, r + len, &hlen);
	if (!off || hlen > len || hlen < off)
		return -1;
	while (off < hlen) {
		uint64_t v;
		size_t k = varint(r + off, r + hlen, &v);

		if (!k)
			return -1;
		if (n == 7)
			return 0; /* more columns: another table */
		t[n++] = v;
		off += k;
	}
	if (n != 7)
		return 0;
	body = hlen;
	for (size_t i = 0; i < 7; i++) {
		size_t l = serial_len(t[i]);

		if (l == SIZE_MAX || l > len - body)
			return -1;
		col[i] = r + body;
		body += l;
	}
	if (body != len)
		return -1;
	if (t[0] != 0 || !serial_int(t[1]) || !serial_int(t[2]) || !serial_int(t[5]) ||
	    t[3] < 13 || !(t[3] & 1) || t[4] < 13 || !(t[4] & 1) || t[6] < 12 || (t[6] & 1))
		return -1;
	row.rowid = rowid;
	row.prio = read_int(t[1], col[1]);
	row.cls = read_int(t[2], col[2]);
	row.created_us = read_int(t[5], col[5]);
	row.id = (const char *)col[3];
	row.id_len = serial_len(t[3]);
	row.type = (const char *)col[4];
	row.type_len = serial_len(t[4]);
	row.payload = col[6];
	row.len = serial_len(t[6]);
	rc = s->cb(&row, s->ctx);
	return rc < 0 ? (rc == -1 ? -2 : rc) : 1;
}

/* One cell of a table leaf page: its record assembled (overflow chain
 * followed) into s->rec. 1, 0 (another table), -1 (malformed), < -1 (cb). */
static int salv_cell(struct salv *s, const uint8_t *pg, uint32_t off)
{
	const uint8_t *end = pg + s->usable, *p = pg + off;
	uint64_t plen, rowid;
	size_t k, local, maxlocal = s->usable - 35;
	uint32_t next;

	k = varint(p, end, &plen);
	if (!k)
		return -1;
	p += k;
	k = varint(p, end, &rowid);
	if (!k || plen > RECORD_MAX || rowid > INT64_MAX)
		return -1;
	p += k;
	if (plen <= maxlocal) {
		if (p + plen > end)
			return -1;
		return salv_record(s, (int64_t)rowid, p, (size_t)plen);
	}
	{
		size_t m = ((size_t)(s->usable - 12) * 32 / 255) - 23;
		size_t kk = m + (size_t)((plen - m) % (s->usable - 4));

		local = kk <= maxlocal ? kk : m;
	}
	if (p + local + 4 > end)
		return -1;
	memcpy(s->rec, p, local);
	next = be32(p + local);
	for (size_t got = local, hops = 0; got < plen; hops++) {
		size_t take = s->usable - 4;

		if (hops > s->npages || !salv_page(s, next, s->ovf))
			return -1;
		if (take > plen - got)
			take = (size_t)(plen - got);
		memcpy(s->rec + got, s->ovf + 4, take);
		got += take;
		next = be32(s->ovf);
	}
	return salv_record(s, (int64_t)rowid, s->rec, (size_t)plen);
}

/* Every cell of a page that may be a table leaf (its type byte may itself be
 * the damage: any page that is not an index or interior page is tried). */
static int salv_leaf(struct salv *s, const uint8_t *pg, uint32_t pgno)
{
	uint32_t h = pgno == 1 ? DB_HDR : 0, n, rows = 0, bad = 0;
	uint8_t type = pg[h];

	if (type == 0x02 || type == 0x05 || type == 0x0a)
		return 0;
	n = be16(pg + h + 3);
	if ((size_t)h + 8 + 2 * (size_t)n > s->usable) {
		s->st.pages_bad++;
		return 0;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t off = be16(pg + h + 8 + 2 * i);
		int rc;

		if (off < h + 8 + 2 * n || off >= s->usable) {
			bad++;
			continue;
		}
		rc = salv_cell(s, pg, off);
		if (rc < -1)
			return rc;
		if (rc == 1)
			rows++;
		else if (rc < 0)
			bad++;
	}
	if (type == 0x0d)
		s->st.rows_bad += bad;
	else if (!rows)
		s->st.pages_bad++; /* an overflow page, or garbage */
	return 0;
}

/* Marks the freelist pages (trunks and leaves) of the latest page 1. */
static void salv_freelist(struct salv *s)
{
	uint32_t trunk, leaves, hops = 0;

	if (!salv_page(s, 1, s->pg) || memcmp(s->pg, "SQLite format 3", 16))
		return;
	trunk = be32(s->pg + 32);
	while (trunk && trunk <= s->npages && !s->is_free[trunk] && hops++ < s->npages) {
		if (!salv_page(s, trunk, s->ovf))
			return;
		s->is_free[trunk] = 1;
		leaves = be32(s->ovf + 4);
		if (leaves > s->usable / 4 - 2)
			return;
		for (uint32_t i = 0; i < leaves; i++) {
			uint32_t p = be32(s->ovf + 8 + 4 * i);

			if (p && p <= s->npages)
				s->is_free[p] = 1;
		}
		trunk = be32(s->ovf);
	}
}

int sl_spool__salvage(const char *db_path, const char *wal_path,
		      int (*cb)(const struct spool_salvage_row *row, void *ctx), void *ctx,
		      struct spool_salvage_stats *st)
{
	struct salv s = { .cb = cb, .ctx = ctx };
	uint8_t fh[WAL_FRAME_HDR];
	uint32_t reserved = 0;
	int rc;

	s.w.fd = -1;
	rc = db_open(&s.d, db_path);
	if (rc < 0)
		goto out;
	rc = wal_open(&s.w, wal_path);
	if (rc < 0)
		goto out;
	s.ps = s.w.valid ? s.w.page_size : s.d.page_size ? s.d.page_size : 4096;
	if (s.d.page_size && s.d.page_size != s.ps)
		s.d.size = 0; /* a database of another page size is no use with this WAL */
	s.npages = (uint32_t)(s.d.size / s.ps);
	if (s.w.valid && s.w.db_pages > s.npages)
		s.npages = s.w.db_pages;
	if (s.w.valid && s.w.extra_max_page > s.npages)
		s.npages = s.w.extra_max_page;
	s.frame_of = calloc((size_t)s.npages + 1, sizeof(*s.frame_of));
	s.is_free = calloc((size_t)s.npages + 1, 1);
	s.pg = malloc(s.ps);
	s.ovf = malloc(s.ps);
	s.rec = malloc(RECORD_MAX);
	if (!s.frame_of || !s.is_free || !s.pg || !s.ovf || !s.rec) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; s.w.valid && i < s.w.last_commit; i++) {
		uint32_t pg;

		rc = pread_all(s.w.fd, fh, sizeof(fh), wal_frame_off(&s.w, i));
		if (rc < 0)
			goto out;
		pg = be32(fh);
		if (pg && pg <= s.npages)
			s.frame_of[pg] = (uint32_t)i + 1;
		s.st.wal_frames++;
	}
	s.st.wal_frames_bad = s.w.frames_bad;
	/* the usable size: page size minus the reserved bytes of the header */
	if (salv_page(&s, 1, s.pg) && !memcmp(s.pg, "SQLite format 3", 16) && s.pg[20] < 64)
		reserved = s.pg[20];
	s.usable = s.ps - reserved;
	salv_freelist(&s);

	for (uint32_t p = 1; p <= s.npages; p++) {
		if (s.is_free[p] || !salv_page(&s, p, s.pg))
			continue;
		s.st.pages++;
		rc = salv_leaf(&s, s.pg, p);
		if (rc < 0)
			goto out;
	}
	/* transactions after a break in the WAL chain */
	for (size_t j = s.w.chain_end; s.w.valid && j < s.w.extra_end; j++) {
		if (!s.w.extra_ok[j])
			continue;
		rc = pread_all(s.w.fd, fh, sizeof(fh), wal_frame_off(&s.w, j));
		if (rc == 0)
			rc = pread_all(s.w.fd, s.pg, s.ps, wal_frame_off(&s.w, j) + WAL_FRAME_HDR);
		if (rc < 0)
			goto out;
		s.st.pages++;
		s.st.wal_frames++;
		rc = salv_leaf(&s, s.pg, be32(fh));
		if (rc < 0)
			goto out;
	}
	rc = 0;
out:
	if (st)
		*st = s.st;
	free(s.rec);
	free(s.ovf);
	free(s.pg);
	free(s.is_free);
	free(s.frame_of);
	wal_close(&s.w);
	db_close(&s.d);
	return rc;
}

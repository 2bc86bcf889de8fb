/*
 * NAME
 *	store_mbox_view - sessions' views of a folder, APPEND and COPY
 * DESCRIPTION
 *	A view is the sequence map of one session (RFC 3501 2.3.1.2): it
 *	changes only through the session's own EXPUNGE, or in mbox_sync(),
 *	which compares it with the shared folder state and reports what
 *	other sessions changed. \Recent goes to the first writable view that
 *	sees a message. APPEND and COPY are durable before they return
 *	(COPY at mbox_copy_commit()), or with mbox_defer_sync() on, written
 *	for the caller's group commit to make durable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "sbuf.h"
#include "store_mbox_int.h"

#define READ_CHUNK 65536

static void view_push(struct mbox *m, const struct fmsg *e, int recent)
{
	struct mbox_msg *x;

	if (m->n == m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 64;

		x = realloc(m->msgs, nc * sizeof(*x));
		if (x == NULL)
			log_fatal("out of memory");
		m->msgs = x;
		m->cap = nc;
	}
	x = &m->msgs[m->n++];
	x->uid = e->uid;
	x->flags = e->flags | (recent ? MBOX_RECENT : 0);
	x->keywords = e->keywords;
	x->size = e->size;
	x->internaldate = e->date;
	x->modseq = e->modseq;
}

/* Add the folder's messages above the view's last UID; count them. */
static uint32_t take_new(struct mbox *m)
{
	struct folder *f = m->f;
	uint32_t last = m->n ? m->msgs[m->n - 1].uid : 0, added = 0;
	size_t i;

	for (i = 0; i < f->n; i++) {
		struct fmsg *e = &f->m[i];

		if (e->uid <= last)
			continue;
		view_push(m, e, e->recent);
		if (!m->readonly)
			e->recent = 0;
		added++;
	}
	return added;
}

struct mbox *mbox_open(struct mbox_store *st, const char *user,
		       const char *name, int readonly, char *err,
		       size_t errlen)
{
	struct folder *f;
	struct mbox *m;
	int missing;

	f = mb_folder_get(st, user, name, &missing, err, errlen);
	if (f == NULL)
		return NULL;
	if (mb_folder_refresh(f) < 0) {
		snprintf(err, errlen, "cannot read the mailbox");
		mb_folder_put(f);
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		log_fatal("out of memory");
	m->f = f;
	m->readonly = readonly;
	if (!readonly)
		mb_folder_claim(f);
	take_new(m);
	m->gen = f->gen;
	m->next = f->views;
	f->views = m;
	return m;
}

void mbox_close(struct mbox **mp)
{
	struct mbox *m = *mp, **pp;

	if (m == NULL)
		return;
	mbox_copy_commit(m);
	for (pp = &m->f->views; *pp; pp = &(*pp)->next)
		if (*pp == m) {
			*pp = m->next;
			break;
		}
	mb_folder_put(m->f);
	free(m->copies);
	free(m->msgs);
	free(m);
	*mp = NULL;
}

uint32_t mbox_count(const struct mbox *m)
{
	return m->n;
}

uint32_t mbox_recent(const struct mbox *m)
{
	uint32_t i, r = 0;

	for (i = 0; i < m->n; i++)
		if (m->msgs[i].flags & MBOX_RECENT)
			r++;
	return r;
}

uint32_t mbox_uidvalidity(const struct mbox *m)
{
	return m->f->uidvalidity;
}

uint32_t mbox_uidnext(const struct mbox *m)
{
	uint32_t next = m->f->uidnext;

	/* never below what the session has seen */
	if (m->n && m->msgs[m->n - 1].uid >= next)
		next = m->msgs[m->n - 1].uid + 1;
	return next;
}

const struct mbox_msg *mbox_get(const struct mbox *m, uint32_t seq)
{
	if (seq == 0 || seq > m->n)
		return NULL;
	return &m->msgs[seq - 1];
}

uint32_t mbox_seq(const struct mbox *m, uint32_t uid)
{
	uint32_t lo = 0, hi = m->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (m->msgs[mid].uid == uid)
			return mid + 1;
		if (m->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* The shared entry of the view's message seq, or NULL when expunged. */
static struct fmsg *entry_of(struct mbox *m, uint32_t seq)
{
	long i;

	if (seq == 0 || seq > m->n)
		return NULL;
	i = mb_folder_index(m->f, m->msgs[seq - 1].uid);
	return i < 0 ? NULL : &m->f->m[i];
}

static int read_file(const char *path, struct sbuf *out)
{
	char buf[READ_CHUNK];
	size_t before = out->len;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -1;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		if (sbuf_append(out, buf, (size_t)r) < 0)
			break;
	close(fd);
	if (r != 0) {
		out->len = before;
		if (out->data)
			out->data[before] = '\0';
		return -1;
	}
	return 0;
}

int mbox_read(struct mbox *m, uint32_t seq, struct sbuf *out)
{
	char path[MB_PATH + 300];
	struct fmsg *e;
	int tries;

	if (m->f->st->pg)
		return (e = entry_of(m, seq)) == NULL ? -1
						      : mbpg_read(m->f, e, out);
	for (tries = 0; tries < 2; tries++) {
		if ((e = entry_of(m, seq)) == NULL ||
		    mb_msg_path(m->f, e, path, sizeof(path)) < 0)
			return -1;
		if (read_file(path, out) == 0)
			return 0;
		if (errno != ENOENT || m->f->gone)
			return -1;
		/* renamed behind our back: look again */
		m->f->stale = 1;
		if (mb_folder_refresh(m->f) < 0)
			return -1;
	}
	return -1;
}

const char *mbox_keyword(const struct mbox *m, unsigned i)
{
	return i < m->f->nkw ? m->f->kw[i] : NULL;
}

int mbox_keyword_index(struct mbox *m, const char *name, int create)
{
	return mb_keyword_index(m->f, name, create && !m->readonly);
}

/* Flags and keywords of e after op. */
static void apply_op(const struct folder *f, const struct fmsg *e,
		     enum mbox_flag_op op, unsigned *flags, uint32_t *kw)
{
	unsigned fl = *flags & (MBOX_SEEN | MBOX_ANSWERED | MBOX_FLAGGED |
				MBOX_DELETED | MBOX_DRAFT);
	uint32_t k = *kw;

	if (f->nkw < 32)
		k &= (1u << f->nkw) - 1;
	if (op == MBOX_FLAGS_ADD) {
		fl |= e->flags;
		k |= e->keywords;
	} else if (op == MBOX_FLAGS_REMOVE) {
		fl = e->flags & ~fl;
		k = e->keywords & ~k;
	}
	*flags = fl;
	*kw = k;
}

int mbox_update_flags(struct mbox *m, uint32_t seq, enum mbox_flag_op op,
		      unsigned flags, uint32_t keywords)
{
	return mbox_update_flags_if(m, seq, op, flags, keywords, 0);
}

/* mbox_update_flags_if in the database: from the state we have, and
 * when another box changed the message meanwhile (its mod-sequence
 * moved), from the state it has now. */
static int pg_update_flags(struct mbox *m, uint32_t seq, enum mbox_flag_op op,
			   unsigned flags, uint32_t keywords,
			   uint64_t unchangedsince)
{
	struct fmsg *e;
	unsigned nf = 0;
	uint32_t nk = 0;
	int tries, rc = 1;

	for (tries = 0; tries < 3 && rc > 0; tries++) {
		if ((tries > 0 && mb_folder_refresh(m->f) < 0) ||
		    (e = entry_of(m, seq)) == NULL)
			return -1;
		if (unchangedsince && e->modseq > unchangedsince)
			return -2;
		nf = flags;
		nk = keywords;
		apply_op(m->f, e, op, &nf, &nk);
		if (nf == e->flags && nk == e->keywords)
			rc = 0;
		else if ((rc = mbpg_set_flags(m->f, e, nf, nk)) == 0)
			mb_notify(m->f, m);
	}
	if (rc != 0)
		return -1;
	m->msgs[seq - 1].flags = nf | (m->msgs[seq - 1].flags & MBOX_RECENT);
	m->msgs[seq - 1].keywords = nk;
	m->msgs[seq - 1].modseq = e->modseq;
	return 0;
}

int mbox_update_flags_if(struct mbox *m, uint32_t seq, enum mbox_flag_op op,
			 unsigned flags, uint32_t keywords,
			 uint64_t unchangedsince)
{
	char from[MB_PATH + 300], to[MB_PATH + 300];
	struct fmsg *e;
	unsigned nf;
	uint32_t nk;
	int tries;

	if (m->readonly)
		return -1;
	if (m->f->st->pg)
		return pg_update_flags(m, seq, op, flags, keywords,
				       unchangedsince);
	/* the flags live in the file name: start from the name as it is
	 * now, and when another process renamed it under us, look again */
	for (tries = 0;; tries++) {
		if (mb_folder_refresh(m->f) < 0 ||
		    (e = entry_of(m, seq)) == NULL)
			return -1;
		/* RFC 7162 3.1.3: changed since the client looked */
		if (unchangedsince && e->modseq > unchangedsince)
			return -2;
		nf = flags;
		nk = keywords;
		apply_op(m->f, e, op, &nf, &nk);
		if (nf == e->flags && nk == e->keywords && !e->innew)
			break;
		if (mb_msg_path(m->f, e, from, sizeof(from)) < 0 ||
		    mb_msg_path_as(m->f, e->base, nf, nk, to, sizeof(to)) < 0)
			return -1;
		if (rename(from, to) == 0) {
			e->flags = nf;
			e->keywords = nk;
			e->innew = 0;
			mb_folder_modified(m->f, e);
			m->f->gen++;
			mb_folder_touch(m->f);
			mb_notify(m->f, m);
			break;
		}
		m->f->stale = 1;
		if (errno != ENOENT || tries > 0)
			return -1;
	}
	m->msgs[seq - 1].flags = nf | (m->msgs[seq - 1].flags & MBOX_RECENT);
	m->msgs[seq - 1].keywords = nk;
	m->msgs[seq - 1].modseq = e->modseq;
	return 0;
}

int mbox_commit(struct mbox *m)
{
	/* the database has the changes: take their mod-sequences (and
	 * what other boxes did) into HIGHESTMODSEQ */
	if (m->f->st->pg)
		return mb_folder_refresh(m->f);
	return mb_folder_save(m->f);
}

uint64_t mbox_highestmodseq(const struct mbox *m)
{
	return m->f->highestmodseq;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int mbox_vanished(const struct mbox *m, uint64_t since, uint32_t **uids,
		  size_t *n)
{
	const struct folder *f = m->f;
	size_t i, k = 0;
	uint32_t *u;

	*uids = NULL;
	*n = 0;
	if (since < f->vanished_floor)
		return -1;
	if (f->nvanished == 0)
		return 0;
	u = malloc(f->nvanished * sizeof(*u));
	if (u == NULL)
		log_fatal("out of memory");
	for (i = 0; i < f->nvanished; i++)
		if (f->vanished[i].modseq > since &&
		    mbox_seq(m, f->vanished[i].uid) == 0)
			u[k++] = f->vanished[i].uid;
	if (k > 1)
		qsort(u, k, sizeof(*u), cmp_u32);
	for (i = 0, *n = 0; i < k; i++)
		if (*n == 0 || u[*n - 1] != u[i])
			u[(*n)++] = u[i];
	if (*n == 0) {
		free(u);
		u = NULL;
	}
	*uids = u;
	return 0;
}

int mbox_set_flags(struct mbox *m, uint32_t seq, unsigned flags,
		   uint32_t keywords)
{
	return mbox_update_flags(m, seq, MBOX_FLAGS_REPLACE, flags, keywords);
}

int mbox_expunge(struct mbox *m, uint32_t seq)
{
	char path[MB_PATH + 300];
	struct fmsg *e;

	if (m->readonly || seq == 0 || seq > m->n)
		return -1;
	if ((e = entry_of(m, seq)) != NULL && m->f->st->pg) {
		if (mbpg_expunge(m->f, (size_t)(e - m->f->m)) < 0)
			return -1;
		mb_notify(m->f, m);
	} else if (e != NULL) {
		if (mb_msg_path(m->f, e, path, sizeof(path)) < 0 ||
		    (unlink(path) < 0 && errno != ENOENT))
			return -1;
		mb_usage_add(m->f->st, m->f->user, -e->size);
		mb_folder_remove(m->f, (size_t)(e - m->f->m));
		mb_folder_touch(m->f);
		mb_notify(m->f, m);
	}
	memmove(&m->msgs[seq - 1], &m->msgs[seq],
		(m->n - seq) * sizeof(m->msgs[0]));
	m->n--;
	return 0;
}

int mbox_sync(struct mbox *m, const struct mbox_events *ev, void *arg)
{
	struct folder *f = m->f;
	uint32_t i, k, added;
	size_t j;
	int rc;

	rc = mb_folder_refresh(f);
	if (!m->readonly)
		mb_folder_claim(f);
	/* what is reported is durable first (mod-sequences included) */
	if (mb_folder_save(f) < 0)
		rc = -1;
	if (f->gen == m->gen)
		return rc;
	/* expunged by others: highest first, numbers as the session knew */
	for (i = m->n; i > 0; i--) {
		uint32_t uid = m->msgs[i - 1].uid;

		if (mb_folder_index(f, uid) >= 0)
			continue;
		memmove(&m->msgs[i - 1], &m->msgs[i],
			(m->n - i) * sizeof(m->msgs[0]));
		m->n--;
		if (ev && ev->expunged)
			ev->expunged(arg, i, uid);
	}
	/* flags changed by others (a merge walk: both sorted by UID) */
	for (i = 0, j = 0; i < m->n; i++) {
		struct mbox_msg *v = &m->msgs[i];

		while (j < f->n && f->m[j].uid < v->uid)
			j++;
		if (j == f->n)
			break;
		if ((v->flags & ~MBOX_RECENT) == f->m[j].flags &&
		    v->keywords == f->m[j].keywords &&
		    v->modseq == f->m[j].modseq)
			continue;
		v->flags = f->m[j].flags | (v->flags & MBOX_RECENT);
		v->keywords = f->m[j].keywords;
		v->modseq = f->m[j].modseq;
		if (ev && ev->flags)
			ev->flags(arg, i + 1);
	}
	added = take_new(m);
	m->gen = f->gen;
	if (added && ev && ev->exists)
		ev->exists(arg, m->n);
	if (added && ev && ev->recent) {
		k = mbox_recent(m);
		ev->recent(arg, k);
	}
	return rc;
}

void mbox_watch(struct mbox *m, void (*cb)(void *arg), void *arg)
{
	m->watch = cb;
	m->watch_arg = cb ? arg : NULL;
	if (cb == NULL)
		m->poked = 0;
}

void mbox_changed(struct mbox_store *st, const char *user, const char *name)
{
	struct folder *f = mb_folder_find(st, user, name);

	if (f == NULL) {
		/* not loaded, so nobody watches it; NOTIFY may still ask */
		if (st->on_change)
			st->on_change(st->on_change_arg, user, name);
		return;
	}
	f->stale = 1;
	mb_notify(f, NULL);
}

int mbox_status(struct mbox_store *st, const char *user, const char *name,
		struct mbox_status *out)
{
	struct folder *f;
	char err[128];
	size_t i;
	int missing;

	f = mb_folder_get(st, user, name, &missing, err, sizeof(err));
	if (f == NULL)
		return -1;
	mb_folder_refresh(f);
	memset(out, 0, sizeof(*out));
	out->messages = (uint32_t)f->n;
	out->uidnext = f->uidnext;
	out->uidvalidity = f->uidvalidity;
	out->highestmodseq = f->highestmodseq;
	for (i = 0; i < f->n; i++) {
		if (f->m[i].recent)
			out->recent++;
		if (!(f->m[i].flags & MBOX_SEEN))
			out->unseen++;
		if (f->m[i].flags & MBOX_DELETED)
			out->deleted++;
		out->size += f->m[i].size;
	}
	mb_folder_put(f);
	return 0;
}

/* Write data to tmp/base of f, durably (or counted for the group
 * commit: mb_defer), with mtime date. 0 or -1. */
static int write_tmp(struct folder *f, const char *base, const char *data,
		     size_t len, time_t date, char *tmp, size_t tmplen)
{
	struct timespec ts[2];
	int fd, ok;

	if ((size_t)snprintf(tmp, tmplen, "%s/tmp/%s", f->path, base) >=
	    tmplen)
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	ok = durable_write_all(fd, data, len) == 0;
	if (ok && date > 0) {
		ts[0].tv_sec = ts[1].tv_sec = date;
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
		futimens(fd, ts);
	}
	if (!ok || (!mb_defer(f->st) && fsync(fd) < 0)) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Keyword bits of names in f, creating the new ones: 0, or -1 when they
 * do not all fit (then none is created). */
static int keyword_bits(struct folder *f, const char *const *kws, size_t n,
			uint32_t *kw)
{
	size_t i, j, fresh = 0;
	int k;

	*kw = 0;
	for (i = 0; i < n; i++) {
		if (mb_keyword_index(f, kws[i], 0) >= 0)
			continue;
		for (j = 0; j < i && strcasecmp(kws[j], kws[i]) != 0; j++)
			;
		fresh += j == i;
	}
	if (f->nkw + fresh > MBOX_MAX_KEYWORDS)
		return -1;
	for (i = 0; i < n; i++) {
		if ((k = mb_keyword_index(f, kws[i], 1)) < 0)
			return -1;
		*kw |= 1u << k;
	}
	return 0;
}

int mbox_append(struct mbox_store *st, const char *user, const char *name,
		const char *data, size_t len, unsigned flags, time_t date,
		uint32_t *uidvalidity_r, uint32_t *uid_r, char *err,
		size_t errlen)
{
	return mbox_append_kw(st, user, name, data, len, flags, NULL, 0, date,
			      uidvalidity_r, uid_r, err, errlen);
}

int mbox_append_kw(struct mbox_store *st, const char *user, const char *name,
		   const char *data, size_t len, unsigned flags,
		   const char *const *kws, size_t nkws, time_t date,
		   uint32_t *uidvalidity_r, uint32_t *uid_r, char *err,
		   size_t errlen)
{
	char base[128], tmp[MB_PATH + 300], dst[MB_PATH + 300];
	struct folder *f;
	uint32_t uid, kw;
	int missing;

	f = mb_folder_get(st, user, name, &missing, err, errlen);
	if (f == NULL)
		return missing ? -2 : -1;
	mb_folder_refresh(f);
	if (keyword_bits(f, kws, nkws, &kw) < 0) {
		snprintf(err, errlen, "[LIMIT] Too many keywords");
		mb_folder_put(f);
		return -1;
	}
	flags &= ~MBOX_RECENT;
	if (date <= 0)
		date = time(NULL);
	if (st->pg) {
		if (mbpg_append(f, data, len, flags, kw, date, &uid, err,
				errlen) < 0) {
			mb_folder_put(f);
			return -1;
		}
		*uidvalidity_r = f->uidvalidity;
		*uid_r = uid;
		mb_notify(f, NULL);
		mb_folder_put(f);
		return 0;
	}
	mb_unique(st, base, sizeof(base));
	if (write_tmp(f, base, data, len, date, tmp, sizeof(tmp)) < 0 ||
	    mb_msg_path_as(f, base, flags, kw, dst, sizeof(dst)) < 0 ||
	    rename(tmp, dst) < 0) {
		snprintf(err, errlen, "cannot write the message: %s",
			 strerror(errno));
		unlink(tmp);
		mb_folder_put(f);
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s/cur", f->path);
	uid = mb_folder_add(f, base, flags, kw, (long long)len, date, 1);
	if (mb_sync_dir(st, tmp) < 0 || mb_folder_save(f) < 0) {
		snprintf(err, errlen, "cannot make the message durable");
		mb_folder_remove(f, f->n - 1);
		unlink(dst);
		mb_folder_put(f);
		return -1;
	}
	mb_folder_touch(f);
	*uidvalidity_r = f->uidvalidity;
	*uid_r = uid;
	mb_usage_add(st, user, (long long)len);
	mb_notify(f, NULL);
	mb_folder_put(f);
	return 0;
}

int mbox_remove_uid(struct mbox_store *st, const char *user,
		    const char *name, uint32_t uid)
{
	char path[MB_PATH + 300], err[128];
	struct folder *f;
	long i;
	int missing, rc = -1;

	f = mb_folder_get(st, user, name, &missing, err, sizeof(err));
	if (f == NULL)
		return -1;
	if (st->pg) {
		mb_folder_refresh(f);
		if ((i = mb_folder_index(f, uid)) >= 0 &&
		    (rc = mbpg_expunge(f, (size_t)i)) == 0)
			mb_notify(f, NULL);
	} else if ((i = mb_folder_index(f, uid)) >= 0 &&
	    mb_msg_path(f, &f->m[i], path, sizeof(path)) == 0 &&
	    (unlink(path) == 0 || errno == ENOENT)) {
		mb_usage_add(st, user, -f->m[i].size);
		mb_folder_remove(f, (size_t)i);
		mb_folder_touch(f);
		mb_notify(f, NULL);
		rc = mb_folder_save(f);
	}
	mb_folder_put(f);
	return rc;
}

/* Copy src to tmp/base of dest by bytes (link() refused). 0 or -1. */
static int copy_bytes(struct folder *dest, const char *src, const char *base,
		      time_t date, char *tmp, size_t tmplen)
{
	struct sbuf b;
	int rc;

	sbuf_init(&b, (size_t)1 << 31);
	rc = read_file(src, &b);
	if (rc == 0)
		rc = write_tmp(dest, base, b.data ? b.data : "", b.len, date,
			       tmp, tmplen);
	sbuf_free(&b);
	return rc;
}

int mbox_copy(struct mbox *m, uint32_t seq, const char *dest,
	      uint32_t *uidvalidity_r, uint32_t *uid_r)
{
	char src[MB_PATH + 300], dst[MB_PATH + 300], tmp[MB_PATH + 300];
	char base[128], err[128];
	struct folder *d = NULL, **c;
	struct fmsg *e, snap;
	uint32_t kw = 0;
	size_t i;
	int missing, k;

	if ((e = entry_of(m, seq)) == NULL)
		return -1;
	/* d may be this folder, and reading the database again moves its
	 * entries: work from a copy of this one */
	snap = *e;
	if (m->f->st->pg)
		e = &snap;
	for (i = 0; i < m->ncopies; i++)
		if (mb_folder_find(m->f->st, m->f->user, dest) ==
		    m->copies[i])
			d = m->copies[i];
	if (d == NULL) {
		d = mb_folder_get(m->f->st, m->f->user, dest, &missing, err,
				  sizeof(err));
		if (d == NULL)
			return missing ? -2 : -1;
		c = realloc(m->copies, (m->ncopies + 1) * sizeof(*c));
		if (c == NULL)
			log_fatal("out of memory");
		m->copies = c;
		m->copies[m->ncopies++] = d;
		mb_folder_refresh(d);
	}
	/* keywords travel by name */
	for (i = 0; i < m->f->nkw; i++)
		if ((e->keywords & (1u << i)) &&
		    (k = mb_keyword_index(d, m->f->kw[i], 1)) >= 0)
			kw |= 1u << k;
	if (m->f->st->pg) {
		if (mbpg_copy(m->f, e, d, kw, uid_r) < 0)
			return -1;
		*uidvalidity_r = d->uidvalidity;
		m->copied += e->size;
		return 0;
	}
	mb_unique(m->f->st, base, sizeof(base));
	if (mb_msg_path(m->f, e, src, sizeof(src)) < 0 ||
	    mb_msg_path_as(d, base, e->flags, kw, dst, sizeof(dst)) < 0)
		return -1;
	if (link(src, dst) < 0) {
		if (copy_bytes(d, src, base, e->date, tmp, sizeof(tmp)) < 0 ||
		    rename(tmp, dst) < 0) {
			unlink(tmp);
			return -1;
		}
	}
	*uidvalidity_r = d->uidvalidity;
	*uid_r = mb_folder_add(d, base, e->flags, kw, e->size, e->date, 1);
	m->copied += e->size;
	return 0;
}

int mbox_copy_commit(struct mbox *m)
{
	char cur[MB_PATH + 8];
	size_t i;
	int rc = 0;

	for (i = 0; i < m->ncopies; i++) {
		struct folder *d = m->copies[i];

		snprintf(cur, sizeof(cur), "%s/cur", d->path);
		if (!d->st->pg &&
		    (mb_sync_dir(d->st, cur) < 0 || mb_folder_save(d) < 0))
			rc = -1;
		mb_folder_touch(d);
		mb_notify(d, NULL);
		mb_folder_put(d);
	}
	if (m->ncopies > 0)
		mb_usage_add(m->f->st, m->f->user, m->copied);
	m->ncopies = 0;
	m->copied = 0;
	return rc;
}

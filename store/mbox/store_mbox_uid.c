/*
 * NAME
 *	store_mbox_uid - the shared state of a folder: UID list and scans
 * DESCRIPTION
 *	Each folder directory holds "sluice-uidlist":
 *
 *		SLUICE-UIDLIST 2 <uidvalidity> <uidnext> <highestmodseq>
 *			<vanished-floor>	(one line)
 *		K <keyword>		(0 to 26 lines, index = order)
 *		<uid> <base> <modseq> <info>	(ascending UIDs)
 *		X <uid> <modseq>	(expunged, for QRESYNC)
 *		M <uid> <modseq> <info>	(a flag change, appended)
 *
 *	where info is the message's flags as the Maildir writes them ("-"
 *	for none). The list is rewritten atomically (tmp, fsync, rename,
 *	fsync of the directory) when messages went or keywords came, and
 *	appended to (fdatasync) for new messages and flag changes, before
 *	a new UID or mod-sequence (RFC 7162) is shown to anyone; for IMAP
 *	commands (mbox_defer_sync) the syncs are left to the group commit
 *	that answers them. A file
 *	whose flags differ from the last ones the list recorded for it was
 *	changed by a crash between rename and record, or by another
 *	program: it gets a new mod-sequence on load, so no change is ever
 *	hidden from a client that resynchronizes. Version 1 lists (no
 *	mod-sequences) are read and written again as version 2.
 *
 *	The file is validated when it is read; a truncated or hostile one
 *	is replaced by a fresh list with a new UIDVALIDITY (RFC 3501
 *	2.3.1.1 allows exactly that). Files in cur/ or new/ that the list
 *	does not name get the next UIDs, in arrival order; names in the
 *	list without a file are dropped (and remembered as expunged).
 *	Trusts the Maildir only as far as its names are checked.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evloop.h"
#include "limits_rfc.h"
#include "log.h"
#include "sbuf.h"
#include "store_mbox_int.h"

#define LIST_MAX (64u << 20)	/* a longer UID list is broken */
/* A list that claims more is broken: UIDs never wrap (RFC 3501 2.3.1.1). */
#define MB_UIDNEXT_MAX (1u << 31)
/* RFC 7162 3: mod-sequences are positive 63-bit numbers. */
#define MB_MODSEQ_MAX ((1ull << 63) - 1)
/* "M" lines the list may collect before it is rewritten whole. */
#define MB_LOG_SLACK 1024

/* "SDFRT" order does not matter to us; Maildir wants ASCII order. */
static const struct {
	char c;
	unsigned flag;
} info_flags[] = {
	{'D', MBOX_DRAFT}, {'F', MBOX_FLAGGED}, {'R', MBOX_ANSWERED},
	{'S', MBOX_SEEN}, {'T', MBOX_DELETED},
};

uint32_t mb_new_uidvalidity(struct mbox_store *st, const char *user)
{
	char md[MB_PATH], path[MB_PATH + 32], tmp[MB_PATH + 64], buf[32];
	unsigned long long last = 0;
	uint32_t v = (uint32_t)time(NULL);
	ssize_t r;
	int fd, have;

	/* the user's last one is kept beside the folders, so a list that
	 * is rebuilt, or a folder made again, never repeats a value */
	have = mbox_user_path(st->root, user, md, sizeof(md)) == 0;
	if (have) {
		snprintf(path, sizeof(path), "%s/" MB_UIDV_NAME, md);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0) {
			r = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			buf[r > 0 ? r : 0] = '\0';
			last = strtoull(buf, NULL, 10);
		}
		if (last >= v && last < UINT32_MAX - 1)
			v = (uint32_t)last + 1;
	}
	if (v <= st->last_uidvalidity)
		v = st->last_uidvalidity + 1;
	if (v == 0)
		v = 1;
	st->last_uidvalidity = v;
	if (have) {
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		snprintf(buf, sizeof(buf), "%u\n", v);
		(void)durable_replace_file(path, tmp, 0600, buf, strlen(buf));
	}
	return v;
}

int mb_valid_base(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > MB_BASE_MAX || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == '/' ||
		    s[i] == ':')
			return 0;
	return 1;
}

/* RFC 3501 flag-keyword = atom (no atom-specials). */
static int valid_keyword(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > MB_KEYWORD_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f ||
		    strchr("(){%*\"\\]", s[i]) != NULL)
			return 0;
	return 1;
}

static void info_string(unsigned flags, uint32_t kw, char *out)
{
	size_t i, k = 0;

	for (i = 0; i < sizeof(info_flags) / sizeof(info_flags[0]); i++)
		if (flags & info_flags[i].flag)
			out[k++] = info_flags[i].c;
	for (i = 0; i < MBOX_MAX_KEYWORDS; i++)
		if (kw & (1u << i))
			out[k++] = (char)('a' + i);
	out[k] = '\0';
}

void mb_info_parse(const char *info, unsigned nkw, unsigned *flags,
		   uint32_t *kw)
{
	size_t i;

	*flags = 0;
	*kw = 0;
	for (; *info; info++) {
		if (*info >= 'a' && *info <= 'z') {
			if ((unsigned)(*info - 'a') < nkw)
				*kw |= 1u << (*info - 'a');
			continue;
		}
		for (i = 0; i < sizeof(info_flags) / sizeof(info_flags[0]); i++)
			if (*info == info_flags[i].c)
				*flags |= info_flags[i].flag;
	}
}

int mb_msg_path_as(const struct folder *f, const char *base, unsigned flags,
		   uint32_t keywords, char *out, size_t len)
{
	char info[40];

	info_string(flags, keywords, info);
	return (size_t)snprintf(out, len, "%s/cur/%s:2,%s", f->path, base,
				info) >= len ? -1 : 0;
}

int mb_msg_path(const struct folder *f, const struct fmsg *e, char *out,
		size_t len)
{
	if (e->innew)
		return (size_t)snprintf(out, len, "%s/new/%s", f->path,
					e->base) >= len ? -1 : 0;
	return mb_msg_path_as(f, e->base, e->flags, e->keywords, out, len);
}

long mb_folder_index(const struct folder *f, uint32_t uid)
{
	size_t lo = 0, hi = f->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (f->m[mid].uid == uid)
			return (long)mid;
		if (f->m[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Remember uid as expunged at the next mod-sequence; forget the oldest
 * half when there are too many (LIM_IMAP_VANISHED). */
void mb_vanished_add(struct folder *f, uint32_t uid, uint64_t modseq)
{
	struct fgone *v;
	size_t half;

	if (f->nvanished >= LIM_IMAP_VANISHED) {
		half = f->nvanished / 2;
		f->vanished_floor = f->vanished[half - 1].modseq;
		memmove(f->vanished, f->vanished + half,
			(f->nvanished - half) * sizeof(*v));
		f->nvanished -= half;
	}
	if (f->nvanished == f->vanishedcap) {
		size_t nc = f->vanishedcap ? f->vanishedcap * 2 : 64;

		v = realloc(f->vanished, nc * sizeof(*v));
		if (v == NULL)
			log_fatal("out of memory");
		f->vanished = v;
		f->vanishedcap = nc;
	}
	f->vanished[f->nvanished].uid = uid;
	f->vanished[f->nvanished++].modseq = modseq;
}

static uint64_t next_modseq(struct folder *f)
{
	if (f->highestmodseq < MB_MODSEQ_MAX)
		f->highestmodseq++;
	return f->highestmodseq;
}

void mb_folder_expunged(struct folder *f, uint32_t uid)
{
	mb_vanished_add(f, uid, next_modseq(f));
}

void mb_folder_modified(struct folder *f, struct fmsg *e)
{
	char line[80], info[40];
	size_t n;

	e->modseq = next_modseq(f);
	info_string(e->flags, e->keywords, info);
	n = (size_t)snprintf(line, sizeof(line), "M %u %llu %s\n", e->uid,
			     (unsigned long long)e->modseq,
			     info[0] ? info : "-");
	if (f->loglen + n >= f->logcap) {
		size_t nc = f->logcap ? f->logcap * 2 : 1024;
		char *x;

		while (nc < f->loglen + n + 1)
			nc *= 2;
		if ((x = realloc(f->log, nc)) == NULL)
			log_fatal("out of memory");
		f->log = x;
		f->logcap = nc;
	}
	memcpy(f->log + f->loglen, line, n);
	f->loglen += n;
}

void mb_folder_remove(struct folder *f, size_t i)
{
	mb_folder_remove_at(f, i, next_modseq(f));
}

void mb_folder_remove_at(struct folder *f, size_t i, uint64_t modseq)
{
	if (modseq)
		mb_vanished_add(f, f->m[i].uid, modseq);
	free(f->m[i].base);
	memmove(&f->m[i], &f->m[i + 1], (f->n - i - 1) * sizeof(f->m[0]));
	f->n--;
	f->gen++;
	f->dirty = 1;
}

static int grow(struct folder *f)
{
	struct fmsg *m;
	size_t nc;

	if (f->n < f->cap)
		return 0;
	nc = f->cap ? f->cap * 2 : 64;
	m = realloc(f->m, nc * sizeof(*m));
	if (m == NULL)
		log_fatal("out of memory");
	f->m = m;
	f->cap = nc;
	return 0;
}

struct fmsg *mb_folder_insert(struct folder *f, uint32_t uid)
{
	size_t i = f->n;

	grow(f);
	while (i > 0 && f->m[i - 1].uid > uid)
		i--;
	memmove(&f->m[i + 1], &f->m[i], (f->n - i) * sizeof(f->m[0]));
	memset(&f->m[i], 0, sizeof(f->m[0]));
	f->m[i].uid = uid;
	f->n++;
	f->gen++;
	return &f->m[i];
}

uint32_t mb_folder_add(struct folder *f, const char *base, unsigned flags,
		       uint32_t keywords, long long size, time_t date,
		       int recent)
{
	struct fmsg *e;

	grow(f);
	e = &f->m[f->n];
	memset(e, 0, sizeof(*e));
	e->base = strdup(base);
	if (e->base == NULL)
		log_fatal("out of memory");
	e->uid = f->uidnext++;
	e->flags = flags & ~MBOX_RECENT;
	e->keywords = keywords;
	e->size = size;
	e->date = date;
	e->recent = (unsigned char)(recent != 0);
	e->modseq = next_modseq(f);
	f->n++;
	f->gen++;
	f->unsaved++;
	return e->uid;
}

/* ---- the list file ---- */

static int parse_u64(const char **p, uint64_t *out)
{
	unsigned long long v = 0;
	const char *s = *p;

	if (*s < '0' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9') {
		if (v > (MB_MODSEQ_MAX - (unsigned)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
		s++;
	}
	*out = v;
	*p = s;
	return 0;
}

static int parse_u32(const char **p, uint32_t *out)
{
	unsigned long long v = 0;
	const char *s = *p;

	if (*s < '0' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (unsigned)(*s - '0');
		if (v > UINT32_MAX)
			return -1;
		s++;
	}
	*out = (uint32_t)v;
	*p = s;
	return 0;
}

void mb_folder_clear(struct folder *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->m[i].base);
	f->n = 0;
	for (i = 0; i < f->nkw; i++)
		free(f->kw[i]);
	f->nkw = 0;
	f->unsaved = 0;
	free(f->vanished);
	f->vanished = NULL;
	f->nvanished = f->vanishedcap = 0;
	f->vanished_floor = 0;
	free(f->log);
	f->log = NULL;
	f->loglen = f->logcap = f->logged = 0;
	f->highestmodseq = 0;
}

static int cmp_pstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A base named twice makes the list broken. 0 or -1. */
static int unique_bases(const struct folder *f)
{
	char **v;
	size_t i;
	int rc = 0;

	if (f->n < 2)
		return 0;
	v = malloc(f->n * sizeof(*v));
	if (v == NULL)
		log_fatal("out of memory");
	for (i = 0; i < f->n; i++)
		v[i] = f->m[i].base;
	qsort(v, f->n, sizeof(*v), cmp_pstr);
	for (i = 1; i < f->n && rc == 0; i++)
		if (strcmp(v[i - 1], v[i]) == 0)
			rc = -1;
	free(v);
	return rc;
}

/* Flags and keywords of an info field of the list ("-" for none):
 * 0, or -1 when it has a letter the Maildir never writes. */
static int list_info(const struct folder *f, const char *info,
		     unsigned *flags, uint32_t *kw)
{
	const char *p;

	if (strcmp(info, "-") == 0) {
		*flags = 0;
		*kw = 0;
		return 0;
	}
	if (*info == '\0')
		return -1;
	for (p = info; *p; p++)
		if (strchr("DFRST", *p) == NULL &&
		    !(*p >= 'a' && *p < 'a' + (int)f->nkw))
			return -1;
	mb_info_parse(info, f->nkw, flags, kw);
	return 0;
}

static int by_modseq(const void *a, const void *b)
{
	const struct fgone *x = a, *y = b;

	return x->modseq < y->modseq ? -1 : x->modseq > y->modseq;
}

/* "M uid modseq info" (p after "M "): a flag change of a message the
 * list names (a later entry line carries the newest state itself). */
static int parse_mod(struct folder *f, const char *p)
{
	uint32_t uid;
	uint64_t ms;
	unsigned fl;
	uint32_t kw;
	long i;

	if (parse_u32(&p, &uid) < 0 || *p++ != ' ' ||
	    parse_u64(&p, &ms) < 0 || *p++ != ' ' || ms == 0 ||
	    list_info(f, p, &fl, &kw) < 0)
		return -1;
	if (ms > f->highestmodseq)
		f->highestmodseq = ms;
	f->logged++;
	i = mb_folder_index(f, uid);
	if (i >= 0 && ms > f->m[i].modseq) {
		f->m[i].modseq = ms;
		f->m[i].flags = fl;
		f->m[i].keywords = kw;
	}
	return 0;
}

/* "X uid modseq" (p after "X "). */
static int parse_gone(struct folder *f, const char *p)
{
	uint32_t uid;
	uint64_t ms;

	if (parse_u32(&p, &uid) < 0 || *p++ != ' ' ||
	    parse_u64(&p, &ms) < 0 || *p != '\0' || ms == 0 ||
	    uid == 0 || uid >= MB_UIDNEXT_MAX)
		return -1;
	if (ms > f->highestmodseq)
		f->highestmodseq = ms;
	mb_vanished_add(f, uid, ms);
	return 0;
}

/* "uid base" (version 1) or "uid base modseq info" (version 2). */
static int parse_entry(struct folder *f, const char *p, int version,
		       uint32_t *last)
{
	const char *sp;
	struct fmsg *e;
	uint32_t uid;
	uint64_t ms = 0;
	unsigned fl = 0;
	uint32_t kw = 0;
	size_t bl;

	/* lines appended after the header was written carry UIDs at or
	 * above its UIDNEXT */
	if (parse_u32(&p, &uid) < 0 || *p++ != ' ' || uid <= *last ||
	    uid >= MB_UIDNEXT_MAX)
		return -1;
	sp = version == 1 ? p + strlen(p) : strchr(p, ' ');
	if (sp == NULL)
		return -1;
	bl = (size_t)(sp - p);
	if (!mb_valid_base(p, bl))
		return -1;
	if (version > 1) {
		sp++;
		if (parse_u64(&sp, &ms) < 0 || *sp++ != ' ' || ms == 0 ||
		    list_info(f, sp, &fl, &kw) < 0)
			return -1;
		if (ms > f->highestmodseq)
			f->highestmodseq = ms;
	}
	if (uid >= f->uidnext)
		f->uidnext = uid + 1;
	grow(f);
	e = &f->m[f->n];
	memset(e, 0, sizeof(*e));
	e->uid = uid;
	e->base = strndup(p, bl);
	if (e->base == NULL)
		log_fatal("out of memory");
	/* version 1: modseq 0 = flags unknown, taken from the file */
	e->modseq = ms;
	e->flags = fl;
	e->keywords = kw;
	f->n++;
	*last = uid;
	return 0;
}

/* Parse the list in buf (NUL-terminated, len bytes). 0 or -1 (state
 * left for mb_folder_clear()). */
static int parse_list(struct folder *f, char *buf, size_t len)
{
	char *line = buf, *nl;
	const char *p;
	uint32_t last = 0;
	int version;

	if (memchr(buf, '\0', len) != NULL || len == 0)
		return -1;
	if (buf[len - 1] != '\n') {
		/* a line cut by a crash while it was appended: its UID or
		 * mod-sequence was never given out (that waits for the
		 * sync); drop it and write the list again */
		while (len > 0 && buf[len - 1] != '\n')
			buf[--len] = '\0';
		if (len == 0)
			return -1;
		f->dirty = 1;
	}
	nl = strchr(line, '\n');
	*nl = '\0';
	p = line;
	if (strncmp(p, "SLUICE-UIDLIST ", 15) != 0 ||
	    (p[15] != '1' && p[15] != '2') || p[16] != ' ')
		return -1;
	version = p[15] - '0';
	p += 17;
	if (parse_u32(&p, &f->uidvalidity) < 0 || *p++ != ' ' ||
	    parse_u32(&p, &f->uidnext) < 0 ||
	    f->uidvalidity == 0 || f->uidnext == 0 ||
	    f->uidnext > MB_UIDNEXT_MAX)
		return -1;
	if (version > 1 &&
	    (*p++ != ' ' || parse_u64(&p, &f->highestmodseq) < 0 ||
	     *p++ != ' ' || parse_u64(&p, &f->vanished_floor) < 0))
		return -1;
	if (*p != '\0')
		return -1;
	if (f->highestmodseq == 0)
		f->highestmodseq = 1;
	for (line = nl + 1; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		*nl = '\0';
		if (line[0] == 'K' && line[1] == ' ') {
			if (f->n > 0 || f->nkw == MBOX_MAX_KEYWORDS ||
			    !valid_keyword(line + 2) ||
			    mb_keyword_index(f, line + 2, 0) >= 0)
				return -1;
			f->kw[f->nkw] = strdup(line + 2);
			if (f->kw[f->nkw] == NULL)
				log_fatal("out of memory");
			f->nkw++;
			continue;
		}
		if (version > 1 && line[0] == 'M' && line[1] == ' ') {
			if (parse_mod(f, line + 2) < 0)
				return -1;
			continue;
		}
		if (version > 1 && line[0] == 'X' && line[1] == ' ') {
			if (parse_gone(f, line + 2) < 0)
				return -1;
			continue;
		}
		if (parse_entry(f, line, version, &last) < 0)
			return -1;
	}
	if (f->nvanished > 1)
		qsort(f->vanished, f->nvanished, sizeof(f->vanished[0]),
		      by_modseq);
	if (version == 1)
		f->dirty = 1;
	return unique_bases(f);
}

/* Read the list. 0 read, 1 missing, -1 broken. */
int mb_folder_read_list(struct folder *f)
{
	char path[MB_PATH + 32];
	struct stat sb;
	char *buf;
	ssize_t r;
	int fd, rc;

	snprintf(path, sizeof(path), "%s/" MB_LIST_NAME, f->path);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 1 : -1;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > (off_t)LIST_MAX) {
		close(fd);
		return -1;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (buf == NULL)
		log_fatal("out of memory");
	r = read(fd, buf, (size_t)sb.st_size);
	close(fd);
	if (r != (ssize_t)sb.st_size) {
		free(buf);
		return -1;
	}
	buf[r] = '\0';
	rc = parse_list(f, buf, (size_t)r);
	free(buf);
	return rc;
}

/* An entry line of the list for e. */
static int entry_line(struct sbuf *b, const struct fmsg *e)
{
	char info[40];

	info_string(e->flags, e->keywords, info);
	return sbuf_printf(b, "%u %s %llu %s\n", e->uid, e->base,
			   (unsigned long long)e->modseq, info[0] ? info : "-");
}

static size_t count_lines(const char *p, size_t n)
{
	size_t k = 0;

	while (n-- > 0)
		k += *p++ == '\n';
	return k;
}

/* Append the flag changes noted and the newest f->unsaved entries to
 * the list: one small write and one fdatasync instead of a rewrite.
 * 0 or -1. */
static int append_list(struct folder *f)
{
	char path[MB_PATH + 32];
	struct sbuf b;
	size_t i;
	int fd, rc = -1;

	snprintf(path, sizeof(path), "%s/" MB_LIST_NAME, f->path);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	sbuf_init(&b, (size_t)LIST_MAX);
	if (f->loglen > 0)
		sbuf_append(&b, f->log, f->loglen);
	for (i = f->n - f->unsaved; i < f->n; i++)
		if (entry_line(&b, &f->m[i]) < 0)
			break;
	if (i == f->n && write(fd, b.data, b.len) == (ssize_t)b.len &&
	    (mb_defer(f->st) || fdatasync(fd) == 0))
		rc = 0;
	if (close(fd) < 0)
		rc = -1;
	sbuf_free(&b);
	return rc;
}

int mb_folder_save(struct folder *f)
{
	char path[MB_PATH + 32], tmp[MB_PATH + 32];
	struct sbuf b;
	size_t i;
	int rc = -1, ok = 1;

	/* the database has every change already */
	if (f->gone || f->st->pg ||
	    (!f->dirty && f->unsaved == 0 && f->loglen == 0))
		return 0;
	/* a list long with flag changes is written again, compact */
	if (f->logged > 2 * f->n + MB_LOG_SLACK)
		f->dirty = 1;
	if (!f->dirty && f->unsaved <= f->n) {
		if (append_list(f) == 0) {
			f->logged += count_lines(f->log, f->loglen);
			f->loglen = 0;
			f->unsaved = 0;
			return 0;
		}
		/* a failed append may have left half a line: rewrite */
	}
	sbuf_init(&b, (size_t)LIST_MAX);
	sbuf_printf(&b, "SLUICE-UIDLIST 2 %u %u %llu %llu\n", f->uidvalidity,
		    f->uidnext, (unsigned long long)f->highestmodseq,
		    (unsigned long long)f->vanished_floor);
	for (i = 0; i < f->nkw; i++)
		sbuf_printf(&b, "K %s\n", f->kw[i]);
	for (i = 0; i < f->n && ok; i++)
		ok = entry_line(&b, &f->m[i]) >= 0;
	for (i = 0; i < f->nvanished && ok; i++)
		ok = sbuf_printf(&b, "X %u %llu\n", f->vanished[i].uid,
				 (unsigned long long)
				 f->vanished[i].modseq) >= 0;
	snprintf(path, sizeof(path), "%s/" MB_LIST_NAME, f->path);
	snprintf(tmp, sizeof(tmp), "%s/" MB_LIST_NAME ".tmp", f->path);
	if (!ok)
		errno = EFBIG;
	else if (mb_replace_file(f->st, path, tmp, b.data ? b.data : "",
				 b.len) == 0)
		rc = 0;
	if (rc < 0) {
		log_error("%s: cannot write: %s", path, strerror(errno));
	} else {
		f->dirty = 0;
		f->unsaved = 0;
		f->loglen = 0;
		f->logged = 0;
	}
	sbuf_free(&b);
	return rc;
}

int mb_keyword_index(struct folder *f, const char *name, int create)
{
	unsigned i;

	for (i = 0; i < f->nkw; i++)
		if (strcasecmp(f->kw[i], name) == 0)
			return (int)i;
	if (!create || f->nkw == MBOX_MAX_KEYWORDS || !valid_keyword(name) ||
	    name[0] == '\\')
		return -1;
	if (f->st->pg) {
		/* defined in the database, for every box */
		if (mbpg_keyword_add(f, name) < 0)
			return -1;
		for (i = 0; i < f->nkw; i++)
			if (strcasecmp(f->kw[i], name) == 0)
				return (int)i;
		return -1;
	}
	f->kw[f->nkw] = strdup(name);
	if (f->kw[f->nkw] == NULL)
		return -1;
	f->nkw++;
	f->dirty = 1;
	f->gen++;
	if (mb_folder_save(f) < 0) {
		free(f->kw[--f->nkw]);
		return -1;
	}
	return (int)f->nkw - 1;
}

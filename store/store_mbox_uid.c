/*
 * NAME
 *	store_mbox_uid - the shared state of a folder: UID list and scans
 * DESCRIPTION
 *	Each folder directory holds "sluice-uidlist":
 *
 *		SLUICE-UIDLIST 1 <uidvalidity> <uidnext>
 *		K <keyword>		(0 to 26 lines, index = order)
 *		<uid> <base>		(ascending UIDs)
 *
 *	rewritten atomically (tmp, fsync, rename, fsync of the directory)
 *	before a new UID is shown to anyone. The file is validated when it
 *	is read; a truncated or hostile one is replaced by a fresh list with
 *	a new UIDVALIDITY (RFC 3501 2.3.1.1 allows exactly that). Files in
 *	cur/ or new/ that the list does not name get the next UIDs, in
 *	arrival order; names in the list without a file are dropped.
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
#include "log.h"
#include "sbuf.h"
#include "store_mbox_int.h"

#define LIST_MAX (64u << 20)	/* a longer UID list is broken */
/* A list that claims more is broken: UIDs never wrap (RFC 3501 2.3.1.1). */
#define MB_UIDNEXT_MAX (1u << 31)

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
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
			  O_NOFOLLOW, 0600);
		if (fd >= 0) {
			snprintf(buf, sizeof(buf), "%u\n", v);
			if (write(fd, buf, strlen(buf)) ==
			    (ssize_t)strlen(buf) && fsync(fd) == 0 &&
			    close(fd) == 0)
				rename(tmp, path);
			else
				close(fd);
		}
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

void mb_folder_remove(struct folder *f, size_t i)
{
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
	f->n++;
	f->gen++;
	f->unsaved++;
	return e->uid;
}

/* ---- the list file ---- */

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

/* Parse the list in buf (NUL-terminated, len bytes). 0 or -1 (state
 * left for mb_folder_clear()). */
static int parse_list(struct folder *f, char *buf, size_t len)
{
	char *line = buf, *nl, *sp;
	const char *p;
	uint32_t uid, last = 0;

	if (memchr(buf, '\0', len) != NULL || len == 0)
		return -1;
	if (buf[len - 1] != '\n') {
		/* a line cut by a crash while it was appended: its UID was
		 * never given out (that waits for the sync); drop it and
		 * write the list again */
		while (len > 0 && buf[len - 1] != '\n')
			buf[--len] = '\0';
		if (len == 0)
			return -1;
		f->dirty = 1;
	}
	nl = strchr(line, '\n');
	*nl = '\0';
	p = line;
	if (strncmp(p, "SLUICE-UIDLIST 1 ", 17) != 0)
		return -1;
	p += 17;
	if (parse_u32(&p, &f->uidvalidity) < 0 || *p++ != ' ' ||
	    parse_u32(&p, &f->uidnext) < 0 || *p != '\0' ||
	    f->uidvalidity == 0 || f->uidnext == 0 ||
	    f->uidnext > MB_UIDNEXT_MAX)
		return -1;
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
		p = line;
		/* lines appended after the header was written carry UIDs
		 * at or above its UIDNEXT */
		if (parse_u32(&p, &uid) < 0 || *p != ' ' || uid <= last ||
		    uid >= MB_UIDNEXT_MAX)
			return -1;
		if (uid >= f->uidnext)
			f->uidnext = uid + 1;
		sp = (char *)p + 1;
		if (!mb_valid_base(sp, strlen(sp)))
			return -1;
		grow(f);
		memset(&f->m[f->n], 0, sizeof(f->m[0]));
		f->m[f->n].uid = uid;
		f->m[f->n].base = strdup(sp);
		if (f->m[f->n].base == NULL)
			log_fatal("out of memory");
		f->n++;
		last = uid;
	}
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

/* Append the newest f->unsaved entries to the list: one small write
 * and one fdatasync instead of a rewrite. 0 or -1. */
static int append_list(struct folder *f)
{
	char path[MB_PATH + 32], line[MB_BASE_MAX + 16];
	struct sbuf b;
	size_t i;
	int fd, rc = -1;

	snprintf(path, sizeof(path), "%s/" MB_LIST_NAME, f->path);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	sbuf_init(&b, (size_t)LIST_MAX);
	for (i = f->n - f->unsaved; i < f->n; i++) {
		snprintf(line, sizeof(line), "%u %s\n", f->m[i].uid,
			 f->m[i].base);
		if (sbuf_puts(&b, line) < 0)
			break;
	}
	if (i == f->n && write(fd, b.data, b.len) == (ssize_t)b.len &&
	    fdatasync(fd) == 0)
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
	int fd, rc = -1;

	if (f->gone || (!f->dirty && f->unsaved == 0))
		return 0;
	if (!f->dirty && f->unsaved <= f->n) {
		if (append_list(f) == 0) {
			f->unsaved = 0;
			return 0;
		}
		/* a failed append may have left half a line: rewrite */
	}
	sbuf_init(&b, (size_t)LIST_MAX);
	sbuf_printf(&b, "SLUICE-UIDLIST 1 %u %u\n", f->uidvalidity,
		    f->uidnext);
	for (i = 0; i < f->nkw; i++)
		sbuf_printf(&b, "K %s\n", f->kw[i]);
	for (i = 0; i < f->n; i++)
		if (sbuf_printf(&b, "%u %s\n", f->m[i].uid, f->m[i].base) < 0)
			break;
	snprintf(path, sizeof(path), "%s/" MB_LIST_NAME, f->path);
	snprintf(tmp, sizeof(tmp), "%s/" MB_LIST_NAME ".tmp", f->path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (i == f->n && fd >= 0 &&
	    write(fd, b.data, b.len) == (ssize_t)b.len && fsync(fd) == 0 &&
	    close(fd) == 0) {
		fd = -1;
		if (rename(tmp, path) == 0 && mb_sync_dir(f->path) == 0)
			rc = 0;
	}
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		log_error("%s: cannot write: %s", path, strerror(errno));
		unlink(tmp);
	} else {
		f->dirty = 0;
		f->unsaved = 0;
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

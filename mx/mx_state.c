/*
 * NAME
 *	mx_state - what screening remembers survives a restart
 * DESCRIPTION
 *	The clients that passed the greet pause (their temporary pass), the
 *	clients a spam trap put on the block list, and the per-sender
 *	message counters live in memory (ratemap.h), hit at every
 *	connection and MAIL. They are written as one snapshot file through
 *	durable.c every screen_state_interval and when mx stops, and read
 *	back at start, so a restart neither screens good clients again nor
 *	lets a trapped client or a sender at its limit start afresh. A
 *	snapshot rather than a row per event (greylist.c's SQLite): these
 *	maps change at every connection, the file costs one write per
 *	interval, and a crash loses at most one interval of them, which
 *	only means some client pays the greet pause once more.
 *
 *	The file: "SLUICE-MX-SCREEN 1\n", the wall-clock time of the dump
 *	(ms, 8 bytes big-endian), then the passed, trapped and senders maps,
 *	each as a 4-byte big-endian length and a ratemap_dump(). Times in
 *	the dumps are relative to the dump, so the monotonic clock may
 *	start anew (a reboot). The file is read as untrusted input.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "durable.h"
#include "evloop.h"
#include "log.h"
#include "mx.h"
#include "ratemap.h"

#define STATE_MAGIC "SLUICE-MX-SCREEN 1\n"
#define STATE_MAX (256u << 20)	/* three full maps fit many times */

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct ratemap **maps(struct mx *mx, size_t i)
{
	struct ratemap **m[] = {&mx->screen.passed, &mx->screen.trapped,
				&mx->screen.senders};

	return m[i];
}

static const char *const map_names[] = {"passed client(s)",
					"trapped client(s)",
					"sender counter(s)"};

static void save(struct mx *mx)
{
	const char *path = mx->cfg->screen.screen_state, *slash;
	uint64_t now = evloop_now(mx->loop), wall = wall_ms();
	unsigned char hdr[8];
	char dir[4096];
	struct iovec iov;
	struct sbuf b;
	size_t i, mark;
	int k;

	if (path[0] == '\0')
		return;
	errno = 0;
	sbuf_init(&b, STATE_MAX);
	for (k = 7; k >= 0; k--, wall >>= 8)
		hdr[k] = (unsigned char)(wall & 0xff);
	if (sbuf_puts(&b, STATE_MAGIC) < 0 || sbuf_append(&b, hdr, 8) < 0)
		goto fail;
	for (i = 0; i < 3; i++) {
		mark = b.len;
		if (sbuf_append(&b, "\0\0\0\0", 4) < 0 ||
		    ratemap_dump(*maps(mx, i), now, &b) < 0)
			goto fail;
		for (k = 0; k < 4; k++)
			b.data[mark + (size_t)k] = (char)((b.len - mark - 4) >>
							  (24 - 8 * k) & 0xff);
	}
	slash = strrchr(path, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1,
		 slash ? path : ".");
	iov.iov_base = b.data;
	iov.iov_len = b.len;
	if (durable_write_file(dir, slash ? slash + 1 : path, &iov, 1) < 0)
		goto fail;
	sbuf_free(&b);
	return;
fail:
	log_warn("screen_state %s: not written: %s", path,
		 errno ? strerror(errno) : "too large");
	sbuf_free(&b);
}

/* The whole file into b (at most STATE_MAX bytes). 0, or -1 (errno). */
static int read_all(const char *path, struct sbuf *b)
{
	char buf[65536];
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -1;
	while ((r = read(fd, buf, sizeof(buf))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || sbuf_append(b, buf, (size_t)r) < 0) {
			if (r >= 0)
				errno = EFBIG;
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 0;
}

static void load(struct mx *mx)
{
	const char *path = mx->cfg->screen.screen_state;
	const size_t ml = sizeof(STATE_MAGIC) - 1;
	uint64_t now = evloop_now(mx->loop), then = 0, w = wall_ms();
	const unsigned char *p, *end;
	long got[3] = {0, 0, 0};
	size_t i, len;
	struct sbuf b;
	int k;

	if (path[0] == '\0')
		return;
	sbuf_init(&b, STATE_MAX);
	if (read_all(path, &b) < 0) {
		if (errno != ENOENT)
			log_warn("screen_state %s: not read: %s", path,
				 strerror(errno));
		sbuf_free(&b);
		return;
	}
	p = (const unsigned char *)b.data;
	end = p + b.len;
	if (b.len < ml + 8 || memcmp(p, STATE_MAGIC, ml) != 0)
		goto bad;
	for (k = 0, p += ml; k < 8; k++)
		then = then << 8 | *p++;
	/* a clock set back counts as no time passed; far future: start
	 * afresh rather than trust it */
	if (then > w + 86400000ull * 365 * 10)
		goto bad;
	for (i = 0; i < 3; i++) {
		if (end - p < 4)
			goto bad;
		len = (size_t)p[0] << 24 | (size_t)p[1] << 16 |
		      (size_t)p[2] << 8 | p[3];
		p += 4;
		if ((size_t)(end - p) < len)
			goto bad;
		got[i] = ratemap_load(*maps(mx, i), p, len, now,
				      w > then ? w - then : 0);
		if (got[i] < 0)
			goto bad;
		p += len;
	}
	log_info("screen_state %s: %ld %s, %ld %s, %ld %s", path, got[0],
		 map_names[0], got[1], map_names[1], got[2], map_names[2]);
	sbuf_free(&b);
	return;
bad:
	log_warn("screen_state %s: malformed, ignored (what came before "
		 "the damage is kept)", path);
	sbuf_free(&b);
}

static void tick(void *arg)
{
	struct mx *mx = arg;

	save(mx);
	mx->screen.state_timer = evloop_timer(
		mx->loop, (uint64_t)mx->cfg->screen.screen_state_interval *
		1000, tick, mx);
}

void mx_state_start(struct mx *mx)
{
	if (mx->cfg->screen.screen_state[0] == '\0')
		return;
	load(mx);
	mx->screen.state_timer = evloop_timer(
		mx->loop, (uint64_t)mx->cfg->screen.screen_state_interval *
		1000, tick, mx);
}

void mx_state_stop(struct mx *mx)
{
	if (mx->screen.state_timer == NULL)
		return;
	evloop_timer_cancel(mx->loop, mx->screen.state_timer);
	mx->screen.state_timer = NULL;
	save(mx);
}

/*
 * NAME
 *	avscan_quarantine - infected mail kept aside, durably
 * DESCRIPTION
 *	One file per message in quarantine_dir, named like a queue ID
 *	(time, microseconds and a counter in hex), written under a
 *	temporary name, synced, renamed and the folder synced: once the
 *	sender hears 250 the file survives a crash (DESIGN.md
 *	"Durability"). The file is the message with header fields in front
 *	that name the virus and the envelope (X-Sluice-Quarantine-*), so an
 *	operator can read it with any mail tool. Envelope addresses come
 *	from the SMTP engine, which admits no CR or LF in them; the client's
 *	HELO is passed through log_safe(). Runs on worker threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "avscan.h"
#include "log.h"

int avscan_quarantine_summary(const struct smtp_session *s, struct sbuf *out)
{
	const struct envelope *e = &s->env;
	char helo[300];
	size_t i;

	/* a trusted peer's claims name the real client */
	log_safe(helo, sizeof(helo), e->helo ? e->helo
				     : s->helo ? s->helo : "unknown");
	if (sbuf_printf(out, "X-Sluice-Quarantine-From: <%s>\r\n",
			e->from ? e->from : "") < 0)
		return -1;
	for (i = 0; i < e->nrcpt; i++)
		if (sbuf_printf(out, "X-Sluice-Quarantine-To: <%s>\r\n",
				e->rcpts[i].addr) < 0)
			return -1;
	return sbuf_printf(out, "X-Sluice-Quarantine-Client: [%s] helo=%s "
			   "entered=%s session=%s\r\n",
			   e->client_addr ? e->client_addr : s->client_addr,
			   helo, e->entered_by ? e->entered_by : "-", s->id);
}

int avscan_write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Create a new file dir/.NAME.tmp exclusively; its NAME goes to name. */
static int create_unique(const char *dir, char *name, size_t namelen,
			 char *tmp, size_t tmplen)
{
	static atomic_uint counter;
	struct timeval tv;
	int fd, tries;

	for (tries = 0; tries < 100; tries++) {
		gettimeofday(&tv, NULL);
		snprintf(name, namelen, "%08llX%05lX%03X",
			 (unsigned long long)tv.tv_sec & 0xffffffffULL,
			 (unsigned long)tv.tv_usec,
			 atomic_fetch_add(&counter, 1) & 0xfff);
		if ((size_t)snprintf(tmp, tmplen, "%s/.%s.tmp", dir, name) >=
		    tmplen)
			return -1;
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

int avscan_quarantine_write(const char *dir, const char *virus,
			    const struct sbuf *summary, const char *msg,
			    size_t len, char *name, size_t namelen, char *err,
			    size_t errlen)
{
	char tmp[4096], final[4096], date[64], head[512];
	time_t now = time(NULL);
	struct tm tm;
	int fd, dfd, hlen;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	hlen = snprintf(head, sizeof(head), "X-Sluice-Quarantine: virus=%s; "
			"%s\r\n", virus, date);
	if (hlen < 0 || (size_t)hlen >= sizeof(head)) {
		snprintf(err, errlen, "virus name too long");
		return -1;
	}
	fd = create_unique(dir, name, namelen, tmp, sizeof(tmp));
	if (fd < 0) {
		snprintf(err, errlen, "cannot create a file in %s: %s", dir,
			 strerror(errno));
		return -1;
	}
	if (avscan_write_all(fd, head, (size_t)hlen) < 0 ||
	    avscan_write_all(fd, summary->data ? summary->data : "",
		      summary->len) < 0 ||
	    avscan_write_all(fd, msg, len) < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) < 0 ||
	    (size_t)snprintf(final, sizeof(final), "%s/%s", dir, name) >=
		    sizeof(final) ||
	    rename(tmp, final) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0) {
		snprintf(err, errlen, "%s: cannot sync: %s", dir,
			 strerror(errno));
		if (dfd >= 0)
			close(dfd);
		/* not durable: the sender must keep it (451), and a later
		 * try writes it again under another name */
		unlink(final);
		return -1;
	}
	close(dfd);
	return 0;
}

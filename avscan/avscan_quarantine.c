/*
 * NAME
 *	avscan_quarantine - infected mail kept aside, durably
 * DESCRIPTION
 *	One file per message in quarantine_dir, named like a queue ID
 *	(time, microseconds and a counter in hex), written under a
 *	temporary name, synced, renamed and the folder synced
 *	(durable_write_file()): once the
 *	sender hears 250 the file survives a crash (DESIGN.md
 *	"Durability"). The file is the message with header fields in front
 *	that name the virus and the envelope (X-Sluice-Quarantine-*), so an
 *	operator can read it with any mail tool. Envelope addresses come
 *	from the SMTP engine, which admits no CR or LF in them; the client's
 *	HELO is passed through log_safe(). Runs on worker threads.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "avscan.h"
#include "durable.h"
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

/* A name like a queue ID: seconds, microseconds and a counter in hex. */
static void unique_name(char *name, size_t namelen)
{
	static atomic_uint counter;
	struct timeval tv;

	gettimeofday(&tv, NULL);
	snprintf(name, namelen, "%08llX%05lX%03X",
		 (unsigned long long)tv.tv_sec & 0xffffffffULL,
		 (unsigned long)tv.tv_usec,
		 atomic_fetch_add(&counter, 1) & 0xfff);
}

int avscan_quarantine_write(const char *dir, const char *virus,
			    const struct sbuf *summary, const char *msg,
			    size_t len, char *name, size_t namelen, char *err,
			    size_t errlen)
{
	char date[64], head[512];
	time_t now = time(NULL);
	struct iovec iov[3];
	struct tm tm;
	int hlen, tries, rc = -1;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	hlen = snprintf(head, sizeof(head), "X-Sluice-Quarantine: virus=%s; "
			"%s\r\n", virus, date);
	if (hlen < 0 || (size_t)hlen >= sizeof(head)) {
		snprintf(err, errlen, "virus name too long");
		return -1;
	}
	iov[0].iov_base = head;
	iov[0].iov_len = (size_t)hlen;
	iov[1].iov_base = summary->data ? summary->data : (char *)"";
	iov[1].iov_len = summary->len;
	iov[2].iov_base = (void *)msg;
	iov[2].iov_len = len;
	/* a taken temporary name is another writer's: take another name */
	for (tries = 0; tries < 100 && rc < 0; tries++) {
		unique_name(name, namelen);
		rc = durable_write_file(dir, name, iov, 3);
		if (rc < 0 && errno != EEXIST)
			break;
	}
	if (rc < 0)
		snprintf(err, errlen, "cannot write %s/%s: %s", dir, name,
			 strerror(errno));
	return rc;
}

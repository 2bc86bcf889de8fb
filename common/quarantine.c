/*
 * NAME
 *	quarantine - the file format of avscan's and spamd's quarantine
 * DESCRIPTION
 *	Writes the file durably: a temporary name, synced, renamed and the
 *	folder synced, so once the sender hears 250 the file survives a
 *	crash (DESIGN.md "Durability"); names are unique like queue IDs
 *	(time, microseconds and a counter in hex). Safe on worker threads.
 *	Reads back the leading block described in quarantine.h. The
 *	reader faces files an operator may have edited: every line is
 *	bounded (LIM_PATH for an address), a missing From or To is an
 *	error, not a guess.
 */
#include "quarantine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "durable.h"
#include "limits_rfc.h"
#include "log.h"

int quarantine_summary(const struct smtp_session *s, struct sbuf *out)
{
	const struct envelope *e = &s->env;
	char helo[300];
	size_t i;

	/* a trusted peer's claims name the real client */
	log_safe(helo, sizeof(helo), e->helo ? e->helo
				     : s->helo ? s->helo : "unknown");
	if (sbuf_printf(out, QUARANTINE_HDR "-From: <%s>\r\n",
			e->from ? e->from : "") < 0)
		return -1;
	for (i = 0; i < e->nrcpt; i++)
		if (sbuf_printf(out, QUARANTINE_HDR "-To: <%s>\r\n",
				e->rcpts[i].addr) < 0)
			return -1;
	return sbuf_printf(out, QUARANTINE_HDR "-Client: [%s] helo=%s "
			   "entered=%s auth=%s session=%s\r\n",
			   e->client_addr ? e->client_addr : s->client_addr,
			   helo, e->entered_by ? e->entered_by : "-",
			   e->auth_user ? e->auth_user : "-", s->id);
}

int quarantine_write(const char *dir, const char *reason,
		     const struct sbuf *summary, const char *msg, size_t len,
		     char *name, size_t namelen, char *err, size_t errlen)
{
	static atomic_uint counter;
	char date[64], head[512];
	struct iovec iov[3];
	struct timeval tv;
	time_t now = time(NULL);
	struct tm tm;
	int hlen, tries;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	hlen = snprintf(head, sizeof(head), QUARANTINE_HDR ": %s; %s\r\n",
			reason, date);
	if (hlen < 0 || (size_t)hlen >= sizeof(head)) {
		snprintf(err, errlen, "reason too long");
		return -1;
	}
	iov[0].iov_base = head;
	iov[0].iov_len = (size_t)hlen;
	iov[1].iov_base = summary->data ? summary->data : "";
	iov[1].iov_len = summary->len;
	iov[2].iov_base = (void *)msg;
	iov[2].iov_len = len;
	/* a name unique like a queue ID; the durable writer creates its
	 * temporary exclusively, so a name taken meanwhile is retried */
	for (tries = 0; tries < 100; tries++) {
		gettimeofday(&tv, NULL);
		snprintf(name, namelen, "%08llX%05lX%03X",
			 (unsigned long long)tv.tv_sec & 0xffffffffULL,
			 (unsigned long)tv.tv_usec,
			 atomic_fetch_add(&counter, 1) & 0xfff);
		if (durable_write_file(dir, name, iov, 3) == 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	snprintf(err, errlen, "cannot write a file in %s: %s", dir,
		 strerror(errno));
	return -1;
}

/* "<addr>" of one field value into out (NUL-terminated). 0 or -1. */
static int take_addr(const char *v, size_t n, char *out, size_t outlen)
{
	size_t i;

	if (n < 2 || v[0] != '<' || v[n - 1] != '>' || n - 2 >= outlen ||
	    n - 2 > LIM_PATH)
		return -1;
	for (i = 1; i < n - 1; i++)
		if (v[i] == '<' || v[i] == '>' || (unsigned char)v[i] < 0x20 ||
		    v[i] == 0x7f)
			return -1;
	memcpy(out, v + 1, n - 2);
	out[n - 2] = '\0';
	return 0;
}

int quarantine_parse(const char *p, size_t len, struct envelope *e,
		     size_t *body_off, char *reason, size_t reasonlen,
		     char *err, size_t errlen)
{
	const size_t hl = sizeof(QUARANTINE_HDR) - 1;
	char addr[LIM_PATH + 1];
	const char *line, *eol, *v;
	size_t off = 0, n, vn, k;
	int lines = 0;

	reason[0] = '\0';
	while (off < len) {
		line = p + off;
		eol = memchr(line, '\n', len - off);
		if (eol == NULL || eol == line || eol[-1] != '\r')
			break;
		n = (size_t)(eol - line) - 1;	/* without CRLF */
		if (n < hl || strncasecmp(line, QUARANTINE_HDR, hl) != 0)
			break;
		v = memchr(line, ':', n);
		if (v == NULL)
			break;
		k = (size_t)(v - line);
		for (v++; v < line + n && *v == ' '; v++)
			;
		vn = (size_t)(line + n - v);
		if (k == hl) {
			for (k = 0; k < vn && v[k] != ';' && k + 1 < reasonlen;
			     k++)
				reason[k] = v[k];
			reason[k] = '\0';
		} else if (k == hl + 5 &&
			   strncasecmp(line + hl, "-From", 5) == 0) {
			if (e->from != NULL ||
			    take_addr(v, vn, addr, sizeof(addr)) < 0 ||
			    (e->from = strdup(addr)) == NULL)
				goto bad;
		} else if (k == hl + 3 &&
			   strncasecmp(line + hl, "-To", 3) == 0) {
			if (e->nrcpt >= LIM_RCPT_MAX ||
			    take_addr(v, vn, addr, sizeof(addr)) < 0 ||
			    envelope_add_rcpt(e, addr, NULL, 0) < 0)
				goto bad;
		}
		lines++;
		off = (size_t)(eol - p) + 1;
		/* -Client is written last: what follows is the message, even
		 * a field of ours that a stage before failed to strip */
		if (k == hl + 7 && strncasecmp(line + hl, "-Client", 7) == 0)
			break;
	}
	if (lines == 0 || e->from == NULL || e->nrcpt == 0) {
		snprintf(err, errlen, "no %s-From and -To fields in front",
			 QUARANTINE_HDR);
		envelope_free(e);
		return -1;
	}
	*body_off = off;
	return 0;
bad:
	snprintf(err, errlen, "malformed %s field at byte %zu",
		 QUARANTINE_HDR, off);
	envelope_free(e);
	return -1;
}

void quarantine_note_hops(const char *dir, const char *next_hop,
			  const char *domain_routes)
{
	struct iovec iov[5] = {
		{(void *)"next_hop = ", 11},
		{(void *)next_hop, strlen(next_hop)},
		{(void *)"\ndomain_routes = ", 17},
		{(void *)domain_routes, strlen(domain_routes)},
		{(void *)"\n", 1},
	};

	/* a value is one line of the file (config.c reads it so) */
	if (strpbrk(next_hop, "\r\n") || strpbrk(domain_routes, "\r\n") ||
	    durable_write_file(dir, QUARANTINE_HOPS, iov, 5) < 0)
		log_warn("quarantine_dir %s: cannot note the next hops in %s: "
			 "%s (sluice-quarantine release then needs a hop)",
			 dir, QUARANTINE_HOPS, strerror(errno));
}

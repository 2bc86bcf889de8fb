/*
 * NAME
 *	smtp_data - the DATA phase of SMTP/LMTP as a pure parser
 * DESCRIPTION
 *	See smtp_data.h. A line longer than the tail we keep is passed on
 *	in pieces; d->mid remembers that we are inside such a line, so its
 *	last piece (which may be just its CRLF) is never taken for the
 *	blank line that ends the header section, nor for a "Received:"
 *	field, nor for a line that starts with a dot.
 */
#include "smtp_data.h"

#include <string.h>
#include <strings.h>

/* A line with no LF yet is kept back while it is shorter than this: it
 * may be the start of ".\r\n" or end with a CR whose LF is on its way. */
#ifndef SMTP_DATA_TAIL /* the fuzz target makes it small */
#define SMTP_DATA_TAIL 4096
#endif

void smtp_data_begin(struct smtp_data *d, struct sbuf *msg, size_t max_size,
		     size_t max_header)
{
	memset(d, 0, sizeof(*d));
	d->msg = msg;
	d->max_size = max_size;
	d->max_header = max_header;
	d->in_header = 1;
	d->bol = 1;
	sbuf_reset(msg);
}

static void keep(struct smtp_data *d, const char *p, size_t n)
{
	d->total += n;
	if (d->toobig)
		return;
	if ((d->max_size > 0 && d->total > d->max_size) ||
	    sbuf_append(d->msg, p, n) < 0) {
		d->toobig = 1;
		sbuf_reset(d->msg);
	}
}

/* The start of a line of message text (already unstuffed): n bytes,
 * complete when they end with the line's LF. */
static void header_line(struct smtp_data *d, const char *p, size_t n,
			int complete)
{
	if (!d->in_header)
		return;
	if (complete && n == 2 && p[0] == '\r') {
		d->in_header = 0;
		d->header_len = d->total;
		return;
	}
	if (n >= 9 && strncasecmp(p, "Received:", 9) == 0)
		d->received_count++;
	if (d->max_header > 0 && d->total > d->max_header)
		d->hdrbig = 1;
}

/* A line of at least one byte ending in LF (complete), or a piece of a
 * line. Only a line that ended in CRLF leaves us at the beginning of a
 * line: after a bare LF, "." is text, so "\n.\r\n" can never end the
 * data here while a sloppier peer thinks it did (SMTP smuggling). */
static void data_line(struct smtp_data *d, const char *p, size_t n,
		      int complete)
{
	int crlf = complete && n >= 2 && p[n - 2] == '\r';

	if (complete && !crlf)
		d->bad = 1;
	if (memchr(p, '\r', crlf ? n - 2 : n) != NULL)
		d->bad = 1;
	if (d->bol && p[0] == '.' && !d->raw) {
		p++;
		n--;
	}
	if (!d->mid)
		header_line(d, p, n, complete);
	keep(d, p, n);
	d->bol = crlf;
	d->mid = !complete;
}

/* Lines of wire input; a tail with no LF is kept back (for the end
 * marker and a CR whose LF is on its way) unless last says no more
 * input follows. Only DATA (not raw) has an end marker. */
static size_t feed_lines(struct smtp_data *d, const char *in, size_t len,
			 int last, int *done)
{
	const char *p = in, *end = in + len, *lf;
	size_t n;

	*done = 0;
	while (p < end) {
		lf = memchr(p, '\n', (size_t)(end - p));
		if (lf == NULL) {
			n = (size_t)(end - p);
			if (!last) {
				if (n < SMTP_DATA_TAIL)
					break;
				if (p[n - 1] == '\r')
					n--;
			}
			data_line(d, p, n, 0);
			p += n;
			continue;
		}
		n = (size_t)(lf - p) + 1;
		if (!d->raw && d->bol && n == 3 && p[0] == '.' &&
		    p[1] == '\r') {
			p += n;
			if (d->in_header)
				d->header_len = d->total;
			*done = 1;
			break;
		}
		data_line(d, p, n, 1);
		p += n;
	}
	return (size_t)(p - in);
}

size_t smtp_data_feed(struct smtp_data *d, const char *in, size_t len,
		      int *done)
{
	return feed_lines(d, in, len, 0, done);
}

size_t smtp_data_feed_raw(struct smtp_data *d, const char *in, size_t len,
			  int last)
{
	size_t used;
	int done;

	d->raw = 1;
	used = feed_lines(d, in, len, last, &done);
	if (last && d->in_header)
		d->header_len = d->total;
	return used;
}

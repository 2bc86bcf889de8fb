/*
 * NAME
 *	spamd_mime - the text of a message, as the antispam checks read it
 * DESCRIPTION
 *	Walks the header and the MIME structure of a message (RFC 5322,
 *	RFC 2045/2046) without recursion: a cursor moves through the bytes
 *	once, with a stack of at most SPAMD_MAX_DEPTH open multipart
 *	boundaries. Text parts are decoded (base64, quoted-printable; the
 *	charset is ignored, bytes stay bytes), HTML is reduced to its text
 *	plus the URLs of its links, header values are unfolded and their
 *	RFC 2047 encoded words decoded (the decoders are common/mime.c's,
 *	the store's too). Everything is bounded: the bytes
 *	scanned, the parts, the fields, the output buffers. Faces the
 *	network (the message is the sender's); pure, fuzzed.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime.h"
#include "spamd.h"

#define HDR_MAX 65536		/* bytes of spamd_text.hdr */
#define BOUNDARY_MAX 200	/* RFC 2046 5.1.1 allows 70; be lenient */

struct entity {
	char type[64];		/* "text/plain", lower case; "" if none */
	char boundary[BOUNDARY_MAX + 1];
	int b64, qp;
};

struct walker {
	const char *p, *end;
	char bnd[SPAMD_MAX_DEPTH][BOUNDARY_MAX + 1];
	size_t blen[SPAMD_MAX_DEPTH];
	int depth;
	struct spamd_text *t;
	struct sbuf scratch;
};

static const char *next_line(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl ? nl + 1 : end;
}

/* The field value with its line ends taken out (unfolded, RFC 5322
 * 2.2.3) and its RFC 2047 encoded words decoded, bytes as they are. */
void spamd_decode_header(const char *v, size_t n, struct sbuf *out)
{
	struct sbuf u;
	size_t i = 0, run;

	sbuf_init(&u, n);
	while (i < n) {
		if (v[i] == '\r' || v[i] == '\n') {
			i++;
			continue;
		}
		for (run = 0; i + run < n && v[i + run] != '\r' &&
			      v[i + run] != '\n';
		     run++)
			;
		if (sbuf_append(&u, v + i, run) < 0)
			break;
		i += run;
	}
	if (u.len > 0)
		mime_decode_2047(u.data, u.len, out, 0);
	sbuf_free(&u);
}

/* The value of parameter name in a Content-Type value, or "". */
static void ct_param(const char *v, const char *name, char *out,
		     size_t outlen)
{
	size_t nl = strlen(name), i = 0;
	const char *p = v;

	out[0] = '\0';
	while ((p = strchr(p, ';')) != NULL) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, name, nl) != 0 || p[nl] != '=')
			continue;
		p += nl + 1;
		if (*p == '"') {
			for (p++; *p && *p != '"' && i + 1 < outlen; p++)
				out[i++] = *p;
		} else {
			for (; *p && *p != ';' && *p != ' ' && *p != '\t' &&
			     i + 1 < outlen; p++)
				out[i++] = *p;
		}
		out[i] = '\0';
		return;
	}
}

static void take_field(struct walker *w, struct entity *e, const char *name,
		       size_t nlen, const char *val, int top)
{
	struct spamd_text *t = w->t;
	size_t i;
	char c;

	if (nlen == 12 && strncasecmp(name, "Content-Type", 12) == 0) {
		for (i = 0; val[i] == ' ' || val[i] == '\t'; i++)
			;
		val += i;
		for (i = 0; val[i] && val[i] != ';' && val[i] != ' ' &&
		     i + 1 < sizeof(e->type); i++)
			e->type[i] = (char)tolower((unsigned char)val[i]);
		e->type[i] = '\0';
		ct_param(val, "boundary", e->boundary, sizeof(e->boundary));
		if (!top) {
			sbuf_puts(&t->hdr, "part-content-type:");
			sbuf_puts(&t->hdr, e->type);
			sbuf_puts(&t->hdr, "\n");
		}
	} else if (nlen == 25 &&
		   strncasecmp(name, "Content-Transfer-Encoding", 25) == 0) {
		while (*val == ' ' || *val == '\t')
			val++;
		e->b64 = strncasecmp(val, "base64", 6) == 0;
		e->qp = strncasecmp(val, "quoted-printable", 16) == 0;
	}
	if (!top)
		return;
	for (i = 0; i < nlen; i++) {
		c = (char)tolower((unsigned char)name[i]);
		if (sbuf_append(&t->hdr, &c, 1) < 0)
			return;
	}
	sbuf_puts(&t->hdr, ":");
	sbuf_puts(&t->hdr, val);
	sbuf_puts(&t->hdr, "\n");
}

/* A field name (RFC 5322 3.6.8 ftext; white space before the colon is
 * the obsolete syntax of 4.5). */
static int field_name(const char *p, const char *colon)
{
	const char *e = colon;

	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (e == p)
		return 0;
	for (; p < e; p++)
		if (*p <= ' ' || *p > '~')
			return 0;
	return 1;
}

/* The header section at w->p (RFC 5322 2.2; lines end in LF or CRLF).
 * Leaves w->p at the body. top: the message's own fields go to hdr. */
static void parse_header(struct walker *w, struct entity *e, int top)
{
	const char *p = w->p, *line, *colon, *fend;
	struct sbuf val;
	int fields = 0;

	memset(e, 0, sizeof(*e));
	sbuf_init(&val, SPAMD_MAX_FIELD);
	while (p < w->end) {
		line = p;
		if (*line == '\n' || (*line == '\r' && line + 1 < w->end &&
				      line[1] == '\n')) {
			p = next_line(line, w->end);
			break;
		}
		fend = next_line(line, w->end);
		while (fend < w->end && (*fend == ' ' || *fend == '\t'))
			fend = next_line(fend, w->end);
		p = fend;
		colon = memchr(line, ':', (size_t)(fend - line));
		if (colon == NULL || !field_name(line, colon))
			continue;	/* not a field (an mbox "From " line) */
		if (++fields > SPAMD_MAX_FIELDS)
			continue;
		sbuf_reset(&val);
		spamd_decode_header(colon + 1, (size_t)(fend - colon - 1),
				    &val);
		if (val.data == NULL && sbuf_puts(&val, "") < 0)
			continue;
		for (size_t i = 0; i < val.len; i++)
			if (val.data[i] == '\0' || val.data[i] == '\n')
				val.data[i] = ' ';
		take_field(w, e, line, (size_t)(colon - line), val.data, top);
	}
	sbuf_free(&val);
	w->p = p;
}

/* Is line (length n, line end excluded) a delimiter of an open
 * boundary? Returns its level (0 = outermost) or -1; *close for "--B--". */
static int delimiter(const struct walker *w, const char *line, size_t n,
		     int *close)
{
	const char *rest;
	size_t bl, rn;
	int k;

	if (n < 3 || line[0] != '-' || line[1] != '-')
		return -1;
	for (k = w->depth - 1; k >= 0; k--) {
		bl = w->blen[k];
		if (n - 2 < bl || memcmp(line + 2, w->bnd[k], bl) != 0)
			continue;
		rest = line + 2 + bl;
		rn = n - 2 - bl;
		*close = rn >= 2 && rest[0] == '-' && rest[1] == '-';
		if (*close) {
			rest += 2;
			rn -= 2;
		}
		while (rn > 0 && (*rest == ' ' || *rest == '\t')) {
			rest++;
			rn--;
		}
		if (rn == 0)
			return k;
	}
	return -1;
}

/* Move w->p past the next delimiter line that opens a part, skipping
 * epilogues of multiparts that close on the way (popping their
 * boundaries). Returns where the content before the first delimiter
 * ends (w->end when there is none). *more: a part follows at w->p. */
static const char *skip_to_part(struct walker *w, int *more)
{
	const char *line, *nl, *first = NULL;
	size_t n;
	int k, close;

	*more = 0;
	while (w->p < w->end && w->depth > 0) {
		line = w->p;
		nl = next_line(line, w->end);
		n = (size_t)(nl - line);
		if (n > 0 && line[n - 1] == '\n')
			n--;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		w->p = nl;
		if ((k = delimiter(w, line, n, &close)) < 0)
			continue;
		if (first == NULL)
			first = line;
		w->depth = close ? k : k + 1;
		if (!close) {
			*more = 1;
			return first;
		}
	}
	if (w->depth == 0)
		w->p = w->end;	/* outside every multipart: nothing more */
	return first ? first : w->end;
}

/* A leaf part's content: text parts are decoded into the body. */
static void leaf(struct walker *w, const struct entity *e, const char *p,
		 const char *end)
{
	struct spamd_text *t = w->t;
	struct sbuf *b = &w->scratch;
	int html = strcmp(e->type, "text/html") == 0;
	size_t n, lim;

	t->parts++;
	if (e->type[0] != '\0' && strncmp(e->type, "text/", 5) != 0)
		return;
	sbuf_reset(b);
	if (e->b64)
		mime_base64_decode(p, (size_t)(end - p), b, 0);
	else if (e->qp)
		mime_qp_decode(p, (size_t)(end - p), b, 0, 0);
	else
		sbuf_append(b, p, (size_t)(end - p));
	if (b->data == NULL)
		return;
	if (t->body.len > 0) {
		lim = spamd_room(&t->body, 1);
		spamd_put(&t->body, &lim, '\n');
	}
	if (html) {
		t->html = 1;
		spamd_html_strip(b->data, b->len, &t->body);
		return;
	}
	/* spamd_put()'s work, a part at once */
	lim = spamd_room(&t->body, b->len);
	memcpy(t->body.data + t->body.len, b->data, lim);
	for (n = 0; n < lim; n++)
		if (t->body.data[t->body.len + n] == '\0')
			t->body.data[t->body.len + n] = ' ';
	t->body.len += lim;
	t->body.data[t->body.len] = '\0';
}

int spamd_text_extract(const char *msg, size_t len, size_t scan,
		       struct spamd_text *t)
{
	struct walker *w;
	struct entity e;
	const char *start, *cend;
	int more, top = 1, entities = 0;

	memset(t, 0, sizeof(*t));
	sbuf_init(&t->hdr, HDR_MAX);
	sbuf_init(&t->body, scan);
	if (len > scan)
		len = scan;
	w = calloc(1, sizeof(*w));
	if (w == NULL || sbuf_puts(&t->hdr, "") < 0 ||
	    sbuf_puts(&t->body, "") < 0) {
		free(w);
		spamd_text_free(t);
		sbuf_init(&t->hdr, 0);
		sbuf_init(&t->body, 0);
		return -1;
	}
	w->p = msg;
	w->end = msg + len;
	w->t = t;
	sbuf_init(&w->scratch, scan);
	while (w->p < w->end && entities++ < 2 * SPAMD_MAX_PARTS) {
		parse_header(w, &e, top);
		top = 0;
		if (strncmp(e.type, "multipart/", 10) == 0 && e.boundary[0] &&
		    w->depth < SPAMD_MAX_DEPTH) {
			memcpy(w->bnd[w->depth], e.boundary,
			       sizeof(e.boundary));
			w->blen[w->depth] = strlen(e.boundary);
			w->depth++;
			(void)skip_to_part(w, &more);	/* the preamble */
			if (!more)
				break;
			continue;
		}
		/* an attached message: its header and body come next */
		if (strcmp(e.type, "message/rfc822") == 0)
			continue;
		start = w->p;
		cend = skip_to_part(w, &more);
		leaf(w, &e, start, cend);
		if (!more)
			break;
	}
	sbuf_free(&w->scratch);
	free(w);
	return 0;
}

void spamd_text_free(struct spamd_text *t)
{
	sbuf_free(&t->hdr);
	sbuf_free(&t->body);
}

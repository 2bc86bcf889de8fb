/*
 * NAME
 *	spamd_mime - the text of a message, as the antispam checks read it
 * DESCRIPTION
 *	Walks the header and the MIME structure of a message (RFC 5322,
 *	RFC 2045/2046) as common/mime_tree.c parses it (the store's
 *	parser too), at most SPAMD_MAX_DEPTH deep and 2 * SPAMD_MAX_PARTS
 *	parts. Text parts are decoded (base64, quoted-printable; the
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

#include "mime.h"
#include "mime_tree.h"
#include "spamd.h"

#define HDR_MAX 65536		/* bytes of spamd_text.hdr */

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

/* The message's own header fields (RFC 5322 2.2) into t->hdr as
 * "name:value" lines, name lower case, value decoded. Lines that are
 * not fields (an mbox "From " line) are skipped. */
static void top_fields(const struct mime_part *root, struct spamd_text *t)
{
	struct mime_hdr_iter it;
	struct mime_field f;
	struct sbuf val;
	int fields = 0;
	size_t i;
	const char *v;
	char c;

	sbuf_init(&val, SPAMD_MAX_FIELD);
	mime_hdr_iter_init(&it, root);
	while (mime_hdr_next(&it, &f)) {
		if (f.name_len == 0 || !field_name(f.name, f.name + f.name_len))
			continue;
		if (++fields > SPAMD_MAX_FIELDS)
			break;
		sbuf_reset(&val);
		spamd_decode_header(f.value, f.value_len, &val);
		if (val.data == NULL && sbuf_puts(&val, "") < 0)
			continue;
		for (i = 0; i < val.len; i++)
			if (val.data[i] == '\0' || val.data[i] == '\n')
				val.data[i] = ' ';
		/* the MIME fields come without their leading blanks */
		v = val.data;
		if (mime_ieq(f.name, f.name_len, "content-type") ||
		    mime_ieq(f.name, f.name_len, "content-transfer-encoding"))
			v += strspn(v, " \t");
		for (i = 0; i < f.name_len; i++) {
			c = (char)tolower((unsigned char)f.name[i]);
			if (sbuf_append(&t->hdr, &c, 1) < 0)
				break;
		}
		sbuf_puts(&t->hdr, ":");
		sbuf_puts(&t->hdr, v);
		sbuf_puts(&t->hdr, "\n");
	}
	sbuf_free(&val);
}

/* "part-content-type:type/subtype" (lower case) of a part that has a
 * usable Content-Type field. */
static void part_type(const struct mime_part *p, struct spamd_text *t)
{
	const char *s;
	char c;
	int k;

	if (p->flags & MIME_F_DEFAULT_CT)
		return;
	sbuf_puts(&t->hdr, "part-content-type:");
	for (k = 0; k < 2; k++) {
		if (k)
			sbuf_puts(&t->hdr, "/");
		for (s = k ? p->ct.subtype : p->ct.type; *s; s++) {
			c = (char)tolower((unsigned char)*s);
			sbuf_append(&t->hdr, &c, 1);
		}
	}
	sbuf_puts(&t->hdr, "\n");
}

/* A leaf part's content: text parts are decoded into the body. len:
 * the length of the message. */
static void leaf(const struct mime_part *p, size_t len, struct sbuf *b,
		 struct spamd_text *t)
{
	const char *c = p->msg + p->body_off;
	size_t n, lim, bl = p->body_len, end = p->body_off + p->body_len;
	int html;

	/* The text runs up to the delimiter line, with the line break
	 * that RFC 2046 5.1.1 gives to the delimiter, as spamd always
	 * read it (the Bayes database learnt that text). */
	if (end < len && p->msg[end] == '\n')
		bl++;
	else if (end + 1 < len && p->msg[end] == '\r' &&
		 p->msg[end + 1] == '\n')
		bl += 2;
	t->parts++;
	if (!(p->flags & MIME_F_TEXT) || (p->flags & MIME_F_CUT))
		return;
	html = mime_ieq(p->ct.subtype, strlen(p->ct.subtype), "html");
	sbuf_reset(b);
	if (p->cte == MIME_CTE_BASE64)
		mime_base64_decode(c, bl, b, 0);
	else if (p->cte == MIME_CTE_QP)
		mime_qp_decode(c, bl, b, 0, 0);
	else
		sbuf_append(b, c, bl);
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

/* The parts under p in document order; recursion as deep as the tree,
 * which mime_parse() cut at SPAMD_MAX_DEPTH. */
static void walk(const struct mime_part *p, size_t len, struct sbuf *b,
		 struct spamd_text *t)
{
	const struct mime_part *ch;
	const char *bnd;

	if (p->depth > 0)
		part_type(p, t);
	if (p->flags & MIME_F_MULTIPART) {
		/* a multipart without a boundary is a part we cannot read */
		bnd = mime_ctype_param(&p->ct, "boundary");
		if (p->child == NULL && (bnd == NULL || *bnd == '\0'))
			t->parts++;
		for (ch = p->child; ch; ch = ch->next)
			walk(ch, len, b, t);
	} else if (p->flags & MIME_F_RFC822) {
		/* an attached message: its header and body come next */
		if (p->child)
			walk(p->child, len, b, t);
	} else {
		leaf(p, len, b, t);
	}
}

int spamd_text_extract(const char *msg, size_t len, size_t scan,
		       struct spamd_text *t)
{
	static const struct mime_limits lim = {SPAMD_MAX_DEPTH,
					       2 * SPAMD_MAX_PARTS};
	struct mime_part *root;
	struct sbuf scratch;

	memset(t, 0, sizeof(*t));
	sbuf_init(&t->hdr, HDR_MAX);
	sbuf_init(&t->body, scan);
	if (len > scan)
		len = scan;
	root = mime_parse(msg, len, &lim);
	if (root == NULL || sbuf_puts(&t->hdr, "") < 0 ||
	    sbuf_puts(&t->body, "") < 0) {
		mime_free(&root);
		spamd_text_free(t);
		sbuf_init(&t->hdr, 0);
		sbuf_init(&t->body, 0);
		return -1;
	}
	top_fields(root, t);
	sbuf_init(&scratch, scan);
	walk(root, len, &scratch, t);
	sbuf_free(&scratch);
	mime_free(&root);
	return 0;
}

void spamd_text_free(struct spamd_text *t)
{
	sbuf_free(&t->hdr);
	sbuf_free(&t->body);
}

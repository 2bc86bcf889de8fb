/*
 * NAME
 *	store_mime_sort - what SORT and THREAD (RFC 5256) take from a message
 * DESCRIPTION
 *	The base subject of RFC 5256 2.1 (encoded words decoded, white space
 *	collapsed, "Re:", "Fwd:", "[blob]" leaders, "(fwd)" trailers and
 *	"[fwd: ...]" wrappers taken off; upper-cased ASCII, as
 *	i;ascii-casemap compares), the addr-mailbox of the first address of
 *	a field (SORT CC, FROM, TO), and the message identifiers THREAD=
 *	REFERENCES links by (Message-ID; References, else In-Reply-To).
 *	Every result is cut at MIME_SORT_KEY_MAX bytes and at most
 *	MIME_THREAD_REFS references are kept (the last ones, nearest the
 *	message), so a hostile header costs bounded memory per message.
 *	Pure functions on the parsed tree; the header is hostile input.
 */
#include "store_mime_int.h"

#include <string.h>
#include <strings.h>

#include "sbuf.h"

static void upcase(char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] >= 'a' && s[i] <= 'z')
			s[i] = (char)(s[i] - 32);
}

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* subj-blob = "[" *BLOBCHAR "]" *WSP at s[i]: the index after it, or 0
 * when there is none. */
static size_t blob(const char *s, size_t i, size_t n)
{
	if (i >= n || s[i] != '[')
		return 0;
	for (i++; i < n && s[i] != ']'; i++)
		if (s[i] == '[')
			return 0;
	if (i >= n)
		return 0;
	for (i++; i < n && is_wsp(s[i]); i++)
		;
	return i;
}

/* subj-leader = (*subj-blob subj-refwd) / WSP at the start of s[0..n);
 * subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":". The length
 * of the leader, 0 when there is none. */
static size_t leader(const char *s, size_t n)
{
	size_t i = 0, b;

	if (n > 0 && is_wsp(s[0]))
		return 1;
	while ((b = blob(s, i, n)) != 0)
		i = b;
	if (i + 2 <= n && strncasecmp(s + i, "re", 2) == 0)
		i += 2;
	else if (i + 2 <= n && strncasecmp(s + i, "fw", 2) == 0)
		i += i + 2 < n && (s[i + 2] | 0x20) == 'd' ? 3 : 2;
	else
		return 0;
	while (i < n && is_wsp(s[i]))
		i++;
	if ((b = blob(s, i, n)) != 0)
		i = b;
	return i < n && s[i] == ':' ? i + 1 : 0;
}

int mime_base_subject(const struct mime_part *root, struct sbuf *out)
{
	struct sbuf raw, dec;
	const char *s;
	size_t b = 0, e, i, k, cut;
	int reply = 0, changed;

	sbuf_init(&raw, MIME_MAX_FIELD);
	sbuf_init(&dec, MIME_MAX_FIELD);
	mime_hdr_get(root, "subject", &raw);
	/* (1) encoded words decoded, runs of white space made one space */
	mime_decode_2047(raw.data ? raw.data : "", raw.len, &dec, 1);
	for (i = k = 0; i < dec.len; i++) {
		char c = dec.data[i];

		if (c == '\t' || c == '\r' || c == '\n')
			c = ' ';
		if (c == ' ' && k > 0 && dec.data[k - 1] == ' ')
			continue;
		dec.data[k++] = c;
	}
	dec.len = k;
	s = dec.data ? dec.data : "";
	e = dec.len;
	for (;;) {
		/* (2) trailing white space and "(fwd)" */
		for (;;) {
			if (e > b && is_wsp(s[e - 1]))
				e--;
			else if (e - b >= 5 &&
				 strncasecmp(s + e - 5, "(fwd)", 5) == 0) {
				e -= 5;
				reply = 1;
			} else {
				break;
			}
		}
		/* (3) leaders, (4) a leading blob before a non-empty rest */
		do {
			changed = 0;
			while ((cut = leader(s + b, e - b)) != 0) {
				reply |= !is_wsp(s[b]);
				b += cut;
				changed = 1;
			}
			cut = blob(s, b, e);
			if (cut != 0 && cut < e) {
				b = cut;
				changed = 1;
			}
		} while (changed);
		/* (5) "[fwd:" ... "]" around it: once more from (2) */
		if (e - b >= 6 && strncasecmp(s + b, "[fwd:", 5) == 0 &&
		    s[e - 1] == ']') {
			b += 5;
			e--;
			reply = 1;
			continue;
		}
		break;
	}
	k = out->len;
	sbuf_append(out, s + b, e - b < MIME_SORT_KEY_MAX ? e - b :
		    MIME_SORT_KEY_MAX);
	if (out->data)
		upcase(out->data + k, out->len - k);
	sbuf_free(&raw);
	sbuf_free(&dec);
	return reply;
}

void mime_first_mailbox(const struct mime_part *root, const char *field,
			struct sbuf *out)
{
	struct sbuf v, box;

	sbuf_init(&v, MIME_MAX_FIELD);
	sbuf_init(&box, MIME_MAX_FIELD);
	if (mime_hdr_get(root, field, &v))
		mime_addr_first(v.data ? v.data : "", v.len, &box);
	if (box.len > MIME_SORT_KEY_MAX)
		box.len = MIME_SORT_KEY_MAX;
	if (box.data)
		upcase(box.data, box.len);
	sbuf_append(out, box.data ? box.data : "", box.len);
	sbuf_free(&v);
	sbuf_free(&box);
}

/* Append the "<...>" identifiers of v[0..n) to out, each followed by a
 * NUL, the last max of them; too long ones are skipped. Returns how
 * many. */
static size_t ids(const char *v, size_t n, struct sbuf *out, size_t max)
{
	size_t i = 0, j, count = 0, start = out->len, drop;
	const char *p;

	while (i < n && (p = memchr(v + i, '<', n - i)) != NULL) {
		i = (size_t)(p - v);
		for (j = i + 1; j < n && v[j] != '>' && v[j] != '<'; j++)
			;
		if (j >= n || v[j] != '>') {
			i = j;
			continue;
		}
		if (j + 1 - i <= MIME_SORT_KEY_MAX && j > i + 1) {
			if (count == max) {
				/* keep the last ones: drop the oldest */
				drop = strlen(out->data + start) + 1;
				memmove(out->data + start, out->data + start +
					drop, out->len - start - drop);
				out->len -= drop;
				count--;
			}
			sbuf_append(out, v + i, j + 1 - i);
			sbuf_append(out, "", 1);
			count++;
		}
		i = j + 1;
	}
	return count;
}

size_t mime_thread_ids(const struct mime_part *root, struct sbuf *msgid,
		       struct sbuf *refs)
{
	struct sbuf v;
	size_t n;

	sbuf_init(&v, MIME_MAX_FIELD);
	if (mime_hdr_get(root, "message-id", &v))
		ids(v.data ? v.data : "", v.len, msgid, 1);
	sbuf_reset(&v);
	n = 0;
	if (mime_hdr_get(root, "references", &v))
		n = ids(v.data ? v.data : "", v.len, refs, MIME_THREAD_REFS);
	if (n == 0) {
		sbuf_reset(&v);
		if (mime_hdr_get(root, "in-reply-to", &v))
			n = ids(v.data ? v.data : "", v.len, refs, 1);
	}
	sbuf_free(&v);
	return n;
}

/*
 * NAME
 *	spamd_html - the text of an HTML part
 * DESCRIPTION
 *	Tags and comments go, so do style and script elements; a few
 *	character references become their characters; the URLs of links
 *	stay (" http://host/ ") so their host names become tokens. A tag
 *	that does not separate words (b, font, ...) leaves nothing behind,
 *	so "V<b></b>iagra" is one word again. Bounded: the output is never
 *	longer than the input nor than the buffer's max. Faces the network
 *	(the message is the sender's); pure, fuzzed.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "spamd.h"

/* A '<' without a '>' this close is text: the search stays linear. */
#define TAG_MAX 4096

/* Room for up to n more bytes in b (less when b is near its max);
 * returns how many bytes may be written at b->data + b->len. */
size_t spamd_room(struct sbuf *b, size_t n)
{
	size_t left = b->max - b->len;

	if (n > left)
		n = left;
	while (n > 0 && sbuf_reserve(b, n) < 0)
		n /= 2;
	return n;
}

void spamd_put(struct sbuf *b, size_t *lim, char c)
{
	if (*lim == 0)
		return;
	b->data[b->len++] = c == '\0' ? ' ' : c;
	b->data[b->len] = '\0';
	(*lim)--;
}

/* A link target in the attributes of a tag: " http://host/ ". */
static void tag_url(const char *tag, size_t n, struct sbuf *b, size_t *lim)
{
	const char *p = tag, *end = tag + n, *u;

	while (p < end && (p = memchr(p, '=', (size_t)(end - p))) != NULL) {
		p++;
		while (p < end && (*p == '"' || *p == '\'' || *p == ' '))
			p++;
		if (end - p < 8 || (strncasecmp(p, "http://", 7) != 0 &&
				    strncasecmp(p, "https://", 8) != 0))
			continue;
		spamd_put(b, lim, ' ');
		for (u = p; u < end && *u != '"' && *u != '\'' && *u != ' ' &&
		     *u != '>'; u++) {
			spamd_put(b, lim, *u);
			if (*u == '/' && u - p > 8)
				break;	/* the host is enough */
		}
		spamd_put(b, lim, ' ');
	}
}

/* Tags that do not separate words: "V<b></b>iagra" stays one word. */
static int inline_tag(const char *name, size_t n)
{
	static const char *const tags[] = {"a", "b", "i", "u", "em", "font",
		"span", "strong", "small", "big", "sub", "sup", "s", NULL};
	size_t i;

	for (i = 0; tags[i]; i++)
		if (strlen(tags[i]) == n && strncasecmp(name, tags[i], n) == 0)
			return 1;
	return 0;
}

static const char *find_ci(const char *p, const char *end, const char *what)
{
	size_t n = strlen(what);

	for (; end - p >= (long)n; p++)
		if (strncasecmp(p, what, n) == 0)
			return p;
	return NULL;
}

/* An HTML character reference at p ("&amp;", "&#65;"); returns what
 * follows it. Unknown names become a space, a lone '&' stays. */
static const char *html_entity(const char *p, const char *end,
			       struct sbuf *b, size_t *lim)
{
	static const struct {
		const char *name;
		char c;
	} names[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'},
		     {"nbsp", ' '}, {"apos", '\''}, {NULL, 0}};
	const char *semi = p + 1;
	long v = 0;
	size_t i, n;

	while (semi < end && semi - p < 10 && isalnum((unsigned char)*semi))
		semi++;
	if (semi < end && *semi == '#' && semi == p + 1)
		for (semi++; semi < end && semi - p < 10 &&
		     isdigit((unsigned char)*semi); semi++)
			v = v * 10 + (*semi - '0');
	if (semi >= end || *semi != ';' || semi == p + 1) {
		spamd_put(b, lim, '&');
		return p + 1;
	}
	n = (size_t)(semi - p - 1);
	if (p[1] == '#') {
		spamd_put(b, lim, v > 0 && v < 256 ? (char)v : ' ');
		return semi + 1;
	}
	for (i = 0; names[i].name; i++)
		if (strlen(names[i].name) == n &&
		    strncasecmp(p + 1, names[i].name, n) == 0)
			break;
	spamd_put(b, lim, names[i].name ? names[i].c : ' ');
	return semi + 1;
}

/* HTML to its text: tags and comments go, the content of style and
 * script elements goes, a few entities become their characters, link
 * URLs stay. Output is never longer than input. */
void spamd_html_strip(const char *p, size_t n, struct sbuf *b)
{
	const char *end = p + n, *gt, *name, *q;
	size_t lim = spamd_room(b, n), nl, look;

	while (p < end && lim > 0) {
		look = end - p < TAG_MAX ? (size_t)(end - p) : TAG_MAX;
		if (*p == '<' && end - p >= 4 && memcmp(p, "<!--", 4) == 0) {
			q = find_ci(p + 4, end, "-->");
			p = q ? q + 3 : end;
		} else if (*p == '<' && (gt = memchr(p, '>', look)) != NULL) {
			name = p + 1 + (p[1] == '/');
			for (nl = 0; name + nl < gt && isalnum((unsigned char)
							      name[nl]);)
				nl++;
			if (p[1] != '/' && ((nl == 5 && !strncasecmp(name,
							"style", 5)) ||
					    (nl == 6 && !strncasecmp(name,
							"script", 6)))) {
				q = find_ci(gt, end, nl == 5 ? "</style" :
					    "</script");
				gt = q ? memchr(q, '>', (size_t)(end - q)) :
				     NULL;
				if (gt == NULL)
					gt = end - 1;
			} else {
				tag_url(p, (size_t)(gt - p), b, &lim);
			}
			if (!inline_tag(name, nl))
				spamd_put(b, &lim, ' ');
			p = gt + 1;
		} else if (*p == '&') {
			p = html_entity(p, end, b, &lim);
		} else {
			spamd_put(b, &lim, *p++);
		}
	}
}


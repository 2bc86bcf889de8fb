/*
 * NAME
 *	store_imap_catenate - APPEND ... CATENATE (RFC 4469)
 * DESCRIPTION
 *	A message built from parts: TEXT literals as they are, and URL parts
 *	naming (a section of) a message in one of the user's own folders,
 *	as IMAP URLs (RFC 5092) of the forms
 *
 *		/mailbox[;UIDVALIDITY=n]/;UID=n[/;SECTION=s][/;PARTIAL=o[.l]]
 *		;UID=n[/;SECTION=s][/;PARTIAL=o[.l]]	(the selected one)
 *		imap://authority/mailbox...		(authority ignored:
 *							 own folders only)
 *
 *	with %XX escapes. A URL that is malformed or names nothing is NO
 *	[BADURL "url"]; a result over max_message_size is NO [TOOBIG].
 *	The URL comes from the client: the mailbox name goes through
 *	store_mbox's checks like any other. Faces the network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store.h"
#include "store_imap_core.h"
#include "store_mbox.h"
#include "store_mime.h"

struct imap_url {
	char mailbox[MBOX_NAME_MAX + 1];	/* "" : the selected one */
	uint32_t uidvalidity, uid;	/* uidvalidity 0: not given */
	char section[256];
	int partial;
	uint32_t off, len;		/* len 0: to the end */
};

static int hexv(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* %XX-decode s[0..n) into out (size outlen). 0, or -1 when malformed,
 * too long or a NUL. */
static int unescape(const char *s, size_t n, char *out, size_t outlen)
{
	size_t i, k = 0;
	int h, l;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			if (i + 2 >= n || (h = hexv(s[i + 1])) < 0 ||
			    (l = hexv(s[i + 2])) < 0)
				return -1;
			c = (char)(h * 16 + l);
			i += 2;
		}
		if (c == '\0' || k + 1 >= outlen)
			return -1;
		out[k++] = c;
	}
	out[k] = '\0';
	return 0;
}

static int number(const char **p, uint32_t *v)
{
	unsigned long long x = 0;
	const char *s = *p;

	if (*s < '1' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++)
		if ((x = x * 10 + (unsigned)(*s - '0')) > 0xffffffffULL)
			return -1;
	*v = (uint32_t)x;
	*p = s;
	return 0;
}

/* Parse url (NUL-terminated). 0 or -1. */
static int parse_url(const char *url, struct imap_url *u)
{
	const char *p = url, *e;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(p, "imap://", 7) == 0) {
		p = strchr(p + 7, '/');
		if (p == NULL)
			return -1;
	}
	if (*p == '/') {
		p++;
		e = p + strcspn(p, ";/");
		if (e == p || unescape(p, (size_t)(e - p), u->mailbox,
				       sizeof(u->mailbox)) < 0)
			return -1;
		p = e;
		if (strncasecmp(p, ";UIDVALIDITY=", 13) == 0) {
			p += 13;
			if (number(&p, &u->uidvalidity) < 0)
				return -1;
		}
		if (*p++ != '/')
			return -1;
	}
	if (strncasecmp(p, ";UID=", 5) != 0)
		return -1;
	p += 5;
	if (number(&p, &u->uid) < 0)
		return -1;
	if (strncasecmp(p, "/;SECTION=", 10) == 0) {
		p += 10;
		e = p + strcspn(p, "/");
		if (unescape(p, (size_t)(e - p), u->section,
			     sizeof(u->section)) < 0 ||
		    !mime_section_valid(u->section))
			return -1;
		p = e;
	}
	if (strncasecmp(p, "/;PARTIAL=", 10) == 0) {
		p += 10;
		u->partial = 1;
		if (*p == '0' && (p[1] == '.' || p[1] == '\0'))
			p++;	/* offset 0 */
		else if (number(&p, &u->off) < 0)
			return -1;
		if (*p == '.') {
			p++;
			if (number(&p, &u->len) < 0)
				return -1;
		}
	}
	return *p == '\0' ? 0 : -1;
}

/* Append what url names to out. 0, -1 (nothing there), or -2 (out
 * would grow past its max). */
static int url_bytes(struct imap_sess *s, const char *url, struct sbuf *out)
{
	struct imap_url u;
	struct mbox *m;
	struct mime_part *root;
	struct sbuf msg, part;
	const struct sbuf *src;
	const char *name;
	char err[128];
	uint32_t seq;
	size_t off, n;
	int rc = -1;

	if (parse_url(url, &u) < 0)
		return -1;
	name = u.mailbox[0] ? u.mailbox : s->mbox_name;
	if (name == NULL)
		return -1;
	m = mbox_open(imap_store(s)->mbox, s->user, name, 1, err,
		      sizeof(err));
	if (m == NULL)
		return -1;
	sbuf_init(&msg, (size_t)imap_store(s)->cfg->max_message_size * 2 +
		  65536);
	sbuf_init(&part, msg.max);
	if ((u.uidvalidity == 0 || u.uidvalidity == mbox_uidvalidity(m)) &&
	    (seq = mbox_seq(m, u.uid)) != 0 && mbox_read(m, seq, &msg) == 0) {
		src = &msg;
		rc = 0;
		if (u.section[0]) {
			root = mime_parse(msg.data ? msg.data : "", msg.len,
					  NULL);
			rc = root ? mime_section(root, u.section, &part) : -1;
			mime_free(&root);
			src = &part;
		}
		off = u.off < src->len ? u.off : src->len;
		n = src->len - off;
		if (u.partial && u.len && u.len < n)
			n = u.len;
		if (rc == 0 && sbuf_append(out, src->data ? src->data + off :
					   "", n) < 0)
			rc = -2;
	}
	sbuf_free(&part);
	sbuf_free(&msg);
	mbox_close(&m);
	return rc;
}

/* NO [BADURL url] (RFC 4469 6: url-resp-text has no "]" and no CR, LF,
 * NUL; such bytes are shown as "?"). */
static void bad_url(struct imap_sess *s, const struct imap_cmd *cmd,
		    const char *url)
{
	char safe[512];
	size_t i;

	for (i = 0; url[i] && i + 1 < sizeof(safe); i++)
		safe[i] = url[i] == ']' || (unsigned char)url[i] < 0x20 ||
			  (unsigned char)url[i] == 0x7f ? '?' : url[i];
	safe[i] = '\0';
	imap_no(s, cmd->tag, "[BADURL %s] No such message or part", safe);
}

int imap_catenate(struct imap_sess *s, const struct imap_cmd *cmd,
		  size_t *i, struct sbuf *out)
{
	size_t k, end;
	const char *url;

	if (*i + 1 >= cmd->nargs || cmd->args[*i + 1].type != IMAP_ARG_LIST ||
	    cmd->args[*i + 1].nsub == 0) {
		imap_bad(s, cmd->tag, "Syntax: CATENATE (TEXT literal / URL "
			 "url ...)");
		return -1;
	}
	end = imap_arg_next(cmd, *i + 1);
	for (k = *i + 2; k < end; k += 2) {
		if (k + 1 >= end) {
			imap_bad(s, cmd->tag, "CATENATE part without value");
			return -1;
		}
		if (imap_arg_is(cmd, k, "TEXT") &&
		    cmd->args[k + 1].type == IMAP_ARG_LITERAL) {
			if (sbuf_append(out, cmd->args[k + 1].s,
					cmd->args[k + 1].len) < 0)
				goto toobig;
			continue;
		}
		if (!imap_arg_is(cmd, k, "URL") ||
		    (url = imap_arg_str(cmd, k + 1)) == NULL ||
		    cmd->args[k + 1].type == IMAP_ARG_LIST) {
			imap_bad(s, cmd->tag, "Syntax: CATENATE (TEXT literal "
				 "/ URL url ...)");
			return -1;
		}
		switch (url_bytes(s, url, out)) {
		case -2:
			goto toobig;
		case -1:
			bad_url(s, cmd, url);
			return -1;
		}
	}
	*i = end;
	return 0;
toobig:
	imap_no(s, cmd->tag, "[TOOBIG] The message would be too large");
	return -1;
}

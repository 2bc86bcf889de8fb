/*
 * NAME
 *	addr - RFC 5321 paths (Reverse-path, Forward-path)
 * DESCRIPTION
 *	RFC 5321 4.1.2:
 *	  Path = "<" [ A-d-l ":" ] Mailbox ">"
 *	  A-d-l = At-domain *( "," At-domain ) ; At-domain = "@" Domain
 *	  Mailbox = Local-part "@" ( Domain / address-literal )
 *	  Local-part = Dot-string / Quoted-string
 *	  Dot-string = Atom *("." Atom)
 *	  Quoted-string = DQUOTE *QcontentSMTP DQUOTE
 *	  Domain = sub-domain *("." sub-domain)
 *	RFC 6531 3.3 extends atext and sub-domain with UTF-8 (validated
 *	here: no overlong forms, no surrogates). Limits from 4.5.3.1.
 */
#include "addr.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* Length of one well-formed UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* A UTF-8 character at p inside an address: allowed only with SMTPUTF8
 * (RFC 6531 3.3) and well-formed. Returns its length, or 0 with *err. */
static size_t utf8_char(const unsigned char *p, unsigned opts,
			unsigned *flags, const char **err)
{
	size_t ul;

	if (!(opts & ADDR_OPT_UTF8)) {
		*err = "non-ASCII address without SMTPUTF8";
		return 0;
	}
	ul = utf8_len(p, strlen((const char *)p));
	if (ul == 0) {
		*err = "invalid UTF-8";
		return 0;
	}
	*flags |= ADDR_UTF8;
	return ul;
}

static int is_atext(int c)
{
	return isalnum(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* Parse a Domain or address-literal at s, up to a byte in stop. Returns
 * its length, or 0 on error. */
static size_t parse_domain(const char *s, const char *stop, unsigned opts,
			   unsigned *flags, const char **err)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, label = 0, ul;

	if (p[0] == '[') {
		for (i = 1; p[i] && p[i] != ']'; i++)
			if (p[i] < 0x21 || p[i] > 0x7e || p[i] == '[' ||
			    p[i] == '\\') {
				*err = "bad address literal";
				return 0;
			}
		if (p[i] != ']' || i < 3) {
			*err = "bad address literal";
			return 0;
		}
		*flags |= ADDR_IP_LITERAL;
		return i + 1;
	}
	for (;;) {
		if (p[i] == '\0' || strchr(stop, p[i]) != NULL) {
			if (label == 0) {
				*err = i ? "empty domain label" : "missing domain";
				return 0;
			}
			return i;
		}
		if (p[i] == '.') {
			if (label == 0) {
				*err = "empty domain label";
				return 0;
			}
			label = 0;
			i++;
			continue;
		}
		if (p[i] >= 0x80) {
			ul = utf8_char(p + i, opts, flags, err);
			if (ul == 0)
				return 0;
			i += ul;
			label += ul;
		} else if (isalnum(p[i]) || (p[i] == '-' && label > 0)) {
			i++;
			label++;
		} else {
			*err = "bad character in domain";
			return 0;
		}
		if (label > 63) {
			*err = "domain label too long";
			return 0;
		}
		if (i > LIM_DOMAIN) {
			*err = "domain too long";
			return 0;
		}
	}
}

/* Parse the Local-part at s (up to '@'). Returns its length or 0. */
static size_t parse_local(const char *s, unsigned opts, unsigned *flags,
			  const char **err)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, ul;
	int atom = 0;

	if (p[0] == '"') {
		*flags |= ADDR_QUOTED;
		for (i = 1; p[i] && p[i] != '"'; i++) {
			if (p[i] == '\\') {
				i++;
				if (p[i] < 0x20 || p[i] > 0x7e) {
					*err = "bad quoted pair";
					return 0;
				}
			} else if (p[i] >= 0x80) {
				ul = utf8_char(p + i, opts, flags, err);
				if (ul == 0)
					return 0;
				i += ul - 1;
			} else if (p[i] < 0x20 || p[i] == 0x7f) {
				*err = "control character in local part";
				return 0;
			}
			if (p[i] == '@' || p[i] == '%' || p[i] == '!')
				*flags |= ADDR_ROUTING;
		}
		if (p[i] != '"') {
			*err = "unbalanced quote";
			return 0;
		}
		return i + 1;
	}
	for (;;) {
		if (p[i] == '.') {
			if (!atom) {
				*err = "empty atom in local part";
				return 0;
			}
			atom = 0;
			i++;
		} else if (p[i] >= 0x80) {
			ul = utf8_char(p + i, opts, flags, err);
			if (ul == 0)
				return 0;
			i += ul;
			atom = 1;
		} else if (is_atext(p[i])) {
			if (p[i] == '%' || p[i] == '!')
				*flags |= ADDR_ROUTING;
			i++;
			atom = 1;
		} else {
			break;
		}
	}
	if (!atom) {
		*err = i ? "local part ends with a dot" : "empty local part";
		return 0;
	}
	return i;
}

int addr_parse_path(const char *s, unsigned opts, struct addr *a,
		    const char **rest_r, const char **err_r)
{
	const char *p = s, *end;
	size_t n, ln, dn, i;

	memset(a, 0, sizeof(*a));
	*err_r = "syntax error";
	if (*p != '<') {
		*err_r = "address must be in <>";
		return -1;
	}
	end = strchr(p, '>');
	/* a '>' inside a quoted local part is rare; we refuse the
	 * ambiguity: the path ends at the first '>' outside quotes */
	for (i = 1, n = 0; p[i]; i++) {
		if (p[i] == '"')
			n ^= 1;
		else if (p[i] == '\\' && n && p[i + 1])
			i++;
		else if (p[i] == '>' && !n)
			break;
	}
	if (p[i] != '>') {
		*err_r = end ? "unbalanced quote" : "missing '>'";
		return -1;
	}
	end = p + i;
	if ((size_t)(end - p + 1) > LIM_PATH) {
		*err_r = "path too long";
		return -1;
	}
	*rest_r = end + 1;
	p++;
	if (p == end) {
		if (!(opts & ADDR_OPT_NULL_OK)) {
			*err_r = "null address not allowed here";
			return -1;
		}
		a->flags |= ADDR_NULL;
		return 0;
	}
	if ((opts & ADDR_OPT_POSTMASTER) && end - p == 10 &&
	    strncasecmp(p, "postmaster", 10) == 0) {
		memcpy(a->mailbox, p, 10);
		memcpy(a->local, p, 10);
		a->flags |= ADDR_POSTMASTER;
		return 0;
	}
	if (*p == '@') {
		/* A-d-l: accepted and ignored (RFC 5321 4.1.2, C.1) but
		 * flagged: relaying through it is refused by policy */
		a->flags |= ADDR_SOURCE_ROUTE;
		for (;;) {
			if (*p != '@')
				return -1;
			p++;
			dn = parse_domain(p, ",:>", opts, &a->flags, err_r);
			if (dn == 0)
				return -1;
			p += dn;
			if (*p == ':')
				break;
			if (*p != ',') {
				*err_r = "bad source route";
				return -1;
			}
			p++;
		}
		p++;
		a->flags &= ~(unsigned)ADDR_IP_LITERAL;
	}
	ln = parse_local(p, opts, &a->flags, err_r);
	if (ln == 0)
		return -1;
	if (p[ln] != '@') {
		*err_r = p[ln] == '>' ? "missing domain" : "bad character in "
			 "local part";
		return -1;
	}
	if (ln > LIM_LOCAL_PART) {
		*err_r = "local part too long";
		return -1;
	}
	memcpy(a->local, p, ln);
	a->local[ln] = '\0';
	dn = parse_domain(p + ln + 1, ">", opts, &a->flags, err_r);
	if (dn == 0)
		return -1;
	if (p + ln + 1 + dn != end) {
		*err_r = "bad character in domain";
		return -1;
	}
	memcpy(a->domain, p + ln + 1, dn);
	a->domain[dn] = '\0';
	for (i = 0; i < dn && !(a->flags & ADDR_IP_LITERAL); i++)
		if ((unsigned char)a->domain[i] < 0x80)
			a->domain[i] = (char)tolower((unsigned char)a->domain[i]);
	memcpy(a->mailbox, p, ln + 1);
	memcpy(a->mailbox + ln + 1, a->domain, dn + 1);
	return 0;
}

int addr_domain_valid(const char *d)
{
	unsigned flags = 0;
	const char *err;
	size_t n = parse_domain(d, "", ADDR_OPT_UTF8, &flags, &err);

	return n > 0 && d[n] == '\0';
}

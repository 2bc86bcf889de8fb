/*
 * NAME
 *	spamd_lists - users' own allow and block lists of senders
 * DESCRIPTION
 *	A user's lists are one file, sender_lists_dir/ADDRESS (the
 *	recipient address in lower case; none: no lists), of lines
 *	    allow PATTERN
 *	    block PATTERN
 *	('#' starts a comment line), a PATTERN being an address
 *	(local@domain, any case) or a domain (@domain or domain: that
 *	domain and its subdomains). A message's senders are its envelope
 *	sender and the mailboxes of its From field (spamd_hdr.c). The most
 *	specific
 *	pattern that matches one of them decides: an address before a
 *	domain, a longer domain before a shorter one, block before allow
 *	at the same rank. The file is read when a message for the user is
 *	scored (a worker thread; at most SPAMD_LIST_MAX bytes of it); the
 *	admin or a tool writes it, spamd never does.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spamd.h"

#define SPAMD_LIST_MAX 65536	/* bytes of a user's file read */

/* How specifically pattern p matches address a: 0 not at all, a domain
 * match ranks 1 + its length, an address 100000. */
static long rank(const char *p, const char *a)
{
	const char *at = strrchr(a, '@'), *d;
	size_t pl, dl;

	if (strchr(p, '@') != NULL && p[0] != '@')
		return strcasecmp(p, a) == 0 ? 100000 : 0;
	if (at == NULL)
		return 0;
	p += p[0] == '@';
	d = at + 1;
	pl = strlen(p);
	dl = strlen(d);
	if (pl == 0 || pl > dl || strcasecmp(d + dl - pl, p) != 0 ||
	    (pl < dl && d[dl - pl - 1] != '.'))
		return 0;
	return 1 + (long)pl;
}

int spamd_list_verdict(const char *dir, const char *rcpt,
		       char senders[][LIM_PATH + 1], size_t nsenders)
{
	char path[4096 + LIM_PATH + 2], line[LIM_PATH + 32], name[LIM_PATH + 1];
	char *buf, *p, *pat, *end;
	const char *l, *nl, *stop;
	long best = 0, r;
	size_t i, len;
	int verdict = SPAMD_LIST_NONE, block;
	FILE *f;

	if (dir == NULL || *dir == '\0' || nsenders == 0 ||
	    strlen(rcpt) > LIM_PATH || rcpt[0] == '.' || rcpt[0] == '\0' ||
	    strchr(rcpt, '/') != NULL)
		return SPAMD_LIST_NONE;
	for (i = 0; rcpt[i]; i++)
		name[i] = (char)tolower((unsigned char)rcpt[i]);
	name[i] = '\0';
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return SPAMD_LIST_NONE;
	/* the bytes as they are (fgets hides a line's length behind a NUL,
	 * and the line after one was taken for the rest of a long line);
	 * one byte more than is read tells a cut last line */
	buf = malloc(SPAMD_LIST_MAX + 1);
	len = buf ? fread(buf, 1, SPAMD_LIST_MAX + 1, f) : 0;
	fclose(f);
	if (buf == NULL)
		return SPAMD_LIST_NONE;
	stop = buf + (len > SPAMD_LIST_MAX ? SPAMD_LIST_MAX : len);
	for (l = buf; l < stop; l = nl + 1) {
		nl = memchr(l, '\n', (size_t)(stop - l));
		if (nl == NULL) {
			if (len > SPAMD_LIST_MAX)
				break;	/* cut by the limit: not read */
			nl = stop;
		}
		/* over-long lines and lines with a NUL byte are no lines */
		if ((size_t)(nl - l) >= sizeof(line) ||
		    memchr(l, '\0', (size_t)(nl - l)) != NULL)
			continue;
		memcpy(line, l, (size_t)(nl - l));
		line[nl - l] = '\0';
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (strncmp(p, "allow", 5) == 0)
			block = 0;
		else if (strncmp(p, "block", 5) == 0)
			block = 1;
		else
			continue;	/* comments, blank, unknown */
		for (pat = p + 5; *pat == ' ' || *pat == '\t'; pat++)
			;
		if (pat == p + 5)
			continue;
		for (end = pat; *end && !isspace((unsigned char)*end); end++)
			;
		*end = '\0';
		for (i = 0; i < nsenders; i++) {
			r = rank(pat, senders[i]);
			if (r > best || (r == best && r > 0 && block)) {
				best = r;
				verdict = block ? SPAMD_LIST_BLOCK :
					  SPAMD_LIST_ALLOW;
			}
		}
	}
	free(buf);
	return verdict;
}

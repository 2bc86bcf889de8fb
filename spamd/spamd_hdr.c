/*
 * NAME
 *	spamd_hdr - what the learner and the users' lists read of a header
 * DESCRIPTION
 *	Pure functions on the header section of a message, which is the
 *	sender's (the learn listener's messages come from the trusted
 *	store, but were the sender's first): the ID a message is learnt by
 *	(its Message-ID, else its body) and the senders the lists look at
 *	(the envelope sender and the mailboxes of the From field, parsed
 *	strictly by addrlist.h: a From that does not parse counts for
 *	nothing). Fuzzed by spamd_hdr_fuzz.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addrlist.h"
#include "spamd.h"

/* Where the header section of msg ends (its length, the blank line
 * included; len when there is none). */
static size_t header_end(const char *msg, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (msg[i] != '\n')
			continue;
		if (msg[i + 1] == '\n')
			return i + 2;
		if (msg[i + 1] == '\r' && i + 2 < len && msg[i + 2] == '\n')
			return i + 3;
	}
	return len;
}

/* The first field name (lower case, ending in ':') at the start of a
 * line of the header section msg[0..hlen): its body (folds and the
 * final line end included) into *v, *n. 0, or -1 when there is none. */
static int field(const char *msg, size_t hlen, const char *name,
		 const char **v, size_t *n)
{
	size_t i = 0, k = strlen(name), e;

	while (i < hlen) {
		/* i is at the start of a line */
		if (i + k <= hlen && strncasecmp(msg + i, name, k) == 0) {
			for (e = i + k; e < hlen; e++)
				if (msg[e] == '\n' && (e + 1 >= hlen ||
				    (msg[e + 1] != ' ' && msg[e + 1] != '\t')))
					break;
			*v = msg + i + k;
			*n = e - (i + k) + (e < hlen);
			return 0;
		}
		while (i < hlen && msg[i] != '\n')
			i++;
		i++;
	}
	return -1;
}

/* FNV-1a of p without its CRs: a body stored with LF line ends has the
 * ID it had with CRLF on the wire. */
static uint64_t body_hash(const char *p, size_t n, size_t *kept)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	*kept = 0;
	for (i = 0; i < n; i++) {
		if (p[i] == '\r')
			continue;
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
		(*kept)++;
	}
	return h;
}

void bayes_msg_id(const char *msg, size_t len, char *out, size_t outlen)
{
	size_t hl = header_end(msg, len), n, kept;
	const char *v;
	uint64_t h;

	if (field(msg, hl, "message-id:", &v, &n) == 0) {
		/* blanks and the line end around the value left out */
		while (n > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			n--;
		}
		while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' ||
				 v[n - 1] == '\r' || v[n - 1] == '\n'))
			n--;
		if (n > 0) {
			snprintf(out, outlen, "mid:%016llx",
				 (unsigned long long)spamd_token_hash(v, n));
			return;
		}
	}
	h = body_hash(msg + hl, len - hl, &kept);
	snprintf(out, outlen, "body:%016llx:%zu", (unsigned long long)h,
		 kept);
}

size_t spamd_senders(const char *from, const char *msg, size_t hlen,
		     char out[][LIM_PATH + 1], size_t max)
{
	struct addrlist_mailbox mb[4];
	const char *v, *err;
	size_t n = 0, got = 0, i;

	if (from != NULL && *from && n < max)
		snprintf(out[n++], LIM_PATH + 1, "%s", from);
	if (field(msg, hlen, "from:", &v, &i) == 0 &&
	    i < ADDRLIST_MAX_INPUT &&
	    addrlist_parse(v, i, ADDRLIST_MAILBOXES, mb, 4, &got, &err) == 0)
		for (i = 0; i < got && n < max; i++)
			snprintf(out[n++], LIM_PATH + 1, "%s", mb[i].addr);
	return n;
}

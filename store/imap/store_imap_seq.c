/*
 * NAME
 *	store_imap_seq - IMAP sequence sets and dates (pure functions)
 * DESCRIPTION
 *	RFC 3501 section 9: sequence-set (numbers, "*", ranges in either
 *	order; bounded count, kept sorted and merged so membership is a
 *	binary search), date and date-time. No I/O; unit-tested with the
 *	parser and fuzzed with it. Faces the network.
 */
#include "store_imap_parse.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- mod-sequences (RFC 7162 7, mod-sequence-value) ---- */

int imap_parse_modseq(const char *s, int zero_ok, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9' || (*p == '0' && p[1] != '\0'))
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > ((1ull << 63) - 1 - (uint64_t)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p != '\0' || (v == 0 && !zero_ok))
		return -1;
	*out = v;
	return 0;
}

/* ---- sequence sets ---- */

static int seq_num(const char **sp, uint32_t star, uint32_t *v)
{
	const char *s = *sp;
	unsigned long long n = 0;

	if (*s == '*') {
		*v = star;
		*sp = s + 1;
		return 0;
	}
	if (*s < '1' || *s > '9')
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		n = n * 10 + (unsigned)(*s - '0');
		if (n > 0xffffffffULL)
			return -1;
	}
	*v = (uint32_t)n;
	*sp = s;
	return 0;
}

static int range_cmp(const void *a, const void *b)
{
	const uint32_t *x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

int imap_seqset_parse(const char *s, uint32_t star, struct imap_seqset *out)
{
	size_t cap = 8, k;
	uint32_t a, b;

	out->n = 0;
	out->r = malloc(cap * sizeof(*out->r));
	if (out->r == NULL)
		return -1;
	for (;;) {
		if (seq_num(&s, star, &a) < 0)
			goto bad;
		b = a;
		if (*s == ':') {
			s++;
			if (seq_num(&s, star, &b) < 0)
				goto bad;
		}
		if (out->n >= LIM_IMAP_SEQ_RANGES)
			goto bad;
		if (out->n == cap) {
			void *nr = realloc(out->r, 2 * cap * sizeof(*out->r));

			if (nr == NULL)
				goto bad;
			out->r = nr;
			cap *= 2;
		}
		out->r[out->n][0] = a < b ? a : b;
		out->r[out->n][1] = a < b ? b : a;
		out->n++;
		if (*s == '\0')
			break;
		if (*s++ != ',')
			goto bad;
	}
	/* sorted and merged, so membership is a binary search */
	qsort(out->r, out->n, sizeof(*out->r), range_cmp);
	for (k = 1, cap = 0; k < out->n; k++) {
		if ((unsigned long long)out->r[k][0] <=
		    (unsigned long long)out->r[cap][1] + 1) {
			if (out->r[k][1] > out->r[cap][1])
				out->r[cap][1] = out->r[k][1];
		} else {
			cap++;
			out->r[cap][0] = out->r[k][0];
			out->r[cap][1] = out->r[k][1];
		}
	}
	out->n = cap + 1;
	return 0;
bad:
	imap_seqset_free(out);
	return -1;
}

void imap_seqset_free(struct imap_seqset *set)
{
	free(set->r);
	set->r = NULL;
	set->n = 0;
}

int imap_seqset_has(const struct imap_seqset *set, uint32_t n)
{
	size_t lo = 0, hi = set->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (n < set->r[mid][0])
			hi = mid;
		else if (n > set->r[mid][1])
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

/* ---- dates ---- */

static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May",
				   "Jun", "Jul", "Aug", "Sep", "Oct",
				   "Nov", "Dec"};

static int digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/* "d-Mon-yyyy" / "dd-Mon-yyyy" (' d' too when sp): chars used or -1. */
static int date_part(const char *s, int sp, struct tm *tm)
{
	int i = 0, d, y, m;

	if (sp && s[0] == ' ')
		i = 1;
	if (digits(s + i, 1, &d) < 0)
		return -1;
	i++;
	if (i == 1 && isdigit((unsigned char)s[1])) {
		d = d * 10 + (s[1] - '0');
		i++;
	}
	if (s[i] != '-')
		return -1;
	for (m = 0; m < 12; m++)
		if (strncasecmp(s + i + 1, months[m], 3) == 0)
			break;
	if (m == 12 || s[i + 4] != '-' || digits(s + i + 5, 4, &y) < 0)
		return -1;
	if (d < 1 || d > 31 || y < 1900)
		return -1;
	memset(tm, 0, sizeof(*tm));
	tm->tm_mday = d;
	tm->tm_mon = m;
	tm->tm_year = y - 1900;
	return i + 9;
}

time_t imap_parse_date(const char *s)
{
	struct tm tm;
	int n = date_part(s, 0, &tm);

	if (n < 0 || s[n] != '\0')
		return -1;
	return timegm(&tm);
}

time_t imap_parse_datetime(const char *s)
{
	struct tm tm;
	int n = date_part(s, 1, &tm), zh, zm, sign;
	const char *t;

	if (n < 0 || s[n] != ' ')
		return -1;
	t = s + n + 1;
	if (digits(t, 2, &tm.tm_hour) < 0 || t[2] != ':' ||
	    digits(t + 3, 2, &tm.tm_min) < 0 || t[5] != ':' ||
	    digits(t + 6, 2, &tm.tm_sec) < 0 || t[8] != ' ' ||
	    (t[9] != '+' && t[9] != '-') || digits(t + 10, 2, &zh) < 0 ||
	    digits(t + 12, 2, &zm) < 0 || t[14] != '\0')
		return -1;
	if (tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60 || zm > 59)
		return -1;
	sign = t[9] == '+' ? 1 : -1;
	return timegm(&tm) - sign * (zh * 3600 + zm * 60);
}

void imap_format_datetime(time_t t, char out[32])
{
	struct tm tm;

	/* the C locale's %b is the English month IMAP wants */
	gmtime_r(&t, &tm);
	if (strftime(out, 32, "%d-%b-%Y %H:%M:%S +0000", &tm) == 0)
		snprintf(out, 32, "01-Jan-1970 00:00:00 +0000");
}

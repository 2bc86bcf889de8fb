/*
 * NAME
 *	store_mime_date - the Date: field as a time, for SEARCH SENT*
 * DESCRIPTION
 *	RFC 5322 3.3 date-time with the obsolete forms of 4.3: optional
 *	day of week, CFWS anywhere, two- and three-digit years, optional
 *	seconds, the named US zones and military letters (taken as -0000,
 *	as 4.3 advises). Pure arithmetic (no TZ, no libc time parsing).
 *	Store stage; the field is hostile input.
 */
#include "store_mime_int.h"

#include <string.h>

#include "sbuf.h"

struct dscan {
	const char *s;
	size_t i, n;
};

static void skip(struct dscan *d)
{
	d->i = mime_skip_cfws(d->s, d->i, d->n, NULL, NULL);
}

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A run of letters: its start in *w, length returned. */
static size_t word(struct dscan *d, const char **w)
{
	size_t st;

	skip(d);
	st = d->i;
	while (d->i < d->n && is_alpha((unsigned char)d->s[d->i]))
		d->i++;
	*w = d->s + st;
	return d->i - st;
}

/* A run of at most max digits; -1 when there is none. */
static long number(struct dscan *d, size_t max, size_t *ndigits)
{
	long v = 0;
	size_t st;

	skip(d);
	st = d->i;
	while (d->i < d->n && d->s[d->i] >= '0' && d->s[d->i] <= '9' &&
	       d->i - st < max)
		v = v * 10 + (d->s[d->i++] - '0');
	if (ndigits)
		*ndigits = d->i - st;
	return d->i > st ? v : -1;
}

static int punct(struct dscan *d, char c)
{
	skip(d);
	if (d->i < d->n && d->s[d->i] == c) {
		d->i++;
		return 1;
	}
	return 0;
}

static int month_of(const char *w, size_t n)
{
	static const char *const names = "janfebmaraprmayjunjulaugsepoctnovdec";
	char m[3];
	int k;

	if (n < 3)
		return -1;
	for (k = 0; k < 3; k++)
		m[k] = (char)(w[k] | 0x20);
	for (k = 0; k < 12; k++)
		if (memcmp(names + 3 * k, m, 3) == 0)
			return k + 1;
	return -1;
}

/* Minutes east of UTC of an obs-zone name (RFC 5322 4.3). */
static int zone_of(const char *w, size_t n)
{
	static const struct {
		const char *name;
		int off;
	} z[] = {
		{"ut", 0}, {"gmt", 0}, {"z", 0}, {"edt", -4 * 60},
		{"est", -5 * 60}, {"cdt", -5 * 60}, {"cst", -6 * 60},
		{"mdt", -6 * 60}, {"mst", -7 * 60}, {"pdt", -7 * 60},
		{"pst", -8 * 60},
	};
	size_t k;

	for (k = 0; k < sizeof(z) / sizeof(z[0]); k++)
		if (mime_ieq(w, n, z[k].name))
			return z[k].off;
	return 0;	/* military letters and the unknown: -0000 */
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static long long days_from_civil(long long y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static time_t parse_date(const char *s, size_t n, int *zone_r)
{
	struct dscan d = {s, 0, n};
	const char *w;
	size_t wl, nd, save;
	long day, year, hh, mm, ss = 0, z;
	int mon, zone = 0, sign;

	save = d.i;
	wl = word(&d, &w);
	if (wl) {
		punct(&d, ',');	/* day-of-week: its value is not checked */
	} else {
		d.i = save;
	}
	if ((day = number(&d, 2, NULL)) < 1 || day > 31)
		return -1;
	punct(&d, '-');	/* "23-Nov-2026" from some mailers */
	wl = word(&d, &w);
	if ((mon = month_of(w, wl)) < 0)
		return -1;
	punct(&d, '-');
	if ((year = number(&d, 4, &nd)) < 0)
		return -1;
	if (nd == 2)
		year += year < 50 ? 2000 : 1900;
	else if (nd == 3)
		year += 1900;
	if (year < 1900)
		return -1;
	if ((hh = number(&d, 2, NULL)) < 0 || !punct(&d, ':') ||
	    (mm = number(&d, 2, NULL)) < 0)
		return -1;
	if (punct(&d, ':') && (ss = number(&d, 2, NULL)) < 0)
		return -1;
	if (hh > 23 || mm > 59 || ss > 60)
		return -1;
	skip(&d);
	if (d.i < d.n && (d.s[d.i] == '+' || d.s[d.i] == '-')) {
		sign = d.s[d.i++] == '-' ? -1 : 1;
		z = number(&d, 4, &nd);
		if (z >= 0 && nd == 4 && z % 100 < 60)
			zone = sign * (int)(z / 100 * 60 + z % 100);
	} else if ((wl = word(&d, &w)) != 0) {
		zone = zone_of(w, wl);
	}
	if (zone_r)
		*zone_r = zone;
	return (time_t)(days_from_civil(year, mon, (int)day) * 86400 +
			hh * 3600 + mm * 60 + ss - zone * 60LL);
}

time_t mime_date_zone(const struct mime_part *root, int *zone_r)
{
	struct sbuf v;
	time_t t = -1;

	if (zone_r)
		*zone_r = 0;
	sbuf_init(&v, 4096);
	if (mime_hdr_get(root, "date", &v) && v.len)
		t = parse_date(v.data, v.len, zone_r);
	sbuf_free(&v);
	return t;
}

time_t mime_date(const struct mime_part *root)
{
	return mime_date_zone(root, NULL);
}

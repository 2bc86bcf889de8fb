/*
 * NAME
 *	store_dir_ldap - one-way sync of users from LDAP into the directory
 * DESCRIPTION
 *	sluicectl ldap-sync reads every entry under a base DN that matches a
 *	filter (simple bind, ldap:// or ldaps://, the password from a file)
 *	and then, in one transaction through the directory's named
 *	statements (either backend), makes the users of the managed domains
 *	match: adds the missing ones (with no password: the administrator
 *	sets one with "user passwd"), updates names, quota and enabled
 *	state, adds their aliases, and disables (never deletes) users of a
 *	managed domain that LDAP no longer has. Entries whose mail is in
 *	another domain, and every other domain, are left alone. An LDAP
 *	error ends the run before the directory is touched. The mapping of
 *	attributes is configurable (--map key=attribute); defaults are
 *	inetOrgPerson's mail, givenName and sn, and misc.schema's
 *	mailLocalAddress for aliases; quota and enabled state are synced
 *	only when mapped. Results are paged (RFC 2696; --page-size, 0 for
 *	none) so a server's size limit does not cut them. Running it twice
 *	changes nothing the second time.
 *	Only sluicectl links this file (and libldap).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ldap.h>

#include "config.h"
#include "log.h"
#include "sbuf.h"
#include "store_dir_int.h"

#define LS_MAX_DOMAINS 64
#define LS_MAX_ALIASES 64
#define LS_NAME_MAX 128		/* bytes of a first or last name */
#define LS_PAGE 500		/* entries per page asked for, by default */

enum ls_attr { LA_MAIL, LA_FIRST, LA_LAST, LA_QUOTA, LA_ENABLED, LA_ALIAS,
	       LA_COUNT };
static const char *const ls_keys[LA_COUNT] = {"mail", "first", "last",
					      "quota", "enabled", "alias"};

struct ls_user {
	char *mail;
	char *names;		/* "first last", as DQ_DOMAIN_PEOPLE shows */
	char *first, *last;
	long long quota;	/* -1: not mapped or absent */
	int enabled;
	char *alias[LS_MAX_ALIASES];
	int nalias;
	int seen;		/* also in the directory */
};

struct ls_opts {
	const char *uri, *base, *filter, *binddn, *pwfile, *cafile;
	const char *attr[LA_COUNT];
	const char *domain[LS_MAX_DOMAINS];
	int ndomain;
	int page;		/* entries per page; 0: no paging */
};

struct ls_run {
	struct ls_user *u;
	size_t n, cap;
	int added, updated, disabled, skipped, aliases;
};

static char *bv_str(const struct berval *bv)
{
	char *s = malloc(bv->bv_len + 1);

	if (s == NULL)
		abort();
	memcpy(s, bv->bv_val, bv->bv_len);
	s[bv->bv_len] = '\0';
	return s;
}

/* The first value of attribute a of entry e, or NULL. */
static char *first_value(LDAP *ld, LDAPMessage *e, const char *a)
{
	struct berval **v;
	char *s = NULL;

	if (a == NULL || *a == '\0')
		return NULL;
	v = ldap_get_values_len(ld, e, a);
	if (v != NULL && v[0] != NULL)
		s = bv_str(v[0]);
	ldap_value_free_len(v);
	return s;
}

/* A name as the directory keeps it: control characters become spaces,
 * outer spaces go, at most LS_NAME_MAX bytes (cut before a UTF-8
 * continuation byte); NULL when nothing is left. Takes s. */
static char *clean_name(char *s)
{
	size_t i, n, start = 0;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			s[i] = ' ';
	while (start < n && s[start] == ' ')
		start++;
	while (n > start && s[n - 1] == ' ')
		n--;
	if (n - start > LS_NAME_MAX) {
		n = start + LS_NAME_MAX;
		while (n > start && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memmove(s, s + start, n - start);
	s[n - start] = '\0';
	if (*s == '\0') {
		free(s);
		return NULL;
	}
	return s;
}

static int managed(const struct ls_opts *o, const char *addr)
{
	const char *at = strrchr(addr, '@');
	int i;

	for (i = 0; at && i < o->ndomain; i++)
		if (!strcasecmp(at + 1, o->domain[i]))
			return 1;
	return 0;
}

/* "TRUE", "yes", "1", "enabled", "active" (any case) enable. */
static int truthy(const char *s)
{
	static const char *const yes[] = {"true", "yes", "1", "enabled",
					  "active", "on"};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!strcasecmp(s, yes[i]))
			return 1;
	return 0;
}

static void user_free(struct ls_user *u)
{
	int i;

	free(u->mail);
	free(u->names);
	free(u->first);
	free(u->last);
	for (i = 0; i < u->nalias; i++)
		free(u->alias[i]);
}

/* One entry into r (skipped when its mail is missing, invalid or not in a
 * managed domain). 0, or -1 with err. */
static int take_entry(LDAP *ld, LDAPMessage *e, const struct ls_opts *o,
		      struct ls_run *r, char *err, size_t errlen)
{
	struct ls_user u;
	struct berval **v;
	char *s, cerr[256];
	size_t len;
	int i;

	memset(&u, 0, sizeof(u));
	u.quota = -1;
	u.enabled = 1;
	u.mail = first_value(ld, e, o->attr[LA_MAIL]);
	if (u.mail == NULL ||
	    store_dir_check_addr(u.mail, cerr, sizeof(cerr)) < 0 ||
	    !managed(o, u.mail)) {
		free(u.mail);
		r->skipped++;
		return 0;
	}
	u.first = clean_name(first_value(ld, e, o->attr[LA_FIRST]));
	u.last = clean_name(first_value(ld, e, o->attr[LA_LAST]));
	len = (u.first ? strlen(u.first) : 0) + (u.last ? strlen(u.last) : 0);
	u.names = malloc(len + 2);
	if (u.names == NULL)
		abort();
	snprintf(u.names, len + 2, "%s%s%s", u.first ? u.first : "",
		 u.first && u.last ? " " : "", u.last ? u.last : "");
	if ((s = first_value(ld, e, o->attr[LA_QUOTA])) != NULL) {
		struct cfg_param cp = {"quota", CFG_SIZE, "", &u.quota, 0,
				       1LL << 50, NULL};

		if (config_parse_value(&cp, s, err, errlen) < 0) {
			snprintf(err, errlen, "%s: bad quota %s", u.mail, s);
			free(s);
			user_free(&u);
			return -1;
		}
		free(s);
	}
	if ((s = first_value(ld, e, o->attr[LA_ENABLED])) != NULL) {
		u.enabled = truthy(s);
		free(s);
	}
	v = o->attr[LA_ALIAS] && *o->attr[LA_ALIAS]
		    ? ldap_get_values_len(ld, e, o->attr[LA_ALIAS]) : NULL;
	for (i = 0; v && v[i] && u.nalias < LS_MAX_ALIASES; i++) {
		s = bv_str(v[i]);
		if (store_dir_check_addr(s, cerr, sizeof(cerr)) < 0 ||
		    !managed(o, s) || !strcmp(s, u.mail)) {
			free(s);
			continue;
		}
		u.alias[u.nalias++] = s;
	}
	ldap_value_free_len(v);
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->u = realloc(r->u, r->cap * sizeof(*r->u));
		if (r->u == NULL)
			abort();
	}
	r->u[r->n++] = u;
	return 0;
}

/* The password: the first line of the file, wiped by the caller. */
static int read_pw(const char *path, char *pw, size_t len, char *err,
		   size_t errlen)
{
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		snprintf(err, errlen, "cannot read %s", path);
		return -1;
	}
	if (fgets(pw, (int)len, f) == NULL)
		pw[0] = '\0';
	fclose(f);
	pw[strcspn(pw, "\r\n")] = '\0';
	return 0;
}

/* Read every entry first; nothing is changed here. */
static int ldap_read(const struct ls_opts *o, struct ls_run *r, char *err,
		     size_t errlen)
{
	LDAP *ld = NULL;
	LDAPMessage *res = NULL, *e;
	struct timeval tv = {10, 0};
	struct berval cred, cookie = {0, NULL};
	char *attrs[LA_COUNT + 1], pw[512] = "";
	int rc, v3 = LDAP_VERSION3, i, n = 0, ret = -1;

	if (o->pwfile && read_pw(o->pwfile, pw, sizeof(pw), err, errlen) < 0)
		return -1;
	for (i = 0; i < LA_COUNT; i++)
		if (o->attr[i] && *o->attr[i])
			attrs[n++] = (char *)o->attr[i];
	attrs[n] = NULL;
	if (o->cafile)
		ldap_set_option(NULL, LDAP_OPT_X_TLS_CACERTFILE, o->cafile);
	rc = ldap_initialize(&ld, o->uri);
	if (rc != LDAP_SUCCESS) {
		snprintf(err, errlen, "ldap %s: %s", o->uri,
			 ldap_err2string(rc));
		goto out;
	}
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	cred.bv_val = pw;
	cred.bv_len = strlen(pw);
	rc = ldap_sasl_bind_s(ld, o->binddn ? o->binddn : "", LDAP_SASL_SIMPLE,
			      &cred, NULL, NULL, NULL);
	if (rc != LDAP_SUCCESS) {
		snprintf(err, errlen, "ldap bind to %s: %s", o->uri,
			 ldap_err2string(rc));
		goto out;
	}
	/* paged (RFC 2696, not critical: a server without paging answers
	 * in one go), so a size limit per page does not cut the list */
	do {
		LDAPControl *pc = NULL, *sc[2] = {NULL, NULL}, **rc_ctl = NULL;
		LDAPControl *page;
		ber_int_t total;

		if (o->page > 0 &&
		    ldap_create_page_control(ld, o->page, &cookie, 0, &pc) !=
		    LDAP_SUCCESS) {
			snprintf(err, errlen, "ldap: no paged results control");
			goto out;
		}
		sc[0] = pc;	/* NULL: no control */
		if (res)
			ldap_msgfree(res);
		res = NULL;
		rc = ldap_search_ext_s(ld, o->base, LDAP_SCOPE_SUBTREE,
				       o->filter, attrs, 0, sc, NULL, &tv, 0,
				       &res);
		ldap_control_free(pc);
		if (rc != LDAP_SUCCESS) {
			snprintf(err, errlen, "ldap search %s: %s", o->base,
				 ldap_err2string(rc));
			goto out;
		}
		for (e = ldap_first_entry(ld, res); e;
		     e = ldap_next_entry(ld, e))
			if (take_entry(ld, e, o, r, err, errlen) < 0)
				goto out;
		ber_memfree(cookie.bv_val);
		cookie.bv_val = NULL;
		cookie.bv_len = 0;
		if (ldap_parse_result(ld, res, NULL, NULL, NULL, NULL, &rc_ctl,
				      0) == LDAP_SUCCESS &&
		    (page = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, rc_ctl,
					      NULL)) != NULL &&
		    ldap_parse_pageresponse_control(ld, page, &total,
						    &cookie) != LDAP_SUCCESS)
			cookie.bv_len = 0;
		ldap_controls_free(rc_ctl);
	} while (cookie.bv_len > 0);
	ret = 0;
out:
	memset(pw, 0, sizeof(pw));
	ber_memfree(cookie.bv_val);
	if (res)
		ldap_msgfree(res);
	if (ld)
		ldap_unbind_ext_s(ld, NULL, NULL);
	return ret;
}

struct ls_dir {
	struct ls_run *r;
	char **gone;		/* enabled directory users absent from LDAP */
	size_t ngone;
	struct ls_user **upd;	/* users whose attributes differ */
	size_t nupd;
	struct sbuf *aliases;	/* "alias\ttargets\n" of managed domains */
};

static struct ls_user *find(struct ls_run *r, const char *mail)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (!strcmp(r->u[i].mail, mail))
			return &r->u[i];
	return NULL;
}

/* A DQ_DOMAIN_PEOPLE row: addr, "first last", kind, quota, date, state. */
static void people_cb(int ncol, const char *const *col, void *arg)
{
	struct ls_dir *x = arg;
	struct ls_user *u;
	int on;

	if (ncol < 6 || col[0] == NULL)
		return;
	on = col[5] && !strcmp(col[5], "enabled");
	u = find(x->r, col[0]);
	if (u == NULL) {
		if (on) {
			x->gone = realloc(x->gone, (x->ngone + 1) *
					  sizeof(*x->gone));
			if (x->gone == NULL || !(x->gone[x->ngone] =
						 strdup(col[0])))
				abort();
			x->ngone++;
		}
		return;
	}
	u->seen = 1;
	if (strcmp(u->names, col[1] ? col[1] : "") || u->enabled != on ||
	    (u->quota >= 0 && u->quota != strtoll(col[3] ? col[3] : "0",
						  NULL, 10))) {
		x->upd = realloc(x->upd, (x->nupd + 1) * sizeof(*x->upd));
		if (x->upd == NULL)
			abort();
		x->upd[x->nupd++] = u;
	}
}

static void alias_cb(int ncol, const char *const *col, void *arg)
{
	struct ls_dir *x = arg;

	if (ncol >= 2 && col[0])
		sbuf_printf(x->aliases, "\n%s\t%s\n", col[0],
			     col[1] ? col[1] : "");
}

#define RUN(q, ...)                                                       \
	do {                                                              \
		const char *p_[] = {__VA_ARGS__, NULL};                   \
		if (store_dir_run(d, q, p_, NULL, NULL, err, errlen) < 0) \
			goto fail;                                        \
	} while (0)

/* Apply r to the directory in one transaction. */
static int apply(struct store_dir *d, const struct ls_opts *o,
		 struct ls_run *r, char *err, size_t errlen)
{
	struct ls_dir x;
	struct sbuf al;
	char num[32], key[600];
	size_t i;
	int j, k;

	memset(&x, 0, sizeof(x));
	x.r = r;
	sbuf_init(&al, (size_t)1 << 26);
	x.aliases = &al;
	if (store_dir_run(d, DQ_BEGIN, NULL, NULL, NULL, err, errlen) < 0)
		goto out;
	for (j = 0; j < o->ndomain; j++) {
		const char *p[] = {o->domain[j], NULL};

		if (store_dir_run(d, DQ_DOMAIN_PEOPLE, p, people_cb, &x, err,
				  errlen) < 0 ||
		    store_dir_run(d, DQ_DOMAIN_ALIASES, p, alias_cb, &x, err,
				  errlen) < 0)
			goto fail;
	}
	sbuf_append(&al, "", 1);
	for (i = 0; i < r->n; i++) {
		struct ls_user *u = &r->u[i];

		if (u->seen)
			continue;
		if (store_dir_is_taken(d, u->mail)) {
			log_warn("ldap-sync: %s is an alias or list here: "
				 "left alone", u->mail);
			continue;
		}
		snprintf(num, sizeof(num), "%lld", u->quota < 0 ? 0 : u->quota);
		RUN(DQ_DOMAIN_ADD, strrchr(u->mail, '@') + 1);
		RUN(DQ_USER_ADD, u->mail, strrchr(u->mail, '@') + 1, num, "0");
		RUN(DQ_USER_NAMES, u->first ? u->first : "",
		    u->last ? u->last : "", u->mail);
		if (!u->enabled)
			RUN(DQ_USER_DISABLE, u->mail);
		r->added++;
	}
	for (i = 0; i < x.nupd; i++) {
		struct ls_user *u = x.upd[i];

		RUN(DQ_USER_NAMES, u->first ? u->first : "",
		    u->last ? u->last : "", u->mail);
		RUN(u->enabled ? DQ_USER_ENABLE : DQ_USER_DISABLE, u->mail);
		if (u->quota >= 0) {
			snprintf(num, sizeof(num), "%lld", u->quota);
			RUN(DQ_USER_QUOTA, num, u->mail);
		}
		r->updated++;
	}
	for (i = 0; i < x.ngone; i++) {
		RUN(DQ_USER_DISABLE, x.gone[i]);
		r->disabled++;
	}
	for (i = 0; i < r->n; i++) {
		for (k = 0; k < r->u[i].nalias; k++) {
			const char *a = r->u[i].alias[k];

			snprintf(key, sizeof(key), "\n%s\t%s\n", a,
				 r->u[i].mail);
			if (strstr(al.data, key))
				continue;
			if (store_dir_is_taken(d, a)) {
				log_warn("ldap-sync: alias %s of %s is taken: "
					 "left alone", a, r->u[i].mail);
				continue;
			}
			RUN(DQ_ALIAS_ADD, a, r->u[i].mail);
			r->aliases++;
		}
	}
	if (store_dir_run(d, DQ_COMMIT, NULL, NULL, NULL, err, errlen) < 0)
		goto fail;
	if (r->added || r->updated || r->disabled || r->aliases)
		d->changed = 1;
	goto out_ok;
fail:
	store_dir_run(d, DQ_ROLLBACK, NULL, NULL, NULL, key, sizeof(key));
out:
	j = -1;
	goto done;
out_ok:
	j = 0;
done:
	for (i = 0; i < x.ngone; i++)
		free(x.gone[i]);
	free(x.gone);
	free(x.upd);
	sbuf_free(&al);
	return j;
}

/* --map key=attribute[,key=attribute...]; an empty attribute unmaps. */
static int parse_map(struct ls_opts *o, char *s)
{
	char *tok, *save = NULL, *eq;
	int i;

	for (tok = strtok_r(s, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		eq = strchr(tok, '=');
		if (eq == NULL)
			return -1;
		*eq = '\0';
		for (i = 0; i < LA_COUNT; i++)
			if (!strcmp(tok, ls_keys[i]))
				break;
		if (i == LA_COUNT)
			return -1;
		o->attr[i] = eq + 1;
	}
	return 0;
}

int store_dir_ldap_sync(struct store_dir *d, int argc, char **argv,
			struct sbuf *out, char *err, size_t errlen)
{
	struct ls_opts o;
	struct ls_run r;
	size_t i;
	int k, rc;

	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	o.filter = "(objectClass=inetOrgPerson)";
	o.page = LS_PAGE;
	o.attr[LA_MAIL] = "mail";
	o.attr[LA_FIRST] = "givenName";
	o.attr[LA_LAST] = "sn";
	o.attr[LA_ALIAS] = "mailLocalAddress";
	for (k = 0; k + 1 < argc; k += 2) {
		const char *v = argv[k + 1];

		if (!strcmp(argv[k], "--uri"))
			o.uri = v;
		else if (!strcmp(argv[k], "--base"))
			o.base = v;
		else if (!strcmp(argv[k], "--filter"))
			o.filter = v;
		else if (!strcmp(argv[k], "--bind-dn"))
			o.binddn = v;
		else if (!strcmp(argv[k], "--password-file"))
			o.pwfile = v;
		else if (!strcmp(argv[k], "--ca-file"))
			o.cafile = v;
		else if (!strcmp(argv[k], "--domain") &&
			 o.ndomain < LS_MAX_DOMAINS) {
			store_dir_lower(argv[k + 1]);
			o.domain[o.ndomain++] = v;
		} else if (!strcmp(argv[k], "--page-size")) {
			char *end;
			long n = strtol(v, &end, 10);

			if (*v == '\0' || *end || n < 0 || n > 1000000)
				return -2;
			o.page = (int)n;
		} else if (!strcmp(argv[k], "--map")) {
			if (parse_map(&o, argv[k + 1]) < 0)
				return -2;
		} else {
			return -2;
		}
	}
	if (k != argc || o.uri == NULL || o.base == NULL || o.ndomain == 0)
		return -2;
	rc = ldap_read(&o, &r, err, errlen);
	if (rc == 0)
		rc = apply(d, &o, &r, err, errlen);
	if (rc == 0)
		sbuf_printf(out, "ldap-sync: %zu users, added %d, updated "
			     "%d, disabled %d, aliases added %d, skipped "
			     "%d\n", r.n, r.added, r.updated, r.disabled,
			     r.aliases, r.skipped);
	for (i = 0; i < r.n; i++)
		user_free(&r.u[i]);
	free(r.u);
	return rc;
}

/*
 * NAME
 *	dns - the c-ares adapter
 * DESCRIPTION
 *	c-ares tells us which sockets it wants watched (sock_state_cb); we
 *	watch them in the event loop and hand readiness back with
 *	ares_process_fd(); its timeouts run on one loop timer. Finished
 *	lookups are queued and their callbacks run from a zero-delay timer,
 *	so callers never see a callback inside their own call.
 *
 *	An optional answer cache (dns_set_cache()) keeps positive and
 *	negative answers keyed by (name lowercased, type): for ares_query()
 *	lookups the raw answer packet, parsed again on a hit; for dns_addr()
 *	the result itself. The lifetime is the least TTL of the answer's
 *	records, for NXDOMAIN and NODATA the SOA's (RFC 2308 5: the lesser
 *	of its TTL and MINIMUM; without a SOA a short fixed one), capped at
 *	DNS_CACHE_MAX_TTL. Failures and answers we cannot parse are never
 *	kept. A hit is answered from the loop like any other answer.
 */
#include "dns.h"

#include <arpa/inet.h>
#include <ares.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "evloop.h"
#include "log.h"

#define DNS_MAX_FDS 16
#define DNS_CACHE_MAX_TTL 3600	/* seconds an answer is kept at most */
#define DNS_KEY_ADDRS 0		/* cache key type of dns_addr() */

/* One cached answer: on a hash chain and on the LRU list (head: the
 * latest used). */
struct dns_centry {
	struct dns_centry *hnext;
	struct dns_centry *prev, *next;
	uint64_t expires;	/* evloop_now() milliseconds */
	int type;
	int status;		/* ares status (ares_query) */
	size_t len;
	unsigned char *data;	/* answer packet or dns_addr_result */
	char name[];		/* lowercased, no trailing dot */
};

struct dns_req {
	struct dns *d;
	int is_mx;
	struct dns_mx_result mx;
	struct dns_addr_result addr;
	void (*mx_cb)(void *, const struct dns_mx_result *);
	void (*addr_cb)(void *, const struct dns_addr_result *);
	/* dns_query(): rr set, answered through rr_cb */
	struct dns_rr_result *rr;
	void (*rr_cb)(void *, const struct dns_rr_result *);
	void *arg;
	char *key;		/* cache key name (cache on), else NULL */
	int from_cache;		/* answered from the cache: not kept again */
	struct dns_req *next;
};

struct dns_fd {
	struct dns *d;
	int fd;			/* -1: slot free */
};

struct dns {
	struct evloop *loop;
	ares_channel ch;
	struct dns_fd fds[DNS_MAX_FDS];
	struct ev_timer *timer;
	struct ev_timer *done_timer;
	struct dns_req *done, *done_tail;
	int closing;		/* in dns_free(): no new queries reach c-ares */
	/* answer cache: max 0 = off */
	size_t cache_max, cache_n, nbuckets;
	struct dns_centry **buckets;
	struct dns_centry *lru_head, *lru_tail;
	struct dns_cache_stats stats;
};

static void rearm(struct dns *d);
static void rr_answer(struct dns_req *r);

static void on_fd(void *arg, uint32_t events)
{
	struct dns_fd *f = arg;
	struct dns *d = f->d;
	int fd = f->fd;

	ares_process_fd(d->ch, events & (EPOLLIN | EPOLLERR | EPOLLHUP) ?
			fd : ARES_SOCKET_BAD,
			events & EPOLLOUT ? fd : ARES_SOCKET_BAD);
	rearm(d);
}

static void sock_state(void *data, ares_socket_t fd, int readable,
		       int writable)
{
	struct dns *d = data;
	uint32_t ev = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);
	struct dns_fd *f = NULL, *free_slot = NULL;
	size_t i;

	for (i = 0; i < DNS_MAX_FDS; i++) {
		if (d->fds[i].fd == fd)
			f = &d->fds[i];
		else if (d->fds[i].fd < 0 && free_slot == NULL)
			free_slot = &d->fds[i];
	}
	if (ev == 0) {
		if (f) {
			evloop_del(d->loop, fd);
			f->fd = -1;
		}
		return;
	}
	if (f) {
		evloop_mod(d->loop, fd, ev);
		return;
	}
	if (free_slot == NULL ||
	    evloop_add(d->loop, fd, ev, on_fd, free_slot) < 0) {
		log_warn("dns: cannot watch resolver socket %d", fd);
		return;
	}
	free_slot->d = d;
	free_slot->fd = fd;
}

static void on_timer(void *arg)
{
	struct dns *d = arg;

	d->timer = NULL;
	ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	rearm(d);
}

static void rearm(struct dns *d)
{
	struct timeval tv, *t;

	if (d->timer) {
		evloop_timer_cancel(d->loop, d->timer);
		d->timer = NULL;
	}
	t = ares_timeout(d->ch, NULL, &tv);
	if (t)
		d->timer = evloop_timer(d->loop, (uint64_t)t->tv_sec * 1000 +
					(uint64_t)t->tv_usec / 1000 + 1,
					on_timer, d);
}

static void req_free(struct dns_req *r)
{
	free(r->key);
	free(r);
}

static void deliver(void *arg)
{
	struct dns *d = arg;
	struct dns_req *r;

	d->done_timer = NULL;
	while ((r = d->done) != NULL) {
		d->done = r->next;
		if (d->done == NULL)
			d->done_tail = NULL;
		if (r->rr_cb)
			rr_answer(r);
		else if (r->is_mx)
			r->mx_cb(r->arg, &r->mx);
		else
			r->addr_cb(r->arg, &r->addr);
		req_free(r);
	}
}

static void finish(struct dns_req *r)
{
	struct dns *d = r->d;

	r->next = NULL;
	if (d->done_tail)
		d->done_tail->next = r;
	else
		d->done = r;
	d->done_tail = r;
	if (d->done_timer == NULL && !d->closing)
		d->done_timer = evloop_timer(d->loop, 0, deliver, d);
}

static enum dns_status map_status(int status)
{
	switch (status) {
	case ARES_SUCCESS:
		return DNS_OK;
	case ARES_ENODATA:
		return DNS_NODATA;
	case ARES_ENOTFOUND:
	case ARES_ENONAME:
		return DNS_NXDOMAIN;
	default:
		return DNS_TEMPFAIL;
	}
}

/* ---- the answer cache ---- */

/* The cache key of name: lowercased, without a trailing dot; NULL when
 * the cache is off or the name too long to be one. */
static char *cache_key(const struct dns *d, const char *name)
{
	size_t n = strlen(name), i;
	char *k;

	if (d->cache_max == 0 || n > 255)
		return NULL;
	if (n > 0 && name[n - 1] == '.')
		n--;
	if ((k = malloc(n + 1)) == NULL)
		log_fatal("out of memory");
	for (i = 0; i < n; i++)
		k[i] = name[i] >= 'A' && name[i] <= 'Z' ?
		       (char)(name[i] - 'A' + 'a') : name[i];
	k[n] = '\0';
	return k;
}

static size_t cache_hash(const struct dns *d, const char *key, int type)
{
	uint32_t h = 2166136261u ^ (uint32_t)type;	/* FNV-1a */

	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return h & (d->nbuckets - 1);
}

static void cache_unlink(struct dns *d, struct dns_centry *e)
{
	struct dns_centry **pp = &d->buckets[cache_hash(d, e->name, e->type)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	if (e->prev)
		e->prev->next = e->next;
	else
		d->lru_head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		d->lru_tail = e->prev;
	d->cache_n--;
	free(e->data);
	free(e);
}

static void lru_push(struct dns *d, struct dns_centry *e)
{
	e->prev = NULL;
	e->next = d->lru_head;
	if (d->lru_head)
		d->lru_head->prev = e;
	else
		d->lru_tail = e;
	d->lru_head = e;
}

/* The live entry of (key, type), now the latest used, or NULL. */
static struct dns_centry *cache_get(struct dns *d, const char *key, int type)
{
	struct dns_centry *e;

	if (key == NULL)
		return NULL;
	e = d->buckets[cache_hash(d, key, type)];
	while (e && (e->type != type || strcmp(e->name, key) != 0))
		e = e->hnext;
	if (e && e->expires <= evloop_now(d->loop)) {
		cache_unlink(d, e);
		e = NULL;
	}
	if (e == NULL) {
		d->stats.misses++;
		return NULL;
	}
	d->stats.hits++;
	if (e->prev) {	/* move to the head */
		e->prev->next = e->next;
		if (e->next)
			e->next->prev = e->prev;
		else
			d->lru_tail = e->prev;
		lru_push(d, e);
	}
	return e;
}

/* Keep a copy of data under (key, type) for ttl seconds (capped). */
static void cache_put(struct dns *d, const char *key, int type, int status,
		      const void *data, size_t len, uint32_t ttl)
{
	struct dns_centry *e;
	size_t klen;

	if (key == NULL || ttl == 0)
		return;
	if (ttl > DNS_CACHE_MAX_TTL)
		ttl = DNS_CACHE_MAX_TTL;
	e = d->buckets[cache_hash(d, key, type)];
	while (e && (e->type != type || strcmp(e->name, key) != 0))
		e = e->hnext;
	if (e)
		cache_unlink(d, e);
	while (d->cache_n >= d->cache_max)
		cache_unlink(d, d->lru_tail);
	klen = strlen(key);
	e = calloc(1, sizeof(*e) + klen + 1);
	if (e == NULL || (e->data = malloc(len ? len : 1)) == NULL)
		log_fatal("out of memory");
	memcpy(e->name, key, klen + 1);
	memcpy(e->data, data, len);
	e->len = len;
	e->type = type;
	e->status = status;
	e->expires = evloop_now(d->loop) + (uint64_t)ttl * 1000;
	e->hnext = d->buckets[cache_hash(d, key, type)];
	d->buckets[cache_hash(d, key, type)] = e;
	lru_push(d, e);
	d->cache_n++;
}

/* Keep an ares_query() answer whose outcome (result) was not a failure;
 * answers taken from the cache are not kept again. */
static void cache_answer(struct dns_req *r, int type, int status,
			 enum dns_status result, const unsigned char *abuf,
			 int alen)
{
	if (r->key == NULL || r->from_cache || result == DNS_TEMPFAIL ||
	    alen <= 0 || (status != ARES_SUCCESS && status != ARES_ENODATA &&
			  status != ARES_ENOTFOUND))
		return;
	cache_put(r->d, r->key, type, status, abuf, (size_t)alen,
		  dns_packet_ttl(abuf, (size_t)alen, result != DNS_OK));
}

void dns_set_cache(struct dns *d, size_t entries)
{
	size_t nb = 16;

	while (d->cache_n > 0)
		cache_unlink(d, d->lru_tail);
	free(d->buckets);
	d->buckets = NULL;
	d->cache_max = 0;
	if (entries == 0)
		return;
	while (nb < entries && nb < (SIZE_MAX >> 2))
		nb <<= 1;
	d->buckets = calloc(nb, sizeof(*d->buckets));
	if (d->buckets == NULL)
		log_fatal("out of memory");
	d->nbuckets = nb;
	d->cache_max = entries;
}

const struct dns_cache_stats *dns_cache_stats(const struct dns *d)
{
	return &d->stats;
}

static int cmp_mx(const void *a, const void *b)
{
	const struct dns_mx *x = a, *y = b;

	return x->pref - y->pref;
}

static void mx_done(void *arg, int status, int timeouts, unsigned char *abuf,
		    int alen)
{
	struct dns_req *r = arg;
	struct ares_mx_reply *mx = NULL, *m;
	struct dns_mx *all = NULL;
	size_t n = 0, i;
	int rc;

	r->mx.status = map_status(status);
	if (status == ARES_SUCCESS) {
		/* only NOERROR without MX records (NODATA) means "no MX";
		 * an answer we cannot parse is a temporary failure, or a
		 * broken packet would route mail to the implicit MX */
		rc = ares_parse_mx_reply(abuf, alen, &mx);
		for (m = rc == ARES_SUCCESS ? mx : NULL; m; m = m->next)
			n++;
		if (n > 0 && (all = calloc(n, sizeof(*all))) == NULL)
			rc = ARES_ENOMEM;
		for (m = mx, i = 0; all && m; m = m->next, i++) {
			all[i].pref = m->priority;
			snprintf(all[i].host, sizeof(all[i].host), "%s",
				 m->host ? m->host : "");
		}
		if (mx)
			ares_free_data(mx);
		if (all) {
			/* sort every record, then keep the best DNS_MAX_MX */
			qsort(all, n, sizeof(*all), cmp_mx);
			r->mx.n = n < DNS_MAX_MX ? n : DNS_MAX_MX;
			memcpy(r->mx.mx, all, r->mx.n * sizeof(*all));
			free(all);
		}
		if (r->mx.n == 0)
			r->mx.status = rc == ARES_ENODATA || rc == ARES_SUCCESS
				       ? DNS_NODATA : DNS_TEMPFAIL;
	}
	if (status == ARES_EDESTRUCTION) { /* dns_free(): answer now */
		r->mx_cb(r->arg, &r->mx);
		req_free(r);
		return;
	}
	cache_answer(r, DNS_T_MX, status, r->mx.status, abuf, alen);
	finish(r);
}

static void addr_done(void *arg, int status, int timeouts,
		      struct ares_addrinfo *ai)
{
	struct dns_req *r = arg;
	struct ares_addrinfo_node *n;

	r->addr.status = map_status(status);
	if (status == ARES_SUCCESS && ai) {
		for (n = ai->nodes; n && r->addr.n < DNS_MAX_ADDR;
		     n = n->ai_next) {
			char *o = r->addr.addr[r->addr.n];

			if (n->ai_family == AF_INET)
				inet_ntop(AF_INET, &((struct sockaddr_in *)
						     n->ai_addr)->sin_addr, o,
					  64);
			else if (n->ai_family == AF_INET6)
				inet_ntop(AF_INET6, &((struct sockaddr_in6 *)
						      n->ai_addr)->sin6_addr,
					  o, 64);
			else
				continue;
			r->addr.n++;
		}
		if (r->addr.n == 0)
			r->addr.status = DNS_NODATA;
	}
	if (r->addr.status == DNS_OK && ai) {
		/* positive answers only: without the packet there is no SOA
		 * to bound a negative one */
		struct ares_addrinfo_cname *c;
		uint32_t ttl = UINT32_MAX;

		for (n = ai->nodes; n; n = n->ai_next)
			ttl = n->ai_ttl < 0 ? 0 : ttl < (uint32_t)n->ai_ttl ?
			      ttl : (uint32_t)n->ai_ttl;
		for (c = ai->cnames; c; c = c->next)
			ttl = c->ttl < 0 ? 0 : ttl < (uint32_t)c->ttl ?
			      ttl : (uint32_t)c->ttl;
		cache_put(r->d, r->key, DNS_KEY_ADDRS, ARES_SUCCESS, &r->addr,
			  sizeof(r->addr), ttl == UINT32_MAX ? 0 : ttl);
	}
	if (ai)
		ares_freeaddrinfo(ai);
	if (status == ARES_EDESTRUCTION) { /* dns_free(): answer now */
		r->addr_cb(r->arg, &r->addr);
		req_free(r);
		return;
	}
	finish(r);
}

/* A lookup asked for while dns_free() runs (an owner's callback moving
 * on to its next lookup): c-ares must not see it (ares_destroy() asserts
 * that no query appears while it answers the old ones); it fails as a
 * temporary error, answered by dns_free()'s last deliver(). 1 when
 * taken. */
static int closing_fail(struct dns *d, struct dns_req *r)
{
	if (!d->closing)
		return 0;
	if (r->rr_cb)
		r->rr->status = DNS_TEMPFAIL;
	else if (r->is_mx)
		r->mx.status = DNS_TEMPFAIL;
	else
		r->addr.status = DNS_TEMPFAIL;
	finish(r);
	return 1;
}

/* An ares_query() lookup of (name, type) answered from the cache: the
 * kept packet goes through done (which queues the answer for the loop)
 * as if it had just come. 1 when taken; else r holds the key under
 * which the answer will be kept. */
static int cache_hit(struct dns *d, struct dns_req *r, const char *name,
		     int type, ares_callback done)
{
	struct dns_centry *e;

	r->key = cache_key(d, name);
	if ((e = cache_get(d, r->key, type)) == NULL)
		return 0;
	r->from_cache = 1;
	done(r, e->status, 0, e->data, (int)e->len);
	return 1;
}

static struct dns_req *req_new(struct dns *d, void *arg)
{
	struct dns_req *r = calloc(1, sizeof(*r));

	if (r == NULL)
		log_fatal("out of memory");
	r->d = d;
	r->arg = arg;
	return r;
}

void dns_mx(struct dns *d, const char *domain,
	    void (*cb)(void *arg, const struct dns_mx_result *r), void *arg)
{
	struct dns_req *r = req_new(d, arg);

	r->is_mx = 1;
	r->mx_cb = cb;
	if (closing_fail(d, r) || cache_hit(d, r, domain, DNS_T_MX, mx_done))
		return;
	ares_query(d->ch, domain, 1 /* IN */, 15 /* MX */, mx_done, r);
	rearm(d);
}

void dns_addr(struct dns *d, const char *host,
	      void (*cb)(void *arg, const struct dns_addr_result *r),
	      void *arg)
{
	struct dns_req *r = req_new(d, arg);
	struct ares_addrinfo_hints hints;
	struct dns_centry *e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = ARES_AI_NOSORT;
	r->addr_cb = cb;
	if (closing_fail(d, r))
		return;
	r->key = cache_key(d, host);
	if ((e = cache_get(d, r->key, DNS_KEY_ADDRS)) != NULL) {
		memcpy(&r->addr, e->data, sizeof(r->addr));
		finish(r);
		return;
	}
	ares_getaddrinfo(d->ch, host, NULL, &hints, addr_done, r);
	rearm(d);
}

/* ---- dns_query(): one RR type, for SPF, DKIM and DMARC ---- */

static void rr_answer(struct dns_req *r)
{
	size_t i;

	r->rr_cb(r->arg, r->rr);
	for (i = 0; i < r->rr->n; i++)
		free(r->rr->rr[i]);
	free(r->rr);
}

static void rr_add(struct dns_rr_result *res, const void *p, size_t len)
{
	char *c;

	if (res->n >= DNS_MAX_RR || len > DNS_MAX_RR_LEN)
		return;
	c = malloc(len + 1);
	if (c == NULL)
		log_fatal("out of memory");
	memcpy(c, p, len);
	c[len] = '\0';
	res->rr[res->n] = c;
	res->len[res->n++] = len;
}

/* TXT: the strings of one record are joined (RFC 7208 3.3). */
static int parse_txt(const unsigned char *abuf, int alen,
		     struct dns_rr_result *res)
{
	struct ares_txt_ext *txt = NULL, *t;
	char *buf = malloc(DNS_MAX_RR_LEN);
	size_t blen = 0;
	int have = 0, over = 0, rc;

	if (buf == NULL)
		log_fatal("out of memory");
	rc = ares_parse_txt_reply_ext(abuf, alen, &txt);
	for (t = rc == ARES_SUCCESS ? txt : NULL; t; t = t->next) {
		if (t->record_start && have) {
			if (!over)
				rr_add(res, buf, blen);
			blen = 0;
			over = 0;
		}
		have = 1;
		if (t->length > DNS_MAX_RR_LEN - blen)
			over = 1;
		else {
			memcpy(buf + blen, t->txt, t->length);
			blen += t->length;
		}
	}
	if (have && !over)
		rr_add(res, buf, blen);
	free(buf);
	if (txt)
		ares_free_data(txt);
	return rc;
}

static int parse_addr(const unsigned char *abuf, int alen, int type,
		      struct dns_rr_result *res)
{
	struct ares_addrttl a4[DNS_MAX_RR];
	struct ares_addr6ttl a6[DNS_MAX_RR];
	char text[INET6_ADDRSTRLEN];
	int n = DNS_MAX_RR, i, rc;

	if (type == DNS_T_A)
		rc = ares_parse_a_reply(abuf, alen, NULL, a4, &n);
	else
		rc = ares_parse_aaaa_reply(abuf, alen, NULL, a6, &n);
	for (i = 0; rc == ARES_SUCCESS && i < n; i++) {
		if (type == DNS_T_A)
			inet_ntop(AF_INET, &a4[i].ipaddr, text, sizeof(text));
		else
			inet_ntop(AF_INET6, &a6[i].ip6addr, text,
				  sizeof(text));
		rr_add(res, text, strlen(text));
	}
	return rc;
}

static int parse_names(const unsigned char *abuf, int alen, int type,
		       struct dns_rr_result *res)
{
	struct ares_mx_reply *mx = NULL, *m;
	struct hostent *h = NULL;
	unsigned char dummy[16] = {0};
	size_t i;
	int rc;

	if (type == DNS_T_MX) {
		rc = ares_parse_mx_reply(abuf, alen, &mx);
		for (m = rc == ARES_SUCCESS ? mx : NULL; m; m = m->next)
			if (m->host && m->host[0])	/* not a null MX */
				rr_add(res, m->host, strlen(m->host));
		if (mx)
			ares_free_data(mx);
		return rc;
	}
	rc = ares_parse_ptr_reply(abuf, alen, dummy, 4, AF_INET, &h);
	if (rc == ARES_SUCCESS && h) {
		for (i = 0; h->h_aliases && h->h_aliases[i]; i++)
			rr_add(res, h->h_aliases[i], strlen(h->h_aliases[i]));
		if (res->n == 0 && h->h_name)
			rr_add(res, h->h_name, strlen(h->h_name));
	}
	if (h)
		ares_free_hostent(h);
	return rc;
}

static void rr_done(void *arg, int status, int timeouts, unsigned char *abuf,
		    int alen)
{
	struct dns_req *r = arg;
	struct dns_rr_result *res = r->rr;
	int rc = ARES_SUCCESS;

	res->status = map_status(status);
	if (status == ARES_SUCCESS) {
		if (res->type == DNS_T_TXT)
			rc = parse_txt(abuf, alen, res);
		else if (res->type == DNS_T_A || res->type == DNS_T_AAAA)
			rc = parse_addr(abuf, alen, res->type, res);
		else
			rc = parse_names(abuf, alen, res->type, res);
		if (res->n == 0)
			res->status = rc == ARES_SUCCESS || rc == ARES_ENODATA ?
				      DNS_NODATA : DNS_TEMPFAIL;
	}
	if (status == ARES_EDESTRUCTION) { /* dns_free(): answer now */
		rr_answer(r);
		req_free(r);
		return;
	}
	cache_answer(r, res->type, status, res->status, abuf, alen);
	finish(r);
}

void dns_query(struct dns *d, const char *name, enum dns_type type,
	       void (*cb)(void *arg, const struct dns_rr_result *r),
	       void *arg)
{
	struct dns_req *r = req_new(d, arg);

	r->rr = calloc(1, sizeof(*r->rr));
	if (r->rr == NULL)
		log_fatal("out of memory");
	r->rr->type = (int)type;
	r->rr_cb = cb;
	if (closing_fail(d, r) || cache_hit(d, r, name, (int)type, rr_done))
		return;
	ares_query(d->ch, name, 1 /* IN */, (int)type, rr_done, r);
	rearm(d);
}

struct dns *dns_new(struct evloop *loop, const char *servers,
		    unsigned timeout_ms, char *err, size_t errlen)
{
	struct ares_options o;
	struct dns *d = calloc(1, sizeof(*d));
	int rc;

	if (d == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->loop = loop;
	for (rc = 0; rc < DNS_MAX_FDS; rc++)
		d->fds[rc].fd = -1;
	ares_library_init(ARES_LIB_INIT_ALL);
	memset(&o, 0, sizeof(o));
	o.sock_state_cb = sock_state;
	o.sock_state_cb_data = d;
	o.timeout = (int)timeout_ms;
	o.tries = 2;
	rc = ares_init_options(&d->ch, &o, ARES_OPT_SOCK_STATE_CB |
				       ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
		free(d);
		return NULL;
	}
	if (servers && *servers &&
	    (rc = ares_set_servers_ports_csv(d->ch, servers)) != ARES_SUCCESS) {
		snprintf(err, errlen, "dns_servers '%s': %s", servers,
			 ares_strerror(rc));
		ares_destroy(d->ch);
		free(d);
		return NULL;
	}
	return d;
}

void dns_free(struct dns *d)
{
	if (d == NULL)
		return;
	/* lookups in flight are answered (as temporary failures) so their
	 * owners can let go of what they hold; lookups their callbacks ask
	 * for meanwhile fail the same way (closing_fail) */
	d->closing = 1;
	ares_destroy(d->ch);
	if (d->timer)
		evloop_timer_cancel(d->loop, d->timer);
	if (d->done_timer)
		evloop_timer_cancel(d->loop, d->done_timer);
	deliver(d);
	dns_set_cache(d, 0);
	free(d);
	ares_library_cleanup();
}

/*
 * NAME
 *	dns - the c-ares adapter (the only file that includes c-ares)
 * DESCRIPTION
 *	Non-blocking MX and address lookups inside the event loop. Results
 *	come to a callback, always from the loop (never from inside the call
 *	that started the lookup). c-ares errors are mapped to four outcomes
 *	here, in one place. Answers from the network are bounded (at most
 *	DNS_MAX_MX exchangers, DNS_MAX_ADDR addresses). Base layer.
 */
#ifndef SLUICE_DNS_H
#define SLUICE_DNS_H

#include <stddef.h>
#include <stdint.h>

struct evloop;
struct dns;

#define DNS_MAX_MX 16
#define DNS_MAX_ADDR 8

enum dns_status {
	DNS_OK,
	DNS_NODATA,	/* the name exists, no record of that type */
	DNS_NXDOMAIN,	/* the name does not exist */
	DNS_TEMPFAIL,	/* timeout, SERVFAIL, refused...: try later */
};

struct dns_mx {
	int pref;
	char host[256];		/* "" for a null MX (RFC 7505) */
};

struct dns_mx_result {
	enum dns_status status;
	size_t n;
	struct dns_mx mx[DNS_MAX_MX];	/* sorted by preference */
};

struct dns_addr_result {
	enum dns_status status;
	size_t n;
	char addr[DNS_MAX_ADDR][64];	/* numeric IPv4 or IPv6 */
};

/* A resolver using servers ("127.0.0.1:5353,10.0.0.1"; empty: the
 * system's) with a per-try timeout. NULL with a reason in err. */
struct dns *dns_new(struct evloop *loop, const char *servers,
		    unsigned timeout_ms, char *err, size_t errlen);
/* Keep up to entries answers (0: none, the default), least recently
 * used dropped first; each for its TTL (negative answers: the SOA's),
 * at most an hour. Failures are never kept. Emptied on every call. */
void dns_set_cache(struct dns *d, size_t entries);
/* Lookups answered from the cache (hits) and lookups it could not
 * answer (misses; none while it is off), for a metrics page. */
struct dns_cache_stats {
	unsigned long long hits, misses;
};
const struct dns_cache_stats *dns_cache_stats(const struct dns *d);
/* Seconds the answer packet p may be kept (0: not at all); negative:
 * it is an NXDOMAIN or NODATA answer, kept DNS_NEG_TTL seconds when it
 * has no SOA. For the cache (dns_ttl.c). */
#define DNS_NEG_TTL 5
uint32_t dns_packet_ttl(const unsigned char *p, size_t len, int negative);
/* Free the resolver; lookups still in flight are answered first (as
 * DNS_TEMPFAIL), from inside this call. */
void dns_free(struct dns *d);

/* MX records of domain (CNAMEs followed by c-ares). */
void dns_mx(struct dns *d, const char *domain,
	    void (*cb)(void *arg, const struct dns_mx_result *r), void *arg);

/* A and AAAA addresses of host. */
void dns_addr(struct dns *d, const char *host,
	      void (*cb)(void *arg, const struct dns_addr_result *r),
	      void *arg);

/* ---- single-type queries (SPF, DKIM, DMARC) ---- */

/* RR types dns_query() knows (RFC 1035, RFC 3596). */
enum dns_type {
	DNS_T_A = 1,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
};

#define DNS_MAX_RR 32		/* records kept of one answer */
#define DNS_MAX_RR_LEN 8192	/* bytes of one record's text */

/* One answer of dns_query(): rr[i] is NUL-terminated text of len[i]
 * bytes: a numeric address (A, AAAA), a host name (PTR, MX: the
 * exchanger only, null MX left out) or a TXT record's strings joined
 * (RFC 7208 3.3; may hold NULs, hence len). Owned by dns.c, valid only
 * during the callback. */
struct dns_rr_result {
	enum dns_status status;
	int type;
	size_t n;
	char *rr[DNS_MAX_RR];
	size_t len[DNS_MAX_RR];
};

/* Look up records of one type (no search list, no hosts file: the
 * answer is the DNS's). status DNS_OK means n > 0. */
void dns_query(struct dns *d, const char *name, enum dns_type type,
	       void (*cb)(void *arg, const struct dns_rr_result *r),
	       void *arg);

#endif

/*
 * NAME
 *	dns_cache_test - the answer cache of the c-ares adapter
 * DESCRIPTION
 *	dns_packet_ttl() on crafted answers (the least answer TTL, the SOA's
 *	negative TTL of RFC 2308, the fixed one without a SOA, RFC 2181's
 *	top bit, truncated packets), then the cache against a resolver on
 *	127.0.0.1 that this test runs in its own loop and that counts the
 *	queries it gets: a hit asks nothing, is answered from the loop (not
 *	inside dns_query()), ignores case and a trailing dot, and the least
 *	recently used entry goes first when the cache is full.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns.h"
#include "evloop.h"
#include "test.h"

/* ---- crafted packets ---- */

struct pkt {
	unsigned char b[512];
	size_t n;
};

static void put(struct pkt *p, const void *d, size_t n)
{
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

static void put16(struct pkt *p, unsigned v)
{
	unsigned char b[2] = {(unsigned char)(v >> 8), (unsigned char)v};

	put(p, b, 2);
}

static void put32(struct pkt *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p, v & 0xffff);
}

/* A header and the question "c.test" TXT. */
static void start(struct pkt *p, unsigned an, unsigned ns)
{
	p->n = 0;
	put16(p, 1);
	put16(p, 0x8180);
	put16(p, 1);
	put16(p, an);
	put16(p, ns);
	put16(p, 0);
	put(p, "\1c\4test", 8);
	put16(p, 16);
	put16(p, 1);
}

static void txt_rr(struct pkt *p, uint32_t ttl)
{
	put(p, "\xc0\x0c", 2);
	put16(p, 16);
	put16(p, 1);
	put32(p, ttl);
	put16(p, 4);
	put(p, "\3abc", 4);
}

static void soa_rr(struct pkt *p, uint32_t ttl, uint32_t minimum)
{
	put(p, "\xc0\x0e", 2); /* "test" */
	put16(p, 6);
	put16(p, 1);
	put32(p, ttl);
	put16(p, 2 + 20);
	put(p, "\0\0", 2); /* root MNAME, root RNAME */
	put32(p, 1);
	put32(p, 3600);
	put32(p, 600);
	put32(p, 86400);
	put32(p, minimum);
}

static void test_packet_ttl(void)
{
	struct pkt p;

	start(&p, 2, 0);
	txt_rr(&p, 300);
	txt_rr(&p, 120);
	CHECK(dns_packet_ttl(p.b, p.n, 0) == 120, "least answer TTL");
	CHECK(dns_packet_ttl(p.b, p.n - 1, 0) == 0, "truncated: not kept");
	start(&p, 1, 0);
	txt_rr(&p, 0x80000001u);
	CHECK(dns_packet_ttl(p.b, p.n, 0) == 0, "top bit set: TTL 0");
	start(&p, 0, 1);
	soa_rr(&p, 900, 60);
	CHECK(dns_packet_ttl(p.b, p.n, 1) == 60, "negative: SOA MINIMUM");
	start(&p, 0, 1);
	soa_rr(&p, 30, 600);
	CHECK(dns_packet_ttl(p.b, p.n, 1) == 30, "negative: SOA TTL");
	p.b[p.n - 21] = 9; /* RNAME runs past the SOA */
	CHECK(dns_packet_ttl(p.b, p.n, 1) == 0, "bad SOA: not kept");
	start(&p, 0, 0);
	CHECK(dns_packet_ttl(p.b, p.n, 1) == 5, "negative without SOA");
	p.b[12] = 0xc0; /* a name pointer cut short */
	CHECK(dns_packet_ttl(p.b, 13, 1) == 0, "broken question");
	CHECK(dns_packet_ttl(p.b, 11, 0) == 0, "short header");
}

/* ---- a counting resolver in the loop ---- */

struct server {
	int fd, queries;
};

static void on_query(void *arg, uint32_t events)
{
	struct server *s = arg;
	struct sockaddr_in peer;
	socklen_t plen = sizeof(peer);
	struct pkt p;
	unsigned char q[512];
	ssize_t n = recvfrom(
		s->fd, q, sizeof(q), 0, (struct sockaddr *)&peer, &plen);
	size_t end = 12;

	(void)events;
	if (n < 17)
		return;
	while (end < (size_t)n && q[end])
		end += 1u + q[end];
	end += 5;
	if (end > (size_t)n)
		return;
	s->queries++;
	p.n = 0;
	put(&p, q, end);
	p.b[2] = 0x81;
	p.b[3] = 0x80;
	p.b[7] = 1; /* ANCOUNT 1, ARCOUNT 0 */
	p.b[11] = 0;
	txt_rr(&p, 60);
	sendto(s->fd, p.b, p.n, 0, (struct sockaddr *)&peer, plen);
}

struct ask {
	struct evloop *loop;
	int in_call, answers, inside, ok;
};

static void on_txt(void *arg, const struct dns_rr_result *r)
{
	struct ask *a = arg;

	a->answers++;
	a->inside += a->in_call;
	a->ok += r->status == DNS_OK && r->n == 1 && r->len[0] == 3 &&
		 memcmp(r->rr[0], "abc", 3) == 0;
	evloop_stop(a->loop);
}

static void query(struct dns *d, struct ask *a, const char *name)
{
	a->in_call = 1;
	dns_query(d, name, DNS_T_TXT, on_txt, a);
	a->in_call = 0;
	evloop_run(a->loop);
}

static void test_cache(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	struct evloop *loop = evloop_new();
	struct server s = {socket(AF_INET, SOCK_DGRAM, 0), 0};
	struct ask a = {loop, 0, 0, 0, 0};
	char servers[64], err[256];
	struct dns *d;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(s.fd >= 0 &&
			bind(s.fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
			getsockname(s.fd, (struct sockaddr *)&sa, &len) == 0 &&
			evloop_add(loop, s.fd, EPOLLIN, on_query, &s) == 0,
		"a resolver");
	snprintf(servers, sizeof(servers), "127.0.0.1:%u", ntohs(sa.sin_port));
	d = dns_new(loop, servers, 2000, err, sizeof(err));
	CHECK(d != NULL, err);
	if (d == NULL)
		return;
	dns_set_cache(d, 2);
	query(d, &a, "c.test");
	CHECK(s.queries == 1 && a.answers == 1, "first lookup asks");
	query(d, &a, "C.Test.");
	CHECK(s.queries == 1 && a.answers == 2, "hit: nothing asked");
	CHECK(a.inside == 0, "hit answered from the loop");
	CHECK(a.ok == 2, "hit gives the same records");
	CHECK(dns_cache_stats(d)->hits == 1 && dns_cache_stats(d)->misses == 1,
		"counted");
	query(d, &a, "x.test");
	query(d, &a, "c.test"); /* c is now the latest used */
	query(d, &a, "y.test"); /* full: x goes */
	CHECK(s.queries == 3, "three names asked");
	query(d, &a, "c.test");
	CHECK(s.queries == 3, "c kept");
	query(d, &a, "x.test");
	CHECK(s.queries == 4, "x dropped (least recently used)");
	dns_set_cache(d, 0);
	query(d, &a, "c.test");
	CHECK(s.queries == 5 && a.answers == 8, "off: asked again");
	CHECK(a.inside == 0 && a.ok == 8, "every answer from the loop");
	dns_free(d);
	evloop_del(loop, s.fd);
	close(s.fd);
	evloop_free(loop);
}

int main(void)
{
	test_packet_ttl();
	test_cache();
	return test_done();
}

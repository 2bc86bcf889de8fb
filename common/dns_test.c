/*
 * NAME
 *	dns_test - the c-ares adapter's shutdown with lookups in flight
 * DESCRIPTION
 *	A resolver on 127.0.0.1 that never answers (a bound UDP socket
 *	nobody reads) keeps lookups in flight; dns_free() must answer each
 *	as a temporary failure, and so also the lookups those answers'
 *	callbacks ask for (an MX list moving on to its next host), which
 *	must never reach c-ares while it is being destroyed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns.h"
#include "evloop.h"
#include "test.h"

struct chain {
	struct dns *d;
	int answers, tempfail, left;
};

static void on_addr(void *arg, const struct dns_addr_result *r)
{
	struct chain *c = arg;

	c->answers++;
	c->tempfail += r->status == DNS_TEMPFAIL;
	if (c->left-- > 0) /* the next host of the list */
		dns_addr(c->d, "next.example.test", on_addr, c);
}

static void on_rr(void *arg, const struct dns_rr_result *r)
{
	struct chain *c = arg;

	c->answers++;
	c->tempfail += r->status == DNS_TEMPFAIL;
	if (c->left-- > 0)
		dns_query(c->d, "next.example.test", DNS_T_TXT, on_rr, c);
}

static void on_mx(void *arg, const struct dns_mx_result *r)
{
	struct chain *c = arg;

	c->answers++;
	c->tempfail += r->status == DNS_TEMPFAIL;
	if (c->left-- > 0)
		dns_mx(c->d, "next.example.test", on_mx, c);
}

int main(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	struct evloop *loop = evloop_new();
	struct chain a = {0}, t = {0}, m = {0};
	char servers[64], err[256];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	      getsockname(fd, (struct sockaddr *)&sa, &len) == 0,
	      "a silent resolver");
	snprintf(servers, sizeof(servers), "127.0.0.1:%u", ntohs(sa.sin_port));
	a.d = t.d = m.d = dns_new(loop, servers, 5000, err, sizeof(err));
	CHECK(a.d != NULL, err);
	if (a.d == NULL)
		return test_done();
	a.left = t.left = m.left = 3;
	dns_addr(a.d, "first.example.test", on_addr, &a);
	dns_query(t.d, "first.example.test", DNS_T_TXT, on_rr, &t);
	dns_mx(m.d, "first.example.test", on_mx, &m);
	dns_free(a.d); /* aborted in ares_destroy() before closing_fail */
	CHECK(a.answers == 4 && a.tempfail == 4, "addr chain answered");
	CHECK(t.answers == 4 && t.tempfail == 4, "txt chain answered");
	CHECK(m.answers == 4 && m.tempfail == 4, "mx chain answered");
	close(fd);
	evloop_free(loop);
	return test_done();
}

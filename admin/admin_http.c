/*
 * NAME
 *	admin_http - the HTTPS server (the only file that includes GNU
 *	libmicrohttpd and GnuTLS)
 * DESCRIPTION
 *	libmicrohttpd parses HTTP, decodes forms (its post processor) and
 *	runs TLS (GnuTLS inside it: TLS 1.2 and 1.3 only); we never parse
 *	HTTP ourselves. One internal polling thread calls admin_route()
 *	for each complete request. A client outside allow_networks is
 *	closed at accept; with tls_client_ca, a client without a
 *	certificate that chains to it gets 403. Every answer carries HSTS
 *	and a strict Content-Security-Policy. An answer with a delay (a
 *	failed login) suspends its connection; the main thread resumes it
 *	when the delay has passed (admin_http_tick()). Faces the network.
 */
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "log.h"
#include "netmatch.h"

#include "admin.h"

/* one request in progress */
struct hreq {
	struct admin_req r;
	struct admin_resp o;
	struct MHD_PostProcessor *pp;
	size_t body;		/* bytes of body seen */
	int routed;		/* o is ready */
	uint64_t due_ms;	/* suspended until */
	struct hreq *next;	/* in the delayed list */
};

static struct MHD_Daemon *mhd;
static struct admin *the_admin;
static char *cert_pem, *key_pem, *ca_pem;
static pthread_mutex_t delayed_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hreq *delayed;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static char *slurp(const char *path, const char *what)
{
	struct sbuf b;
	char buf[4096];
	size_t n;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		log_fatal("%s %s: cannot read", what, path);
	sbuf_init(&b, 1 << 20);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (sbuf_append(&b, buf, n) < 0)
			log_fatal("%s %s: too large", what, path);
	fclose(f);
	sbuf_puts(&b, "");
	return sbuf_steal(&b);
}

static void client_text(const struct sockaddr *sa, socklen_t len, char *out,
			size_t n)
{
	if (getnameinfo(sa, len, out, (socklen_t)n, NULL, 0,
			NI_NUMERICHOST) != 0)
		snprintf(out, n, "?");
}

static enum MHD_Result accept_cb(void *cls, const struct sockaddr *sa,
				 socklen_t len)
{
	char ip[64];

	client_text(sa, len, ip, sizeof(ip));
	if (netmatch_list(the_admin->allow, ip))
		return MHD_YES;
	log_warn("refused client [%s]: not in allow_networks", ip);
	return MHD_NO;
}

const char *admin_arg(struct admin_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
					   name);
}

const char *admin_cookie(struct admin_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

const char *admin_header(struct admin_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *admin_form(struct admin_req *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nform; i++)
		if (strcmp(r->form[i].key, name) == 0)
			return r->form[i].val.data ? r->form[i].val.data : "";
	return NULL;
}

/* libmicrohttpd hands a field's value in pieces (off > 0: more) */
static enum MHD_Result field_cb(void *cls, enum MHD_ValueKind kind,
				const char *key, const char *filename,
				const char *ctype, const char *enc,
				const char *data, uint64_t off, size_t size)
{
	struct hreq *h = cls;
	struct admin_kv *kv = NULL;

	if (off > 0 && h->r.nform > 0 &&
	    strcmp(h->r.form[h->r.nform - 1].key, key) == 0) {
		kv = &h->r.form[h->r.nform - 1];
	} else if (admin_form(&h->r, key) != NULL ||
		   h->r.nform >= ADMIN_FORM_FIELDS) {
		/* a repeated field could mean two things: refuse */
		h->r.form_bad = 1;
		return MHD_NO;
	} else {
		kv = &h->r.form[h->r.nform];
		if ((kv->key = strdup(key)) == NULL) {
			h->r.form_bad = 1;
			return MHD_NO;
		}
		sbuf_init(&kv->val, ADMIN_FIELD_MAX);
		sbuf_puts(&kv->val, "");
		h->r.nform++;
	}
	if (sbuf_append(&kv->val, data, size) < 0 ||
	    strlen(kv->val.data) != kv->val.len) {
		/* too long, or a NUL inside */
		h->r.form_bad = 1;
		return MHD_NO;
	}
	return MHD_YES;
}

static void add_headers(struct MHD_Response *resp, struct admin_resp *o)
{
	char cd[128];

	MHD_add_response_header(resp, "Strict-Transport-Security",
				"max-age=31536000; includeSubDomains");
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'none'; style-src "
				"'unsafe-inline'; img-src 'self'; "
				"form-action 'self'; frame-ancestors 'none';"
				" base-uri 'none'");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "Content-Type",
				o->ctype ? o->ctype
					 : "text/html; charset=utf-8");
	if (o->location[0])
		MHD_add_response_header(resp, "Location", o->location);
	if (o->cookie[0])
		MHD_add_response_header(resp, "Set-Cookie", o->cookie);
	if (o->filename[0]) {
		snprintf(cd, sizeof(cd), "attachment; filename=\"%s\"",
			 o->filename);
		MHD_add_response_header(resp, "Content-Disposition", cd);
	}
}

static enum MHD_Result send_resp(struct MHD_Connection *c,
				 struct admin_resp *o)
{
	struct MHD_Response *resp;
	enum MHD_Result rc;

	resp = MHD_create_response_from_buffer(o->body.len,
					       o->body.data ? o->body.data
							    : (char *)"",
					       MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	add_headers(resp, o);
	rc = MHD_queue_response(c, (unsigned)(o->location[0] ? 303
							     : o->status),
				resp);
	MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result simple(struct MHD_Connection *c, int status,
			      const char *text)
{
	struct admin_resp o;
	enum MHD_Result rc;

	memset(&o, 0, sizeof(o));
	o.status = status;
	o.ctype = "text/plain; charset=utf-8";
	sbuf_init(&o.body, 1024);
	sbuf_puts(&o.body, text);
	rc = send_resp(c, &o);
	sbuf_free(&o.body);
	return rc;
}

/* With tls_client_ca: the client's certificate chains to it. */
static int client_cert_ok(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;
	unsigned status = 0;

	if (ca_pem == NULL)
		return 1;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || ci->tls_session == NULL)
		return 0;
	if (gnutls_certificate_type_get(ci->tls_session) !=
	    GNUTLS_CRT_X509 ||
	    gnutls_certificate_get_peers(ci->tls_session, &status) == NULL)
		return 0;
	return gnutls_certificate_verify_peers2(ci->tls_session, &status) ==
		       0 &&
	       status == 0;
}

static void free_hreq(struct hreq *h)
{
	size_t i;

	if (h->pp)
		MHD_destroy_post_processor(h->pp);
	for (i = 0; i < h->r.nform; i++) {
		free(h->r.form[i].key);
		/* a password may have been typed here */
		if (h->r.form[i].val.data)
			explicit_bzero(h->r.form[i].val.data,
				       h->r.form[i].val.len);
		sbuf_free(&h->r.form[i].val);
	}
	sbuf_free(&h->o.body);
	free(h);
}

static void completed_cb(void *cls, struct MHD_Connection *c, void **ctx,
			 enum MHD_RequestTerminationCode why)
{
	if (*ctx)
		free_hreq(*ctx);
	*ctx = NULL;
}

static struct hreq *new_hreq(struct MHD_Connection *c, const char *url,
			     const char *method)
{
	const union MHD_ConnectionInfo *ci;
	struct hreq *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->r.conn = c;
	h->r.method = method;
	h->r.path = url;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr)
		client_text(ci->client_addr,
			    ci->client_addr->sa_family == AF_INET6
				    ? sizeof(struct sockaddr_in6)
				    : sizeof(struct sockaddr_in),
			    h->r.client, sizeof(h->r.client));
	else
		snprintf(h->r.client, sizeof(h->r.client), "?");
	sbuf_init(&h->o.body, (size_t)1 << 24);
	h->o.status = 200;
	return h;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
			       const char *url, const char *method,
			       const char *version, const char *data,
			       size_t *size, void **ctx)
{
	struct hreq *h = *ctx;

	if (h == NULL) {
		if (strcmp(method, "GET") && strcmp(method, "POST"))
			return simple(c, 405, "method not allowed\n");
		if (!client_cert_ok(c))
			return simple(c, 403, "a client certificate is "
				      "required\n");
		if ((h = new_hreq(c, url, method)) == NULL)
			return MHD_NO;
		*ctx = h;
		if (strcmp(method, "POST") == 0) {
			h->pp = MHD_create_post_processor(c, 4096, field_cb,
							  h);
			if (h->pp == NULL)
				h->r.form_bad = 1;
		}
		return MHD_YES;
	}
	if (*size > 0) {
		h->body += *size;
		if (h->body > ADMIN_FORM_MAX)
			h->r.form_bad = 1;
		if (!h->r.form_bad && h->pp &&
		    MHD_post_process(h->pp, data, *size) != MHD_YES)
			h->r.form_bad = 1;
		*size = 0;
		return MHD_YES;
	}
	if (!h->routed) {
		h->routed = 1;
		admin_route(the_admin, &h->r, &h->o);
		if (h->o.delay_ms > 0) {
			h->due_ms = now_ms() + h->o.delay_ms;
			pthread_mutex_lock(&delayed_lock);
			h->next = delayed;
			delayed = h;
			MHD_suspend_connection(c);
			pthread_mutex_unlock(&delayed_lock);
			return MHD_YES;
		}
	}
	return send_resp(c, &h->o);
}

void admin_http_tick(void)
{
	struct hreq **pp, *h;
	uint64_t now = now_ms();

	pthread_mutex_lock(&delayed_lock);
	for (pp = &delayed; (h = *pp) != NULL;) {
		if (h->due_ms <= now) {
			*pp = h->next;
			MHD_resume_connection(h->r.conn);
		} else {
			pp = &h->next;
		}
	}
	pthread_mutex_unlock(&delayed_lock);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512], safe[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\r\n")] = '\0';
	log_info("http: %s", log_safe(safe, sizeof(safe), line));
}

void admin_http_keys(struct admin *a)
{
	cert_pem = slurp(a->cfg->tls_cert, "tls_cert");
	key_pem = slurp(a->cfg->tls_key, "tls_key");
	if (a->cfg->tls_client_ca[0])
		ca_pem = slurp(a->cfg->tls_client_ca, "tls_client_ca");
}

void admin_http_start(struct admin *a, int fd)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_USE_TLS | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_USE_ERROR_LOG;
	/* asking for client certificates only with a CA to check them */
	struct MHD_OptionItem trust[2] = {{MHD_OPTION_END, 0, NULL},
					  {MHD_OPTION_END, 0, NULL}};

	the_admin = a;
	if (ca_pem) {
		trust[0].option = MHD_OPTION_HTTPS_MEM_TRUST;
		trust[0].ptr_value = ca_pem;
	}
	mhd = MHD_start_daemon(
		flags, 0, accept_cb, NULL, handler, NULL,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_HTTPS_MEM_CERT, cert_pem,
		MHD_OPTION_HTTPS_MEM_KEY, key_pem,
		MHD_OPTION_HTTPS_PRIORITIES,
		"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
		MHD_OPTION_ARRAY, trust,
		MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)a->cfg->max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, 16u,
		MHD_OPTION_CONNECTION_TIMEOUT, 30u,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
		MHD_OPTION_NOTIFY_COMPLETED, completed_cb, NULL,
		MHD_OPTION_END);
	explicit_bzero(key_pem, strlen(key_pem));
	if (mhd == NULL)
		log_fatal("cannot start the HTTPS server on %s (certificate "
			  "%s, key %s)", a->cfg->listen, a->cfg->tls_cert,
			  a->cfg->tls_key);
}

void admin_http_stop(void)
{
	struct hreq *h;

	/* resume every suspended answer, so the library can close it */
	pthread_mutex_lock(&delayed_lock);
	while ((h = delayed) != NULL) {
		delayed = h->next;
		MHD_resume_connection(h->r.conn);
	}
	pthread_mutex_unlock(&delayed_lock);
	MHD_stop_daemon(mhd);
	mhd = NULL;
	free(cert_pem);
	free(key_pem);
	free(ca_pem);
}

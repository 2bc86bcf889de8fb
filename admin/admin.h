/*
 * NAME
 *	admin - what the files of sluice-admin share
 * DESCRIPTION
 *	sluice-admin serves delegated administration over HTTPS: the HTTP
 *	library (GNU libmicrohttpd, only in admin_http.c) runs one polling
 *	thread that calls admin_route() for every complete request, so the
 *	directory, the sessions and the failed-login table are touched by
 *	that thread alone. The main thread waits for signals, wakes delayed
 *	answers and scrapes the statistics (admin_stats.c, its own SQLite
 *	connection). Everything a request carries is untrusted.
 */
#ifndef SLUICE_ADMIN_H
#define SLUICE_ADMIN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "limits_rfc.h"
#include "sbuf.h"

struct authlimit;
#include "../store/dir/store_dir.h"
struct admin_stats;

struct admin_cfg {
	char *listen;
	char *tls_cert;
	char *tls_key;
	char *tls_client_ca;
	char *allow_networks;
	char *directory;
	char *snapshot;
	char *credentials;
	char *sender_lists;
	char *state_dir;
	char *queues;
	char *metrics;
	char *user;
	char *mail_host;
	long long imaps_port;
	long long pop3s_port;
	long long submission_port;
	long long session_timeout;
	long long stats_interval;
	long long auth_fail_max;
	long long auth_fail_window;
	long long max_connections;
	int syslog;
};

struct admin {
	struct admin_cfg *cfg;
	struct store_dir *dir;
	struct authlimit *authlimit;
	struct admin_stats *stats;
	char **allow;		/* allow_networks as a list */
	char **queues;		/* "name:dir" */
	char **metrics;		/* "name=url" */
	char creds[4096];	/* credentials snapshot path */
	char senders[4096];	/* sender lists snapshot path */
};

/* ---- one request and its answer (admin_http.c fills and sends) ---- */

struct admin_kv {
	char *key;
	struct sbuf val;
};

#define ADMIN_FORM_FIELDS 64
#define ADMIN_FIELD_MAX 8192
#define ADMIN_FORM_MAX 65536

struct admin_req {
	const char *method;
	const char *path;
	char client[64];	/* numeric client address */
	void *conn;		/* the library's connection */
	struct admin_kv form[ADMIN_FORM_FIELDS];
	size_t nform;
	int form_bad;		/* too many or too long fields */
};

struct admin_resp {
	int status;
	const char *ctype;	/* default text/html */
	struct sbuf body;
	char location[1024];	/* a redirect (303) when set */
	char cookie[256];	/* a Set-Cookie value when set */
	char filename[64];	/* Content-Disposition attachment */
	uint64_t delay_ms;	/* answer only after this long */
};

/* A query argument, form field, cookie or header of r; NULL if absent.
 * Form fields come from the POST body only. */
const char *admin_arg(struct admin_req *r, const char *name);
const char *admin_form(struct admin_req *r, const char *name);
const char *admin_cookie(struct admin_req *r, const char *name);
const char *admin_header(struct admin_req *r, const char *name);

/* admin_http.c: read the certificate, key and client CA (before the
 * privilege drop); exits through log_fatal() when it cannot. */
void admin_http_keys(struct admin *a);
/* Start the HTTPS server on the listening socket fd; exits through
 * log_fatal() when it cannot. */
void admin_http_start(struct admin *a, int fd);
/* Wake the answers whose delay has passed (main thread). */
void admin_http_tick(void);
void admin_http_stop(void);

/* admin_pages.c: answer one request. */
void admin_route(struct admin *a, struct admin_req *r, struct admin_resp *o);

/* ---- sessions (admin_session.c) ---- */

struct admin_sess {
	char id[65];		/* hex; the cookie ("" in a session read
				 * back from the file: only its hash is) */
	unsigned char hash[32];	/* SHA-256 of id: what is compared, kept */
	char csrf[65];		/* hex; every form carries it */
	char user[LIM_PATH + 1];	/* "" before login */
	char role[8];		/* at login: super, domain or user */
	char flash[512];	/* one message for the next page */
	time_t seen;
	time_t saved;		/* seen when last written to the file */
	int used;
};

/* Read the logged-in sessions kept in state_dir/sessions (purging the
 * expired), and keep them there from now on. Call once, after the
 * privilege drop, before requests. Exits through log_fatal() when the
 * path is too long. */
void admin_sess_open(struct admin *a);

/* The session named by r's cookie, or NULL (unknown, expired). */
struct admin_sess *admin_sess_find(struct admin *a, struct admin_req *r);
/* A new session (user "" for the login form's); never one the client
 * named, so a planted cookie cannot become a logged-in one. */
struct admin_sess *admin_sess_new(struct admin *a, const char *user);
void admin_sess_end(struct admin_sess *s);
/* The Set-Cookie value of s (or one that clears the cookie). */
void admin_sess_cookie(const struct admin_sess *s, char *out, size_t n);
/* Non-zero when token is s's CSRF token (constant time). */
int admin_sess_csrf_ok(const struct admin_sess *s, const char *token);

/* ---- HTML (admin_html.c) ---- */

/* Append s escaped for HTML text and attribute values. */
void admin_html(struct sbuf *o, const char *s);
/* Append s percent-encoded for a URL query value. */
void admin_url(struct sbuf *o, const char *s);
/* The page's head and menu; admin_page_end() closes it. */
void admin_page_start(struct sbuf *o, const char *title,
		      struct admin_sess *s);
void admin_page_end(struct sbuf *o);
/* A form's opening tag and its CSRF field. */
void admin_form_start(struct sbuf *o, const char *action,
		      struct admin_sess *s);
/* A hidden form field name (a literal of ours) = value (escaped). */
void admin_hidden(struct sbuf *o, const char *name, const char *value);
/* An error page (status, message escaped). */
void admin_error(struct admin_resp *o, int status, struct admin_sess *s,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- directory access and roles (admin_dir.c) ---- */

/* Run one directory command (sluicectl's words) on behalf of s's user
 * from r's client, publish the snapshots and write the audit line.
 * 0, or -1 with a reason for the user in err. */
int admin_change(struct admin *a, struct admin_req *r,
		 struct admin_sess *s, int argc, char **argv, struct sbuf *out,
		 char *err, size_t errlen);
/* Set a password the same way (the password is never logged). */
int admin_passwd(struct admin *a, struct admin_req *r, struct admin_sess *s,
		 const char *addr, const char *pw, char *err, size_t errlen);
/* The count a directory view q gives for text parameters p (-1 on
 * error). */
long long admin_count(struct admin *a, enum dir_q q, const char *const *p);
int admin_is_super(struct admin *a, const char *user);
/* user may administer domain (super, or a domain admin of it). */
int admin_can_domain(struct admin *a, const char *user, const char *domain);
/* user owns list. */
int admin_owns_list(struct admin *a, const char *user, const char *list);
/* The domain of an address (after the last '@'), or "". */
const char *admin_domain_of(const char *addr);
/* Append one audit line: when, who, from where, what. */
void admin_audit(struct admin *a, const char *who, const char *client,
		 const char *what);

/* ---- queues (admin_queue.c) and statistics (admin_stats.c) ---- */

void admin_queue_page(struct admin *a, struct admin_req *r,
		      struct admin_sess *s, struct admin_resp *o);
void admin_queue_post(struct admin *a, struct admin_req *r,
		      struct admin_sess *s, struct admin_resp *o);

struct admin_stats *admin_stats_open(const char *path, char *err,
				     size_t errlen);
void admin_stats_close(struct admin_stats *st);
/* Scrape every configured metrics URL into the tables (main thread). */
void admin_stats_collect(struct admin *a);
void admin_stats_page(struct admin *a, struct admin_req *r,
		      struct admin_sess *s, struct admin_resp *o);

#endif

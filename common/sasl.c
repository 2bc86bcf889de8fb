/*
 * NAME
 *	sasl - the Cyrus SASL adapter (the only file that includes Cyrus SASL)
 * DESCRIPTION
 *	See sasl.h. Cyrus does the mechanisms (PLAIN, LOGIN, SCRAM-SHA-256
 *	plugins of libsasl2-modules); we give it the credentials:
 *	- PLAIN, LOGIN and sasl_checkpass() call our
 *	  SASL_CB_SERVER_USERDB_CHECKPASS callback, which checks the scrypt
 *	  hash of the credentials snapshot (common/creds.c);
 *	- SCRAM-SHA-256 asks the auxprop layer for "*authPassword"; our
 *	  in-process auxprop plugin "sluice" answers with the stored secret
 *	  "SCRAM-SHA-256$ITER:SALT$STOREDKEY:SERVERKEY" (plugins/scram.c
 *	  parses exactly that), so no clear password is ever stored.
 *	Cyrus reads no configuration or password file: the options come from
 *	cb_getopt(), the config path points nowhere, cb_verifyfile() refuses
 *	every config file and loads only the three plugins we use, and
 *	auxprop_plugin names ours only (so sasldb's /etc/sasldb2 is never
 *	opened). Disabled and expired users fail, whatever the mechanism
 *	says, because every success is checked against the snapshot again.
 *	Cyrus's result codes are mapped to ours in one place, map_result().
 *	Threads: the protocol servers run the exchanges on worker threads
 *	(sasl_async.c), so one mutex covers every call into Cyrus and the
 *	credentials table; only the scrypt check in cb_checkpass() runs
 *	with it released (on a copy of the hash), which is where the time
 *	goes, so several checks proceed at once. The session inside a call
 *	into Cyrus is per thread (in_call). One sasl_srv is used by one thread
 *	at a time (its owner, or the job that has it).
 *	Faces the network through the protocol servers; Base64 and lengths
 *	are checked here before Cyrus sees a byte.
 */
#include "sasl.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sasl/sasl.h>
#include <sasl/saslplug.h>

#include "creds.h"
#include "limits_rfc.h"
#include "log.h"
#include "sbuf.h"
#include "tls.h"

#define SASL_MECHS "PLAIN LOGIN SCRAM-SHA-256"
#define SASL_PASS_MAX 1024

static struct {
	char *path;	   /* credentials snapshot */
	struct creds *tab;
	char dummy[200];   /* a scrypt hash: equal time for unknown users */
	unsigned char fake_key[32]; /* SCRAM secrets of nobody, see below */
	char host[256];
	char *mechs[2];	   /* the mechanism list without and with TLS */
	int ready;
} g;

/* Held by every call into Cyrus and every use of g.tab. */
static pthread_mutex_t sasl_mu = PTHREAD_MUTEX_INITIALIZER;
/* The session inside this thread's call into Cyrus. */
static _Thread_local struct sasl_srv *in_call;

struct sasl_srv {
	sasl_conn_t *conn; /* NULL until needed; renewed after a failure */
	char service[16];
	char *local, *remote;
	int tls;
	const char *mechs; /* g.mechs[tls] */
	char user[LIM_PATH + 1]; /* after success */
	char tried[LIM_PATH + 1]; /* the name the client gave */
};

/* Remember in s the name the client gave, lowercased. */
static void set_tried(struct sasl_srv *s, const char *user)
{
	size_t i;

	for (i = 0; user[i] && i < LIM_PATH; i++)
		s->tried[i] = (char)tolower((unsigned char)user[i]);
	s->tried[i] = '\0';
}

/* The same from a callback, which runs inside our call into Cyrus. */
static void tried(const char *user)
{
	if (in_call != NULL)
		set_tried(in_call, user);
}

static const struct cred *lookup(const char *user)
{
	creds_refresh(&g.tab, g.path);
	return creds_find(g.tab, user);
}

/* ---- callbacks and the auxprop plugin ---- */

static int cb_getopt(void *ctx, const char *plugin, const char *opt,
		     const char **res, unsigned *len)
{
	static const char *const opts[][2] = {
		{"mech_list", SASL_MECHS},
		{"auxprop_plugin", "sluice"},
		{"pwcheck_method", "auxprop"},
		{"auto_transition", "no"},
		{"log_level", "1"},
		{"sasldb_path", "/nonexistent"},
	};
	size_t i;

	(void)ctx;
	(void)plugin;
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (strcmp(opt, opts[i][0]) == 0) {
			*res = opts[i][1];
			if (len)
				*len = (unsigned)strlen(opts[i][1]);
			return SASL_OK;
		}
	}
	return SASL_FAIL;
}

static int cb_confpath(void *ctx, char **path)
{
	static char nowhere[] = "/nonexistent/sluice";

	(void)ctx;
	*path = nowhere;
	return SASL_OK;
}

static int cb_verifyfile(void *ctx, const char *file, sasl_verify_type_t t)
{
	static const char *const allowed[] = {"libplain.", "liblogin.",
					      "libscram."};
	const char *base = strrchr(file, '/');
	size_t i;

	(void)ctx;
	base = base ? base + 1 : file;
	if (t != SASL_VRFY_PLUGIN)
		return SASL_CONTINUE; /* "does not exist": never read it */
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (strncmp(base, allowed[i], strlen(allowed[i])) == 0)
			return SASL_OK;
	return SASL_CONTINUE;
}

static int cb_log(void *ctx, int level, const char *msg)
{
	char safe[300];

	(void)ctx;
	if (level <= SASL_LOG_ERR)
		log_info("sasl: %s", log_safe(safe, sizeof(safe), msg));
	return SASL_OK;
}

/* User names are addresses of the directory: printable ASCII without
 * spaces, lowercased. Anything else cannot be a user. */
static int cb_canon(sasl_conn_t *conn, void *ctx, const char *in,
		    unsigned inlen, unsigned flags, const char *realm,
		    char *out, unsigned out_max, unsigned *out_len)
{
	unsigned i;

	(void)conn;
	(void)ctx;
	(void)flags;
	(void)realm;
	if (inlen == 0 || inlen > LIM_PATH || inlen >= out_max)
		return SASL_BADAUTH;
	for (i = 0; i < inlen; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c <= ' ' || c >= 0x7f)
			return SASL_BADAUTH;
		out[i] = (char)tolower(c);
	}
	out[inlen] = '\0';
	*out_len = inlen;
	return SASL_OK;
}

static int cb_checkpass(sasl_conn_t *conn, void *ctx, const char *user,
			const char *pass, unsigned passlen,
			struct propctx *pc)
{
	const struct cred *c = lookup(user);
	char pw[SASL_PASS_MAX], hash[sizeof(g.dummy)];
	int ok;

	(void)conn;
	(void)ctx;
	(void)pc;
	tried(user);
	if (passlen == 0 || passlen >= sizeof(pw) ||
	    memchr(pass, '\0', passlen) != NULL)
		return SASL_BADAUTH;
	memcpy(pw, pass, passlen);
	pw[passlen] = '\0';
	/* an unusable user spends the same time on the dummy hash, so
	 * timing tells no user names */
	ok = creds_usable(c, (long long)time(NULL));
	snprintf(hash, sizeof(hash), "%s", ok ? c->scrypt : g.dummy);
	/* the slow part, without the lock: c is not used past here */
	pthread_mutex_unlock(&sasl_mu);
	ok = tls_password_check(pw, hash) == 1 && ok;
	pthread_mutex_lock(&sasl_mu);
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(hash, sizeof(hash));
	return ok ? SASL_OK : SASL_BADAUTH;
}

/* A SCRAM secret for a user who has none (unknown, disabled, expired,
 * or no secret yet): derived from a per-process key and the name, so
 * the salt is stable and the exchange fails at the proof, like a wrong
 * password, instead of telling at the first step who exists. */
static int fake_scram(const char *name, char *out, size_t outlen)
{
	unsigned char h[3][32];
	struct sbuf b;
	int i, rc;

	for (i = 0; i < 3; i++) {
		unsigned char in[LIM_PATH + 2];
		size_t n = strlen(name);

		in[0] = (unsigned char)('s' + i);
		memcpy(in + 1, name, n);
		tls_hmac_sha256(g.fake_key, sizeof(g.fake_key), in, n + 1, h[i]);
	}
	sbuf_init(&b, outlen - 1);
	rc = sbuf_printf(&b, "SCRAM-SHA-256$%d:", TLS_SCRAM_ITER) == 0 &&
	     tls_base64(h[0], 16, &b) == 0 && sbuf_puts(&b, "$") == 0 &&
	     tls_base64(h[1], 32, &b) == 0 && sbuf_puts(&b, ":") == 0 &&
	     tls_base64(h[2], 32, &b) == 0 ? 0 : -1;
	if (rc == 0)
		snprintf(out, outlen, "%s", b.data);
	sbuf_free(&b);
	return rc;
}

/* Fill "*authPassword" (authentication identity side only). */
static int aux_lookup(void *glob, sasl_server_params_t *sp, unsigned flags,
		      const char *user, unsigned ulen)
{
	const struct propval *cur;
	const struct cred *c;
	char name[LIM_PATH + 1], fake[200];
	const char *secret;

	(void)glob;
	if (ulen == 0 || ulen > LIM_PATH)
		return SASL_NOUSER;
	memcpy(name, user, ulen);
	name[ulen] = '\0';
	if (flags & SASL_AUXPROP_AUTHZID)
		return SASL_OK;
	tried(name);
	c = lookup(name);
	if (creds_usable(c, (long long)time(NULL)) && c->scram)
		secret = c->scram;
	else if (fake_scram(name, fake, sizeof(fake)) == 0)
		secret = fake;
	else
		return SASL_NOUSER;
	for (cur = sp->utils->prop_get(sp->propctx); cur && cur->name;
	     cur++) {
		if (strcmp(cur->name, "*authPassword") != 0)
			continue;
		if (cur->values && !(flags & SASL_AUXPROP_OVERRIDE))
			continue;
		if (cur->values)
			sp->utils->prop_erase(sp->propctx, cur->name);
		sp->utils->prop_set(sp->propctx, cur->name, secret,
				    (int)strlen(secret));
	}
	return SASL_OK;
}

static sasl_auxprop_plug_t aux_plug = {
	.auxprop_lookup = aux_lookup,
	.name = (char *)"sluice",
};

static int aux_init(const sasl_utils_t *utils, int max_version,
		    int *out_version, sasl_auxprop_plug_t **plug,
		    const char *plugname)
{
	(void)utils;
	(void)plugname;
	if (max_version < SASL_AUXPROP_PLUG_VERSION)
		return SASL_BADVERS;
	*out_version = SASL_AUXPROP_PLUG_VERSION;
	*plug = &aux_plug;
	return SASL_OK;
}

typedef int (*sasl_cb_fn)(void);

static const sasl_callback_t callbacks[] = {
	{SASL_CB_GETOPT, (sasl_cb_fn)(void (*)(void))cb_getopt, NULL},
	{SASL_CB_GETCONFPATH, (sasl_cb_fn)(void (*)(void))cb_confpath, NULL},
	{SASL_CB_VERIFYFILE, (sasl_cb_fn)(void (*)(void))cb_verifyfile,
	 NULL},
	{SASL_CB_LOG, (sasl_cb_fn)(void (*)(void))cb_log, NULL},
	{SASL_CB_CANON_USER, (sasl_cb_fn)(void (*)(void))cb_canon, NULL},
	{SASL_CB_SERVER_USERDB_CHECKPASS,
	 (sasl_cb_fn)(void (*)(void))cb_checkpass, NULL},
	{SASL_CB_LIST_END, NULL, NULL},
};

/* ---- set-up ---- */

int sasl_setup(const char *app, const char *creds, char *err, size_t errlen)
{
	struct sbuf h;
	int rc;

	if (g.ready) {
		snprintf(err, errlen, "SASL set up twice");
		return -1;
	}
	g.tab = creds_load(creds, err, errlen);
	if (g.tab == NULL)
		return -1;
	g.path = strdup(creds);
	sbuf_init(&h, sizeof(g.dummy) - 1);
	if (g.path == NULL || tls_password_hash("x", &h) < 0) {
		snprintf(err, errlen, "out of memory");
		sbuf_free(&h);
		sasl_teardown();
		return -1;
	}
	snprintf(g.dummy, sizeof(g.dummy), "%s", h.data);
	sbuf_free(&h);
	if (tls_random(g.fake_key, sizeof(g.fake_key)) < 0) {
		snprintf(err, errlen, "no random bytes");
		sasl_teardown();
		return -1;
	}
	if (gethostname(g.host, sizeof(g.host) - 1) < 0 || !g.host[0])
		snprintf(g.host, sizeof(g.host), "localhost");
	rc = sasl_server_init(callbacks, app);
	if (rc == SASL_OK)
		rc = sasl_auxprop_add_plugin("sluice", aux_init);
	if (rc != SASL_OK) {
		snprintf(err, errlen, "Cyrus SASL: %s",
			 sasl_errstring(rc, NULL, NULL));
		sasl_server_done();
		sasl_teardown();
		return -1;
	}
	g.ready = 1;
	if (creds_count(g.tab) == 0)
		log_warn("credentials %s: no users (yet)", creds);
	return 0;
}

void sasl_teardown(void)
{
	if (g.ready)
		sasl_server_done();
	free(g.mechs[0]);
	free(g.mechs[1]);
	creds_free(&g.tab);
	free(g.path);
	memset(&g, 0, sizeof(g));
}

/* ---- sessions ---- */

static void conn_drop(struct sasl_srv *s)
{
	if (s->conn)
		sasl_dispose(&s->conn);
	s->conn = NULL;
}

/* A fresh Cyrus context: one per exchange, so a failed or cancelled
 * exchange leaves nothing behind for the next one. */
static int conn_get(struct sasl_srv *s)
{
	sasl_security_properties_t sp;
	sasl_ssf_t ext = 256;

	if (s->conn)
		return 0;
	if (sasl_server_new(s->service, g.host, NULL, s->local, s->remote,
			    NULL, 0, &s->conn) != SASL_OK) {
		s->conn = NULL;
		return -1;
	}
	memset(&sp, 0, sizeof(sp));
	/* no SASL security layer: TLS protects the session */
	sp.security_flags = SASL_SEC_NOANONYMOUS | SASL_SEC_NOPLAINTEXT;
	if (sasl_setprop(s->conn, SASL_SEC_PROPS, &sp) != SASL_OK ||
	    (s->tls && sasl_setprop(s->conn, SASL_SSF_EXTERNAL, &ext) !=
			       SASL_OK)) {
		conn_drop(s);
		return -1;
	}
	return 0;
}

/* "ip;port" as Cyrus wants it, or NULL */
static int copy_ipport(const char *in, char **out)
{
	*out = NULL;
	if (in == NULL)
		return 0;
	if (strlen(in) > 100 || strspn(in, "0123456789abcdefABCDEF.:;%") !=
				       strlen(in))
		return -1;
	*out = strdup(in);
	return *out ? 0 : -1;
}

/* The mechanisms offered with tls (0 or 1), listed by Cyrus once: after
 * that, making a session context never calls into Cyrus, so the loop
 * never waits for the lock a worker holds. */
static const char *mech_list(struct sasl_srv *s)
{
	const char *list = NULL;
	unsigned len = 0;
	int count = 0, t = s->tls != 0;

	if (g.mechs[t] == NULL && conn_get(s) == 0 &&
	    sasl_listmech(s->conn, NULL, "", " ", "", &list, &len, &count) ==
		    SASL_OK)
		g.mechs[t] = strndup(list, len);
	conn_drop(s);
	return g.mechs[t];
}

static struct sasl_srv *srv_new(const char *service, const char *local,
				 const char *remote, int tls)
{
	struct sasl_srv *s;

	if (!g.ready || strlen(service) >= sizeof(s->service))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	snprintf(s->service, sizeof(s->service), "%s", service);
	s->tls = tls;
	if (copy_ipport(local, &s->local) < 0 ||
	    copy_ipport(remote, &s->remote) < 0 ||
	    (s->mechs = mech_list(s)) == NULL) {
		free(s->local);
		free(s->remote);
		free(s);
		return NULL;
	}
	return s;
}

struct sasl_srv *sasl_srv_new(const char *service, const char *local,
			      const char *remote, int tls)
{
	struct sasl_srv *s;
	int t = tls != 0;

	if (g.mechs[t] != NULL)	/* only the loop writes it, once */
		return srv_new(service, local, remote, tls);
	pthread_mutex_lock(&sasl_mu);
	s = srv_new(service, local, remote, tls);
	pthread_mutex_unlock(&sasl_mu);
	return s;
}

void sasl_srv_free(struct sasl_srv **sp)
{
	struct sasl_srv *s = *sp;

	if (s == NULL)
		return;
	if (s->conn) {
		pthread_mutex_lock(&sasl_mu);
		conn_drop(s);
		pthread_mutex_unlock(&sasl_mu);
	}
	free(s->local);
	free(s->remote);
	explicit_bzero(s, sizeof(*s));
	free(s);
	*sp = NULL;
}

const char *sasl_srv_mechs(struct sasl_srv *s)
{
	return s->mechs;
}

/* The one place where Cyrus's codes become ours. */
static enum sasl_res map_result(int rc)
{
	switch (rc) {
	case SASL_OK:
		return SASL_RES_OK;
	case SASL_CONTINUE:
		return SASL_RES_CONTINUE;
	case SASL_BADAUTH:
	case SASL_NOUSER:
	case SASL_NOAUTHZ:
	case SASL_EXPIRED:
	case SASL_DISABLED:
	case SASL_NOVERIFY:
	case SASL_FAIL:
		return SASL_RES_FAIL;
	case SASL_BADPROT:
	case SASL_NOMECH:
	case SASL_BADPARAM:
	case SASL_TOOWEAK:
	case SASL_ENCRYPT:
	case SASL_BUFOVER:
		return SASL_RES_BADPROT;
	default:
		return SASL_RES_TEMP;
	}
}

/* After Cyrus said OK: the user must still be allowed in. */
static enum sasl_res finish(struct sasl_srv *s, const char *user)
{
	const struct cred *c = user ? lookup(user) : NULL;

	if (!creds_usable(c, (long long)time(NULL))) {
		conn_drop(s);
		return SASL_RES_FAIL;
	}
	snprintf(s->user, sizeof(s->user), "%s", c->addr);
	return SASL_RES_OK;
}

/* Map an answer of Cyrus; on CONTINUE put the Base64 challenge in chal. */
static enum sasl_res answer(struct sasl_srv *s, int rc, const char *out,
			    unsigned outlen, struct sbuf *chal)
{
	enum sasl_res r = map_result(rc);
	const void *user = NULL;

	if (r == SASL_RES_CONTINUE) {
		if (tls_base64(out, outlen, chal) < 0) {
			conn_drop(s);
			return SASL_RES_TEMP;
		}
		return r;
	}
	if (r == SASL_RES_OK) {
		if (sasl_getprop(s->conn, SASL_USERNAME, &user) != SASL_OK)
			user = NULL;
		r = finish(s, user);
		/* the exchange is over (no security layer): nothing of Cyrus
		 * is left for the loop to free */
		conn_drop(s);
		return r;
	}
	conn_drop(s);
	return r;
}

/* Decode Base64 input into raw. 0, or -1 for malformed or too long. */
static int decode(const char *b64, struct sbuf *raw)
{
	size_t n = strlen(b64);

	if (n > LIM_AUTH_LINE)
		return -1;
	return tls_unbase64(b64, n, raw);
}

static enum sasl_res srv_start(struct sasl_srv *s, const char *mech,
			       const char *initial, struct sbuf *chal)
{
	const char *out = NULL;
	unsigned outlen = 0;
	struct sbuf raw;
	enum sasl_res r;
	int rc;

	s->user[0] = '\0';
	s->tried[0] = '\0';
	conn_drop(s);
	if (strlen(mech) == 0 || strlen(mech) > 20 ||
	    strspn(mech, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		   "0123456789-_") != strlen(mech))
		return SASL_RES_BADPROT;
	sbuf_init(&raw, LIM_AUTH_LINE);
	if (initial && strcmp(initial, "=") != 0 &&
	    decode(initial, &raw) < 0) {
		sbuf_free(&raw);
		return SASL_RES_BADPROT;
	}
	if (conn_get(s) < 0) {
		sbuf_free(&raw);
		return SASL_RES_TEMP;
	}
	in_call = s;
	rc = sasl_server_start(s->conn, mech, initial ? (raw.data ? raw.data
								 : "")
						     : NULL,
			       (unsigned)raw.len, &out, &outlen);
	in_call = NULL;
	if (raw.data)
		explicit_bzero(raw.data, raw.len);
	sbuf_free(&raw);
	r = answer(s, rc, out, outlen, chal);
	return r;
}

static enum sasl_res srv_step(struct sasl_srv *s, const char *response,
			      struct sbuf *chal)
{
	const char *out = NULL;
	unsigned outlen = 0;
	struct sbuf raw;
	int rc;

	if (s->conn == NULL)
		return SASL_RES_BADPROT;
	if (strcmp(response, "*") == 0) {
		conn_drop(s);
		return SASL_RES_BADPROT;
	}
	sbuf_init(&raw, LIM_AUTH_LINE);
	if (decode(response, &raw) < 0) {
		sbuf_free(&raw);
		conn_drop(s);
		return SASL_RES_BADPROT;
	}
	in_call = s;
	rc = sasl_server_step(s->conn, raw.data ? raw.data : "",
			      (unsigned)raw.len, &out, &outlen);
	in_call = NULL;
	if (raw.data)
		explicit_bzero(raw.data, raw.len);
	sbuf_free(&raw);
	return answer(s, rc, out, outlen, chal);
}

static enum sasl_res srv_check_plain(struct sasl_srv *s, const char *user,
				     const char *pass)
{
	size_t ul = strlen(user), pl = strlen(pass);
	int rc;

	s->user[0] = '\0';
	/* the name given counts for the limits, even one SASL refuses */
	set_tried(s, user);
	conn_drop(s);
	if (ul == 0 || ul > LIM_PATH || pl == 0 || pl >= SASL_PASS_MAX)
		return SASL_RES_FAIL;
	if (conn_get(s) < 0)
		return SASL_RES_TEMP;
	in_call = s;
	rc = sasl_checkpass(s->conn, user, (unsigned)ul, pass, (unsigned)pl);
	in_call = NULL;
	if (rc == SASL_OK) {
		char low[LIM_PATH + 1];
		size_t i;

		for (i = 0; i <= ul; i++)
			low[i] = (char)tolower((unsigned char)user[i]);
		conn_drop(s);
		return finish(s, low);
	}
	conn_drop(s);
	return map_result(rc) == SASL_RES_TEMP ? SASL_RES_TEMP
					       : SASL_RES_FAIL;
}

enum sasl_res sasl_srv_start(struct sasl_srv *s, const char *mech,
			     const char *initial, struct sbuf *chal)
{
	enum sasl_res r;

	pthread_mutex_lock(&sasl_mu);
	r = srv_start(s, mech, initial, chal);
	pthread_mutex_unlock(&sasl_mu);
	return r;
}

enum sasl_res sasl_srv_step(struct sasl_srv *s, const char *response,
			    struct sbuf *chal)
{
	enum sasl_res r;

	pthread_mutex_lock(&sasl_mu);
	r = srv_step(s, response, chal);
	pthread_mutex_unlock(&sasl_mu);
	return r;
}

enum sasl_res sasl_srv_check_plain(struct sasl_srv *s, const char *user,
				   const char *pass)
{
	enum sasl_res r;

	pthread_mutex_lock(&sasl_mu);
	r = srv_check_plain(s, user, pass);
	pthread_mutex_unlock(&sasl_mu);
	return r;
}

const char *sasl_srv_user(const struct sasl_srv *s)
{
	return s->user[0] ? s->user : NULL;
}

const char *sasl_srv_tried_user(const struct sasl_srv *s)
{
	return s->tried[0] ? s->tried : NULL;
}

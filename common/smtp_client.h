/*
 * NAME
 *	smtp_client - the one SMTP/LMTP client engine
 * DESCRIPTION
 *	One connection to a next hop: greeting, EHLO/LHLO, optional
 *	STARTTLS, then any number of transactions, each with per-recipient
 *	results (LMTP gives one final reply per accepted recipient). Uses
 *	PIPELINING when the server offers it, passes SIZE, BODY, SMTPUTF8 and
 *	the DSN parameters on when offered, dot-stuffs the message; to
 *	internal hops it passes who sent the mail (cfg.claims).
 *	Faces the network (replies from the next hop are not trusted).
 *	Mail layer.
 */
#ifndef SLUICE_SMTP_CLIENT_H
#define SLUICE_SMTP_CLIENT_H

#include <stddef.h>

#include "envelope.h"
#include "smtp_server.h"

struct evloop;
struct tls_ctx;
struct smtp_client;

enum tls_policy {
	TLS_POLICY_NONE,    /* never STARTTLS */
	TLS_POLICY_MAY,	    /* STARTTLS when offered */
	TLS_POLICY_ENCRYPT, /* refuse to send in clear */
	TLS_POLICY_VERIFY,  /* encrypt, and the certificate must verify
			     * for the server's name */
};

/* 1 when the connection failed because the server is ourselves
 * (cfg.self_name); for on_fail(). */
int smtp_client_looped(const struct smtp_client *cl);

/* "none", "may", "encrypt" or "verify" into *p; "verify:NAME" also puts
 * the host name the certificate must match into name (else name is "").
 * Returns 0, or -1 for anything else (a NAME that is not a host name, or
 * longer than namelen - 1). */
int tls_policy_parse(const char *s, enum tls_policy *p, char *name,
		     size_t namelen);

struct smtp_client_cfg {
	int lmtp;
	const char *helo;	 /* our name in EHLO/LHLO */
	struct tls_ctx *tls;	 /* client TLS context, or NULL */
	enum tls_policy tls_policy;
	const char *sni;	 /* name to send and (verify) check, or NULL */
	/* our own name, or NULL: a server that greets (220 or EHLO) with
	 * it is ourselves, and the connection fails as a mail loop */
	const char *self_name;
	unsigned timeout;	 /* seconds per reply */
	/* the next hop is one of ours: when it offers XTRUST, pass the
	 * envelope's trust information (AUTH=, XADDR=, XHELO=, XENTERED=
	 * on MAIL; DESIGN.md "Trust between stages") */
	int claims;
};

struct smtp_client_ops {
	/* connected and greeted, or the last transaction finished: the
	 * client is idle and may be given a transaction */
	void (*on_ready)(struct smtp_client *cl, void *arg);
	/* transaction finished: res[i] is the reply for the i-th recipient
	 * given to smtp_client_send(); valid during the call only */
	void (*on_done)(struct smtp_client *cl, void *arg,
			const struct smtp_reply *res, size_t n);
	/* the connection failed or closed. code: 4xx/5xx reply that ended it
	 * (0 for I/O errors); why says what happened. A transaction in
	 * progress is lost (treat as a temporary failure). The client is
	 * freed after this returns. */
	void (*on_fail)(struct smtp_client *cl, void *arg, int code,
			const char *why);
};

/* Connect to a numeric "host:port". NULL if the connect cannot start
 * (why in err). */
struct smtp_client *smtp_client_new(struct evloop *loop, const char *hostport,
				    const struct smtp_client_cfg *cfg,
				    const struct smtp_client_ops *ops,
				    void *arg, char *err, size_t errlen);

/* Start a transaction for recipients idx[0..n-1] of e with body (CRLF
 * lines, not dot-stuffed). body must stay valid until on_done/on_fail.
 * Only when idle (after on_ready). Returns 0, -1 on error, or -2 when
 * the message needs SMTPUTF8 and the server lacks it (RFC 6531 3.2: a
 * permanent failure, 553 5.6.7); the client stays idle after -2. */
int smtp_client_send(struct smtp_client *cl, const struct envelope *e,
		     const size_t *idx, size_t n, const char *body,
		     size_t len);

/* Say QUIT and free the client (no more callbacks). */
void smtp_client_quit(struct smtp_client *cl);

/* The "host:port" this client talks to. */
const char *smtp_client_peer(const struct smtp_client *cl);

/* Non-zero when the server offered DSN (RFC 3461). */
int smtp_client_dsn(const struct smtp_client *cl);

/* Non-zero when the connection uses TLS. */
int smtp_client_tls(const struct smtp_client *cl);

#endif

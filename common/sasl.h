/*
 * NAME
 *	sasl - the Cyrus SASL adapter (the only file that includes Cyrus SASL)
 * DESCRIPTION
 *	Server-side authentication for IMAP (AUTHENTICATE, LOGIN), POP3
 *	(AUTH, USER/PASS) and SMTP submission (AUTH), against the
 *	credentials snapshot that sluicectl exports beside the directory
 *	snapshot (mode 0600; scrypt hashes for PLAIN/LOGIN and SCRAM-SHA-256
 *	stored keys, never a clear password). Mechanisms: PLAIN, LOGIN and
 *	SCRAM-SHA-256 at least. Disabled and expired users never
 *	authenticate. Challenges and responses cross this API in Base64, as
 *	every protocol carries them, so protocol code never sees raw SASL
 *	bytes. Secrets are wiped after use and never logged.
 *	Mail layer; faces the network (through the protocol servers).
 */
#ifndef SLUICE_SASL_H
#define SLUICE_SASL_H

#include <stddef.h>

struct sbuf;
struct sasl_srv;

enum sasl_res {
	SASL_RES_OK,	   /* authenticated; sasl_srv_user() tells who */
	SASL_RES_CONTINUE, /* send the challenge, wait for a response */
	SASL_RES_FAIL,	   /* wrong credentials, unknown, disabled or
			    * expired user: count it as a failed login */
	SASL_RES_BADPROT,  /* malformed input (bad Base64, unknown
			    * mechanism, cancelled exchange): a protocol
			    * error, not a failed login */
	SASL_RES_TEMP,	   /* internal error (snapshot unreadable ...) */
};

/* Once per process, before any session: app is the SASL application
 * name ("sluice"), creds the credentials snapshot path (re-read when it
 * changes, checked at most once a second). 0, or -1 with a reason. */
int sasl_setup(const char *app, const char *creds, char *err, size_t errlen);
void sasl_teardown(void);

/* One exchange context per session. service: "imap", "pop" or "smtp";
 * local and remote: "ip;port" as Cyrus wants them (may be NULL); tls:
 * non-zero when the session is encrypted (mechanisms that send clear
 * passwords are only offered then). NULL on error. */
struct sasl_srv *sasl_srv_new(const char *service, const char *local,
			      const char *remote, int tls);
/* Free and set *s to NULL. */
void sasl_srv_free(struct sasl_srv **s);

/* Mechanisms this session offers, space separated ("PLAIN LOGIN
 * SCRAM-SHA-256"). Owned by s. */
const char *sasl_srv_mechs(struct sasl_srv *s);

/* Start mechanism mech. initial: the client's initial response in Base64
 * ("" for an empty one, "=" as SMTP/IMAP write an empty one, NULL for
 * none). On SASL_RES_CONTINUE the Base64 challenge is appended to chal
 * (may be empty). */
enum sasl_res sasl_srv_start(struct sasl_srv *s, const char *mech,
			     const char *initial, struct sbuf *chal);
/* Feed the client's Base64 response line ("*" cancels: BADPROT). */
enum sasl_res sasl_srv_step(struct sasl_srv *s, const char *response,
			    struct sbuf *chal);

/* Check a user name and password given in clear (IMAP LOGIN, POP3
 * USER/PASS) through the same library and credentials. */
enum sasl_res sasl_srv_check_plain(struct sasl_srv *s, const char *user,
				   const char *pass);

/* After SASL_RES_OK: the authenticated user, a lowercased address of the
 * directory. Owned by s; NULL before. */
const char *sasl_srv_user(const struct sasl_srv *s);

/* After SASL_RES_FAIL (or OK): the user name the client gave in the last
 * exchange, lowercased, for per-user failure limits; NULL when it never
 * got that far. Not necessarily a user of the directory. Owned by s. */
const char *sasl_srv_tried_user(const struct sasl_srv *s);

#endif

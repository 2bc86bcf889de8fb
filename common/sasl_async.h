/*
 * NAME
 *	sasl_async - SASL exchanges on worker threads
 * DESCRIPTION
 *	The scrypt check behind PLAIN, LOGIN and USER/PASS takes tens of
 *	milliseconds, far too long for an event loop that serves every
 *	other session. The protocol servers (IMAP, POP3, SMTP AUTH) hand
 *	each call of sasl.h to a worker thread here (workq.h) and get the
 *	outcome back on the loop; the session reads no commands meanwhile.
 *	While a job runs it owns the session's sasl_srv: the session does
 *	not touch it. A session that ends meanwhile abandons its job, which
 *	then frees the context itself and never calls back (no use of a
 *	freed session). Secrets handed over are copied and wiped after
 *	use. Mail layer.
 */
#ifndef SLUICE_SASL_ASYNC_H
#define SLUICE_SASL_ASYNC_H

#include <stddef.h>

#include "sasl.h"

struct evloop;
struct sbuf;
struct sasl_async;

/* Worker threads of a daemon: two scrypt checks side by side (they run
 * at a lower priority than the loop, see sasl_async.c). */
#define SASL_ASYNC_THREADS 2

/* Once per process, after sasl_setup() and the loop: start threads
 * workers (1 to 64). 0, or -1 with a reason. */
int sasl_async_setup(struct evloop *loop, int threads, char *err,
		     size_t errlen);
/* After every session is gone: wait for running jobs, stop. */
void sasl_async_teardown(void);

/* The outcome, on the loop's thread. The job is already gone (the
 * owner forgets its pointer first); chal holds the Base64 challenge on
 * SASL_RES_CONTINUE and is freed after the call. */
typedef void (*sasl_async_done)(void *owner, enum sasl_res r,
				struct sbuf *chal);

/* sasl_srv_start(), sasl_srv_step() and sasl_srv_check_plain() of s on
 * a worker, then done(owner, ...) on the loop. The job, which the owner
 * keeps until done to abandon it, or NULL when it cannot be queued
 * (nothing will be called back: answer as SASL_RES_TEMP). */
struct sasl_async *sasl_async_start(struct sasl_srv *s, const char *mech,
				    const char *initial,
				    sasl_async_done done, void *owner);
struct sasl_async *sasl_async_step(struct sasl_srv *s, const char *response,
				   sasl_async_done done, void *owner);
struct sasl_async *sasl_async_plain(struct sasl_srv *s, const char *user,
				    const char *pass, sasl_async_done done,
				    void *owner);

/* The owner goes away while *jp runs: it will not call back and frees
 * the context *sp (set to NULL here) when it finishes. Sets *jp to
 * NULL; no-op when *jp is NULL. */
void sasl_async_abandon(struct sasl_async **jp, struct sasl_srv **sp);

#endif

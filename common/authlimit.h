/*
 * NAME
 *	authlimit - failed-login delays and lockouts per client and per user
 * DESCRIPTION
 *	Every protocol that takes passwords (IMAP, POP3, submission) asks
 *	this table before checking credentials and tells it the outcome.
 *	Keys are client addresses ("ip:192.0.2.1") or user names
 *	("user:alice@example.test"); each key counts its failures over a
 *	sliding window. Bounded memory: the oldest entries are dropped when
 *	the table is full. Base layer.
 */
#ifndef SLUICE_AUTHLIMIT_H
#define SLUICE_AUTHLIMIT_H

#include <stddef.h>
#include <stdint.h>

struct authlimit;

/* max_fail failures within window_ms lock a key out until the window
 * has passed; each failure also earns a reply delay that grows with the
 * count (base_delay_ms doubled per failure, at most 8 s). */
struct authlimit *authlimit_new(unsigned max_fail, uint64_t window_ms,
				uint64_t base_delay_ms);
void authlimit_free(struct authlimit **al);

/* Non-zero when key is locked out at now_ms (refuse without checking). */
int authlimit_blocked(struct authlimit *al, const char *key, uint64_t now_ms);
/* Record a failure; returns the delay in ms to wait before answering. */
uint64_t authlimit_fail(struct authlimit *al, const char *key,
			uint64_t now_ms);
/* Record a success: forget key's failures. Only a user's own key is
 * forgiven by its good login, never the client address's (one account
 * of the attacker's must not reset its guesses at another's). */
void authlimit_ok(struct authlimit *al, const char *key);

/* Tell fn about every failure (ok = 0) and success (ok = 1) recorded
 * here from now on, so other servers can apply it (authlimit_share.c). */
void authlimit_on_change(struct authlimit *al,
			 void (*fn)(void *arg, int ok, const char *key),
			 void *arg);
/* Apply another server's failure at at_ms (ok = 0) or success (ok = 1)
 * on key; fn of authlimit_on_change() does not hear of it. */
void authlimit_note(struct authlimit *al, int ok, const char *key,
		    uint64_t at_ms);

/* The key of user name user ("user:" and the name with ASCII letters
 * lowercased, as SASL canonicalises names), so that every spelling of
 * one user shares one counter; every protocol builds its user keys
 * here, before any check. Truncated to n bytes (n > 0). */
void authlimit_user_key(const char *user, char *out, size_t n);
/* The key of a client address ("ip:" and the address). */
void authlimit_ip_key(const char *addr, char *out, size_t n);

/* The checks of a login, as every protocol makes them: whether the
 * client address or the user (either may be NULL: not asked) is locked
 * out at now_ms; 0 when al is NULL (no limits). */
int authlimit_login_blocked(struct authlimit *al, const char *client,
			    const char *user, uint64_t now_ms);
/* A failed login: one failure for the client address and one for the
 * user (NULL: not known); the longer of the two delays in ms (0 when
 * al is NULL). */
uint64_t authlimit_login_failed(struct authlimit *al, const char *client,
				const char *user, uint64_t now_ms);

#endif

/*
 * NAME
 *	admin_int - the page handlers and helpers the router dispatches to
 * DESCRIPTION
 *	Each handler answers one method and path for a logged-in session s
 *	whose CSRF token (POST) has been checked; each checks itself what
 *	s's user may see or change.
 */
#ifndef SLUICE_ADMIN_INT_H
#define SLUICE_ADMIN_INT_H

#include "admin.h"

#define ADMIN_HANDLER(name)                                                 \
	void name(struct admin *a, struct admin_req *r, struct admin_sess *s, \
		  struct admin_resp *o)

ADMIN_HANDLER(admin_domain_page);
ADMIN_HANDLER(admin_user_page);
ADMIN_HANDLER(admin_list_page);
ADMIN_HANDLER(admin_welcome_page);
ADMIN_HANDLER(admin_audit_page);
ADMIN_HANDLER(admin_post_domain);
ADMIN_HANDLER(admin_post_admin);
ADMIN_HANDLER(admin_post_person);
ADMIN_HANDLER(admin_post_mailbox);
ADMIN_HANDLER(admin_post_user);
ADMIN_HANDLER(admin_post_alias);
ADMIN_HANDLER(admin_post_list);
ADMIN_HANDLER(admin_post_member);

ADMIN_HANDLER(admin_senders_page);
ADMIN_HANDLER(admin_post_senders);

/* Run the sluicectl command argv for s (admin_change()); on error, an
 * error page; on success, a flash message done and a redirect to back
 * (a path of ours). out (may be NULL) gets the command's output. 0 or
 * -1. */
int admin_edit_change(struct admin *a, struct admin_req *r,
		      struct admin_sess *s, struct admin_resp *o, int argc,
		      char **argv, const char *done, const char *back,
		      struct sbuf *out);
/* 303 to the page to (a path of ours). */
void admin_redirect(struct admin_resp *o, const char *to);
/* A message for the next page s sees. */
void admin_flash(struct admin_sess *s, const char *msg);
/* Non-zero (and why in err) when pw may not be a password. */
int admin_password_weak(const char *pw, char *err, size_t errlen);

#endif

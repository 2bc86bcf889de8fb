/*
 * NAME
 *	store_login - what IMAP and POP3 sessions may do before login
 * DESCRIPTION
 *	Before login a session is anonymous, so it is held short: at most
 *	max_client_logins such sessions per client address (peerlimit.h,
 *	across the IMAP and POP3 listeners), login_timeout from connect
 *	to a completed login however busy the client is, and bytes that
 *	complete no command never count as activity (conn.h). After login
 *	the protocol's own idle timer applies (RFC 3501 5.4: 30 minutes;
 *	RFC 1939 3: pop3_timeout). Faces the network through its callers.
 */
#include "conn.h"
#include "log.h"
#include "peerlimit.h"
#include "store.h"

int store_login_start(struct store *st, struct conn *c, const char *id,
		      const char *addr, int *counted)
{
	*counted = peerlimit_enter(st->logins, addr) == 0;
	conn_set_min_rate(c, 0);
	conn_set_deadline(c, (unsigned)st->cfg->login_timeout);
	if (*counted)
		return 0;
	log_warn("%s: too many sessions before login from [%s], refusing",
		 id, addr);
	return -1;
}

void store_login_done(struct store *st, struct conn *c, const char *addr,
		      int *counted)
{
	if (*counted)
		peerlimit_leave(st->logins, addr);
	*counted = 0;
	conn_set_deadline(c, 0);
}

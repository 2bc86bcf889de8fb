/*
 * NAME
 *	smtp_server_cmd - the SMTP and LMTP commands of the server engine
 * DESCRIPTION
 *	One complete command line at a time (smtp_server.c reads them):
 *	HELO, EHLO and LHLO with the extensions offered, MAIL and RCPT with
 *	their parameters (RFC 5321 4.1.1, RFC 1870, 3461, 6152, 6531),
 *	DATA, STARTTLS (RFC 3207) and the small ones; AUTH and BDAT are
 *	smtp_server_auth.c's and smtp_server_bdat.c's. The stage's hooks
 *	decide, the replies go out here. Faces the network.
 */
#include "smtp_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "conn.h"
#include "limits_rfc.h"
#include "log.h"
#include "smtp_parse.h"
#include "smtp_server_int.h"

static void do_helo(struct srv_session *ss, const struct smtp_cmd *cmd)
{
	struct smtp_server *srv = ss->pub.srv;
	struct smtp_reply r;
	const char *mechs;
	int lmtp = srv->cfg.lmtp;

	if ((cmd->verb == SMTP_LHLO) != lmtp) {
		srv_reply(ss, 500, "5.5.1", "Error: %s", lmtp ?
			  "this is LMTP, use LHLO" : "command not recognized");
		return;
	}
	if (cmd->arg[0] == '\0' || strlen(cmd->arg) > LIM_DOMAIN ||
	    strpbrk(cmd->arg, " \t") != NULL) {
		srv_reply(ss, 501, "5.5.4", "Syntax: %s hostname",
			  cmd->verb == SMTP_HELO ? "HELO"
			  : cmd->verb == SMTP_EHLO ? "EHLO" : "LHLO");
		return;
	}
	/* PIPELINING is offered in the EHLO reply: a client sending more
	 * before it saw the reply does not wait for replies at all */
	if (ss->more_input && srv_violation(ss, SMTP_V_PIPELINING) < 0)
		return;
	if (srv->hooks.on_helo && srv->hooks.on_helo(&ss->pub, cmd->arg,
						     &r) < 0) {
		srv_hook_reply(ss, &r);
		return;
	}
	srv_reset_txn(ss);
	free(ss->pub.helo);
	ss->pub.helo = strdup(cmd->arg);
	ss->pub.esmtp = cmd->verb != SMTP_HELO;
	srv_set_state(ss, ST_READY);
	if (cmd->verb == SMTP_HELO) {
		srv_reply(ss, 250, NULL, "%s", srv->cfg.hostname);
		return;
	}
	conn_printf(ss->c, "250-%s\r\n250-PIPELINING\r\n250-SIZE %lld\r\n"
		    "250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n"
		    "250-SMTPUTF8\r\n", srv->cfg.hostname, srv->cfg.max_size);
	if (srv->cfg.dsn)
		conn_printf(ss->c, "250-DSN\r\n");
	if (!srv->cfg.no_chunking)
		conn_printf(ss->c, "250-CHUNKING\r\n");
	if (srv->cfg.tls && !ss->pub.tls)
		conn_printf(ss->c, "250-STARTTLS\r\n");
	if ((mechs = srv_auth_mechs(ss)) != NULL && *mechs)
		conn_printf(ss->c, "250-AUTH %s\r\n", mechs);
	if (ss->pub.trusted)
		conn_printf(ss->c, "250-XTRUST\r\n");
	conn_printf(ss->c, "250 HELP\r\n");
}

static unsigned allowed_ext(struct srv_session *ss)
{
	unsigned a = SMTP_EXT_SIZE | SMTP_EXT_8BITMIME | SMTP_EXT_SMTPUTF8;

	if (!ss->pub.esmtp)
		return 0;
	if (ss->pub.srv->cfg.dsn)
		a |= SMTP_EXT_DSN;
	if (ss->pub.trusted)
		a |= SMTP_EXT_XTRUST;
	return a;
}

static int reply_parse_err(struct srv_session *ss, const struct parse_err *e)
{
	srv_reply(ss, e->code, e->ecode, "%s", e->text);
	return -1;
}

static int dup_claim(char **dst, const char *v)
{
	if (v == NULL || *v == '\0')
		return 0;
	*dst = strdup(v);
	return *dst ? 0 : -1;
}

/* Who sent this, as far as we may believe (DESIGN.md "Trust between
 * stages"): our own AUTH first; a trusted peer's AUTH= and claims; an
 * untrusted AUTH= counts as AUTH=<> (RFC 4954 5). */
static int take_claims(struct srv_session *ss, const struct mail_params *mp)
{
	struct envelope *e = &ss->pub.env;
	char safe[LIM_PATH + 1];

	if (ss->pub.auth_user)
		return dup_claim(&e->auth_user, ss->pub.auth_user);
	if (!ss->pub.trusted) {
		if (mp->auth_given && mp->auth[0]) {
			log_safe(safe, sizeof(safe), mp->auth);
			log_info("%s: [%s]: untrusted AUTH=%s ignored",
				 ss->pub.id, ss->pub.client_addr, safe);
		}
		return 0;
	}
	return dup_claim(&e->auth_user, mp->auth) |
	       dup_claim(&e->client_addr, mp->xaddr) |
	       dup_claim(&e->helo, mp->xhelo) |
	       dup_claim(&e->entered_by, mp->xentered);
}

/* The path of MAIL or RCPT (cmd->verb) parsed with opts into a, and
 * the parameters after it into mp or rp (RFC 5321 4.1.1.2 and 4.1.1.3:
 * Reverse-path / Forward-path [SP Mail-parameters / Rcpt-parameters]).
 * 0, or -1 once the refusal is answered: 501 a bad path or no space
 * after it, the parameters' own (smtp_parse_mail_params()). */
static int parse_path(struct srv_session *ss, const struct smtp_cmd *cmd,
		      unsigned opts, struct addr *a, struct mail_params *mp,
		      struct rcpt_params *rp)
{
	int mail = cmd->verb == SMTP_MAIL;
	struct parse_err pe;
	const char *rest, *err;

	if (addr_parse_path(cmd->arg, opts, a, &rest, &err) < 0) {
		srv_reply(ss, 501, mail ? "5.1.7" : "5.1.3",
			  "Bad %s address syntax: %s",
			  mail ? "sender" : "recipient", err);
		return -1;
	}
	if (*rest != '\0' && *rest != ' ') {
		srv_reply(ss, 501, "5.5.4", "Syntax: %s",
			  mail ? "MAIL FROM:<address>" : "RCPT TO:<address>");
		return -1;
	}
	while (*rest == ' ')
		rest++;
	if ((mail ? smtp_parse_mail_params(rest, allowed_ext(ss), mp, &pe)
		  : smtp_parse_rcpt_params(rest, allowed_ext(ss), rp, &pe)) < 0)
		return reply_parse_err(ss, &pe);
	return 0;
}

/* The stage's hook of MAIL or RCPT returned rc (r filled when it
 * refused): 1 when the command goes on; 0 when the hook answers later
 * (the line runs again on smtp_session_resume()) or refused (answered
 * with r, after the transaction is reset when reset is set). */
static int hook_said(struct srv_session *ss, int rc,
		     const struct smtp_reply *r, int reset)
{
	ss->pub.path = NULL;
	if (rc == SMTP_HOOK_LATER) {
		ss->hook_wait = 1;
		return 0;
	}
	if (rc < 0) {
		if (reset)
			srv_reset_txn(ss);
		srv_hook_reply(ss, r);
		return 0;
	}
	return 1;
}

static void do_mail(struct srv_session *ss, const struct smtp_cmd *cmd)
{
	struct smtp_server *srv = ss->pub.srv;
	struct mail_params mp;
	struct smtp_reply r;
	struct addr a;
	int rc;

	if (ss->state < ST_READY) {
		srv_reply(ss, 503, "5.5.1", "Error: send HELO/EHLO first");
		return;
	}
	if (ss->have_mail) {
		srv_reply(ss, 503, "5.5.1", "Error: nested MAIL command");
		return;
	}
	if (srv->cfg.auth_required && ss->pub.auth_user == NULL) {
		srv_reply(ss, 530, "5.7.0", ss->pub.tls ? "Authentication "
			  "required" : "Must issue a STARTTLS command first");
		return;
	}
	if (parse_path(ss, cmd, ADDR_OPT_NULL_OK | ADDR_OPT_UTF8, &a, &mp,
		       NULL) < 0)
		return;
	if (mp.size > srv->cfg.max_size) {
		srv_reply(ss, 552, "5.3.4", "Message size exceeds fixed limit");
		return;
	}
	if ((a.flags & ADDR_UTF8) && !mp.smtputf8) {
		srv_reply(ss, 553, "5.6.7", "Non-ASCII sender needs SMTPUTF8");
		return;
	}
	srv_reset_txn(ss);
	ss->pub.env.from = strdup(a.mailbox);
	ss->pub.env.size = mp.size;
	ss->pub.env.body = mp.body;
	ss->pub.env.smtputf8 = mp.smtputf8;
	ss->pub.env.ret = mp.ret;
	ss->pub.env.envid = mp.envid[0] ? strdup(mp.envid) : NULL;
	if (take_claims(ss, &mp) < 0) {
		srv_reset_txn(ss);
		srv_reply(ss, 451, "4.3.0", "Error: out of memory");
		return;
	}
	ss->pub.path = &a;
	rc = srv->hooks.on_mail ? srv->hooks.on_mail(&ss->pub, &r) : 0;
	if (!hook_said(ss, rc, &r, 1))
		return;
	ss->have_mail = 1;
	srv_set_state(ss, ST_MAIL);
	srv_reply(ss, 250, "2.1.0", "Ok");
}

static void do_rcpt(struct srv_session *ss, const struct smtp_cmd *cmd)
{
	struct smtp_server *srv = ss->pub.srv;
	struct rcpt_params rp;
	struct smtp_reply r;
	struct addr a;
	unsigned opts = ADDR_OPT_POSTMASTER;
	int rc;

	if (!ss->have_mail) {
		srv_reply(ss, 503, "5.5.1", "Error: need MAIL command");
		return;
	}
	if (ss->pub.env.nrcpt >= (size_t)srv->cfg.max_rcpts) {
		srv_reply(ss, 452, "4.5.3", "Error: too many recipients");
		return;
	}
	if (ss->pub.env.smtputf8)
		opts |= ADDR_OPT_UTF8;
	if (parse_path(ss, cmd, opts, &a, NULL, &rp) < 0)
		return;
	ss->pub.path = &a;
	rc = srv->hooks.on_rcpt ? srv->hooks.on_rcpt(&ss->pub, a.mailbox, &r)
				: 0;
	if (!hook_said(ss, rc, &r, 0))
		return;
	if ((a.flags & ADDR_POSTMASTER) && srv->cfg.postmaster_domain)
		snprintf(a.mailbox, sizeof(a.mailbox), "postmaster@%s",
			 srv->cfg.postmaster_domain);
	if (envelope_add_rcpt(&ss->pub.env, a.mailbox,
			      rp.orcpt[0] ? rp.orcpt : NULL, rp.notify) < 0) {
		srv_reply(ss, 452, "4.3.0", "Error: out of memory");
		return;
	}
	srv_set_state(ss, ST_RCPT);
	srv_reply(ss, 250, "2.1.5", "Ok");
}

static void do_data(struct srv_session *ss, const struct smtp_cmd *cmd)
{
	if (!ss->have_mail) {
		srv_reply(ss, 503, "5.5.1", "Error: need MAIL command");
		return;
	}
	if (ss->pub.env.nrcpt == 0) {
		srv_reply(ss, 554, "5.5.1", "Error: no valid recipients");
		return;
	}
	if (cmd->arg[0] != '\0') {
		srv_reply(ss, 501, "5.5.4", "Syntax: DATA");
		return;
	}
	if (ss->bdat_txn) { /* RFC 3030 2: no DATA after BDAT */
		srv_reply(ss, 503, "5.5.1", "Error: DATA after BDAT");
		return;
	}
	srv_data_begin(ss);
	srv_set_state(ss, ST_DATA);
	srv_reply(ss, 354, NULL, "End data with <CR><LF>.<CR><LF>");
}

static void do_starttls(struct srv_session *ss, const struct smtp_cmd *cmd)
{
	struct smtp_server *srv = ss->pub.srv;

	if (srv->cfg.tls == NULL) {
		srv_reply(ss, 502, "5.5.1", "Error: command not implemented");
		return;
	}
	if (ss->pub.tls) {
		srv_reply(ss, 503, "5.5.1", "Error: TLS already active");
		return;
	}
	if (cmd->arg[0] != '\0') {
		srv_reply(ss, 501, "5.5.4", "Syntax: STARTTLS");
		return;
	}
	srv_reply(ss, 220, "2.0.0", "Ready to start TLS");
	/* RFC 3207 4.2: forget everything, including what the client
	 * pipelined after STARTTLS (conn_starttls discards it). */
	srv_reset_txn(ss);
	srv_auth_reset(ss);
	free(ss->pub.helo);
	ss->pub.helo = NULL;
	ss->pub.esmtp = 0;
	srv_set_state(ss, ST_INIT);
	if (conn_starttls(ss->c, srv->cfg.tls, 1, NULL) < 0) {
		log_warn("%s: cannot start TLS", ss->pub.id);
		srv_hangup(ss);
	}
}

/* An HTTP request or a header line sent to the SMTP port: a proxy
 * abused to send mail, or a client that skipped DATA. */
static int non_smtp(const char *line)
{
	static const char *const verbs[] = {"CONNECT", "GET", "POST", "PUT",
					    "HEAD", "OPTIONS", NULL};
	size_t n = strcspn(line, " "), i;

	for (i = 0; verbs[i]; i++)
		if (n == strlen(verbs[i]) && strncasecmp(line, verbs[i], n) == 0)
			return 1;
	return n > 1 && line[n - 1] == ':';
}

void srv_command(struct srv_session *ss, char *line)
{
	struct smtp_cmd cmd;

	if (smtp_parse_cmd(line, &cmd) < 0) {
		srv_reply(ss, 501, "5.5.4", "Syntax error in parameters");
		return;
	}
	switch (cmd.verb) {
	case SMTP_HELO:
	case SMTP_EHLO:
	case SMTP_LHLO:
		do_helo(ss, &cmd);
		break;
	case SMTP_MAIL:
		do_mail(ss, &cmd);
		break;
	case SMTP_RCPT:
		do_rcpt(ss, &cmd);
		break;
	case SMTP_DATA:
		do_data(ss, &cmd);
		break;
	case SMTP_RSET:
		srv_reset_txn(ss);
		srv_reply(ss, 250, "2.0.0", "Ok");
		break;
	case SMTP_NOOP:
		srv_reply(ss, 250, "2.0.0", "Ok");
		break;
	case SMTP_QUIT:
		srv_reply(ss, 221, "2.0.0", "Bye");
		srv_hangup(ss);
		break;
	case SMTP_VRFY:
		if (cmd.arg[0] == '\0')
			srv_reply(ss, 501, "5.5.4", "Syntax: VRFY address");
		else
			srv_reply(ss, 252, "2.0.0", "Cannot VRFY user, but "
				  "will accept message and attempt delivery");
		break;
	case SMTP_HELP:
		srv_reply(ss, 214, "2.0.0", "Commands: %s MAIL RCPT DATA "
			  "BDAT RSET NOOP QUIT VRFY HELP%s%s",
			  ss->pub.srv->cfg.lmtp ? "LHLO" : "HELO EHLO",
			  ss->pub.srv->cfg.tls ? " STARTTLS" : "",
			  ss->pub.srv->cfg.auth ? " AUTH" : "");
		break;
	case SMTP_STARTTLS:
		do_starttls(ss, &cmd);
		break;
	case SMTP_AUTH:
		srv_auth_cmd(ss, &cmd);
		break;
	case SMTP_BDAT:
		srv_bdat_cmd(ss, &cmd);
		break;
	case SMTP_EXPN:
		srv_reply(ss, 502, "5.5.1", "Error: command not implemented");
		break;
	default:
		if (non_smtp(line) && srv_violation(ss, SMTP_V_NON_SMTP) < 0)
			break;
		srv_reply(ss, 500, "5.5.2", "Error: command not recognized");
		break;
	}
}

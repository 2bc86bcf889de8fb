/*
 * NAME
 *	spamd_notify - spam from our own users: held, and the admin told
 * DESCRIPTION
 *	A message that entered by msa with an authenticated user and
 *	scores as spam means a compromised account or a misbehaving user:
 *	it must not reach the Internet. spamd_user_spam() quarantines it
 *	whatever quarantine_score and reject_score say, logs the user, and
 *	queues a short notice to admin_notify. The notice is sent with the
 *	null sender (no bounce can come back), entered_by=spamd and no
 *	AUTH claim, and goes straight to spamd's own next hop: it is never
 *	scanned again, so it cannot loop. Runs on the loop thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "quarantine.h"
#include "spamd_stage.h"

int spamd_is_user_mail(const struct envelope *e)
{
	return e->auth_user != NULL && e->auth_user[0] != '\0' &&
	       e->entered_by != NULL && strcmp(e->entered_by, "msa") == 0;
}

char *spamd_admin_default(const char *configured, const char *routes)
{
	const char *p = routes;
	char *out;
	size_t n;

	if (configured && configured[0])
		return strdup(configured);
	while (*p == ' ' || *p == '\t' || *p == ',')
		p++;
	n = strcspn(p, " \t=,");
	if (n == 0 || n > 200)
		return NULL;
	out = malloc(n + sizeof("postmaster@"));
	if (out)
		snprintf(out, n + sizeof("postmaster@"), "postmaster@%.*s",
			 (int)n, p);
	return out;
}

/* The notice: who, what, where it is kept. 0 or -1. */
static int notice(struct spamd *sd, const struct smtp_session *s,
		  const char *user, const char *file, const char *tests,
		  double score, struct sbuf *o)
{
	const struct envelope *e = &s->env;
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	return sbuf_printf(o, "From: Sluice spamd <MAILER-DAEMON@%s>\r\n"
			   "To: <%s>\r\nSubject: Spam from user %s held in "
			   "quarantine\r\nDate: %s\r\n"
			   "Message-ID: <%s.%ld.userspam@%s>\r\n"
			   "Auto-Submitted: auto-generated\r\n"
			   "MIME-Version: 1.0\r\n"
			   "Content-Type: text/plain; charset=utf-8\r\n\r\n"
			   "A message submitted by the authenticated user %s "
			   "scored as spam and was\r\nnot sent on; the account "
			   "may be compromised.\r\n\r\n"
			   "user: %s\r\nsender: <%s>\r\nrecipients: %zu\r\n"
			   "client: [%s]\r\nscore: %.1f\r\ntests: %s\r\n"
			   "quarantine: %s/%s\r\n\r\n"
			   "sluice-quarantine -d %s show %s\r\n",
			   sd->cfg->hostname, sd->admin, user, date, s->id,
			   (long)now, sd->cfg->hostname, user, user,
			   e->from ? e->from : "", e->nrcpt,
			   e->client_addr ? e->client_addr : "-", score, tests,
			   sd->cfg->quarantine_dir, file,
			   sd->cfg->quarantine_dir, file);
}

void spamd_notify_admin(struct spamd *sd, const struct smtp_session *s,
			const char *file, const char *tests, double score)
{
	char user[300];
	struct sbuf body;

	if (sd->admin == NULL)
		return;
	log_safe(user, sizeof(user), s->env.auth_user);
	sbuf_init(&body, 1 << 16);
	if (notice(sd, s, user, file, tests, score, &body) < 0)
		sbuf_free(&body);	/* spool_notice() logs the failure */
	spool_notice(&sd->spool, sd->admin, &body, s->id,
		     "user spam notice");
	sbuf_free(&body);
}

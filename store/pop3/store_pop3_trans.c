/*
 * NAME
 *	store_pop3_trans - the POP3 TRANSACTION and UPDATE states
 * DESCRIPTION
 *	RFC 1939 sections 5 and 6 over the user's INBOX (store_mbox.h): the
 *	maildrop is the view opened at login, so message numbers stay put
 *	for the whole session while LMTP keeps delivering. STAT, LIST,
 *	RETR, TOP, DELE, NOOP, RSET, UIDL (unique-id "UIDVALIDITY.UID",
 *	stable across sessions and restarts) and QUIT, which alone applies
 *	the deletions. RETR marks the message \Seen for IMAP. Lines
 *	starting with '.' are byte-stuffed (section 3); bare LFs of a
 *	stored message go out as CRLF.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "limits_rfc.h"
#include "log.h"
#include "sbuf.h"
#include "store_mbox.h"

#include "store_pop3_int.h"

int pop3_enter_transaction(struct pop3_sess *s, const char *user,
			   const char *method)
{
	struct mbox_store *mb = s->srv->st->mbox;
	char err[256];

	s->user = strdup(user);
	if (s->user == NULL ||
	    mbox_user_prepare(mb, user, err, sizeof(err)) < 0 ||
	    (s->mbox = mbox_open(mb, user, "INBOX", 0, err, sizeof(err))) ==
		    NULL ||
	    (s->deleted = calloc((size_t)mbox_count(s->mbox) + 1, 1)) ==
		    NULL) {
		log_warn("%s: pop3 cannot open the maildrop of %s: %s", s->id,
			 user, s->user ? err : "out of memory");
		pop3_close_maildrop(s);
		free(s->user);
		s->user = NULL;
		pop3_reply(s, "-ERR [SYS/TEMP] Cannot open the maildrop");
		return -1;
	}
	s->count = mbox_count(s->mbox);
	pop3_set_state(s, P_TRANS);
	log_info("%s: pop3 login: user=%s, method=%s, client=[%s], "
		 "messages=%u", s->id, user, method, s->client, s->count);
	pop3_reply(s, "+OK Logged in, %u message%s", s->count,
		   s->count == 1 ? "" : "s");
	return 0;
}

void pop3_close_maildrop(struct pop3_sess *s)
{
	mbox_close(&s->mbox);
	free(s->deleted);
	s->deleted = NULL;
	s->count = 0;
}

/* Message n if it exists and is not marked deleted, else NULL. */
static const struct mbox_msg *message(struct pop3_sess *s, unsigned long n)
{
	if (n < 1 || n > s->count || s->deleted[n - 1])
		return NULL;
	return mbox_get(s->mbox, (uint32_t)n);
}

static void no_such(struct pop3_sess *s)
{
	pop3_reply(s, "-ERR No such message");
}

static void do_stat(struct pop3_sess *s)
{
	const struct mbox_msg *m;
	long long total = 0;
	uint32_t i, n = 0;

	for (i = 1; i <= s->count; i++) {
		if ((m = message(s, i)) != NULL) {
			n++;
			total += m->size;
		}
	}
	pop3_reply(s, "+OK %u %lld", n, total);
}

/* LIST and UIDL: one message, or every one that is not deleted. */
static void do_list(struct pop3_sess *s, const struct pop3_cmd *cmd,
		    int uidl)
{
	uint32_t uv = mbox_uidvalidity(s->mbox), i;
	const struct mbox_msg *m;

	if (cmd->nargs == 1) {
		if ((m = message(s, cmd->num[0])) == NULL)
			no_such(s);
		else if (uidl)
			pop3_reply(s, "+OK %lu %u.%u", cmd->num[0], uv, m->uid);
		else
			pop3_reply(s, "+OK %lu %lld", cmd->num[0], m->size);
		return;
	}
	pop3_reply(s, "+OK %s", uidl ? "Unique-ids follow" : "Scan listing "
			     "follows");
	for (i = 1; i <= s->count; i++) {
		if ((m = message(s, i)) == NULL)
			continue;
		if (uidl)
			pop3_reply(s, "%u %u.%u", i, uv, m->uid);
		else
			pop3_reply(s, "%u %lld", i, m->size);
	}
	pop3_reply(s, ".");
}

/* Send data as a multi-line response body: byte-stuffed, CRLF line
 * ends, then the terminating ".". lines < 0: everything; else the
 * header section, the empty line and that many body lines (TOP). */
static void send_body(struct pop3_sess *s, const char *data, size_t len,
		      long long lines)
{
	const char *p = data, *end = data + len, *lf;
	int in_body = 0;
	size_t n;

	while (p < end) {
		if (in_body && lines >= 0 && lines-- == 0)
			break;
		lf = memchr(p, '\n', (size_t)(end - p));
		n = lf ? (size_t)(lf - p) : (size_t)(end - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 0)
			in_body = 1;
		if (n > 0 && p[0] == '.')
			conn_write(s->c, ".", 1);
		conn_write(s->c, p, n);
		conn_write(s->c, "\r\n", 2);
		p = lf ? lf + 1 : end;
	}
	conn_write(s->c, ".\r\n", 3);
}

static void do_retr(struct pop3_sess *s, const struct pop3_cmd *cmd)
{
	const struct mbox_msg *m = message(s, cmd->num[0]);
	struct sbuf data;
	int rc;

	if (m == NULL) {
		no_such(s);
		return;
	}
	sbuf_init(&data, (size_t)LIM_MSG_SIZE_MAX + 1);
	rc = mbox_read(s->mbox, (uint32_t)cmd->num[0], &data);
	if (rc == -2) {
		/* a sealed body that does not open: never other bytes */
		pop3_reply(s, "-ERR [SYS/PERM] Message body could not be "
			   "opened");
	} else if (rc < 0) {
		pop3_reply(s, "-ERR [SYS/TEMP] Message no longer available");
	} else {
		if (cmd->verb == POP3_RETR) {
			pop3_reply(s, "+OK %lld octets", m->size);
			s->retrieved++;
			/* IMAP clients of the same mailbox see it read */
			if (!(m->flags & MBOX_SEEN) &&
			    mbox_update_flags(s->mbox,
					      (uint32_t)cmd->num[0],
					      MBOX_FLAGS_ADD, MBOX_SEEN,
					      0) < 0)
				log_warn("%s: pop3 cannot mark message %lu "
					 "seen", s->id, cmd->num[0]);
		} else {
			pop3_reply(s, "+OK Top of message follows");
		}
		send_body(s, data.data ? data.data : "", data.len,
			  cmd->verb == POP3_TOP ? (long long)cmd->num[1] : -1);
	}
	sbuf_free(&data);
}

/* QUIT in TRANSACTION: the UPDATE state (RFC 1939 section 6). */
static void do_update(struct pop3_sess *s)
{
	unsigned deleted = 0, failed = 0;
	uint32_t i;

	/* from the highest number down: each expunge shifts those above */
	for (i = s->count; i >= 1; i--) {
		if (!s->deleted[i - 1])
			continue;
		if (mbox_expunge(s->mbox, i) == 0)
			deleted++;
		else
			failed++;
	}
	log_info("%s: pop3 logout: user=%s, messages=%u, deleted=%u, "
		 "retrieved=%u%s", s->id, s->user, s->count, deleted,
		 s->retrieved, failed ? ", some deletions failed" : "");
	if (failed)
		pop3_reply(s, "-ERR [SYS/TEMP] %u message%s not removed",
			   failed, failed == 1 ? "" : "s");
	else
		pop3_reply(s, "+OK Bye, %u message%s deleted", deleted,
			   deleted == 1 ? "" : "s");
	pop3_close_maildrop(s);
	pop3_hangup(s);
}

void pop3_transaction(struct pop3_sess *s, const struct pop3_cmd *cmd)
{
	uint32_t i;

	switch (cmd->verb) {
	case POP3_STAT:
		do_stat(s);
		break;
	case POP3_LIST:
		do_list(s, cmd, 0);
		break;
	case POP3_UIDL:
		do_list(s, cmd, 1);
		break;
	case POP3_RETR:
	case POP3_TOP:
		do_retr(s, cmd);
		break;
	case POP3_DELE:
		if (message(s, cmd->num[0]) == NULL) {
			pop3_reply(s, "-ERR No such message (or deleted)");
			break;
		}
		s->deleted[cmd->num[0] - 1] = 1;
		pop3_reply(s, "+OK Message %lu deleted", cmd->num[0]);
		break;
	case POP3_RSET:
		for (i = 0; i < s->count; i++)
			s->deleted[i] = 0;
		pop3_reply(s, "+OK %u message%s", s->count,
			   s->count == 1 ? "" : "s");
		break;
	case POP3_NOOP:
		pop3_reply(s, "+OK");
		break;
	case POP3_QUIT:
		do_update(s);
		break;
	default:
		s->nerrors++;
		pop3_reply(s, "-ERR Command not valid in this state");
		break;
	}
}

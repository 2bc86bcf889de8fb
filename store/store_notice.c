/*
 * NAME
 *	store_notice - a shared address answers its sender (RFC 3834)
 * DESCRIPTION
 *	A shared address (directory.c: an ambiguous alias such as smith@
 *	when two Smiths exist) takes mail but delivers it to no one; the
 *	store, where a recipient's fate is decided, answers the sender
 *	with an automatic notice listing the official addresses. The
 *	store decides because it is the last stage: the message passed
 *	the virus and spam scans (spamd's X-Spam-Flag: YES or mx's junk
 *	mark means no notice, so forged senders of spam get no
 *	backscatter), and it holds the directory the notice quotes.
 *	RFC 3834 rules: no notice to the null sender, to mail that is
 *	itself automatic (Auto-Submitted other than "no"), to mailing-list
 *	or bulk mail (List-Id, List-Post, List-Unsubscribe, Precedence
 *	bulk, list or junk) or to MAILER-DAEMON, owner-* and *-request;
 *	at most one per sender and shared address per day (UTC), recorded
 *	durably as an empty file in autoreply_dir named after the day and
 *	the SHA-256 of the pair (created exclusively, synced: a restart
 *	remembers; files of past days are removed). The notice has the null
 *	envelope sender (nothing bounces back, and a notice reaching a
 *	shared address is never answered), Auto-Submitted: auto-replied,
 *	In-Reply-To and References, and goes out as spamd's admin notice
 *	does (spool_notice()): into the store's own queue, whose forwarder
 *	hands it to next_hop (outmta) after the next group commit. Runs on the
 *	loop thread; the header values quoted are checked and bounded.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "directory.h"
#include "limits_rfc.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "store_mime_int.h"
#include "tls.h"
#include "tracehdr.h"

#define NOTICE_MAX_ADDRS 32
#define NOTICE_REF_MAX 900	/* In-Reply-To, References: one line */
#define NOTICE_SUBJECT_MAX 200

static void count(const char *result)
{
	char l[64];

	metrics_add(metrics_counter("sluice_shared_address_total",
				    metrics_label(l, sizeof(l), "result",
						  result),
				    "mail to a shared address: notice sent, "
				    "or why not"),
		    1);
}

/* The unfolded value of header field name into out ("" when absent). */
static int field(const struct smtp_session *s, const char *name,
		 struct sbuf *out)
{
	struct mime_part p;

	memset(&p, 0, sizeof(p));
	p.msg = s->msg.data ? s->msg.data : "";
	p.hdr_len = s->msg.data ? s->header_len : 0;
	sbuf_reset(out);
	return mime_hdr_get(&p, name, out) && sbuf_puts(out, "") == 0;
}

/* The word a field's value starts with ("auto-replied; x" ->
 * "auto-replied") equals one of words ("a|b|c"). */
static int first_word_in(const char *v, const char *words)
{
	size_t n = strcspn(v, " \t;("), k;

	while (*words) {
		k = strcspn(words, "|");
		if (k == n && strncasecmp(v, words, n) == 0)
			return 1;
		words += k + (words[k] == '|');
	}
	return 0;
}

/* Why no notice goes to s's sender (RFC 3834 section 2), or NULL. */
static const char *why_not(const struct smtp_session *s, struct sbuf *v)
{
	const char *from = s->env.from ? s->env.from : "";
	const char *at = strrchr(from, '@');
	size_t local = at ? (size_t)(at - from) : strlen(from);

	if (from[0] == '\0')
		return "null_sender";
	if ((local == 13 && strncasecmp(from, "mailer-daemon", 13) == 0) ||
	    strncasecmp(from, "owner-", 6) == 0 ||
	    (local >= 8 && strncasecmp(from + local - 8, "-request", 8) == 0))
		return "list_sender";
	if (field(s, "Auto-Submitted", v) && !first_word_in(v->data, "no"))
		return "auto_submitted";
	if (field(s, "List-Id", v) || field(s, "List-Post", v) ||
	    field(s, "List-Unsubscribe", v) ||
	    (field(s, "Precedence", v) &&
	     first_word_in(v->data, "bulk|list|junk")))
		return "list";
	if (tracehdr_spam(s->msg.data, s->header_len) ||
	    tracehdr_junk(s->msg.data, s->header_len))
		return "spam";
	return NULL;
}

/* "YYYYMMDD" of now (UTC). */
static void today(char out[9])
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, 9, "%Y%m%d", &tm);
}

/* Remove the records of days before day (once a day). */
static void purge(const char *dir, const char *day)
{
	static char done[9];
	struct dirent *de;
	DIR *d;

	if (strcmp(done, day) == 0 || (d = opendir(dir)) == NULL)
		return;
	snprintf(done, sizeof(done), "%s", day);
	while ((de = readdir(d)) != NULL)
		if (strlen(de->d_name) == 8 + 1 + 64 &&
		    strncmp(de->d_name, day, 8) < 0 &&
		    unlinkat(dirfd(d), de->d_name, 0) < 0)
			log_warn("%s/%s: cannot remove: %m", dir, de->d_name);
	closedir(d);
}

/* Record the pair (sender, shared) for today: 1 when recorded now, 0
 * when it already was, -1 on error. The record is synced (file and
 * folder) before the notice is queued: once per day holds across a
 * crash. Notices are rare, so the loop may wait for this. */
static int record(struct store *st, const char *from, const char *shared,
		  char *path, size_t pathlen)
{
	unsigned char h[32];
	struct sbuf key;
	char day[9], hex[65];
	size_t i;
	int fd, dfd, rc = -1;

	today(day);
	purge(st->cfg->autoreply_dir, day);
	sbuf_init(&key, 2 * LIM_PATH + 4);
	sbuf_printf(&key, "%s\n%s", from, shared);
	for (i = 0; key.data && i < key.len; i++)
		if (key.data[i] >= 'A' && key.data[i] <= 'Z')
			key.data[i] = (char)(key.data[i] - 'A' + 'a');
	tls_sha256(key.data ? key.data : "", key.len, h);
	sbuf_free(&key);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	snprintf(path, pathlen, "%s/%s-%s", st->cfg->autoreply_dir, day, hex);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? 0 : -1;
	dfd = open(st->cfg->autoreply_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fsync(fd) == 0 && dfd >= 0 && fsync(dfd) == 0)
		rc = 1;
	close(fd);
	if (dfd >= 0)
		close(dfd);
	if (rc < 0)
		unlink(path);
	return rc;
}

/* A message id we can quote: "<...>", no white space, bounded. */
static int quotable_id(const char *v, size_t max)
{
	size_t n = strlen(v);

	return n >= 3 && n <= max && v[0] == '<' && v[n - 1] == '>' &&
	       strcspn(v, " \t\r\n") == n;
}

/* The notice's header and text into o. */
static int build(struct store *st, const struct smtp_session *s,
		 const char *shared, const char **addrs, size_t n,
		 struct sbuf *v, struct sbuf *o)
{
	char date[64], subject[NOTICE_SUBJECT_MAX + 1], msgid[NOTICE_REF_MAX];
	time_t now = time(NULL);
	struct tm tm;
	size_t i, k = 0;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	/* the subject quoted: printable, on one line, bounded */
	if (field(s, "Subject", v))
		for (i = 0; v->data[i] && k < NOTICE_SUBJECT_MAX; i++) {
			unsigned char c = (unsigned char)v->data[i];

			subject[k++] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
		}
	subject[k] = '\0';
	msgid[0] = '\0';
	if (field(s, "Message-ID", v) && quotable_id(v->data, 300))
		snprintf(msgid, sizeof(msgid), "%s", v->data);
	sbuf_printf(o, "From: <%s>\r\nTo: <%s>\r\nSubject: Auto: %s\r\n"
		    "Date: %s\r\nMessage-ID: <%s.%ld.shared@%s>\r\n"
		    "Auto-Submitted: auto-replied\r\n", shared, s->env.from,
		    k ? subject : "your message", date, s->id, (long)now,
		    st->cfg->hostname);
	if (msgid[0]) {
		sbuf_printf(o, "In-Reply-To: %s\r\n", msgid);
		/* RFC 5322 3.6.4: their References and their id; when
		 * that is too long for one line, their id alone */
		if (field(s, "References", v) &&
		    strcspn(v->data, "\r\n") == v->len &&
		    v->len + 1 + strlen(msgid) <= NOTICE_REF_MAX)
			sbuf_printf(o, "References: %s %s\r\n", v->data,
				    msgid);
		else
			sbuf_printf(o, "References: %s\r\n", msgid);
	}
	sbuf_printf(o, "MIME-Version: 1.0\r\nContent-Type: text/plain; "
		    "charset=utf-8\r\n\r\n"
		    "Your message to <%s> was not delivered to anyone: that "
		    "address\r\nis shared by several people. Please send it "
		    "again to the one you mean:\r\n\r\n", shared);
	for (i = 0; i < n; i++)
		sbuf_printf(o, "  %s\r\n", addrs[i]);
	return sbuf_printf(o, "\r\nThis notice is automatic and is sent "
			   "at most once a day.\r\n");
}

int store_notice_shared(struct store *st, struct smtp_session *s,
			const char *shared)
{
	const char *addrs[NOTICE_MAX_ADDRS], *why;
	char safe[300], sender[300], path[4200];
	struct sbuf v, body;
	size_t n;
	int rc;

	log_safe(safe, sizeof(safe), shared);
	log_safe(sender, sizeof(sender), s->env.from ? s->env.from : "");
	sbuf_init(&v, MIME_MAX_FIELD + 1);
	why = why_not(s, &v);
	n = directory_shared(st->users, shared, addrs, NOTICE_MAX_ADDRS);
	if (why == NULL && n == 0)
		why = "no_official_address";
	if (why) {
		log_info("%s: to=<%s>: shared address, no notice: %s", s->id,
			 safe, why);
		count(why);
		sbuf_free(&v);
		return 0;
	}
	rc = record(st, s->env.from, shared, path, sizeof(path));
	if (rc <= 0) {
		if (rc < 0)
			log_error("%s: %s: cannot record the notice: %m",
				  s->id, st->cfg->autoreply_dir);
		else
			log_info("%s: to=<%s>: shared address, no notice: "
				 "sender told today already", s->id, safe);
		count(rc < 0 ? "error" : "repeat");
		sbuf_free(&v);
		return rc;
	}
	sbuf_init(&body, 1 << 20);
	if (build(st, s, shared, addrs, n, &v, &body) < 0)
		sbuf_free(&body);	/* spool_notice() logs the failure */
	if (spool_notice(&st->notices, s->env.from, &body, s->id,
			 "shared address notice")) {
		log_info("%s: to=<%s>: shared address, notice sent to <%s>",
			 s->id, safe, sender);
		count("sent");
		rc = 1;
	} else {
		unlink(path);	/* not told: the next try may tell */
		count("error");
		rc = -1;
	}
	sbuf_free(&body);
	sbuf_free(&v);
	return rc;
}

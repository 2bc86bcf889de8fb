/*
 * NAME
 *	smtp_send - one message to one hop, blocking, for tools and threads
 * DESCRIPTION
 *	See smtp_send.h. The replies of the hop are read a line at a time
 *	(a multi-line reply counts by its last line); a line longer than
 *	the buffer, a reply without a code or a closed connection fail the
 *	transaction. Trusts the hop no further than that.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "daemon.h"
#include "smtp_send.h"

/* Append "what" to err (bounded; "; " between pieces). */
static void note(char *err, size_t errlen, const char *what)
{
	size_t n = strlen(err);

	if (n + 1 < errlen)
		snprintf(err + n, errlen - n, "%s%s", n ? "; " : "", what);
}

/* One reply (multi-line joined to its last line) into line; its code,
 * or -1 when the connection ended or the reply was malformed. */
static int reply(FILE *in, char *line, size_t n)
{
	size_t len;

	for (;;) {
		if (fgets(line, (int)n, in) == NULL) {
			snprintf(line, n, "connection lost");
			return -1;
		}
		len = strlen(line);
		if (len < 4 || line[len - 1] != '\n')
			return -1;
		while (len > 0 && (line[len - 1] == '\n' ||
				   line[len - 1] == '\r'))
			line[--len] = '\0';
		if (line[3] != '-')
			return atoi(line);
	}
}

/* Write the message dot-stuffed (RFC 5321 4.5.2) with CRLF line ends,
 * then ".". 0 or -1. */
static int send_data(FILE *out, const char *p, size_t len)
{
	const char *eol;
	size_t n;

	while (len > 0) {
		eol = memchr(p, '\n', len);
		n = eol ? (size_t)(eol - p) : len;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if ((p[0] == '.' && fputc('.', out) == EOF) ||
		    fwrite(p, 1, n, out) != n || fputs("\r\n", out) == EOF)
			return -1;
		n = eol ? (size_t)(eol - p) + 1 : len;
		p += n;
		len -= n;
	}
	return fputs(".\r\n", out) == EOF || fflush(out) == EOF ? -1 : 0;
}

/* Connect to "lmtp:host:port" / "smtp:host:port"; *lmtp set. fd or -1
 * with the reason in err. */
static int hop_connect(const char *hop, int timeout, int *lmtp, char *err,
		       size_t errlen)
{
	struct sockaddr_storage ss;
	struct timeval tv = {timeout, 0};
	unsigned int sl;
	int fd;

	if (strncmp(hop, "lmtp:", 5) == 0)
		*lmtp = 1;
	else if (strncmp(hop, "smtp:", 5) == 0)
		*lmtp = 0;
	else
		goto bad;
	if (daemon_resolve(hop + 5, &ss, &sl) < 0)
		goto bad;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		snprintf(err, errlen, "%s: cannot connect: %s", hop,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
bad:
	snprintf(err, errlen, "%s: not lmtp:host:port or smtp:host:port",
		 hop);
	return -1;
}

/* The SMTP/LMTP dialogue for e and body on in/out: how many recipients
 * the hop accepted in the end, or -1 when the transaction failed. */
static int transact(FILE *in, FILE *out, int lmtp, const struct envelope *e,
		    const char *body, size_t blen, char *err, size_t errlen)
{
	char line[1024], what[1400];
	size_t i, ok = 0;
	int *acc = calloc(e->nrcpt + 1, sizeof(int));
	int done = -1;

	if (acc == NULL || reply(in, line, sizeof(line)) != 220)
		goto fail;
	fprintf(out, "%s localhost\r\n", lmtp ? "LHLO" : "EHLO");
	fflush(out);
	if (reply(in, line, sizeof(line)) != 250)
		goto fail;
	fprintf(out, "MAIL FROM:<%s>\r\n", e->from);
	fflush(out);
	if (reply(in, line, sizeof(line)) != 250)
		goto fail;
	for (i = 0; i < e->nrcpt; i++) {
		fprintf(out, "RCPT TO:<%s>\r\n", e->rcpts[i].addr);
		fflush(out);
		acc[i] = reply(in, line, sizeof(line)) / 100 == 2;
		ok += (size_t)acc[i];
		if (!acc[i]) {
			snprintf(what, sizeof(what), "<%s>: %s",
				 e->rcpts[i].addr, line);
			note(err, errlen, what);
		}
	}
	if (ok == 0)
		goto out;
	fputs("DATA\r\n", out);
	fflush(out);
	if (reply(in, line, sizeof(line)) != 354 ||
	    send_data(out, body, blen) < 0)
		goto fail;
	/* LMTP: one reply per accepted recipient (RFC 2033 4.2) */
	for (i = 0, done = 0; i < e->nrcpt && (lmtp || i == 0); i++) {
		if (lmtp && !acc[i])
			continue;
		if (reply(in, line, sizeof(line)) / 100 == 2) {
			done += lmtp ? 1 : (int)ok;
		} else {
			snprintf(what, sizeof(what), "end of data: %s", line);
			note(err, errlen, what);
		}
	}
	fputs("QUIT\r\n", out);
	fflush(out);
	goto out;
fail:
	snprintf(what, sizeof(what), "%s", acc ? line : "out of memory");
	note(err, errlen, what);
out:
	free(acc);
	return done;
}

int smtp_send(const char *hop, int timeout, const struct envelope *e,
	      const char *msg, size_t len, char *err, size_t errlen)
{
	FILE *in = NULL, *out = NULL;
	int fd, fd2 = -1, lmtp, got = -1;

	if (errlen > 0)
		err[0] = '\0';
	if ((fd = hop_connect(hop, timeout, &lmtp, err, errlen)) < 0)
		return -1;
	fd2 = dup(fd);
	if (fd2 < 0 || (in = fdopen(fd2, "r")) == NULL ||
	    (out = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		if (in == NULL && fd2 >= 0)
			close(fd2);
		if (out == NULL)
			close(fd);
		goto out;
	}
	got = transact(in, out, lmtp, e, msg, len, err, errlen);
out:
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	return got;
}

/*
 * NAME
 *	log - one line per event, to stderr or syslog
 * DESCRIPTION
 *	Lines look like Postfix's: "stage[pid]: QUEUEID: key=value, ...".
 *	The caller puts the queue ID (or session ID) first in the format.
 *	log_fatal() is for a broken environment (exit 1), log_panic() for a
 *	broken invariant (abort). Nothing a peer sends may reach either.
 *	Base layer.
 */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

/* Start logging as ident (e.g. "mx"); use_syslog selects syslog(3)
 * (facility mail) instead of stderr. */
void log_open(const char *ident, int use_syslog);
/* The ident given to log_open(). */
const char *log_name(void);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void log_fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
_Noreturn void log_panic(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* Copy s into out (at most outlen-1 bytes), replacing bytes that are not
 * printable ASCII with '?', so peer data cannot forge log lines.
 * Returns out. */
char *log_safe(char *out, unsigned long outlen, const char *s);

#endif

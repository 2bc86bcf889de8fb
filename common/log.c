/*
 * NAME
 *	log - one line per event, to stderr or syslog
 * DESCRIPTION
 *	See log.h. stderr lines carry a timestamp, ident and pid.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static const char *log_ident = "sluice";
static int log_syslog;

void log_open(const char *ident, int use_syslog)
{
	log_ident = ident;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

const char *log_name(void)
{
	return log_ident;
}

static void log_vline(int prio, const char *tag, const char *fmt, va_list ap)
{
	char msg[2048];
	char stamp[32];
	struct timeval tv;
	struct tm tm;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_syslog) {
		syslog(prio, "%s%s", tag, msg);
		return;
	}
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld %s[%ld]: %s%s\n", stamp,
		(long)(tv.tv_usec / 1000), log_ident, (long)getpid(), tag, msg);
}

#define LOG_BODY(prio, tag)                  \
	do {                                 \
		va_list ap;                  \
		va_start(ap, fmt);           \
		log_vline(prio, tag, fmt, ap); \
		va_end(ap);                  \
	} while (0)

void log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_INFO, "");
}

void log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING, "warning: ");
}

void log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_ERR, "error: ");
}

void log_fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, "fatal: ");
	exit(1);
}

void log_panic(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, "panic: ");
	abort();
}

char *log_safe(char *out, unsigned long outlen, const char *s)
{
	unsigned long i = 0;

	if (outlen == 0)
		return out;
	for (; s && *s && i + 1 < outlen; s++)
		out[i++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	out[i] = '\0';
	return out;
}

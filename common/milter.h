/*
 * NAME
 *	milter - the one adapter for libmilter (Postfix and Sendmail)
 * SUMMARY
 *	milter_run(), struct milter_ops, struct milter_msg,
 *	struct milter_verdict
 * DESCRIPTION
 *	A stage's milter mode (sluice-avscan -m, sluice-spamd -m) fills a
 *	struct milter_ops with its limits, its scan function and how to
 *	recognise forged copies of its own header fields; this adapter does
 *	the rest: the session cap, collecting each message, the metrics
 *	thread, dropping privileges and turning the stage's verdict into
 *	libmilter calls. No libmilter type appears here, so stages do not
 *	include libmilter's header (STYLE.md: one adapter per library).
 */
#ifndef SLUICE_MILTER_H
#define SLUICE_MILTER_H

#include <stddef.h>

#include "limits_rfc.h"
#include "sbuf.h"

/* Distinct names of forged fields remembered per message. */
#define MILTER_MAX_FORGED 32

struct milter_forged {
	char name[64];
	int count; /* occurrences of that name */
};

/* One message as the MTA passed it: header fields rebuilt as
 * "Name: value" with CRLF line ends, the empty line, then the body. */
struct milter_msg {
	char client[64]; /* peer address of the MTA's client, for the log */
	char from[256];  /* envelope sender, through log_safe() */
	/* with ops->max_rcpts: the envelope sender and recipients as the
	 * MTA gave them, angle brackets off ("" for the null sender or
	 * one too long), for checks on addresses; never for a log */
	char sender[LIM_PATH + 1];
	char (*rcpt)[LIM_PATH + 1];
	size_t nrcpt;     /* recipients in rcpt */
	size_t rcpt_lost; /* more that were not kept (past max_rcpts,
			   * too long, out of memory) */
	size_t rcpt_cap;
	int auth;         /* the MTA says the sender authenticated */
	const char *qid;  /* at end of message: the MTA's queue ID or NOQUEUE */
	struct sbuf data; /* the message, while it fits in memory */
	int fd;           /* or all of it in this unlinked file (-1: none) */
	size_t size;      /* bytes collected */
	int toobig;       /* past ops->max_size: not collected */
	int spill_err;    /* errno when the file failed (0: none) */
	struct milter_forged forged[MILTER_MAX_FORGED];
	size_t nforged;
};

enum milter_action {
	MILTER_ACCEPT,   /* pass it on, after the changes below */
	MILTER_REJECT,   /* permanent refusal with code, ext, text */
	MILTER_TEMPFAIL, /* temporary; code NULL: the MTA's own reply */
};

struct milter_field {
	const char *name;
	char value[800];
};

/* What the stage decided. On MILTER_ACCEPT the forged fields are
 * removed, the fields in add added and, hold not empty, the MTA asked
 * to hold the message with that reason. */
struct milter_verdict {
	enum milter_action action;
	const char *code, *ext; /* e.g. "554", "5.7.1" */
	char text[400];         /* reply text: no '%' or '\\' */
	char hold[400];
	struct milter_field add[3];
	size_t nadd;
};

struct milter_ops {
	const char *name;   /* the filter's name for libmilter */
	const char *listen; /* milter_listen, host:port */
	const char *user;   /* drop to this user once listening */
	long long max_sessions;
	long long timeout; /* seconds of the MTA's silence; 0: libmilter's */
	size_t mem_max;    /* bytes collected in memory per message */
	const char *spill_dir; /* past mem_max, into a file here; NULL:
				* keep mem_max bytes, drop the rest */
	size_t max_size;       /* past this, toobig (0: no limit) */
	size_t max_rcpts;      /* recipients kept per message (0: none,
				* and no sender either) */
	/* 1 if a header field of this name is a forged copy of ours */
	int (*is_forged)(const char *name);
	int scan_forged; /* 1: forged fields stay in data; 0: left out */
	/* listening and privileges dropped: load what the scan needs */
	void (*started)(void *arg);
	/* the message is complete: fill v (zeroed, MILTER_ACCEPT) */
	void (*eom)(void *arg, struct milter_msg *m, struct milter_verdict *v);
	void *arg;
};

/* Serve libmilter on ops->listen until a stop signal. Exits through
 * log_fatal() when it cannot listen; returns the exit code. */
int milter_run(const struct milter_ops *ops);

#endif

/*
 * NAME
 *	senders - the sender lists snapshot: users' allow and block lists
 * DESCRIPTION
 *	The file sluicectl and sluice-admin export beside the directory
 *	snapshot from the directory's sender_lists table, and spamd reads
 *	(reloaded when it changes). One rule per line (format in
 *	senders.c); the reader and the writer live in senders.c, so the
 *	format has one home. Everything read is validated; a broken file is
 *	refused whole. Mail layer.
 */
#ifndef SLUICE_SENDERS_H
#define SLUICE_SENDERS_H

#include <stddef.h>
#include <sys/types.h>

#include "limits_rfc.h"

struct snapwatch;

enum {
	SENDERS_NONE = 0,
	SENDERS_ALLOW = 1,
	SENDERS_BLOCK = 2
};

struct sender_rule {
	const char *user;    /* lowercase address of the directory */
	const char *pattern; /* lowercase "local@domain" or "@domain" */
	int kind;            /* SENDERS_ALLOW or SENDERS_BLOCK */
};

struct senders;

/* A pattern as a user typed it, checked strictly and lowercased into
 * out (LIM_PATH + 1 bytes): an address local@domain, or @domain (that
 * domain and its subdomains), the domain valid (RFC 5321 Domain) and
 * nothing a snapshot cannot hold. 0, or -1 with a reason in err. */
int senders_pattern(
	const char *in, char out[LIM_PATH + 1], char *err, size_t errlen);
/* "allow" or "block" as SENDERS_ALLOW / SENDERS_BLOCK; SENDERS_NONE
 * for anything else. And back ("?" for none). */
int senders_kind(const char *word);
const char *senders_kind_name(int kind);

/* Parse a snapshot held in buf[0..len) (pure: fuzzed). NULL with
 * "line N: reason" in err. */
struct senders *senders_parse(
	const char *buf, size_t len, char *err, size_t errlen);
/* Load path; a missing file is an empty table (nobody has lists). NULL
 * with "file: ..." in err for a broken or unreadable one. The stamp of
 * the file read is kept (senders_changed()). */
struct senders *senders_load(const char *path, char *err, size_t errlen);
/* Whether path is no longer the file s was loaded from (or it appeared
 * or went). */
int senders_changed(const struct senders *s, const char *path);
/* The watch of the file s was read from (common/snapwatch.c), for the
 * one thread that decides whether to load it again. */
struct snapwatch *senders_watch(struct senders *s);
/* Reference counting: a table is immutable once loaded, so readers on
 * any thread share it; the last unref frees it. *sp set to NULL. */
struct senders *senders_ref(struct senders *s);
void senders_unref(struct senders **sp);
/* The rules of user (any case), sorted by pattern, into *out (owned by
 * s); their number, 0 when none. */
size_t senders_of(const struct senders *s, const char *user,
	const struct sender_rule **out);
/* Rules in the table. */
size_t senders_count(const struct senders *s);

/* Writing the snapshot (sluicectl, sluice-admin), rows by user. */
struct senders_writer;

/* Start replacing path (mode 0600, given to uid:gid unless uid is
 * (uid_t)-1, through a temporary beside it: common/durable.c). NULL
 * with a reason in err. */
struct senders_writer *senders_write_open(
	const char *path, uid_t uid, gid_t gid, char *err, size_t errlen);
/* Write one rule; rows of one user come together. A rule the reader
 * would refuse, or past LIM_SENDER_RULES of its user, is left out: -1
 * with the reason in why. 0 when written. */
int senders_write(struct senders_writer *w, const char *user, const char *kind,
	const char *pattern, char *why, size_t whylen);
/* Finish: path becomes the new file, or stays the old one when failed
 * is set or a write failed. Frees *w and sets it to NULL. 0, or -1
 * with a reason in err (which failed keeps as it is). */
int senders_write_close(
	struct senders_writer **w, int failed, char *err, size_t errlen);

#endif

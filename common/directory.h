/*
 * NAME
 *	directory - who exists: mailboxes, disabled mailboxes, aliases,
 *	shared addresses
 * DESCRIPTION
 *	The directory snapshot (DESIGN.md "Directory"), read by the store for
 *	delivery and by mx to refuse unknown recipients at RCPT time.
 *	Mail layer.
 */
#ifndef SLUICE_DIRECTORY_H
#define SLUICE_DIRECTORY_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct directory;
#include "snapwatch.h"

/* DIR_SHARED: an ambiguous address, nobody's: it takes mail, delivers
 * it to no one and names the official addresses (directory_shared()) */
enum dir_kind { DIR_UNKNOWN, DIR_MAILBOX, DIR_DISABLED, DIR_ALIAS,
		DIR_SHARED };

/* Load a snapshot. NULL with a reason ("file:line: ...") in err. */
struct directory *directory_load(const char *path, char *err,
				 size_t errlen);
void directory_free(struct directory *d);
/* Re-read the file when it changed (checked at most once a second).
 * Keeps the old table when the new file is broken. */
void directory_refresh(struct directory **d, const char *path);
enum dir_kind directory_lookup(struct directory *d, const char *addr);
/* The mailboxes addr reaches (itself, or an alias's local targets),
 * pointers owned by d; 0 for an unknown or disabled address. */
size_t directory_expand(struct directory *d, const char *addr,
			const char **out, size_t max);
/* The remote targets of an alias (no '>' in front), pointers owned by
 * d; 0 for anything else. Never aliases themselves: not to be expanded
 * again. */
size_t directory_expand_remote(struct directory *d, const char *addr,
			       const char **out, size_t max);
/* The official addresses a shared address names (its mailboxes that
 * are not disabled), pointers owned by d; 0 for anything else. */
size_t directory_shared(struct directory *d, const char *addr,
			const char **out, size_t max);
/* The storage quota of a mailbox in bytes; 0 when it has none. */
long long directory_quota(struct directory *d, const char *mailbox);

/* Writing a snapshot (sluicectl, from the store's database): open,
 * the mailboxes, then the alias rows and the shared rows, each group's
 * rows together, then close. A row whose address or target could not
 * be read back is left out (and counted). */
struct directory_writer;

/* Start replacing path (mode 0644, through a temporary beside it,
 * common/durable.c). NULL with a reason in err. */
struct directory_writer *directory_write_open(const char *path, char *err,
					      size_t errlen);
/* A mailbox line: disabled ("-address"), or with quota bytes (0: no
 * quota). */
void directory_write_mailbox(struct directory_writer *w, const char *addr,
			     int disabled, long long quota);
/* One target of the alias addr; remote marks it '>'. Rows of one alias
 * come one after the other and make one line. */
void directory_write_alias(struct directory_writer *w, const char *addr,
			   const char *target, int remote);
/* One official address of the shared address addr ("=addr: ..."). */
void directory_write_shared(struct directory_writer *w, const char *addr,
			    const char *official);
/* Rows left out so far. */
int directory_write_skipped(const struct directory_writer *w);
/* Finish: path becomes the new file, or stays the old one when failed
 * is set or a write failed. Frees *w and sets it to NULL. 0, or -1
 * with a reason in err (which failed keeps as it is). */
int directory_write_close(struct directory_writer **w, int failed,
			  char *err, size_t errlen);

/* A line of a snapshot of fields (credentials, sender lists): split
 * line (modified) at single spaces into exactly n fields f, the first an
 * address, lowercased and checked with directory_valid_address(). 0, or
 * -1 with a reason in err. */
int directory_fields(char *line, char **f, int n, char *err, size_t errlen);

/* Non-zero when a can be stored in a snapshot: a domain that is valid,
 * no white space, ',', ':', '/', quotes or angle brackets. */
int directory_valid_address(const char *a);

#endif

/*
 * NAME
 *	creds - the credentials snapshot: who may log in, and how
 * DESCRIPTION
 *	Reads the file that sluicectl exports beside the directory snapshot
 *	(mode 0600; format in creds.c and store_dir.c). One entry per user
 *	with a password: address, scrypt hash (PLAIN, LOGIN, USER/PASS),
 *	SCRAM-SHA-256 secret (or none), expiry and enabled flag. Never a
 *	clear password. Everything read is validated; a broken file is
 *	refused whole. Mail layer; read by common/sasl.c.
 */
#ifndef SLUICE_CREDS_H
#define SLUICE_CREDS_H

#include <stddef.h>
#include <sys/types.h>

struct creds;

struct cred {
	char *addr;	   /* lowercase address of the directory */
	char *scrypt;	   /* "$scrypt$..." (tls_password_check) */
	char *scram;	   /* Cyrus authPassword value, or NULL */
	long long expires; /* seconds since the epoch; 0: never */
	int enabled;
};

/* Load path. A missing file gives an empty table (nobody logs in). NULL
 * with "file:line: reason" in err for a broken or unreadable file. */
struct creds *creds_load(const char *path, char *err, size_t errlen);
/* Free (secrets are wiped) and set *c to NULL. */
void creds_free(struct creds **c);
/* Re-read path when it changed (checked at most once a second); keeps
 * the old table when the new file is broken. */
void creds_refresh(struct creds **c, const char *path);
/* The entry of addr (compared case-insensitively), or NULL. */
const struct cred *creds_find(const struct creds *c, const char *addr);
/* Non-zero when e may log in at now (enabled, not expired). */
int creds_usable(const struct cred *e, long long now);
/* Entries in the table. */
size_t creds_count(const struct creds *c);

/* Parse one line (without its newline) into e (fields point into line,
 * which is modified). 0, or -1 with a reason in err. */
int creds_parse_line(char *line, struct cred *e, char *err, size_t errlen);

/* Writing the snapshot (sluicectl, from the store's database). */
struct creds_writer;

/* Start replacing path (mode 0600, given to uid:gid unless uid is
 * (uid_t)-1, through a temporary beside it: common/durable.c), with
 * the format's comment block. NULL with a reason in err. */
struct creds_writer *creds_write_open(const char *path, uid_t uid, gid_t gid,
				      char *err, size_t errlen);
/* Write e's line (scram NULL: none). A row the reader would refuse is
 * left out: -1 with the reason in why. 0 when written. */
int creds_write(struct creds_writer *w, const struct cred *e, char *why,
		size_t whylen);
/* Finish: path becomes the new file, or stays the old one when failed
 * is set or a write failed. Frees *w and sets it to NULL. 0, or -1
 * with a reason in err (which failed keeps as it is). */
int creds_write_close(struct creds_writer **w, int failed, char *err,
		      size_t errlen);

#endif

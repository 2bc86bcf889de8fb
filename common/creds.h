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

#endif

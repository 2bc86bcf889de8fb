/*
 * NAME
 *	sluicectl - manage the user directory (SQLite or PostgreSQL)
 * SYNOPSIS
 *	sluicectl [-d directory.db|postgresql://...] [-s snapshot]
 *	  [-a credentials] [-l sender-lists] COMMAND ...
 *	  domain add|del|list DOMAIN
 *	  user add ADDRESS [--quota SIZE] [--expires YYYY-MM-DD]
 *	  user del|show ADDRESS;  user list [DOMAIN]
 *	  user passwd ADDRESS            (password from the terminal or stdin)
 *	  user quota ADDRESS SIZE;  user expires ADDRESS YYYY-MM-DD|never
 *	  user enable|disable ADDRESS
 *	  alias del|list [ALIAS]
 *	  user kind ADDRESS personal|role
 *	  alias add ALIAS TARGET [TARGET...];  alias rm ALIAS TARGET
 *	  list add LIST MEMBER [MEMBER...];  list del LIST
 *	  list rm LIST MEMBER;  owner add|del LIST ADDRESS
 *	  admin add|del DOMAIN|'*' ADDRESS;  admin list
 *	  person add DOMAIN FIRST LAST [--quota SIZE] [--expires DATE]
 *	  senders USER allow|block|remove ADDRESS|@DOMAIN;  senders USER list
 *	  ldap-sync --uri URI --base DN --domain DOMAIN... [--filter F]
 *	    [--bind-dn DN --password-file FILE] [--ca-file FILE]
 *	    [--page-size N] [--map key=attribute,...]   (one-way, see store_dir_ldap.c)
 *	  export
 *	  watch                          (PostgreSQL: keep the snapshots fresh)
 * DESCRIPTION
 *	The directory is the source of truth for domains, users, aliases and
 *	distribution lists (DESIGN.md "Directory"). Every change rewrites
 *	the snapshot atomically (temporary file, fsync, rename, fsync of the
 *	directory) so mx and the store pick it up within a second, without
 *	a restart. Beside it goes the credentials snapshot (default: the
 *	snapshot path + ".auth"; mode 0600) that IMAP, POP3 and submission
 *	authenticate against, and the sender lists snapshot (default: the
 *	snapshot path + ".senders"; mode 0600) whose allow and block rules
 *	spamd applies. Passwords are read from the terminal (echo
 *	off) or stdin, never from argv, stored as an scrypt hash and a
 *	SCRAM-SHA-256 secret, never in clear, and wiped from memory. SQL is
 *	always bound parameters; every address is validated first.
 *	With -d postgresql://... (a libpq URI) the directory is shared by
 *	every host: "watch" runs on each host, rewrites that host's
 *	snapshots whenever any host changes the directory (LISTEN/NOTIFY),
 *	and while the database is unreachable leaves them as they are, so
 *	the stages go on serving from the last snapshot.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "directory.h"
#include "log.h"
#include "sbuf.h"
#include "tls.h"

#include "store_dir.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: sluicectl [-d directory.db] [-s snapshot] "
		"[-a credentials] [-l sender-lists] COMMAND\n"
		"  domain add|del DOMAIN | domain list\n"
		"  user add ADDRESS [--quota SIZE] [--expires YYYY-MM-DD]\n"
		"  user del|show|passwd|enable|disable ADDRESS\n"
		"  user list [DOMAIN]\n"
		"  user quota ADDRESS SIZE | user expires ADDRESS DATE|never\n"
		"  user kind ADDRESS personal|role\n"
		"  alias add ALIAS TARGET... | alias del ALIAS | alias list\n"
		"  alias rm ALIAS TARGET\n"
		"  list add LIST MEMBER... | list del LIST | list rm LIST "
		"MEMBER\n"
		"  owner add|del LIST ADDRESS\n"
		"  admin add|del DOMAIN|'*' ADDRESS | admin list\n"
		"  person add DOMAIN FIRST LAST [--quota SIZE] "
		"[--expires DATE]\n"
		"  senders USER allow|block|remove ADDRESS|@DOMAIN | "
		"senders USER list\n"
		"  ldap-sync --uri URI --base DN --domain DOMAIN... "
		"[--filter F]\n"
		"    [--bind-dn DN --password-file FILE] [--ca-file FILE] "
		"[--page-size N]\n"
		"    [--map key=attr,...]\n"
		"  export | watch\n");
	exit(2);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* watch: export now and after every change, until killed. The database
 * may be down at start or go away later: the snapshots then stay as they
 * are (the stages serve from them) and the connection is tried again
 * every second, with one log line when it goes and one when it comes
 * back. */
static int watch(const char *db, const char *snap, const char *auth,
		 const char *senders)
{
	struct store_dir *d = NULL;
	char err[512];
	int down = 0, r;
	uint64_t t0;

	if (!store_dir_is_uri(db)) {
		fprintf(stderr, "sluicectl: watch needs a postgresql:// "
			"directory\n");
		return 1;
	}
	for (;;) {
		if (d == NULL)
			d = store_dir_open(db, err, sizeof(err));
		r = d ? store_dir_wait(d, 1000, err, sizeof(err)) : -1;
		if (r < 0) {
			if (!down)
				log_warn("directory unreachable, serving from "
					 "the last snapshot: %s", err);
			down = 1;
			sleep(1);
			continue;
		}
		if (down)
			log_info("directory reachable again");
		down = 0;
		if (r == 0)
			continue;
		t0 = now_ms();
		if (store_dir_export(d, snap, err, sizeof(err)) < 0 ||
		    store_dir_export_auth(d, auth, err, sizeof(err)) < 0 ||
		    store_dir_export_senders(d, senders, err,
					     sizeof(err)) < 0)
			log_warn("snapshot not written: %s", err);
		else
			log_info("snapshots %s, %s and %s written in %llu ms",
				 snap, auth, senders,
				 (unsigned long long)(now_ms() - t0));
	}
}

/* Read a password without echo (terminal) or one line of stdin. */
static int read_password(char *buf, size_t len)
{
	struct termios t, old;
	int tty = isatty(0);
	size_t n;

	if (tty) {
		fprintf(stderr, "password: ");
		tcgetattr(0, &old);
		t = old;
		t.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSAFLUSH, &t);
	}
	if (fgets(buf, (int)len, stdin) == NULL)
		buf[0] = '\0';
	if (tty) {
		tcsetattr(0, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	return n > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *db = "var/store/directory.db";
	const char *snap = "var/store/users";
	const char *auth = NULL, *senders = NULL;
	char err[512], pw[1024], authbuf[4096], sendersbuf[4096];
	struct store_dir *d;
	struct sbuf out;
	int c, rc;

	log_open("sluicectl", 0);
	while ((c = getopt(argc, argv, "+d:s:a:l:")) != -1) {
		if (c == 'd')
			db = optarg;
		else if (c == 's')
			snap = optarg;
		else if (c == 'a')
			auth = optarg;
		else if (c == 'l')
			senders = optarg;
		else
			usage();
	}
	if (auth == NULL) {
		if ((size_t)snprintf(authbuf, sizeof(authbuf), "%s.auth",
				     snap) >= sizeof(authbuf))
			usage();
		auth = authbuf;
	}
	if (senders == NULL) {
		if ((size_t)snprintf(sendersbuf, sizeof(sendersbuf),
				     "%s.senders", snap) >= sizeof(sendersbuf))
			usage();
		senders = sendersbuf;
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	if (argc == 1 && !strcmp(argv[0], "watch"))
		return watch(db, snap, auth, senders);
	d = store_dir_open(db, err, sizeof(err));
	if (d == NULL) {
		fprintf(stderr, "sluicectl: %s\n", err);
		return 1;
	}
	sbuf_init(&out, (size_t)1 << 26);
	if (argc == 3 && !strcmp(argv[0], "user") &&
	    !strcmp(argv[1], "passwd")) {
		if (read_password(pw, sizeof(pw)) < 0) {
			fprintf(stderr, "sluicectl: no password given\n");
			store_dir_close(d);
			return 1;
		}
		rc = store_dir_passwd(d, argv[2], pw, err, sizeof(err));
		memset(pw, 0, sizeof(pw));
	} else if (!strcmp(argv[0], "ldap-sync")) {
		rc = store_dir_ldap_sync(d, argc - 1, argv + 1, &out, err,
					 sizeof(err));
		if (rc == -2)
			usage();
	} else {
		rc = store_dir_command(d, argc, argv, &out, err, sizeof(err));
		if (rc == -2)
			usage();
	}
	if (rc == 0 && store_dir_publish(d, snap, auth, senders, err,
					 sizeof(err)) < 0)
		rc = -1;
	if (out.len)
		fwrite(out.data, 1, out.len, stdout);
	if (rc < 0)
		fprintf(stderr, "sluicectl: %s\n", err);
	sbuf_free(&out);
	store_dir_close(d);
	return rc < 0 ? 1 : 0;
}

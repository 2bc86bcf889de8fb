/*
 * NAME
 *	sluice-store - stage G, LMTP delivery into Maildirs (first cut)
 * SYNOPSIS
 *	sluice-store [-c config] [-f] [-t] [-p]
 * DESCRIPTION
 *	Options and configuration, then start-up: bind, drop privileges,
 *	load the user table, serve LMTP. See sluice-store.8.
 */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "evloop.h"
#include "limits_rfc.h"
#include "log.h"
#include "peerlimit.h"
#include "qcontrol.h"
#include "queue.h"
#include "route.h"
#include "stage.h"
#include "stage_reload.h"
#include "authlimit.h"
#include "authlimit_share.h"
#include "blob.h"
#include "box_keys.h"
#include "sasl.h"
#include "sasl_async.h"
#include "shstate.h"
#include "store.h"
#include "store_mbox_int.h"
#include "store_imap.h"
#include "store_learn.h"
#include "store_mbox.h"
#include "tls.h"

/* First delay after a failed login; it doubles with every failure. */
#define AUTH_FAIL_DELAY_MS 500

static struct store_config cfg;
static struct store st;
static struct route_table notice_routes;
static struct forward_cfg notice_fc;

static const struct cfg_param table[] = {
	{"lmtp_listen", CFG_STR, "127.0.0.1:2424", &cfg.lmtp_listen, 0, 0,
	 "address and port for LMTP"},
	{"hostname", CFG_STR, "", &cfg.hostname, 0, 0,
	 "our name in the greeting (empty: the host name)"},
	{"directory_file", CFG_STR, "var/store/users", &cfg.directory_file, 0,
	 0, "mailboxes and aliases, one per line (reloaded when it changes)"},
	{"mail_root", CFG_STR, "var/store/mail", &cfg.mail_root, 0, 0,
	 "Maildirs live in mail_root/domain/local/Maildir"},
	{"mailbox_store", CFG_STR, "maildir", &cfg.mailbox_store, 0, 0,
	 "maildir (under mail_root), or postgresql://... : folders and "
	 "bodies in PostgreSQL, shared by several stores (access boxes)"},
	DAEMON_PARAMS(cfg.user, cfg.syslog),
	SMTP_LIMIT_PARAMS(cfg.max_message_size, cfg.max_recipients,
			  cfg.max_sessions, "200", cfg.timeout,
			  cfg.sess, LIM_STR(LIM_CLIENT_SESSIONS_INNER)),
	{"quota_permanent", CFG_BOOL, "no", &cfg.quota_permanent, 0, 0,
	 "over quota: 552 5.2.2 (permanent) instead of 452 4.2.2"},
	{"spam_folder", CFG_STR, "Junk", &cfg.spam_folder, 0, 0,
	 "folder for mail spamd marked X-Spam-Flag: YES or mx X-Sluice-Junk "
	 "(DMARC quarantine) (empty: INBOX)"},
	TLS_KEY_PARAMS(cfg.tls_cert, cfg.tls_key,
		       "PEM certificate chain for IMAP and POP3 (empty: no "
		       "TLS)", "PEM private key of tls_cert"),
	{"credentials_file", CFG_STR, "var/store/users.auth",
	 &cfg.credentials_file, 0, 0,
	 "credentials snapshot written by sluicectl (for SASL)"},
	{"control_dir", CFG_STR, "var/store", &cfg.control_dir, 0, 0,
	 "where the control socket is made (control_dir/control, mode "
	 "0600): sluice-queue -d control_dir reload | play-dead ..."},
	{"plaintext_auth", CFG_BOOL, "no", &cfg.plaintext_auth, 0, 0,
	 "allow passwords without TLS (loopback test setups only)"},
	SHSTATE_PARAM(cfg.redis_server),
	AUTH_FAIL_PARAMS(cfg.auth_fail_max, cfg.auth_fail_window,
			 "failed logins per client address or user within "
			 "auth_fail_window before it is locked out",
			 "how long failed logins count"),
	{"imap_listen", CFG_STR, "127.0.0.1:1143", &cfg.imap_listen, 0, 0,
	 "address and port for IMAP with STARTTLS (empty: none)"},
	{"imaps_listen", CFG_STR, "127.0.0.1:9933", &cfg.imaps_listen, 0, 0,
	 "address and port for IMAP over implicit TLS (empty: none)"},
	{"pop3_listen", CFG_STR, "127.0.0.1:1110", &cfg.pop3_listen, 0, 0,
	 "address and port for POP3 with STLS (empty: none)"},
	{"pop3s_listen", CFG_STR, "127.0.0.1:9955", &cfg.pop3s_listen, 0, 0,
	 "address and port for POP3 over implicit TLS (empty: none)"},
	{"pop3_timeout", CFG_TIME, "10m", &cfg.pop3_timeout, 1, 3600,
	 "idle timeout of a POP3 session after login (RFC 1939: at least 10 "
	 "minutes)"},
	{"login_timeout", CFG_TIME, LIM_STR(LIM_LOGIN_TIMEOUT) "s",
	 &cfg.login_timeout, 1, 3600,
	 "IMAP and POP3: from connect to a completed login, busy or not"},
	{"max_client_logins", CFG_INT, LIM_STR(LIM_CLIENT_SESSIONS),
	 &cfg.max_client_logins, 0, 100000,
	 "IMAP and POP3 sessions per client address (IPv6: per /64) that "
	 "have not logged in yet (0: no limit)"},
	{"next_hop", CFG_STR, "", &cfg.next_hop, 0, 0,
	 "where the store's own mail goes (the notices of shared addresses, "
	 "to outmta): smtp:host:port or lmtp:host:port, comma separated "
	 "(tried in order); empty: no notices, a shared address is refused "
	 "at RCPT naming its official addresses"},
	STAGE_QUEUE_PARAMS(cfg.queue, "var/store/queue", "60s"),
	{"autoreply_dir", CFG_STR, "var/store/autoreply", &cfg.autoreply_dir,
	 0, 0, "who was sent a shared address's notice today (one per "
	 "sender, address and day)"},
	{"learn_hop", CFG_STR, "", &cfg.learn_hop, 0, 0,
	 "spamd's learn listener (its learn_listen), lmtp:host:port, comma "
	 "separated (tried in order): messages users move into or out of "
	 "spam_folder, or flag $Junk / $NotJunk, are learnt there (empty: "
	 "off)"},
	{"learn_spool_dir", CFG_STR, "var/store/learn", &cfg.learn_spool_dir,
	 0, 0, "where they wait for spamd (synced files)"},
	{"learn_retry", CFG_TIME, "5s", &cfg.learn_retry, 1, 3600,
	 "how often the spool is sent again while spamd does not answer"},
	{"learn_max_age", CFG_TIME, "1d", &cfg.learn_max_age, 60,
	 30 * 86400, "then a message still spooled is dropped (a log line)"},
	{"learn_max_spool", CFG_INT, "1000", &cfg.learn_max_spool, 1,
	 1000000, "messages spooled at most; more are dropped (a log line)"},
	{"learn_max_size", CFG_SIZE, "256k", &cfg.learn_max_size, 4096,
	 16 << 20, "bytes of a message sent to learn (spamd reads its "
	 "scan_size)"},
	{"learn_skip_folders", CFG_STR, "Trash", &cfg.learn_skip_folders, 0,
	 0, "out of spam_folder into these (comma separated) is not ham: "
	 "deleting spam"},
	{"box_key_file", CFG_STR, "", &cfg.box_key_file, 0, 0,
	 "the access boxes' deployment key (sluice-boxkey keygen; mode 0400 "
	 "or 0600, owned by the user that starts the store): bodies in "
	 "PostgreSQL are sealed under it (empty: stored in clear)"},
	{NULL, CFG_STR, NULL, NULL, 0, 0, NULL},
};

static struct stage_live live;

/* What a reload may change (stage_reload.h); the users file is read
 * again on every reload. */
static const char *const live_keys[] = {
	DAEMON_LIVE_KEYS, "directory_file", "quota_permanent", NULL};

int store_loopback(const char *hostport)
{
	return daemon_loopback(hostport);
}

void store_check_listener(const struct store *s, const char *hostport,
			  const char *what)
{
	int lo = store_loopback(hostport);

	if (s->cfg->plaintext_auth && !lo)
		log_fatal("%s on %s: plaintext_auth is only allowed when "
			  "every listener is on loopback", what, hostport);
	if (s->tls == NULL && !(lo && s->cfg->plaintext_auth))
		log_fatal("%s on %s needs TLS (tls_cert and tls_key), or "
			  "plaintext_auth on a loopback address", what,
			  hostport);
}

/* Read the certificate and key (before the privilege drop). */
static void load_tls(void)
{
	char err[512];

	if (cfg.tls_cert[0] == '\0' || cfg.tls_key[0] == '\0')
		return;
	if (access(cfg.tls_cert, R_OK) < 0) {
		log_warn("no certificate at %s: IMAP and POP3 without TLS",
			 cfg.tls_cert);
		return;
	}
	st.tls = tls_server_ctx(cfg.tls_cert, cfg.tls_key, err, sizeof(err));
	if (st.tls == NULL)
		log_fatal("TLS: %s", err);
}

/* Read the deployment key of the access boxes (before the privilege
 * drop, as the TLS key): a key file others can read stops the store. */
static void load_box_key(void)
{
	char err[512];

	if (cfg.box_key_file[0] == '\0')
		return;
	st.box_keys = box_keys_new(cfg.box_key_file, err, sizeof(err));
	if (st.box_keys == NULL)
		log_fatal("box_key_file: %s", err);
	log_info("box_key_file %s: deployment key id %s", cfg.box_key_file,
		 box_keys_id(st.box_keys));
}

/* The access boxes' bodies: sealed when box_key_file is set (its user
 * keys on their own connection, checked against the deployment key);
 * a wrong key file is said once and every body refused. */
static void box_seal_start(void)
{
	char err[512];
	int rc;

	if (!mbox_is_db(st.mbox)) {
		if (st.box_keys)
			log_warn("box_key_file: unused: only the access boxes' "
				 "bodies (mailbox_store = postgresql://...) "
				 "are sealed; Maildir is not");
		return;
	}
	if (st.box_keys == NULL) {
		log_warn("mailbox_store: message bodies stored in clear in "
			 "the database (no box_key_file)");
		return;
	}
	rc = box_keys_connect(st.box_keys, cfg.mailbox_store, err,
			      sizeof(err));
	if (rc == -1)
		log_fatal("box_key_file: %s", err);
	if (rc == -2)
		log_error("%s", err);
	blob_seal_with(st.box_keys);
}

/* plaintext_auth is for loopback test setups: with it, every listener
 * that takes passwords (implicit TLS ones too) must be on loopback. */
static void check_plaintext(void)
{
	const char *l[] = {cfg.imap_listen, cfg.imaps_listen,
			   cfg.pop3_listen, cfg.pop3s_listen};
	size_t i;

	if (!cfg.plaintext_auth)
		return;
	for (i = 0; i < sizeof(l) / sizeof(l[0]); i++)
		if (l[i][0] && !store_loopback(l[i]))
			log_fatal("plaintext_auth = yes is only allowed when "
				  "every IMAP and POP3 listener is on loopback "
				  "(127.0.0.0/8 or ::1), not %s", l[i]);
}

/* The POP3 listeners, bound before the privilege drop. */
static void pop3_listeners(int fds[2])
{
	fds[0] = fds[1] = -1;
	if (cfg.pop3_listen[0]) {
		store_check_listener(&st, cfg.pop3_listen, "pop3_listen");
		fds[0] = daemon_listen(cfg.pop3_listen);
	}
	if (cfg.pop3s_listen[0]) {
		if (st.tls == NULL)
			log_fatal("pop3s_listen on %s needs TLS (tls_cert and "
				  "tls_key)", cfg.pop3s_listen);
		fds[1] = daemon_listen(cfg.pop3s_listen);
	}
}

int main(int argc, char **argv)
{
	struct daemon_opts opts;
	struct smtp_server_cfg sc;
	struct smtp_server *srv;
	struct pop3_server *pop3[2] = {NULL, NULL};
	struct imap_server *imap;
	struct evloop *loop;
	struct shstate *sh;
	char err[512], ctl_path[4096];
	int fd, pfd[2], ifd[2], i;

	/* the key's former name, accepted until the next release */
	config_old_name("users_file", "directory_file");
	daemon_start(argc, argv, "sluice-store", table, &opts);
	log_open("store", cfg.syslog);
	daemon_default_hostname(&cfg.hostname);
	st.cfg = &cfg;
	check_plaintext();
	/* one level below INBOX: a name that is also a Maildir++ folder */
	if (cfg.spam_folder[0] && (!mb_valid_name(cfg.spam_folder) ||
				   mb_is_inbox(cfg.spam_folder) ||
				   strchr(cfg.spam_folder, '.') != NULL))
		log_fatal("%s: spam_folder: not a folder name: %s",
			  opts.config ? opts.config : "defaults",
			  cfg.spam_folder);
	fd = daemon_listen(cfg.lmtp_listen);
	if ((size_t)snprintf(ctl_path, sizeof(ctl_path), "%s/%s",
			     cfg.control_dir, QUEUE_CONTROL_SOCK) >=
	    sizeof(ctl_path))
		log_fatal("control_dir too long");
	load_tls();
	load_box_key();
	pop3_listeners(pfd);
	imap_bind(&st, ifd);
	daemon_state_dir(cfg.mail_root, cfg.user);
	daemon_state_dir(cfg.control_dir, cfg.user);
	if (cfg.next_hop[0]) {
		daemon_state_dir(cfg.queue.queue_dir, cfg.user);
		daemon_state_dir(cfg.autoreply_dir, cfg.user);
	}
	store_learn_dir(&st);
	daemon_drop_privileges(cfg.user);
	st.users = directory_load(cfg.directory_file, err, sizeof(err));
	if (st.users == NULL)
		log_fatal("%s", err);
	/* the credentials are 0600 and owned by the run user: read after
	 * the drop (a missing file is an empty table, filled later) */
	if (sasl_setup("sluice", cfg.credentials_file, err, sizeof(err)) < 0)
		log_fatal("credentials_file: %s", err);
	st.authlimit = authlimit_new((unsigned)cfg.auth_fail_max,
				     (uint64_t)cfg.auth_fail_window * 1000,
				     AUTH_FAIL_DELAY_MS);
	st.logins = peerlimit_new(cfg.max_client_logins);
	if (st.authlimit == NULL || st.logins == NULL)
		log_fatal("out of memory");
	loop = evloop_new();
	if (sasl_async_setup(loop, SASL_ASYNC_THREADS, err, sizeof(err)) < 0)
		log_fatal("SASL workers: %s", err);
	sh = authlimit_share_start(loop, cfg.redis_server,
				   (uint64_t)cfg.auth_fail_window * 1000,
				   st.authlimit);
	st.mbox = mbox_store_new(loop, cfg.mail_root);
	if (st.mbox == NULL)
		log_fatal("out of memory");
	if (mbox_store_backend(st.mbox, cfg.mailbox_store, err,
			       sizeof(err)) < 0)
		log_fatal("mailbox_store: %s", err);
	box_seal_start();
	st.batch = maildir_batch_new(cfg.mail_root, cfg.hostname, st.mbox);
	store_syncer_start(&st, loop);
	st.learn = store_learn_start(&st, loop);
	for (i = 0; i < 2; i++) {
		if (pfd[i] >= 0 && (pop3[i] = pop3_server_new(&st, loop, pfd[i],
							      i)) == NULL)
			log_fatal("cannot serve POP3");
	}
	imap = imap_server_new(&st, loop, st.tls, ifd[0], ifd[1]);
	if (imap == NULL)
		log_fatal("cannot serve IMAP");
	STAGE_SERVER_CFG(sc, cfg);
	sc.lmtp = 1;
	srv = stage_serve(loop, &sc, &store_hooks, &st, fd);
	if (evloop_on_turn_end(loop, store_commit, &st) < 0)
		log_fatal("cannot set up the event loop");
	if (cfg.next_hop[0]) {
		/* the queue of the store's own mail: its forwarder, its
		 * control socket in queue_dir, its gauges, and the stop
		 * signals */
		if (route_table_init(&notice_routes, cfg.next_hop, "",
				     "ordered", err, sizeof(err)) < 0)
			log_fatal("next_hop: %s", err);
		stage_forward_cfg(&notice_fc, "next_hop", "none",
				  cfg.hostname, cfg.timeout);
		stage_spool_start(loop, &cfg.queue, &notice_routes,
				  &notice_fc, &st.notices, "store");
	} else {
		stage_stop_signals(loop);
	}
	live.srv[0] = srv;
	STAGE_LIVE_LIMITS(live, cfg);
	live.tls = st.tls;
	live.tls_cert = &cfg.tls_cert;
	live.tls_key = &cfg.tls_key;
	live.dir = &st.users;
	live.dir_path = &cfg.directory_file;
	stage_reload_start(loop, live_keys, &live);
	qcontrol_listen(loop, NULL, ctl_path, NULL, NULL);
	if (st.notices.q == NULL)
		stage_metrics_start(loop, NULL);
	log_info("listening on %s (LMTP), mail in %s", cfg.lmtp_listen,
		 mbox_is_db(st.mbox) ? "PostgreSQL" : cfg.mail_root);
	if (pop3[0] || pop3[1])
		log_info("POP3 on %s (STLS), %s (TLS)",
			 pop3[0] ? cfg.pop3_listen : "-",
			 pop3[1] ? cfg.pop3s_listen : "-");
	if (ifd[0] >= 0 || ifd[1] >= 0)
		log_info("IMAP on %s (STARTTLS), %s (TLS)",
			 ifd[0] >= 0 ? cfg.imap_listen : "-",
			 ifd[1] >= 0 ? cfg.imaps_listen : "-");
	evloop_run(loop);
	imap_server_free(&imap);
	smtp_server_free(srv);
	for (i = 0; i < 2; i++)
		pop3_server_free(&pop3[i]);
	store_syncer_stop(&st);
	if (st.notices.q) {
		stage_spool_stop(&st.notices);
		route_table_free(&notice_routes);
	}
	store_learn_stop(&st.learn);
	sasl_async_teardown();
	shstate_free(&sh);
	/* its LISTEN connection is on the loop */
	mbox_store_free(&st.mbox);
	evloop_free(loop);
	directory_free(st.users);
	maildir_batch_free(st.batch);
	tls_ctx_free(st.tls);
	box_keys_free(&st.box_keys);
	authlimit_free(&st.authlimit);
	peerlimit_free(&st.logins);
	sasl_teardown();
	log_info("stopped");
	return 0;
}

/*
 * NAME
 *	store_imap - the store's IMAP server, as store/main.c starts it
 * DESCRIPTION
 *	Listeners and sessions of the IMAP4rev1/IMAP4rev2 server in the
 *	store daemon's event loop; the rest of store/imap sees
 *	store_imap_core.h. Faces the network.
 */
#ifndef SLUICE_STORE_IMAP_H
#define SLUICE_STORE_IMAP_H

struct store;
struct evloop;
struct tls_ctx;
struct imap_server;

/* Open the listeners imap_listen (STARTTLS) and imaps_listen (implicit
 * TLS) of the configuration, before privileges are dropped; -1 for one
 * that is off. Stops start-up (log_fatal) when a listener would take
 * passwords without TLS. */
void imap_bind(const struct store *st, int fds[2]);
/* Start the listeners imap_listen / imaps_listen (fds from
 * daemon_listen, -1 when disabled). NULL on error. */
struct imap_server *imap_server_new(struct store *st, struct evloop *loop,
	struct tls_ctx *tls, int fd, int fd_tls);
void imap_server_free(struct imap_server **srv);

#endif

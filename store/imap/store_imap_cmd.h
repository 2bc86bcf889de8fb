/*
 * NAME
 *	store_imap_cmd - the command files' entry points of the IMAP server
 * DESCRIPTION
 *	What store_imap_server.c puts in the command table (struct
 *	imap_commands of store_imap_core.h). Only that file and the file
 *	defining each function include this header: a command file never
 *	calls another. Faces the network.
 */
#ifndef SLUICE_STORE_IMAP_CMD_H
#define SLUICE_STORE_IMAP_CMD_H

#include "store_imap_core.h"

/* The handlers, one per command name: store_imap_auth.c, store_imap_folder.c
 * and store_imap_list.c, store_imap_fetch.c, store_imap_store.c,
 * store_imap_esearch.c, store_imap_sort.c, store_imap_copy.c,
 * store_imap_append.c, store_imap_compress.c (NOTIFY is the core's). */
imap_cmd_fn imap_cmd_capability, imap_cmd_noop, imap_cmd_logout,
	imap_cmd_starttls, imap_cmd_login, imap_cmd_authenticate, imap_cmd_id,
	imap_cmd_enable, imap_cmd_namespace, imap_cmd_check;
imap_cmd_fn imap_cmd_select, imap_cmd_create, imap_cmd_delete, imap_cmd_rename,
	imap_cmd_subscribe, imap_cmd_list, imap_cmd_status, imap_cmd_getquota,
	imap_cmd_getquotaroot, imap_cmd_setquota, imap_cmd_unselect;
imap_cmd_fn imap_cmd_fetch, imap_cmd_store, imap_cmd_search;
imap_cmd_fn imap_cmd_sort, imap_cmd_thread;
imap_cmd_fn imap_cmd_copy, imap_cmd_expunge, imap_cmd_close;
imap_cmd_fn imap_cmd_append, imap_cmd_idle, imap_cmd_compress;

/* Append our capabilities, as this session may use them now
 * (store_imap_auth.c). */
void imap_capabilities(struct imap_sess *s);
/* SASL responses while mode is IMAP_MODE_SASL (store_imap_auth.c). */
void imap_sasl_line(struct imap_sess *s, const char *line);
/* IDLE's "DONE" line (store_imap_append.c). */
void imap_idle_line(struct imap_sess *s, const char *line);
/* Continue a FETCH once output drained (store_imap_fetch.c); frees it
 * when the session goes. The caller flushes the output. */
void imap_fetch_resume(struct imap_sess *s);
void imap_fetch_free(struct imap_sess *s);
/* NOTIFY MessageNew's "(fetch-att ...)" at args[i] (RFC 5465 5.2):
 * NULL when malformed; rendered as .PEEK, for one message by seq. */
struct imap_fetch *imap_fetch_att_parse(const struct imap_cmd *cmd, size_t i);
void imap_fetch_att_free(struct imap_fetch *f);
void imap_fetch_att_send(
	struct imap_sess *s, struct imap_fetch *f, uint32_t seq);

#endif

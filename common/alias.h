/*
 * NAME
 *	alias - remote alias targets added to an envelope where mail enters
 * DESCRIPTION
 *	The store expands aliases to its own mailboxes, but it cannot send
 *	mail out: the remote targets of an alias (directory.h) are added to
 *	the envelope by the stage that accepts the message (mx, msa), so
 *	they are routed like any other remote recipient. Mail layer.
 */
#ifndef SLUICE_ALIAS_H
#define SLUICE_ALIAS_H

#include <stddef.h>

#include "envelope.h"

struct directory;

/* For every recipient of e that is an alias with remote targets: add the
 * targets (ORCPT the alias's, or rfc822;ALIAS; NOTIFY copied), once each,
 * and drop the alias itself when it has no local target left (the store
 * would expand it to nothing). Added targets are never expanded again.
 * Logs "ID: alias=<a> expanded to=<t>". At most max recipients in all.
 * Returns how many were added, or -1 (out of memory, too many: e keeps
 * what was done so far). */
int alias_expand_remote(struct directory *d, struct envelope *e,
			const char *id, size_t max);

#endif

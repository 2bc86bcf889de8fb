/*
 * NAME
 *	store_quota - the per-user quota check shared by LMTP and APPEND
 * DESCRIPTION
 *	The quota comes from the directory snapshot, the usage from the
 *	folder layer's cache (mbox_usage), so delivery and IMAP agree; the
 *	deliveries staged in the open batch and in the one being committed
 *	count too, so no batch of messages together passes the quota.
 */
#include "store.h"
#include "store_mbox.h"

int store_quota_check(struct store *st, const char *user, long long extra)
{
	long long q = directory_quota(st->users, user);

	if (q <= 0)
		return 0;
	return mbox_usage(st->mbox, user) +
	       maildir_staged_bytes(st->batch, user) +
	       maildir_staged_bytes(st->committing, user) + extra > q;
}

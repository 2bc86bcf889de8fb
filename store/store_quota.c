/*
 * NAME
 *	store_quota - the per-user quota check shared by LMTP and APPEND
 * DESCRIPTION
 *	The quota comes from the directory snapshot, the usage from the
 *	folder layer's cache (mbox_usage), so delivery and IMAP agree.
 */
#include "store.h"
#include "store_mbox.h"

int store_quota_check(struct store *st, const char *user, long long extra)
{
	long long q = directory_quota(st->users, user);

	if (q <= 0)
		return 0;
	return mbox_usage(st->mbox, user) + extra > q;
}

/*
 * NAME
 *	store_dir_sql - the SQL of every directory statement, once
 * DESCRIPTION
 *	The text of each statement of enum dir_q (store_dir.h), written
 *	once for both backends: what differs between SQLite and
 *	PostgreSQL is a macro that the including backend defines first:
 *	  P(n)        parameter n ("?n" or "$n"; always bound, never pasted)
 *	  DATE_OF(c)  column c (seconds since the epoch) as YYYY-MM-DD in
 *	              UTC, 0 as 'never'
 *	  AGG(c)      the values of c in a group, joined by ", "
 *	  BEGIN_TX    a transaction whose reads stay true until it commits
 *	Everything else is SQL both dialects take alike (ON CONFLICT DO
 *	NOTHING needs SQLite 3.24). Included by store_dir_sqlite.c and
 *	store_dir_pg.c only; it defines their table dir_sql.
 */
#ifndef SLUICE_STORE_DIR_SQL_H
#define SLUICE_STORE_DIR_SQL_H

#if !defined(P) || !defined(DATE_OF) || !defined(AGG) || !defined(BEGIN_TX)
#error "the including backend defines P, DATE_OF, AGG and BEGIN_TX first"
#endif

/* address (a column) is in the domain of parameter 1 */
#define IN_DOMAIN                                                        \
	"substr(address, length(address) - length(CAST(" P(1) " AS TEXT)))" \
	" = '@' || CAST(" P(1) " AS TEXT)"
/* a person: address, "first last", kind, quota, expiry, state */
#define PERSON_COLS                                                      \
	"address, trim(coalesce(first, '') || ' ' || coalesce(last, '')),"  \
	" kind, quota, " DATE_OF("expires") ", CASE enabled WHEN 1 THEN"    \
	" 'enabled' ELSE 'disabled' END"

static const char *const dir_sql[DQ_COUNT] = {
	[DQ_DOMAIN_LIST] = "SELECT name FROM domains ORDER BY name",
	[DQ_DOMAIN_COUNT] = "SELECT count(*) FROM domains WHERE name=" P(1),
	[DQ_DOMAIN_USERS] = "SELECT count(*) FROM users WHERE domain=" P(1),
	[DQ_OUR_DOMAIN] = "SELECT (SELECT count(*) FROM domains WHERE name="
		P(1) ") + (SELECT count(*) FROM users WHERE domain=" P(2) ")",
	[DQ_USER_LIST] = "SELECT address, CASE enabled WHEN 1 THEN 'enabled'"
		" ELSE 'disabled' END, quota, " DATE_OF("expires") " FROM users"
		" WHERE domain LIKE " P(1) " ORDER BY address",
	[DQ_USER_SHOW] = "SELECT address, enabled, quota, expires,"
		" CASE WHEN pwhash IS NULL THEN 0 ELSE 1 END FROM users"
		" WHERE address=" P(1),
	[DQ_USER_COUNT] = "SELECT count(*) FROM users WHERE address=" P(1),
	[DQ_TAKEN] = "SELECT (SELECT count(*) FROM users WHERE address=" P(1)
		") + (SELECT count(*) FROM aliases WHERE address=" P(2)
		") + (SELECT count(*) FROM lists WHERE address=" P(3) ")",
	[DQ_ALIAS_LIST] = "SELECT address, " AGG("target") " FROM aliases"
		" GROUP BY address ORDER BY address",
	[DQ_ALIAS_COUNT] = "SELECT count(*) FROM aliases WHERE address=" P(1),
	[DQ_SHARED_COUNT] = "SELECT count(*) FROM shared WHERE address=" P(1),
	[DQ_LIST_LIST] = "SELECT address, " AGG("member") " FROM lists"
		" GROUP BY address ORDER BY address",
	[DQ_LIST_COUNT] = "SELECT count(*) FROM lists WHERE address=" P(1),
	[DQ_LIST_MEMBERS] = "SELECT member, address FROM lists"
		" WHERE address=" P(1) " ORDER BY member",
	[DQ_ADMIN_LIST] = "SELECT domain, admin FROM domain_admins"
		" ORDER BY domain, admin",
	[DQ_IS_ADMIN] = "SELECT count(*) FROM domain_admins"
		" WHERE domain=" P(1) " AND admin=" P(2),
	[DQ_ADMIN_ROWS] = "SELECT count(*) FROM domain_admins"
		" WHERE admin=" P(1),
	[DQ_ADMIN_DOMAINS] = "SELECT domain FROM domain_admins"
		" WHERE admin=" P(1) " AND domain<>'*' ORDER BY domain",
	[DQ_OWNS_LIST] = "SELECT count(*) FROM list_owners"
		" WHERE address=" P(1) " AND owner=" P(2),
	[DQ_OWNED_LISTS] = "SELECT address FROM list_owners"
		" WHERE owner=" P(1) " ORDER BY address",
	[DQ_DOMAIN_PEOPLE] = "SELECT " PERSON_COLS " FROM users"
		" WHERE domain=" P(1) " ORDER BY address",
	[DQ_DOMAIN_ALIASES] = "SELECT address, " AGG("target") " FROM aliases"
		" WHERE " IN_DOMAIN " GROUP BY address ORDER BY address",
	[DQ_DOMAIN_SHARED] = "SELECT address, " AGG("official") " FROM shared"
		" WHERE " IN_DOMAIN " GROUP BY address ORDER BY address",
	[DQ_DOMAIN_LISTS] = "SELECT l.address, (SELECT " AGG("owner")
		" FROM list_owners o WHERE o.address = l.address)"
		" FROM (SELECT DISTINCT address FROM lists WHERE " IN_DOMAIN
		") l ORDER BY 1",
	[DQ_USER_DETAIL] = "SELECT " PERSON_COLS ", CASE WHEN pwhash IS NULL"
		" THEN 'no' ELSE 'yes' END FROM users WHERE address=" P(1),
	[DQ_SENDERS_OF] = "SELECT kind, pattern FROM sender_lists"
		" WHERE address=" P(1) " ORDER BY pattern",
	[DQ_SENDERS_COUNT] = "SELECT count(*) FROM sender_lists"
		" WHERE address=" P(1),
	[DQ_DOMAIN_ADD] = "INSERT INTO domains VALUES(" P(1) ")"
		" ON CONFLICT DO NOTHING",
	[DQ_DOMAIN_DEL] = "DELETE FROM domains WHERE name=" P(1),
	[DQ_USER_ADD] = "INSERT INTO users(address, domain, quota, expires)"
		" VALUES(" P(1) ", " P(2) ", " P(3) ", " P(4) ")",
	[DQ_USER_DEL] = "DELETE FROM users WHERE address=" P(1),
	[DQ_USER_ENABLE] = "UPDATE users SET enabled=1 WHERE address=" P(1),
	[DQ_USER_DISABLE] = "UPDATE users SET enabled=0 WHERE address=" P(1),
	[DQ_USER_QUOTA] = "UPDATE users SET quota=" P(1)
		" WHERE address=" P(2),
	[DQ_USER_EXPIRES] = "UPDATE users SET expires=" P(1)
		" WHERE address=" P(2),
	[DQ_USER_PASSWD] = "UPDATE users SET pwhash=" P(1) ", scram=" P(2)
		" WHERE address=" P(3),
	[DQ_USER_KIND] = "UPDATE users SET kind=" P(1) " WHERE address=" P(2),
	[DQ_USER_NAMES] = "UPDATE users SET first=" P(1) ", last=" P(2)
		" WHERE address=" P(3),
	[DQ_ALIAS_ADD] = "INSERT INTO aliases VALUES(" P(1) ", " P(2) ")"
		" ON CONFLICT DO NOTHING",
	[DQ_ALIAS_DEL] = "DELETE FROM aliases WHERE address=" P(1),
	[DQ_ALIAS_RM] = "DELETE FROM aliases WHERE address=" P(1)
		" AND target=" P(2),
	[DQ_LIST_ADD] = "INSERT INTO lists VALUES(" P(1) ", " P(2) ")"
		" ON CONFLICT DO NOTHING",
	[DQ_LIST_DEL] = "DELETE FROM lists WHERE address=" P(1),
	[DQ_LIST_RM] = "DELETE FROM lists WHERE address=" P(1)
		" AND member=" P(2),
	[DQ_ADMIN_ADD] = "INSERT INTO domain_admins VALUES(" P(1) ", " P(2)
		") ON CONFLICT DO NOTHING",
	[DQ_ADMIN_DEL] = "DELETE FROM domain_admins WHERE domain=" P(1)
		" AND admin=" P(2),
	[DQ_OWNER_ADD] = "INSERT INTO list_owners VALUES(" P(1) ", " P(2)
		") ON CONFLICT DO NOTHING",
	[DQ_OWNER_DEL] = "DELETE FROM list_owners WHERE address=" P(1)
		" AND owner=" P(2),
	[DQ_SHARED_ADD] = "INSERT INTO shared VALUES(" P(1) ", " P(2) ")"
		" ON CONFLICT DO NOTHING",
	/* the WHERE is needed: SQLite's parser takes an ON after a bare
	 * FROM for a join's */
	[DQ_SHARED_FROM_ALIAS] = "INSERT INTO shared SELECT address, target"
		" FROM aliases WHERE address=" P(1) " ON CONFLICT DO NOTHING",
	/* the bound in the statement too: two writers at once cannot
	 * both take the last place (each counts the other's row once it
	 * committed) */
	[DQ_SENDERS_SET] = "INSERT INTO sender_lists(address, pattern, kind)"
		" SELECT " P(1) ", " P(3) ", " P(2) " WHERE (SELECT count(*)"
		" FROM sender_lists WHERE address=" P(1) " AND pattern<>" P(3)
		") < CAST(" P(4) " AS INTEGER) ON CONFLICT(address, pattern)"
		" DO UPDATE SET kind=excluded.kind",
	[DQ_SENDERS_RM] = "DELETE FROM sender_lists WHERE address=" P(1)
		" AND pattern=" P(2),
	[DQ_SENDERS_DEL_USER] = "DELETE FROM sender_lists WHERE address="
		P(1),
	[DQ_BEGIN] = BEGIN_TX,
	[DQ_COMMIT] = "COMMIT",
	[DQ_ROLLBACK] = "ROLLBACK",
	[DQ_EXPORT_USERS] = "SELECT address, expires, enabled, quota"
		" FROM users ORDER BY address",
	[DQ_EXPORT_DOMAINS] = "SELECT name FROM domains UNION"
		" SELECT domain FROM users",
	[DQ_EXPORT_GROUPS] = "SELECT address, target, CASE WHEN target IN"
		" (SELECT address FROM users) THEN 1 ELSE 0 END FROM aliases"
		" UNION ALL SELECT address, member, 1 FROM lists ORDER BY 1",
	[DQ_EXPORT_AUTH] = "SELECT address, pwhash, scram, expires, enabled"
		" FROM users WHERE pwhash IS NOT NULL ORDER BY address",
	[DQ_EXPORT_SHARED] = "SELECT address, official FROM shared"
		" WHERE official IN (SELECT address FROM users)"
		" ORDER BY 1, 2",
	[DQ_EXPORT_SENDERS] = "SELECT address, kind, pattern FROM sender_lists"
		" WHERE address IN (SELECT address FROM users) ORDER BY 1, 3",
};

#endif

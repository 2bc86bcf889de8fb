/*
 * NAME
 *	admin_stats - what the statistics pages read from stats.db
 * DESCRIPTION
 *	Table stats(period "hour"|"day", slot "YYYY-MM-DD HH:00"|"YYYY-MM-
 *	DD", stage, metric with its labels, value, gauge 0|1).
 */
#ifndef SLUICE_ADMIN_STATS_H
#define SLUICE_ADMIN_STATS_H

struct admin_stats;

/* Run sql with text parameters p (NULL-terminated); each row's columns
 * as text to row. 0 or -1. */
int admin_stats_query(struct admin_stats *st, const char *sql,
		      const char *const *p,
		      void (*row)(int n, const char *const *col, void *arg),
		      void *arg);

#endif

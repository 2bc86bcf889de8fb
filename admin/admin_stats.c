/*
 * NAME
 *	admin_stats - statistics (placeholder until the collector lands)
 */
#include <stdlib.h>

#include "admin.h"
#include "admin_int.h"

struct admin_stats {
	int unused;
};

struct admin_stats *admin_stats_open(const char *path, char *err,
				     size_t errlen)
{
	return calloc(1, sizeof(struct admin_stats));
}

void admin_stats_close(struct admin_stats *st)
{
	free(st);
}

void admin_stats_collect(struct admin *a)
{
}

void admin_stats_page(struct admin *a, struct admin_req *r,
		      struct admin_sess *s, struct admin_resp *o)
{
	admin_page_start(&o->body, "Statistics", s);
	admin_page_end(&o->body);
}

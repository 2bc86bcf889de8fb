/*
 * NAME
 *	avscan_milter - placeholder
 */
#include "avscan.h"
#include "log.h"

int avscan_milter_run(const struct avscan_config *cfg,
		      const struct avscan_engine *e)
{
	log_error("milter mode: not yet");
	return 1;
}

/*
 * NAME
 *	spamd_milter - sluice-spamd -m: the scoring core as a milter
 * DESCRIPTION
 *	Placeholder until the libmilter mode lands.
 */
#include "log.h"
#include "spamd_stage.h"

int spamd_milter_run(struct spamd *sd)
{
	log_error("milter mode is not built yet");
	return 1;
}

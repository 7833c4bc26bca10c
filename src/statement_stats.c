/*-------------------------------------------------------------------------
 *
 * statement_stats.c
 *		Recorder: per normalized statement statistics (issue: per-statement statistics).
 *
 *		Placeholder entry points until the recorder lands: it requests no
 *		shared memory and ignores samples.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "observa.h"
#include "store.h"

void
obs_statement_stats_init(void)
{
}

Size
obs_statement_stats_shmem_size(void)
{
	return 0;
}

void
obs_statement_stats_shmem_startup(void)
{
}

void
obs_statement_stats_record(const ObsSample *sample)
{
}

void
obs_statement_stats_info(ObsInfoSink *sink)
{
}

TimestampTz
obs_statement_stats_reset(void)
{
	return 0;
}

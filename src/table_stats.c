/*-------------------------------------------------------------------------
 *
 * table_stats.c
 *		Recorder: per (database, operation, table) statistics (issue: timing per operation and table).
 *
 *		Placeholder entry points until the recorder lands: it requests no
 *		shared memory and ignores samples.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "observa.h"

void
obs_table_stats_init(void)
{
}

Size
obs_table_stats_shmem_size(void)
{
	return 0;
}

void
obs_table_stats_shmem_startup(void)
{
}

void
obs_table_stats_record(const ObsSample *sample)
{
}

void
obs_table_stats_info(ObsInfoSink *sink)
{
}

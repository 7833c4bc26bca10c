/*-------------------------------------------------------------------------
 *
 * tenant_stats.c
 *		Recorder: per-tenant statistics (issue: per-tenant statistics).
 *
 *		Placeholder entry points until the recorder lands: it requests no
 *		shared memory and ignores samples.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "observa.h"

void
obs_tenant_stats_init(void)
{
}

Size
obs_tenant_stats_shmem_size(void)
{
	return 0;
}

void
obs_tenant_stats_shmem_startup(void)
{
}

void
obs_tenant_stats_record(const ObsSample *sample)
{
}

void
obs_tenant_stats_info(ObsInfoSink *sink)
{
}

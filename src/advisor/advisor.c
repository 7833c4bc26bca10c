/*-------------------------------------------------------------------------
 *
 * advisor.c
 *		Recorder: workload capture for the index advisor (issue: index advisor).
 *
 *		Placeholder entry points until the recorder lands: it requests no
 *		shared memory and ignores samples.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "../observa.h"

void
obs_advisor_init(void)
{
}

Size
obs_advisor_shmem_size(void)
{
	return 0;
}

void
obs_advisor_shmem_startup(void)
{
}

void
obs_advisor_executor_start(QueryDesc *queryDesc, int eflags)
{
}

void
obs_advisor_record(const ObsSample *sample)
{
}

void
obs_advisor_info(ObsInfoSink *sink)
{
}

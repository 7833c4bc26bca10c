/*-------------------------------------------------------------------------
 *
 * slow_ring.c
 *		Recorder: shared-memory rings of slow statements (issue: slow-query rings).
 *
 *		Placeholder entry points until the recorder lands: it requests no
 *		shared memory and ignores samples.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "observa.h"

void
obs_slow_ring_init(void)
{
}

Size
obs_slow_ring_shmem_size(void)
{
	return 0;
}

void
obs_slow_ring_shmem_startup(void)
{
}

void
obs_slow_ring_executor_start(QueryDesc *queryDesc, int eflags)
{
}

void
obs_slow_ring_record(const ObsSample *sample)
{
}

void
obs_slow_ring_info(ObsInfoSink *sink)
{
}

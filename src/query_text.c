/*-------------------------------------------------------------------------
 *
 * query_text.c
 *		Recorder: normalized statement texts in bounded storage (issue: per-statement statistics).
 *
 *		Placeholder entry points until the recorder lands: it requests no
 *		shared memory and ignores samples.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "observa.h"
#include "query_text.h"

void
obs_query_text_init(void)
{
}

Size
obs_query_text_shmem_size(void)
{
	return 0;
}

void
obs_query_text_shmem_startup(void)
{
}

void
obs_query_text_record(const ObsSample *sample)
{
}

void
obs_query_text_info(ObsInfoSink *sink)
{
}

char *
obs_query_text_get(Oid dbid, uint64 queryid, bool *truncated)
{
	*truncated = false;
	return NULL;
}

void
obs_query_text_release(Oid dbid, uint64 queryid)
{
}

void
obs_query_text_reset(void)
{
}

/*-------------------------------------------------------------------------
 *
 * observa.c
 *		Module entry: _PG_init, shared-memory request and start-up, and the
 *		SQL functions that concern every room (observa.info, observa.reset,
 *		observa.version).  It walks the room table (rooms.c) and names no
 *		room.
 *
 * Shared memory and hooks exist only when the library is loaded through
 * shared_preload_libraries.  Loaded any other way (CREATE EXTENSION in a
 * server without the preload, or LOAD), the SQL functions still exist but
 * each one raises ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE with a hint
 * naming shared_preload_libraries (obs_require_preload, core.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "core.h"
#include "hooks.h"
#include "persist.h"
#include "rooms.h"
#include "store.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void obs_shmem_request(void);
static void obs_shmem_startup(void);

/*
 * Module load callback.
 */
void
_PG_init(void)
{
	int			i;

	/*
	 * Outside shared_preload_libraries we install nothing: no GUCs that
	 * would pretend to work, no hooks, no shared memory.  The SQL functions
	 * then refuse with a hint (obs_require_preload).
	 */
	if (!process_shared_preload_libraries_in_progress)
		return;

	obs_core_init();
	obs_persist_init();
	obs_store_init();
	obs_hooks_init();
	for (i = 0; i < obs_nrooms; i++)
		obs_rooms[i].init();

	MarkGUCPrefixReserved("observa");

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = obs_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = obs_shmem_startup;
}

/*
 * Total shared memory of every room; also reported by observa.info.
 */
static Size
obs_shmem_size(void)
{
	Size		size = obs_core_shmem_size();
	int			i;

	for (i = 0; i < obs_nrooms; i++)
		size = add_size(size, obs_rooms[i].shmem_size());
	return size;
}

static void
obs_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();

	RequestAddinShmemSpace(obs_shmem_size());
	/* rooms request their named LWLock tranches from their _init */
}

static void
obs_shmem_startup(void)
{
	int			i;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	obs_core_shmem_startup();
	for (i = 0; i < obs_nrooms; i++)
		obs_rooms[i].shmem_startup();
	LWLockRelease(AddinShmemInitLock);

	obs_shmem_ready = true;
}

/*
 * observa.info(): key/value rows describing every room's state.  The rows
 * every room has (shared_memory_bytes, the lock counters) are written
 * here, so that they are named alike everywhere.
 */
#define INFO_COLS 4

static Datum
info_internal(FunctionCallInfo fcinfo, ObsApiVersion api)
{
	ReturnSetInfo *rsinfo;
	ObsInfoSink sink;
	int			i;

	(void) api;					/* the shape is the same in 1.0 and 1.1 */
	obs_require_preload();

	rsinfo = obs_init_srf(fcinfo, INFO_COLS);
	sink.tupstore = rsinfo->setResult;
	sink.tupdesc = rsinfo->setDesc;

	obs_lock_counts_publish();
	obs_core_info(&sink);
	obs_info_add_int(&sink, "core", "shared_memory_bytes",
					 (int64) obs_shmem_size(),
					 "shared memory requested by all of observa");
	for (i = 0; i < obs_nrooms; i++)
	{
		const char *room = obs_rooms[i].name;

		/* a store room flushes this backend's pending data (and counts) */
		obs_rooms[i].info(&sink);
		obs_info_add_int(&sink, room, "shared_memory_bytes",
						 (int64) obs_rooms[i].shmem_size(),
						 "shared memory this room asked for");
		obs_lock_counts_publish();
		obs_lock_counts_info(&sink, room);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(observa_info);
PG_FUNCTION_INFO_V1(observa_info_1_1);

Datum
observa_info(PG_FUNCTION_ARGS)
{
	return info_internal(fcinfo, OBS_API_1_0);
}

Datum
observa_info_1_1(PG_FUNCTION_ARGS)
{
	return info_internal(fcinfo, OBS_API_1_1);
}

/*
 * observa.reset(): forget every statistic of the rooms that reset with it
 * (table and statement statistics, query texts, tenant statistics: those
 * with a reset in the room table); returns the reset time.  The slow-query
 * ring and the advisor's captured workload have resets of their own.
 */
PG_FUNCTION_INFO_V1(observa_reset);

Datum
observa_reset(PG_FUNCTION_ARGS)
{
	TimestampTz now;
	int			i;

	obs_require_preload();
	now = GetCurrentTimestamp();
	for (i = 0; i < obs_nrooms; i++)
	{
		if (obs_rooms[i].reset)
			obs_rooms[i].reset(now);
	}
	PG_RETURN_TIMESTAMPTZ(now);
}

/*
 * observa.version(): the library's version (checked against the SQL's).
 */
PG_FUNCTION_INFO_V1(observa_version);

Datum
observa_version(PG_FUNCTION_ARGS)
{
	obs_require_preload();
	PG_RETURN_TEXT_P(cstring_to_text(OBSERVA_VERSION));
}

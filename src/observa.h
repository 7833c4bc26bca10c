/*-------------------------------------------------------------------------
 *
 * observa.h
 *		Declarations shared by observa's subsystems.
 *
 * observa is split into subsystems ("rooms", see docs/architecture.md):
 * each owns its GUCs, its shared memory and its SQL functions, and exports
 * four entry points that observa.c calls:
 *
 *	  obs_<room>_init()				define GUCs (from _PG_init)
 *	  obs_<room>_shmem_size()		shared memory it needs (request hook)
 *	  obs_<room>_shmem_startup()	attach/initialise it (startup hook,
 *									called with AddinShmemInitLock held)
 *	  obs_<room>_record(sample)		consume one statement sample
 *
 * plus obs_<room>_info() feeding rows of the observa.info view.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OBSERVA_H
#define OBSERVA_H

#include "postgres.h"

#include "compat.h"
#include "fmgr.h"
#include "sample.h"
#include "utils/tuplestore.h"

#ifndef OBSERVA_VERSION
#define OBSERVA_VERSION "unknown"
#endif

/* true once our shared memory exists in this process (preloaded library) */
extern bool obs_shmem_ready;

/*
 * SQL-callable functions call this first: it raises a clear error with a
 * HINT naming shared_preload_libraries when observa was not preloaded.
 */
extern void obs_require_preload(void);

/*
 * Versions of the SQL API a C entry point can serve.  The library keeps
 * serving the SQL of every older extension version until ALTER EXTENSION
 * observa UPDATE runs: a column-returning function whose shape changed
 * gets a new entry point observa_<name>_<major>_<minor>, the old symbol
 * stays, and both call one body that is told the API version.
 */
typedef enum ObsApiVersion
{
	OBS_API_1_0,
	OBS_API_1_1
} ObsApiVersion;

/*
 * Start a materialized set-returning function (InitMaterializedSRF) and
 * check that the calling SQL declaration returns expected_cols columns;
 * raise a clear error naming the function otherwise.  Returns the
 * ReturnSetInfo whose setResult/setDesc receive the rows.
 */
extern ReturnSetInfo *obs_init_srf(FunctionCallInfo fcinfo, int expected_cols);

/*
 * The same check for a function returning one row (a composite result):
 * call it before doing any work.
 */
extern void obs_check_result_columns(FunctionCallInfo fcinfo, int expected_cols);

/*
 * Rows of the observa.info view: section, name, value, description.
 * Subsystems call obs_info_add() from their obs_<room>_info().
 */
typedef struct ObsInfoSink
{
	Tuplestorestate *tupstore;
	TupleDesc	tupdesc;
} ObsInfoSink;

extern void obs_info_add(ObsInfoSink *sink, const char *section,
						 const char *name, const char *value,
						 const char *description);
extern void obs_info_add_int(ObsInfoSink *sink, const char *section,
							 const char *name, int64 value,
							 const char *description);

/* hooks.c */
extern void obs_hooks_init(void);
extern int	obs_nesting_level(void);
extern bool obs_would_track(int level, bool utility);

/* Per-room entry points (see the header comment). */
#define OBS_DECLARE_ROOM(room) \
	extern void obs_##room##_init(void); \
	extern Size obs_##room##_shmem_size(void); \
	extern void obs_##room##_shmem_startup(void); \
	extern void obs_##room##_record(const ObsSample *sample); \
	extern void obs_##room##_info(ObsInfoSink *sink)

/*
 * Called by the ExecutorStart hook, before the executor starts, for
 * tracked statements only: a room may ask for instrumentation here
 * (queryDesc->instrument_options) for the statements it will inspect.
 */
extern void obs_slow_ring_executor_start(QueryDesc *queryDesc, int eflags);
extern void obs_advisor_executor_start(QueryDesc *queryDesc, int eflags);

OBS_DECLARE_ROOM(table_stats);
OBS_DECLARE_ROOM(statement_stats);
OBS_DECLARE_ROOM(query_text);
OBS_DECLARE_ROOM(slow_ring);
OBS_DECLARE_ROOM(advisor);
OBS_DECLARE_ROOM(tenant_stats);

#endif							/* OBSERVA_H */

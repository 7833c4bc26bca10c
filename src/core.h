/*-------------------------------------------------------------------------
 *
 * core.h
 *		observa's base layer: what every room needs and that knows no room.
 *		See core.c and docs/architecture.md ("Layers").
 *
 *	  - the preload gate (obs_shmem_ready, obs_require_preload);
 *	  - the observa.info sink and its naming scheme;
 *	  - tracking and nesting state (observa.track, observa.track_utility,
 *	    the executor/utility nesting level);
 *	  - the observa.tenant_columns setting (tenant_columns.h);
 *	  - SQL argument helpers (float8[] arrays, intervals, the result
 *	    column count of versioned entry points);
 *	  - backend-local counts of observa's own lock acquisitions.
 *
 * Nothing here calls up into a room, the store, the hooks or observa.c:
 * test/t/003_layers.pl fails when it does.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OBSERVA_CORE_H
#define OBSERVA_CORE_H

#include "postgres.h"

#include "compat.h"
#include "fmgr.h"
#include "funcapi.h"
#include "storage/lwlock.h"
#include "storage/spin.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#ifndef OBSERVA_VERSION
#define OBSERVA_VERSION "unknown"
#endif

/* ----------------------------------------------------------------
 * preload gate
 * ---------------------------------------------------------------- */

/* true once our shared memory exists in this process (preloaded library) */
extern bool obs_shmem_ready;

/*
 * SQL-callable functions call this first: it raises 55000 with a HINT
 * naming shared_preload_libraries when observa was not preloaded.
 */
extern void obs_require_preload(void);

/* core settings (observa.track, .track_utility, .tenant_columns) */
extern void obs_core_init(void);

/* ----------------------------------------------------------------
 * observa.info sink
 *
 * One row per (section, name).  The section is the room's name as the room
 * table spells it (table_stats, statement_stats, query_text, slow_queries,
 * advisor, tenant_stats) or "core".  Names are lower-case snake_case and
 * mean the same thing in every section:
 *
 *	  shared_memory_bytes	bytes the room asked for (written by observa.c
 *							from the room table, never by the room)
 *	  capacity, entries		the room's bound and what it holds now
 *	  evictions				entries dropped to make room since stats_reset
 *	  stats_reset			time of the room's last reset (or of the start)
 *	  persistence			what start-up did with the room's saved file
 *	  window, windows		time-window length ("60 s") and count
 *	  lwlock_shared_acquisitions, lwlock_exclusive_acquisitions,
 *	  spinlock_acquisitions	observa's own lock acquisitions (see below)
 * ---------------------------------------------------------------- */

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
extern void obs_info_add_time(ObsInfoSink *sink, const char *section,
							  const char *name, TimestampTz value,
							  const char *description);

/* ----------------------------------------------------------------
 * tracking and nesting
 * ---------------------------------------------------------------- */

/* current executor/utility nesting depth; only hooks.c changes it */
extern int	obs_nesting_depth;

static inline int
obs_nesting_level(void)
{
	return obs_nesting_depth;
}

/*
 * Is a statement at this nesting level timed (observa.track)?  Parallel
 * workers never are: the leader's sample covers the statement.
 */
extern bool obs_track_level(int level);

/* the same, for a utility statement when utility is true */
extern bool obs_would_track(int level, bool utility);

/* ----------------------------------------------------------------
 * SQL argument helpers
 * ---------------------------------------------------------------- */

/* what a float8[] argument holds (messages and checks differ) */
#define OBS_ARRAY_BOUNDS		0	/* ms, >= 0, +Infinity allowed */
#define OBS_ARRAY_QUANTILES		1	/* in [0, 1] */
#define OBS_ARRAY_DURATIONS		2	/* ms, >= 0, finite */

/*
 * Validate and read a float8[] argument of that kind (one dimension, not
 * empty, no NULL element, no NaN).  Raises 22004 for NULLs, 22023
 * otherwise.
 */
extern double *obs_float8_array_arg(FunctionCallInfo fcinfo, int argno,
									const char *argname, int kind, int *n);

/* microseconds of an interval (22023 unless > 0) */
extern int64 obs_interval_us(Datum interval);

/*
 * The optional "since interval" argument of fname: -1 without it, else its
 * length in microseconds (22004 when NULL, 22023 unless > 0).
 */
extern int64 obs_since_arg(FunctionCallInfo fcinfo, int argno,
						   const char *fname);

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
 * raise a clear error (42804) naming the function otherwise.  Returns the
 * ReturnSetInfo whose setResult/setDesc receive the rows.
 */
extern ReturnSetInfo *obs_init_srf(FunctionCallInfo fcinfo, int expected_cols);

/*
 * The same check for a function returning one row (a composite result):
 * call it before doing any work.
 */
extern void obs_check_result_columns(FunctionCallInfo fcinfo, int expected_cols);

/* ----------------------------------------------------------------
 * lock counters
 *
 * Every LWLock and spinlock acquisition observa makes is counted in a
 * backend-local array (no shared write), per counter registered by a room
 * or store under its observa.info section.  obs_lock_counts_publish() adds
 * the local counts to shared totals; the store calls it when it flushes,
 * and a backend calls it at exit and before it reads observa.info.  With
 * obs_statements_recorded (samples the hooks dispatched) the totals say how
 * many acquisitions a statement costs.
 * ---------------------------------------------------------------- */

#define OBS_MAX_LOCK_COUNTERS	16

typedef enum ObsLockKind
{
	OBS_LOCK_SHARED = 0,		/* LWLock, LW_SHARED */
	OBS_LOCK_EXCLUSIVE,			/* LWLock, LW_EXCLUSIVE */
	OBS_LOCK_SPIN,				/* spinlock */
	OBS_LOCK_KINDS
} ObsLockKind;

extern uint64 obs_lock_local[OBS_MAX_LOCK_COUNTERS][OBS_LOCK_KINDS];
extern uint64 obs_statements_local;

/*
 * A counter id for section (the same id for the same name); call from
 * _PG_init or shared-memory start-up in the postmaster.  Returns the last
 * slot (shared by everything past the limit) when all are taken.
 */
extern int	obs_lock_counter(const char *section);

#define OBS_COUNT_LOCK(id, kind)	(obs_lock_local[(id)][(kind)]++)
#define OBS_COUNT_LWLOCK(id, mode) \
	OBS_COUNT_LOCK((id), (mode) == LW_EXCLUSIVE ? OBS_LOCK_EXCLUSIVE : OBS_LOCK_SHARED)
#define OBS_COUNT_SPIN(id)			OBS_COUNT_LOCK((id), OBS_LOCK_SPIN)
#define OBS_COUNT_STATEMENT()		(obs_statements_local++)

/* acquire and count in one step */
#define OBS_LWLOCK_ACQUIRE(id, lock, mode) \
	(OBS_COUNT_LWLOCK((id), (mode)), LWLockAcquire((lock), (mode)))
#define OBS_SPIN_ACQUIRE(id, lock) \
	do { OBS_COUNT_SPIN(id); SpinLockAcquire(lock); } while (0)

/* publish the local counts (no lock: atomic adds); harmless when none */
extern void obs_lock_counts_publish(void);

/* shared memory of the published totals (observa.c requests it) */
extern Size obs_core_shmem_size(void);
extern void obs_core_shmem_startup(void);

/* rows of the counters of one section / of the core section */
extern void obs_lock_counts_info(ObsInfoSink *sink, const char *section);
extern void obs_core_info(ObsInfoSink *sink);

#endif							/* OBSERVA_CORE_H */

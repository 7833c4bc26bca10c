/*-------------------------------------------------------------------------
 *
 * compat.h
 *		Version shims.  Call sites are written against the newest server API
 *		(PostgreSQL 18); the wrappers below bridge older server versions, so
 *		no #if appears anywhere else in observa and porting means editing
 *		this file only.
 *
 * What is checked: observa is built and tested against PostgreSQL 15 only.
 * The branches for 16, 17 and 18 follow those releases' headers (the
 * changes listed below) but no build against them has checked them yet.
 *
 *	  16  utils/queryjumble.h moved to nodes/queryjumble.h; a utility
 *		  statement's query id is jumbled from its parse tree, no longer a
 *		  hash of its text;
 *		  pg_class_ownercheck() was replaced by object_ownercheck()
 *	  17  BufferUsage's blk_read_time / blk_write_time became shared_ and
 *		  local_blk_read_time / _write_time
 *	  18  the ExecutorRun hook, standard_ExecutorRun() and PortalRun() lost
 *		  their execute_once / run_once argument; NewExplainState() moved
 *		  to commands/explain_state.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef OBSERVA_COMPAT_H
#define OBSERVA_COMPAT_H

#include "postgres.h"

#if PG_VERSION_NUM < 150000
#error "observa requires PostgreSQL 15 or later"
#endif

#include "catalog/pg_class.h"
#include "executor/executor.h"
#include "executor/instrument.h"
#include "tcop/pquery.h"
#include "utils/acl.h"
#include "utils/guc.h"

/* ---- query jumbling (queryid): the header's location ---- */
#if PG_VERSION_NUM >= 160000
#include "nodes/queryjumble.h"
#else
#include "utils/queryjumble.h"
#endif

/* ---- NewExplainState(): its header ---- */
#if PG_VERSION_NUM >= 180000
#include "commands/explain_state.h"
#else
#include "commands/explain.h"
#endif

/*
 * ---- the query id core gives a utility statement ----
 *
 * For when another extension cleared pstmt->queryId before observa's
 * utility hook ran (pg_stat_statements does when it runs outside observa's
 * hooks).  15: the hash of the statement's text, as queryjumble.c computes
 * it; 16+: jumbled from a Query observa does not have, so 0 (unknown).
 */
#if PG_VERSION_NUM < 160000
#include "common/hashfn.h"
#endif
static inline uint64
obs_core_utility_queryid(const char *source, int location, int len)
{
#if PG_VERSION_NUM < 160000
	const char *sql;
	uint64		id;

	if (source == NULL)
		return UINT64CONST(0);
	sql = CleanQuerytext(source, &location, &len);
	id = hash_bytes_extended((const unsigned char *) sql, len, 0);
	return id != UINT64CONST(0) ? id : UINT64CONST(2);
#else
	return UINT64CONST(0);
#endif
}

/* ---- object_ownercheck(classid, objectid, roleid) (16+) ---- */
#if PG_VERSION_NUM < 160000
static inline bool
object_ownercheck(Oid classid, Oid objectid, Oid roleid)
{
	switch (classid)
	{
		case RelationRelationId:
			return pg_class_ownercheck(objectid, roleid);
		default:
			elog(ERROR, "observa: object_ownercheck() shim does not handle class %u",
				 classid);
			return false;		/* keep the compiler quiet */
	}
}
#endif

/* ---- PortalRun() without run_once (18+) ---- */
#if PG_VERSION_NUM < 180000
/* a function-like macro is not expanded again inside its own expansion */
#define PortalRun(portal, count, isTopLevel, dest, altdest, qc) \
	PortalRun((portal), (count), (isTopLevel), true, (dest), (altdest), (qc))
#endif

/*
 * ---- the ExecutorRun hook without execute_once (18+) ----
 *
 * observa's hook has the 18 signature (queryDesc, direction, count).  Use:
 *
 *	  static void obs_ExecutorRun(QueryDesc *, ScanDirection, uint64);
 *	  OBS_EXECUTOR_RUN_WRAPPER(obs_ExecutorRun)
 *	  ...
 *	  ExecutorRun_hook = OBS_EXECUTOR_RUN_HOOK(obs_ExecutorRun);
 *	  ...
 *	  obs_call_ExecutorRun(prev_ExecutorRun, queryDesc, direction, count);
 *
 * Before 18 the wrapper is what is installed: it keeps execute_once in a
 * backend-local variable for the call obs_call_ExecutorRun() passes down
 * (made before any statement nested in this one can run, so nesting cannot
 * change it in between).
 */
#if PG_VERSION_NUM >= 180000
#define OBS_EXECUTOR_RUN_WRAPPER(fn)
#define OBS_EXECUTOR_RUN_HOOK(fn) (fn)
#define obs_call_ExecutorRun(prev, queryDesc, direction, count) \
	((prev) ? (prev) ((queryDesc), (direction), (count)) \
	 : standard_ExecutorRun((queryDesc), (direction), (count)))
#else
static bool obs_execute_once pg_attribute_unused() = true;

#define OBS_EXECUTOR_RUN_WRAPPER(fn) \
static void \
fn##_before_18(QueryDesc *queryDesc, ScanDirection direction, uint64 count, \
			   bool execute_once) \
{ \
	obs_execute_once = execute_once; \
	fn(queryDesc, direction, count); \
}
#define OBS_EXECUTOR_RUN_HOOK(fn) (fn##_before_18)
#define obs_call_ExecutorRun(prev, queryDesc, direction, count) \
	((prev) ? (prev) ((queryDesc), (direction), (count), obs_execute_once) \
	 : standard_ExecutorRun((queryDesc), (direction), (count), obs_execute_once))
#endif

/* ---- block read/write time of a BufferUsage in ms (17 split it) ---- */
static inline double
obs_bufusage_read_ms(const BufferUsage *b)
{
#if PG_VERSION_NUM >= 170000
	return INSTR_TIME_GET_MILLISEC(b->shared_blk_read_time) +
		INSTR_TIME_GET_MILLISEC(b->local_blk_read_time);
#else
	return INSTR_TIME_GET_MILLISEC(b->blk_read_time);
#endif
}

static inline double
obs_bufusage_write_ms(const BufferUsage *b)
{
#if PG_VERSION_NUM >= 170000
	return INSTR_TIME_GET_MILLISEC(b->shared_blk_write_time) +
		INSTR_TIME_GET_MILLISEC(b->local_blk_write_time);
#else
	return INSTR_TIME_GET_MILLISEC(b->blk_write_time);
#endif
}

#endif							/* OBSERVA_COMPAT_H */

/*-------------------------------------------------------------------------
 *
 * hooks.c
 *		Executor and utility hooks: time each tracked statement, build its
 *		statement sample (sample.h) when it ends, normally or with an error,
 *		and hand the sample to every recorder of the room table (rooms.h).
 *		This file names no room.
 *
 * Timing: a statement's duration is the wall time from the start of
 * ExecutorStart to the end of ExecutorFinish, or inside ProcessUtility for
 * utility statements, read with two clock reads in the common case (the
 * hot-path budget, docs/performance.md).  The time a client may spend
 * between calls is left out by closing the timed segment wherever control
 * can go back to the client:
 *	- a statement that returns rows through a portal (a SELECT without a
 *	  data-modifying WITH) may be fetched in pieces: its segment ends when
 *	  ExecutorRun returns, each later ExecutorRun is timed on its own, and
 *	  its ExecutorFinish (which has nothing to do for such a statement) is
 *	  not timed;
 *	- any ExecutorRun that stopped at its row count (a partial fetch) ends
 *	  the segment too;
 *	- every other statement (INSERT, UPDATE, DELETE, MERGE, data-modifying
 *	  WITH) runs Start, Run and Finish back to back, timed as one segment.
 * So a SELECT reads the clock at ExecutorStart and when ExecutorRun
 * returns, a DML statement at ExecutorStart and when ExecutorFinish
 * returns.  In the extended protocol, a client that waits between Bind and
 * Execute has that wait counted.
 *
 * Per-statement state lives in the statement's es_query_cxt, linked into a
 * backend-local list.  A memory-context callback unlinks it when the
 * executor state goes away, so a statement that never reaches ExecutorEnd
 * (an error, a cursor dropped at abort) cannot leave a dangling entry.
 *
 * Errors: ExecutorStart/Run/Finish and ProcessUtility run inside PG_TRY;
 * PG_CATCH records a failed sample with the time run so far and the
 * SQLSTATE (cancels and timeouts included), then re-throws.  Each
 * statement is recorded at most once.
 *
 * Sandbox: while sandbox.c runs another role's code (obs_sandbox_depth >
 * 0), the utility hook refuses every utility statement; one backend-local
 * integer test per utility statement.
 *
 * Nesting: obs_nesting_depth (core.c) counts executor and utility levels
 * as pg_stat_statements does; observa.track (core.c) decides which levels
 * are timed.  EXECUTE and PREPARE are not themselves timed (the executed
 * statement is), and do not add a level.  DEALLOCATE is timed, as in
 * pg_stat_statements 16.
 *
 * Utility statements that differ only in a name or a constant (SAVEPOINT,
 * FETCH, SET, ...) are recorded under observa's own query id
 * (utility_id.h); the PlannedStmt's queryId is left alone.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "tcop/utility.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "core.h"
#include "hooks.h"
#include "relations.h"
#include "rooms.h"
#include "sandbox.h"
#include "utility_id.h"

/* timing state of one executor statement */
typedef struct ObsQueryState
{
	QueryDesc  *query_desc;
	struct ObsQueryState *next;
	instr_time	elapsed;		/* accumulated over the timed segments */
	instr_time	seg_start;		/* start of the open segment */
	bool		seg_open;		/* a segment is being timed */
	bool		returns_rows;	/* fetched through a portal: see above */
	int			level;			/* nesting level at ExecutorStart */
	bool		linked;			/* still in active_queries */
	bool		recorded;		/* sample already emitted */
	MemoryContextCallback cb;
} ObsQueryState;

static ObsQueryState *active_queries = NULL;

static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static void obs_ExecutorStart(QueryDesc *queryDesc, int eflags);
static void obs_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction,
							uint64 count);
OBS_EXECUTOR_RUN_WRAPPER(obs_ExecutorRun)
static void obs_ExecutorFinish(QueryDesc *queryDesc);
static void obs_ExecutorEnd(QueryDesc *queryDesc);
static void obs_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
							   bool readOnlyTree,
							   ProcessUtilityContext context,
							   ParamListInfo params,
							   QueryEnvironment *queryEnv,
							   DestReceiver *dest, QueryCompletion *qc);

#define obs_enabled(level) obs_track_level(level)

/* utility statements timed as such (the executed statement is timed instead) */
#define OBS_TIMED_UTILITY(n) \
	(!IsA(n, ExecuteStmt) && !IsA(n, PrepareStmt))

void
obs_hooks_init(void)
{
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = obs_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = OBS_EXECUTOR_RUN_HOOK(obs_ExecutorRun);
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = obs_ExecutorFinish;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = obs_ExecutorEnd;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = obs_ProcessUtility;
}

/* hand a finished sample to every recorder */
static void
obs_dispatch(const ObsSample *sample)
{
	int			i;

	OBS_COUNT_STATEMENT();
	for (i = 0; i < obs_nrooms; i++)
	{
		if (obs_rooms[i].record)
			obs_rooms[i].record(sample);
	}
}

static void
unlink_state(ObsQueryState *state)
{
	ObsQueryState **p;

	if (!state->linked)
		return;
	for (p = &active_queries; *p != NULL; p = &(*p)->next)
	{
		if (*p == state)
		{
			*p = state->next;
			break;
		}
	}
	state->linked = false;
}

/* memory-context callback: the executor state is going away */
static void
state_reset_callback(void *arg)
{
	unlink_state((ObsQueryState *) arg);
}

static ObsQueryState *
find_state(QueryDesc *queryDesc)
{
	ObsQueryState *s;

	for (s = active_queries; s != NULL; s = s->next)
	{
		if (s->query_desc == queryDesc)
			return s;
	}
	return NULL;
}

/* add the time since 'start' to the statement's elapsed time */
static inline void
accumulate(ObsQueryState *state, instr_time start)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, start);
	INSTR_TIME_ADD(state->elapsed, now);
}

/* open a timed segment unless one is open (one clock read) */
static inline void
segment_open(ObsQueryState *state)
{
	if (!state->seg_open)
	{
		INSTR_TIME_SET_CURRENT(state->seg_start);
		state->seg_open = true;
	}
}

/* close the open segment, if any (one clock read) */
static inline void
segment_close(ObsQueryState *state)
{
	if (state->seg_open)
	{
		accumulate(state, state->seg_start);
		state->seg_open = false;
	}
}

/*
 * Does the statement hand its rows to a portal that a client may fetch in
 * pieces (and then have nothing left for ExecutorFinish)?  Statements that
 * modify data run to completion before the client hears of them.
 */
static inline bool
returns_rows_through_portal(QueryDesc *queryDesc)
{
	return queryDesc->operation == CMD_SELECT &&
		!queryDesc->plannedstmt->hasModifyingCTE;
}

/* build and dispatch the sample of an executor statement */
static void
record_query(ObsQueryState *state, QueryDesc *queryDesc, bool failed)
{
	ObsSample	sample;

	if (state->recorded)
		return;
	state->recorded = true;

	memset(&sample, 0, sizeof(sample));
	sample.dbid = MyDatabaseId;
	sample.userid = GetUserId();
	sample.nesting_level = state->level;
	sample.toplevel = (state->level == 0);
	obs_sample_from_plan(&sample, queryDesc);
	sample.duration_ms = INSTR_TIME_GET_MILLISEC(state->elapsed);
	sample.rows = queryDesc->estate ? queryDesc->estate->es_processed : 0;
	sample.failed = failed;
	sample.sqlerrcode = failed ? geterrcode() : 0;
	sample.query_desc = queryDesc;
	sample.pstmt = queryDesc->plannedstmt;
	sample.source_text = queryDesc->sourceText;
	sample.stmt_location = queryDesc->plannedstmt->stmt_location;
	sample.stmt_len = queryDesc->plannedstmt->stmt_len;
	sample.params = queryDesc->params;

	obs_dispatch(&sample);
}

static void
obs_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	instr_time	start;
	ObsQueryState *state;
	MemoryContext oldcxt;
	int			i;

	if (!obs_enabled(obs_nesting_depth) || (eflags & EXEC_FLAG_EXPLAIN_ONLY))
	{
		if (prev_ExecutorStart)
			prev_ExecutorStart(queryDesc, eflags);
		else
			standard_ExecutorStart(queryDesc, eflags);
		return;
	}

	/* rooms that need instrumentation ask for it now */
	for (i = 0; i < obs_nrooms; i++)
	{
		if (obs_rooms[i].executor_start)
			obs_rooms[i].executor_start(queryDesc, eflags);
	}

	INSTR_TIME_SET_CURRENT(start);
	PG_TRY();
	{
		if (prev_ExecutorStart)
			prev_ExecutorStart(queryDesc, eflags);
		else
			standard_ExecutorStart(queryDesc, eflags);
	}
	PG_CATCH();
	{
		ObsQueryState failed_state;

		memset(&failed_state, 0, sizeof(failed_state));
		failed_state.level = obs_nesting_depth;
		accumulate(&failed_state, start);
		record_query(&failed_state, queryDesc, true);
		PG_RE_THROW();
	}
	PG_END_TRY();

	oldcxt = MemoryContextSwitchTo(queryDesc->estate->es_query_cxt);
	state = palloc0(sizeof(ObsQueryState));
	MemoryContextSwitchTo(oldcxt);
	state->query_desc = queryDesc;
	state->level = obs_nesting_depth;
	state->cb.func = state_reset_callback;
	state->cb.arg = state;
	MemoryContextRegisterResetCallback(queryDesc->estate->es_query_cxt,
									   &state->cb);
	state->next = active_queries;
	active_queries = state;
	state->linked = true;
	state->returns_rows = returns_rows_through_portal(queryDesc);
	/* the segment goes on: closed when Run (or Finish) returns */
	state->seg_start = start;
	state->seg_open = true;
}

static void
obs_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction, uint64 count)
{
	ObsQueryState *state = active_queries ? find_state(queryDesc) : NULL;

	if (state)
		segment_open(state);
	obs_nesting_depth++;
	PG_TRY();
	{
		obs_call_ExecutorRun(prev_ExecutorRun, queryDesc, direction, count);
	}
	PG_CATCH();
	{
		obs_nesting_depth--;
		if (state)
		{
			segment_close(state);
			record_query(state, queryDesc, true);
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
	obs_nesting_depth--;
	/* control may go back to the client: see the header comment */
	if (state && (state->returns_rows ||
				  (count != 0 && queryDesc->estate->es_processed >= count)))
		segment_close(state);
}

static void
obs_ExecutorFinish(QueryDesc *queryDesc)
{
	ObsQueryState *state = active_queries ? find_state(queryDesc) : NULL;
	bool		timed = (state != NULL && !state->returns_rows);

	/* a statement returning rows has nothing to time here (never ran: close) */
	if (state && !timed)
		segment_close(state);
	if (timed)
		segment_open(state);
	obs_nesting_depth++;
	PG_TRY();
	{
		if (prev_ExecutorFinish)
			prev_ExecutorFinish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_CATCH();
	{
		obs_nesting_depth--;
		if (state)
		{
			segment_close(state);
			record_query(state, queryDesc, true);
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
	obs_nesting_depth--;
	if (timed)
		segment_close(state);
}

static void
obs_ExecutorEnd(QueryDesc *queryDesc)
{
	ObsQueryState *state = active_queries ? find_state(queryDesc) : NULL;

	if (state)
	{
		unlink_state(state);
		segment_close(state);	/* only if Finish was never called */
		record_query(state, queryDesc, false);
	}

	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

/* the sample of a utility statement; relations resolved beforehand */
static void
record_utility(ObsSample *sample, instr_time start, QueryCompletion *qc,
			   bool failed)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, start);
	sample->duration_ms = INSTR_TIME_GET_MILLISEC(now);
	sample->rows = (!failed && qc) ? qc->nprocessed : 0;
	sample->failed = failed;
	sample->sqlerrcode = failed ? geterrcode() : 0;
	obs_dispatch(sample);
}

static void
obs_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
				   bool readOnlyTree, ProcessUtilityContext context,
				   ParamListInfo params, QueryEnvironment *queryEnv,
				   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	ObsSample	sample;
	instr_time	start;

	/* re-planning another role's statement runs no utility statement */
	if (unlikely(obs_sandbox_depth > 0))
		obs_sandbox_refuse_utility(parsetree);

	if (!obs_would_track(obs_nesting_depth, true) ||
		!OBS_TIMED_UTILITY(parsetree))
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
		return;
	}

	memset(&sample, 0, sizeof(sample));
	sample.dbid = MyDatabaseId;
	sample.userid = GetUserId();
	sample.nesting_level = obs_nesting_depth;
	sample.toplevel = (obs_nesting_depth == 0);
	obs_sample_from_utility(&sample, pstmt);
	sample.pstmt = pstmt;
	sample.source_text = queryString;
	sample.stmt_location = pstmt->stmt_location;
	sample.stmt_len = pstmt->stmt_len;
	sample.params = params;
	sample.queryid = obs_utility_queryid(parsetree, queryString,
										 pstmt->stmt_location, pstmt->stmt_len,
										 pstmt->queryId);

	INSTR_TIME_SET_CURRENT(start);
	obs_nesting_depth++;
	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_CATCH();
	{
		obs_nesting_depth--;
		record_utility(&sample, start, qc, true);
		PG_RE_THROW();
	}
	PG_END_TRY();
	obs_nesting_depth--;
	record_utility(&sample, start, qc, false);
}

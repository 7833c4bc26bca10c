/*-------------------------------------------------------------------------
 *
 * sample.h
 *		The statement sample: one small record built by the hooks when a
 *		statement ends (normally or with an error) and handed to every
 *		recorder.  See docs/architecture.md.
 *
 * Everything in the "identity", "relations" and "outcome" groups is plain
 * data, valid for as long as the sample.  The "context" pointers are valid
 * only during the obs_*_record() call: recorders that keep anything must
 * copy it (and should do so only on their slow path).
 *
 * Recorders are called on the error path too (failed = true, from inside
 * PG_CATCH): there they must not ereport(ERROR), must not run catalog
 * lookups or start new subtransactions, and should do as little as
 * possible.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OBSERVA_SAMPLE_H
#define OBSERVA_SAMPLE_H

#include "postgres.h"

#include "executor/execdesc.h"
#include "nodes/params.h"
#include "nodes/plannodes.h"
#include "utils/timestamp.h"

/* statement operation: the command type, or a utility statement */
typedef enum ObsOperation
{
	OBS_OP_SELECT = 0,
	OBS_OP_INSERT,
	OBS_OP_UPDATE,
	OBS_OP_DELETE,
	OBS_OP_MERGE,
	OBS_OP_UTILITY,				/* see ObsSample.command_tag */
	OBS_OP_OTHER
} ObsOperation;

/*
 * I/O, WAL and JIT counters of one statement, in pg_stat_statements'
 * column order, as plain numbers (blocks, milliseconds, bytes, counts) so
 * that a recorder can sum them as they are (e.g. as a store's extra sums).
 */
typedef enum ObsUsageField
{
	OBS_U_SHARED_BLKS_HIT = 0,
	OBS_U_SHARED_BLKS_READ,
	OBS_U_SHARED_BLKS_DIRTIED,
	OBS_U_SHARED_BLKS_WRITTEN,
	OBS_U_LOCAL_BLKS_HIT,
	OBS_U_LOCAL_BLKS_READ,
	OBS_U_LOCAL_BLKS_DIRTIED,
	OBS_U_LOCAL_BLKS_WRITTEN,
	OBS_U_TEMP_BLKS_READ,
	OBS_U_TEMP_BLKS_WRITTEN,
	OBS_U_BLK_READ_TIME,		/* ms, with track_io_timing */
	OBS_U_BLK_WRITE_TIME,
	OBS_U_TEMP_BLK_READ_TIME,
	OBS_U_TEMP_BLK_WRITE_TIME,
	OBS_U_WAL_RECORDS,
	OBS_U_WAL_FPI,
	OBS_U_WAL_BYTES,
	OBS_U_JIT_FUNCTIONS,
	OBS_U_JIT_GENERATION_TIME,	/* ms */
	OBS_U_JIT_INLINING_COUNT,	/* 1 when the statement inlined */
	OBS_U_JIT_INLINING_TIME,
	OBS_U_JIT_OPTIMIZATION_COUNT,
	OBS_U_JIT_OPTIMIZATION_TIME,
	OBS_U_JIT_EMISSION_COUNT,
	OBS_U_JIT_EMISSION_TIME,
	OBS_NUSAGE
} ObsUsageField;

typedef struct ObsUsage
{
	double		v[OBS_NUSAGE];	/* indexed by ObsUsageField */
} ObsUsage;

/* relations remembered per sample; more are counted in rels_truncated */
#define OBS_MAX_SAMPLE_RELS 32

typedef struct ObsSample
{
	/* identity */
	Oid			dbid;
	Oid			userid;
	uint64		queryid;		/* core query id; 0 when not computed */
	bool		toplevel;		/* nesting level 0 */
	int			nesting_level;
	ObsOperation operation;
	const char *command_tag;	/* "SELECT", "UPDATE", "CREATE INDEX", ...;
								 * a static string, never NULL */

	/* relations: distinct OIDs of the relations the statement touched */
	int			nrels;
	Oid			relids[OBS_MAX_SAMPLE_RELS];
	char		relkinds[OBS_MAX_SAMPLE_RELS];
	Oid			target_relid;	/* DML target (first result relation) */
	bool		rels_truncated; /* more than OBS_MAX_SAMPLE_RELS */

	/* outcome */
	double		duration_ms;	/* executor (or utility) time */
	uint64		rows;			/* rows returned or affected */
	bool		failed;			/* ended with an ERROR (incl. cancel) */
	int			sqlerrcode;		/* when failed */

	/*
	 * What pg_stat_statements counts: the difference of pgBufferUsage and
	 * pgWalUsage around ExecutorRun and ExecutorFinish (utility statements:
	 * around ProcessUtility), nested statements included, plus what the
	 * statement's planning used when it was timed; JIT of the leader.
	 */
	ObsUsage	usage;
	bool		planned;		/* planning timed (observa.track_planning) */
	double		plan_ms;		/* when planned */

	/* context: valid only during the record call */
	QueryDesc  *query_desc;		/* NULL for utility statements */
	PlannedStmt *pstmt;			/* the statement (utility: wraps it) */
	const char *source_text;	/* whole source string, may hold several */
	int			stmt_location;	/* this statement's part of source_text */
	int			stmt_len;		/* 0 means "to the end of the string" */
	ParamListInfo params;		/* bind parameters, or NULL */
} ObsSample;

/* "SELECT", "INSERT", ... for an ObsOperation (utility: "UTILITY") */
extern const char *obs_operation_name(ObsOperation op);

#endif							/* OBSERVA_SAMPLE_H */

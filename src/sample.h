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

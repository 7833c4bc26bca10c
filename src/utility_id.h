/*-------------------------------------------------------------------------
 *
 * utility_id.h
 *		observa's own query id and text for utility statements that differ
 *		only in a name or a constant (savepoints, cursors, DEALLOCATE, SET,
 *		two-phase commit), so that each such family is one entry.
 *
 * PostgreSQL 15 gives a utility statement the hash of its text as query
 * id, so "SAVEPOINT sp_1" and "SAVEPOINT sp_2" are two statements.  observa
 * groups them as PostgreSQL 17's pg_stat_statements does for savepoints
 * ("SAVEPOINT $1") and later releases for SET values ("SET work_mem = $1"),
 * and also for cursor names.  The Query's and PlannedStmt's queryId are
 * never changed: other extensions still see core's value.  See
 * docs/statement_stats.md.
 *
 * Both functions are cheap: no catalog access, no lock; the id is computed
 * without allocating (only DECLARE reads its text, to skip the name).
 *
 *-------------------------------------------------------------------------
 */
#ifndef OBSERVA_UTILITY_ID_H
#define OBSERVA_UTILITY_ID_H

#include "postgres.h"

#include "nodes/nodes.h"

/*
 * The query id observa records for utility statement stmt, whose text is
 * len bytes at offset location of source (len 0: to the end).  core_id is
 * the queryId PostgreSQL computed; it is returned unchanged for statements
 * observa does not group and whenever query ids are disabled, except that
 * a core_id another extension cleared to 0 (pg_stat_statements does when
 * its hook runs first) is computed again as core computes it (compat.h).
 */
extern uint64 obs_utility_queryid(Node *stmt, const char *source,
								  int location, int len, uint64 core_id);

/*
 * The text observa shows for a grouped utility statement ("SAVEPOINT $1"),
 * palloc'd in the current memory context; NULL when the statement is not
 * grouped and keeps its text as written.
 */
extern char *obs_utility_text(Node *stmt, const char *source, int location,
							  int len);

#endif							/* OBSERVA_UTILITY_ID_H */

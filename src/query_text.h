/*-------------------------------------------------------------------------
 *
 * query_text.h
 *		Normalized statement texts (constants replaced by $n, as
 *		pg_stat_statements shows them), kept in bounded storage keyed by
 *		(database, role, queryid).  See query_text.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OBSERVA_QUERY_TEXT_H
#define OBSERVA_QUERY_TEXT_H

#include "postgres.h"

/*
 * The normalized text that role userid submitted for (dbid, queryid),
 * palloc'd in the current memory context, or NULL when none is stored
 * (never seen, or reclaimed).  userid InvalidOid: any role's text (the
 * lowest role OID), for callers that checked pg_read_all_stats.
 * *truncated says whether it was cut at observa.max_query_text.
 * The caller decides whether the reader may see another role's text.
 */
extern char *obs_query_text_get(Oid dbid, Oid userid, uint64 queryid,
								bool *truncated);

/*
 * The statement store no longer has any entry for (dbid, userid,
 * queryid): its text may be reclaimed.
 */
extern void obs_query_text_release(Oid dbid, Oid userid, uint64 queryid);

/* the same for n keys, in one exclusive section */
typedef struct ObsTextKey
{
	Oid			dbid;
	Oid			userid;
	uint64		queryid;
} ObsTextKey;
extern void obs_query_text_release_many(const ObsTextKey *keys, int n);

/*
 * Store a text for (dbid, userid, queryid) unless one is stored already,
 * truncating it at observa.max_query_text; for a persistence layer that
 * saved texts with obs_query_text_get() and reloads them after a restart.
 * Returns false when the store is not available (not preloaded).
 */
extern bool obs_query_text_put(Oid dbid, Oid userid, uint64 queryid,
							   const char *text, bool truncated);

#endif							/* OBSERVA_QUERY_TEXT_H */

/*-------------------------------------------------------------------------
 *
 * observa.h
 *		What a room includes: the base layer (core.h) and the statement
 *		sample (sample.h).
 *
 * observa is split into rooms (see docs/architecture.md).  Each room owns
 * its GUCs, its shared memory and its SQL functions, and offers the entry
 * points the room table (rooms.c) lists:
 *
 *	  obs_<room>_init()				define GUCs (from _PG_init)
 *	  obs_<room>_shmem_size()		shared memory it needs (request hook)
 *	  obs_<room>_shmem_startup()	attach/initialise it (startup hook,
 *									called with AddinShmemInitLock held)
 *	  obs_<room>_record(sample)		consume one statement sample
 *	  obs_<room>_info(sink)			its rows of observa.info
 *
 * and optionally obs_<room>_executor_start(queryDesc, eflags) and
 * obs_<room>_reset(now).  A room never calls observa.c, hooks.c or the
 * room table.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OBSERVA_H
#define OBSERVA_H

#include "postgres.h"

#include "core.h"
#include "executor/execdesc.h"
#include "sample.h"

/* the entry points of every room (rooms.c lists them in the room table) */
#define OBS_DECLARE_ROOM(room) \
	extern void obs_##room##_init(void); \
	extern Size obs_##room##_shmem_size(void); \
	extern void obs_##room##_shmem_startup(void); \
	extern void obs_##room##_record(const ObsSample *sample); \
	extern void obs_##room##_info(ObsInfoSink *sink)

OBS_DECLARE_ROOM(table_stats);
OBS_DECLARE_ROOM(statement_stats);
OBS_DECLARE_ROOM(query_text);
OBS_DECLARE_ROOM(slow_ring);
OBS_DECLARE_ROOM(advisor);
OBS_DECLARE_ROOM(tenant_stats);

extern void obs_slow_ring_executor_start(QueryDesc *queryDesc, int eflags);
extern void obs_advisor_executor_start(QueryDesc *queryDesc, int eflags);

extern void obs_table_stats_reset(TimestampTz now);
extern void obs_statement_stats_reset(TimestampTz now);
extern void obs_query_text_reset(TimestampTz now);
extern void obs_tenant_stats_reset(TimestampTz now);

/* what regressions.c reads of the rooms' stores and keys */
struct ObsStore;
typedef struct ObsRoomKey
{
	bool		is_statement;
	uint64		queryid;		/* statements */
	Oid			userid;
	bool		toplevel;
	Oid			dbid;
	Oid			relid;			/* tables */
	const char *operation;
	int			nrels;			/* statements: relations touched */
	const Oid  *relids;
} ObsRoomKey;

extern struct ObsStore *obs_table_stats_store(void);
extern struct ObsStore *obs_statement_stats_store(void);
extern void obs_table_stats_key(const void *key, const void *aux, ObsRoomKey *out);
extern void obs_statement_stats_key(const void *key, const void *aux, ObsRoomKey *out);

#endif							/* OBSERVA_H */

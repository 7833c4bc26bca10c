/*-------------------------------------------------------------------------
 *
 * rooms.h
 *		The room table: every room of observa, listed once (rooms.c).
 *
 * A room is a recorder with its own GUCs, shared memory and SQL functions
 * (table_stats.c, statement_stats.c, query_text.c, slow_ring.c, the
 * advisor, tenant_stats.c).  observa.c walks the table to define settings,
 * size and create shared memory and build observa.info; hooks.c walks it
 * to ask for instrumentation and to hand each statement sample to every
 * recorder; observa.reset() walks it to reset the rooms that reset with it.
 * Nothing but rooms.c names a room: a new room is one line here.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OBSERVA_ROOMS_H
#define OBSERVA_ROOMS_H

#include "postgres.h"

#include "core.h"
#include "executor/execdesc.h"
#include "sample.h"

typedef struct ObsRoom
{
	const char *name;			/* observa.info section */
	void		(*init) (void); /* GUCs, tranches (from _PG_init) */
	Size		(*shmem_size) (void);	/* shmem request hook */
	void		(*shmem_startup) (void);	/* AddinShmemInitLock held */

	/*
	 * Before the executor starts a tracked statement: the room may ask for
	 * instrumentation (queryDesc->instrument_options).  May be NULL.
	 */
	void		(*executor_start) (QueryDesc *queryDesc, int eflags);
	void		(*record) (const ObsSample *sample);	/* may be NULL */
	void		(*info) (ObsInfoSink *sink);

	/*
	 * observa.reset() resets the room, all rooms with the same time "now"
	 * (their stats_reset).  NULL: the room has only a reset of its own.
	 */
	void		(*reset) (TimestampTz now);
} ObsRoom;

extern const ObsRoom obs_rooms[];
extern const int obs_nrooms;

#endif							/* OBSERVA_ROOMS_H */

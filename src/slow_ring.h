/*-------------------------------------------------------------------------
 *
 * slow_ring.h
 *		The slow-query ring in shared memory, shared between the recorder
 *		(slow_ring.c, writes) and the SQL functions (slow_sql.c, reads).
 *		The protocol is described in slow_ring.c's header comment and in
 *		docs/slow_queries.md.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OBSERVA_SLOW_RING_H
#define OBSERVA_SLOW_RING_H

#include "postgres.h"

#include "port/atomics.h"
#include "utils/timestamp.h"

#include "sample.h"

/* plan formats (observa.slow_query_plan) */
typedef enum ObsSlowPlanFormat
{
	OBS_SLOW_PLAN_OFF = 0,
	OBS_SLOW_PLAN_TEXT,
	OBS_SLOW_PLAN_JSON
} ObsSlowPlanFormat;

/* what the params field of an entry holds */
typedef enum ObsSlowParams
{
	OBS_SLOW_PARAMS_NONE = 0,	/* statement had no bind parameters */
	OBS_SLOW_PARAMS_TEXT,		/* rendered into the params buffer */
	OBS_SLOW_PARAMS_SKIPPED		/* had some, not captured (off, or failed) */
} ObsSlowParams;

/* fixed buffers of a slot */
#define OBS_SLOW_NAME_LEN		NAMEDATALEN
#define OBS_SLOW_ADDR_LEN		64
#define OBS_SLOW_ERROR_BYTES	512

/*
 * One slot: the fixed fields.  Its text, parameters, plan and error are
 * stored one after the other in the ring's byte arena at var_pos (a
 * position in the stream of bytes written since start; the arena holds the
 * last arena_size of them).  A local copy of an entry (obs_slow_ring_copy)
 * is laid out as the slot followed by four byte buffers of the capacities
 * SlowRing.*_cap, reached with obs_slow_*_buf().  Strings are not
 * NUL-terminated: *_len says how many bytes are used.
 *
 * seq is the slot's sequence: 0 empty, 2t+1 while ticket t is being
 * written, 2t+2 once ticket t is complete.
 */
typedef struct SlowSlot
{
	pg_atomic_uint64 seq;

	TimestampTz ts;				/* end of the statement */
	double		duration_ms;
	uint64		queryid;
	uint64		rows;
	Oid			dbid;
	Oid			userid;
	int			pid;
	int			encoding;		/* of the texts: the database's encoding */
	int			nesting_level;
	bool		failed;
	bool		rels_truncated;
	bool		query_truncated;
	bool		params_truncated;
	bool		plan_truncated;
	uint8		plan_format;	/* ObsSlowPlanFormat */
	uint8		params_state;	/* ObsSlowParams */
	char		sqlstate[6];
	int			nrels;
	Oid			relids[OBS_MAX_SAMPLE_RELS];
	char		operation[OBS_SLOW_NAME_LEN];
	char		application_name[OBS_SLOW_NAME_LEN];
	char		client_addr[OBS_SLOW_ADDR_LEN];	/* "" when not over TCP */
	uint32		query_len;
	uint32		params_len;
	uint32		plan_len;
	uint32		error_len;
	bool		var_lost;		/* copy: the arena overwrote its bytes */
	uint64		var_pos;		/* its bytes in the arena (stream position) */
} SlowSlot;

typedef struct SlowRing
{
	uint32		size;			/* number of slots */
	Size		slot_size;		/* bytes per slot, MAXALIGN'd */
	Size		copy_size;		/* bytes of a local copy (slot + buffers) */
	uint64		arena_size;		/* bytes of the byte arena */
	pg_atomic_uint64 arena_head;	/* bytes reserved in the arena since start */
	uint32		query_cap;		/* buffer capacities in bytes */
	uint32		params_cap;
	uint32		plan_cap;
	pg_atomic_uint64 next_ticket;	/* tickets handed out since start */
	pg_atomic_uint64 reset_ticket;	/* entries below this are reset away */
	pg_atomic_uint64 lost;		/* writes abandoned since reset */
	pg_atomic_uint64 reset_time;	/* TimestampTz of the last reset */
	/* slots follow, MAXALIGN'd, then the arena */
} SlowRing;

/* the ring, or NULL when observa is not preloaded */
extern SlowRing *obs_slow_ring_get(void);

/* byte buffers of a slot (or of a local copy laid out like a slot) */
static inline char *
obs_slow_query_buf(const SlowRing *ring, SlowSlot *slot)
{
	return (char *) slot + MAXALIGN(sizeof(SlowSlot));
}

static inline char *
obs_slow_params_buf(const SlowRing *ring, SlowSlot *slot)
{
	return obs_slow_query_buf(ring, slot) + ring->query_cap;
}

static inline char *
obs_slow_plan_buf(const SlowRing *ring, SlowSlot *slot)
{
	return obs_slow_params_buf(ring, slot) + ring->params_cap;
}

static inline char *
obs_slow_error_buf(const SlowRing *ring, SlowSlot *slot)
{
	return obs_slow_plan_buf(ring, slot) + ring->plan_cap;
}

static inline SlowSlot *
obs_slow_slot(const SlowRing *ring, uint64 index)
{
	return (SlowSlot *) ((char *) ring + MAXALIGN(sizeof(SlowRing)) +
						 (Size) index * ring->slot_size);
}

/*
 * Copy the complete entry of ticket 'ticket' out of its slot and the arena
 * into 'dst' (ring->copy_size bytes).  Returns false when the slot no
 * longer (or not yet) holds that complete entry.  When the arena already
 * overwrote the entry's bytes, dst->var_lost is set and its text,
 * parameters, plan and error are empty.  Never blocks a writer.
 */
extern bool obs_slow_ring_copy(const SlowRing *ring, uint64 ticket,
							   SlowSlot *dst);

/* forget every entry (observa.reset_slow_queries()) */
extern void obs_slow_ring_reset(SlowRing *ring);

#endif							/* OBSERVA_SLOW_RING_H */

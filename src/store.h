/*-------------------------------------------------------------------------
 *
 * store.h
 *		A generic keyed statistics store in shared memory: per key, call and
 *		error counts, rows, timing moments, a since-reset latency histogram
 *		and per-time-window histograms; backend-local pending accumulation
 *		flushed in batches; bounded capacity with eviction; persistence
 *		across clean restarts.  Used by table_stats.c and statement_stats.c
 *		(and meant for any other "stats per key" room).  See store.c for the
 *		design and the locking protocol.
 *
 * Usage by a room:
 *
 *	  _init:           set up an ObsStoreConfig (key size, aux size,
 *	                   capacity); observa.c calls obs_store_init() first.
 *	  _shmem_size:     obs_store_shmem_size(&cfg)
 *	  _shmem_startup:  store = obs_store_attach(&cfg)   (loads the saved file)
 *	  _record:         obs_store_record(store, &key, aux, ms, rows, failed)
 *	  SQL readers:     obs_store_flush(store), then obs_store_snapshot(...)
 *	  _info:           obs_store_info(store, sink, "section")
 *
 * Keys are compared and hashed as raw bytes: zero the whole key (padding
 * included) before filling it.  "aux" is an opaque per-entry payload fixed
 * when the entry is created (e.g. a statement's relation list); it is not
 * part of the key.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OBSERVA_STORE_H
#define OBSERVA_STORE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "core.h"

#define OBS_STORE_MAX_KEY	32	/* bytes */
#define OBS_STORE_MAX_AUX	160 /* bytes */

/* summed counters of an entry or of a window of it */
typedef struct ObsCounters
{
	int64		calls;			/* statements, failed ones included */
	int64		errors;			/* of which ended in an ERROR */
	int64		rows;			/* rows of the successful ones */
	double		total_ms;
	double		min_ms;
	double		max_ms;
	double		mean_ms;		/* running mean and sum of squared */
	double		m2;				/* deviations (Welford / Chan merge) */
} ObsCounters;

typedef struct ObsStore ObsStore;

typedef struct ObsStoreConfig
{
	const char *name;			/* shmem name and file name part, e.g.
								 * "table_stats" */
	Size		keysize;		/* <= OBS_STORE_MAX_KEY */
	Size		auxsize;		/* <= OBS_STORE_MAX_AUX, may be 0 */
	int			capacity;		/* entries */

	/*
	 * Called after entries were evicted (no store lock held), once per
	 * evicted entry, with copies of its key and aux.  May be NULL.
	 */
	void		(*evicted) (ObsStore *store, const void *key, const void *aux);
} ObsStoreConfig;

/* one row of a snapshot (obs_store_snapshot) */
typedef struct ObsStoreRow
{
	char		key[OBS_STORE_MAX_KEY];
	char		aux[OBS_STORE_MAX_AUX];
	ObsCounters c;
	TimestampTz since;			/* entry created / oldest window start */
	double	   *quantiles;		/* nq values, in the caller's order */
	int64	   *counts_le;		/* nb values: recorded <= bounds[i] */
} ObsStoreRow;

/* shared settings (observa.window, .windows, .window_slots, ...): _PG_init */
extern void obs_store_init(void);

extern Size obs_store_shmem_size(const ObsStoreConfig *cfg);

/*
 * Create or attach the store's shared memory; in the postmaster also load
 * the saved statistics and arrange the dump at shutdown.  Call from the
 * room's _shmem_startup (AddinShmemInitLock held).  cfg must stay valid.
 */
extern ObsStore *obs_store_attach(const ObsStoreConfig *cfg);

/*
 * Hot path: account one statement to key in backend-local memory, and
 * publish pending data when a flush is due.  With failed = true only
 * backend-local memory is touched (no lock, no error); it is published by
 * this backend's next successful statement, observa read, or exit.
 */
extern void obs_store_record(ObsStore *store, const void *key,
							 const void *aux, double ms, uint64 rows,
							 bool failed);

/* publish this backend's pending data now (SQL readers call this first) */
extern void obs_store_flush(ObsStore *store);

/* forget every entry and window; now becomes the store's stats_reset */
extern void obs_store_reset(ObsStore *store, TimestampTz now);

/*
 * Copy the store's rows: since_us < 0 gives since-reset statistics, else
 * the merge of the windows overlapping the last since_us microseconds.
 * For each row, quantiles of qs[0..nq-1] (any order, each in [0,1]) and
 * counts of recorded statements <= bounds[0..nb-1] ms are computed.
 * Returns a palloc'd array; *nrows is set.  Takes the store lock shared.
 */
extern ObsStoreRow *obs_store_snapshot(ObsStore *store, int64 since_us,
									   const double *qs, int nq,
									   const double *bounds, int nb,
									   int *nrows);

/*
 * Does any entry satisfy pred(key, arg)?  (shared lock; for eviction
 * callbacks that must know whether a related entry remains)
 */
extern bool obs_store_any(ObsStore *store,
						  bool (*pred) (const void *key, void *arg),
						  void *arg);

/* observa.info rows of this store in section 'section' */
extern void obs_store_info(ObsStore *store, ObsInfoSink *sink,
						   const char *section);

/* window length in microseconds and windows kept (settings) */
extern int64 obs_store_window_us(void);

/* mean and standard deviation helpers for readers */
extern double obs_counters_stddev(const ObsCounters *c);


#endif							/* OBSERVA_STORE_H */

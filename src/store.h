/*-------------------------------------------------------------------------
 *
 * store.h
 *		observa's one keyed statistics store (store.c): per key, call and
 *		error counts, rows, timing moments, extra sums a room declares, a
 *		compact latency sketch (histogram.h) since reset and per time
 *		window, and a small mutable payload; backend-local accumulation
 *		published in batches; bounded capacity with a pluggable eviction
 *		rule; persistence across clean restarts (persist.h).  Every room
 *		that keeps "counters and percentiles per key" is a store instance:
 *		table statistics, statement statistics, tenant statistics.
 *
 * Usage by a room:
 *
 *	  _init:           fill an ObsStoreConfig (sizes, capacity, rule);
 *	                   observa.c has called obs_store_init() (settings).
 *	  _shmem_size:     obs_store_shmem_size(&cfg)
 *	  _shmem_startup:  store = obs_store_attach(&cfg)   (loads the saved file)
 *	  _record:         obs_store_record(store, &key, aux, &value)
 *	  SQL readers:     obs_store_snapshot(store, since_us, ...) (flushes first)
 *	  _info:           obs_store_info(store, sink, "section")
 *	  _reset:          obs_store_reset(store, now)
 *
 * Keys are compared and hashed as raw bytes: zero the whole key (padding
 * included) before filling it.  "aux" is an opaque per-entry payload fixed
 * when the entry is created (e.g. a statement's relation list).  "payload"
 * is mutable: each recorded value may carry one, folded into the entry's
 * by cfg->payload_merge (e.g. a tenant's heaviest tables).
 *
 * Locking protocol (store.c's header says why):
 *	  - the store LWLock, SHARED, to look entries up and to publish into
 *	    them; EXCLUSIVE only to create, evict or reset entries.  Keys, aux,
 *	    in_use and generation change only under EXCLUSIVE.
 *	  - an entry's spinlock for its counters, sketch, payload and window
 *	    hints; a window slot's spinlock for its owner, epoch, counters and
 *	    sketch; the ring spinlock of a window level to take its next slot;
 *	    the cell-pool spinlock to take or give sketch cells.
 *	  - no spinlock is held while another is taken; nothing under a
 *	    spinlock allocates, raises or does I/O; cells a publisher may need
 *	    are taken from the pool before the entry's spinlock.
 *	  - obs_store_record() takes no lock at all (backend-local), except
 *	    when it publishes (a flush).
 *
 *-------------------------------------------------------------------------
 */
#ifndef OBSERVA_STORE_H
#define OBSERVA_STORE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "core.h"
#include "histogram.h"

#define OBS_STORE_MAX_KEY		72	/* bytes */
#define OBS_STORE_MAX_AUX		160 /* bytes */
#define OBS_STORE_MAX_PAYLOAD	96	/* bytes */
#define OBS_STORE_MAX_EXTRA		32	/* extra sums per entry */
#define OBS_STORE_LEVELS		3	/* window resolutions */

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

/* which entries make room for new keys */
typedef enum ObsEvictRule
{
	/*
	 * The least used 5 % (calls, decayed by 5 % at every round): what a
	 * "top statements" view wants.
	 */
	OBS_EVICT_USAGE = 0,

	/*
	 * Space-Saving (Metwally, Agrawal, El Abbadi, ICDT 2005), by calls: the
	 * 5 % with the smallest estimate (calls + error_bound) are folded into
	 * their pinned "(other)" entry (cfg->other_key) so that the rows of a
	 * group still add up to its total, and a new key starts with
	 * error_bound = the largest estimate evicted since reset, an upper
	 * bound of the calls it may have had before it was (re)admitted.
	 */
	OBS_EVICT_SPACE_SAVING
} ObsEvictRule;

typedef struct ObsStoreConfig
{
	const char *name;			/* shmem name, file name part and observa.info
								 * section, e.g. "table_stats" */
	Size		keysize;		/* <= OBS_STORE_MAX_KEY */
	Size		auxsize;		/* <= OBS_STORE_MAX_AUX, may be 0 */
	int			capacity;		/* entries */

	/*
	 * Extra float8 sums per entry (first nextra of ObsStoreValue.extra),
	 * the first nextra_window of them kept per window too.  Summed as
	 * double: integers are exact below 2^53.
	 */
	int			nextra;
	int			nextra_window;

	/* mutable payload; merge folds src into dst (plain C, no allocation) */
	Size		payloadsize;	/* <= OBS_STORE_MAX_PAYLOAD, may be 0 */
	void		(*payload_merge) (void *dst, const void *src);

	ObsEvictRule evict;

	/*
	 * Space-Saving only: the key of the pinned entry that collects what is
	 * evicted from key's group (e.g. the database's "(other)" tenant);
	 * returns false when key is itself pinned.
	 */
	bool		(*other_key) (const void *key, void *other);

	/*
	 * Space-Saving only, may be NULL: is key a member that is never evicted
	 * and only created once its group's pinned entry exists (e.g. the
	 * NULL-tenant row of a database that has tenants)?  Values for such a
	 * key recorded before then are not kept.
	 */
	bool		(*pinned_member) (const void *key);

	/*
	 * Called after entries were evicted (no store lock held) with n copies
	 * of their keys and aux, packed (keysize + auxsize each).  May be NULL.
	 */
	void		(*evicted) (ObsStore *store, const char *keys_auxs, int n);
} ObsStoreConfig;

/* what one statement adds to one key */
typedef struct ObsStoreValue
{
	double		ms;
	uint64		rows;
	bool		failed;
	const double *extra;		/* cfg->nextra values, or NULL (zeros) */
	const void *payload;		/* cfg->payloadsize bytes, or NULL */
} ObsStoreValue;

/* one row of a snapshot (obs_store_snapshot) */
typedef struct ObsStoreRow
{
	char		key[OBS_STORE_MAX_KEY];
	char		aux[OBS_STORE_MAX_AUX];
	char		payload[OBS_STORE_MAX_PAYLOAD];
	ObsCounters c;
	double		extra[OBS_STORE_MAX_EXTRA];
	int64		error_bound;	/* Space-Saving: calls it may lack */
	double		error_bound_ms; /* ... and the time they may have taken */
	bool		pinned;			/* a Space-Saving "(other)" entry */
	TimestampTz since;			/* entry created / oldest window start */
	TimestampTz covered_since;	/* the numbers cover [covered_since, now] */
	double	   *quantiles;		/* nq values, in the caller's order */
	int64	   *counts_le;		/* nb values: recorded <= bounds[i] */
} ObsStoreRow;

/* shared settings (observa.window, .windows, .window_history, ...) */
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
							 const void *aux, const ObsStoreValue *value);

/* publish this backend's pending data now (SQL readers call this first) */
extern void obs_store_flush(ObsStore *store);

/* forget every entry and window; now becomes the store's stats_reset */
extern void obs_store_reset(ObsStore *store, TimestampTz now);

/*
 * Copy the store's rows: since_us < 0 gives since-reset statistics, else
 * the merge of the windows that cover the last since_us microseconds (at
 * the finest resolution that reaches that far); each row's covered_since
 * says from when its numbers are complete.  For each row, quantiles of
 * qs[0..nq-1] (any order, each in [0,1]) and counts of recorded statements
 * <= bounds[0..nb-1] ms are computed.  Returns a palloc'd array; *nrows is
 * set.  Takes the store lock shared.
 */
extern ObsStoreRow *obs_store_snapshot(ObsStore *store, int64 since_us,
									   const double *qs, int nq,
									   const double *bounds, int nb,
									   int *nrows);

/*
 * Call fn(key, arg) for the key of every entry, in one pass under the
 * store lock (shared): fn must not call the store.  For eviction
 * callbacks that must know which related entries remain.
 */
extern void obs_store_scan_keys(ObsStore *store,
								void (*fn) (const void *key, void *arg),
								void *arg);

/*
 * found[i] = whether the store holds the i-th of n keys (packed, the
 * store's key size apart), all looked up under one shared store lock.
 * For eviction callbacks that must know whether related entries remain.
 */
extern void obs_store_contains(ObsStore *store, const void *keys, int n,
							   bool *found);

/* one window of one entry (obs_store_windows) */
typedef struct ObsWindow
{
	int			level;			/* 0 = finest */
	TimestampTz start;
	int64		len_us;
	ObsCounters c;
	int			npairs;			/* non-empty sketch buckets, ascending */
	const ObsBucketCount *pairs;
} ObsWindow;

/* a window level as configured, and from when its windows are complete */
typedef struct ObsLevelInfo
{
	int64		len_us;
	int			nwindows;		/* kept (the current one comes on top) */
	TimestampTz complete_from;	/* start, reset or reuse of its ring */
} ObsLevelInfo;

typedef void (*ObsWindowsFn) (const void *key, const void *aux,
							  const ObsWindow *w, int nw, void *arg);

/*
 * Call fn once per entry that has windows, with every kept window of it
 * at every level (ordered by level, then start), after a flush, under the
 * store lock (shared): fn may palloc and raise, must not call the store.
 */
extern void obs_store_windows(ObsStore *store, ObsWindowsFn fn, void *arg);

/* the levels (room for OBS_STORE_LEVELS); returns how many */
extern int	obs_store_levels(ObsStore *store, ObsLevelInfo *out);

/* the level since(since_us) is answered from (as obs_store_snapshot) */
extern int	obs_store_level_for(ObsStore *store, int64 since_us);

/* observa.info rows of this store in section 'section' */
extern void obs_store_info(ObsStore *store, ObsInfoSink *sink,
						   const char *section);

/* window length of level 0 in microseconds (observa.window) */
extern int64 obs_store_window_us(void);

/* fold src into dst (counts, sums, min/max, Chan's merge of moments) */
extern void obs_counters_merge(ObsCounters *dst, const ObsCounters *src);

/* standard deviation of counters (population) */
extern double obs_counters_stddev(const ObsCounters *c);

#endif							/* OBSERVA_STORE_H */

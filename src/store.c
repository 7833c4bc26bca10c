/*-------------------------------------------------------------------------
 *
 * store.c
 *		Generic keyed statistics store (see store.h for the interface).
 *
 * Layout (one shared block per store, sized at start-up):
 *	  - a header with the store LWLock, counters and the window ring;
 *	  - 'capacity' entries: counters, a since-reset latency histogram, the
 *	    key and an opaque aux payload, plus a shared dynahash key -> slot;
 *	  - a pool of 'observa.window_slots' window slots, each a counter set
 *	    and a histogram for one (entry, window) pair.  A slot is taken from
 *	    a ring only when an entry is active in a window, so idle entries
 *	    cost no window memory; when the ring wraps, the oldest slot is
 *	    reused (counted in window_slots_recycled when it still held a
 *	    retained window).
 *
 * Windows: time is cut into windows of observa.window; a window's epoch
 * is floor(now / window).  Writers tag what they publish with the epoch
 * in which it was recorded and readers keep the epochs of the last
 * observa.windows windows, so windows roll over with no background
 * process: a stale slot is recognised by its epoch.  A slot belongs to
 * an entry through (slot number, generation); an entry's generation
 * changes when it is evicted, so windows of an evicted entry never count
 * for the entry that reuses its slot.
 *
 * Hot path: obs_store_record() only updates a backend-local pending table
 * (counters and a sparse bucket list per key).  A flush publishes it when
 * 200 ms passed since the last flush, when the statement took >= 10 ms,
 * after a failed statement, when the window changes, when the pending
 * table is full (64 keys, or 96 distinct latency buckets for one key),
 * before an observa read in this backend, and at backend
 * exit (before_shmem_exit).  A failed statement (error path) touches only
 * the pending table.  "Now" on the hot path is the statement's start time
 * plus its duration (store_clock), with a real clock read every 64th
 * statement: clock reads cost more than the rest of the hot path.
 *
 * Locking protocol:
 *	  - the store LWLock, SHARED, to look entries up and to update them;
 *	    EXCLUSIVE only to create, evict or reset entries.  Keys, aux,
 *	    in_use and generation change only under EXCLUSIVE.
 *	  - an entry's spinlock for its counters, histogram and window hint;
 *	  - a window slot's spinlock for its owner, epoch, counters and
 *	    histogram (writers check the owner/generation/epoch under it);
 *	  - the ring spinlock to take the next window slot.
 *	  No spinlock is held while taking another one, nothing under a
 *	  spinlock allocates, raises or does I/O.
 *
 * Reset: observa.reset() clears entries under EXCLUSIVE and bumps
 * reset_count; pending data recorded before it is discarded at its flush.
 *
 * Persistence: in the postmaster, on_shmem_exit dumps the since-reset
 * entries (not the windows) to $PGDATA/pg_stat/observa_<store>.stat
 * (magic, format version, histogram shape, CRC-32C) when the server stops
 * cleanly and observa.save is on.  At start-up the file is read only if
 * the control file says the previous shutdown was clean; it is removed
 * once read, so a crash never resurrects stale data.  A missing,
 * truncated, corrupt or foreign file is ignored with a LOG line.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/xact.h"
#include "catalog/pg_control.h"
#include "common/controldata_utils.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "port/pg_crc32c.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "histogram.h"
#include "persist.h"
#include "store.h"

/* flush policy */
#define OBS_FLUSH_INTERVAL_US	200000	/* 200 ms */
#define OBS_FLUSH_SLOW_MS		10.0
#define OBS_PENDING_MAX			64
#define OBS_PENDING_HASH		128 /* power of 2, > OBS_PENDING_MAX */
#define OBS_PENDING_PAIRS		128 /* power of 2: open addressing */
#define OBS_PENDING_PAIRS_MAX	96	/* flush when a key has this many */

/* persistence file */
#define OBS_STORE_FILE_FORMAT	2

#define OBS_MAX_STORES			8

/* settings */
static int	obs_window_s = 60;
static int	obs_windows = 60;
static int	obs_window_slots = 1024;
static double obs_histogram_error = OBS_HIST_DEFAULT_ERROR;

typedef struct StoreEntry
{
	slock_t		mutex;
	bool		in_use;
	uint32		generation;		/* bumped at every eviction and reset */
	int32		wslot;			/* hint: window slot of ... */
	int64		wepoch;			/* ... this epoch */
	TimestampTz since;
	double		usage;			/* eviction score: decayed calls */
	ObsCounters c;
} StoreEntry;

typedef struct WindowSlot
{
	slock_t		mutex;
	int32		owner;			/* entry slot, -1 when free */
	uint32		generation;		/* the owner's generation */
	int64		epoch;
	ObsCounters c;
} WindowSlot;

typedef struct StoreShared
{
	LWLock		lock;
	int			tranche_id;
	slock_t		ring_mutex;
	int32		ring_next;
	int32		nfree;
	int32		nused;
	int64		evictions;
	TimestampTz stats_reset;
	int64		window_us;		/* fixed at start-up */
	int32		windows;
	pg_atomic_uint32 reset_count;
	pg_atomic_uint64 window_recycles;
	pg_atomic_uint64 dropped;
	char		file_state[160];
} StoreShared;

typedef struct PendingPair
{
	int32		bucket;
	uint32		count;
} PendingPair;

typedef struct Pending
{
	char		key[OBS_STORE_MAX_KEY];
	char		aux[OBS_STORE_MAX_AUX];
	int32		slot;			/* flush scratch: shared slot or -1 */
	int			npairs;
	PendingPair pairs[OBS_PENDING_PAIRS];
	ObsCounters c;
} Pending;

struct ObsStore
{
	const ObsStoreConfig *cfg;
	Size		hist_size;
	int			nwslots;
	StoreShared *sh;
	HTAB	   *hash;
	StoreEntry *entries;
	int32	   *freelist;
	char	   *keys;
	char	   *auxs;
	char	   *hists;
	WindowSlot *wslots;
	char	   *whists;

	/* backend-local pending data */
	Pending    *pending;
	int			npending;
	int16		pindex[OBS_PENDING_HASH];
	int64		pepoch;
	uint32		preset;
	bool		pfailed;
	uint64		pdropped;
	TimestampTz last_flush;

	int			lock_id;		/* obs_lock_counter() of cfg->name */

	/* eviction scratch, allocated before the exclusive lock is taken */
	void	   *scratch_scores;
	char	   *scratch_evicted;
	int			nevicted;
};

static ObsStore *stores[OBS_MAX_STORES];
static int	nstores = 0;
static bool exit_flush_registered = false;

/* per-statement cache of obs_store_record (see there) */
static double cached_ms = -1.0;
static TimestampTz cached_now = 0;
static int	cached_bucket = 0;

#define HASH_SLOT(s, he) (*(int32 *) ((char *) (he) + MAXALIGN((s)->cfg->keysize)))
#define ENTRY_KEY(s, i) ((s)->keys + (Size) (i) * (s)->cfg->keysize)
#define ENTRY_AUX(s, i) ((s)->auxs + (Size) (i) * (s)->cfg->auxsize)
#define ENTRY_HIST(s, i) ((ObsHistogram *) ((s)->hists + (Size) (i) * (s)->hist_size))
#define WSLOT_HIST(s, i) ((ObsHistogram *) ((s)->whists + (Size) (i) * (s)->hist_size))
#define NEVICT(s) Max(1, (s)->cfg->capacity / 20)
/* evicted keys remembered per flush for the eviction callback */
#define MAXEVICTED(s) Min((s)->cfg->capacity, OBS_PENDING_MAX * NEVICT(s))

static void store_flush(ObsStore *s);
static void store_load(ObsStore *s);
static void store_shmem_exit(int code, Datum arg);

/* ----------------------------------------------------------------
 * settings
 * ---------------------------------------------------------------- */

void
obs_store_init(void)
{
	DefineCustomIntVariable("observa.window",
							"Length of one statistics time window.",
							"Recent statistics are kept per window; observa.table_stats(since) merges the windows overlapping the interval.",
							&obs_window_s,
							60, 1, 86400,
							PGC_POSTMASTER,
							GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("observa.windows",
							"Number of recent time windows kept.",
							NULL,
							&obs_windows,
							60, 1, 10080,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("observa.window_slots",
							"Window histograms available to each statistics store.",
							"One slot holds one entry's statistics for one window; when all are taken the oldest is reused.",
							&obs_window_slots,
							1024, 16, 1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);
	DefineCustomRealVariable("observa.histogram_error",
							 "Relative error bound of latency percentiles.",
							 "Smaller values cost more memory per histogram.",
							 &obs_histogram_error,
							 OBS_HIST_DEFAULT_ERROR, OBS_HIST_MIN_ERROR,
							 OBS_HIST_MAX_ERROR,
							 PGC_POSTMASTER,
							 0,
							 NULL, NULL, NULL);
	/*
	 * Percentiles are reported as the upper edge of their bucket (see
	 * row_summarize), so buckets are made 1 + e wide: the histogram's own
	 * (midpoint) error parameter is then e / (2 + e).
	 */
	obs_hist_configure(obs_histogram_error / (2.0 + obs_histogram_error));
}

int64
obs_store_window_us(void)
{
	return (int64) obs_window_s * USECS_PER_SEC;
}

/* ----------------------------------------------------------------
 * counters
 * ---------------------------------------------------------------- */

static inline void
counters_add_one(ObsCounters *c, double ms, uint64 rows, bool failed)
{
	double		delta;

	c->calls++;
	if (failed)
		c->errors++;
	else
		c->rows += rows;
	c->total_ms += ms;
	if (c->calls == 1 || ms < c->min_ms)
		c->min_ms = ms;
	if (c->calls == 1 || ms > c->max_ms)
		c->max_ms = ms;
	delta = ms - c->mean_ms;
	c->mean_ms += delta / c->calls;
	c->m2 += delta * (ms - c->mean_ms);
}

/* dst += src (Chan et al. for the moments) */
static inline void
counters_merge(ObsCounters *dst, const ObsCounters *src)
{
	double		n,
				delta;

	if (src->calls == 0)
		return;
	if (dst->calls == 0)
	{
		*dst = *src;
		return;
	}
	n = (double) dst->calls + (double) src->calls;
	delta = src->mean_ms - dst->mean_ms;
	dst->m2 += src->m2 + delta * delta * (double) dst->calls * (double) src->calls / n;
	dst->mean_ms += delta * (double) src->calls / n;
	dst->calls += src->calls;
	dst->errors += src->errors;
	dst->rows += src->rows;
	dst->total_ms += src->total_ms;
	dst->min_ms = Min(dst->min_ms, src->min_ms);
	dst->max_ms = Max(dst->max_ms, src->max_ms);
}

double
obs_counters_stddev(const ObsCounters *c)
{
	if (c->calls < 1)
		return 0.0;
	return sqrt(Max(c->m2, 0.0) / (double) c->calls);
}

/* ----------------------------------------------------------------
 * shared memory
 * ---------------------------------------------------------------- */

static Size
hash_entry_size(const ObsStoreConfig *cfg)
{
	return MAXALIGN(cfg->keysize) + sizeof(int32);
}

/* bytes of the main block (the hash table is separate) */
static Size
store_block_size(const ObsStoreConfig *cfg, int nwslots)
{
	Size		size = MAXALIGN(sizeof(StoreShared));
	Size		hsize = obs_hist_size();
	int			cap = cfg->capacity;

	size = add_size(size, MAXALIGN(mul_size(cap, sizeof(StoreEntry))));
	size = add_size(size, MAXALIGN(mul_size(cap, sizeof(int32))));
	size = add_size(size, MAXALIGN(mul_size(cap, cfg->keysize)));
	size = add_size(size, MAXALIGN(mul_size(cap, cfg->auxsize)));
	size = add_size(size, mul_size(cap, hsize));
	size = add_size(size, MAXALIGN(mul_size(nwslots, sizeof(WindowSlot))));
	size = add_size(size, mul_size(nwslots, hsize));
	return size;
}

Size
obs_store_shmem_size(const ObsStoreConfig *cfg)
{
	Assert(cfg->keysize <= OBS_STORE_MAX_KEY && cfg->auxsize <= OBS_STORE_MAX_AUX);
	return add_size(store_block_size(cfg, obs_window_slots),
					hash_estimate_size(cfg->capacity, hash_entry_size(cfg)));
}

ObsStore *
obs_store_attach(const ObsStoreConfig *cfg)
{
	ObsStore   *s = NULL;
	HASHCTL		info;
	bool		found;
	char		name[64];
	char	   *p;
	int			i;

	/* reuse the handle after a crash restart of the postmaster */
	for (i = 0; i < nstores; i++)
		if (stores[i]->cfg == cfg)
			s = stores[i];
	if (s == NULL)
	{
		if (nstores >= OBS_MAX_STORES)
			elog(ERROR, "too many observa stores");
		s = MemoryContextAllocZero(TopMemoryContext, sizeof(ObsStore));
		s->pending = MemoryContextAllocZero(TopMemoryContext,
											sizeof(Pending) * OBS_PENDING_MAX);
		s->cfg = cfg;
		s->lock_id = obs_lock_counter(cfg->name);
		stores[nstores++] = s;
	}
	s->hist_size = obs_hist_size();
	s->nwslots = obs_window_slots;
	s->npending = 0;
	memset(s->pindex, -1, sizeof(s->pindex));

	snprintf(name, sizeof(name), "observa %s", cfg->name);
	s->sh = ShmemInitStruct(name, store_block_size(cfg, s->nwslots), &found);
	p = (char *) s->sh + MAXALIGN(sizeof(StoreShared));
	s->entries = (StoreEntry *) p;
	p += MAXALIGN(sizeof(StoreEntry) * cfg->capacity);
	s->freelist = (int32 *) p;
	p += MAXALIGN(sizeof(int32) * cfg->capacity);
	s->keys = p;
	p += MAXALIGN(cfg->keysize * cfg->capacity);
	s->auxs = p;
	p += MAXALIGN(cfg->auxsize * cfg->capacity);
	s->hists = p;
	p += s->hist_size * cfg->capacity;
	s->wslots = (WindowSlot *) p;
	p += MAXALIGN(sizeof(WindowSlot) * s->nwslots);
	s->whists = p;

	memset(&info, 0, sizeof(info));
	info.keysize = cfg->keysize;
	info.entrysize = hash_entry_size(cfg);
	snprintf(name, sizeof(name), "observa %s hash", cfg->name);
	s->hash = ShmemInitHash(name, cfg->capacity, cfg->capacity, &info,
							HASH_ELEM | HASH_BLOBS);

	if (!found)
	{
		StoreShared *sh = s->sh;

		sh->tranche_id = LWLockNewTrancheId();
		LWLockInitialize(&sh->lock, sh->tranche_id);
		SpinLockInit(&sh->ring_mutex);
		sh->ring_next = 0;
		sh->nfree = cfg->capacity;
		sh->nused = 0;
		sh->evictions = 0;
		sh->stats_reset = GetCurrentTimestamp();
		sh->window_us = obs_store_window_us();
		sh->windows = obs_windows;
		pg_atomic_init_u32(&sh->reset_count, 0);
		pg_atomic_init_u64(&sh->window_recycles, 0);
		pg_atomic_init_u64(&sh->dropped, 0);
		strlcpy(sh->file_state, "no file", sizeof(sh->file_state));
		for (i = 0; i < cfg->capacity; i++)
		{
			SpinLockInit(&s->entries[i].mutex);
			s->entries[i].in_use = false;
			s->entries[i].generation = 0;
			/* pop order: slot 0 first */
			s->freelist[i] = cfg->capacity - 1 - i;
		}
		for (i = 0; i < s->nwslots; i++)
		{
			SpinLockInit(&s->wslots[i].mutex);
			s->wslots[i].owner = -1;
		}
	}
	LWLockRegisterTranche(s->sh->tranche_id, "observa_store");

	if (!IsUnderPostmaster)
	{
		if (!found)
			store_load(s);
		on_shmem_exit(store_shmem_exit, PointerGetDatum(s));
	}
	return s;
}

/* ----------------------------------------------------------------
 * hot path: backend-local pending data
 * ---------------------------------------------------------------- */

static void
store_exit_flush(int code, Datum arg)
{
	int			i;

	if (!obs_shmem_ready)
		return;
	for (i = 0; i < nstores; i++)
		store_flush(stores[i]);
}

static void
pending_clear(ObsStore *s)
{
	s->npending = 0;
	memset(s->pindex, -1, sizeof(s->pindex));
	s->pfailed = false;
}

/* the pending entry of key, created when absent; NULL when full */
static Pending *
pending_get(ObsStore *s, const void *key, const void *aux)
{
	Size		ks = s->cfg->keysize;
	uint32		h = hash_bytes((const unsigned char *) key, (int) ks);
	int			i,
				n;

	for (n = 0; n < OBS_PENDING_HASH; n++)
	{
		i = (h + n) & (OBS_PENDING_HASH - 1);
		if (s->pindex[i] < 0)
			break;
		if (memcmp(s->pending[s->pindex[i]].key, key, ks) == 0)
			return &s->pending[s->pindex[i]];
	}
	if (n >= OBS_PENDING_HASH || s->npending >= OBS_PENDING_MAX)
		return NULL;
	{
		Pending    *p = &s->pending[s->npending];

		memcpy(p->key, key, ks);
		if (s->cfg->auxsize > 0)
		{
			if (aux)
				memcpy(p->aux, aux, s->cfg->auxsize);
			else
				memset(p->aux, 0, s->cfg->auxsize);
		}
		p->npairs = 0;
		memset(p->pairs, 0xff, sizeof(p->pairs));	/* bucket = -1: empty */
		p->slot = -1;
		memset(&p->c, 0, sizeof(p->c));
		s->pindex[i] = (int16) s->npending;
		s->npending++;
		return p;
	}
}

/*
 * Add one value to a pending entry; false when its bucket table is full.
 * The (bucket, count) pairs are an open-addressing table, so a key whose
 * latencies spread over many buckets still costs O(1) per statement.
 */
static bool
pending_add(Pending *p, int bucket, double ms, uint64 rows, bool failed)
{
	uint32		i = ((uint32) bucket * 2654435761U) >> (32 - 7);
	int			n;

	StaticAssertStmt(OBS_PENDING_PAIRS == 128, "hash shift assumes 128 pairs");
	for (n = 0; n < OBS_PENDING_PAIRS; n++, i = (i + 1) & (OBS_PENDING_PAIRS - 1))
	{
		if (p->pairs[i].bucket == bucket)
			break;
		if (p->pairs[i].bucket < 0)
		{
			if (p->npairs >= OBS_PENDING_PAIRS_MAX)
				return false;
			p->pairs[i].bucket = bucket;
			p->pairs[i].count = 0;
			p->npairs++;
			break;
		}
	}
	p->pairs[i].count++;
	counters_add_one(&p->c, ms, rows, failed);
	return true;
}

/*
 * The time a statement that took 'ms' ends, for window numbers and flush
 * timing.  Reading the clock costs more than the rest of the hot path on
 * some machines, so this is the statement's start time (set by PostgreSQL
 * when the client's message arrived) plus its duration, with a real clock
 * read every 64th call (and when no start time is known) so that a process
 * whose statement start time is stale, like a background worker running
 * SPI, still moves forward.
 */
static TimestampTz
store_clock(double ms)
{
	static int	countdown = 0;
	TimestampTz start = GetCurrentStatementStartTimestamp();

	if (start == 0 || --countdown < 0)
	{
		countdown = 63;
		return GetCurrentTimestamp();
	}
	return start + (TimestampTz) (ms * 1000.0);
}

void
obs_store_record(ObsStore *s, const void *key, const void *aux, double ms,
				 uint64 rows, bool failed)
{
	TimestampTz now;
	int64		epoch;
	uint32		reset;
	int			bucket;
	Pending    *p;

	if (s == NULL || !obs_shmem_ready)
		return;

	if (!exit_flush_registered)
	{
		before_shmem_exit(store_exit_flush, (Datum) 0);
		exit_flush_registered = true;
	}

	/*
	 * One statement is recorded into several stores (and into the table
	 * store once per relation) in a row: the clock read and the bucket
	 * are computed once per duration.  Two different statements with the
	 * very same duration (ns resolution) would only reuse a time a few
	 * microseconds old, which is harmless.
	 */
	if (ms == cached_ms && cached_now != 0)
	{
		now = cached_now;
		bucket = cached_bucket;
	}
	else
	{
		now = store_clock(ms);
		bucket = obs_hist_bucket(ms);
		cached_ms = ms;
		cached_now = now;
		cached_bucket = bucket;
	}
	epoch = now / s->sh->window_us;
	reset = pg_atomic_read_u32(&s->sh->reset_count);
	if (s->npending > 0 && reset != s->preset)
		pending_clear(s);		/* recorded before a reset: drop */
	if (!failed && s->npending > 0 && epoch != s->pepoch)
		store_flush(s);
	if (s->npending == 0)
	{
		s->pepoch = epoch;
		s->preset = reset;
		if (s->last_flush == 0)
			s->last_flush = now;
	}

	p = pending_get(s, key, aux);
	if (p == NULL || !pending_add(p, bucket, ms, rows, failed))
	{
		if (failed)
		{
			/* error path: no flush here; counted and published later */
			s->pdropped++;
			s->pfailed = true;
			return;
		}
		store_flush(s);
		s->pepoch = epoch;
		s->preset = reset;
		p = pending_get(s, key, aux);
		if (p == NULL || !pending_add(p, bucket, ms, rows, failed))
			return;				/* cannot happen: the table is empty */
	}

	if (failed)
	{
		s->pfailed = true;
		return;
	}
	if (s->pfailed || ms >= OBS_FLUSH_SLOW_MS ||
		now - s->last_flush >= OBS_FLUSH_INTERVAL_US)
		store_flush(s);
}

/* ----------------------------------------------------------------
 * flush: pending -> shared
 * ---------------------------------------------------------------- */

static int32
shared_find(ObsStore *s, const void *key)
{
	void	   *he = hash_search(s->hash, key, HASH_FIND, NULL);

	return he ? HASH_SLOT(s, he) : -1;
}

typedef struct ScoreSlot
{
	double		usage;
	int32		slot;
} ScoreSlot;

static int
score_cmp(const void *a, const void *b)
{
	double		x = ((const ScoreSlot *) a)->usage;
	double		y = ((const ScoreSlot *) b)->usage;

	return (x < y) ? -1 : (x > y) ? 1 : 0;
}

/*
 * Evict the least used entries (5 % of the capacity, at least one).
 * Caller holds the store lock EXCLUSIVE.  Usage decays at every round so
 * that old activity counts less than recent activity.
 */
static void
store_evict(ObsStore *s)
{
	ScoreSlot  *scores = (ScoreSlot *) s->scratch_scores;
	Size		rec = s->cfg->keysize + s->cfg->auxsize;
	int			n = 0;
	int			i,
				nvict;

	for (i = 0; i < s->cfg->capacity; i++)
	{
		StoreEntry *e = &s->entries[i];

		if (!e->in_use)
			continue;
		OBS_SPIN_ACQUIRE(s->lock_id, &e->mutex);
		e->usage *= 0.95;
		scores[n].usage = e->usage;
		SpinLockRelease(&e->mutex);
		scores[n].slot = i;
		n++;
	}
	qsort(scores, n, sizeof(ScoreSlot), score_cmp);
	nvict = Min(n, NEVICT(s));
	for (i = 0; i < nvict; i++)
	{
		int32		slot = scores[i].slot;
		StoreEntry *e = &s->entries[slot];

		hash_search(s->hash, ENTRY_KEY(s, slot), HASH_REMOVE, NULL);
		if (s->scratch_evicted && s->nevicted < MAXEVICTED(s))
		{
			memcpy(s->scratch_evicted + rec * s->nevicted, ENTRY_KEY(s, slot),
				   s->cfg->keysize);
			memcpy(s->scratch_evicted + rec * s->nevicted + s->cfg->keysize,
				   ENTRY_AUX(s, slot), s->cfg->auxsize);
			s->nevicted++;
		}
		e->in_use = false;
		e->generation++;
		s->freelist[s->sh->nfree++] = slot;
		s->sh->nused--;
		s->sh->evictions++;
	}
}

/* create the entry of key (store lock EXCLUSIVE) */
static int32
store_create(ObsStore *s, const void *key, const void *aux, TimestampTz now)
{
	int32		slot;
	StoreEntry *e;
	void	   *he;

	if (s->sh->nfree == 0)
		store_evict(s);
	if (s->sh->nfree == 0)
		return -1;
	slot = s->freelist[--s->sh->nfree];
	e = &s->entries[slot];
	e->generation++;
	e->in_use = true;
	e->wslot = -1;
	e->wepoch = 0;
	e->since = now;
	e->usage = 0;
	memset(&e->c, 0, sizeof(e->c));
	memcpy(ENTRY_KEY(s, slot), key, s->cfg->keysize);
	if (s->cfg->auxsize > 0)
		memcpy(ENTRY_AUX(s, slot), aux, s->cfg->auxsize);
	obs_hist_reset(ENTRY_HIST(s, slot));
	he = hash_search(s->hash, key, HASH_ENTER, NULL);
	HASH_SLOT(s, he) = slot;
	s->sh->nused++;
	return slot;
}

static inline void
hist_add_pairs(ObsHistogram *h, const Pending *p)
{
	int			i;

	for (i = 0; i < OBS_PENDING_PAIRS; i++)
		if (p->pairs[i].bucket >= 0)
			obs_hist_add(h, p->pairs[i].bucket, p->pairs[i].count);
}

/* publish one pending entry into window epoch (store lock held) */
static void
window_apply(ObsStore *s, int32 slot, uint32 gen, int32 ws, int64 wepoch,
			 const Pending *p, int64 epoch)
{
	StoreShared *sh = s->sh;
	WindowSlot *w;

	if (ws >= 0 && wepoch == epoch)
	{
		w = &s->wslots[ws];
		OBS_SPIN_ACQUIRE(s->lock_id, &w->mutex);
		if (w->owner == slot && w->generation == gen && w->epoch == epoch)
		{
			counters_merge(&w->c, &p->c);
			hist_add_pairs(WSLOT_HIST(s, ws), p);
			SpinLockRelease(&w->mutex);
			return;
		}
		SpinLockRelease(&w->mutex);
	}

	/* take the next slot of the ring: the oldest one */
	OBS_SPIN_ACQUIRE(s->lock_id, &sh->ring_mutex);
	ws = sh->ring_next;
	sh->ring_next = (ws + 1) % s->nwslots;
	SpinLockRelease(&sh->ring_mutex);

	w = &s->wslots[ws];
	OBS_SPIN_ACQUIRE(s->lock_id, &w->mutex);
	if (w->owner >= 0 && w->epoch > epoch - sh->windows)
		pg_atomic_fetch_add_u64(&sh->window_recycles, 1);
	w->owner = -1;				/* writers and readers now skip it */
	SpinLockRelease(&w->mutex);

	obs_hist_reset(WSLOT_HIST(s, ws));

	OBS_SPIN_ACQUIRE(s->lock_id, &w->mutex);
	w->owner = slot;
	w->generation = gen;
	w->epoch = epoch;
	w->c = p->c;
	hist_add_pairs(WSLOT_HIST(s, ws), p);
	SpinLockRelease(&w->mutex);

	OBS_SPIN_ACQUIRE(s->lock_id, &s->entries[slot].mutex);
	if (s->entries[slot].generation == gen)
	{
		s->entries[slot].wslot = ws;
		s->entries[slot].wepoch = epoch;
	}
	SpinLockRelease(&s->entries[slot].mutex);
}

/* publish one pending entry into shared entry slot (store lock held) */
static void
entry_apply(ObsStore *s, int32 slot, const Pending *p)
{
	StoreEntry *e = &s->entries[slot];
	int32		ws;
	int64		wepoch;
	uint32		gen;

	OBS_SPIN_ACQUIRE(s->lock_id, &e->mutex);
	counters_merge(&e->c, &p->c);
	e->usage += (double) p->c.calls;
	hist_add_pairs(ENTRY_HIST(s, slot), p);
	ws = e->wslot;
	wepoch = e->wepoch;
	gen = e->generation;
	SpinLockRelease(&e->mutex);

	window_apply(s, slot, gen, ws, wepoch, p, s->pepoch);
}

static void
store_flush(ObsStore *s)
{
	StoreShared *sh = s->sh;
	int			nmissing = 0;
	int			i;

	if (s->pdropped > 0)
	{
		pg_atomic_fetch_add_u64(&sh->dropped, s->pdropped);
		s->pdropped = 0;
	}
	if (s->npending == 0)
	{
		s->pfailed = false;
		return;
	}

	OBS_LWLOCK_ACQUIRE(s->lock_id, &sh->lock, LW_SHARED);
	if (pg_atomic_read_u32(&sh->reset_count) != s->preset)
	{
		LWLockRelease(&sh->lock);
		pending_clear(s);
		return;
	}
	for (i = 0; i < s->npending; i++)
	{
		Pending    *p = &s->pending[i];

		p->slot = shared_find(s, p->key);
		if (p->slot >= 0)
			entry_apply(s, p->slot, p);
		else
			nmissing++;
	}
	LWLockRelease(&sh->lock);

	if (nmissing > 0)
	{
		TimestampTz now = GetCurrentTimestamp();

		/* allocate eviction scratch before taking the lock */
		if (s->scratch_scores == NULL)
		{
			s->scratch_scores =
				MemoryContextAllocExtended(TopMemoryContext,
										   sizeof(ScoreSlot) * s->cfg->capacity,
										   MCXT_ALLOC_NO_OOM);
			s->scratch_evicted =
				MemoryContextAllocExtended(TopMemoryContext,
										   (s->cfg->keysize + s->cfg->auxsize) * MAXEVICTED(s),
										   MCXT_ALLOC_NO_OOM);
		}
		s->nevicted = 0;

		OBS_LWLOCK_ACQUIRE(s->lock_id, &sh->lock, LW_EXCLUSIVE);
		if (pg_atomic_read_u32(&sh->reset_count) == s->preset)
		{
			for (i = 0; i < s->npending; i++)
			{
				Pending    *p = &s->pending[i];
				int32		slot;

				if (p->slot >= 0)
					continue;
				slot = shared_find(s, p->key);
				if (slot < 0)
				{
					if (sh->nfree == 0 && s->scratch_scores == NULL)
						continue;	/* out of memory for eviction: drop */
					slot = store_create(s, p->key, p->aux, now);
				}
				if (slot >= 0)
					entry_apply(s, slot, p);
			}
		}
		LWLockRelease(&sh->lock);

		if (s->cfg->evicted)
		{
			Size		rec = s->cfg->keysize + s->cfg->auxsize;

			for (i = 0; i < s->nevicted; i++)
				s->cfg->evicted(s, s->scratch_evicted + rec * i,
								s->scratch_evicted + rec * i + s->cfg->keysize);
		}
		s->nevicted = 0;
	}

	pending_clear(s);
	s->last_flush = GetCurrentTimestamp();
	obs_lock_counts_publish();
}

void
obs_store_flush(ObsStore *s)
{
	if (s != NULL && obs_shmem_ready)
		store_flush(s);
}

void
obs_store_reset(ObsStore *s, TimestampTz now)
{
	StoreShared *sh = s->sh;
	int			i;

	pending_clear(s);
	OBS_LWLOCK_ACQUIRE(s->lock_id, &sh->lock, LW_EXCLUSIVE);
	for (i = 0; i < s->cfg->capacity; i++)
	{
		StoreEntry *e = &s->entries[i];

		if (!e->in_use)
			continue;
		hash_search(s->hash, ENTRY_KEY(s, i), HASH_REMOVE, NULL);
		e->in_use = false;
		e->generation++;
	}
	for (i = 0; i < s->cfg->capacity; i++)
		s->freelist[i] = s->cfg->capacity - 1 - i;
	sh->nfree = s->cfg->capacity;
	sh->nused = 0;
	for (i = 0; i < s->nwslots; i++)
	{
		OBS_SPIN_ACQUIRE(s->lock_id, &s->wslots[i].mutex);
		s->wslots[i].owner = -1;
		SpinLockRelease(&s->wslots[i].mutex);
	}
	sh->evictions = 0;
	pg_atomic_write_u64(&sh->window_recycles, 0);
	pg_atomic_write_u64(&sh->dropped, 0);
	sh->stats_reset = now;
	pg_atomic_fetch_add_u32(&sh->reset_count, 1);
	LWLockRelease(&sh->lock);
}

/* ----------------------------------------------------------------
 * readers
 * ---------------------------------------------------------------- */

typedef struct QOrder
{
	double		q;
	int			idx;
} QOrder;

static int
qorder_cmp(const void *a, const void *b)
{
	double		x = ((const QOrder *) a)->q;
	double		y = ((const QOrder *) b)->q;

	return (x < y) ? -1 : (x > y) ? 1 : 0;
}

/* quantiles and bucket counts of one row from its histogram */
static void
row_summarize(ObsStoreRow *row, const ObsHistogram *h, const QOrder *qo,
			  int nq, const double *bounds, int nb)
{
	if (nq > 0)
	{
		double	   *qs = palloc(sizeof(double) * nq);
		double	   *out = palloc(sizeof(double) * nq);
		int			i;

		for (i = 0; i < nq; i++)
			qs[i] = qo[i].q;
		obs_hist_quantiles(h, qs, out, nq);
		row->quantiles = palloc(sizeof(double) * nq);
		for (i = 0; i < nq; i++)
		{
			double		v = out[i];

			/*
			 * The upper edge of the quantile's bucket, capped to the range
			 * recorded: never below the true (nearest-rank) quantile, at
			 * most observa.histogram_error above it.
			 */
			if (!isnan(v))
			{
				v = obs_hist_bucket_upper(obs_hist_bucket(v));
				v = Min(v, row->c.max_ms);
				v = Max(v, row->c.min_ms);
			}
			row->quantiles[qo[i].idx] = v;
		}
		pfree(qs);
		pfree(out);
	}
	if (nb > 0)
	{
		uint64		all = obs_hist_count_le(h, get_float8_infinity());
		int			i;

		row->counts_le = palloc(sizeof(int64) * nb);
		for (i = 0; i < nb; i++)
		{
			uint64		n;

			if (isinf(bounds[i]) && bounds[i] > 0)
			{
				row->counts_le[i] = row->c.calls;
				continue;
			}
			n = obs_hist_count_le(h, bounds[i]);
			/* after halvings, scale bucket counts back to calls */
			if (all > 0 && all != (uint64) row->c.calls)
				n = (uint64) floor((double) n * (double) row->c.calls / (double) all + 0.5);
			row->counts_le[i] = Min((int64) n, row->c.calls);
		}
	}
}

ObsStoreRow *
obs_store_snapshot(ObsStore *s, int64 since_us, const double *qs, int nq,
				   const double *bounds, int nb, int *nrows)
{
	StoreShared *sh = s->sh;
	int			cap = s->cfg->capacity;
	ObsStoreRow *rows = palloc0(sizeof(ObsStoreRow) * Max(cap, 1));
	ObsHistogram *tmp = palloc(s->hist_size);
	QOrder	   *qo = palloc(sizeof(QOrder) * Max(nq, 1));
	int			n = 0;
	int			i;

	for (i = 0; i < nq; i++)
	{
		qo[i].q = qs[i];
		qo[i].idx = i;
	}
	qsort(qo, nq, sizeof(QOrder), qorder_cmp);

	store_flush(s);

	OBS_LWLOCK_ACQUIRE(s->lock_id, &sh->lock, LW_SHARED);
	if (since_us < 0)
	{
		for (i = 0; i < cap; i++)
		{
			StoreEntry *e = &s->entries[i];
			ObsStoreRow *row = &rows[n];

			if (!e->in_use)
				continue;
			OBS_SPIN_ACQUIRE(s->lock_id, &e->mutex);
			row->c = e->c;
			row->since = e->since;
			memcpy(tmp, ENTRY_HIST(s, i), s->hist_size);
			SpinLockRelease(&e->mutex);
			if (row->c.calls == 0)
				continue;
			memcpy(row->key, ENTRY_KEY(s, i), s->cfg->keysize);
			memcpy(row->aux, ENTRY_AUX(s, i), s->cfg->auxsize);
			row_summarize(row, tmp, qo, nq, bounds, nb);
			n++;
		}
	}
	else
	{
		TimestampTz now = GetCurrentTimestamp();
		int64		cur = now / sh->window_us;
		int64		first = (now - since_us) / sh->window_us;
		int		   *map = palloc(sizeof(int) * cap);
		ObsHistogram **hists = palloc0(sizeof(ObsHistogram *) * cap);

		first = Max(first, cur - sh->windows + 1);
		for (i = 0; i < cap; i++)
			map[i] = -1;
		for (i = 0; i < s->nwslots; i++)
		{
			WindowSlot *w = &s->wslots[i];
			int32		owner;
			uint32		gen;
			int64		epoch;
			ObsCounters c;
			ObsStoreRow *row;

			OBS_SPIN_ACQUIRE(s->lock_id, &w->mutex);
			owner = w->owner;
			gen = w->generation;
			epoch = w->epoch;
			if (owner < 0 || epoch < first || epoch > cur)
			{
				SpinLockRelease(&w->mutex);
				continue;
			}
			c = w->c;
			memcpy(tmp, WSLOT_HIST(s, i), s->hist_size);
			SpinLockRelease(&w->mutex);

			/* in_use and generation are stable under the shared lock */
			if (!s->entries[owner].in_use ||
				s->entries[owner].generation != gen)
				continue;
			if (map[owner] < 0)
			{
				map[owner] = n;
				row = &rows[n++];
				memcpy(row->key, ENTRY_KEY(s, owner), s->cfg->keysize);
				memcpy(row->aux, ENTRY_AUX(s, owner), s->cfg->auxsize);
				row->since = epoch * sh->window_us;
				hists[owner] = palloc(s->hist_size);
				obs_hist_reset(hists[owner]);
			}
			row = &rows[map[owner]];
			counters_merge(&row->c, &c);
			row->since = Min(row->since, epoch * sh->window_us);
			obs_hist_merge(hists[owner], tmp);
		}
		for (i = 0; i < cap; i++)
		{
			if (map[i] < 0)
				continue;
			row_summarize(&rows[map[i]], hists[i], qo, nq, bounds, nb);
			pfree(hists[i]);
		}
		pfree(map);
		pfree(hists);
	}
	LWLockRelease(&sh->lock);

	pfree(tmp);
	pfree(qo);
	*nrows = n;
	return rows;
}

bool
obs_store_any(ObsStore *s, bool (*pred) (const void *key, void *arg),
			  void *arg)
{
	bool		found = false;
	int			i;

	OBS_LWLOCK_ACQUIRE(s->lock_id, &s->sh->lock, LW_SHARED);
	for (i = 0; i < s->cfg->capacity && !found; i++)
	{
		if (s->entries[i].in_use && pred(ENTRY_KEY(s, i), arg))
			found = true;
	}
	LWLockRelease(&s->sh->lock);
	return found;
}

void
obs_store_info(ObsStore *s, ObsInfoSink *sink, const char *section)
{
	StoreShared *sh = s->sh;
	int32		nused;
	int64		evictions;
	TimestampTz reset;
	char		state[160];
	char		buf[64];
	int			i,
				wused = 0;
	int64		cur = GetCurrentTimestamp() / sh->window_us;

	store_flush(s);
	OBS_LWLOCK_ACQUIRE(s->lock_id, &sh->lock, LW_SHARED);
	nused = sh->nused;
	evictions = sh->evictions;
	reset = sh->stats_reset;
	strlcpy(state, sh->file_state, sizeof(state));
	for (i = 0; i < s->nwslots; i++)
	{
		OBS_SPIN_ACQUIRE(s->lock_id, &s->wslots[i].mutex);
		if (s->wslots[i].owner >= 0 && s->wslots[i].epoch > cur - sh->windows)
			wused++;
		SpinLockRelease(&s->wslots[i].mutex);
	}
	LWLockRelease(&sh->lock);

	obs_info_add_int(sink, section, "entries", nused, "entries in use");
	obs_info_add_int(sink, section, "capacity", s->cfg->capacity,
					 "maximum number of entries");
	obs_info_add_int(sink, section, "evictions", evictions,
					 "entries evicted to make room since the last reset");
	obs_info_add_int(sink, section, "bytes_per_entry",
					 (int64) (s->hist_size + sizeof(StoreEntry) +
							  s->cfg->keysize + s->cfg->auxsize + sizeof(int32) +
							  hash_entry_size(s->cfg)),
					 "shared memory per entry, since-reset histogram included");
	obs_info_add_time(sink, section, "stats_reset", reset,
				 "time of the last observa.reset() (or of the start with empty statistics)");
	snprintf(buf, sizeof(buf), "%d s", (int) (sh->window_us / USECS_PER_SEC));
	obs_info_add(sink, section, "window", buf, "length of one time window (observa.window)");
	obs_info_add_int(sink, section, "windows", sh->windows,
					 "time windows kept (observa.windows)");
	obs_info_add_int(sink, section, "window_slots", s->nwslots,
					 "window histograms available (observa.window_slots)");
	obs_info_add_int(sink, section, "window_slots_used", wused,
					 "window slots holding a retained window");
	obs_info_add_int(sink, section, "window_slots_recycled",
					 (int64) pg_atomic_read_u64(&sh->window_recycles),
					 "retained windows lost because all window slots were taken");
	obs_info_add_int(sink, section, "samples_dropped",
					 (int64) pg_atomic_read_u64(&sh->dropped),
					 "failed statements not recorded because a backend's pending table was full");
	snprintf(buf, sizeof(buf), "%g", obs_histogram_error);
	obs_info_add(sink, section, "histogram_relative_error", buf,
				 "relative error bound of percentiles (observa.histogram_error)");
	obs_info_add(sink, section, "persistence", state,
				 "what start-up did with the saved statistics file");
	obs_info_add(sink, section, "save", obs_save_enabled() ? "on" : "off",
				 "statistics are saved at shutdown (observa.save)");
}

/* ----------------------------------------------------------------
 * persistence (the file format is persist.c's)
 * ---------------------------------------------------------------- */

typedef struct StoreFileRecord
{
	TimestampTz since;
	double		usage;
	ObsCounters c;
} StoreFileRecord;

/* record: StoreFileRecord, key, aux, since-reset histogram */
static Size
record_size(ObsStore *s)
{
	return sizeof(StoreFileRecord) + s->cfg->keysize + s->cfg->auxsize +
		s->hist_size;
}

static void
store_file_shape(ObsStore *s, ObsFileShape *shape)
{
	memset(shape, 0, sizeof(*shape));
	shape->name = s->cfg->name;
	shape->format = OBS_STORE_FILE_FORMAT;
	/* histogram shape and key/aux sizes: a file of other settings is refused */
	shape->layout = (uint32) obs_hist_nbuckets() ^
		((uint32) s->cfg->keysize << 16) ^ ((uint32) s->cfg->auxsize << 24);
	shape->record_size = (uint32) record_size(s);
}

static void
store_shmem_exit(int code, Datum arg)
{
	ObsStore   *s = (ObsStore *) DatumGetPointer(arg);
	ObsFileShape shape;
	ObsSaveFile sf;
	int64		n = 0;
	int			i;

	for (i = 0; i < s->cfg->capacity; i++)
		if (s->entries[i].in_use && s->entries[i].c.calls > 0)
			n++;
	store_file_shape(s, &shape);
	if (!obs_save_begin(&sf, &shape, code, n, s->sh->stats_reset))
		return;
	for (i = 0; i < s->cfg->capacity; i++)
	{
		StoreEntry *e = &s->entries[i];
		StoreFileRecord r;

		if (!e->in_use || e->c.calls == 0)
			continue;
		memset(&r, 0, sizeof(r));
		r.since = e->since;
		r.usage = e->usage;
		r.c = e->c;
		obs_save_write(&sf, &r, sizeof(r));
		obs_save_write(&sf, ENTRY_KEY(s, i), s->cfg->keysize);
		obs_save_write(&sf, ENTRY_AUX(s, i), s->cfg->auxsize);
		obs_save_write(&sf, ENTRY_HIST(s, i), s->hist_size);
	}
	obs_save_end(&sf);
}

/*
 * Read the saved statistics (postmaster start-up, no concurrency).  One
 * record at a time through a buffer of one record: the file's size says
 * nothing about the memory used.  Entries beyond the capacity are counted
 * as not loaded.
 */
static void
store_load(ObsStore *s)
{
	ObsFileShape shape;
	ObsLoadFile lf;
	Size		rsize = record_size(s);
	char	   *rec;
	int64		i,
				loaded = 0;
	char		msg[160];

	store_file_shape(s, &shape);
	if (!obs_load_begin(&lf, &shape, s->sh->file_state, sizeof(s->sh->file_state)))
		return;
	rec = MemoryContextAllocExtended(TopMemoryContext, rsize, MCXT_ALLOC_NO_OOM);
	for (i = 0; rec != NULL && i < lf.nrecords && s->sh->nfree > 0; i++)
	{
		char	   *p = rec;
		StoreFileRecord r;
		int32		slot;
		StoreEntry *e;

		if (!obs_load_read(&lf, rec, rsize))
			break;
		memcpy(&r, p, sizeof(r));
		p += sizeof(r);
		if (r.c.calls <= 0 || shared_find(s, p) >= 0)
			continue;
		slot = store_create(s, p, p + s->cfg->keysize, r.since);
		if (slot < 0)
			break;
		e = &s->entries[slot];
		e->c = r.c;
		e->usage = r.usage;
		memcpy(ENTRY_HIST(s, slot), p + s->cfg->keysize + s->cfg->auxsize,
			   s->hist_size);
		loaded++;
	}
	if (rec)
		pfree(rec);
	s->sh->stats_reset = lf.hdr.stats_reset;
	snprintf(msg, sizeof(msg), "loaded " INT64_FORMAT " of " INT64_FORMAT " entries",
			 loaded, lf.nrecords);
	obs_load_end(&lf, msg, s->sh->file_state, sizeof(s->sh->file_state));
}

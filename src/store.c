/*-------------------------------------------------------------------------
 *
 * store.c
 *		observa's one keyed statistics store (see store.h for the calls and
 *		the locking protocol).
 *
 * Layout (one shared block per store, sized at start-up):
 *	  - a header: the store LWLock, counters, the window levels, the cell
 *	    pool's free list;
 *	  - 'capacity' entries: counters, extra sums, payload, key, aux, the
 *	    head of a compact since-reset sketch (histogram.h), and a shared
 *	    dynahash key -> entry;
 *	  - window slots, one ring per window level: counters, the first
 *	    nextra_window extra sums and a sketch of one entry in one window;
 *	  - the cell pool: 64-byte cells every sketch of the store takes its
 *	    buckets from, so that a sketch costs what its spread needs.
 *
 * Windows.  Time is cut into windows at up to three resolutions (levels):
 * level 0 has windows of observa.window, the last observa.windows of them
 * kept; level 1 has windows of min(observa.window_history, 1 h) / 6, six
 * kept; level 2, only when observa.window_history is over an hour, has
 * windows of observa.window_history / 24, 24 kept.  A statement is added
 * to its window at every level (a write per level at publish time, none
 * on the hot path), so a level is complete on its own: since(S) is
 * answered from the finest level whose kept windows reach S back, with
 * the windows overlapping [now - S, now].  Each row's covered_since says
 * from when its numbers are complete: the start of the oldest window used,
 * later if the store started or was reset since, later still if windows
 * of that level had to be reused before they aged out (lost_until).
 * A window's epoch is floor(now / length); no background process rolls
 * windows over: a stale slot is recognised by its epoch.  A slot belongs
 * to an entry through (slot number, generation); an entry's generation
 * changes when it is evicted, so windows of an evicted entry never count
 * for the entry that reuses its slot.  Each level's slots form a ring of
 * capacity * (windows + 1) slots (or observa.window_slots), reused oldest
 * first.
 *
 * Sketch cells.  The pool holds capacity * 16 + (window slots) cells.  A
 * publisher first asks how many new cells a sketch needs for its pending
 * buckets (usually none), takes them from the pool (pool spinlock), then
 * takes the entry's or slot's spinlock and adds; unused cells go back.
 * Cells return to the pool when a window slot is reused, when an entry is
 * evicted and at reset.  When the pool runs dry, the store evicts its
 * least useful entries as it does when it is full (evictions_for_memory);
 * counts that still find no cell are dropped from the sketch (counted in
 * sketch_counts_dropped; calls and times are never dropped).
 *
 * Hot path: obs_store_record() only updates a backend-local pending table
 * (counters, extra sums, payload and a sparse bucket list per key).  A
 * flush publishes it when 200 ms passed since the last flush and 1 000
 * values were recorded since (so a busy backend flushes at most once per
 * 1 000 statements and its flushes' locks stay under the hot-path budget,
 * docs/performance.md), when 1 s passed, when the statement took >= 10 ms, after a failed statement, when the level-0
 * window changes, when the pending table is full (64 keys, or 96 distinct
 * latency buckets for one key), before an observa read in this backend,
 * and at backend exit (before_shmem_exit).  A failed statement (error
 * path) touches only the pending table.  "Now" on the hot path is the
 * statement's start time plus its duration (store_clock), with a real
 * clock read every 64th statement.  The bucket of a duration is computed
 * from its bits (histogram.c), without log().
 *
 * Eviction (EXCLUSIVE, 5 % of the capacity at a time): usage decay (the
 * least used by calls decayed 5 % per round) or Space-Saving by calls with
 * a pinned "(other)" entry per group that receives what is evicted
 * (counters, sums, payload, sketch and windows), see store.h.
 *
 * Reset: observa.reset() clears entries, windows and cells under EXCLUSIVE
 * and bumps reset_count; pending data recorded before it is discarded at
 * its flush.
 *
 * Persistence (persist.c's format): at a clean shutdown the postmaster
 * writes the since-reset entries (not the windows): per entry its
 * counters, extra sums, payload, error bound, key, aux and the sketch's
 * non-empty buckets; at start-up they are read back one record at a time
 * and every length is checked against its bound.
 *
 * Memory per entry (observa.info bytes_per_entry): the entry, key, aux,
 * payload and extra sums, its hash entry, 16 pool cells (1 kB: three
 * decades of latencies at 1 % fill 13 narrow cells), and per window level
 * (windows + 1) slots of 88 bytes + 8 per extra window sum, each with one
 * pool cell.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
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
#define OBS_FLUSH_BATCH			2000	/* records, to flush at the interval */
#define OBS_FLUSH_MAX_US		1000000 /* 1 s: flush with fewer */
#define OBS_FLUSH_SLOW_MS		10.0
#define OBS_PENDING_MAX			64
#define OBS_PENDING_HASH		128 /* power of 2, > OBS_PENDING_MAX */
#define OBS_PENDING_PAIRS		256 /* power of 2: open addressing */
#define OBS_PENDING_PAIRS_LOG2	8
#define OBS_PENDING_PAIRS_MAX	192 /* flush when a key has this many */

/* cells of the pool per entry and per window slot */
#define OBS_CELLS_PER_ENTRY		16
#define OBS_CELLS_PER_SLOT		1

#define OBS_STORE_FILE_FORMAT	3
#define OBS_MAX_STORES			8

/* settings */
static int	obs_window_s = 60;
static int	obs_windows = 5;
static int	obs_window_history_s = 3600;
static int	obs_window_slots = 0;
static double obs_histogram_error = OBS_HIST_DEFAULT_ERROR;

typedef struct StoreEntry
{
	slock_t		mutex;
	bool		in_use;
	bool		pinned;			/* Space-Saving "(other)": never evicted */
	uint32		generation;		/* bumped at every eviction and reset */
	TimestampTz since;
	double		usage;			/* usage rule: decayed calls */
	int64		error_bound;	/* Space-Saving: calls it may lack */
	double		error_bound_ms; /* ... and their time */
	ObsCounters c;
	ObsSketch	sk;
	int32		wslot[OBS_STORE_LEVELS];	/* hint: window slot of ... */
	int32		wepoch[OBS_STORE_LEVELS];	/* ... this epoch */
} StoreEntry;

typedef struct WindowSlot
{
	slock_t		mutex;
	int32		owner;			/* entry slot, -1 when free */
	uint32		generation;		/* the owner's generation */
	int32		epoch;
	ObsCounters c;
	ObsSketch	sk;
} WindowSlot;

typedef struct WindowLevel
{
	int64		len_us;			/* window length */
	int32		nwindows;		/* kept */
	int32		nslots;
	int32		first_slot;		/* index of its first slot */
	slock_t		ring_mutex;
	int32		ring_next;
	pg_atomic_uint64 recycled;	/* kept windows lost to a full ring */
	pg_atomic_uint64 lost_until;	/* incomplete before this time */
} WindowLevel;

/* a free list of sketch cells, linked through their first 4 bytes */
typedef struct CellPool
{
	slock_t		mutex;
	int32		head;
	int32		nfree;
	int32		ncells;
	int32		first;			/* its first cell in the arena */
} CellPool;

#define POOL_ENTRIES	0
#define POOL_WINDOWS	1

typedef struct StoreShared
{
	LWLock		lock;
	int			tranche_id;
	int32		nfree;
	int32		nused;
	int64		evictions;
	int64		memory_evictions;
	TimestampTz stats_reset;
	TimestampTz windows_since;	/* windows are complete from then on */
	int64		ss_floor;		/* Space-Saving: largest estimate evicted */
	double		ss_floor_ms;	/* ... of time */
	int32		nlevels;
	WindowLevel levels[OBS_STORE_LEVELS];
	pg_atomic_uint32 reset_count;
	pg_atomic_uint64 dropped;
	pg_atomic_uint64 counts_dropped;
	CellPool	pools[2];		/* POOL_ENTRIES, POOL_WINDOWS */
	char		file_state[160];
} StoreShared;

typedef struct Pending
{
	char		key[OBS_STORE_MAX_KEY];
	char		aux[OBS_STORE_MAX_AUX];
	char		payload[OBS_STORE_MAX_PAYLOAD];
	int32		slot;			/* flush scratch: shared slot or -1 */
	int			npairs;
	bool		has_payload;
	bool		short_of_cells; /* flush scratch */
	ObsBucketCount pairs[OBS_PENDING_PAIRS];	/* bucket -1: empty */
	ObsCounters c;
	double		extra[OBS_STORE_MAX_EXTRA];
} Pending;

struct ObsStore
{
	const ObsStoreConfig *cfg;
	int			lock_id;		/* obs_lock_counter() of cfg->name */
	int			nslots;			/* all levels */
	int			nlevels;
	StoreShared *sh;
	HTAB	   *hash;
	StoreEntry *entries;
	int32	   *freelist;
	char	   *keys;
	char	   *auxs;
	char	   *payloads;
	double	   *extras;
	WindowSlot *wslots;
	double	   *wextras;
	char	   *cells;

	/* backend-local pending data */
	Pending    *pending;
	int			npending;
	int			plast;			/* pending entry returned last, -1: none */
	int16		pindex[OBS_PENDING_HASH];
	int64		pepoch;
	uint32		preset;
	bool		pfailed;
	uint64		pdropped;
	int			precords;		/* records since the last flush */
	TimestampTz last_flush;

	/* flush and eviction scratch, allocated before any lock is taken */
	ObsBucketCount *scratch_pairs;	/* sorted pairs of one pending entry */
	ObsBucketCount *scratch_work;	/* a copy obs_sketch_add consumes */
	int32	   *scratch_cells;
	ObsCellStack spare;			/* cells taken for one publish */
	uint64		plost;			/* counts one publish could not place */
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

#define SCRATCH_CELLS			(2 * OBS_PENDING_PAIRS + OBS_SKETCH_MAX_CELLS + 8)

#define HASH_SLOT(s, he) (*(int32 *) ((char *) (he) + MAXALIGN((s)->cfg->keysize)))
#define ENTRY_KEY(s, i) ((s)->keys + (Size) (i) * (s)->cfg->keysize)
#define ENTRY_AUX(s, i) ((s)->auxs + (Size) (i) * (s)->cfg->auxsize)
#define ENTRY_PAYLOAD(s, i) ((s)->payloads + (Size) (i) * (s)->cfg->payloadsize)
#define ENTRY_EXTRA(s, i) ((s)->extras + (Size) (i) * (s)->cfg->nextra)
#define WSLOT_EXTRA(s, i) ((s)->wextras + (Size) (i) * (s)->cfg->nextra_window)
#define NEVICT(s) Max(1, (s)->cfg->capacity / 20)
/* evicted keys remembered per flush for the eviction callback */
#define MAXEVICTED(s) Min((s)->cfg->capacity, 2 * OBS_PENDING_MAX * NEVICT(s))
#define LOCK(s, l, m) OBS_LWLOCK_ACQUIRE((s)->lock_id, (l), (m))
#define SPIN(s, l) OBS_SPIN_ACQUIRE((s)->lock_id, (l))

static void store_flush(ObsStore *s);
static void store_load(ObsStore *s);
static void store_shmem_exit(int code, Datum arg);
static int32 store_create(ObsStore *s, const void *key, const void *aux,
						  TimestampTz now, bool pinned);
static void store_evict(ObsStore *s, bool for_memory);

/* ----------------------------------------------------------------
 * settings
 * ---------------------------------------------------------------- */

void
obs_store_init(void)
{
	DefineCustomIntVariable("observa.window",
							"Length of the finest statistics time window.",
							"observa.table_stats(since) and the like merge the windows covering the interval.",
							&obs_window_s,
							60, 1, 86400,
							PGC_POSTMASTER,
							GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("observa.windows",
							"Number of finest time windows kept.",
							"Older statistics are kept in coarser windows up to observa.window_history.",
							&obs_windows,
							5, 1, 1000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("observa.window_history",
							"How far back windowed statistics reach.",
							"Up to an hour in 6 windows; beyond, another 24 coarser windows reach this far.",
							&obs_window_history_s,
							3600, 1, 31 * 86400,
							PGC_POSTMASTER,
							GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("observa.window_slots",
							"Window slots per window level of each statistics store (0: automatic).",
							"Automatic: capacity * (windows kept + 1), every entry active in every window.",
							&obs_window_slots,
							0, 0, 10000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);
	DefineCustomRealVariable("observa.histogram_error",
							 "Relative error bound of latency percentiles.",
							 "Smaller values cost more memory per sketch.",
							 &obs_histogram_error,
							 OBS_HIST_DEFAULT_ERROR, OBS_HIST_MIN_ERROR,
							 OBS_HIST_MAX_ERROR,
							 PGC_POSTMASTER,
							 0,
							 NULL, NULL, NULL);
	obs_hist_configure(obs_histogram_error);
}

int64
obs_store_window_us(void)
{
	return (int64) obs_window_s * USECS_PER_SEC;
}

/* the window levels of the settings (see the header comment) */
static int
plan_levels(const ObsStoreConfig *cfg, WindowLevel *lv)
{
	int64		w0 = obs_store_window_us();
	int64		hist = (int64) obs_window_history_s * USECS_PER_SEC;
	int64		hour = USECS_PER_HOUR;
	int			n = 0;

	memset(lv, 0, sizeof(WindowLevel) * OBS_STORE_LEVELS);
	lv[n].len_us = w0;
	lv[n].nwindows = obs_windows;
	n++;
	if (hist > w0 * obs_windows)
	{
		int64		span = Min(hist, hour);
		int64		len = Max(w0, (span + 5) / 6);

		len = (len + w0 - 1) / w0 * w0;
		if (len * 6 > w0 * obs_windows)
		{
			lv[n].len_us = len;
			lv[n].nwindows = 6;
			n++;
		}
		if (hist > Max(hour, len * 6))
		{
			len = (hist + 23) / 24;
			len = (len + w0 - 1) / w0 * w0;
			lv[n].len_us = len;
			lv[n].nwindows = 24;
			n++;
		}
	}
	for (int i = 0; i < n; i++)
	{
		int64		slots = obs_window_slots > 0 ? obs_window_slots :
		(int64) cfg->capacity * (lv[i].nwindows + 1);

		lv[i].nslots = (int32) Min(slots, (int64) 50000000);
	}
	return n;
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

static inline void
extras_add(double *dst, const double *src, int n)
{
	for (int i = 0; i < n; i++)
		dst[i] += src[i];
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

static int
total_slots(const WindowLevel *lv, int nlevels)
{
	int64		n = 0;

	for (int i = 0; i < nlevels; i++)
		n += lv[i].nslots;
	return (int) Min(n, (int64) PG_INT32_MAX / 2);
}

/* cells of the entries' pool and of the windows' pool */
static int32
pool_cells(const ObsStoreConfig *cfg, int nslots, int pool)
{
	int64		n = pool == POOL_ENTRIES ?
	(int64) cfg->capacity * OBS_CELLS_PER_ENTRY :
	(int64) nslots * OBS_CELLS_PER_SLOT;

	return (int32) Min(Max(n, OBS_SKETCH_MAX_CELLS), (int64) PG_INT32_MAX / 4);
}

/* bytes of the main block (the hash table is separate) */
static Size
store_block_size(const ObsStoreConfig *cfg, int nslots)
{
	Size		size = MAXALIGN(sizeof(StoreShared));
	int			cap = cfg->capacity;

	size = add_size(size, MAXALIGN(mul_size(cap, sizeof(StoreEntry))));
	size = add_size(size, MAXALIGN(mul_size(cap, sizeof(int32))));
	size = add_size(size, MAXALIGN(mul_size(cap, cfg->keysize)));
	size = add_size(size, MAXALIGN(mul_size(cap, cfg->auxsize)));
	size = add_size(size, MAXALIGN(mul_size(cap, cfg->payloadsize)));
	size = add_size(size, MAXALIGN(mul_size(mul_size(cap, cfg->nextra), sizeof(double))));
	size = add_size(size, MAXALIGN(mul_size(nslots, sizeof(WindowSlot))));
	size = add_size(size, MAXALIGN(mul_size(mul_size(nslots, cfg->nextra_window), sizeof(double))));
	/* cells are aligned on a cache line */
	size = add_size(size, PG_CACHE_LINE_SIZE);
	size = add_size(size, mul_size(pool_cells(cfg, nslots, POOL_ENTRIES) +
								   pool_cells(cfg, nslots, POOL_WINDOWS),
								   OBS_SKETCH_CELL_SIZE));
	return size;
}

Size
obs_store_shmem_size(const ObsStoreConfig *cfg)
{
	WindowLevel lv[OBS_STORE_LEVELS];
	int			nlevels = plan_levels(cfg, lv);

	Assert(cfg->keysize <= OBS_STORE_MAX_KEY && cfg->auxsize <= OBS_STORE_MAX_AUX);
	Assert(cfg->payloadsize <= OBS_STORE_MAX_PAYLOAD);
	Assert(cfg->nextra <= OBS_STORE_MAX_EXTRA && cfg->nextra_window <= cfg->nextra);
	return add_size(store_block_size(cfg, total_slots(lv, nlevels)),
					hash_estimate_size(cfg->capacity, hash_entry_size(cfg)));
}

/* link every cell of a pool into its free list (start-up, reset) */
static void
pool_rebuild(ObsStore *s, CellPool *pool)
{
	int32		i;

	for (i = 0; i < pool->ncells; i++)
		*(int32 *) (s->cells + (Size) (pool->first + i) * OBS_SKETCH_CELL_SIZE) =
			(i + 1 < pool->ncells) ? pool->first + i + 1 : -1;
	pool->head = pool->ncells > 0 ? pool->first : -1;
	pool->nfree = pool->ncells;
}

static void
init_shared(ObsStore *s, WindowLevel *lv)
{
	StoreShared *sh = s->sh;
	const ObsStoreConfig *cfg = s->cfg;
	int			i,
				first = 0;

	sh->tranche_id = LWLockNewTrancheId();
	LWLockInitialize(&sh->lock, sh->tranche_id);
	sh->nfree = cfg->capacity;
	sh->nused = 0;
	sh->evictions = 0;
	sh->memory_evictions = 0;
	sh->stats_reset = GetCurrentTimestamp();
	sh->windows_since = sh->stats_reset;
	sh->ss_floor = 0;
	sh->ss_floor_ms = 0.0;
	sh->nlevels = s->nlevels;
	for (i = 0; i < s->nlevels; i++)
	{
		sh->levels[i] = lv[i];
		sh->levels[i].first_slot = first;
		first += lv[i].nslots;
		SpinLockInit(&sh->levels[i].ring_mutex);
		sh->levels[i].ring_next = 0;
		pg_atomic_init_u64(&sh->levels[i].recycled, 0);
		pg_atomic_init_u64(&sh->levels[i].lost_until, 0);
	}
	pg_atomic_init_u32(&sh->reset_count, 0);
	pg_atomic_init_u64(&sh->dropped, 0);
	pg_atomic_init_u64(&sh->counts_dropped, 0);
	for (i = 0; i < 2; i++)
	{
		CellPool   *pool = &sh->pools[i];

		SpinLockInit(&pool->mutex);
		pool->ncells = pool_cells(cfg, s->nslots, i);
		pool->first = i == 0 ? 0 : sh->pools[0].ncells;
		pool_rebuild(s, pool);
	}
	strlcpy(sh->file_state, "no file", sizeof(sh->file_state));
	for (i = 0; i < cfg->capacity; i++)
	{
		SpinLockInit(&s->entries[i].mutex);
		s->entries[i].in_use = false;
		s->entries[i].generation = 0;
		/* pop order: slot 0 first */
		s->freelist[i] = cfg->capacity - 1 - i;
	}
	for (i = 0; i < s->nslots; i++)
	{
		SpinLockInit(&s->wslots[i].mutex);
		s->wslots[i].owner = -1;
		obs_sketch_init(&s->wslots[i].sk);
	}
}

/* backend-local handle of cfg's store, created on first use */
static ObsStore *
store_handle(const ObsStoreConfig *cfg)
{
	ObsStore   *s;
	int			i;

	/* reuse the handle after a crash restart of the postmaster */
	for (i = 0; i < nstores; i++)
		if (stores[i]->cfg == cfg)
			return stores[i];
	if (nstores >= OBS_MAX_STORES)
		elog(ERROR, "too many observa stores");
	s = MemoryContextAllocZero(TopMemoryContext, sizeof(ObsStore));
	s->pending = MemoryContextAllocZero(TopMemoryContext,
										sizeof(Pending) * OBS_PENDING_MAX);
	s->cfg = cfg;
	s->lock_id = obs_lock_counter(cfg->name);
	stores[nstores++] = s;
	return s;
}

ObsStore *
obs_store_attach(const ObsStoreConfig *cfg)
{
	ObsStore   *s = store_handle(cfg);
	WindowLevel lv[OBS_STORE_LEVELS];
	HASHCTL		info;
	bool		found;
	char		name[64];
	char	   *p;

	s->nlevels = plan_levels(cfg, lv);
	s->nslots = total_slots(lv, s->nlevels);
	s->npending = 0;
	s->plast = -1;
	memset(s->pindex, -1, sizeof(s->pindex));

	snprintf(name, sizeof(name), "observa %s", cfg->name);
	s->sh = ShmemInitStruct(name, store_block_size(cfg, s->nslots), &found);
	p = (char *) s->sh + MAXALIGN(sizeof(StoreShared));
	s->entries = (StoreEntry *) p;
	p += MAXALIGN(sizeof(StoreEntry) * cfg->capacity);
	s->freelist = (int32 *) p;
	p += MAXALIGN(sizeof(int32) * cfg->capacity);
	s->keys = p;
	p += MAXALIGN(cfg->keysize * cfg->capacity);
	s->auxs = p;
	p += MAXALIGN(cfg->auxsize * cfg->capacity);
	s->payloads = p;
	p += MAXALIGN(cfg->payloadsize * cfg->capacity);
	s->extras = (double *) p;
	p += MAXALIGN(sizeof(double) * cfg->nextra * cfg->capacity);
	s->wslots = (WindowSlot *) p;
	p += MAXALIGN(sizeof(WindowSlot) * s->nslots);
	s->wextras = (double *) p;
	p += MAXALIGN(sizeof(double) * cfg->nextra_window * s->nslots);
	s->cells = (char *) TYPEALIGN(PG_CACHE_LINE_SIZE, p);

	memset(&info, 0, sizeof(info));
	info.keysize = cfg->keysize;
	info.entrysize = hash_entry_size(cfg);
	snprintf(name, sizeof(name), "observa %s hash", cfg->name);
	s->hash = ShmemInitHash(name, cfg->capacity, cfg->capacity, &info,
							HASH_ELEM | HASH_BLOBS);

	if (!found)
		init_shared(s, lv);
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
 * the cell pool
 * ---------------------------------------------------------------- */

#define CELL_NEXT(s, i) (*(int32 *) ((s)->cells + (Size) (i) * OBS_SKETCH_CELL_SIZE))

/* take up to n free cells of pool onto st; returns how many were taken */
static int
pool_take(ObsStore *s, int pool, int n, ObsCellStack *st)
{
	CellPool   *cp = &s->sh->pools[pool];
	int			got = 0;

	if (n <= 0)
		return 0;
	SPIN(s, &cp->mutex);
	while (got < n && cp->head >= 0 && st->n < st->max)
	{
		int32		c = cp->head;

		cp->head = CELL_NEXT(s, c);
		cp->nfree--;
		st->cells[st->n++] = c;
		got++;
	}
	SpinLockRelease(&cp->mutex);
	return got;
}

/* give every cell of st back to pool */
static void
pool_give(ObsStore *s, int pool, ObsCellStack *st)
{
	CellPool   *cp = &s->sh->pools[pool];

	if (st->n == 0)
		return;
	SPIN(s, &cp->mutex);
	while (st->n > 0)
	{
		int32		c = st->cells[--st->n];

		CELL_NEXT(s, c) = cp->head;
		cp->head = c;
		cp->nfree++;
	}
	SpinLockRelease(&cp->mutex);
}

/* release a sketch that nobody can reach any more */
static void
sketch_free(ObsStore *s, int pool, ObsSketch *sk)
{
	int32		buf[OBS_SKETCH_MAX_CELLS + 8];
	ObsCellStack st = {buf, 0, lengthof(buf)};

	obs_sketch_release(sk, s->cells, &st);
	pool_give(s, pool, &st);
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
	s->plast = -1;
	memset(s->pindex, -1, sizeof(s->pindex));
	s->pfailed = false;
}

/* the pending entry of key, created when absent; NULL when full */
static Pending *
pending_get(ObsStore *s, const void *key, const void *aux)
{
	const ObsStoreConfig *cfg = s->cfg;
	uint32		h;
	Pending    *p;
	int			i,
				n;

	/* a backend mostly repeats its last statement: no hashing then */
	if (s->plast >= 0 && s->plast < s->npending &&
		memcmp(s->pending[s->plast].key, key, cfg->keysize) == 0)
		return &s->pending[s->plast];
	h = hash_bytes((const unsigned char *) key, (int) cfg->keysize);
	for (n = 0; n < OBS_PENDING_HASH; n++)
	{
		i = (h + n) & (OBS_PENDING_HASH - 1);
		if (s->pindex[i] < 0)
			break;
		if (memcmp(s->pending[s->pindex[i]].key, key, cfg->keysize) == 0)
		{
			s->plast = s->pindex[i];
			return &s->pending[s->plast];
		}
	}
	if (n >= OBS_PENDING_HASH || s->npending >= OBS_PENDING_MAX)
		return NULL;
	p = &s->pending[s->npending];
	memcpy(p->key, key, cfg->keysize);
	if (cfg->auxsize > 0)
	{
		if (aux)
			memcpy(p->aux, aux, cfg->auxsize);
		else
			memset(p->aux, 0, cfg->auxsize);
	}
	p->npairs = 0;
	memset(p->pairs, 0xff, sizeof(p->pairs));	/* bucket = -1: empty */
	p->slot = -1;
	p->has_payload = false;
	memset(&p->c, 0, sizeof(p->c));
	if (cfg->nextra > 0)
		memset(p->extra, 0, sizeof(double) * cfg->nextra);
	s->pindex[i] = (int16) s->npending;
	s->plast = s->npending;
	s->npending++;
	return p;
}

/*
 * Add one value to a pending entry; false when its bucket table is full.
 * The (bucket, count) pairs are an open-addressing table, so a key whose
 * latencies spread over many buckets still costs O(1) per statement.
 */
static bool
pending_add(ObsStore *s, Pending *p, int bucket, const ObsStoreValue *v)
{
	const ObsStoreConfig *cfg = s->cfg;
	uint32		i = ((uint32) bucket * 2654435761U) >> (32 - OBS_PENDING_PAIRS_LOG2);
	int			n;

	StaticAssertStmt(OBS_PENDING_PAIRS == (1 << OBS_PENDING_PAIRS_LOG2),
					 "hash shift assumes OBS_PENDING_PAIRS_LOG2");
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
	counters_add_one(&p->c, v->ms, v->rows, v->failed);
	if (v->extra && cfg->nextra > 0)
		extras_add(p->extra, v->extra, cfg->nextra);
	if (v->payload && cfg->payloadsize > 0)
	{
		if (!p->has_payload)
		{
			memset(p->payload, 0, cfg->payloadsize);
			p->has_payload = true;
		}
		cfg->payload_merge(p->payload, v->payload);
	}
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
obs_store_record(ObsStore *s, const void *key, const void *aux,
				 const ObsStoreValue *v)
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
	if (v->ms == cached_ms && cached_now != 0)
	{
		now = cached_now;
		bucket = cached_bucket;
	}
	else
	{
		now = store_clock(v->ms);
		bucket = obs_hist_bucket(v->ms);
		cached_ms = v->ms;
		cached_now = now;
		cached_bucket = bucket;
	}
	epoch = now / s->sh->levels[0].len_us;
	reset = pg_atomic_read_u32(&s->sh->reset_count);
	if (s->npending > 0 && reset != s->preset)
		pending_clear(s);		/* recorded before a reset: drop */
	if (!v->failed && s->npending > 0 && epoch != s->pepoch)
		store_flush(s);
	if (s->npending == 0)
	{
		s->pepoch = epoch;
		s->preset = reset;
		if (s->last_flush == 0)
			s->last_flush = now;
	}

	p = pending_get(s, key, aux);
	if (p == NULL || !pending_add(s, p, bucket, v))
	{
		if (v->failed)
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
		if (p == NULL || !pending_add(s, p, bucket, v))
			return;				/* cannot happen: the table is empty */
	}

	if (v->failed)
	{
		s->pfailed = true;
		return;
	}
	s->precords++;
	if (s->pfailed || v->ms >= OBS_FLUSH_SLOW_MS ||
		(now - s->last_flush >= OBS_FLUSH_INTERVAL_US &&
		 (s->precords >= OBS_FLUSH_BATCH ||
		  now - s->last_flush >= OBS_FLUSH_MAX_US)))
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

/* the sorted (bucket, count) pairs of p into s->scratch_pairs */
static int
pending_pairs(ObsStore *s, const Pending *p)
{
	int			n = 0;

	for (int i = 0; i < OBS_PENDING_PAIRS; i++)
		if (p->pairs[i].bucket >= 0)
			s->scratch_pairs[n++] = p->pairs[i];
	return obs_sketch_sort_counts(s->scratch_pairs, n);
}

/* a kept window of level L was reused early: incomplete until its end */
static void
window_lost(ObsStore *s, int L, int32 epoch)
{
	WindowLevel *lv = &s->sh->levels[L];
	uint64		end = (uint64) ((int64) epoch + 1) * lv->len_us;
	uint64		cur = pg_atomic_read_u64(&lv->lost_until);

	pg_atomic_fetch_add_u64(&lv->recycled, 1);
	while (cur < end &&
		   !pg_atomic_compare_exchange_u64(&lv->lost_until, &cur, end))
		;
}

/* free level L's oldest slot (the ring's next one): the window is lost */
static void
window_reclaim(ObsStore *s, int L)
{
	WindowLevel *lv = &s->sh->levels[L];
	WindowSlot *w;
	ObsSketch	old;
	int32		old_owner;
	int32		old_epoch;
	int32		ws;

	SPIN(s, &lv->ring_mutex);
	ws = lv->first_slot + lv->ring_next;
	lv->ring_next = (lv->ring_next + 1) % lv->nslots;
	SpinLockRelease(&lv->ring_mutex);

	w = &s->wslots[ws];
	SPIN(s, &w->mutex);
	old = w->sk;
	old_owner = w->owner;
	old_epoch = w->epoch;
	obs_sketch_init(&w->sk);
	w->owner = -1;
	SpinLockRelease(&w->mutex);
	if (old_owner >= 0)
		window_lost(s, L, old_epoch);
	if (old.head >= 0)
		sketch_free(s, POOL_WINDOWS, &old);
}

/*
 * Add pairs to the sketch sk guarded by mutex (held on entry, held on
 * return).  Cells are taken from the pool with the spinlock released
 * (for a window sketch, freeing the oldest windows of its level when the
 * pool is dry); valid() says, with the spinlock held again, that sk still
 * belongs to the same owner: false is returned otherwise.  Cells left
 * over stay in s->spare and counts that found no cell in s->plost until
 * publish_done(), which the caller calls once it released the spinlock.
 */
static bool
sketch_publish(ObsStore *s, int pool, int level, slock_t *mutex,
			   ObsSketch *sk, const ObsBucketCount *pairs, int npairs,
			   bool (*valid) (ObsStore *, void *), void *arg)
{
	int			left = npairs;
	int			round;

	memcpy(s->scratch_work, pairs, sizeof(ObsBucketCount) * npairs);

	/*
	 * Usually no cell is needed and this is one pass.  Another publisher
	 * may take the cells counted here while the spinlock is released, so
	 * what is left is retried a few times before it counts as dropped.
	 */
	for (round = 0; round < 4 && left > 0; round++)
	{
		int			need = obs_sketch_cells_needed(sk, s->cells, s->scratch_work, npairs);

		if (need > s->spare.n)
		{
			int			tries = 0;

			SpinLockRelease(mutex);
			(void) pool_take(s, pool, need - s->spare.n, &s->spare);
			while (s->spare.n < need && level >= 0 && tries++ < 64)
			{
				window_reclaim(s, level);
				(void) pool_take(s, pool, need - s->spare.n, &s->spare);
			}
			SPIN(s, mutex);
			if (valid && !valid(s, arg))
				return false;
		}
		left = obs_sketch_add(sk, s->cells, s->scratch_work, npairs, &s->spare);
	}
	if (left > 0)
	{
		for (int i = 0; i < npairs; i++)
			s->plost += s->scratch_work[i].count;
	}
	return true;
}

/* after sketch_publish, its spinlock released: give back what is left */
static void
publish_done(ObsStore *s, int pool)
{
	pool_give(s, pool, &s->spare);
	if (s->plost > 0)
	{
		pg_atomic_fetch_add_u64(&s->sh->counts_dropped, s->plost);
		s->plost = 0;
	}
}

typedef struct SlotCheck
{
	WindowSlot *w;
	int32		owner;
	uint32		generation;
	int32		epoch;
} SlotCheck;

static bool
slot_still_ours(ObsStore *s, void *arg)
{
	SlotCheck  *c = (SlotCheck *) arg;

	return c->w->owner == c->owner && c->w->generation == c->generation &&
		c->w->epoch == c->epoch;
}

/* does slot w hold nothing worth keeping at level L (racy read: a hint)? */
static inline bool
slot_reusable(ObsStore *s, const WindowSlot *w, const WindowLevel *lv,
			  int32 epoch)
{
	int32		owner = w->owner;

	if (owner < 0)
		return true;
	/* in_use and generation are stable under the store lock */
	if (!s->entries[owner].in_use || s->entries[owner].generation != w->generation)
		return true;
	return w->epoch <= epoch - lv->nwindows;
}

#define SLOT_PROBES 32

/*
 * Take a slot of level L's ring, emptied and claimed for (owner, gen,
 * epoch): the first free or stale one among the next SLOT_PROBES in ring
 * order, else the next one (the oldest taken), whose kept window is then
 * lost (window_lost).
 */
static int32
slot_take(ObsStore *s, int L, int32 owner, uint32 gen, int32 epoch)
{
	WindowLevel *lv = &s->sh->levels[L];
	WindowSlot *w;
	ObsSketch	old;
	int32		old_owner;
	int32		old_epoch;
	bool		lost = false;
	int32		ws = -1;

	for (int probe = 0; probe < SLOT_PROBES; probe++)
	{
		SPIN(s, &lv->ring_mutex);
		ws = lv->first_slot + lv->ring_next;
		lv->ring_next = (lv->ring_next + 1) % lv->nslots;
		SpinLockRelease(&lv->ring_mutex);
		w = &s->wslots[ws];
		if (slot_reusable(s, w, lv, epoch))
			break;
		if (probe == SLOT_PROBES - 1)
			lost = true;
	}

	w = &s->wslots[ws];
	SPIN(s, &w->mutex);
	old = w->sk;
	old_owner = w->owner;
	old_epoch = w->epoch;
	if (!lost && !slot_reusable(s, w, lv, epoch))
		lost = true;			/* claimed by another backend meanwhile */
	obs_sketch_init(&w->sk);
	w->owner = owner;
	w->generation = gen;
	w->epoch = epoch;
	memset(&w->c, 0, sizeof(w->c));
	if (s->cfg->nextra_window > 0)
		memset(WSLOT_EXTRA(s, ws), 0, sizeof(double) * s->cfg->nextra_window);
	SpinLockRelease(&w->mutex);

	if (lost && old_owner >= 0)
		window_lost(s, L, old_epoch);
	/* nobody reaches the old cells any more: the slot has a new owner */
	if (old.head >= 0)
		sketch_free(s, POOL_WINDOWS, &old);
	return ws;
}

/* publish p into entry slot's window of level L */
static void
window_apply(ObsStore *s, int L, int32 slot, uint32 gen, int32 ws, int32 wepoch,
			 const Pending *p, int npairs)
{
	WindowLevel *lv = &s->sh->levels[L];
	int32		epoch = (int32) (s->pepoch * s->sh->levels[0].len_us / lv->len_us);
	SlotCheck	chk;
	WindowSlot *w;
	int			nx = s->cfg->nextra_window;

	if (ws < 0 || wepoch != epoch)
	{
		ws = slot_take(s, L, slot, gen, epoch);
		SPIN(s, &s->entries[slot].mutex);
		if (s->entries[slot].generation == gen)
		{
			s->entries[slot].wslot[L] = ws;
			s->entries[slot].wepoch[L] = epoch;
		}
		SpinLockRelease(&s->entries[slot].mutex);
	}
	w = &s->wslots[ws];
	chk.w = w;
	chk.owner = slot;
	chk.generation = gen;
	chk.epoch = epoch;
	SPIN(s, &w->mutex);
	if (slot_still_ours(s, &chk) &&
		sketch_publish(s, POOL_WINDOWS, L, &w->mutex, &w->sk, s->scratch_pairs,
					   npairs, slot_still_ours, &chk))
	{
		counters_merge(&w->c, &p->c);
		if (nx > 0)
			extras_add(WSLOT_EXTRA(s, ws), p->extra, nx);
	}
	SpinLockRelease(&w->mutex);
	publish_done(s, POOL_WINDOWS);
}

/* publish one pending entry into shared entry slot (store lock held) */
static void
entry_apply(ObsStore *s, int32 slot, const Pending *p)
{
	const ObsStoreConfig *cfg = s->cfg;
	StoreEntry *e = &s->entries[slot];
	int32		ws[OBS_STORE_LEVELS];
	int32		wepoch[OBS_STORE_LEVELS];
	uint32		gen;
	int			npairs = pending_pairs(s, p);
	int			L;

	SPIN(s, &e->mutex);
	/* generation is stable under the store lock: no validity check */
	(void) sketch_publish(s, POOL_ENTRIES, -1, &e->mutex, &e->sk,
						  s->scratch_pairs, npairs, NULL, NULL);
	counters_merge(&e->c, &p->c);
	if (cfg->nextra > 0)
		extras_add(ENTRY_EXTRA(s, slot), p->extra, cfg->nextra);
	if (p->has_payload)
		cfg->payload_merge(ENTRY_PAYLOAD(s, slot), p->payload);
	e->usage += (double) p->c.calls;
	for (L = 0; L < s->nlevels; L++)
	{
		ws[L] = e->wslot[L];
		wepoch[L] = e->wepoch[L];
	}
	gen = e->generation;
	SpinLockRelease(&e->mutex);
	publish_done(s, POOL_ENTRIES);

	for (L = 0; L < s->nlevels; L++)
		window_apply(s, L, slot, gen, ws[L], wepoch[L], p, npairs);
}

/* eviction scratch, allocated before the exclusive lock is taken */
static bool
ensure_scratch(ObsStore *s)
{
	Size		rec = s->cfg->keysize + s->cfg->auxsize;

	if (s->scratch_pairs == NULL)
	{
		s->scratch_pairs = MemoryContextAllocExtended(TopMemoryContext,
													  sizeof(ObsBucketCount) * OBS_PENDING_PAIRS,
													  MCXT_ALLOC_NO_OOM);
		s->scratch_work = MemoryContextAllocExtended(TopMemoryContext,
													 sizeof(ObsBucketCount) * OBS_PENDING_PAIRS,
													 MCXT_ALLOC_NO_OOM);
		s->scratch_cells = MemoryContextAllocExtended(TopMemoryContext,
													  sizeof(int32) * SCRATCH_CELLS,
													  MCXT_ALLOC_NO_OOM);
	}
	if (s->scratch_scores == NULL)
	{
		s->scratch_scores = MemoryContextAllocExtended(TopMemoryContext,
													   sizeof(double) * 2 * s->cfg->capacity,
													   MCXT_ALLOC_NO_OOM);
		s->scratch_evicted = MemoryContextAllocExtended(TopMemoryContext,
														rec * MAXEVICTED(s),
														MCXT_ALLOC_NO_OOM);
	}
	s->spare.cells = s->scratch_cells;
	s->spare.n = 0;
	s->spare.max = SCRATCH_CELLS;
	return s->scratch_pairs && s->scratch_work && s->scratch_cells;
}

/* the entries' pool is nearly dry: make room as if the store were full */
static bool
pool_low(ObsStore *s)
{
	return s->sh->pools[POOL_ENTRIES].nfree < 2 * OBS_SKETCH_MAX_CELLS;
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
	if (!ensure_scratch(s))
	{
		/* out of memory in this backend: drop rather than fail */
		pending_clear(s);
		return;
	}

	LOCK(s, &sh->lock, LW_SHARED);
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

	if (nmissing > 0 || pool_low(s))
	{
		TimestampTz now = GetCurrentTimestamp();

		s->nevicted = 0;
		LOCK(s, &sh->lock, LW_EXCLUSIVE);
		if (pg_atomic_read_u32(&sh->reset_count) == s->preset)
		{
			if (pool_low(s) && s->scratch_scores)
				store_evict(s, true);
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
					slot = store_create(s, p->key, p->aux, now, false);
				}
				if (slot >= 0)
					entry_apply(s, slot, p);
			}
		}
		LWLockRelease(&sh->lock);

		if (s->cfg->evicted && s->nevicted > 0)
			s->cfg->evicted(s, s->scratch_evicted, s->nevicted);
		s->nevicted = 0;
	}

	pending_clear(s);
	s->precords = 0;
	s->last_flush = GetCurrentTimestamp();
	obs_lock_counts_publish();
}

void
obs_store_flush(ObsStore *s)
{
	if (s != NULL && obs_shmem_ready)
		store_flush(s);
}

/* ----------------------------------------------------------------
 * creation and eviction (store lock EXCLUSIVE)
 * ---------------------------------------------------------------- */

typedef struct ScoreSlot
{
	double		score;
	int32		slot;
} ScoreSlot;

/* the eviction order: lowest score first, then lowest slot */
static inline bool
score_less(const ScoreSlot *a, const ScoreSlot *b)
{
	return a->score < b->score || (a->score == b->score && a->slot < b->slot);
}

static int
score_cmp(const void *a, const void *b)
{
	const ScoreSlot *x = a;
	const ScoreSlot *y = b;

	return score_less(x, y) ? -1 : score_less(y, x) ? 1 : 0;
}

static inline void
score_swap(ScoreSlot *a, ScoreSlot *b)
{
	ScoreSlot	t = *a;

	*a = *b;
	*b = t;
}

/*
 * Move the k lowest of a[0 .. n-1] (in the order of score_less, a total
 * order: the set is the one a full sort would put first) to a[0 .. k-1],
 * in no particular order.  Quickselect with a median-of-three pivot:
 * linear on average, where sorting every entry to evict 5 % of them was
 * n log n per eviction.
 */
static void
select_lowest(ScoreSlot *a, int n, int k)
{
	int			lo = 0,
				hi = n - 1;

	if (k <= 0 || k >= n)
		return;
	while (hi > lo)
	{
		int			mid = lo + (hi - lo) / 2;
		ScoreSlot	pivot;
		int			i,
					j;

		/* median of a[lo], a[mid], a[hi] into a[mid] */
		if (score_less(&a[mid], &a[lo]))
			score_swap(&a[mid], &a[lo]);
		if (score_less(&a[hi], &a[lo]))
			score_swap(&a[hi], &a[lo]);
		if (score_less(&a[hi], &a[mid]))
			score_swap(&a[hi], &a[mid]);
		pivot = a[mid];

		/* Hoare partition: a[lo .. j] <= pivot <= a[j+1 .. hi] */
		i = lo - 1;
		j = hi + 1;
		for (;;)
		{
			do
				i++;
			while (score_less(&a[i], &pivot));
			do
				j--;
			while (score_less(&pivot, &a[j]));
			if (i >= j)
				break;
			score_swap(&a[i], &a[j]);
		}
		if (k - 1 <= j)
			hi = j;
		else
			lo = j + 1;
	}
}

/* remember an evicted key for the callback */
static void
remember_evicted(ObsStore *s, int32 slot)
{
	Size		ks = s->cfg->keysize;
	Size		rec = ks + s->cfg->auxsize;

	if (s->scratch_evicted && s->nevicted < MAXEVICTED(s))
	{
		memcpy(s->scratch_evicted + rec * s->nevicted, ENTRY_KEY(s, slot), ks);
		memcpy(s->scratch_evicted + rec * s->nevicted + ks, ENTRY_AUX(s, slot),
			   s->cfg->auxsize);
		s->nevicted++;
	}
}

/* the level of window slot ws */
static int
slot_level(ObsStore *s, int32 ws)
{
	for (int L = s->nlevels - 1; L > 0; L--)
		if (ws >= s->sh->levels[L].first_slot)
			return L;
	return 0;
}

/*
 * Fold the windows of evicted entry v into entry o (store lock EXCLUSIVE):
 * a window o already has at that level and epoch receives v's counts and
 * v's slot is freed, otherwise v's slot becomes o's.  So o holds one slot
 * per window, like any entry, however many entries were folded into it.
 */
static void
fold_windows(ObsStore *s, int32 v, int32 o)
{
	StoreEntry *ev = &s->entries[v];
	StoreEntry *eo = &s->entries[o];
	int32	   *mine = palloc(sizeof(int32) * s->nslots);
	int32	   *theirs = palloc(sizeof(int32) * s->nslots);
	ObsBucketCount *pairs = palloc(sizeof(ObsBucketCount) * obs_hist_nbuckets());
	int			nmine = 0,
				ntheirs = 0;
	int			nx = s->cfg->nextra_window;

	for (int i = 0; i < s->nslots; i++)
	{
		WindowSlot *w = &s->wslots[i];

		if (w->owner == o && w->generation == eo->generation)
			mine[nmine++] = i;
		else if (w->owner == v && w->generation == ev->generation)
			theirs[ntheirs++] = i;
	}
	for (int k = 0; k < ntheirs; k++)
	{
		WindowSlot *w = &s->wslots[theirs[k]];
		int			L = slot_level(s, theirs[k]);
		int32		dst = -1;

		for (int j = 0; j < nmine && dst < 0; j++)
			if (s->wslots[mine[j]].epoch == w->epoch && slot_level(s, mine[j]) == L)
				dst = mine[j];
		if (dst < 0)
		{
			w->owner = o;
			w->generation = eo->generation;
			mine[nmine++] = theirs[k];
			continue;
		}
		{
			WindowSlot *d = &s->wslots[dst];
			int			n = obs_sketch_pairs(&w->sk, s->cells, pairs);

			counters_merge(&d->c, &w->c);
			if (nx > 0)
				extras_add(WSLOT_EXTRA(s, dst), WSLOT_EXTRA(s, theirs[k]), nx);
			for (int i = 0; i < n; i += OBS_PENDING_PAIRS)
			{
				SPIN(s, &d->mutex);
				(void) sketch_publish(s, POOL_WINDOWS, -1, &d->mutex, &d->sk,
									  pairs + i, Min(OBS_PENDING_PAIRS, n - i),
									  NULL, NULL);
				SpinLockRelease(&d->mutex);
				publish_done(s, POOL_WINDOWS);
			}
			w->owner = -1;
			sketch_free(s, POOL_WINDOWS, &w->sk);
		}
	}
	pfree(mine);
	pfree(theirs);
	pfree(pairs);
}

/* fold evicted entry v into entry o (Space-Saving), windows included */
static void
fold_into(ObsStore *s, int32 v, int32 o)
{
	StoreEntry *ev = &s->entries[v];
	StoreEntry *eo = &s->entries[o];
	ObsBucketCount *pairs;
	int			n,
				i;

	counters_merge(&eo->c, &ev->c);
	if (s->cfg->nextra > 0)
		extras_add(ENTRY_EXTRA(s, o), ENTRY_EXTRA(s, v), s->cfg->nextra);
	if (s->cfg->payloadsize > 0)
		s->cfg->payload_merge(ENTRY_PAYLOAD(s, o), ENTRY_PAYLOAD(s, v));

	/* the sketch, in chunks of the flush scratch */
	pairs = palloc(sizeof(ObsBucketCount) * obs_hist_nbuckets());
	n = obs_sketch_pairs(&ev->sk, s->cells, pairs);
	for (i = 0; i < n; i += OBS_PENDING_PAIRS)
	{
		int			m = Min(OBS_PENDING_PAIRS, n - i);

		SPIN(s, &eo->mutex);
		(void) sketch_publish(s, POOL_ENTRIES, -1, &eo->mutex, &eo->sk,
							  pairs + i, m, NULL, NULL);
		SpinLockRelease(&eo->mutex);
		publish_done(s, POOL_ENTRIES);
	}
	pfree(pairs);

	fold_windows(s, v, o);
}

/* free the cells of the windows of the entries marked in victim[] */
static void
drop_windows(ObsStore *s, const bool *victim)
{
	for (int i = 0; i < s->nslots; i++)
	{
		WindowSlot *w = &s->wslots[i];

		if (w->owner >= 0 && victim[w->owner] &&
			w->generation == s->entries[w->owner].generation)
		{
			w->owner = -1;
			sketch_free(s, POOL_WINDOWS, &w->sk);
		}
	}
}

static void
evict_one(ObsStore *s, int32 slot)
{
	StoreEntry *e = &s->entries[slot];

	remember_evicted(s, slot);
	hash_search(s->hash, ENTRY_KEY(s, slot), HASH_REMOVE, NULL);
	sketch_free(s, POOL_ENTRIES, &e->sk);
	e->in_use = false;
	e->generation++;
	s->freelist[s->sh->nfree++] = slot;
	s->sh->nused--;
	s->sh->evictions++;
}

/*
 * Evict 5 % of the capacity (at least one entry), the least used by the
 * store's rule.  Caller holds the store lock EXCLUSIVE.
 */
static void
store_evict(ObsStore *s, bool for_memory)
{
	ScoreSlot  *scores = (ScoreSlot *) s->scratch_scores;
	bool		ss = s->cfg->evict == OBS_EVICT_SPACE_SAVING;
	bool	   *victim;
	int			n = 0;
	int			i,
				nvict;

	for (i = 0; i < s->cfg->capacity; i++)
	{
		StoreEntry *e = &s->entries[i];

		if (!e->in_use || e->pinned)
			continue;
		if (ss)
			scores[n].score = (double) (e->c.calls + e->error_bound);
		else
		{
			e->usage *= 0.95;
			scores[n].score = e->usage;
		}
		scores[n].slot = i;
		n++;
	}
	nvict = Min(n, NEVICT(s));
	select_lowest(scores, n, nvict);
	victim = palloc0(sizeof(bool) * s->cfg->capacity);
	for (i = 0; i < nvict; i++)
	{
		int32		slot = scores[i].slot;

		if (ss)
		{
			char		other[OBS_STORE_MAX_KEY];
			int32		o;

			memset(other, 0, sizeof(other));
			/* created with the group's first member (store_create) */
			if (s->cfg->other_key(ENTRY_KEY(s, slot), other) &&
				(o = shared_find(s, other)) >= 0)
				fold_into(s, slot, o);
			s->sh->ss_floor = Max(s->sh->ss_floor,
								  s->entries[slot].c.calls + s->entries[slot].error_bound);
			s->sh->ss_floor_ms = Max(s->sh->ss_floor_ms,
									 s->entries[slot].c.total_ms + s->entries[slot].error_bound_ms);
		}
		victim[slot] = true;
	}
	drop_windows(s, victim);
	for (i = 0; i < nvict; i++)
		evict_one(s, scores[i].slot);
	if (for_memory)
		s->sh->memory_evictions += nvict;
	pfree(victim);
}

/* create the entry of key (store lock EXCLUSIVE) */
static int32
store_create(ObsStore *s, const void *key, const void *aux, TimestampTz now,
			 bool pinned)
{
	const ObsStoreConfig *cfg = s->cfg;
	int32		slot;
	StoreEntry *e;
	void	   *he;

	/*
	 * Space-Saving: a key without a group entry is pinned itself; the
	 * group's pinned entry exists before its members.
	 */
	if (cfg->evict == OBS_EVICT_SPACE_SAVING && !pinned)
	{
		char		other[OBS_STORE_MAX_KEY];

		memset(other, 0, sizeof(other));
		if (!cfg->other_key(key, other))
			pinned = true;
		else if (cfg->pinned_member && cfg->pinned_member(key))
		{
			/* admitted only into a group that exists */
			if (shared_find(s, other) < 0)
				return -1;
			pinned = true;
		}
		else if (shared_find(s, other) < 0 &&
				 store_create(s, other, NULL, now, true) < 0)
			return -1;
	}
	if (s->sh->nfree == 0 && s->scratch_scores != NULL)
		store_evict(s, false);
	if (s->sh->nfree == 0)
		return -1;
	slot = s->freelist[--s->sh->nfree];
	e = &s->entries[slot];
	e->generation++;
	e->in_use = true;
	e->pinned = pinned;
	for (int L = 0; L < OBS_STORE_LEVELS; L++)
	{
		e->wslot[L] = -1;
		e->wepoch[L] = -1;
	}
	e->since = now;
	e->usage = 0;
	e->error_bound = (cfg->evict == OBS_EVICT_SPACE_SAVING && !pinned) ?
		s->sh->ss_floor : 0;
	e->error_bound_ms = (cfg->evict == OBS_EVICT_SPACE_SAVING && !pinned) ?
		s->sh->ss_floor_ms : 0.0;
	memset(&e->c, 0, sizeof(e->c));
	obs_sketch_init(&e->sk);
	memcpy(ENTRY_KEY(s, slot), key, cfg->keysize);
	if (cfg->auxsize > 0)
	{
		if (aux)
			memcpy(ENTRY_AUX(s, slot), aux, cfg->auxsize);
		else
			memset(ENTRY_AUX(s, slot), 0, cfg->auxsize);
	}
	if (cfg->payloadsize > 0)
		memset(ENTRY_PAYLOAD(s, slot), 0, cfg->payloadsize);
	if (cfg->nextra > 0)
		memset(ENTRY_EXTRA(s, slot), 0, sizeof(double) * cfg->nextra);
	he = hash_search(s->hash, key, HASH_ENTER, NULL);
	HASH_SLOT(s, he) = slot;
	s->sh->nused++;
	return slot;
}

void
obs_store_reset(ObsStore *s, TimestampTz now)
{
	StoreShared *sh = s->sh;
	int			i;

	pending_clear(s);
	LOCK(s, &sh->lock, LW_EXCLUSIVE);
	for (i = 0; i < s->cfg->capacity; i++)
	{
		StoreEntry *e = &s->entries[i];

		if (!e->in_use)
			continue;
		hash_search(s->hash, ENTRY_KEY(s, i), HASH_REMOVE, NULL);
		e->in_use = false;
		e->generation++;
		obs_sketch_init(&e->sk);
	}
	for (i = 0; i < s->cfg->capacity; i++)
		s->freelist[i] = s->cfg->capacity - 1 - i;
	sh->nfree = s->cfg->capacity;
	sh->nused = 0;
	for (i = 0; i < s->nslots; i++)
	{
		SPIN(s, &s->wslots[i].mutex);
		s->wslots[i].owner = -1;
		obs_sketch_init(&s->wslots[i].sk);
		SpinLockRelease(&s->wslots[i].mutex);
	}
	for (i = 0; i < 2; i++)
	{
		SPIN(s, &sh->pools[i].mutex);
		pool_rebuild(s, &sh->pools[i]);
		SpinLockRelease(&sh->pools[i].mutex);
	}
	for (i = 0; i < sh->nlevels; i++)
	{
		pg_atomic_write_u64(&sh->levels[i].recycled, 0);
		pg_atomic_write_u64(&sh->levels[i].lost_until, 0);
	}
	sh->evictions = 0;
	sh->memory_evictions = 0;
	sh->ss_floor = 0;
	sh->ss_floor_ms = 0.0;
	pg_atomic_write_u64(&sh->dropped, 0);
	pg_atomic_write_u64(&sh->counts_dropped, 0);
	sh->stats_reset = now;
	sh->windows_since = now;
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

/* quantiles and bucket counts of one row from its dense histogram */
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

			/* within the sketch's bound, and never outside what was seen */
			if (!isnan(v))
			{
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
			/* counts the sketch could not keep are not in any bucket */
			if (h->count > 0 && h->count != (uint64) row->c.calls)
				n = (uint64) floor((double) n * (double) row->c.calls / (double) h->count + 0.5);
			row->counts_le[i] = Min((int64) n, row->c.calls);
		}
	}
}

static QOrder *
quantile_order(const double *qs, int nq)
{
	QOrder	   *qo = palloc(sizeof(QOrder) * Max(nq, 1));

	for (int i = 0; i < nq; i++)
	{
		qo[i].q = qs[i];
		qo[i].idx = i;
	}
	qsort(qo, nq, sizeof(QOrder), qorder_cmp);
	return qo;
}

/* identity columns of entry i into row (store lock held) */
static void
row_identity(ObsStore *s, int32 i, ObsStoreRow *row)
{
	memcpy(row->key, ENTRY_KEY(s, i), s->cfg->keysize);
	memcpy(row->aux, ENTRY_AUX(s, i), s->cfg->auxsize);
	row->pinned = s->entries[i].pinned;
}

static int
snapshot_since_reset(ObsStore *s, ObsStoreRow *rows, ObsHistogram *h,
					 const QOrder *qo, int nq, const double *bounds, int nb)
{
	const ObsStoreConfig *cfg = s->cfg;
	int			n = 0;

	for (int i = 0; i < cfg->capacity; i++)
	{
		StoreEntry *e = &s->entries[i];
		ObsStoreRow *row = &rows[n];

		if (!e->in_use)
			continue;
		obs_hist_reset(h);
		SPIN(s, &e->mutex);
		row->c = e->c;
		row->since = e->since;
		row->error_bound = e->error_bound;
		row->error_bound_ms = e->error_bound_ms;
		if (cfg->nextra > 0)
			memcpy(row->extra, ENTRY_EXTRA(s, i), sizeof(double) * cfg->nextra);
		if (cfg->payloadsize > 0)
			memcpy(row->payload, ENTRY_PAYLOAD(s, i), cfg->payloadsize);
		obs_sketch_to_hist(&e->sk, s->cells, h);
		SpinLockRelease(&e->mutex);
		if (row->c.calls == 0)
			continue;
		row_identity(s, i, row);
		row->covered_since = row->since;
		row_summarize(row, h, qo, nq, bounds, nb);
		n++;
	}
	return n;
}

/* the level answering since_us: the finest whose windows reach back */
static int
level_for(ObsStore *s, int64 since_us)
{
	StoreShared *sh = s->sh;

	for (int L = 0; L < sh->nlevels; L++)
		if (sh->levels[L].len_us * sh->levels[L].nwindows >= since_us)
			return L;
	return sh->nlevels - 1;
}

typedef struct SlotRef
{
	int32		owner;
	int32		ws;
} SlotRef;

static int
slotref_cmp(const void *a, const void *b)
{
	const SlotRef *x = a;
	const SlotRef *y = b;

	if (x->owner != y->owner)
		return x->owner < y->owner ? -1 : 1;
	return x->ws < y->ws ? -1 : (x->ws > y->ws ? 1 : 0);
}

static int
snapshot_windows(ObsStore *s, int64 since_us, ObsStoreRow *rows,
				 ObsHistogram *h, const QOrder *qo, int nq,
				 const double *bounds, int nb)
{
	StoreShared *sh = s->sh;
	int			L = level_for(s, since_us);
	WindowLevel *lv = &sh->levels[L];
	TimestampTz now = GetCurrentTimestamp();
	int64		cur = now / lv->len_us;
	int64		first = (now - since_us) / lv->len_us;
	TimestampTz covered;
	SlotRef    *refs = palloc(sizeof(SlotRef) * Max(lv->nslots, 1));
	int			nref = 0;
	int			n = 0;
	int			nx = s->cfg->nextra_window;
	int			i;

	first = Max(first, cur - lv->nwindows);
	covered = first * lv->len_us;
	covered = Max(covered, sh->windows_since);
	covered = Max(covered, (TimestampTz) pg_atomic_read_u64(&lv->lost_until));

	/* pass 1: which slots count, by owner */
	for (i = lv->first_slot; i < lv->first_slot + lv->nslots; i++)
	{
		WindowSlot *w = &s->wslots[i];
		int32		owner;
		int32		epoch;
		uint32		gen;

		SPIN(s, &w->mutex);
		owner = w->owner;
		epoch = w->epoch;
		gen = w->generation;
		SpinLockRelease(&w->mutex);
		if (owner < 0 || epoch < first || epoch > cur)
			continue;
		/* in_use and generation are stable under the shared lock */
		if (!s->entries[owner].in_use || s->entries[owner].generation != gen)
			continue;
		refs[nref].owner = owner;
		refs[nref].ws = i;
		nref++;
	}
	qsort(refs, nref, sizeof(SlotRef), slotref_cmp);

	/* pass 2: one row per owner, its slots merged */
	for (i = 0; i < nref;)
	{
		int32		owner = refs[i].owner;
		ObsStoreRow *row = &rows[n];
		bool		any = false;

		obs_hist_reset(h);
		memset(&row->c, 0, sizeof(row->c));
		memset(row->extra, 0, sizeof(row->extra));
		row->since = 0;
		for (; i < nref && refs[i].owner == owner; i++)
		{
			WindowSlot *w = &s->wslots[refs[i].ws];

			SPIN(s, &w->mutex);
			if (w->owner == owner && w->epoch >= first && w->epoch <= cur)
			{
				TimestampTz start = (TimestampTz) w->epoch * lv->len_us;

				counters_merge(&row->c, &w->c);
				if (nx > 0)
					extras_add(row->extra, WSLOT_EXTRA(s, refs[i].ws), nx);
				obs_sketch_to_hist(&w->sk, s->cells, h);
				row->since = any ? Min(row->since, start) : start;
				any = true;
			}
			SpinLockRelease(&w->mutex);
		}
		if (!any || row->c.calls == 0)
			continue;
		row_identity(s, owner, row);
		SPIN(s, &s->entries[owner].mutex);
		row->error_bound = s->entries[owner].error_bound;
		row->error_bound_ms = s->entries[owner].error_bound_ms;
		if (s->cfg->payloadsize > 0)
			memcpy(row->payload, ENTRY_PAYLOAD(s, owner), s->cfg->payloadsize);
		SpinLockRelease(&s->entries[owner].mutex);
		row->covered_since = covered;
		row_summarize(row, h, qo, nq, bounds, nb);
		n++;
	}
	pfree(refs);
	return n;
}

ObsStoreRow *
obs_store_snapshot(ObsStore *s, int64 since_us, const double *qs, int nq,
				   const double *bounds, int nb, int *nrows)
{
	StoreShared *sh = s->sh;
	int			cap = s->cfg->capacity;
	ObsStoreRow *rows = palloc0(sizeof(ObsStoreRow) * Max(cap, 1));
	ObsHistogram *h = palloc(obs_hist_size());
	QOrder	   *qo = quantile_order(qs, nq);
	int			n;

	store_flush(s);

	LOCK(s, &sh->lock, LW_SHARED);
	if (since_us < 0)
		n = snapshot_since_reset(s, rows, h, qo, nq, bounds, nb);
	else
		n = snapshot_windows(s, since_us, rows, h, qo, nq, bounds, nb);
	LWLockRelease(&sh->lock);

	pfree(h);
	pfree(qo);
	*nrows = n;
	return rows;
}

/* ----------------------------------------------------------------
 * per-window reads (regressions, timelines)
 * ---------------------------------------------------------------- */

int
obs_store_level_for(ObsStore *s, int64 since_us)
{
	return level_for(s, since_us);
}

int
obs_store_levels(ObsStore *s, ObsLevelInfo *out)
{
	StoreShared *sh = s->sh;

	for (int L = 0; L < sh->nlevels; L++)
	{
		WindowLevel *lv = &sh->levels[L];
		TimestampTz from = (TimestampTz) pg_atomic_read_u64(&lv->lost_until);

		out[L].len_us = lv->len_us;
		out[L].nwindows = lv->nwindows;
		out[L].complete_from = Max(from, sh->windows_since);
	}
	return sh->nlevels;
}

typedef struct WinRef
{
	int32		owner;
	int32		level;
	int32		epoch;
	int32		ws;
} WinRef;

static int
winref_cmp(const void *a, const void *b)
{
	const WinRef *x = a;
	const WinRef *y = b;

	if (x->owner != y->owner)
		return x->owner < y->owner ? -1 : 1;
	if (x->level != y->level)
		return x->level < y->level ? -1 : 1;
	return x->epoch < y->epoch ? -1 : (x->epoch > y->epoch ? 1 : 0);
}

/* the kept, live window slots of every level (store lock held) */
static WinRef *
collect_windows(ObsStore *s, TimestampTz now, int *nrefs)
{
	StoreShared *sh = s->sh;
	WinRef	   *refs = palloc(sizeof(WinRef) * Max(s->nslots, 1));
	int			n = 0;

	for (int L = 0; L < sh->nlevels; L++)
	{
		WindowLevel *lv = &sh->levels[L];
		int64		cur = now / lv->len_us;

		for (int i = lv->first_slot; i < lv->first_slot + lv->nslots; i++)
		{
			WindowSlot *w = &s->wslots[i];
			int32		owner;
			int32		epoch;
			uint32		gen;

			SPIN(s, &w->mutex);
			owner = w->owner;
			epoch = w->epoch;
			gen = w->generation;
			SpinLockRelease(&w->mutex);
			if (owner < 0 || epoch < cur - lv->nwindows || epoch > cur)
				continue;
			if (!s->entries[owner].in_use || s->entries[owner].generation != gen)
				continue;
			refs[n].owner = owner;
			refs[n].level = L;
			refs[n].epoch = epoch;
			refs[n].ws = i;
			n++;
		}
	}
	qsort(refs, n, sizeof(WinRef), winref_cmp);
	*nrefs = n;
	return refs;
}

void
obs_counters_merge(ObsCounters *dst, const ObsCounters *src)
{
	counters_merge(dst, src);
}

void
obs_store_windows(ObsStore *s, ObsWindowsFn fn, void *arg)
{
	StoreShared *sh = s->sh;
	int			nb = obs_hist_nbuckets();
	TimestampTz now = GetCurrentTimestamp();
	WinRef	   *refs;
	ObsWindow  *wins;
	ObsBucketCount *pairs;
	int			nref,
				maxgroup = 0,
				i,
				j;

	store_flush(s);
	LOCK(s, &sh->lock, LW_SHARED);
	refs = collect_windows(s, now, &nref);
	for (i = 0; i < nref; i = j)
	{
		for (j = i; j < nref && refs[j].owner == refs[i].owner; j++)
			;
		maxgroup = Max(maxgroup, j - i);
	}
	wins = palloc(sizeof(ObsWindow) * Max(maxgroup, 1));
	pairs = palloc(sizeof(ObsBucketCount) * (Size) nb * Max(maxgroup, 1));

	for (i = 0; i < nref; i = j)
	{
		int32		owner = refs[i].owner;
		int			nw = 0;

		for (j = i; j < nref && refs[j].owner == owner; j++)
		{
			WindowSlot *w = &s->wslots[refs[j].ws];
			WindowLevel *lv = &sh->levels[refs[j].level];
			ObsWindow  *ow = &wins[nw];
			ObsBucketCount *out = pairs + (Size) nw * nb;
			bool		same;

			SPIN(s, &w->mutex);
			same = (w->owner == owner && w->epoch == refs[j].epoch);
			if (same)
			{
				ow->c = w->c;
				ow->npairs = obs_sketch_pairs(&w->sk, s->cells, out);
			}
			SpinLockRelease(&w->mutex);
			if (!same || ow->c.calls == 0)
				continue;
			ow->level = refs[j].level;
			ow->len_us = lv->len_us;
			ow->start = (TimestampTz) refs[j].epoch * lv->len_us;
			ow->pairs = out;
			nw++;
		}
		if (nw > 0)
			fn(ENTRY_KEY(s, owner), ENTRY_AUX(s, owner), wins, nw, arg);
	}
	LWLockRelease(&sh->lock);
	pfree(refs);
	pfree(wins);
	pfree(pairs);
}

void
obs_store_scan_keys(ObsStore *s, void (*fn) (const void *key, void *arg),
					void *arg)
{
	LOCK(s, &s->sh->lock, LW_SHARED);
	for (int i = 0; i < s->cfg->capacity; i++)
	{
		if (s->entries[i].in_use)
			fn(ENTRY_KEY(s, i), arg);
	}
	LWLockRelease(&s->sh->lock);
}

void
obs_store_contains(ObsStore *s, const void *keys, int n, bool *found)
{
	const char *k = keys;

	if (n <= 0)
		return;
	LOCK(s, &s->sh->lock, LW_SHARED);
	for (int i = 0; i < n; i++)
		found[i] = shared_find(s, k + s->cfg->keysize * i) >= 0;
	LWLockRelease(&s->sh->lock);
}

/*
 * observa.sketch_quantiles(values_ms float8[], quantiles float8[], repeat
 * int): the quantiles observa's sketch answers for these durations, each
 * counted repeat times, through the same code as the stores (bucket,
 * compact cells, nearest rank, capped to the values' [min, max]), the
 * cells and bytes the sketch took and whether it collapsed.  For checking
 * the error bound against known distributions.
 */
PG_FUNCTION_INFO_V1(observa_sketch_quantiles);

Datum
observa_sketch_quantiles(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	double	   *vals,
			   *qs,
			   *out;
	int			nv,
				nq,
				i;
	int			ncells = OBS_SKETCH_MAX_CELLS + 8;
	char	   *arena;
	int32	   *free_cells;
	ObsCellStack spare;
	ObsSketch	sk;
	ObsBucketCount *bc;
	ObsHistogram *h;
	double		lo = 0,
				hi = 0;
	Datum	   *elems;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	int32		repeat;

	qs = obs_float8_array_arg(fcinfo, 1, "quantiles", OBS_ARRAY_QUANTILES, &nq);
	if (PG_ARGISNULL(2) || PG_GETARG_INT32(2) < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("repeat must be at least 1"),
				 errhint("Pass how many times each value is counted, for example 1.")));
	repeat = PG_GETARG_INT32(2);
	vals = obs_float8_array_arg(fcinfo, 0, "values_ms", OBS_ARRAY_DURATIONS, &nv);
	obs_check_result_columns(fcinfo, 4);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	arena = palloc0((Size) ncells * OBS_SKETCH_CELL_SIZE);
	free_cells = palloc(sizeof(int32) * (ncells + OBS_SKETCH_MAX_CELLS));
	for (i = 0; i < ncells; i++)
		free_cells[i] = ncells - 1 - i;
	spare.cells = free_cells;
	spare.n = ncells;
	spare.max = ncells + OBS_SKETCH_MAX_CELLS;
	obs_sketch_init(&sk);

	/* in batches, as flushes publish them */
	bc = palloc(sizeof(ObsBucketCount) * OBS_PENDING_PAIRS);
	for (i = 0; i < nv;)
	{
		int			n = 0;

		for (; i < nv && n < OBS_PENDING_PAIRS; i++)
		{
			bc[n].bucket = obs_hist_bucket(vals[i]);
			bc[n].count = (uint32) repeat;
			n++;
			lo = (i == 0) ? vals[i] : Min(lo, vals[i]);
			hi = (i == 0) ? vals[i] : Max(hi, vals[i]);
		}
		n = obs_sketch_sort_counts(bc, n);
		(void) obs_sketch_add(&sk, arena, bc, n, &spare);
	}

	h = palloc(obs_hist_size());
	obs_hist_reset(h);
	obs_sketch_to_hist(&sk, arena, h);
	{
		QOrder	   *qo = quantile_order(qs, nq);
		double	   *sorted = palloc(sizeof(double) * nq);
		double	   *res = palloc(sizeof(double) * nq);

		for (i = 0; i < nq; i++)
			sorted[i] = qo[i].q;
		obs_hist_quantiles(h, sorted, res, nq);
		out = palloc(sizeof(double) * nq);
		for (i = 0; i < nq; i++)
			out[qo[i].idx] = isnan(res[i]) ? res[i] : Max(lo, Min(hi, res[i]));
	}
	elems = palloc(sizeof(Datum) * nq);
	for (i = 0; i < nq; i++)
		elems[i] = Float8GetDatum(out[i]);
	values[0] = PointerGetDatum(construct_array(elems, nq, FLOAT8OID, sizeof(float8),
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[1] = Int32GetDatum(sk.ncells);
	values[2] = Int32GetDatum(sk.ncells * OBS_SKETCH_CELL_SIZE);
	values[3] = BoolGetDatum(sk.collapsed != 0);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* "10 min" style text of a duration */
static void
format_length(char *buf, Size len, int64 us)
{
	int64		s = us / USECS_PER_SEC;

	if (s % 3600 == 0)
		snprintf(buf, len, INT64_FORMAT " h", s / 3600);
	else if (s % 60 == 0)
		snprintf(buf, len, INT64_FORMAT " min", s / 60);
	else
		snprintf(buf, len, INT64_FORMAT " s", s);
}

/* bytes one entry costs, its share of windows and cells included */
static Size
bytes_per_entry(ObsStore *s)
{
	return obs_store_shmem_size(s->cfg) / Max(s->cfg->capacity, 1);
}

void
obs_store_info(ObsStore *s, ObsInfoSink *sink, const char *section)
{
	StoreShared *sh = s->sh;
	int32		nused;
	int64		evictions,
				mevictions;
	TimestampTz reset;
	char		state[160];
	char		buf[128];
	char		l1[32],
				l2[32];
	int			i,
				wused = 0;
	int64		recycled = 0;
	int32		cells_free;
	TimestampTz now = GetCurrentTimestamp();

	store_flush(s);
	LOCK(s, &sh->lock, LW_SHARED);
	nused = sh->nused;
	evictions = sh->evictions;
	mevictions = sh->memory_evictions;
	reset = sh->stats_reset;
	strlcpy(state, sh->file_state, sizeof(state));
	for (int L = 0; L < sh->nlevels; L++)
	{
		WindowLevel *lv = &sh->levels[L];
		int64		cur = now / lv->len_us;

		recycled += (int64) pg_atomic_read_u64(&lv->recycled);
		for (i = lv->first_slot; i < lv->first_slot + lv->nslots; i++)
		{
			/* a racy read is fine for a gauge */
			if (s->wslots[i].owner >= 0 && s->wslots[i].epoch >= cur - lv->nwindows)
				wused++;
		}
	}
	cells_free = sh->pools[0].nfree + sh->pools[1].nfree;	/* a gauge */
	LWLockRelease(&sh->lock);

	obs_info_add_int(sink, section, "entries", nused, "entries in use");
	obs_info_add_int(sink, section, "capacity", s->cfg->capacity,
					 "maximum number of entries");
	obs_info_add_int(sink, section, "evictions", evictions,
					 "entries evicted to make room since the last reset");
	obs_info_add_int(sink, section, "evictions_for_memory", mevictions,
					 "of which to free sketch cells when the cell pool ran low");
	obs_info_add_int(sink, section, "bytes_per_entry", (int64) bytes_per_entry(s),
					 "shared memory of this store divided by its capacity (entry, windows and sketch cells)");
	obs_info_add_time(sink, section, "stats_reset", reset,
					  "time of the last observa.reset() (or of the start with empty statistics)");
	format_length(buf, sizeof(buf), sh->levels[0].len_us);
	obs_info_add(sink, section, "window", buf, "length of the finest time window (observa.window)");
	obs_info_add_int(sink, section, "windows", sh->levels[0].nwindows,
					 "finest time windows kept (observa.windows)");
	buf[0] = '\0';
	for (int L = 0; L < sh->nlevels; L++)
	{
		format_length(l1, sizeof(l1), sh->levels[L].len_us);
		format_length(l2, sizeof(l2), sh->levels[L].len_us * sh->levels[L].nwindows);
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%d x %s (%s)",
				 L > 0 ? ", " : "", sh->levels[L].nwindows, l1, l2);
	}
	obs_info_add(sink, section, "window_levels", buf,
				 "windows kept at each resolution, finest first: count x length (reach); observa.window_history sets the reach");
	obs_info_add_int(sink, section, "window_slots", s->nslots,
					 "window slots of all levels (observa.window_slots per level, 0: automatic)");
	obs_info_add_int(sink, section, "window_slots_used", wused,
					 "window slots holding a kept window");
	obs_info_add_int(sink, section, "window_slots_recycled", recycled,
					 "kept windows lost because a level's slots were all taken (covered_since says so)");
	obs_info_add_int(sink, section, "sketch_cells",
					 sh->pools[0].ncells + sh->pools[1].ncells,
					 "64-byte cells the latency sketches of this store take their buckets from (entries' and windows' pools)");
	obs_info_add_int(sink, section, "sketch_cells_used",
					 sh->pools[0].ncells + sh->pools[1].ncells - cells_free,
					 "cells in use");
	obs_info_add_int(sink, section, "sketch_counts_dropped",
					 (int64) pg_atomic_read_u64(&sh->counts_dropped),
					 "latencies left out of a sketch because no cell was free (calls and times still count them)");
	obs_info_add_int(sink, section, "samples_dropped",
					 (int64) pg_atomic_read_u64(&sh->dropped),
					 "failed statements not recorded because a backend's pending table was full");
	snprintf(buf, sizeof(buf), "%g", obs_histogram_error);
	obs_info_add(sink, section, "histogram_relative_error", buf,
				 "relative error bound of percentiles asked for (observa.histogram_error)");
	snprintf(buf, sizeof(buf), "%.4g", obs_hist_relative_error());
	obs_info_add(sink, section, "histogram_relative_error_achieved", buf,
				 "the bound the sketch's buckets achieve (at most the one asked for)");
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
	int64		error_bound;
	double		error_bound_ms;
	int32		pinned;
	int32		npairs;			/* sketch pairs that follow the payload */
	ObsCounters c;
} StoreFileRecord;

/* fixed part: StoreFileRecord, key, aux, extra sums, payload */
static Size
record_fixed_size(ObsStore *s)
{
	return sizeof(StoreFileRecord) + s->cfg->keysize + s->cfg->auxsize +
		sizeof(double) * s->cfg->nextra + s->cfg->payloadsize;
}

static void
store_file_shape(ObsStore *s, ObsFileShape *shape)
{
	const ObsStoreConfig *cfg = s->cfg;

	memset(shape, 0, sizeof(*shape));
	shape->name = cfg->name;
	shape->format = OBS_STORE_FILE_FORMAT;
	/* bucket geometry and record sizes: a file of other settings is refused */
	shape->layout = hash_combine(hash_combine((uint32) obs_hist_nbuckets(),
											  (uint32) cfg->keysize),
								 hash_combine((uint32) cfg->auxsize,
											  hash_combine((uint32) cfg->nextra,
														   (uint32) cfg->payloadsize)));
	shape->record_size = 0;		/* variable: the sketch's pairs */
	shape->min_record_size = (uint32) record_fixed_size(s);
}

static void
store_shmem_exit(int code, Datum arg)
{
	ObsStore   *s = (ObsStore *) DatumGetPointer(arg);
	const ObsStoreConfig *cfg = s->cfg;
	ObsFileShape shape;
	ObsSaveFile sf;
	ObsBucketCount *pairs;
	ScoreSlot  *order;
	int64		n = 0;
	int			i;

	store_file_shape(s, &shape);
	pairs = MemoryContextAllocExtended(TopMemoryContext,
									   sizeof(ObsBucketCount) * obs_hist_nbuckets(),
									   MCXT_ALLOC_NO_OOM);
	order = MemoryContextAllocExtended(TopMemoryContext,
									   sizeof(ScoreSlot) * cfg->capacity,
									   MCXT_ALLOC_NO_OOM);
	if (pairs == NULL || order == NULL)
	{
		if (pairs)
			pfree(pairs);
		return;
	}
	/* most useful first: a smaller store keeps those when it loads */
	for (i = 0; i < cfg->capacity; i++)
	{
		StoreEntry *e = &s->entries[i];

		if (!e->in_use || e->c.calls == 0)
			continue;
		order[n].slot = i;
		order[n].score = -(e->pinned ? DBL_MAX :
						   cfg->evict == OBS_EVICT_SPACE_SAVING ?
						   (double) (e->c.calls + e->error_bound) : e->usage);
		n++;
	}
	qsort(order, n, sizeof(ScoreSlot), score_cmp);
	if (!obs_save_begin(&sf, &shape, code, n, s->sh->stats_reset))
	{
		pfree(pairs);
		pfree(order);
		return;
	}
	for (int k = 0; k < n; k++)
	{
		StoreEntry *e;
		StoreFileRecord r;

		i = order[k].slot;
		e = &s->entries[i];
		memset(&r, 0, sizeof(r));
		r.since = e->since;
		r.usage = e->usage;
		r.error_bound = e->error_bound;
		r.error_bound_ms = e->error_bound_ms;
		r.pinned = e->pinned ? 1 : 0;
		r.c = e->c;
		r.npairs = obs_sketch_pairs(&e->sk, s->cells, pairs);
		obs_save_write(&sf, &r, sizeof(r));
		obs_save_write(&sf, ENTRY_KEY(s, i), cfg->keysize);
		obs_save_write(&sf, ENTRY_AUX(s, i), cfg->auxsize);
		obs_save_write(&sf, ENTRY_EXTRA(s, i), sizeof(double) * cfg->nextra);
		obs_save_write(&sf, ENTRY_PAYLOAD(s, i), cfg->payloadsize);
		obs_save_write(&sf, pairs, sizeof(ObsBucketCount) * r.npairs);
	}
	obs_save_end(&sf);
	pfree(pairs);
	pfree(order);
}

/*
 * One record into a new entry (*loaded = 1), or folded into its group's
 * pinned entry when a Space-Saving store is full (2); false when the file
 * is malformed.
 */
static bool
load_record(ObsStore *s, ObsLoadFile *lf, char *fixed, ObsBucketCount *pairs,
			int *loaded)
{
	const ObsStoreConfig *cfg = s->cfg;
	StoreFileRecord r;
	char	   *p = fixed + sizeof(r);
	int32		slot;
	StoreEntry *e;
	int			nb = obs_hist_nbuckets();
	bool		fold = false;
	int			i,
				left;

	*loaded = 0;
	if (!obs_load_read(lf, fixed, record_fixed_size(s)))
		return false;
	memcpy(&r, fixed, sizeof(r));
	/* never trust a length from the file */
	if (r.npairs < 0 || r.npairs > nb ||
		!obs_load_read(lf, pairs, sizeof(ObsBucketCount) * r.npairs))
		return false;
	for (i = 0; i < r.npairs; i++)
		if (pairs[i].bucket < 0 || pairs[i].bucket >= nb)
			return false;
	if (r.c.calls <= 0)
		return true;
	slot = shared_find(s, p);
	if (slot >= 0)
	{
		/* only a pinned entry created empty for its group is filled */
		if (!s->entries[slot].pinned || s->entries[slot].c.calls != 0)
			return true;
	}
	else if (s->sh->nfree == 0)
	{
		/* full: Space-Saving folds it into its group's entry, else drop */
		char		other[OBS_STORE_MAX_KEY];

		memset(other, 0, sizeof(other));
		if (cfg->evict != OBS_EVICT_SPACE_SAVING || r.pinned ||
			!cfg->other_key(p, other) || (slot = shared_find(s, other)) < 0)
			return true;
		s->sh->evictions++;
		s->sh->ss_floor = Max(s->sh->ss_floor, r.c.calls + Max(r.error_bound, 0));
		fold = true;
	}
	else
	{
		slot = store_create(s, p, p + cfg->keysize, r.since, r.pinned != 0);
		if (slot < 0)
			return true;
	}
	e = &s->entries[slot];
	p += cfg->keysize + cfg->auxsize;
	if (fold)
	{
		counters_merge(&e->c, &r.c);
		if (cfg->nextra > 0)
		{
			double		x[OBS_STORE_MAX_EXTRA];

			memcpy(x, p, sizeof(double) * cfg->nextra);
			extras_add(ENTRY_EXTRA(s, slot), x, cfg->nextra);
		}
		if (cfg->payloadsize > 0)
			cfg->payload_merge(ENTRY_PAYLOAD(s, slot),
							   p + sizeof(double) * cfg->nextra);
	}
	else
	{
		e->c = r.c;
		e->usage = r.usage;
		e->error_bound = Max(r.error_bound, 0);
		e->error_bound_ms = isnan(r.error_bound_ms) ? 0.0 : Max(r.error_bound_ms, 0.0);
		memcpy(ENTRY_EXTRA(s, slot), p, sizeof(double) * cfg->nextra);
		memcpy(ENTRY_PAYLOAD(s, slot), p + sizeof(double) * cfg->nextra,
			   cfg->payloadsize);
	}
	/* the postmaster is alone: the cells are taken without contention */
	left = obs_sketch_sort_counts(pairs, r.npairs);
	for (i = 0; i < left; i += OBS_PENDING_PAIRS)
	{
		int			m = Min(OBS_PENDING_PAIRS, left - i);

		SPIN(s, &e->mutex);
		(void) sketch_publish(s, POOL_ENTRIES, -1, &e->mutex, &e->sk,
							  pairs + i, m, NULL, NULL);
		SpinLockRelease(&e->mutex);
		publish_done(s, POOL_ENTRIES);
	}
	*loaded = fold ? 2 : 1;
	return true;
}

/*
 * Read the saved statistics (postmaster start-up, no concurrency), one
 * record at a time into buffers of bounded size: the file's size says
 * nothing about the memory used.  Entries beyond the capacity are counted
 * as not loaded.
 */
static void
store_load(ObsStore *s)
{
	ObsFileShape shape;
	ObsLoadFile lf;
	char	   *fixed;
	ObsBucketCount *pairs;
	int64		i,
				loaded = 0,
				folded = 0;
	bool		ok = true;
	char		msg[200];

	store_file_shape(s, &shape);
	if (!obs_load_begin(&lf, &shape, s->sh->file_state, sizeof(s->sh->file_state)))
		return;
	fixed = MemoryContextAllocExtended(TopMemoryContext, record_fixed_size(s),
									   MCXT_ALLOC_NO_OOM);
	pairs = MemoryContextAllocExtended(TopMemoryContext,
									   sizeof(ObsBucketCount) * obs_hist_nbuckets(),
									   MCXT_ALLOC_NO_OOM);
	if (!ensure_scratch(s) || fixed == NULL || pairs == NULL)
		ok = false;

	/*
	 * First pass: every record's lengths within their bounds, and the
	 * records use up the file exactly.  A count or length that does not
	 * fit (a valid CRC proves nothing about who wrote the file) rejects
	 * the file before anything is loaded.
	 */
	for (i = 0; ok && i < lf.nrecords; i++)
	{
		StoreFileRecord r;

		if (!obs_load_read(&lf, fixed, record_fixed_size(s)))
			break;
		memcpy(&r, fixed, sizeof(r));
		if (r.npairs < 0 || r.npairs > obs_hist_nbuckets() ||
			!obs_load_read(&lf, pairs, sizeof(ObsBucketCount) * r.npairs))
			break;
	}
	if (ok && (i < lf.nrecords || lf.remaining != 0))
	{
		if (fixed)
			pfree(fixed);
		if (pairs)
			pfree(pairs);
		obs_load_end(&lf, "ignored: truncated or wrong length",
					 s->sh->file_state, sizeof(s->sh->file_state));
		return;
	}
	if (ok && !obs_load_rewind(&lf))
		ok = false;

	for (i = 0; ok && i < lf.nrecords; i++)
	{
		int			one;

		ok = load_record(s, &lf, fixed, pairs, &one);
		if (one == 1)
			loaded++;
		else if (one == 2)
			folded++;
	}
	if (fixed)
		pfree(fixed);
	if (pairs)
		pfree(pairs);
	s->sh->stats_reset = lf.hdr.stats_reset;
	snprintf(msg, sizeof(msg), "loaded " INT64_FORMAT " of " INT64_FORMAT " entries",
			 loaded, lf.nrecords);
	if (folded > 0)
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg),
				 " (" INT64_FORMAT " more folded into their group's pinned entry)", folded);
	if (!ok)
		strlcat(msg, ", then stopped at a malformed record", sizeof(msg));
	obs_load_end(&lf, msg, s->sh->file_state, sizeof(s->sh->file_state));
}

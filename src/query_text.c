/*-------------------------------------------------------------------------
 *
 * query_text.c
 *		Normalized statement texts in bounded shared memory, keyed by
 *		(database, role, queryid).  See docs/query_text.md.
 *
 * Per role: the key holds the role that parsed the statement (GetUserId()
 * at parse analysis, the userid the statement statistics are keyed by), so
 * two roles running statements of the same shape keep their own texts,
 * comments included, as pg_stat_statements does.  Readers decide who may
 * see a text from its role (statement_stats.c).
 *
 * Capture: a post_parse_analyze_hook sees every statement with its
 * JumbleState.  When (MyDatabaseId, GetUserId(), queryId) has no text yet
 * it builds
 * the statement's text: its own part of the source string (stmt_location,
 * stmt_len, trimmed like core's CleanQuerytext), with every constant the
 * jumbler recorded replaced by $n, numbered after the highest external
 * parameter, exactly as pg_stat_statements displays it.  Statements without
 * constants (and utility statements) keep their text as written, except
 * the utility statements observa groups (utility_id.h: "SAVEPOINT $1",
 * "SET work_mem = $1", ...), stored under observa's id with the group's
 * text.  Only statements observa would time (observa.track,
 * observa.track_utility) are captured; PREPARE and EXECUTE never are (the
 * prepared statement has its own text).
 *
 * Storage: a shared dynahash of at most observa.max_query_texts entries,
 * each pointing at its text in a byte arena of observa.query_text_memory:
 * a text takes what it needs, not a worst-case slot.  Texts longer than
 * observa.max_query_text are cut at a character boundary and end with the
 * marker "..." (and are flagged truncated).  New texts are appended; a
 * removed text leaves garbage, reclaimed when the arena is full by moving
 * the live texts together (qt_compact, under the exclusive lock); when
 * that is not enough the least recently used texts are evicted first.
 *
 * Eviction: each entry carries a stamp, the value of a global insert clock
 * when it was last stored or used (parsed again, executed, read).  When the
 * store is full, an insert first evicts the 5% of entries with the oldest
 * stamps (at least one): the least recently used texts.  Evictions are
 * counted.  The statement store tells us with obs_query_text_release()
 * when it no longer needs a text, which frees the slot at once.
 *
 * Locking: the entry set and the counters are protected by one LWLock
 * embedded in QtShared.  Look up and copy a text under LW_SHARED (readers
 * never see a torn text); insert, remove, evict and reset under
 * LW_EXCLUSIVE.  An entry's stamp is written under LW_SHARED as a plain
 * 8-byte atomic store: stamps only order eviction, a lost update is
 * harmless.  This module never calls out of itself while holding its lock,
 * so callers may hold their own locks when they call us.
 *
 * Persistence (persist.c's format): when the postmaster exits normally it
 * saves the texts to pg_stat/observa_query_text.stat, oldest first; they
 * are reloaded, and the file removed, when shared memory is next created
 * after a clean shutdown (a first pass checks every length).  Nothing is
 * saved after a crash (shared memory reset), nor when a process died
 * inside an exclusive section (QtShared.writing still set: the table may
 * be inconsistent).
 *
 * Cost on the hot path: normalization (palloc, scanner) happens only when
 * a text is missing, outside any lock.  A backend-local cache remembers
 * which keys it recently found stored; while the key cannot have been
 * removed since (neither the shared reset "generation" nor the removal
 * counter its key hashes onto, one of QT_REMOVAL_SLOTS, moved) and few
 * inserts happened (the clock moved less than capacity / 8), the hook and
 * the recorder skip the shared lock entirely: they read three shared
 * words and write none.  So removals elsewhere (eviction, the statement
 * store releasing texts) cost another backend a lookup only for the keys
 * that share a removal counter with a removed one.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "catalog/pg_authid.h"
#include "common/keywords.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "parser/analyze.h"
#include "parser/scanner.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"

#include "observa.h"
#include "persist.h"
#include "query_text.h"
#include "utility_id.h"

/* appended to a text cut at observa.max_query_text (ASCII: any encoding) */
#define QT_TRUNCATION_MARKER "..."
#define QT_MARKER_LEN ((int) (sizeof(QT_TRUNCATION_MARKER) - 1))

/* share of the entries evicted at once when the store is full */
#define QT_EVICT_PERCENT 5

/* texts saved at shutdown, reloaded (then removed) at start-up */
#define QT_DUMP_FORMAT 3		/* 3: persist.c's file; 2: keys with the role */

/* backend-local cache of keys found stored (power of two) */
#define QT_LOCAL_SLOTS 256

/* removal counters in shared memory, keys hashed onto them (power of two) */
#define QT_REMOVAL_SLOTS 1024

/* GUCs */
static int	qt_max_text = 1024;		/* observa.max_query_text, bytes */
static int	qt_capacity = 5000;		/* observa.max_query_texts */

typedef struct QtKey
{
	Oid			dbid;
	Oid			userid;			/* role that parsed the statement */
	uint64		queryid;
} QtKey;							/* no padding: hashed as bytes */

StaticAssertDecl(sizeof(QtKey) == 2 * sizeof(Oid) + sizeof(uint64),
				 "QtKey must have no padding");

typedef struct QtEntry
{
	QtKey		key;			/* hash key: must be first */
	pg_atomic_uint64 stamp;		/* insert clock when last stored/used */
	int32		len;			/* bytes in text, without the NUL */
	bool		truncated;		/* text was cut and ends with the marker */
	uint32		off;			/* the text (and a NUL) in the arena */
} QtEntry;

#define QT_TEXT(entry) (qt_arena + (entry)->off)

typedef struct QtShared
{
	LWLock		lock;			/* see the header comment */
	int			tranche_id;
	pg_atomic_uint64 clock;		/* +1 per insert */
	pg_atomic_uint32 generation;	/* +1 per reset */
	/* +1 per removal (release, evict) of a key hashed onto the counter */
	pg_atomic_uint32 removed[QT_REMOVAL_SLOTS];
	/* the rest: write under exclusive lock, read under shared lock */
	int64		evictions;		/* texts evicted since start or reset */
	int64		truncations;	/* texts stored truncated since start/reset */
	int64		ntruncated;		/* stored texts that are truncated */
	int64		text_bytes;		/* bytes of all stored texts */
	int64		resets;			/* obs_query_text_reset() calls since start */
	uint64		arena_size;		/* bytes of the text arena */
	uint64		arena_used;		/* bytes handed out (live and garbage) */
	uint64		arena_garbage;	/* of which texts removed since compaction */
	int64		compactions;	/* times the arena was compacted */
	int64		not_stored;		/* texts that found no room even then */
	char		file_state[160];	/* what start-up did with the saved file */
	bool		writing;		/* inside an exclusive section: a process that
								 * dies here may leave the table inconsistent,
								 * so the shutdown save is skipped */
} QtShared;

typedef struct QtLocalSeen
{
	QtKey		key;
	uint64		clock;			/* shared clock when we last saw it stored */
	uint32		generation;		/* shared generation then */
	uint32		removed;		/* the key's removal counter then */
	bool		valid;
} QtLocalSeen;

static QtShared *qt_shared = NULL;
static char *qt_arena = NULL;
static HTAB *qt_hash = NULL;
static int	qt_memory = 2 * 1024 * 1024;	/* observa.query_text_memory */
static QtLocalSeen qt_local[QT_LOCAL_SLOTS];

static post_parse_analyze_hook_type prev_post_parse_analyze_hook = NULL;

static void qt_post_parse_analyze(ParseState *pstate, Query *query,
								  JumbleState *jstate);
static void qt_insert_locked(const QtKey *key, const char *text, int len,
							 bool truncated);
static int	qt_cmp_stamp(const void *a, const void *b);
static int	qt_lock_id = 0;		/* lock counter (core.h) */
static void qt_load(void);
static void qt_shmem_exit(int code, Datum arg);

static Size
qt_entry_size(void)
{
	return MAXALIGN(sizeof(QtEntry));
}

/* the arena holds at least one text of the longest kind */
static Size
qt_arena_bytes(void)
{
	return MAXALIGN(Max((Size) qt_memory, (Size) qt_max_text + 1));
}

void
obs_query_text_init(void)
{
	qt_lock_id = obs_lock_counter("query_text");
	DefineCustomIntVariable("observa.max_query_text",
							"Longest statement text observa keeps, in bytes.",
							"Longer texts are truncated and end with \"...\".",
							&qt_max_text,
							1024,
							64,
							1024 * 1024,
							PGC_POSTMASTER,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomIntVariable("observa.max_query_texts",
							"Number of statement texts observa keeps.",
							"When full, the least recently used texts are evicted.",
							&qt_capacity,
							5000,
							10,
							1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("observa.query_text_memory",
							"Shared memory for the statement texts observa keeps.",
							"Texts take what they need; when it is full the least recently used texts are evicted.",
							&qt_memory,
							2 * 1024 * 1024,
							64 * 1024,
							INT_MAX / 2,
							PGC_POSTMASTER,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	/* texts are keyed by the core query id: make sure it is computed */
	EnableQueryId();

	prev_post_parse_analyze_hook = post_parse_analyze_hook;
	post_parse_analyze_hook = qt_post_parse_analyze;
}

Size
obs_query_text_shmem_size(void)
{
	return add_size(add_size(MAXALIGN(sizeof(QtShared)), qt_arena_bytes()),
					hash_estimate_size(qt_capacity, qt_entry_size()));
}

/* Called with AddinShmemInitLock held, in the postmaster and (EXEC_BACKEND) each backend. */
void
obs_query_text_shmem_startup(void)
{
	HASHCTL		info;
	bool		found;

	qt_shared = ShmemInitStruct("observa query_text",
								MAXALIGN(sizeof(QtShared)) + qt_arena_bytes(), &found);
	qt_arena = (char *) qt_shared + MAXALIGN(sizeof(QtShared));
	if (!found)
	{
		memset(qt_shared, 0, sizeof(QtShared));
		qt_shared->arena_size = qt_arena_bytes();
		strlcpy(qt_shared->file_state, "no file", sizeof(qt_shared->file_state));
		qt_shared->tranche_id = LWLockNewTrancheId();
		LWLockInitialize(&qt_shared->lock, qt_shared->tranche_id);
		pg_atomic_init_u64(&qt_shared->clock, 0);
		pg_atomic_init_u32(&qt_shared->generation, 0);
		for (int i = 0; i < QT_REMOVAL_SLOTS; i++)
			pg_atomic_init_u32(&qt_shared->removed[i], 0);
	}
	LWLockRegisterTranche(qt_shared->tranche_id, "observa_query_text");

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(QtKey);
	info.entrysize = qt_entry_size();
	qt_hash = ShmemInitHash("observa query_text hash",
							qt_capacity, qt_capacity,
							&info,
							HASH_ELEM | HASH_BLOBS | HASH_FIXED_SIZE);

	/* the postmaster (or a single-user backend) saves texts at shutdown */
	if (!IsUnderPostmaster)
		on_shmem_exit(qt_shmem_exit, (Datum) 0);
	if (!found)
		qt_load();
}

/* ----------------------------------------------------------------
 * persistence (persist.c's format): one record per text, oldest first
 * ---------------------------------------------------------------- */

typedef struct QtRecord
{
	Oid			dbid;
	Oid			userid;
	uint64		queryid;
	int32		len;			/* bytes of text that follow (no marker) */
	int32		truncated;
} QtRecord;

static void
qt_file_shape(ObsFileShape *shape)
{
	memset(shape, 0, sizeof(*shape));
	shape->name = "query_text";
	shape->format = QT_DUMP_FORMAT;
	shape->layout = (uint32) sizeof(QtRecord);
	shape->record_size = 0;		/* variable: the texts */
	shape->min_record_size = sizeof(QtRecord);
}

/*
 * A file of observa 1.0's own format (magic "OBQT", format 1: texts without
 * their role) cannot say whose text is whose: one LOG line, removed.
 */
static bool
qt_old_file(void)
{
	const char *path = PGSTAT_STAT_PERMANENT_DIRECTORY "/observa_query_text.stat";
	FILE	   *f = AllocateFile(path, PG_BINARY_R);
	uint32		header[2] = {0, 0};
	bool		old;

	if (f == NULL)
		return false;
	old = fread(header, sizeof(header), 1, f) == 1 &&
		header[0] == 0x4F425154 && header[1] == 1;
	FreeFile(f);
	if (!old)
		return false;
	ereport(LOG,
			(errmsg("observa ignored file \"%s\": its statement texts (format 1) do not say which role ran them",
					path),
			 errdetail("Texts are kept per role since observa 1.1; they are stored again as statements run.")));
	strlcpy(qt_shared->file_state, "ignored: texts of observa 1.0 without their role",
			sizeof(qt_shared->file_state));
	unlink(path);
	return true;
}

/*
 * Read the saved texts (postmaster start-up, alone): a first pass checks
 * every length against observa.max_query_text and that the records use up
 * the file, a second stores them.  Texts that no longer fit the settings
 * are counted and skipped.
 */
static void
qt_load(void)
{
	ObsFileShape shape;
	ObsLoadFile lf;
	char	   *buf;
	int64		i,
				loaded = 0,
				dropped = 0;
	bool		ok = true;
	char		msg[160];

	if (qt_old_file())
		return;
	qt_file_shape(&shape);
	if (!obs_load_begin(&lf, &shape, qt_shared->file_state, sizeof(qt_shared->file_state)))
		return;
	buf = MemoryContextAllocExtended(TopMemoryContext, (Size) qt_max_text + 1,
									 MCXT_ALLOC_NO_OOM);
	for (int pass = 0; ok && buf && pass < 2; pass++)
	{
		for (i = 0; i < lf.nrecords; i++)
		{
			QtRecord	r;
			QtKey		key;

			if (!obs_load_read(&lf, &r, sizeof(r)) || r.len < 0 ||
				(uint64) r.len > lf.remaining)
			{
				ok = false;
				break;
			}
			if (r.len + (r.truncated ? QT_MARKER_LEN : 0) > qt_max_text)
			{
				/* written with a larger observa.max_query_text: skip it */
				char		skip[1024];
				int32		left = r.len;

				while (left > 0 && obs_load_read(&lf, skip, Min(left, (int32) sizeof(skip))))
					left -= Min(left, (int32) sizeof(skip));
				if (pass == 1)
					dropped++;
				continue;
			}
			if (!obs_load_read(&lf, buf, r.len))
			{
				ok = false;
				break;
			}
			if (pass == 0)
				continue;
			memset(&key, 0, sizeof(key));
			key.dbid = r.dbid;
			key.userid = r.userid;
			key.queryid = r.queryid;
			qt_insert_locked(&key, buf, r.len, r.truncated != 0);
			loaded++;
		}
		if (pass == 0 && (!ok || lf.remaining != 0 || !obs_load_rewind(&lf)))
			ok = false;
	}
	if (buf)
		pfree(buf);
	if (!ok)
		strlcpy(msg, "ignored: truncated or wrong length", sizeof(msg));
	else
	{
		snprintf(msg, sizeof(msg), "loaded " INT64_FORMAT " of " INT64_FORMAT " texts",
				 loaded, lf.nrecords);
		if (dropped > 0)
			snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg),
					 " (" INT64_FORMAT " longer than observa.max_query_text)", dropped);
	}
	obs_load_end(&lf, msg, qt_shared->file_state, sizeof(qt_shared->file_state));
}

/*
 * on_shmem_exit callback of the postmaster: save every text, oldest first.
 * Not after a crash (code != 0), nor when a process died while changing
 * the table.
 */
static void
qt_shmem_exit(int code, Datum arg)
{
	HASH_SEQ_STATUS status;
	QtEntry   **entries;
	QtEntry    *entry;
	ObsFileShape shape;
	ObsSaveFile sf;
	int64		count = 0;

	if (code != 0 || qt_shared == NULL || qt_hash == NULL)
		return;
	if (qt_shared->writing)
	{
		ereport(LOG,
				(errmsg("observa did not save statement texts: a process stopped while changing them")));
		return;
	}

	entries = palloc(Max(1, hash_get_num_entries(qt_hash)) * sizeof(QtEntry *));
	hash_seq_init(&status, qt_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
		entries[count++] = entry;
	qsort(entries, count, sizeof(QtEntry *), qt_cmp_stamp);

	qt_file_shape(&shape);
	if (!obs_save_begin(&sf, &shape, code, count, 0))
	{
		pfree(entries);
		return;
	}
	for (int64 i = 0; i < count; i++)
	{
		QtRecord	r;

		memset(&r, 0, sizeof(r));
		r.dbid = entries[i]->key.dbid;
		r.userid = entries[i]->key.userid;
		r.queryid = entries[i]->key.queryid;
		/* saved without the marker: reloading appends it again */
		r.len = entries[i]->len - (entries[i]->truncated ? QT_MARKER_LEN : 0);
		r.truncated = entries[i]->truncated ? 1 : 0;
		obs_save_write(&sf, &r, sizeof(r));
		obs_save_write(&sf, QT_TEXT(entries[i]), r.len);
	}
	obs_save_end(&sf);
	pfree(entries);
}

static inline void
qt_make_key(QtKey *key, Oid dbid, Oid userid, uint64 queryid)
{
	key->dbid = dbid;
	key->userid = userid;
	key->queryid = queryid;
}

/* enter / leave a section that changes the table */
static void
qt_lock_exclusive(void)
{
	OBS_LWLOCK_ACQUIRE(qt_lock_id, &qt_shared->lock, LW_EXCLUSIVE);
	qt_shared->writing = true;
}

static void
qt_unlock_exclusive(void)
{
	qt_shared->writing = false;
	LWLockRelease(&qt_shared->lock);
}

static inline QtLocalSeen *
qt_local_slot(const QtKey *key)
{
	return &qt_local[(key->queryid ^ key->dbid ^ ((uint64) key->userid << 7)) &
					 (QT_LOCAL_SLOTS - 1)];
}

/* the removal counter a key is hashed onto */
static inline pg_atomic_uint32 *
qt_removal_counter(const QtKey *key)
{
	uint64		h = key->queryid ^ ((uint64) key->dbid * UINT64CONST(0x9E3779B97F4A7C15)) ^
		((uint64) key->userid << 17);

	return &qt_shared->removed[(h ^ (h >> 29)) & (QT_REMOVAL_SLOTS - 1)];
}

/*
 * Did this backend find the key stored recently enough that it is surely
 * still stored (no reset, and no removal of a key on its removal counter,
 * since) and needs no fresher stamp?  Reads shared memory, writes none.
 */
static bool
qt_local_recent(const QtKey *key)
{
	QtLocalSeen *seen = qt_local_slot(key);
	uint64		clock;

	if (!seen->valid || seen->key.queryid != key->queryid ||
		seen->key.dbid != key->dbid || seen->key.userid != key->userid)
		return false;
	if (pg_atomic_read_u32(&qt_shared->generation) != seen->generation ||
		pg_atomic_read_u32(qt_removal_counter(key)) != seen->removed)
		return false;
	clock = pg_atomic_read_u64(&qt_shared->clock);
	return clock - seen->clock < (uint64) Max(1, qt_capacity / 8);
}

/* remember a key found stored; call with the lock held (any mode) */
static void
qt_local_remember(const QtKey *key, uint64 clock)
{
	QtLocalSeen *seen = qt_local_slot(key);

	seen->key = *key;
	seen->clock = clock;
	seen->generation = pg_atomic_read_u32(&qt_shared->generation);
	seen->removed = pg_atomic_read_u32(qt_removal_counter(key));
	seen->valid = true;
}

/* mark an entry used now; any lock mode */
static inline void
qt_touch(QtEntry *entry, uint64 clock)
{
	if (pg_atomic_read_u64(&entry->stamp) != clock)
		pg_atomic_write_u64(&entry->stamp, clock);
}

/*
 * Is the key stored?  Refreshes its stamp and the local cache when it is.
 * Takes the lock in shared mode.
 */
static bool
qt_lookup_touch(const QtKey *key)
{
	QtEntry    *entry;

	OBS_LWLOCK_ACQUIRE(qt_lock_id, &qt_shared->lock, LW_SHARED);
	entry = hash_search(qt_hash, key, HASH_FIND, NULL);
	if (entry)
	{
		uint64		clock = pg_atomic_read_u64(&qt_shared->clock);

		qt_touch(entry, clock);
		qt_local_remember(key, clock);
	}
	LWLockRelease(&qt_shared->lock);
	return entry != NULL;
}

/*
 * Account for an entry about to be removed, and tell the backends that
 * remember its key; exclusive lock held.
 */
static void
qt_forget_entry(QtEntry *entry)
{
	pg_atomic_fetch_add_u32(qt_removal_counter(&entry->key), 1);
	qt_shared->text_bytes -= entry->len;
	qt_shared->arena_garbage += entry->len + 1;
	if (entry->truncated)
		qt_shared->ntruncated--;
}

static int
qt_cmp_stamp(const void *a, const void *b)
{
	uint64		sa = pg_atomic_read_u64(&(*(QtEntry *const *) a)->stamp);
	uint64		sb = pg_atomic_read_u64(&(*(QtEntry *const *) b)->stamp);

	if (sa < sb)
		return -1;
	return sa > sb ? 1 : 0;
}

/*
 * Evict the least recently used QT_EVICT_PERCENT of the entries (at least
 * one).  Exclusive lock held; stamps cannot change meanwhile.
 */
static void
qt_evict(void)
{
	HASH_SEQ_STATUS status;
	QtEntry   **entries;
	QtEntry    *entry;
	long		n = 0;
	long		nvictims;
	long		i;

	entries = palloc(hash_get_num_entries(qt_hash) * sizeof(QtEntry *));
	hash_seq_init(&status, qt_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
		entries[n++] = entry;
	if (n == 0)
	{
		pfree(entries);
		return;
	}
	qsort(entries, n, sizeof(QtEntry *), qt_cmp_stamp);

	nvictims = Max(1, n * QT_EVICT_PERCENT / 100);
	for (i = 0; i < nvictims; i++)
	{
		qt_forget_entry(entries[i]);
		hash_search(qt_hash, &entries[i]->key, HASH_REMOVE, NULL);
	}
	qt_shared->evictions += nvictims;
	pfree(entries);
}

static int
qt_cmp_off(const void *a, const void *b)
{
	uint32		x = (*(QtEntry *const *) a)->off;
	uint32		y = (*(QtEntry *const *) b)->off;

	return (x < y) ? -1 : (x > y) ? 1 : 0;
}

/*
 * Move every live text to the front of the arena, in place and in arena
 * order, so that the garbage of removed texts becomes free room.
 * Exclusive lock held (readers copy texts under the shared lock).
 */
static void
qt_compact(void)
{
	HASH_SEQ_STATUS status;
	QtEntry   **entries;
	QtEntry    *entry;
	long		n = 0;
	uint64		to = 0;

	entries = palloc(Max(1, hash_get_num_entries(qt_hash)) * sizeof(QtEntry *));
	hash_seq_init(&status, qt_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
		entries[n++] = entry;
	qsort(entries, n, sizeof(QtEntry *), qt_cmp_off);
	for (long i = 0; i < n; i++)
	{
		Size		len = entries[i]->len + 1;

		if (entries[i]->off != to)
			memmove(qt_arena + to, QT_TEXT(entries[i]), len);
		entries[i]->off = (uint32) to;
		to += len;
	}
	pfree(entries);
	qt_shared->arena_used = to;
	qt_shared->arena_garbage = 0;
	qt_shared->compactions++;
}

/*
 * Make room for need bytes at the end of the arena: compact when the
 * garbage is enough, else evict the least recently used texts and compact.
 * False when even an empty arena is too small.  Exclusive lock held.
 */
static bool
qt_arena_room(Size need)
{
	while (qt_shared->arena_used + need > qt_shared->arena_size)
	{
		if (need > qt_shared->arena_size)
			return false;
		if (qt_shared->arena_used - qt_shared->arena_garbage + need > qt_shared->arena_size)
		{
			if (hash_get_num_entries(qt_hash) == 0)
				return false;
			qt_evict();
		}
		qt_compact();
	}
	return true;
}

/*
 * Store text (len bytes, not necessarily NUL-terminated) for key unless a
 * text is stored already; cuts it at qt_max_text with the marker.
 * 'truncated' says the caller's text was cut already.  The caller holds
 * the lock exclusively (or is the only process: start-up).
 */
static void
qt_insert_locked(const QtKey *key, const char *text, int len, bool truncated)
{
	QtEntry    *entry;
	bool		found;
	uint64		clock;

	/* a cut text keeps room for the marker */
	if (len > qt_max_text || truncated)
	{
		if (len > qt_max_text - QT_MARKER_LEN)
			len = pg_mbcliplen(text, len, qt_max_text - QT_MARKER_LEN);
		truncated = true;
	}

	entry = hash_search(qt_hash, key, HASH_FIND, NULL);
	if (entry != NULL)
	{
		clock = pg_atomic_read_u64(&qt_shared->clock);
		qt_touch(entry, clock);
		qt_local_remember(key, clock);
		return;
	}

	if (hash_get_num_entries(qt_hash) >= qt_capacity)
		qt_evict();
	if (!qt_arena_room(len + (truncated ? QT_MARKER_LEN : 0) + 1))
	{
		qt_shared->not_stored++;
		return;
	}
	entry = hash_search(qt_hash, key, HASH_ENTER_NULL, &found);
	if (entry == NULL)
		return;					/* cannot happen: eviction made room */

	clock = pg_atomic_add_fetch_u64(&qt_shared->clock, 1);
	pg_atomic_init_u64(&entry->stamp, clock);
	entry->off = (uint32) qt_shared->arena_used;
	memcpy(QT_TEXT(entry), text, len);
	if (truncated)
	{
		memcpy(QT_TEXT(entry) + len, QT_TRUNCATION_MARKER, QT_MARKER_LEN);
		len += QT_MARKER_LEN;
		qt_shared->truncations++;
		qt_shared->ntruncated++;
	}
	QT_TEXT(entry)[len] = '\0';
	qt_shared->arena_used += len + 1;
	entry->len = len;
	entry->truncated = truncated;
	qt_shared->text_bytes += len;
	qt_local_remember(key, clock);
}

/* qt_insert_locked() taking the lock */
static void
qt_insert(const QtKey *key, const char *text, int len, bool truncated)
{
	qt_lock_exclusive();
	qt_insert_locked(key, text, len, truncated);
	qt_unlock_exclusive();
}

static int
qt_cmp_location(const void *a, const void *b)
{
	int			la = ((const LocationLen *) a)->location;
	int			lb = ((const LocationLen *) b)->location;

	return (la > lb) - (la < lb);
}

/*
 * Sort the constant locations of jstate and set each one's length in bytes
 * by running the core scanner over the statement (which begins at offset
 * stmt_loc of the source string; stmt points there).  A repeated location
 * keeps length -1 and is skipped later.  A constant starting with '-' is a
 * negative number: the minus and the number form one constant.
 */
static void
qt_constant_lengths(JumbleState *jstate, const char *stmt, int stmt_loc)
{
	LocationLen *locs = jstate->clocations;
	core_yy_extra_type extra;
	core_yyscan_t scanner;
	core_YYSTYPE lval;
	YYLTYPE		lloc;
	int			prev = -1;
	int			tok = 1;
	int			i;

	qsort(locs, jstate->clocations_count, sizeof(LocationLen), qt_cmp_location);

	scanner = scanner_init(stmt, &extra, &ScanKeywords, ScanKeywordTokens);
	extra.escape_string_warning = false;	/* warned when first parsed */

	for (i = 0; i < jstate->clocations_count && tok != 0; i++)
	{
		int			at = locs[i].location - stmt_loc;

		if (at < 0 || at <= prev)
			continue;			/* a duplicate (or outside the statement) */

		/* scan up to the token at (or, defensively, past) the constant */
		while ((tok = core_yylex(&lval, &lloc, scanner)) != 0)
		{
			if (lloc < at)
				continue;
			if (stmt[at] == '-')
				tok = core_yylex(&lval, &lloc, scanner);	/* the number */
			if (tok != 0)
			{
				/* the scanner NUL-terminates the current token in scanbuf */
				locs[i].length = (int) strlen(extra.scanbuf + at);
			}
			break;
		}
		prev = at;
	}
	scanner_finish(scanner);
}

/*
 * The normalized form of a statement of len bytes at stmt (offset stmt_loc
 * in the source string): each constant replaced by $n, n counting from
 * the highest external parameter number + 1 in location order; a location
 * recorded twice is replaced once and numbered once (as pg_stat_statements
 * 15 does).  palloc'd; *outlen gets its length.
 */
static char *
qt_normalize(JumbleState *jstate, const char *stmt, int stmt_loc, int len,
			 int *outlen)
{
	char	   *out;
	int			o = 0;			/* bytes written to out */
	int			copied = 0;		/* bytes of stmt consumed */
	int			n = jstate->highest_extern_param_id;	/* last $n written */
	int			i;

	qt_constant_lengths(jstate, stmt, stmt_loc);

	/* "$" and up to 10 digits can be longer than the constant it replaces */
	out = palloc(len + jstate->clocations_count * 12 + 1);

	for (i = 0; i < jstate->clocations_count; i++)
	{
		int			at = jstate->clocations[i].location - stmt_loc;
		int			clen = jstate->clocations[i].length;

		if (clen < 0 || at < copied || at + clen > len)
			continue;
		memcpy(out + o, stmt + copied, at - copied);
		o += at - copied;
		o += sprintf(out + o, "$%d", ++n);
		copied = at + clen;
	}
	memcpy(out + o, stmt + copied, len - copied);
	o += len - copied;
	out[o] = '\0';
	*outlen = o;
	return out;
}

static bool
qt_is_prepare_related(Node *stmt)
{
	return IsA(stmt, ExecuteStmt) || IsA(stmt, PrepareStmt);
}

/*
 * post_parse_analyze_hook: store the normalized text of a statement whose
 * (database, role, queryid) has none yet.
 */
static void
qt_post_parse_analyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
	QtKey		key;
	uint64		queryid = query->queryId;
	const char *stmt;
	char	   *text;
	int			loc;
	int			len;

	if (prev_post_parse_analyze_hook)
		prev_post_parse_analyze_hook(pstate, query, jstate);

	if (qt_shared == NULL || pstate->p_sourcetext == NULL)
		return;
	if (query->utilityStmt != NULL && qt_is_prepare_related(query->utilityStmt))
		return;
	if (!obs_would_track(obs_nesting_level(), query->utilityStmt != NULL))
		return;

	/* a utility statement grouped by observa has its own id (utility_id.h) */
	if (query->utilityStmt != NULL)
		queryid = obs_utility_queryid(query->utilityStmt, pstate->p_sourcetext,
									  query->stmt_location, query->stmt_len,
									  queryid);
	if (queryid == UINT64CONST(0))
		return;
	qt_make_key(&key, MyDatabaseId, GetUserId(), queryid);
	if (qt_local_recent(&key) || qt_lookup_touch(&key))
		return;

	/* missing: build the text outside any lock */
	if (query->utilityStmt != NULL &&
		(text = obs_utility_text(query->utilityStmt, pstate->p_sourcetext,
								 query->stmt_location, query->stmt_len)) != NULL)
	{
		qt_insert(&key, text, strlen(text), false);
		pfree(text);
		return;
	}
	loc = query->stmt_location;
	len = query->stmt_len;
	stmt = CleanQuerytext(pstate->p_sourcetext, &loc, &len);
	if (jstate != NULL && jstate->clocations_count > 0)
	{
		char	   *norm = qt_normalize(jstate, stmt, loc, len, &len);

		qt_insert(&key, norm, len, false);
		pfree(norm);
	}
	else
		qt_insert(&key, stmt, len, false);
}

/*
 * Recorder: a statement ran; keep its text fresh for eviction.  Usually
 * answered from the backend-local cache without any lock.
 */
void
obs_query_text_record(const ObsSample *sample)
{
	QtKey		key;

	if (qt_shared == NULL || sample->queryid == UINT64CONST(0) || sample->failed)
		return;
	qt_make_key(&key, sample->dbid, sample->userid, sample->queryid);
	if (!qt_local_recent(&key))
		(void) qt_lookup_touch(&key);
}

void
obs_query_text_info(ObsInfoSink *sink)
{
	int64		entries;
	int64		evictions;
	int64		truncations;
	int64		ntruncated;
	int64		bytes;
	int64		resets;
	uint64		arena_used;
	int64		compactions;
	int64		not_stored;
	char		state[160];

	if (qt_shared == NULL)
		return;
	OBS_LWLOCK_ACQUIRE(qt_lock_id, &qt_shared->lock, LW_SHARED);
	entries = hash_get_num_entries(qt_hash);
	evictions = qt_shared->evictions;
	truncations = qt_shared->truncations;
	ntruncated = qt_shared->ntruncated;
	bytes = qt_shared->text_bytes;
	resets = qt_shared->resets;
	arena_used = qt_shared->arena_used;
	compactions = qt_shared->compactions;
	not_stored = qt_shared->not_stored;
	strlcpy(state, qt_shared->file_state, sizeof(state));
	LWLockRelease(&qt_shared->lock);

	obs_info_add_int(sink, "query_text", "entries", entries,
					 "statement texts stored");
	obs_info_add_int(sink, "query_text", "capacity", qt_capacity,
					 "most texts kept (observa.max_query_texts)");
	obs_info_add_int(sink, "query_text", "max_query_text", qt_max_text,
					 "longest text kept, in bytes (observa.max_query_text)");
	obs_info_add_int(sink, "query_text", "evictions", evictions,
					 "texts evicted to make room since start or reset");
	obs_info_add_int(sink, "query_text", "truncated", ntruncated,
					 "stored texts cut at observa.max_query_text");
	obs_info_add_int(sink, "query_text", "truncations", truncations,
					 "texts truncated when stored since start or reset");
	obs_info_add_int(sink, "query_text", "text_bytes", bytes,
					 "bytes of the stored texts");
	obs_info_add_int(sink, "query_text", "resets", resets,
					 "times every text was forgotten (observa.reset()) since start");
	obs_info_add_int(sink, "query_text", "arena_bytes", (int64) qt_shared->arena_size,
					 "shared memory for the texts (observa.query_text_memory)");
	obs_info_add_int(sink, "query_text", "arena_bytes_used", (int64) arena_used,
					 "of which taken by stored texts and by removed ones not yet compacted away");
	obs_info_add_int(sink, "query_text", "compactions", compactions,
					 "times the texts were moved together to reuse the room of removed ones");
	obs_info_add_int(sink, "query_text", "not_stored", not_stored,
					 "texts not stored for want of room since start or reset");
	obs_info_add(sink, "query_text", "persistence", state,
				 "what start-up did with the saved texts");
}

/*
 * The entry of (dbid, queryid) with the lowest role OID (any role's
 * text), or NULL.  A sequential scan: for observa.statement_text() only.
 * Lock held (any mode).
 */
static QtEntry *
qt_find_any_role(Oid dbid, uint64 queryid)
{
	HASH_SEQ_STATUS status;
	QtEntry    *entry;
	QtEntry    *best = NULL;

	hash_seq_init(&status, qt_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (entry->key.dbid == dbid && entry->key.queryid == queryid &&
			(best == NULL || entry->key.userid < best->key.userid))
			best = entry;
	}
	return best;
}

char *
obs_query_text_get(Oid dbid, Oid userid, uint64 queryid, bool *truncated)
{
	QtKey		key;
	QtEntry    *entry;
	char	   *copy = NULL;

	if (truncated)
		*truncated = false;
	if (qt_shared == NULL)
		return NULL;

	qt_make_key(&key, dbid, userid, queryid);
	OBS_LWLOCK_ACQUIRE(qt_lock_id, &qt_shared->lock, LW_SHARED);
	if (OidIsValid(userid))
		entry = hash_search(qt_hash, &key, HASH_FIND, NULL);
	else
		entry = qt_find_any_role(dbid, queryid);
	if (entry != NULL)
	{
		/* copy under the lock: the slot may be reused once we release it */
		copy = palloc(entry->len + 1);
		memcpy(copy, QT_TEXT(entry), entry->len + 1);
		if (truncated)
			*truncated = entry->truncated;
		qt_touch(entry, pg_atomic_read_u64(&qt_shared->clock));
	}
	LWLockRelease(&qt_shared->lock);
	return copy;
}

bool
obs_query_text_put(Oid dbid, Oid userid, uint64 queryid, const char *text,
				   bool truncated)
{
	QtKey		key;
	int			len;

	if (qt_shared == NULL || text == NULL)
		return false;
	len = (int) strlen(text);
	/* a text read back with obs_query_text_get() ends with the marker */
	if (truncated && len >= QT_MARKER_LEN &&
		strcmp(text + len - QT_MARKER_LEN, QT_TRUNCATION_MARKER) == 0)
		len -= QT_MARKER_LEN;
	qt_make_key(&key, dbid, userid, queryid);
	qt_insert(&key, text, len, truncated);
	return true;
}

void
obs_query_text_release(Oid dbid, Oid userid, uint64 queryid)
{
	ObsTextKey	k;

	k.dbid = dbid;
	k.userid = userid;
	k.queryid = queryid;
	obs_query_text_release_many(&k, 1);
}

void
obs_query_text_release_many(const ObsTextKey *keys, int n)
{
	if (qt_shared == NULL || n <= 0)
		return;
	qt_lock_exclusive();
	for (int i = 0; i < n; i++)
	{
		QtKey		key;
		QtEntry    *entry;

		qt_make_key(&key, keys[i].dbid, keys[i].userid, keys[i].queryid);
		entry = hash_search(qt_hash, &key, HASH_FIND, NULL);
		if (entry != NULL)
		{
			qt_forget_entry(entry);
			hash_search(qt_hash, &key, HASH_REMOVE, NULL);
		}
	}
	qt_unlock_exclusive();
}

void
obs_query_text_reset(TimestampTz now)
{
	HASH_SEQ_STATUS status;
	QtEntry    *entry;

	if (qt_shared == NULL)
		return;
	qt_lock_exclusive();
	hash_seq_init(&status, qt_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
		hash_search(qt_hash, &entry->key, HASH_REMOVE, NULL);
	qt_shared->evictions = 0;
	qt_shared->truncations = 0;
	qt_shared->ntruncated = 0;
	qt_shared->text_bytes = 0;
	qt_shared->arena_used = 0;
	qt_shared->arena_garbage = 0;
	qt_shared->not_stored = 0;
	qt_shared->resets++;
	pg_atomic_fetch_add_u32(&qt_shared->generation, 1);
	qt_unlock_exclusive();
}

/*
 * observa.statement_text(queryid bigint) RETURNS text: the stored text of
 * queryid in the current database, or NULL: the caller's own text when it
 * ran the statement, else the text of the role with the lowest OID that
 * did.  It shows any role's text, so only superusers and members of
 * pg_read_all_stats may call it (also enforced by the install script's
 * grants).
 */
PG_FUNCTION_INFO_V1(observa_statement_text);

Datum
observa_statement_text(PG_FUNCTION_ARGS)
{
	uint64		queryid;
	char	   *text;
	bool		truncated;

	obs_require_preload();
	if (!has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to read statement texts"),
				 errdetail("observa.statement_text() shows texts that other roles submitted."),
				 errhint("Grant the pg_read_all_stats role, or use observa.statement_stats, which shows each role its own texts.")));

	queryid = (uint64) PG_GETARG_INT64(0);
	text = obs_query_text_get(MyDatabaseId, GetUserId(), queryid, &truncated);
	if (text == NULL)
		text = obs_query_text_get(MyDatabaseId, InvalidOid, queryid, &truncated);
	if (text == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(text));
}

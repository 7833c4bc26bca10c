/*-------------------------------------------------------------------------
 *
 * tenant_stats.c
 *		Recorder: per-tenant statistics ("which tenant is the noisy
 *		neighbour").  See docs/tenant_stats.md.
 *
 * Tenant of a statement, first match wins among the sources that the
 * superuser setting observa.tenant_sources trusts (all three by default;
 * every one is client-supplied, docs/security.md says how each can be
 * forged):
 *	1. observa.tenant, when the session set it (SET observa.tenant = 'acme');
 *	2. a leading query comment  / * tenant=acme * /  (without the spaces);
 *	3. the value the plan filters a tenant column on with a btree equality
 *	   operator: "tenant_id = 42", "tenant_id = $1" (value taken from the
 *	   bound parameters), "tenant_id = ANY('{42}')" (a list of one), in
 *	   the quals of a scan of a table that has a tenant column
 *	   (observa.tenant_columns), or the value an INSERT ... VALUES of one
 *	   row puts in it;
 *	4. none: the statement counts under the NULL tenant.
 *
 * Which relation has which tenant column is cached per backend (relid ->
 * attnum) in a local hash filled from the syscache on first sight and
 * invalidated by a relcache callback.  A statement whose relations all
 * have no tenant column costs one local hash probe per relation: the plan
 * is not walked.  Whether an operator is a btree equality, and how a
 * tenant value of an uncommon type is rendered (integers, strings and
 * uuids are formatted without an output function), are cached the same
 * way in small arrays.  No output function that could raise is called
 * (type_render): a tenant value is rendered on every statement, where
 * catching an ERROR would cost a subtransaction per statement.  On the
 * error path only the caches are consulted and no output function is
 * called: anything unknown counts under NULL.
 *
 * Storage: shared memory holds observa.max_tenant_databases partitions,
 * each claimed by one database (the least recently used partition is
 * taken over when a new database shows up and none is free).  A partition
 * holds a NULL-tenant entry, an "other tenants" entry and a fixed-size
 * shared hash of at most observa.max_tenants tenant entries.  When the hash
 * is full, Space-Saving by time: the entry with the smallest estimate
 * (total_ms + error_bound_ms) is evicted, its counts are merged into the
 * "other" entry (so the rows of a database always add up to its total),
 * and the newcomer starts with total_ms = 0 and error_bound_ms = the
 * evicted estimate: its true total lies in [total_ms, total_ms +
 * error_bound_ms].  Each entry keeps calls, errors, total time, a latency
 * histogram (histogram.h), its 5 heaviest tables (Space-Saving over 5
 * slots as well) and a ring of per-window aggregates (calls, errors, time
 * and a coarse power-of-two histogram) keyed by window epoch = floor(time /
 * window length).
 *
 * Hot path: obs_tenant_stats_record() appends one event to a backend-local
 * buffer; the buffer is flushed into shared memory when it is nearly full,
 * when its oldest event is a second old, before this backend reads the
 * statistics, and at backend exit.  The error path only appends (or, with
 * a full buffer, adds to a local spill counter flushed into the NULL
 * entry later): no lock, no allocation.
 *
 * Persistence (same rules as store.c): in the postmaster, on_shmem_exit
 * writes every database's since-reset rows (not the windows) to
 * $PGDATA/pg_stat/observa_tenant_stats.stat (magic, format version,
 * histogram shape, the max_tenants / max_tenant_databases it was written
 * with, CRC-32C; temporary file + durable_rename) at a clean exit when
 * observa.save is on.  Start-up reads it only if the control file says the
 * previous shutdown was clean, then removes it.  More saved tenants than
 * observa.max_tenants: the heaviest are kept, the rest merged into
 * "(other)"; more saved databases than partitions: the most recently used
 * are kept.  A missing, truncated, corrupt, foreign or other-shape file is
 * ignored with one LOG line.  The postmaster is alone then: no locks.
 *
 * Locking protocol: TenantShared.lock guards the partition -> database
 * assignment: shared to find a partition, exclusive to (re)assign one or
 * to reset.  Each partition's lock guards everything in it: exclusive to
 * flush events into it (one acquisition per batch), shared to read it.
 * Lock order: TenantShared.lock, then at most one partition lock.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/htup_details.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "pgstat.h"
#include "port/pg_crc32c.h"
#include "parser/parsetree.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
#include "utils/varlena.h"

#include "histogram.h"
#include "observa.h"
#include "store.h"
#include "tenant_columns.h"
#include "tenant_stats.h"

/* longest tenant value kept, in bytes, terminator included */
#define TENANT_KEYLEN			64
/* heaviest tables remembered per tenant */
#define TENANT_TOP_TABLES		5
/* coarse per-window histogram: bucket 0 <= 10 us, then powers of two */
#define WIN_BUCKETS				24
#define WIN_HIST_MIN_MS			0.01
/* at most this many windows per tenant, whatever observa.windows says */
#define TENANT_MAX_WINDOWS		60
/* backend-local buffer: flush when this full, or when a second old */
#define PENDING_MAX				32
#define PENDING_FLUSH_AT		24
#define PENDING_FLUSH_MS		1000

#define OTHER_TENANT_LABEL		"(other)"

/* ------------------------------------------------------------------------
 * Shared structures
 * ------------------------------------------------------------------------
 */
typedef struct TenantKey
{
	char		name[TENANT_KEYLEN];	/* NUL-padded */
} TenantKey;

typedef struct TenantWindow
{
	int64		epoch;			/* -1: unused */
	uint32		calls;
	uint32		errors;
	double		total_ms;
	uint16		hist[WIN_BUCKETS];	/* halved together before overflow */
} TenantWindow;

typedef struct TenantTop
{
	Oid			relid;
	double		ms;
} TenantTop;

/*
 * One tenant's statistics.  The fixed part is followed by the window ring
 * (nwindows TenantWindow) and a histogram (obs_hist_size()).
 */
typedef struct TenantEntry
{
	TenantKey	key;			/* hash key: must be first */
	int64		calls;
	int64		errors;
	double		total_ms;
	double		error_bound_ms;
	TenantTop	top[TENANT_TOP_TABLES];
} TenantEntry;

typedef struct TenantPart
{
	LWLock		lock;
	Oid			dbid;			/* InvalidOid: free */
	TimestampTz last_used;
	TimestampTz stats_since;
	int64		evictions;
} TenantPart;

typedef struct TenantShared
{
	LWLock		lock;
	int			tranche_id;
	int			nparts;
	int			max_tenants;
	int			nwindows;
	int			window_secs;
	int64		database_takeovers;
	Size		shmem_bytes;
	TimestampTz reset_at;
	char		file_state[96]; /* what start-up did with the saved file */
	TenantPart	parts[FLEXIBLE_ARRAY_MEMBER];
} TenantShared;

/* ------------------------------------------------------------------------
 * Settings
 * ------------------------------------------------------------------------
 */
typedef struct TenantColumns
{
	int			n;
	char		names[OBS_MAX_TENANT_COLUMNS][NAMEDATALEN];
} TenantColumns;

static char *tenant_columns_string = NULL;
static TenantColumns *tenant_columns = NULL;
static uint32 tenant_columns_gen = 0;
static char *session_tenant = NULL;
static int	max_tenants = 1000;

/* observa.tenant_sources: which client-supplied tenant sources are trusted */
#define TENANT_SOURCE_SETTING	0x01	/* SET observa.tenant */
#define TENANT_SOURCE_COMMENT	0x02	/* a leading comment tenant=... */
#define TENANT_SOURCE_FILTER	0x04	/* the plan's equality filter, INSERT value */
#define TENANT_SOURCES_ALL		0x07
static char *tenant_sources_string = NULL;
static int	tenant_sources = TENANT_SOURCES_ALL;
static int	max_tenant_databases = 2;

/* ------------------------------------------------------------------------
 * Process state
 * ------------------------------------------------------------------------
 */
static TenantShared *tshared = NULL;
static HTAB **part_hash = NULL;		/* per partition, attached at startup */
static char *special_base = NULL;	/* 2 entries per partition: NULL, other */
static Size entry_size = 0;
static int	cfg_nwindows = 60;
static int	cfg_window_secs = 60;

/* backend-local pending events */
typedef struct PendingEvent
{
	TenantKey	key;
	bool		has_tenant;
	bool		failed;
	Oid			relid;
	double		ms;
	int64		epoch;
} PendingEvent;

static PendingEvent pending[PENDING_MAX];
static int	npending = 0;
static TimestampTz pending_since = 0;
static int64 spill_calls = 0;
static int64 spill_errors = 0;
static double spill_ms = 0.0;
static bool exit_cb_registered = false;

static void tenant_load(void);
static void tenant_shmem_exit(int code, Datum arg);

/* relid -> tenant column cache */
typedef struct RelTenantCache
{
	Oid			relid;			/* hash key */
	AttrNumber	attnum;			/* 0: no tenant column */
} RelTenantCache;

static HTAB *rel_cache = NULL;
static uint32 rel_cache_gen = 0;
static bool rel_cache_flush_all = false;

/* small caches for the operator and type facts the plan walk needs */
#define SMALL_CACHE 16
typedef struct OpFact
{
	Oid			opno;
	bool		is_eq;
} OpFact;
/* how a tenant value of a type is turned into a key (type_fact) */
typedef enum TenantRender
{
	TENANT_RENDER_NONE = 0,		/* not rendered: counts under no tenant */
	TENANT_RENDER_BASE,			/* a domain over a type format_value knows */
	TENANT_RENDER_OUTPUT,		/* a built-in output function of a built-in type or enum */
	TENANT_RENDER_TEXT			/* a string-category varlena: its bytes */
} TenantRender;

typedef struct TypeFact
{
	Oid			type;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Oid			outfn;
	Oid			base;			/* type without its domains */
	TenantRender render;
} TypeFact;
static OpFact op_facts[SMALL_CACHE];
static int	n_op_facts = 0;
static TypeFact type_facts[SMALL_CACHE];
static int	n_type_facts = 0;

/* ------------------------------------------------------------------------
 * Helpers on entries
 * ------------------------------------------------------------------------
 */
static inline Size
entry_fixed_size(void)
{
	return MAXALIGN(sizeof(TenantEntry));
}

static inline TenantWindow *
entry_windows(TenantEntry *e)
{
	return (TenantWindow *) ((char *) e + entry_fixed_size());
}

static inline ObsHistogram *
entry_hist(TenantEntry *e)
{
	return (ObsHistogram *) ((char *) e + entry_fixed_size() +
							 MAXALIGN(sizeof(TenantWindow) * tshared->nwindows));
}

static Size
compute_entry_size(int nwindows)
{
	return entry_fixed_size() +
		MAXALIGN(sizeof(TenantWindow) * nwindows) + obs_hist_size();
}

/* the NULL (which = 0) or "other" (which = 1) entry of partition p */
static inline TenantEntry *
special_entry(int p, int which)
{
	return (TenantEntry *) (special_base + entry_size * (p * 2 + which));
}

/* clear the counters of an entry, keeping its key */
static void
entry_clear(TenantEntry *e)
{
	TenantWindow *w = entry_windows(e);
	int			i;

	e->calls = 0;
	e->errors = 0;
	e->total_ms = 0.0;
	e->error_bound_ms = 0.0;
	memset(e->top, 0, sizeof(e->top));
	memset(w, 0, sizeof(TenantWindow) * tshared->nwindows);
	for (i = 0; i < tshared->nwindows; i++)
		w[i].epoch = -1;
	obs_hist_reset(entry_hist(e));
}

static inline int
win_bucket(double ms)
{
	int			b;

	if (!(ms > WIN_HIST_MIN_MS))
		return 0;
	b = (int) ceil(log2(ms / WIN_HIST_MIN_MS));
	if (b < 1)
		b = 1;
	if (b > WIN_BUCKETS - 1)
		b = WIN_BUCKETS - 1;
	return b;
}

/* representative value of a coarse bucket: geometric middle */
static inline double
win_bucket_value(int b)
{
	if (b <= 0)
		return WIN_HIST_MIN_MS;
	return WIN_HIST_MIN_MS * pow(2.0, b - 0.5);
}

static void
win_hist_add(TenantWindow *w, int b, uint32 n)
{
	int			i;

	while ((uint32) w->hist[b] + n > PG_UINT16_MAX)
	{
		for (i = 0; i < WIN_BUCKETS; i++)
			w->hist[i] = (w->hist[i] + 1) / 2;
		if (n > PG_UINT16_MAX)
			n = (n + 1) / 2;
	}
	w->hist[b] += n;
}

/* add another window's counts into w (same epoch) */
static void
win_merge(TenantWindow *w, const TenantWindow *src)
{
	int			i;

	w->calls += src->calls;
	w->errors += src->errors;
	w->total_ms += src->total_ms;
	for (i = 0; i < WIN_BUCKETS; i++)
		if (src->hist[i] > 0)
			win_hist_add(w, i, src->hist[i]);
}

/* the ring slot of an epoch, reset if it held an older window; NULL if stale */
static TenantWindow *
win_slot(TenantEntry *e, int64 epoch)
{
	TenantWindow *w = &entry_windows(e)[epoch % tshared->nwindows];

	if (w->epoch == epoch)
		return w;
	if (w->epoch > epoch)
		return NULL;
	memset(w, 0, sizeof(TenantWindow));
	w->epoch = epoch;
	return w;
}

/* Space-Saving over the few top-table slots */
static void
top_add(TenantTop *top, Oid relid, double ms)
{
	int			i;
	int			min = 0;

	if (!OidIsValid(relid))
		return;
	for (i = 0; i < TENANT_TOP_TABLES; i++)
	{
		if (top[i].relid == relid)
		{
			top[i].ms += ms;
			return;
		}
		if (!OidIsValid(top[i].relid))
		{
			top[i].relid = relid;
			top[i].ms = ms;
			return;
		}
		if (top[i].ms < top[min].ms)
			min = i;
	}
	top[min].relid = relid;
	top[min].ms += ms;
}

/* merge everything of src into dst (eviction into "other") */
static void
entry_merge(TenantEntry *dst, TenantEntry *src)
{
	TenantWindow *dw = entry_windows(dst);
	TenantWindow *sw = entry_windows(src);
	int			i;

	dst->calls += src->calls;
	dst->errors += src->errors;
	dst->total_ms += src->total_ms;
	for (i = 0; i < TENANT_TOP_TABLES; i++)
		top_add(dst->top, src->top[i].relid, src->top[i].ms);
	for (i = 0; i < tshared->nwindows; i++)
	{
		if (sw[i].epoch < 0)
			continue;
		if (dw[i].epoch == sw[i].epoch)
			win_merge(&dw[i], &sw[i]);
		else if (dw[i].epoch < sw[i].epoch)
			dw[i] = sw[i];
	}
	obs_hist_merge(entry_hist(dst), entry_hist(src));
}

/* apply one event to an entry (partition lock held exclusively) */
static void
entry_apply(TenantEntry *e, const PendingEvent *ev)
{
	TenantWindow *w;

	e->calls++;
	if (ev->failed)
		e->errors++;
	e->total_ms += ev->ms;
	obs_hist_record(entry_hist(e), ev->ms);
	top_add(e->top, ev->relid, ev->ms);
	w = win_slot(e, ev->epoch);
	if (w)
	{
		w->calls++;
		if (ev->failed)
			w->errors++;
		w->total_ms += ev->ms;
		win_hist_add(w, win_bucket(ev->ms), 1);
	}
}

/* ------------------------------------------------------------------------
 * Settings: observa.tenant_columns (shared with the index advisor through
 * tenant_columns.h), observa.tenant, observa.max_tenants,
 * observa.max_tenant_databases
 * ------------------------------------------------------------------------
 */
static bool
check_tenant_columns(char **newval, void **extra, GucSource source)
{
	char	   *raw;
	List	   *names;
	ListCell   *lc;
	TenantColumns *cols;

	raw = pstrdup(*newval ? *newval : "");
	if (!SplitIdentifierString(raw, ',', &names))
	{
		GUC_check_errdetail("List syntax is invalid: expected column names separated by commas.");
		pfree(raw);
		list_free(names);
		return false;
	}
	if (list_length(names) > OBS_MAX_TENANT_COLUMNS)
	{
		GUC_check_errdetail("At most %d tenant column names are allowed.",
							OBS_MAX_TENANT_COLUMNS);
		pfree(raw);
		list_free(names);
		return false;
	}
	cols = (TenantColumns *) malloc(sizeof(TenantColumns));
	if (cols == NULL)
	{
		GUC_check_errcode(ERRCODE_OUT_OF_MEMORY);
		GUC_check_errdetail("Out of memory.");
		pfree(raw);
		list_free(names);
		return false;
	}
	memset(cols, 0, sizeof(TenantColumns));
	foreach(lc, names)
	{
		const char *name = (const char *) lfirst(lc);

		if (name[0] == '\0')
		{
			GUC_check_errdetail("A tenant column name is empty.");
			free(cols);
			pfree(raw);
			list_free(names);
			return false;
		}
		strlcpy(cols->names[cols->n++], name, NAMEDATALEN);
	}
	pfree(raw);
	list_free(names);
	*extra = cols;
	return true;
}

static void
assign_tenant_columns(const char *newval, void *extra)
{
	tenant_columns = (TenantColumns *) extra;
	tenant_columns_gen++;
}

static bool
check_session_tenant(char **newval, void **extra, GucSource source)
{
	if (*newval != NULL && strlen(*newval) >= TENANT_KEYLEN)
	{
		GUC_check_errdetail("A tenant value is at most %d bytes long.",
							TENANT_KEYLEN - 1);
		return false;
	}
	return true;
}

/* observa.tenant_sources: a list of setting, comment, filter (or empty) */
static bool
check_tenant_sources(char **newval, void **extra, GucSource source)
{
	char	   *raw = pstrdup(*newval ? *newval : "");
	List	   *names;
	ListCell   *lc;
	int			bits = 0;
	int		   *result;

	if (!SplitIdentifierString(raw, ',', &names))
	{
		GUC_check_errdetail("List syntax is invalid: expected source names separated by commas.");
		pfree(raw);
		list_free(names);
		return false;
	}
	foreach(lc, names)
	{
		const char *name = (const char *) lfirst(lc);

		if (strcmp(name, "setting") == 0)
			bits |= TENANT_SOURCE_SETTING;
		else if (strcmp(name, "comment") == 0)
			bits |= TENANT_SOURCE_COMMENT;
		else if (strcmp(name, "filter") == 0)
			bits |= TENANT_SOURCE_FILTER;
		else
		{
			GUC_check_errdetail("Unknown tenant source \"%s\".", name);
			GUC_check_errhint("The sources are setting, comment and filter.");
			pfree(raw);
			list_free(names);
			return false;
		}
	}
	pfree(raw);
	list_free(names);
	result = (int *) malloc(sizeof(int));
	if (result == NULL)
	{
		GUC_check_errcode(ERRCODE_OUT_OF_MEMORY);
		GUC_check_errdetail("Out of memory.");
		return false;
	}
	*result = bits;
	*extra = result;
	return true;
}

static void
assign_tenant_sources(const char *newval, void *extra)
{
	tenant_sources = *((int *) extra);
}

int
obs_tenant_column_count(void)
{
	return tenant_columns ? tenant_columns->n : 0;
}

const char *
obs_tenant_column(int i)
{
	Assert(tenant_columns != NULL && i >= 0 && i < tenant_columns->n);
	return tenant_columns->names[i];
}

bool
obs_is_tenant_column(const char *attname)
{
	int			i;

	for (i = 0; i < obs_tenant_column_count(); i++)
	{
		if (strcmp(tenant_columns->names[i], attname) == 0)
			return true;
	}
	return false;
}

uint32
obs_tenant_columns_generation(void)
{
	return tenant_columns_gen;
}

void
obs_tenant_stats_init(void)
{
	DefineCustomStringVariable("observa.tenant_columns",
							   "Column names that hold a row's tenant, comma-separated.",
							   "Used by per-tenant statistics and the index advisor. Empty: none.",
							   &tenant_columns_string,
							   "tenant_id",
							   PGC_SUSET,
							   GUC_LIST_INPUT,
							   check_tenant_columns, assign_tenant_columns, NULL);

	DefineCustomStringVariable("observa.tenant",
							   "Tenant the session's statements are counted under.",
							   "Overrides the tenant found in the statement. Empty: not set.",
							   &session_tenant,
							   "",
							   PGC_USERSET,
							   0,
							   check_session_tenant, NULL, NULL);

	DefineCustomStringVariable("observa.tenant_sources",
							   "Tenant sources trusted by per-tenant statistics, comma-separated.",
							   "setting (SET observa.tenant), comment (/* tenant=... */), filter (the plan's equality filter on a tenant column). All are client-supplied.",
							   &tenant_sources_string,
							   "setting, comment, filter",
							   PGC_SUSET,
							   GUC_LIST_INPUT,
							   check_tenant_sources, assign_tenant_sources, NULL);

	DefineCustomIntVariable("observa.max_tenants",
							"Tenants tracked per database by per-tenant statistics.",
							"The heaviest tenants by time are kept; the rest count under \"(other)\".",
							&max_tenants,
							1000, 1, 1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("observa.max_tenant_databases",
							"Databases per-tenant statistics can track at once.",
							"When more databases are active, the least recently used one is taken over.",
							&max_tenant_databases,
							2, 1, 64,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);
}

/*
 * Read an integer setting of another room (time windows), in seconds for
 * time units; def when the setting does not exist.
 */
static int
other_room_setting(const char *name, int def, bool seconds)
{
	const char *val = GetConfigOption(name, true, false);
	int			flags;
	int			v;

	if (val == NULL || !parse_int(val, &v, 0, NULL))
		return def;
	if (seconds)
	{
		flags = GetConfigOptionFlags(name, true);
		switch (flags & GUC_UNIT_TIME)
		{
			case GUC_UNIT_MS:
				v = v / 1000;
				break;
			case GUC_UNIT_MIN:
				v = v * 60;
				break;
			default:
				break;
		}
	}
	return v;
}

/* bytes of shared memory for the current settings (entry_size known) */
static Size
tenant_shmem_bytes(void)
{
	Size		size;
	int			p;

	size = MAXALIGN(add_size(offsetof(TenantShared, parts),
							 mul_size(sizeof(TenantPart), max_tenant_databases)));
	size = add_size(size, mul_size(entry_size, 2 * max_tenant_databases));
	for (p = 0; p < max_tenant_databases; p++)
		size = add_size(size, hash_estimate_size(max_tenants, entry_size));
	return size;
}

/*
 * Called from the shmem request hook, once all settings are loaded: reads
 * the window length and count of the time-window room (observa.window,
 * observa.windows; 60 s and 60 when that room is absent) and sizes the
 * store.
 */
Size
obs_tenant_stats_shmem_size(void)
{
	cfg_window_secs = Max(other_room_setting("observa.window", 60, true), 1);
	cfg_nwindows = other_room_setting("observa.windows", 60, false);
	cfg_nwindows = Min(Max(cfg_nwindows, 1), TENANT_MAX_WINDOWS);
	entry_size = compute_entry_size(cfg_nwindows);
	return tenant_shmem_bytes();
}

void
obs_tenant_stats_shmem_startup(void)
{
	bool		found;
	Size		hdr;
	int			p;

	hdr = MAXALIGN(offsetof(TenantShared, parts) +
				   sizeof(TenantPart) * max_tenant_databases);
	if (entry_size == 0)
		entry_size = compute_entry_size(cfg_nwindows);
	tshared = ShmemInitStruct("observa tenant stats",
							  hdr + entry_size * 2 * max_tenant_databases,
							  &found);
	special_base = (char *) tshared + hdr;
	if (!found)
	{
		tshared->tranche_id = LWLockNewTrancheId();
		LWLockInitialize(&tshared->lock, tshared->tranche_id);
		tshared->nparts = max_tenant_databases;
		tshared->max_tenants = max_tenants;
		tshared->nwindows = cfg_nwindows;
		tshared->window_secs = cfg_window_secs;
		tshared->database_takeovers = 0;
		tshared->shmem_bytes = tenant_shmem_bytes();
		tshared->reset_at = GetCurrentTimestamp();
		strlcpy(tshared->file_state, "no file", sizeof(tshared->file_state));
		for (p = 0; p < tshared->nparts; p++)
		{
			TenantPart *part = &tshared->parts[p];

			LWLockInitialize(&part->lock, tshared->tranche_id);
			part->dbid = InvalidOid;
			part->last_used = 0;
			part->stats_since = tshared->reset_at;
			part->evictions = 0;
			memset(special_entry(p, 0), 0, entry_size);
			memset(special_entry(p, 1), 0, entry_size);
			entry_clear(special_entry(p, 0));
			entry_clear(special_entry(p, 1));
			strlcpy(special_entry(p, 1)->key.name, OTHER_TENANT_LABEL,
					TENANT_KEYLEN);
		}
	}
	LWLockRegisterTranche(tshared->tranche_id, "observa_tenant_stats");

	part_hash = MemoryContextAllocZero(TopMemoryContext,
									   sizeof(HTAB *) * tshared->nparts);
	for (p = 0; p < tshared->nparts; p++)
	{
		HASHCTL		info;
		char		name[64];

		memset(&info, 0, sizeof(info));
		info.keysize = sizeof(TenantKey);
		info.entrysize = entry_size;
		snprintf(name, sizeof(name), "observa tenant stats %d", p);
		part_hash[p] = ShmemInitHash(name, tshared->max_tenants,
									 tshared->max_tenants, &info,
									 HASH_ELEM | HASH_STRINGS | HASH_FIXED_SIZE);
	}

	/* the postmaster loads the saved file and saves it at shutdown */
	if (!IsUnderPostmaster)
	{
		if (!found)
			tenant_load();
		on_shmem_exit(tenant_shmem_exit, (Datum) 0);
	}
}

/* ------------------------------------------------------------------------
 * Persistence (postmaster only: no other process runs, so no locks)
 *
 * File $PGDATA/pg_stat/observa_tenant_stats.stat:
 *	TenantFileHeader
 *	per database: TenantFileDb, then 2 + ntenants records (the NULL row,
 *	  the "(other)" row, the tenants), each a TenantFileEntry followed by
 *	  a histogram of hist_size bytes
 *	CRC-32C of everything before it
 * The windows are not saved.
 * ------------------------------------------------------------------------
 */
#define TENANT_FILE_MAGIC		0x0B5E7E01
#define TENANT_FILE_FORMAT		1
#define TENANT_FILE_NAME		"observa_tenant_stats.stat"

typedef struct TenantFileHeader
{
	uint32		magic;
	uint32		format;
	uint32		pg_version;
	int32		nbuckets;		/* obs_hist_nbuckets() */
	uint32		hist_size;		/* obs_hist_size() */
	uint32		keylen;			/* TENANT_KEYLEN */
	int32		max_tenants;	/* as written */
	int32		nparts;			/* max_tenant_databases as written */
	int32		ndbs;			/* databases that follow */
	int32		pad;
	int64		database_takeovers;
	TimestampTz reset_at;
} TenantFileHeader;

typedef struct TenantFileDb
{
	Oid			dbid;
	int32		ntenants;
	TimestampTz last_used;
	TimestampTz stats_since;
	int64		evictions;
} TenantFileDb;

typedef struct TenantFileEntry
{
	TenantKey	key;
	int64		calls;
	int64		errors;
	double		total_ms;
	double		error_bound_ms;
	TenantTop	top[TENANT_TOP_TABLES];
} TenantFileEntry;

static void
tenant_file_path(char *path, Size len, bool tmp)
{
	snprintf(path, len, "%s/%s%s", PGSTAT_STAT_PERMANENT_DIRECTORY,
			 TENANT_FILE_NAME, tmp ? ".tmp" : "");
}

/* observa.save, a setting of store.c; on (its default) if unreadable */
static bool
tenant_save_enabled(void)
{
	const char *val = GetConfigOption("observa.save", true, false);
	bool		on;

	if (val == NULL || !parse_bool(val, &on))
		return true;
	return on;
}

static void
set_file_state(const char *path, const char *state)
{
	strlcpy(tshared->file_state, state, sizeof(tshared->file_state));
	ereport(LOG,
			(errmsg("observa: tenant_stats statistics file \"%s\": %s",
					path, state)));
}

/* write one entry record; false on a write error */
static bool
write_entry(FILE *f, pg_crc32c *crc, TenantEntry *e)
{
	TenantFileEntry r;

	memset(&r, 0, sizeof(r));
	r.key = e->key;
	r.calls = e->calls;
	r.errors = e->errors;
	r.total_ms = e->total_ms;
	r.error_bound_ms = e->error_bound_ms;
	memcpy(r.top, e->top, sizeof(r.top));
	COMP_CRC32C(*crc, &r, sizeof(r));
	COMP_CRC32C(*crc, entry_hist(e), obs_hist_size());
	return fwrite(&r, sizeof(r), 1, f) == 1 &&
		fwrite(entry_hist(e), obs_hist_size(), 1, f) == 1;
}

/*
 * on_shmem_exit callback of the postmaster: dump the since-reset state of
 * every database to the file (through a temporary file and
 * durable_rename), unless the exit is not clean or observa.save is off.
 */
static void
tenant_shmem_exit(int code, Datum arg)
{
	char		path[MAXPGPATH];
	char		tmppath[MAXPGPATH];
	FILE	   *f;
	TenantFileHeader hdr;
	pg_crc32c	crc;
	int			p;

	/* never dump after a crash: shared memory may be inconsistent */
	if (code != 0 || tshared == NULL || !tenant_save_enabled())
		return;

	tenant_file_path(path, sizeof(path), false);
	tenant_file_path(tmppath, sizeof(tmppath), true);
	f = AllocateFile(tmppath, PG_BINARY_W);
	if (f == NULL)
		goto error;

	memset(&hdr, 0, sizeof(hdr));
	hdr.magic = TENANT_FILE_MAGIC;
	hdr.format = TENANT_FILE_FORMAT;
	hdr.pg_version = PG_VERSION_NUM;
	hdr.nbuckets = obs_hist_nbuckets();
	hdr.hist_size = (uint32) obs_hist_size();
	hdr.keylen = TENANT_KEYLEN;
	hdr.max_tenants = tshared->max_tenants;
	hdr.nparts = tshared->nparts;
	for (p = 0; p < tshared->nparts; p++)
		if (OidIsValid(tshared->parts[p].dbid))
			hdr.ndbs++;
	hdr.database_takeovers = tshared->database_takeovers;
	hdr.reset_at = tshared->reset_at;
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, &hdr, sizeof(hdr));
	if (fwrite(&hdr, sizeof(hdr), 1, f) != 1)
		goto error;

	for (p = 0; p < tshared->nparts; p++)
	{
		TenantPart *part = &tshared->parts[p];
		TenantFileDb db;
		HASH_SEQ_STATUS seq;
		TenantEntry *e;

		if (!OidIsValid(part->dbid))
			continue;
		memset(&db, 0, sizeof(db));
		db.dbid = part->dbid;
		db.ntenants = (int32) hash_get_num_entries(part_hash[p]);
		db.last_used = part->last_used;
		db.stats_since = part->stats_since;
		db.evictions = part->evictions;
		COMP_CRC32C(crc, &db, sizeof(db));
		if (fwrite(&db, sizeof(db), 1, f) != 1)
			goto error;
		if (!write_entry(f, &crc, special_entry(p, 0)) ||
			!write_entry(f, &crc, special_entry(p, 1)))
			goto error;
		hash_seq_init(&seq, part_hash[p]);
		while ((e = hash_seq_search(&seq)) != NULL)
		{
			if (!write_entry(f, &crc, e))
			{
				hash_seq_term(&seq);
				goto error;
			}
		}
	}
	obs_stat_file_commit(f, crc, tmppath, path);
	return;

error:
	obs_stat_file_abort(f, tmppath);
}

/* a loaded tenant, and its place in the file (for sorting) */
typedef struct LoadedTenant
{
	const char *rec;			/* TenantFileEntry + histogram */
	double		estimate;		/* total_ms + error_bound_ms */
} LoadedTenant;

static int
loaded_cmp(const void *a, const void *b)
{
	const LoadedTenant *x = a;
	const LoadedTenant *y = b;

	if (x->estimate != y->estimate)
		return x->estimate > y->estimate ? -1 : 1;
	return 0;
}

/* copy a saved record's counters and histogram into entry e (windows empty) */
static void
entry_from_record(TenantEntry *e, const char *rec)
{
	TenantFileEntry r;

	memcpy(&r, rec, sizeof(r));
	entry_clear(e);
	e->calls = r.calls;
	e->errors = r.errors;
	e->total_ms = r.total_ms;
	e->error_bound_ms = r.error_bound_ms;
	memcpy(e->top, r.top, sizeof(e->top));
	memcpy(entry_hist(e), rec + sizeof(r), obs_hist_size());
}

/*
 * Load one saved database into partition p.  Tenants beyond
 * observa.max_tenants (the lightest by total_ms + error_bound_ms) are
 * merged into the "(other)" row, as an eviction would, so the rows still
 * add up.  Returns the number of tenants folded.
 */
static int
load_database(int p, const TenantFileDb *db, const char *recs, Size rsize,
			  TenantEntry *tmp)
{
	TenantPart *part = &tshared->parts[p];
	LoadedTenant *ts = NULL;
	int			keep;
	int			i;

	part->dbid = db->dbid;
	part->last_used = db->last_used;
	part->stats_since = db->stats_since;
	part->evictions = db->evictions;
	entry_from_record(special_entry(p, 0), recs);
	entry_from_record(special_entry(p, 1), recs + rsize);
	/* labels are ours, whatever the file says */
	memset(&special_entry(p, 0)->key, 0, sizeof(TenantKey));
	memset(&special_entry(p, 1)->key, 0, sizeof(TenantKey));
	strlcpy(special_entry(p, 1)->key.name, OTHER_TENANT_LABEL, TENANT_KEYLEN);

	if (db->ntenants == 0)
		return 0;
	ts = palloc(sizeof(LoadedTenant) * db->ntenants);
	for (i = 0; i < db->ntenants; i++)
	{
		TenantFileEntry r;

		ts[i].rec = recs + rsize * (2 + (Size) i);
		memcpy(&r, ts[i].rec, sizeof(r));
		ts[i].estimate = r.total_ms + r.error_bound_ms;
	}
	keep = Min(db->ntenants, tshared->max_tenants);
	if (keep < db->ntenants)
		qsort(ts, db->ntenants, sizeof(LoadedTenant), loaded_cmp);

	for (i = 0; i < db->ntenants; i++)
	{
		TenantKey	key;
		TenantEntry *e = NULL;
		bool		found = false;
		int			len;

		memcpy(&key, ts[i].rec, sizeof(key));
		key.name[TENANT_KEYLEN - 1] = '\0';
		len = strlen(key.name);
		memset(key.name + len, 0, TENANT_KEYLEN - len);
		if (i < keep)
			e = hash_search(part_hash[p], &key, HASH_ENTER_NULL, &found);
		entry_from_record(tmp, ts[i].rec);
		if (e != NULL && !found)
		{
			entry_from_record(e, ts[i].rec);
			e->key = key;
		}
		else if (e != NULL)
			entry_merge(e, tmp);	/* a duplicate key: cannot happen */
		else
		{
			entry_merge(special_entry(p, 1), tmp);
			part->evictions++;
		}
	}
	pfree(ts);
	return db->ntenants - keep;
}

/* a database found in the file */
typedef struct SavedDb
{
	TenantFileDb db;
	const char *recs;			/* its 2 + ntenants records */
} SavedDb;

static int
saved_db_cmp(const void *a, const void *b)
{
	const SavedDb *x = a;
	const SavedDb *y = b;

	if (x->db.last_used != y->db.last_used)
		return x->db.last_used > y->db.last_used ? -1 : 1;
	return 0;
}

/*
 * Read the saved file at postmaster start-up (shared memory just created,
 * no concurrency), if the previous shutdown was clean, then remove it.
 * Anything wrong with the file: one LOG line, empty statistics.
 */
static void
tenant_load(void)
{
	char		path[MAXPGPATH];
	struct stat st;
	FILE	   *f;
	char	   *buf = NULL;
	TenantFileHeader hdr;
	pg_crc32c	crc,
				filecrc;
	Size		rsize = sizeof(TenantFileEntry) + obs_hist_size();
	Size		body;
	Size		off;
	int			d;
	int			loaded_dbs = 0;
	int64		loaded_tenants = 0;
	int64		folded = 0;
	TenantEntry *tmp = NULL;
	SavedDb    *dbs = NULL;
	char		msg[160];

	tenant_file_path(path, sizeof(path), false);
	if (stat(path, &st) != 0)
	{
		strlcpy(tshared->file_state, "no file", sizeof(tshared->file_state));
		return;
	}
	if (!tenant_save_enabled())
	{
		set_file_state(path, "ignored: observa.save is off");
		goto done;
	}
	if (!obs_previous_shutdown_clean())
	{
		set_file_state(path, "ignored: the previous shutdown was not clean");
		goto done;
	}
	if ((Size) st.st_size < sizeof(hdr) + sizeof(pg_crc32c))
	{
		set_file_state(path, "ignored: truncated");
		goto done;
	}
	f = AllocateFile(path, PG_BINARY_R);
	if (f == NULL)
	{
		set_file_state(path, "ignored: cannot be opened");
		goto done;
	}
	/* out of memory must not stop the server from starting */
	buf = palloc_extended(st.st_size, MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
	if (buf == NULL)
	{
		FreeFile(f);
		set_file_state(path, "ignored: too large to read into memory");
		goto done;
	}
	if (fread(buf, 1, st.st_size, f) != (size_t) st.st_size)
	{
		FreeFile(f);
		set_file_state(path, "ignored: cannot be read");
		goto done;
	}
	FreeFile(f);

	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.magic != TENANT_FILE_MAGIC || hdr.format != TENANT_FILE_FORMAT ||
		hdr.pg_version / 100 != PG_VERSION_NUM / 100)
	{
		set_file_state(path, "ignored: not an observa file of this version");
		goto done;
	}
	if (hdr.nbuckets != obs_hist_nbuckets() ||
		hdr.hist_size != (uint32) obs_hist_size() ||
		hdr.keylen != TENANT_KEYLEN)
	{
		set_file_state(path, "ignored: written with a different histogram_error or layout");
		goto done;
	}
	body = (Size) st.st_size - sizeof(pg_crc32c);
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, buf, body);
	FIN_CRC32C(crc);
	memcpy(&filecrc, buf + body, sizeof(filecrc));
	if (!EQ_CRC32C(crc, filecrc))
	{
		set_file_state(path, "ignored: truncated or checksum mismatch");
		goto done;
	}

	/* check the structure completely before touching shared memory */
	if (hdr.ndbs < 0 || hdr.ndbs > hdr.nparts || hdr.nparts > 64)
	{
		set_file_state(path, "ignored: inconsistent header");
		goto done;
	}
	dbs = palloc0(sizeof(SavedDb) * Max(hdr.ndbs, 1));
	off = sizeof(hdr);
	for (d = 0; d < hdr.ndbs; d++)
	{
		TenantFileDb db;

		if (body - off < sizeof(db))
			break;
		memcpy(&db, buf + off, sizeof(db));
		off += sizeof(db);
		dbs[d].db = db;
		dbs[d].recs = buf + off;
		if (db.ntenants < 0 || db.ntenants > hdr.max_tenants ||
			(body - off) / rsize < (Size) db.ntenants + 2)
			break;
		off += rsize * ((Size) db.ntenants + 2);
	}
	if (d < hdr.ndbs || off != body)
	{
		set_file_state(path, "ignored: wrong length");
		goto done;
	}

	/* load: the most recently used databases first, as many as fit */
	qsort(dbs, hdr.ndbs, sizeof(SavedDb), saved_db_cmp);
	tmp = palloc0(entry_size);
	for (d = 0; d < hdr.ndbs && loaded_dbs < tshared->nparts; d++)
	{
		if (!OidIsValid(dbs[d].db.dbid))
			continue;
		folded += load_database(loaded_dbs, &dbs[d].db, dbs[d].recs, rsize, tmp);
		loaded_tenants += dbs[d].db.ntenants;
		loaded_dbs++;
	}
	tshared->database_takeovers = hdr.database_takeovers;
	tshared->reset_at = hdr.reset_at;
	snprintf(msg, sizeof(msg),
			 "loaded %d of %d databases, " INT64_FORMAT " tenants (" INT64_FORMAT " folded into (other))",
			 loaded_dbs, hdr.ndbs, loaded_tenants - folded, folded);
	set_file_state(path, msg);

done:
	if (buf)
		pfree(buf);
	if (tmp)
		pfree(tmp);
	if (dbs)
		pfree(dbs);
	if (unlink(path) != 0 && errno != ENOENT)
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not remove observa statistics file \"%s\": %m", path)));
}

/* ------------------------------------------------------------------------
 * Relation -> tenant column cache
 * ------------------------------------------------------------------------
 */
static void
rel_cache_callback(Datum arg, Oid relid)
{
	if (rel_cache == NULL)
		return;
	if (OidIsValid(relid))
		hash_search(rel_cache, &relid, HASH_REMOVE, NULL);
	else
		rel_cache_flush_all = true;
}

static void
rel_cache_reset(void)
{
	HASH_SEQ_STATUS seq;
	RelTenantCache *c;

	hash_seq_init(&seq, rel_cache);
	while ((c = hash_seq_search(&seq)) != NULL)
		hash_search(rel_cache, &c->relid, HASH_REMOVE, NULL);
	rel_cache_flush_all = false;
	rel_cache_gen = tenant_columns_gen;
}

/*
 * Tenant column of a relation: its attnum, 0 when it has none, -1 when
 * unknown.  With may_fill (normal path, inside a transaction) an unknown
 * relation is looked up in the syscache and remembered; otherwise only
 * the cache answers.
 */
static AttrNumber
rel_tenant_attnum(Oid relid, bool may_fill)
{
	RelTenantCache *c;
	AttrNumber	attnum = 0;
	int			i;

	if (relid < FirstNormalObjectId || obs_tenant_column_count() == 0)
		return 0;
	if (rel_cache == NULL)
	{
		HASHCTL		info;

		if (!may_fill)
			return -1;
		memset(&info, 0, sizeof(info));
		info.keysize = sizeof(Oid);
		info.entrysize = sizeof(RelTenantCache);
		info.hcxt = TopMemoryContext;
		rel_cache = hash_create("observa tenant relations", 256, &info,
								HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(rel_cache_callback, (Datum) 0);
		rel_cache_gen = tenant_columns_gen;
	}
	if (may_fill && (rel_cache_flush_all || rel_cache_gen != tenant_columns_gen))
		rel_cache_reset();
	else if (rel_cache_flush_all || rel_cache_gen != tenant_columns_gen)
		return -1;

	c = hash_search(rel_cache, &relid, HASH_FIND, NULL);
	if (c != NULL)
		return c->attnum;
	if (!may_fill)
		return -1;

	for (i = 0; i < obs_tenant_column_count(); i++)
	{
		HeapTuple	tup = SearchSysCacheAttName(relid, obs_tenant_column(i));

		if (HeapTupleIsValid(tup))
		{
			Form_pg_attribute att = (Form_pg_attribute) GETSTRUCT(tup);

			if (att->attnum > 0)
				attnum = att->attnum;
			ReleaseSysCache(tup);
			if (attnum > 0)
				break;
		}
	}
	c = hash_search(rel_cache, &relid, HASH_ENTER, NULL);
	c->attnum = attnum;
	return attnum;
}

/* is opno a btree equality operator (mergejoinable)?  -1: unknown */
static int
op_is_equality(Oid opno, bool may_fill)
{
	int			i;
	HeapTuple	tup;
	bool		is_eq = false;

	for (i = 0; i < n_op_facts; i++)
		if (op_facts[i].opno == opno)
			return op_facts[i].is_eq;
	if (!may_fill)
		return -1;
	tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(opno));
	if (HeapTupleIsValid(tup))
	{
		is_eq = ((Form_pg_operator) GETSTRUCT(tup))->oprcanmerge;
		ReleaseSysCache(tup);
	}
	if (n_op_facts < SMALL_CACHE)
	{
		op_facts[n_op_facts].opno = opno;
		op_facts[n_op_facts].is_eq = is_eq;
		n_op_facts++;
	}
	return is_eq;
}

/* the types format_value() formats itself, with no output function */
static bool
type_formatted_inline(Oid type)
{
	switch (type)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case OIDOID:
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
		case UUIDOID:
			return true;
		default:
			return false;
	}
}

/*
 * How tenant values of a type become keys.  A tenant value is rendered on
 * every statement, where catching an ERROR would cost a subtransaction per
 * statement, so no output function that could raise is ever called: only
 * the built-in output function of a built-in type (everything it prints
 * is built in too) or of an enum (enum_out prints a label).  A
 * user-defined base type, composite, array or range type could have an
 * output function that raises, or reach one through its elements; its
 * values count under no tenant, except string-like ones (category S,
 * variable length, such as citext), whose bytes are the key when they are
 * valid in the database encoding.  Said once per backend and type in the
 * log.
 */
static TenantRender
type_render(TypeFact *tf)
{
	char		typtype = get_typtype(tf->base);
	char		category;
	bool		preferred;

	if (tf->base != tf->type && type_formatted_inline(tf->base))
		return TENANT_RENDER_BASE;
	if (tf->outfn < FirstGenbkiObjectId && typtype != TYPTYPE_PSEUDO &&
		(tf->base < FirstGenbkiObjectId || typtype == TYPTYPE_ENUM))
		return TENANT_RENDER_OUTPUT;
	get_type_category_preferred(tf->base, &category, &preferred);
	if (tf->typlen == -1 && category == TYPCATEGORY_STRING)
		return TENANT_RENDER_TEXT;
	ereport(LOG,
			(errmsg("observa does not render tenant values of type %s: its output function is not built in",
					format_type_be(tf->type)),
			 errdetail("Statements whose tenant value has this type count under no tenant.")));
	return TENANT_RENDER_NONE;
}

/* storage and output facts of a type; NULL when unknown and !may_fill */
static TypeFact *
type_fact(Oid type, bool may_fill)
{
	int			i;
	TypeFact	tf;
	bool		isvarlena;

	for (i = 0; i < n_type_facts; i++)
		if (type_facts[i].type == type)
			return &type_facts[i];
	if (!may_fill || n_type_facts >= SMALL_CACHE)
		return NULL;
	tf.type = type;
	get_typlenbyvalalign(type, &tf.typlen, &tf.typbyval, &tf.typalign);
	getTypeOutputInfo(type, &tf.outfn, &isvarlena);
	tf.base = getBaseType(type);
	tf.render = type_render(&tf);
	type_facts[n_type_facts] = tf;
	return &type_facts[n_type_facts++];
}

/* ------------------------------------------------------------------------
 * Finding the tenant value in a plan
 * ------------------------------------------------------------------------
 */
typedef struct TenantFind
{
	const ObsSample *sample;
	PlannedStmt *pstmt;
	bool		may_fill;		/* normal path: catalog and output fns ok */
	TenantKey  *out;
	Oid			relid;			/* relation the value was found on */
	bool		found;
} TenantFind;

static void
set_key(TenantKey *key, const char *s, int len)
{
	memset(key, 0, sizeof(TenantKey));
	if (len >= TENANT_KEYLEN)
		len = pg_mbcliplen(s, len, TENANT_KEYLEN - 1);
	memcpy(key->name, s, len);
}

/* a varlena's bytes as the key; false when compressed, toasted or not text */
static bool
set_key_from_varlena(TenantKey *key, Datum value, bool blank_padded,
					 bool verify)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(value);
	int			len;
	const char *s;

	if (VARATT_IS_EXTENDED(v) && !VARATT_IS_SHORT(v))
		return false;			/* compressed or toasted: not a key */
	len = VARSIZE_ANY_EXHDR(v);
	s = VARDATA_ANY(v);
	if (blank_padded)
		while (len > 0 && s[len - 1] == ' ')
			len--;
	if (verify && !pg_verifymbstr(s, len, true))
		return false;
	set_key(key, s, len);
	return true;
}

/*
 * Format a non-null datum of the given type as the tenant key.  Integers,
 * strings and uuids are formatted here (no allocation, safe on the error
 * path); other types as type_render() decided, their output function on
 * the normal path only.  Nothing here can raise an ERROR on a valid datum.
 */
static bool
format_value(TenantFind *tf, Oid type, Datum value)
{
	char		buf[64];

	switch (type)
	{
		case INT2OID:
			snprintf(buf, sizeof(buf), "%d", (int) DatumGetInt16(value));
			break;
		case INT4OID:
			snprintf(buf, sizeof(buf), "%d", DatumGetInt32(value));
			break;
		case INT8OID:
			snprintf(buf, sizeof(buf), INT64_FORMAT, DatumGetInt64(value));
			break;
		case OIDOID:
			snprintf(buf, sizeof(buf), "%u", DatumGetObjectId(value));
			break;
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
			return set_key_from_varlena(tf->out, value, type == BPCHAROID, false);
		case UUIDOID:
			{
				pg_uuid_t  *u = DatumGetUUIDP(value);
				int			i,
							o = 0;

				for (i = 0; i < UUID_LEN; i++)
				{
					if (i == 4 || i == 6 || i == 8 || i == 10)
						buf[o++] = '-';
					o += snprintf(buf + o, sizeof(buf) - o, "%02x", u->data[i]);
				}
				buf[o] = '\0';
				break;
			}
		default:
			{
				TypeFact   *fact;
				char	   *s;

				if ((fact = type_fact(type, tf->may_fill)) == NULL)
					return false;
				switch (fact->render)
				{
					case TENANT_RENDER_BASE:
						return format_value(tf, fact->base, value);
					case TENANT_RENDER_TEXT:
						return set_key_from_varlena(tf->out, value, false, true);
					case TENANT_RENDER_OUTPUT:
						if (!tf->may_fill)
							return false;
						s = OidOutputFunctionCall(fact->outfn, value);
						set_key(tf->out, s, strlen(s));
						pfree(s);
						return true;
					case TENANT_RENDER_NONE:
						break;
				}
				return false;
			}
	}
	set_key(tf->out, buf, strlen(buf));
	return true;
}

/* the value of an extern parameter, or false */
static bool
param_value(TenantFind *tf, Param *p, Oid *type, Datum *value)
{
	ParamListInfo params = tf->sample->params;
	ParamExternData *prm;
	ParamExternData workspace;

	if (p->paramkind != PARAM_EXTERN || params == NULL ||
		p->paramid <= 0 || p->paramid > params->numParams)
		return false;
	if (params->paramFetch != NULL)
	{
		if (!tf->may_fill)
			return false;
		prm = params->paramFetch(params, p->paramid, true, &workspace);
	}
	else
		prm = &params->params[p->paramid - 1];
	if (prm == NULL || prm->isnull || !OidIsValid(prm->ptype))
		return false;
	*type = prm->ptype;
	*value = prm->value;
	return true;
}

/* a Const or extern Param with a non-null value */
static bool
expr_value(TenantFind *tf, Node *n, Oid *type, Datum *value)
{
	while (n && IsA(n, RelabelType))
		n = (Node *) ((RelabelType *) n)->arg;
	if (n == NULL)
		return false;
	if (IsA(n, Const))
	{
		Const	   *c = (Const *) n;

		if (c->constisnull)
			return false;
		*type = c->consttype;
		*value = c->constvalue;
		return true;
	}
	if (IsA(n, Param))
		return param_value(tf, (Param *) n, type, value);
	return false;
}

/*
 * Is n a Var of the tenant column of the scanned relation?  For an
 * index-only scan, Vars point at index columns (INDEX_VAR): indextlist
 * maps them back to the table's columns.
 */
static bool
is_tenant_var(Node *n, Index scanrelid, AttrNumber attnum, List *indextlist)
{
	Var		   *v;

	while (n && IsA(n, RelabelType))
		n = (Node *) ((RelabelType *) n)->arg;
	if (n == NULL || !IsA(n, Var))
		return false;
	v = (Var *) n;
	if (v->varlevelsup != 0)
		return false;
	if (v->varno == INDEX_VAR && indextlist != NIL)
	{
		TargetEntry *tle;

		if (v->varattno <= 0 || v->varattno > list_length(indextlist))
			return false;
		tle = list_nth_node(TargetEntry, indextlist, v->varattno - 1);
		if (tle->expr == NULL || !IsA(tle->expr, Var))
			return false;
		v = (Var *) tle->expr;
	}
	return v->varno == scanrelid && v->varattno == attnum;
}

/* the single element of a one-element array, or false */
static bool
single_element(TenantFind *tf, Oid arraytype, Datum arr, Oid *type,
			   Datum *value)
{
	ArrayType  *a;
	TypeFact   *fact;
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (!tf->may_fill)
		return false;
	a = DatumGetArrayTypeP(arr);
	if (ARR_NDIM(a) != 1 || ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)) != 1)
		return false;
	fact = type_fact(ARR_ELEMTYPE(a), true);
	if (fact == NULL)
		return false;
	deconstruct_array(a, ARR_ELEMTYPE(a), fact->typlen, fact->typbyval,
					  fact->typalign, &elems, &nulls, &n);
	if (n != 1 || nulls[0])
		return false;
	*type = ARR_ELEMTYPE(a);
	*value = elems[0];
	return true;
}

/* look for "tenant = value" in an implicit-AND qual list */
static bool
find_in_quals(TenantFind *tf, List *quals, Index scanrelid,
			  AttrNumber attnum, List *indextlist)
{
	ListCell   *lc;

	foreach(lc, quals)
	{
		Node	   *q = (Node *) lfirst(lc);
		Oid			type;
		Datum		value;

		if (IsA(q, OpExpr))
		{
			OpExpr	   *op = (OpExpr *) q;
			Node	   *l,
					   *r;

			if (list_length(op->args) != 2)
				continue;
			l = linitial(op->args);
			r = lsecond(op->args);
			if (!is_tenant_var(l, scanrelid, attnum, indextlist))
			{
				Node	   *t = l;

				l = r;
				r = t;
				if (!is_tenant_var(l, scanrelid, attnum, indextlist))
					continue;
			}
			if (op_is_equality(op->opno, tf->may_fill) != 1)
				continue;
			if (expr_value(tf, r, &type, &value) && format_value(tf, type, value))
				return true;
		}
		else if (IsA(q, ScalarArrayOpExpr))
		{
			ScalarArrayOpExpr *sa = (ScalarArrayOpExpr *) q;

			if (!sa->useOr || list_length(sa->args) != 2 ||
				!is_tenant_var(linitial(sa->args), scanrelid, attnum, indextlist))
				continue;
			if (op_is_equality(sa->opno, tf->may_fill) != 1)
				continue;
			if (expr_value(tf, lsecond(sa->args), &type, &value) &&
				single_element(tf, type, value, &type, &value) &&
				format_value(tf, type, value))
				return true;
		}
	}
	return false;
}

/* tenant attnum of the relation a scan node reads, 0/-1 if none/unknown */
static AttrNumber
scan_attnum(TenantFind *tf, Index scanrelid)
{
	RangeTblEntry *rte;

	if (scanrelid == 0 || scanrelid > list_length(tf->pstmt->rtable))
		return 0;
	rte = rt_fetch(scanrelid, tf->pstmt->rtable);
	if (rte->rtekind != RTE_RELATION)
		return 0;
	tf->relid = rte->relid;
	return rel_tenant_attnum(rte->relid, tf->may_fill);
}

static bool find_in_plan(TenantFind *tf, Plan *plan);

static bool
find_in_plans(TenantFind *tf, List *plans)
{
	ListCell   *lc;

	foreach(lc, plans)
		if (find_in_plan(tf, (Plan *) lfirst(lc)))
			return true;
	return false;
}

/* INSERT ... VALUES of one row: the value put in the tenant column */
static bool
find_in_insert(TenantFind *tf, ModifyTable *mt)
{
	Plan	   *sub = outerPlan(&mt->plan);
	AttrNumber	attnum;
	ListCell   *lc;

	if (mt->operation != CMD_INSERT || sub == NULL || !IsA(sub, Result) ||
		sub->lefttree != NULL || mt->resultRelations == NIL)
		return false;
	attnum = scan_attnum(tf, (Index) linitial_int(mt->resultRelations));
	if (attnum <= 0)
		return false;
	foreach(lc, sub->targetlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);
		Oid			type;
		Datum		value;

		if (tle->resno == attnum)
			return expr_value(tf, (Node *) tle->expr, &type, &value) &&
				format_value(tf, type, value);
	}
	return false;
}

/* depth-first over the plan tree; true once a tenant value is found */
static bool
find_in_plan(TenantFind *tf, Plan *plan)
{
	AttrNumber	attnum;

	if (plan == NULL)
		return false;

	switch (nodeTag(plan))
	{
		case T_SeqScan:
		case T_SampleScan:
		case T_TidScan:
		case T_TidRangeScan:
			attnum = scan_attnum(tf, ((Scan *) plan)->scanrelid);
			if (attnum > 0 &&
				find_in_quals(tf, plan->qual, ((Scan *) plan)->scanrelid,
							  attnum, NIL))
				return true;
			break;
		case T_IndexScan:
			{
				IndexScan  *is = (IndexScan *) plan;

				attnum = scan_attnum(tf, is->scan.scanrelid);
				if (attnum > 0 &&
					(find_in_quals(tf, is->indexqualorig, is->scan.scanrelid,
								   attnum, NIL) ||
					 find_in_quals(tf, plan->qual, is->scan.scanrelid,
								   attnum, NIL)))
					return true;
			}
			break;
		case T_IndexOnlyScan:
			{
				IndexOnlyScan *ios = (IndexOnlyScan *) plan;

				attnum = scan_attnum(tf, ios->scan.scanrelid);
				if (attnum > 0 &&
					(find_in_quals(tf, ios->indexqual, ios->scan.scanrelid,
								   attnum, ios->indextlist) ||
					 find_in_quals(tf, plan->qual, ios->scan.scanrelid,
								   attnum, ios->indextlist)))
					return true;
			}
			break;
		case T_BitmapIndexScan:
			{
				BitmapIndexScan *bis = (BitmapIndexScan *) plan;

				attnum = scan_attnum(tf, bis->scan.scanrelid);
				if (attnum > 0 &&
					find_in_quals(tf, bis->indexqualorig, bis->scan.scanrelid,
								  attnum, NIL))
					return true;
			}
			break;
		case T_BitmapHeapScan:
			{
				BitmapHeapScan *bhs = (BitmapHeapScan *) plan;

				attnum = scan_attnum(tf, bhs->scan.scanrelid);
				if (attnum > 0 &&
					(find_in_quals(tf, bhs->bitmapqualorig, bhs->scan.scanrelid,
								   attnum, NIL) ||
					 find_in_quals(tf, plan->qual, bhs->scan.scanrelid,
								   attnum, NIL)))
					return true;
			}
			break;
		case T_ModifyTable:
			if (find_in_insert(tf, (ModifyTable *) plan))
				return true;
			break;
		case T_Append:
			if (find_in_plans(tf, ((Append *) plan)->appendplans))
				return true;
			break;
		case T_MergeAppend:
			if (find_in_plans(tf, ((MergeAppend *) plan)->mergeplans))
				return true;
			break;
		case T_BitmapAnd:
			if (find_in_plans(tf, ((BitmapAnd *) plan)->bitmapplans))
				return true;
			break;
		case T_BitmapOr:
			if (find_in_plans(tf, ((BitmapOr *) plan)->bitmapplans))
				return true;
			break;
		case T_SubqueryScan:
			if (find_in_plan(tf, ((SubqueryScan *) plan)->subplan))
				return true;
			break;
		case T_CustomScan:
			if (find_in_plans(tf, ((CustomScan *) plan)->custom_plans))
				return true;
			break;
		default:
			break;
	}
	return find_in_plan(tf, plan->lefttree) ||
		find_in_plan(tf, plan->righttree);
}

/*
 * The tenant found in an executor statement's plan.  Returns false at
 * once when none of its relations has a tenant column (the common case:
 * one cache probe per relation).
 */
static bool
tenant_from_plan(const ObsSample *sample, bool may_fill, TenantKey *out,
				 Oid *relid)
{
	TenantFind	tf;
	bool		candidate = sample->rels_truncated;
	int			i;

	if (sample->pstmt == NULL || sample->pstmt->planTree == NULL ||
		obs_tenant_column_count() == 0)
		return false;
	for (i = 0; i < sample->nrels && !candidate; i++)
		if (rel_tenant_attnum(sample->relids[i], may_fill) > 0)
			candidate = true;
	if (!candidate)
		return false;

	memset(&tf, 0, sizeof(tf));
	tf.sample = sample;
	tf.pstmt = sample->pstmt;
	tf.may_fill = may_fill;
	tf.out = out;
	if (find_in_plan(&tf, sample->pstmt->planTree) ||
		find_in_plans(&tf, sample->pstmt->subplans))
	{
		*relid = tf.relid;
		return true;
	}
	return false;
}

/* a leading comment "/" "* tenant=VALUE *" "/" of the statement */
static bool
tenant_from_comment(const ObsSample *sample, TenantKey *out)
{
	const char *s = sample->source_text;
	const char *end;
	const char *v;
	int			len;

	if (s == NULL)
		return false;
	if (sample->stmt_location > 0)
		s += sample->stmt_location;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	if (s[0] != '/' || s[1] != '*')
		return false;
	end = strstr(s + 2, "*/");
	if (end == NULL)
		return false;
	for (v = s + 2; v < end; v++)
	{
		if (strncmp(v, "tenant=", 7) == 0 &&
			(v == s + 2 || v[-1] == ' ' || v[-1] == '\t'))
			break;
	}
	if (v >= end)
		return false;
	v += 7;
	for (len = 0; v + len < end && v[len] != ' ' && v[len] != '\t' &&
		 v[len] != '\n' && v[len] != ','; len++)
		;
	if (len == 0)
		return false;
	set_key(out, v, len);
	return true;
}

/* ------------------------------------------------------------------------
 * Flushing pending events into shared memory
 * ------------------------------------------------------------------------
 */

/*
 * The partition of this database, claiming a free one or taking over the
 * least recently used one.  Returns it with its lock held exclusively,
 * TenantShared.lock released; -1 if shared memory is not there.
 */
static int
partition_lock_mine(void)
{
	int			p;
	int			victim = -1;

	LWLockAcquire(&tshared->lock, LW_SHARED);
	for (p = 0; p < tshared->nparts; p++)
	{
		if (tshared->parts[p].dbid == MyDatabaseId)
		{
			LWLockAcquire(&tshared->parts[p].lock, LW_EXCLUSIVE);
			LWLockRelease(&tshared->lock);
			return p;
		}
	}
	LWLockRelease(&tshared->lock);

	LWLockAcquire(&tshared->lock, LW_EXCLUSIVE);
	/* ours (claimed meanwhile), else a free one, else the least recently used */
	for (p = 0; p < tshared->nparts && victim < 0; p++)
		if (tshared->parts[p].dbid == MyDatabaseId)
			victim = p;
	for (p = 0; p < tshared->nparts && victim < 0; p++)
		if (!OidIsValid(tshared->parts[p].dbid))
			victim = p;
	if (victim < 0)
	{
		victim = 0;
		for (p = 1; p < tshared->nparts; p++)
			if (tshared->parts[p].last_used < tshared->parts[victim].last_used)
				victim = p;
	}
	LWLockAcquire(&tshared->parts[victim].lock, LW_EXCLUSIVE);
	if (tshared->parts[victim].dbid != MyDatabaseId)
	{
		TenantPart *part = &tshared->parts[victim];
		HASH_SEQ_STATUS seq;
		TenantEntry *e;

		if (OidIsValid(part->dbid))
			tshared->database_takeovers++;
		hash_seq_init(&seq, part_hash[victim]);
		while ((e = hash_seq_search(&seq)) != NULL)
			hash_search(part_hash[victim], &e->key, HASH_REMOVE, NULL);
		entry_clear(special_entry(victim, 0));
		entry_clear(special_entry(victim, 1));
		part->dbid = MyDatabaseId;
		part->evictions = 0;
		part->stats_since = GetCurrentTimestamp();
	}
	LWLockRelease(&tshared->lock);
	return victim;
}

/* Space-Saving: the entry of key, evicting the smallest if full */
static TenantEntry *
partition_entry(int p, const TenantKey *key)
{
	HTAB	   *h = part_hash[p];
	TenantEntry *e;
	bool		found;
	double		bound = 0.0;

	e = hash_search(h, key, HASH_FIND, NULL);
	if (e != NULL)
		return e;
	if (hash_get_num_entries(h) >= tshared->max_tenants)
	{
		HASH_SEQ_STATUS seq;
		TenantEntry *min = NULL;
		TenantEntry *c;

		hash_seq_init(&seq, h);
		while ((c = hash_seq_search(&seq)) != NULL)
			if (min == NULL ||
				c->total_ms + c->error_bound_ms < min->total_ms + min->error_bound_ms)
				min = c;
		bound = min->total_ms + min->error_bound_ms;
		entry_merge(special_entry(p, 1), min);
		hash_search(h, &min->key, HASH_REMOVE, NULL);
		tshared->parts[p].evictions++;
	}
	e = hash_search(h, key, HASH_ENTER_NULL, &found);
	if (e == NULL)
		return special_entry(p, 1);
	if (!found)
	{
		entry_clear(e);
		e->error_bound_ms = bound;
	}
	return e;
}

/* move this backend's pending events into shared memory */
static void
flush_pending(void)
{
	int			p;
	int			i;

	if ((npending == 0 && spill_calls == 0) || tshared == NULL ||
		!OidIsValid(MyDatabaseId))
		return;

	p = partition_lock_mine();
	for (i = 0; i < npending; i++)
	{
		PendingEvent *ev = &pending[i];
		TenantEntry *e;

		e = ev->has_tenant ? partition_entry(p, &ev->key) : special_entry(p, 0);
		entry_apply(e, ev);
	}
	if (spill_calls > 0)
	{
		TenantEntry *e = special_entry(p, 0);

		e->calls += spill_calls;
		e->errors += spill_errors;
		e->total_ms += spill_ms;
	}
	tshared->parts[p].last_used = GetCurrentTimestamp();
	LWLockRelease(&tshared->parts[p].lock);

	npending = 0;
	spill_calls = spill_errors = 0;
	spill_ms = 0.0;
}

static void
flush_at_exit(int code, Datum arg)
{
	flush_pending();
}

/* ------------------------------------------------------------------------
 * Recording
 * ------------------------------------------------------------------------
 */
/*
 * The table a statement's time is booked to in top_tables: the DML target,
 * else its first table (views and catalogs do not count).
 */
static Oid
primary_relation(const ObsSample *sample)
{
	int			i;

	if (OidIsValid(sample->target_relid))
		return sample->target_relid;
	for (i = 0; i < sample->nrels; i++)
	{
		char		k = sample->relkinds[i];

		if (sample->relids[i] >= FirstNormalObjectId &&
			(k == RELKIND_RELATION || k == RELKIND_PARTITIONED_TABLE ||
			 k == RELKIND_MATVIEW || k == RELKIND_FOREIGN_TABLE || k == '\0'))
			return sample->relids[i];
	}
	return InvalidOid;
}

void
obs_tenant_stats_record(const ObsSample *sample)
{
	PendingEvent *ev;
	TimestampTz now;
	bool		may_fill;

	if (tshared == NULL || !OidIsValid(sample->dbid))
		return;

	now = GetCurrentStatementStartTimestamp();
	if (npending >= PENDING_MAX)
	{
		/*
		 * Full: only a run of failed statements gets here.  The error path
		 * must not lock, so it adds to the spill counters (flushed into the
		 * NULL row); the normal path makes room.
		 */
		if (sample->failed)
		{
			spill_calls++;
			spill_errors++;
			spill_ms += sample->duration_ms;
			return;
		}
		flush_pending();
	}

	ev = &pending[npending];
	memset(&ev->key, 0, sizeof(ev->key));
	ev->has_tenant = false;
	ev->relid = primary_relation(sample);
	may_fill = !sample->failed && IsTransactionState();

	if ((tenant_sources & TENANT_SOURCE_SETTING) &&
		session_tenant != NULL && session_tenant[0] != '\0')
	{
		set_key(&ev->key, session_tenant, strlen(session_tenant));
		ev->has_tenant = true;
	}
	else if ((tenant_sources & TENANT_SOURCE_COMMENT) &&
			 tenant_from_comment(sample, &ev->key))
		ev->has_tenant = true;
	else if ((tenant_sources & TENANT_SOURCE_FILTER) && sample->query_desc != NULL)
	{
		Oid			relid = InvalidOid;

		ev->has_tenant = tenant_from_plan(sample, may_fill, &ev->key, &relid);
		if (ev->has_tenant && !OidIsValid(sample->target_relid))
			ev->relid = relid;
	}
	if (ev->relid < FirstNormalObjectId)
		ev->relid = InvalidOid;
	ev->failed = sample->failed;
	ev->ms = sample->duration_ms;
	ev->epoch = (int64) (now / ((int64) tshared->window_secs * USECS_PER_SEC));
	if (npending == 0)
		pending_since = now;
	npending++;

	if (sample->failed)
		return;
	if (!exit_cb_registered)
	{
		before_shmem_exit(flush_at_exit, (Datum) 0);
		exit_cb_registered = true;
	}
	if (npending >= PENDING_FLUSH_AT ||
		now - pending_since >= PENDING_FLUSH_MS * (int64) 1000)
		flush_pending();
}

/* ------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------
 */
#define TENANT_STATS_COLS 13

typedef struct TenantRow
{
	Oid			dbid;
	int			kind;			/* 0 tenant, 1 no tenant, 2 other */
	TenantKey	key;
	int64		calls;
	int64		errors;
	double		total_ms;
	double		q[3];
	double		error_bound_ms;
	TenantTop	top[TENANT_TOP_TABLES];
} TenantRow;

static const double quantiles[3] = {0.5, 0.95, 0.99};

/* fill a row from an entry; nwin == 0: since reset, else the last nwin windows */
static bool
row_from_entry(TenantRow *row, TenantEntry *e, int kind, Oid dbid,
			   int64 now_epoch, int nwin, ObsHistogram *tmp)
{
	int			i;

	memset(row, 0, sizeof(TenantRow));
	row->dbid = dbid;
	row->kind = kind;
	row->key = e->key;
	row->error_bound_ms = e->error_bound_ms;
	memcpy(row->top, e->top, sizeof(row->top));
	if (nwin == 0)
	{
		row->calls = e->calls;
		row->errors = e->errors;
		row->total_ms = e->total_ms;
		obs_hist_quantiles(entry_hist(e), quantiles, row->q, 3);
	}
	else
	{
		TenantWindow *w = entry_windows(e);
		int			b;

		obs_hist_reset(tmp);
		for (i = 0; i < tshared->nwindows; i++)
		{
			if (w[i].epoch < 0 || w[i].epoch > now_epoch ||
				w[i].epoch <= now_epoch - nwin)
				continue;
			row->calls += w[i].calls;
			row->errors += w[i].errors;
			row->total_ms += w[i].total_ms;
			for (b = 0; b < WIN_BUCKETS; b++)
				if (w[i].hist[b] > 0)
					obs_hist_add(tmp, obs_hist_bucket(win_bucket_value(b)),
								 w[i].hist[b]);
		}
		obs_hist_quantiles(tmp, quantiles, row->q, 3);
	}
	return row->calls > 0;
}

static int
top_cmp(const void *a, const void *b)
{
	const TenantTop *x = a;
	const TenantTop *y = b;

	if (x->ms != y->ms)
		return x->ms > y->ms ? -1 : 1;
	return 0;
}

static Datum
top_tables_datum(TenantRow *row)
{
	Datum		elems[TENANT_TOP_TABLES];
	int			n = 0;
	int			i;

	qsort(row->top, TENANT_TOP_TABLES, sizeof(TenantTop), top_cmp);
	for (i = 0; i < TENANT_TOP_TABLES; i++)
	{
		char	   *name = NULL;

		if (!OidIsValid(row->top[i].relid))
			continue;
		if (row->dbid == MyDatabaseId)
		{
			char	   *rel = get_rel_name(row->top[i].relid);

			if (rel != NULL)
			{
				char	   *nsp = get_namespace_name(get_rel_namespace(row->top[i].relid));

				name = quote_qualified_identifier(nsp, rel);
			}
		}
		if (name == NULL)
			name = psprintf("%u", row->top[i].relid);
		elems[n++] = CStringGetTextDatum(name);
	}
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false,
										   TYPALIGN_INT));
}

/*
 * Number of windows that cover "since" (rounded up); raises a clear error
 * for NULL, non-positive or too long an interval.
 */
static int
windows_of_since(FunctionCallInfo fcinfo)
{
	Interval   *since;
	int64		usecs;
	int64		win = (int64) tshared->window_secs * USECS_PER_SEC;
	int64		span = win * tshared->nwindows;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("since must not be NULL"),
				 errhint("Use observa.tenant_stats without an argument for the statistics since the last reset.")));
	since = PG_GETARG_INTERVAL_P(0);
	usecs = since->time +
		((int64) since->day + (int64) since->month * DAYS_PER_MONTH) * USECS_PER_DAY;
	if (usecs <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("since must be a positive interval")));
	if (usecs > span)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("since must not exceed the %d s covered by per-tenant windows",
						(int) (span / USECS_PER_SEC)),
				 errhint("Per-tenant statistics keep %d windows of %d s; use observa.tenant_stats without an argument for the statistics since the last reset.",
						 tshared->nwindows, tshared->window_secs)));
	return (int) ((usecs + win - 1) / win);
}

/*
 * Copy every database's rows out of shared memory (shared locks only,
 * nothing but arithmetic under them); nwin 0 means since reset.
 */
static TenantRow *
collect_rows(int nwin, int *nrows_out)
{
	int64		now_epoch;
	TenantRow  *rows;
	int			nrows = 0;
	ObsHistogram *tmp;
	int			p;

	now_epoch = GetCurrentTimestamp() /
		((int64) tshared->window_secs * USECS_PER_SEC);
	rows = palloc_extended(sizeof(TenantRow) * tshared->nparts *
						   ((Size) tshared->max_tenants + 2), MCXT_ALLOC_HUGE);
	tmp = palloc(obs_hist_size());

	LWLockAcquire(&tshared->lock, LW_SHARED);
	for (p = 0; p < tshared->nparts; p++)
	{
		TenantPart *part = &tshared->parts[p];
		HASH_SEQ_STATUS seq;
		TenantEntry *e;

		LWLockAcquire(&part->lock, LW_SHARED);
		if (OidIsValid(part->dbid))
		{
			if (row_from_entry(&rows[nrows], special_entry(p, 0), 1,
							   part->dbid, now_epoch, nwin, tmp))
				nrows++;
			if (row_from_entry(&rows[nrows], special_entry(p, 1), 2,
							   part->dbid, now_epoch, nwin, tmp))
				nrows++;
			hash_seq_init(&seq, part_hash[p]);
			while ((e = hash_seq_search(&seq)) != NULL)
				if (row_from_entry(&rows[nrows], e, 0, part->dbid,
								   now_epoch, nwin, tmp))
					nrows++;
		}
		LWLockRelease(&part->lock);
	}
	LWLockRelease(&tshared->lock);
	pfree(tmp);
	*nrows_out = nrows;
	return rows;
}

/* emit one result row; dbtotal is the time of all rows of its database */
static void
put_row(ReturnSetInfo *rsinfo, TenantRow *r, const char *datname,
		double dbtotal)
{
	Datum		values[TENANT_STATS_COLS];
	bool		nulls[TENANT_STATS_COLS];
	int			k;

	memset(nulls, 0, sizeof(nulls));
	if (datname)
		values[0] = DirectFunctionCall1(namein, CStringGetDatum(datname));
	else
		nulls[0] = true;
	if (r->kind == 1)
		nulls[1] = true;
	else
		values[1] = CStringGetTextDatum(r->key.name);
	values[2] = BoolGetDatum(r->kind == 2);
	values[3] = Int64GetDatum(r->calls);
	values[4] = Int64GetDatum(r->errors);
	values[5] = Float8GetDatum(r->total_ms);
	if (r->calls > 0)
		values[6] = Float8GetDatum(r->total_ms / r->calls);
	else
		nulls[6] = true;
	for (k = 0; k < 3; k++)
	{
		if (isnan(r->q[k]))
			nulls[7 + k] = true;
		else
			values[7 + k] = Float8GetDatum(r->q[k]);
	}
	if (dbtotal > 0)
		values[10] = Float8GetDatum(r->total_ms / dbtotal);
	else
		nulls[10] = true;
	values[11] = top_tables_datum(r);
	values[12] = Float8GetDatum(r->error_bound_ms);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * observa.tenant_stats() and observa.tenant_stats(since interval): one C
 * entry point, told apart by the argument count.
 */
PG_FUNCTION_INFO_V1(observa_tenant_stats_1_0);

Datum
observa_tenant_stats_1_0(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			nwin;
	TenantRow  *rows;
	int			nrows;
	int			i;

	obs_require_preload();
	nwin = PG_NARGS() >= 1 ? windows_of_since(fcinfo) : 0;

	obs_init_srf(fcinfo, TENANT_STATS_COLS);

	/* this backend's own recent statements first */
	flush_pending();
	rows = collect_rows(nwin, &nrows);

	/* rows come grouped by database: total each group, then emit it */
	for (i = 0; i < nrows;)
	{
		Oid			dbid = rows[i].dbid;
		char	   *datname = get_database_name(dbid);
		double		dbtotal = 0.0;
		int			j;

		for (j = i; j < nrows && rows[j].dbid == dbid; j++)
			dbtotal += rows[j].total_ms;
		for (; i < j; i++)
			put_row(rsinfo, &rows[i], datname, dbtotal);
	}
	return (Datum) 0;
}

/*
 * observa.reset_tenant_stats(): forget every database's tenant statistics.
 */
TimestampTz
obs_tenant_stats_reset(void)
{
	int			p;
	TimestampTz now = GetCurrentTimestamp();

	if (tshared == NULL)
		return now;

	/* this backend's unflushed statements go too */
	npending = 0;
	spill_calls = spill_errors = 0;
	spill_ms = 0.0;

	LWLockAcquire(&tshared->lock, LW_EXCLUSIVE);
	for (p = 0; p < tshared->nparts; p++)
	{
		TenantPart *part = &tshared->parts[p];
		HASH_SEQ_STATUS seq;
		TenantEntry *e;

		LWLockAcquire(&part->lock, LW_EXCLUSIVE);
		hash_seq_init(&seq, part_hash[p]);
		while ((e = hash_seq_search(&seq)) != NULL)
			hash_search(part_hash[p], &e->key, HASH_REMOVE, NULL);
		entry_clear(special_entry(p, 0));
		entry_clear(special_entry(p, 1));
		part->dbid = InvalidOid;
		part->last_used = 0;
		part->evictions = 0;
		part->stats_since = now;
		LWLockRelease(&part->lock);
	}
	tshared->database_takeovers = 0;
	tshared->reset_at = now;
	LWLockRelease(&tshared->lock);
	return now;
}

PG_FUNCTION_INFO_V1(observa_reset_tenant_stats);

Datum
observa_reset_tenant_stats(PG_FUNCTION_ARGS)
{
	obs_require_preload();
	PG_RETURN_TIMESTAMPTZ(obs_tenant_stats_reset());
}

void
obs_tenant_stats_info(ObsInfoSink *sink)
{
	int64		tenants = 0;
	int64		evictions = 0;
	int			used = 0;
	int			p;

	if (tshared == NULL)
		return;
	LWLockAcquire(&tshared->lock, LW_SHARED);
	for (p = 0; p < tshared->nparts; p++)
	{
		LWLockAcquire(&tshared->parts[p].lock, LW_SHARED);
		if (OidIsValid(tshared->parts[p].dbid))
		{
			used++;
			tenants += hash_get_num_entries(part_hash[p]);
			evictions += tshared->parts[p].evictions;
		}
		LWLockRelease(&tshared->parts[p].lock);
	}
	LWLockRelease(&tshared->lock);

	obs_info_add_int(sink, "tenant_stats", "max_tenants", tshared->max_tenants,
					 "tenants tracked per database (observa.max_tenants)");
	obs_info_add_int(sink, "tenant_stats", "max_tenant_databases", tshared->nparts,
					 "databases tracked at once (observa.max_tenant_databases)");
	obs_info_add_int(sink, "tenant_stats", "databases", used,
					 "databases with tenant statistics now");
	obs_info_add_int(sink, "tenant_stats", "tenants", tenants,
					 "tenant entries in use, all databases");
	obs_info_add_int(sink, "tenant_stats", "evictions", evictions,
					 "tenants evicted into the (other) row since reset");
	obs_info_add_int(sink, "tenant_stats", "database_takeovers",
					 tshared->database_takeovers,
					 "times a database's statistics were dropped to make room for another");
	obs_info_add_int(sink, "tenant_stats", "window_seconds", tshared->window_secs,
					 "length of a per-tenant time window");
	obs_info_add_int(sink, "tenant_stats", "windows", tshared->nwindows,
					 "per-tenant time windows kept");
	obs_info_add_int(sink, "tenant_stats", "shared_memory_bytes",
					 (int64) tshared->shmem_bytes,
					 "shared memory of per-tenant statistics");
	obs_info_add(sink, "tenant_stats", "reset_at",
				 timestamptz_to_str(tshared->reset_at),
				 "last observa.reset_tenant_stats()");
	obs_info_add(sink, "tenant_stats", "persistence", tshared->file_state,
				 "what start-up did with the file saved at the last shutdown");
}

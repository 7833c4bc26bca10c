/*-------------------------------------------------------------------------
 *
 * core.c
 *		observa's base layer (see core.h): the preload gate, the
 *		observa.info sink, tracking and nesting state, the
 *		observa.tenant_columns setting, SQL argument helpers and the
 *		counts of observa's own lock acquisitions.
 *
 * This file knows no room and calls nothing of observa's above it; rooms,
 * the store, the hooks and observa.c call down into it.
 *
 * Lock counters: each backend counts its acquisitions in a plain local
 * array (obs_lock_local), which costs one increment and writes no shared
 * cache line.  obs_lock_counts_publish() adds what was counted since the
 * last call to shared pg_atomic_uint64 totals and clears the local array;
 * it takes no lock.  Counter ids are handed out by obs_lock_counter() in
 * the postmaster (from _PG_init or shared-memory start-up), so every
 * backend inherits the same id -> section mapping.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/varlena.h"

#include <math.h>

#include "core.h"
#include "tenant_columns.h"

bool		obs_shmem_ready = false;
int			obs_nesting_depth = 0;

/* ----------------------------------------------------------------
 * settings
 * ---------------------------------------------------------------- */

typedef enum ObsTrackLevel
{
	OBS_TRACK_NONE,
	OBS_TRACK_TOP,
	OBS_TRACK_ALL
} ObsTrackLevel;

static const struct config_enum_entry track_options[] = {
	{"none", OBS_TRACK_NONE, false},
	{"top", OBS_TRACK_TOP, false},
	{"all", OBS_TRACK_ALL, false},
	{NULL, 0, false}
};

static int	obs_track = OBS_TRACK_TOP;
static bool obs_track_utility = true;

/* observa.tenant_columns, parsed by its check hook */
typedef struct TenantColumns
{
	int			n;
	char		names[OBS_MAX_TENANT_COLUMNS][NAMEDATALEN];
} TenantColumns;

static char *tenant_columns_string = NULL;
static TenantColumns *tenant_columns = NULL;
static uint32 tenant_columns_gen = 0;

static bool check_tenant_columns(char **newval, void **extra, GucSource source);
static void assign_tenant_columns(const char *newval, void *extra);

void
obs_core_init(void)
{
	DefineCustomEnumVariable("observa.track",
							 "Selects which statements observa times.",
							 "top: statements issued by clients; all: also statements nested in functions; none: nothing.",
							 &obs_track,
							 OBS_TRACK_TOP,
							 track_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("observa.track_utility",
							 "Selects whether observa times utility statements.",
							 NULL,
							 &obs_track_utility,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("observa.tenant_columns",
							   "Column names that hold a row's tenant, comma-separated.",
							   "Used by per-tenant statistics and the index advisor. Empty: none.",
							   &tenant_columns_string,
							   "tenant_id",
							   PGC_SUSET,
							   GUC_LIST_INPUT,
							   check_tenant_columns, assign_tenant_columns, NULL);
}

/* ----------------------------------------------------------------
 * preload gate
 * ---------------------------------------------------------------- */

void
obs_require_preload(void)
{
	if (!obs_shmem_ready)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("observa must be loaded via shared_preload_libraries"),
				 errhint("Add observa to shared_preload_libraries in postgresql.conf and restart the server.")));
}

/* ----------------------------------------------------------------
 * tracking
 * ---------------------------------------------------------------- */

bool
obs_track_level(int level)
{
	return !IsParallelWorker() &&
		(obs_track == OBS_TRACK_ALL ||
		 (obs_track == OBS_TRACK_TOP && level == 0));
}

bool
obs_would_track(int level, bool utility)
{
	if (utility && !obs_track_utility)
		return false;
	return obs_track_level(level);
}

/* ----------------------------------------------------------------
 * observa.tenant_columns (tenant_columns.h)
 * ---------------------------------------------------------------- */

/* parse the list once, here, so that readers allocate nothing */
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

/* ----------------------------------------------------------------
 * observa.info sink
 * ---------------------------------------------------------------- */

void
obs_info_add(ObsInfoSink *sink, const char *section, const char *name,
			 const char *value, const char *description)
{
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	values[0] = CStringGetTextDatum(section);
	values[1] = CStringGetTextDatum(name);
	if (value)
		values[2] = CStringGetTextDatum(value);
	else
		nulls[2] = true;
	if (description)
		values[3] = CStringGetTextDatum(description);
	else
		nulls[3] = true;
	tuplestore_putvalues(sink->tupstore, sink->tupdesc, values, nulls);
}

void
obs_info_add_int(ObsInfoSink *sink, const char *section, const char *name,
				 int64 value, const char *description)
{
	char		buf[32];

	snprintf(buf, sizeof(buf), INT64_FORMAT, value);
	obs_info_add(sink, section, name, buf, description);
}

void
obs_info_add_time(ObsInfoSink *sink, const char *section, const char *name,
				  TimestampTz value, const char *description)
{
	obs_info_add(sink, section, name,
				 value != 0 ? timestamptz_to_str(value) : NULL, description);
}

/* ----------------------------------------------------------------
 * SQL argument helpers
 * ---------------------------------------------------------------- */

/* the hint that shows a valid argument of kind */
static int
array_hint(int kind, bool one)
{
	switch (kind)
	{
		case OBS_ARRAY_QUANTILES:
			return one ? errhint("Pass at least one quantile between 0 and 1.")
				: errhint("Pass an array of quantiles between 0 and 1, for example ARRAY[0.5, 0.99].");
		case OBS_ARRAY_DURATIONS:
			return one ? errhint("Pass at least one duration in milliseconds.")
				: errhint("Pass durations in milliseconds, for example ARRAY[0.5, 12, 300].");
		default:
			return one ? errhint("Pass at least one bound in milliseconds.")
				: errhint("Pass an array of bounds in milliseconds, for example ARRAY[1, 10, 100].");
	}
}

/* check one element of kind (not NULL) */
static void
check_element(int kind, const char *argname, double v)
{
	if (isnan(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not contain NaN", argname)));
	if (kind == OBS_ARRAY_QUANTILES && (v < 0.0 || v > 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("quantile %g is outside [0, 1]", v),
				 errhint("Quantiles are fractions: 0.5 is the median, 0.99 the 99th percentile.")));
	if (kind == OBS_ARRAY_BOUNDS && v < 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bound %g ms is negative", v),
				 errhint("Bounds are latencies in milliseconds, 0 or more.")));
	if (kind == OBS_ARRAY_DURATIONS && (v < 0.0 || isinf(v)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("duration %g ms is not a finite duration of 0 or more", v),
				 errhint("Durations are in milliseconds, 0 or more.")));
}

double *
obs_float8_array_arg(FunctionCallInfo fcinfo, int argno, const char *argname,
					 int kind, int *n)
{
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	double	   *out;
	int			i;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", argname),
				 array_hint(kind, false)));
	arr = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional array", argname)));
	deconstruct_array(arr, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL,
					  TYPALIGN_DOUBLE, &elems, &nulls, &nelems);
	if (nelems == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", argname),
				 array_hint(kind, true)));
	out = palloc(sizeof(double) * nelems);
	for (i = 0; i < nelems; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL elements", argname)));
		out[i] = DatumGetFloat8(elems[i]);
		check_element(kind, argname, out[i]);
	}
	*n = nelems;
	return out;
}

int64
obs_interval_us(Datum d)
{
	Interval   *iv = DatumGetIntervalP(d);
	int64		us;

	us = iv->time + ((int64) iv->month * DAYS_PER_MONTH + iv->day) * USECS_PER_DAY;
	if (us <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("interval must be positive"),
				 errhint("Pass how far back to look, for example interval '5 minutes'.")));
	return us;
}

int64
obs_since_arg(FunctionCallInfo fcinfo, int argno, const char *fname)
{
	if (PG_NARGS() <= argno)
		return -1;
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("since must not be NULL"),
				 errhint("Call observa.%s() for statistics since reset.", fname)));
	return obs_interval_us(PG_GETARG_DATUM(argno));
}

/*
 * The calling SQL declaration must have exactly the columns the entry
 * point produces, or the rows would be misread.
 */
static void
check_columns(FunctionCallInfo fcinfo, TupleDesc tupdesc, int expected_cols)
{
	char	   *fname;

	if (tupdesc->natts == expected_cols)
		return;
	fname = fcinfo->flinfo ? get_func_name(fcinfo->flinfo->fn_oid) : NULL;
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("observa function %s() is declared with %d result columns, but the library's entry point returns %d",
					fname ? fname : "?", tupdesc->natts, expected_cols),
			 errhint("Run ALTER EXTENSION observa UPDATE, or install the observa library of the extension's version.")));
}

void
obs_check_result_columns(FunctionCallInfo fcinfo, int expected_cols)
{
	TupleDesc	tupdesc;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	check_columns(fcinfo, tupdesc, expected_cols);
}

ReturnSetInfo *
obs_init_srf(FunctionCallInfo fcinfo, int expected_cols)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	check_columns(fcinfo, rsinfo->setDesc, expected_cols);
	return rsinfo;
}

/* ----------------------------------------------------------------
 * lock counters
 * ---------------------------------------------------------------- */

typedef struct CoreShared
{
	pg_atomic_uint64 statements;
	pg_atomic_uint64 locks[OBS_MAX_LOCK_COUNTERS][OBS_LOCK_KINDS];
} CoreShared;

uint64		obs_lock_local[OBS_MAX_LOCK_COUNTERS][OBS_LOCK_KINDS];
uint64		obs_statements_local = 0;

static const char *counter_names[OBS_MAX_LOCK_COUNTERS];
static int	ncounters = 0;
static CoreShared *core_shared = NULL;
static bool exit_publish_registered = false;

int
obs_lock_counter(const char *section)
{
	int			i;

	for (i = 0; i < ncounters; i++)
		if (strcmp(counter_names[i], section) == 0)
			return i;
	if (ncounters >= OBS_MAX_LOCK_COUNTERS)
		return OBS_MAX_LOCK_COUNTERS - 1;
	counter_names[ncounters] = section;
	return ncounters++;
}

static void
core_exit_publish(int code, Datum arg)
{
	obs_lock_counts_publish();
}

void
obs_lock_counts_publish(void)
{
	int			i,
				k;

	if (core_shared == NULL)
		return;
	if (!exit_publish_registered)
	{
		before_shmem_exit(core_exit_publish, (Datum) 0);
		exit_publish_registered = true;
	}
	if (obs_statements_local > 0)
	{
		pg_atomic_fetch_add_u64(&core_shared->statements, obs_statements_local);
		obs_statements_local = 0;
	}
	for (i = 0; i < OBS_MAX_LOCK_COUNTERS; i++)
	{
		for (k = 0; k < OBS_LOCK_KINDS; k++)
		{
			if (obs_lock_local[i][k] == 0)
				continue;
			pg_atomic_fetch_add_u64(&core_shared->locks[i][k],
									obs_lock_local[i][k]);
			obs_lock_local[i][k] = 0;
		}
	}
}

Size
obs_core_shmem_size(void)
{
	return MAXALIGN(sizeof(CoreShared));
}

void
obs_core_shmem_startup(void)
{
	bool		found;
	int			i,
				k;

	core_shared = ShmemInitStruct("observa core", sizeof(CoreShared), &found);
	if (!found)
	{
		pg_atomic_init_u64(&core_shared->statements, 0);
		for (i = 0; i < OBS_MAX_LOCK_COUNTERS; i++)
			for (k = 0; k < OBS_LOCK_KINDS; k++)
				pg_atomic_init_u64(&core_shared->locks[i][k], 0);
	}
}

void
obs_lock_counts_info(ObsInfoSink *sink, const char *section)
{
	static const char *const names[OBS_LOCK_KINDS] = {
		"lwlock_shared_acquisitions",
		"lwlock_exclusive_acquisitions",
		"spinlock_acquisitions"
	};
	static const char *const descr[OBS_LOCK_KINDS] = {
		"LWLocks observa took in shared mode since the server started (published by each backend when it flushes)",
		"LWLocks observa took in exclusive mode since the server started (published by each backend when it flushes)",
		"spinlocks observa took since the server started (published by each backend when it flushes)"
	};
	int			i,
				k;

	if (core_shared == NULL)
		return;
	for (i = 0; i < ncounters; i++)
	{
		if (strcmp(counter_names[i], section) != 0)
			continue;
		for (k = 0; k < OBS_LOCK_KINDS; k++)
			obs_info_add_int(sink, section, names[k],
							 (int64) pg_atomic_read_u64(&core_shared->locks[i][k]),
							 descr[k]);
	}
}

void
obs_core_info(ObsInfoSink *sink)
{
	obs_info_add(sink, "core", "version", OBSERVA_VERSION,
				 "version of the loaded observa library");
	if (core_shared)
		obs_info_add_int(sink, "core", "statements_recorded",
						 (int64) pg_atomic_read_u64(&core_shared->statements),
						 "statement samples the hooks handed to the rooms since the server started (published with the lock counts)");
}

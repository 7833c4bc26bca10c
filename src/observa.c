/*-------------------------------------------------------------------------
 *
 * observa.c
 *		Module entry: _PG_init, shared-memory request and start-up, and the
 *		observa.info view.  Kept thin: every subsystem ("room") defines its
 *		own GUCs, shared memory and hooks through the obs_<room>_* entry
 *		points declared in observa.h.
 *
 * Shared memory and hooks exist only when the library is loaded through
 * shared_preload_libraries.  Loaded any other way (CREATE EXTENSION in a
 * server without the preload, or LOAD), the SQL functions still exist but
 * each one raises ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE with a hint
 * naming shared_preload_libraries (obs_require_preload).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "observa.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

bool		obs_shmem_ready = false;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void obs_shmem_request(void);
static void obs_shmem_startup(void);

/*
 * Module load callback.
 */
void
_PG_init(void)
{
	/*
	 * Outside shared_preload_libraries we install nothing: no GUCs that
	 * would pretend to work, no hooks, no shared memory.  The SQL functions
	 * then refuse with a hint (obs_require_preload).
	 */
	if (!process_shared_preload_libraries_in_progress)
		return;

	obs_hooks_init();
	obs_table_stats_init();
	obs_statement_stats_init();
	obs_query_text_init();
	obs_slow_ring_init();
	obs_advisor_init();
	obs_tenant_stats_init();

	MarkGUCPrefixReserved("observa");

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = obs_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = obs_shmem_startup;
}

/*
 * Total shared memory of every room; also reported by observa.info.
 */
static Size
obs_shmem_size(void)
{
	Size		size = 0;

	size = add_size(size, obs_table_stats_shmem_size());
	size = add_size(size, obs_statement_stats_shmem_size());
	size = add_size(size, obs_query_text_shmem_size());
	size = add_size(size, obs_slow_ring_shmem_size());
	size = add_size(size, obs_advisor_shmem_size());
	size = add_size(size, obs_tenant_stats_shmem_size());
	return size;
}

static void
obs_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();

	RequestAddinShmemSpace(obs_shmem_size());
	/* rooms request their named LWLock tranches from their _init */
}

static void
obs_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	obs_table_stats_shmem_startup();
	obs_statement_stats_shmem_startup();
	obs_query_text_shmem_startup();
	obs_slow_ring_shmem_startup();
	obs_advisor_shmem_startup();
	obs_tenant_stats_shmem_startup();
	LWLockRelease(AddinShmemInitLock);

	obs_shmem_ready = true;
}

void
obs_require_preload(void)
{
	if (!obs_shmem_ready)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("observa must be loaded via shared_preload_libraries"),
				 errhint("Add observa to shared_preload_libraries in postgresql.conf and restart the server.")));
}

/*
 * The column-count check shared by every column-returning entry point: the
 * SQL declaration calling a C symbol must have the shape that symbol
 * produces, or the rows would be misread.
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

/*
 * observa.info(): key/value rows describing every room's state.  The 1.0
 * and 1.1 SQL share one shape (observa_info serves 1.0's script).
 */
#define INFO_COLS 4

static Datum
info_internal(FunctionCallInfo fcinfo, ObsApiVersion api)
{
	ReturnSetInfo *rsinfo;
	ObsInfoSink sink;

	(void) api;					/* the shape is the same in 1.0 and 1.1 */
	obs_require_preload();

	rsinfo = obs_init_srf(fcinfo, INFO_COLS);
	sink.tupstore = rsinfo->setResult;
	sink.tupdesc = rsinfo->setDesc;

	obs_info_add(&sink, "core", "version", OBSERVA_VERSION,
				 "version of the loaded observa library");
	obs_info_add_int(&sink, "core", "shared_memory_bytes",
					 (int64) obs_shmem_size(),
					 "shared memory requested by all of observa");

	obs_table_stats_info(&sink);
	obs_statement_stats_info(&sink);
	obs_query_text_info(&sink);
	obs_slow_ring_info(&sink);
	obs_advisor_info(&sink);
	obs_tenant_stats_info(&sink);

	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(observa_info);
PG_FUNCTION_INFO_V1(observa_info_1_1);

Datum
observa_info(PG_FUNCTION_ARGS)
{
	return info_internal(fcinfo, OBS_API_1_0);
}

Datum
observa_info_1_1(PG_FUNCTION_ARGS)
{
	return info_internal(fcinfo, OBS_API_1_1);
}

/*
 * observa.version(): the library's version (checked against the SQL's).
 */
PG_FUNCTION_INFO_V1(observa_version);

Datum
observa_version(PG_FUNCTION_ARGS)
{
	obs_require_preload();
	PG_RETURN_TEXT_P(cstring_to_text(OBSERVA_VERSION));
}

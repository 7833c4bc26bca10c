/*-------------------------------------------------------------------------
 *
 * table_stats.c
 *		Recorder: statistics per (database, table, operation).
 *
 * Every sample is accounted once to each relation it touched (the
 * attribution rule of relations.c, documented in docs/table_stats.md),
 * under the statement's operation: SELECT, INSERT, UPDATE, DELETE, MERGE,
 * or for utility statements their command tag (keyed by the CommandTag
 * enum).  Statements that touch no relation are not counted here (they
 * are in statement_stats).  calls counts failed statements too; errors
 * counts those; rows counts only successful statements' rows.
 *
 * I/O, WAL and JIT counters (io_counters.h) go to a table's row only for
 * statements that touched one relation with storage (views and
 * partitioned parents they went through aside): the row's io_calls counts
 * them.  A statement over several tables (a join, a partitioned table
 * scanned in several partitions) adds its counters to no row, as they
 * cannot be split between its tables; statement_stats has them.  Extra
 * sums: the I/O part kept per window, io_calls (also per window), then
 * the counters kept since reset only.
 *
 * Storage, locking, windows, eviction and persistence are the generic
 * store's (store.c).  Names (database, schema, table) are resolved when
 * read, so renames show the new name and dropped tables show NULL names;
 * relations of other databases show NULL schema and table names.
 *
 * SQL functions: observa.table_stats(), observa.table_stats(since),
 * observa.table_percentiles(quantiles), observa.table_latency_buckets(
 * bounds_ms).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "commands/dbcommands.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "io_counters.h"
#include "observa.h"
#include "store.h"

typedef struct TableKey
{
	Oid			dbid;
	Oid			relid;
	int32		op;				/* ObsOperation */
	int32		tag;			/* CommandTag of utility statements, else 0 */
} TableKey;

/* extra sums: see the header comment */
#define TX_IO_CALLS		(OBS_IO_NWINDOW)
#define TX_NWINDOW		(OBS_IO_NWINDOW + 1)
#define TX_REST			TX_NWINDOW
#define TX_N			(TX_NWINDOW + OBS_IO_NREST)

StaticAssertDecl(TX_N <= OBS_STORE_MAX_EXTRA, "too many table extra sums");

static int	obs_max_entries = 1000;
static ObsStoreConfig table_cfg;
static ObsStore *table_store = NULL;

void
obs_table_stats_init(void)
{
	DefineCustomIntVariable("observa.max_entries",
							"Maximum number of (database, table, operation) entries observa keeps.",
							"When full, the least used entries are evicted.",
							&obs_max_entries,
							1000, 10, 1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);
	table_cfg.name = "table_stats";
	table_cfg.keysize = sizeof(TableKey);
	table_cfg.auxsize = 0;
	table_cfg.capacity = obs_max_entries;
	table_cfg.nextra = TX_N;
	table_cfg.nextra_window = TX_NWINDOW;
	table_cfg.evict = OBS_EVICT_USAGE;
}

Size
obs_table_stats_shmem_size(void)
{
	return obs_store_shmem_size(&table_cfg);
}

void
obs_table_stats_shmem_startup(void)
{
	table_store = obs_store_attach(&table_cfg);
}

/*
 * The index of the one relation with storage the statement touched, or
 * -1.  Views and partitioned parents have no blocks of their own; a
 * utility statement's relations have no relkind and count.
 */
static int
io_relation(const ObsSample *sample)
{
	int			found = -1;
	int			i;

	if (sample->rels_truncated)
		return -1;
	for (i = 0; i < sample->nrels; i++)
	{
		char		kind = sample->relkinds[i];

		if (kind == RELKIND_VIEW || kind == RELKIND_PARTITIONED_TABLE)
			continue;
		if (found >= 0)
			return -1;
		found = i;
	}
	return found;
}

void
obs_table_stats_record(const ObsSample *sample)
{
	TableKey	key;
	ObsStoreValue v;
	double		extra[TX_N];
	int			io_rel;
	int			i;

	if (table_store == NULL || sample->nrels == 0)
		return;
	memset(&key, 0, sizeof(key));
	key.dbid = sample->dbid;
	key.op = (int32) sample->operation;
	if (sample->operation == OBS_OP_UTILITY && sample->pstmt &&
		sample->pstmt->utilityStmt)
		key.tag = (int32) CreateCommandTag(sample->pstmt->utilityStmt);
	memset(&v, 0, sizeof(v));
	v.ms = sample->duration_ms;
	v.rows = sample->rows;
	v.failed = sample->failed;
	io_rel = io_relation(sample);
	if (io_rel >= 0)
	{
		obs_io_to_extras(&sample->usage, extra, extra + TX_REST);
		extra[TX_IO_CALLS] = 1.0;
	}
	for (i = 0; i < sample->nrels; i++)
	{
		key.relid = sample->relids[i];
		v.extra = (i == io_rel) ? extra : NULL;
		obs_store_record(table_store, &key, NULL, &v);
	}
}

void
obs_table_stats_info(ObsInfoSink *sink)
{
	if (table_store)
		obs_store_info(table_store, sink, "table_stats");
}

void
obs_table_stats_reset(TimestampTz now)
{
	obs_store_reset(table_store, now);
}

/* ----------------------------------------------------------------
 * SQL functions
 * ---------------------------------------------------------------- */

/* text of an operation key */
static const char *
table_operation_name(const TableKey *key)
{
	if (key->op == OBS_OP_UTILITY && key->tag != 0)
		return GetCommandTagName((CommandTag) key->tag);
	return obs_operation_name((ObsOperation) key->op);
}

/* the first five columns: datname, schemaname, relname, relid, operation */
static Oid	cached_db = InvalidOid;	/* valid during one SQL call */
static char cached_name[NAMEDATALEN];

static void
table_name_columns(const TableKey *key, Datum *values, bool *nulls)
{
	char	   *s;

	if (key->dbid != cached_db)
	{
		s = get_database_name(key->dbid);
		cached_db = key->dbid;
		cached_name[0] = '\0';
		if (s)
			strlcpy(cached_name, s, sizeof(cached_name));
	}
	if (cached_name[0])
		values[0] = CStringGetTextDatum(cached_name);
	else
		nulls[0] = true;

	nulls[1] = nulls[2] = true;
	if (key->dbid == MyDatabaseId)
	{
		char	   *rel = get_rel_name(key->relid);

		if (rel)
		{
			char	   *nsp = get_namespace_name(get_rel_namespace(key->relid));

			if (nsp)
			{
				values[1] = CStringGetTextDatum(nsp);
				nulls[1] = false;
			}
			values[2] = CStringGetTextDatum(rel);
			nulls[2] = false;
		}
	}
	values[3] = ObjectIdGetDatum(key->relid);
	values[4] = CStringGetTextDatum(table_operation_name(key));
}

/* for regressions.c */
ObsStore *
obs_table_stats_store(void)
{
	return table_store;
}

void
obs_table_stats_key(const void *key, const void *aux, ObsRoomKey *out)
{
	const TableKey *k = key;

	memset(out, 0, sizeof(*out));
	out->dbid = k->dbid;
	out->relid = k->relid;
	out->operation = table_operation_name(k);
}

#define TABLE_STATS_COLS_1_0 17
#define TABLE_STATS_IO_COLS (1 + OBS_IO_NCOLUMNS)	/* io_calls, counters */
#define TABLE_STATS_COLS_MAX (TABLE_STATS_COLS_1_0 + 1 + TABLE_STATS_IO_COLS)

/*
 * observa.table_stats() and observa.table_stats(since interval): one row
 * per (database, table, operation), since reset or over the windows
 * covering the last 'since'.  API 1.1 adds covered_since to the interval
 * form, then io_calls and the I/O columns to both; 1.0's symbol keeps
 * serving 1.0's shape.
 */
static Datum
table_stats_internal(FunctionCallInfo fcinfo, int api)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	static const double qs[3] = {0.5, 0.95, 0.99};
	int64		since_us;
	ObsStoreRow *rows;
	int			io_at;
	int			nrows,
				i;

	obs_require_preload();
	since_us = obs_since_arg(fcinfo, 0, "table_stats");
	io_at = TABLE_STATS_COLS_1_0 + ((api >= 11 && since_us >= 0) ? 1 : 0);
	obs_init_srf(fcinfo, io_at + (api >= 11 ? TABLE_STATS_IO_COLS : 0));
	cached_db = InvalidOid;

	rows = obs_store_snapshot(table_store, since_us, qs, 3, NULL, 0, &nrows);
	for (i = 0; i < nrows; i++)
	{
		ObsStoreRow *r = &rows[i];
		Datum		values[TABLE_STATS_COLS_MAX];
		bool		nulls[TABLE_STATS_COLS_MAX];

		memset(nulls, 0, sizeof(nulls));
		table_name_columns((TableKey *) r->key, values, nulls);
		values[5] = Int64GetDatum(r->c.calls);
		values[6] = Int64GetDatum(r->c.errors);
		values[7] = Int64GetDatum(r->c.rows);
		values[8] = Float8GetDatum(r->c.total_ms);
		values[9] = Float8GetDatum(r->c.min_ms);
		values[10] = Float8GetDatum(r->c.max_ms);
		values[11] = Float8GetDatum(r->c.total_ms / (double) r->c.calls);
		values[12] = Float8GetDatum(obs_counters_stddev(&r->c));
		values[13] = Float8GetDatum(r->quantiles[0]);
		values[14] = Float8GetDatum(r->quantiles[1]);
		values[15] = Float8GetDatum(r->quantiles[2]);
		values[16] = TimestampTzGetDatum(r->since);
		values[17] = TimestampTzGetDatum(r->covered_since);
		if (api >= 11)
		{
			values[io_at] = Int64GetDatum((int64) r->extra[TX_IO_CALLS]);
			obs_io_columns(r->extra, since_us >= 0 ? NULL : r->extra + TX_REST,
						   values + io_at + 1, nulls + io_at + 1);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(observa_table_stats_1_0);

Datum
observa_table_stats_1_0(PG_FUNCTION_ARGS)
{
	return table_stats_internal(fcinfo, 10);
}

PG_FUNCTION_INFO_V1(observa_table_stats_1_1);

Datum
observa_table_stats_1_1(PG_FUNCTION_ARGS)
{
	return table_stats_internal(fcinfo, 11);
}

/*
 * observa.table_percentiles(quantiles float8[]): one row per entry and
 * quantile, since reset.
 */
PG_FUNCTION_INFO_V1(observa_table_percentiles_1_0);

Datum
observa_table_percentiles_1_0(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	double	   *qs;
	int			nq;
	ObsStoreRow *rows;
	int			nrows,
				i,
				j;

	obs_require_preload();
	qs = obs_float8_array_arg(fcinfo, 0, "quantiles", OBS_ARRAY_QUANTILES, &nq);
	obs_init_srf(fcinfo, 7);
	cached_db = InvalidOid;

	rows = obs_store_snapshot(table_store, -1, qs, nq, NULL, 0, &nrows);
	for (i = 0; i < nrows; i++)
	{
		for (j = 0; j < nq; j++)
		{
			Datum		values[7];
			bool		nulls[7];

			memset(nulls, 0, sizeof(nulls));
			table_name_columns((TableKey *) rows[i].key, values, nulls);
			values[5] = Float8GetDatum(qs[j]);
			values[6] = Float8GetDatum(rows[i].quantiles[j]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}

static int
double_cmp(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x < y) ? -1 : (x > y) ? 1 : 0;
}

/*
 * Sort bounds ascending, drop duplicates and +Infinity, then append one
 * +Infinity (always reported, count = calls).  Returns the new count.
 */
static int
obs_prepare_bounds(double *bounds, int n)
{
	int			i,
				m = 0;

	qsort(bounds, n, sizeof(double), double_cmp);
	for (i = 0; i < n; i++)
	{
		if (isinf(bounds[i]))
			continue;
		if (m > 0 && bounds[m - 1] == bounds[i])
			continue;
		bounds[m++] = bounds[i];
	}
	bounds[m++] = get_float8_infinity();
	return m;
}

/*
 * observa.table_latency_buckets(bounds_ms float8[]): cumulative counts of
 * statements <= each bound, plus le_ms = Infinity with count = calls.
 */
PG_FUNCTION_INFO_V1(observa_table_latency_buckets_1_0);

Datum
observa_table_latency_buckets_1_0(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	double	   *arg;
	double	   *bounds;
	int			nb;
	ObsStoreRow *rows;
	int			nrows,
				i,
				j;

	obs_require_preload();
	arg = obs_float8_array_arg(fcinfo, 0, "bounds_ms", OBS_ARRAY_BOUNDS, &nb);
	bounds = palloc(sizeof(double) * (nb + 1));
	memcpy(bounds, arg, sizeof(double) * nb);
	nb = obs_prepare_bounds(bounds, nb);
	obs_init_srf(fcinfo, 7);
	cached_db = InvalidOid;

	rows = obs_store_snapshot(table_store, -1, NULL, 0, bounds, nb, &nrows);
	for (i = 0; i < nrows; i++)
	{
		for (j = 0; j < nb; j++)
		{
			Datum		values[7];
			bool		nulls[7];

			memset(nulls, 0, sizeof(nulls));
			table_name_columns((TableKey *) rows[i].key, values, nulls);
			values[5] = Float8GetDatum(bounds[j]);
			values[6] = Int64GetDatum(rows[i].counts_le[j]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}

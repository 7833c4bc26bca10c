/*-------------------------------------------------------------------------
 *
 * statement_stats.c
 *		Recorder: statistics per normalized statement, keyed like
 *		pg_stat_statements: (queryid, userid, dbid, toplevel).
 *
 * queryid is the core query identifier (compute_query_id; _init calls
 * EnableQueryId() so that 'auto' turns it on), so it equals the queryid
 * pg_stat_statements shows for the same statement.  Statements without a
 * query id (compute_query_id = off) are not counted here.
 *
 * Each entry keeps, besides the store's counters and histograms, the
 * statement's operation and the relations it touched (as recorded the
 * first time the entry was created; up to OBS_MAX_SAMPLE_RELS).  The
 * normalized text lives in the query-text room (query_text.h), per role:
 * it is fetched when read, and released when the last entry of a (dbid,
 * userid, queryid) triple (top-level or not) is evicted.
 *
 * I/O, WAL, JIT and planning counters (the sample's, io_counters.h) are
 * extra sums of the entry: the I/O part kept per window first, then the
 * counters kept since reset only, then planning (plans, plan time and its
 * square; since reset only).  Minimum and maximum plan time are the
 * entry's payload.  Window rows show the counters not kept per window,
 * planning included, as NULL.
 *
 * Storage, locking, windows, eviction and persistence are the generic
 * store's (store.c).
 *
 * Privileges, as in pg_stat_statements: superusers and members of
 * pg_read_all_stats see every text; other roles see the text of entries
 * whose userid they have the privileges of, '<insufficient privilege>'
 * otherwise.  Numbers are visible to all.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "io_counters.h"
#include "observa.h"
#include "query_text.h"
#include "store.h"

typedef struct StatementKey
{
	uint64		queryid;
	Oid			userid;
	Oid			dbid;
	int32		toplevel;
	int32		pad;			/* zeroed */
} StatementKey;

typedef struct StatementAux
{
	int32		op;				/* ObsOperation */
	int32		tag;			/* CommandTag of utility statements */
	int32		nrels;
	Oid			relids[OBS_MAX_SAMPLE_RELS];
} StatementAux;

StaticAssertDecl(sizeof(StatementAux) <= OBS_STORE_MAX_AUX, "StatementAux too large");

/* extra sums: see the header comment */
#define SX_NWINDOW		(OBS_IO_NWINDOW)
#define SX_REST			SX_NWINDOW
#define SX_PLANS		(SX_REST + OBS_IO_NREST)
#define SX_PLAN_MS		(SX_PLANS + 1)
#define SX_PLAN_MS2		(SX_PLANS + 2)	/* sum of squares */
#define SX_N			(SX_PLANS + 3)

StaticAssertDecl(SX_N <= OBS_STORE_MAX_EXTRA, "too many statement extra sums");

/* the payload: extremes of the timed plannings */
typedef struct PlanExtremes
{
	int64		n;				/* 0: none yet (a zeroed payload) */
	double		min_ms;
	double		max_ms;
} PlanExtremes;

static int	obs_max_statements = 1000;
static ObsStoreConfig stmt_cfg;
static ObsStore *stmt_store = NULL;

static void statement_evicted(ObsStore *store, const char *keys_auxs, int n);
static void plan_extremes_merge(void *dst, const void *src);

void
obs_statement_stats_init(void)
{
	DefineCustomIntVariable("observa.max_statements",
							"Maximum number of statements observa keeps statistics for.",
							"When full, the least used entries are evicted.",
							&obs_max_statements,
							1000, 10, 1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);
	/* compute_query_id = auto then computes the core query id */
	EnableQueryId();

	stmt_cfg.name = "statement_stats";
	stmt_cfg.keysize = sizeof(StatementKey);
	stmt_cfg.auxsize = sizeof(StatementAux);
	stmt_cfg.capacity = obs_max_statements;
	stmt_cfg.nextra = SX_N;
	stmt_cfg.nextra_window = SX_NWINDOW;
	stmt_cfg.payloadsize = sizeof(PlanExtremes);
	stmt_cfg.payload_merge = plan_extremes_merge;
	stmt_cfg.evict = OBS_EVICT_USAGE;
	stmt_cfg.evicted = statement_evicted;
}

/* payload merge: fold src's plan-time extremes into dst's */
static void
plan_extremes_merge(void *dst, const void *src)
{
	PlanExtremes *d = (PlanExtremes *) dst;
	const PlanExtremes *s = (const PlanExtremes *) src;

	if (s->n == 0)
		return;
	if (d->n == 0)
	{
		*d = *s;
		return;
	}
	d->n += s->n;
	d->min_ms = Min(d->min_ms, s->min_ms);
	d->max_ms = Max(d->max_ms, s->max_ms);
}

Size
obs_statement_stats_shmem_size(void)
{
	return obs_store_shmem_size(&stmt_cfg);
}

void
obs_statement_stats_shmem_startup(void)
{
	stmt_store = obs_store_attach(&stmt_cfg);
}

void
obs_statement_stats_record(const ObsSample *sample)
{
	StatementKey key;
	StatementAux aux;
	ObsStoreValue v;
	double		extra[SX_N];
	PlanExtremes plan;

	if (stmt_store == NULL || sample->queryid == UINT64CONST(0))
		return;
	memset(&key, 0, sizeof(key));
	key.queryid = sample->queryid;
	key.userid = sample->userid;
	key.dbid = sample->dbid;
	key.toplevel = sample->toplevel ? 1 : 0;

	aux.op = (int32) sample->operation;
	aux.tag = 0;
	if (sample->operation == OBS_OP_UTILITY && sample->pstmt &&
		sample->pstmt->utilityStmt)
		aux.tag = (int32) CreateCommandTag(sample->pstmt->utilityStmt);
	aux.nrels = sample->nrels;
	memcpy(aux.relids, sample->relids, sizeof(Oid) * sample->nrels);
	if (sample->nrels < OBS_MAX_SAMPLE_RELS)
		memset(aux.relids + sample->nrels, 0,
			   sizeof(Oid) * (OBS_MAX_SAMPLE_RELS - sample->nrels));

	memset(&v, 0, sizeof(v));
	v.ms = sample->duration_ms;
	v.rows = sample->rows;
	v.failed = sample->failed;
	obs_io_to_extras(&sample->usage, extra, extra + SX_REST);
	extra[SX_PLANS] = sample->planned ? 1.0 : 0.0;
	extra[SX_PLAN_MS] = sample->planned ? sample->plan_ms : 0.0;
	extra[SX_PLAN_MS2] = sample->planned ? sample->plan_ms * sample->plan_ms : 0.0;
	v.extra = extra;
	if (sample->planned)
	{
		plan.n = 1;
		plan.min_ms = plan.max_ms = sample->plan_ms;
		v.payload = &plan;
	}
	obs_store_record(stmt_store, &key, &aux, &v);
}

void
obs_statement_stats_info(ObsInfoSink *sink)
{
	if (stmt_store)
		obs_store_info(stmt_store, sink, "statement_stats");
}

void
obs_statement_stats_reset(TimestampTz now)
{
	obs_store_reset(stmt_store, now);
}

static int
textkey_cmp(const void *a, const void *b)
{
	const ObsTextKey *x = a;
	const ObsTextKey *y = b;

	if (x->queryid != y->queryid)
		return x->queryid < y->queryid ? -1 : 1;
	if (x->dbid != y->dbid)
		return x->dbid < y->dbid ? -1 : 1;
	if (x->userid != y->userid)
		return x->userid < y->userid ? -1 : 1;
	return 0;
}

/*
 * Eviction callback: release the texts no remaining entry uses.  A text
 * is keyed (dbid, userid, queryid); the entries that can use it are the
 * two keys with that triple, top-level and nested: both are looked up
 * (the evicted one may have been created again since), all under one
 * shared store lock, and the unused texts are released in one exclusive
 * section of the text store.  So a batch of evictions costs a lookup per
 * key, not a scan of the store.
 */
static void
statement_evicted(ObsStore *store, const char *keys_auxs, int n)
{
	Size		rec = sizeof(StatementKey) + sizeof(StatementAux);
	ObsTextKey *texts;
	StatementKey *probe;
	bool	   *found;
	int			i,
				m = 0,
				nfree = 0;

	if (n <= 0)
		return;
	texts = palloc(sizeof(ObsTextKey) * n);
	for (i = 0; i < n; i++)
	{
		StatementKey k;

		memcpy(&k, keys_auxs + rec * i, sizeof(k));
		texts[i].dbid = k.dbid;
		texts[i].userid = k.userid;
		texts[i].queryid = k.queryid;
	}
	qsort(texts, n, sizeof(ObsTextKey), textkey_cmp);
	for (i = 0; i < n; i++)
		if (m == 0 || textkey_cmp(&texts[m - 1], &texts[i]) != 0)
			texts[m++] = texts[i];

	probe = palloc0(sizeof(StatementKey) * 2 * m);
	found = palloc(sizeof(bool) * 2 * m);
	for (i = 0; i < m; i++)
	{
		for (int top = 0; top < 2; top++)
		{
			StatementKey *k = &probe[2 * i + top];

			k->queryid = texts[i].queryid;
			k->userid = texts[i].userid;
			k->dbid = texts[i].dbid;
			k->toplevel = top;
		}
	}
	obs_store_contains(store, probe, 2 * m, found);
	for (i = 0; i < m; i++)
		if (!found[2 * i] && !found[2 * i + 1])
			texts[nfree++] = texts[i];
	obs_query_text_release_many(texts, nfree);
	pfree(found);
	pfree(probe);
	pfree(texts);
}

/* ----------------------------------------------------------------
 * SQL functions
 * ---------------------------------------------------------------- */

static const char *
statement_operation_name(const StatementAux *aux)
{
	if (aux->op == OBS_OP_UTILITY && aux->tag != 0)
		return GetCommandTagName((CommandTag) aux->tag);
	return obs_operation_name((ObsOperation) aux->op);
}

/* queryid, toplevel, userid, username, dbid, datname */
static void
statement_identity_columns(const StatementKey *key, Datum *values, bool *nulls)
{
	char	   *s;

	values[0] = Int64GetDatum((int64) key->queryid);
	values[1] = BoolGetDatum(key->toplevel != 0);
	values[2] = ObjectIdGetDatum(key->userid);
	s = GetUserNameFromId(key->userid, true);
	if (s)
		values[3] = CStringGetTextDatum(s);
	else
		nulls[3] = true;
	values[4] = ObjectIdGetDatum(key->dbid);
	s = get_database_name(key->dbid);
	if (s)
		values[5] = CStringGetTextDatum(s);
	else
		nulls[5] = true;
}

/* for regressions.c */
ObsStore *
obs_statement_stats_store(void)
{
	return stmt_store;
}

void
obs_statement_stats_key(const void *key, const void *aux, ObsRoomKey *out)
{
	const StatementKey *k = key;
	const StatementAux *a = aux;

	memset(out, 0, sizeof(*out));
	out->is_statement = true;
	out->queryid = k->queryid;
	out->userid = k->userid;
	out->dbid = k->dbid;
	out->toplevel = (k->toplevel != 0);
	out->operation = statement_operation_name(a);
	out->nrels = Min(a->nrels, OBS_MAX_SAMPLE_RELS);
	out->relids = a->relids;
}

#define STATEMENT_STATS_COLS_1_0 21
#define STATEMENT_STATS_PLAN_COLS 6	/* plans, total/min/max/mean/stddev */
#define STATEMENT_STATS_IO_COLS (STATEMENT_STATS_PLAN_COLS + OBS_IO_NCOLUMNS)
#define STATEMENT_STATS_COLS_MAX (STATEMENT_STATS_COLS_1_0 + 1 + STATEMENT_STATS_IO_COLS)

/*
 * The planning and I/O columns of 1.1, from a row's extra sums and payload;
 * windowed: a row of statement_stats(since), where planning and the
 * counters kept since reset only are NULL.
 */
static void
statement_io_columns(const ObsStoreRow *r, bool windowed, Datum *values,
					 bool *nulls)
{
	const PlanExtremes *pe = (const PlanExtremes *) r->payload;
	int			i;

	for (i = 0; i < STATEMENT_STATS_PLAN_COLS; i++)
	{
		values[i] = (Datum) 0;
		nulls[i] = true;
	}
	if (!windowed)
	{
		double		plans = r->extra[SX_PLANS];
		double		total = r->extra[SX_PLAN_MS];

		values[0] = Int64GetDatum((int64) plans);
		values[1] = Float8GetDatum(total);
		nulls[0] = nulls[1] = false;
		if (plans > 0)
		{
			double		mean = total / plans;
			double		var = r->extra[SX_PLAN_MS2] / plans - mean * mean;

			values[4] = Float8GetDatum(mean);
			values[5] = Float8GetDatum(var > 0 ? sqrt(var) : 0.0);
			nulls[4] = nulls[5] = false;
			if (pe->n > 0)
			{
				values[2] = Float8GetDatum(pe->min_ms);
				values[3] = Float8GetDatum(pe->max_ms);
				nulls[2] = nulls[3] = false;
			}
		}
	}
	obs_io_columns(r->extra, windowed ? NULL : r->extra + SX_REST,
				   values + STATEMENT_STATS_PLAN_COLS,
				   nulls + STATEMENT_STATS_PLAN_COLS);
}

/*
 * observa.statement_stats() and observa.statement_stats(since interval).
 * API 1.1 adds covered_since to the interval form, then to both forms the
 * planning and I/O columns.
 */
static Datum
statement_stats_internal(FunctionCallInfo fcinfo, int api)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	static const double qs[3] = {0.5, 0.95, 0.99};
	int64		since_us;
	Oid			me = GetUserId();
	bool		see_all;
	ObsStoreRow *rows;
	int			nrows,
				i;
	int			io_at;

	obs_require_preload();
	since_us = obs_since_arg(fcinfo, 0, "statement_stats");
	io_at = STATEMENT_STATS_COLS_1_0 + ((api >= 11 && since_us >= 0) ? 1 : 0);
	obs_init_srf(fcinfo, io_at + (api >= 11 ? STATEMENT_STATS_IO_COLS : 0));

	see_all = superuser() || has_privs_of_role(me, ROLE_PG_READ_ALL_STATS);
	rows = obs_store_snapshot(stmt_store, since_us, qs, 3, NULL, 0, &nrows);
	for (i = 0; i < nrows; i++)
	{
		ObsStoreRow *r = &rows[i];
		StatementKey *key = (StatementKey *) r->key;
		StatementAux *aux = (StatementAux *) r->aux;
		Datum		values[STATEMENT_STATS_COLS_MAX];
		bool		nulls[STATEMENT_STATS_COLS_MAX];
		Datum	   *rels;
		int			j;

		memset(nulls, 0, sizeof(nulls));
		statement_identity_columns(key, values, nulls);
		values[6] = CStringGetTextDatum(statement_operation_name(aux));
		if (see_all || key->userid == me || has_privs_of_role(me, key->userid))
		{
			bool		truncated;
			char	   *text = obs_query_text_get(key->dbid, key->userid,
												  key->queryid, &truncated);

			if (text)
				values[7] = CStringGetTextDatum(text);
			else
				nulls[7] = true;
		}
		else
			values[7] = CStringGetTextDatum("<insufficient privilege>");
		values[8] = Int64GetDatum(r->c.calls);
		values[9] = Int64GetDatum(r->c.errors);
		values[10] = Int64GetDatum(r->c.rows);
		values[11] = Float8GetDatum(r->c.total_ms);
		values[12] = Float8GetDatum(r->c.min_ms);
		values[13] = Float8GetDatum(r->c.max_ms);
		values[14] = Float8GetDatum(r->c.total_ms / (double) r->c.calls);
		values[15] = Float8GetDatum(obs_counters_stddev(&r->c));
		values[16] = Float8GetDatum(r->quantiles[0]);
		values[17] = Float8GetDatum(r->quantiles[1]);
		values[18] = Float8GetDatum(r->quantiles[2]);
		rels = palloc(sizeof(Datum) * Max(aux->nrels, 1));
		for (j = 0; j < aux->nrels && j < OBS_MAX_SAMPLE_RELS; j++)
			rels[j] = ObjectIdGetDatum(aux->relids[j]);
		values[19] = PointerGetDatum(construct_array(rels, j, REGCLASSOID,
													 sizeof(Oid), true,
													 TYPALIGN_INT));
		values[20] = TimestampTzGetDatum(r->since);
		values[21] = TimestampTzGetDatum(r->covered_since);
		if (api >= 11)
			statement_io_columns(r, since_us >= 0, values + io_at, nulls + io_at);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(observa_statement_stats_1_0);

Datum
observa_statement_stats_1_0(PG_FUNCTION_ARGS)
{
	return statement_stats_internal(fcinfo, 10);
}

PG_FUNCTION_INFO_V1(observa_statement_stats_1_1);

Datum
observa_statement_stats_1_1(PG_FUNCTION_ARGS)
{
	return statement_stats_internal(fcinfo, 11);
}

/*
 * observa.statement_percentiles(quantiles float8[]): one row per
 * statement entry and quantile, since reset.
 */
PG_FUNCTION_INFO_V1(observa_statement_percentiles_1_0);

Datum
observa_statement_percentiles_1_0(PG_FUNCTION_ARGS)
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
	obs_init_srf(fcinfo, 8);

	rows = obs_store_snapshot(stmt_store, -1, qs, nq, NULL, 0, &nrows);
	for (i = 0; i < nrows; i++)
	{
		for (j = 0; j < nq; j++)
		{
			Datum		values[8];
			bool		nulls[8];

			memset(nulls, 0, sizeof(nulls));
			statement_identity_columns((StatementKey *) rows[i].key, values, nulls);
			values[6] = Float8GetDatum(qs[j]);
			values[7] = Float8GetDatum(rows[i].quantiles[j]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}

/*-------------------------------------------------------------------------
 *
 * advisor.c
 *		Index advisor room: entry points called by observa.c and hooks.c,
 *		its settings, observa.info rows, observa.reset_advisor() and the
 *		captured-workload function observa.advisor_workload().
 *
 * The work is split over capture.c (what statements do), hypo.c
 * (hypothetical indexes and re-planning), recommend.c (candidates and
 * the chosen set) and create.c (building indexes safely).  See
 * docs/advisor.md.  Locking: see capture.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/varlena.h"

#include "advisor.h"

double		adv_min_improvement = 20.0;
double		adv_merge_tolerance = 10.0;
double		adv_write_heavy = 20.0;

void
obs_advisor_init(void)
{
	DefineCustomRealVariable("observa.advisor_sample_rate",
							 "Fraction of top-level statements whose predicates the index advisor captures.",
							 "0 turns capture off; 1 captures every statement.",
							 &adv_sample_rate,
							 0.1, 0.0, 1.0,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("observa.advisor_sample_interval",
							"Least time between two captures of one statement in one backend.",
							"0, or observa.advisor_sample_rate = 1, lets the rate alone decide.",
							&adv_sample_interval,
							1000, 0, 3600 * 1000,
							PGC_SUSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("observa.advisor_max_queries",
							"Statements (queryids) the index advisor remembers.",
							NULL,
							&adv_max_queries,
							500, 10, 100000,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
	/* observa.tenant_columns is defined by tenant_stats.c (tenant_columns.h) */
	DefineCustomRealVariable("observa.advisor_min_improvement",
							 "Planner cost drop, in percent, a statement needs for an index to count as helping it.",
							 NULL,
							 &adv_min_improvement,
							 20.0, 1.0, 99.0,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
	DefineCustomRealVariable("observa.advisor_merge_tolerance",
							 "Planner cost increase, in percent, each statement may take when two indexes of a write-heavy table become one.",
							 "0 turns merging off.",
							 &adv_merge_tolerance,
							 10.0, 0.0, 100.0,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
	DefineCustomRealVariable("observa.advisor_write_heavy",
							 "Share of a table's statements, in percent, that must write for the table to count as write-heavy.",
							 "Counted in observa.table_stats: INSERT, UPDATE, DELETE and MERGE statements.",
							 &adv_write_heavy,
							 20.0, 0.0, 100.0,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
	adv_hypo_init();
}

Size
obs_advisor_shmem_size(void)
{
	return adv_capture_shmem_size();
}

void
obs_advisor_shmem_startup(void)
{
	adv_capture_shmem_startup();
}

void
obs_advisor_executor_start(QueryDesc *queryDesc, int eflags)
{
	adv_capture_executor_start(queryDesc, eflags);
}

void
obs_advisor_record(const ObsSample *sample)
{
	adv_capture_record(sample);
}

void
obs_advisor_info(ObsInfoSink *sink)
{
	int64		entries = 0;
	int64		evictions;
	int64		too_long;

	if (adv_shared == NULL)
		return;
	adv_lock_attach();
	OBS_LWLOCK_ACQUIRE(adv_lock_id, &adv_shared->lock, LW_SHARED);
	for (int i = 0; i < adv_shared->max_queries; i++)
		if (adv_shared->queries[i].used)
			entries++;
	evictions = adv_shared->evictions;
	too_long = adv_shared->examples_too_long;
	LWLockRelease(&adv_shared->lock);

	obs_info_add_int(sink, "advisor", "capacity", adv_shared->max_queries,
					 "statements the advisor can remember (observa.advisor_max_queries)");
	obs_info_add_int(sink, "advisor", "entries", entries,
					 "statements captured");
	obs_info_add_int(sink, "advisor", "evictions", evictions,
					 "statements evicted to make room since the last reset");
	obs_info_add_int(sink, "advisor", "examples_too_long", too_long,
					 "examples not kept: statement and parameters over 2 kB");
}

/*
 * observa.reset_advisor(): forget the captured workload (the record of
 * created indexes is kept).
 */
PG_FUNCTION_INFO_V1(observa_reset_advisor);

Datum
observa_reset_advisor(PG_FUNCTION_ARGS)
{
	obs_require_preload();
	adv_lock_attach();
	OBS_LWLOCK_ACQUIRE(adv_lock_id, &adv_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < adv_shared->max_queries; i++)
	{
		AdvQuery   *q = &adv_shared->queries[i];

		OBS_SPIN_ACQUIRE(adv_lock_id, &q->mutex);
		q->used = false;
		q->example_len = 0;
		SpinLockRelease(&q->mutex);
	}
	adv_shared->evictions = 0;
	adv_shared->examples_too_long = 0;
	adv_shared->reset_at = GetCurrentTimestamp();
	LWLockRelease(&adv_shared->lock);
	PG_RETURN_VOID();
}

/*
 * observa.advisor_workload(): the captured predicates and sort keys of
 * the current database, one row per table, column and class.
 */
#define WORKLOAD_COLS 8

typedef struct WorkRow
{
	Oid			relid;
	int16		attnum;
	int			cls;			/* AdvPredClass, or ADV_NCLASSES + desc for sort */
	bool		expr;
	double		calls;
	int64		statements;
	double		rows_removed;
} WorkRow;

static Datum
advisor_workload_internal(FunctionCallInfo fcinfo, ObsApiVersion api)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	WorkRow    *rows;
	int			nrows = 0;
	int			maxrows;
	AdvScan		scans[ADV_MAX_SCANS];

	obs_require_preload();
	obs_init_srf(fcinfo, WORKLOAD_COLS);
	adv_lock_attach();

	maxrows = adv_shared->max_queries * ADV_MAX_SCANS * (ADV_MAX_PREDS + ADV_MAX_SORT);
	rows = palloc(sizeof(WorkRow) * Min(maxrows, 100000));
	maxrows = Min(maxrows, 100000);

	OBS_LWLOCK_ACQUIRE(adv_lock_id, &adv_shared->lock, LW_SHARED);
	for (int i = 0; i < adv_shared->max_queries; i++)
	{
		AdvQuery   *q = &adv_shared->queries[i];
		double		calls;

		int			nscans;

		if (!q->used || q->dbid != MyDatabaseId)
			continue;
		/* scans grow under the spinlock (capture.c): copy them under it */
		OBS_SPIN_ACQUIRE(adv_lock_id, &q->mutex);
		calls = q->calls;
		nscans = q->nscans;
		memcpy(scans, q->scans, sizeof(AdvScan) * nscans);
		SpinLockRelease(&q->mutex);
		for (int s = 0; s < nscans; s++)
		{
			AdvScan    *sc = &scans[s];
			int			n = sc->npreds + sc->nsort;

			for (int k = 0; k < n; k++)
			{
				WorkRow		key;
				WorkRow    *r = NULL;

				memset(&key, 0, sizeof(key));
				key.relid = sc->relid;
				if (k < sc->npreds)
				{
					key.attnum = sc->preds[k].attnum;
					key.cls = sc->preds[k].cls;
					key.expr = (sc->preds[k].flags & ADV_PF_EXPR) != 0;
				}
				else
				{
					key.attnum = sc->sort_att[k - sc->npreds];
					key.cls = ADV_NCLASSES + (sc->sort_desc[k - sc->npreds] ? 1 : 0);
				}
				for (int j = 0; j < nrows; j++)
					if (rows[j].relid == key.relid && rows[j].attnum == key.attnum &&
						rows[j].cls == key.cls && rows[j].expr == key.expr)
						r = &rows[j];
				if (r == NULL)
				{
					if (nrows >= maxrows)
						continue;
					r = &rows[nrows++];
					*r = key;
				}
				r->calls += calls;
				r->statements++;
				r->rows_removed += sc->rows_removed;
			}
		}
	}
	LWLockRelease(&adv_shared->lock);

	for (int j = 0; j < nrows; j++)
	{
		Datum		values[WORKLOAD_COLS];
		bool		nulls[WORKLOAD_COLS] = {0};
		char	   *relname = get_rel_name(rows[j].relid);
		char	   *attname;
		const char *cls;

		if (relname == NULL)
			continue;			/* dropped since */
		attname = get_attname(rows[j].relid, rows[j].attnum, true);
		if (rows[j].cls == ADV_NCLASSES)
			cls = "order_by_asc";
		else if (rows[j].cls == ADV_NCLASSES + 1)
			cls = "order_by_desc";
		else
			cls = adv_class_names[rows[j].cls];
		values[0] = CStringGetTextDatum(get_namespace_name(get_rel_namespace(rows[j].relid)));
		values[1] = CStringGetTextDatum(relname);
		if (attname)
			values[2] = CStringGetTextDatum(attname);
		else
			nulls[2] = true;
		values[3] = CStringGetTextDatum(cls);
		values[4] = BoolGetDatum(rows[j].expr);
		values[5] = Int64GetDatum(rows[j].statements);
		values[6] = Int64GetDatum((int64) (rows[j].calls + 0.5));
		values[7] = Int64GetDatum((int64) rows[j].rows_removed);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * One body, two entry points: observa_advisor_workload serves 1.0's SQL,
 * observa_advisor_workload_1_1 serves 1.1's.
 */
PG_FUNCTION_INFO_V1(observa_advisor_workload);
PG_FUNCTION_INFO_V1(observa_advisor_workload_1_1);

Datum
observa_advisor_workload(PG_FUNCTION_ARGS)
{
	return advisor_workload_internal(fcinfo, OBS_API_1_0);
}

Datum
observa_advisor_workload_1_1(PG_FUNCTION_ARGS)
{
	return advisor_workload_internal(fcinfo, OBS_API_1_1);
}

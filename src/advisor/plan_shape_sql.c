/*-------------------------------------------------------------------------
 *
 * plan_shape_sql.c
 *		observa.plan_fingerprints(): the plan-shape fingerprints the advisor
 *		keeps per statement (plan_shape.c computes and stores them).
 *
 * Kept apart from plan_shape.c, which capture.c calls: this reader calls
 * capture.c's shared state, and two files calling each other would be an
 * import circle (test/t/003_layers.pl).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "advisor.h"

#define PLAN_FINGERPRINT_COLS_1_1	7

/*
 * observa.plan_fingerprints(): the fingerprints kept per statement of the
 * current database, one row each.  Copies the entries under the advisor's
 * lock (shared) and each entry's spinlock, then builds rows unlocked.
 */
typedef struct ShapeRow
{
	uint64		queryid;
	Oid			userid;
	AdvPlanShape s;
	bool		current;		/* the statement's newest fingerprint */
} ShapeRow;

PG_FUNCTION_INFO_V1(observa_plan_fingerprints_1_1);

Datum
observa_plan_fingerprints_1_1(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ShapeRow   *rows;
	int			n = 0;

	obs_require_preload();
	obs_init_srf(fcinfo, PLAN_FINGERPRINT_COLS_1_1);
	adv_lock_attach();
	rows = palloc(sizeof(ShapeRow) * adv_shared->max_queries * ADV_PLAN_SHAPES);
	OBS_LWLOCK_ACQUIRE(adv_lock_id, &adv_shared->lock, LW_SHARED);
	for (int i = 0; i < adv_shared->max_queries; i++)
	{
		AdvQuery   *q = &adv_shared->queries[i];
		AdvPlanShape shapes[ADV_PLAN_SHAPES];
		uint64		queryid;
		Oid			userid;

		if (!q->used || q->dbid != MyDatabaseId)
			continue;
		OBS_SPIN_ACQUIRE(adv_lock_id, &q->mutex);
		memcpy(shapes, q->shapes, sizeof(shapes));
		queryid = q->queryid;
		userid = q->userid;
		SpinLockRelease(&q->mutex);
		for (int k = 0; k < ADV_PLAN_SHAPES; k++)
		{
			if (shapes[k].fp == 0)
				continue;
			rows[n].queryid = queryid;
			rows[n].userid = userid;
			rows[n].s = shapes[k];
			rows[n].current = true;
			for (int j = 0; j < ADV_PLAN_SHAPES; j++)
				if (shapes[j].fp != 0 && shapes[j].last_seen > shapes[k].last_seen)
					rows[n].current = false;
			n++;
		}
	}
	LWLockRelease(&adv_shared->lock);

	for (int i = 0; i < n; i++)
	{
		Datum		values[PLAN_FINGERPRINT_COLS_1_1];
		bool		nulls[PLAN_FINGERPRINT_COLS_1_1] = {0};
		char		hex[17];

		snprintf(hex, sizeof(hex), "%016" INT64_MODIFIER "x", rows[i].s.fp);
		values[0] = Int64GetDatum((int64) rows[i].queryid);
		values[1] = ObjectIdGetDatum(rows[i].userid);
		values[2] = CStringGetTextDatum(hex);
		values[3] = TimestampTzGetDatum(rows[i].s.first_seen);
		values[4] = TimestampTzGetDatum(rows[i].s.last_seen);
		values[5] = Int64GetDatum(rows[i].s.samples);
		values[6] = BoolGetDatum(rows[i].current);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

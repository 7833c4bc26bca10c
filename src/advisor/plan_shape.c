/*-------------------------------------------------------------------------
 *
 * plan_shape.c
 *		Plan-shape fingerprints of the statements the index advisor samples,
 *		the last few kept per statement, and observa.plan_fingerprints().
 *
 * A fingerprint is a 64-bit hash of a plan's shape: each node's type and
 * its place in the tree, the tables scanned (by OID), the indexes used (by
 * name, so that an index dropped and created again under the same name
 * gives the same shape), join types, aggregate strategies and the target
 * of a ModifyTable; never costs, row estimates or constants.  Two plans
 * with the same fingerprint read the same relations the same way.
 *
 * It is computed only for statements the advisor samples
 * (observa.advisor_sample_rate), in adv_capture_record, before any lock
 * is taken: a walk over the plan tree and one syscache lookup per index
 * scan node.  Unsampled statements pay nothing.
 *
 * Storage: ADV_PLAN_SHAPES slots in the statement's AdvQuery entry, each a
 * fingerprint with its first and last time seen (statement start times)
 * and its sample count.  adv_plan_shape_note runs under the entry's
 * spinlock (capture.c's protocol): it only copies a few words.  A new
 * fingerprint takes a free slot or the one seen longest ago.  An entry
 * evicted from the advisor's array forgets its fingerprints.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/plannodes.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "advisor.h"

#define PLAN_FINGERPRINT_COLS_1_1	7

static uint64 shape_walk(uint64 h, Plan *plan, PlannedStmt *pstmt);

static inline uint64
mix(uint64 h, uint64 v)
{
	return hash_combine64(h, hash_bytes_uint32_extended((uint32) v, v >> 32));
}

/* a scanned table, by OID (0 for function, values, CTE scans ...) */
static uint64
mix_scanrel(uint64 h, Index scanrelid, PlannedStmt *pstmt)
{
	if (scanrelid > 0 && scanrelid <= list_length(pstmt->rtable))
	{
		RangeTblEntry *rte = rt_fetch(scanrelid, pstmt->rtable);

		if (rte->rtekind == RTE_RELATION)
			return mix(h, rte->relid);
	}
	return mix(h, 0);
}

/* an index, by name (a dropped index's OID has no name: hash the OID) */
static uint64
mix_index(uint64 h, Oid indexid)
{
	char	   *name = get_rel_name(indexid);

	if (name == NULL)
		return mix(h, indexid);
	h = hash_combine64(h, hash_bytes_extended((const unsigned char *) name,
											  strlen(name), 0));
	pfree(name);
	return h;
}

static uint64
shape_list(uint64 h, List *plans, PlannedStmt *pstmt)
{
	ListCell   *lc;

	foreach(lc, plans)
		h = shape_walk(h, lfirst(lc), pstmt);
	return h;
}

/* what a node adds besides its type: relations, index, join type ... */
static uint64
shape_node(uint64 h, Plan *plan, PlannedStmt *pstmt)
{
	switch (nodeTag(plan))
	{
		case T_IndexScan:
			h = mix_scanrel(h, ((Scan *) plan)->scanrelid, pstmt);
			return mix_index(h, ((IndexScan *) plan)->indexid);
		case T_IndexOnlyScan:
			h = mix_scanrel(h, ((Scan *) plan)->scanrelid, pstmt);
			return mix_index(h, ((IndexOnlyScan *) plan)->indexid);
		case T_BitmapIndexScan:
			h = mix_scanrel(h, ((Scan *) plan)->scanrelid, pstmt);
			return mix_index(h, ((BitmapIndexScan *) plan)->indexid);
		case T_SeqScan:
		case T_SampleScan:
		case T_BitmapHeapScan:
		case T_TidScan:
		case T_TidRangeScan:
		case T_ForeignScan:
		case T_CustomScan:
			return mix_scanrel(h, ((Scan *) plan)->scanrelid, pstmt);
		case T_NestLoop:
		case T_MergeJoin:
		case T_HashJoin:
			return mix(h, ((Join *) plan)->jointype);
		case T_Agg:
			return mix(h, ((Agg *) plan)->aggstrategy);
		case T_ModifyTable:
			{
				ModifyTable *mt = (ModifyTable *) plan;

				h = mix(h, mt->operation);
				return mix_scanrel(h, mt->nominalRelation, pstmt);
			}
		default:
			return h;
	}
}

/* hash one node and its children, with markers for the tree's shape */
static uint64
shape_walk(uint64 h, Plan *plan, PlannedStmt *pstmt)
{
	if (plan == NULL)
		return mix(h, 0xA0);
	check_stack_depth();
	h = mix(h, 0xA1);
	h = mix(h, nodeTag(plan));
	h = shape_node(h, plan, pstmt);
	h = shape_walk(h, plan->lefttree, pstmt);
	h = shape_walk(h, plan->righttree, pstmt);
	switch (nodeTag(plan))
	{
		case T_Append:
			h = shape_list(h, ((Append *) plan)->appendplans, pstmt);
			break;
		case T_MergeAppend:
			h = shape_list(h, ((MergeAppend *) plan)->mergeplans, pstmt);
			break;
		case T_BitmapAnd:
			h = shape_list(h, ((BitmapAnd *) plan)->bitmapplans, pstmt);
			break;
		case T_BitmapOr:
			h = shape_list(h, ((BitmapOr *) plan)->bitmapplans, pstmt);
			break;
		case T_SubqueryScan:
			h = shape_walk(h, ((SubqueryScan *) plan)->subplan, pstmt);
			break;
		case T_CustomScan:
			h = shape_list(h, ((CustomScan *) plan)->custom_plans, pstmt);
			break;
		default:
			break;
	}
	return mix(h, 0xA2);
}

/*
 * adv_plan_fingerprint: the shape fingerprint of a planned statement (its
 * main tree, then each subplan in order).  Never 0.
 */
uint64
adv_plan_fingerprint(PlannedStmt *pstmt)
{
	uint64		h = mix(0, pstmt->commandType);

	h = shape_walk(h, pstmt->planTree, pstmt);
	h = shape_list(h, pstmt->subplans, pstmt);
	return h == 0 ? 1 : h;
}

/*
 * adv_plan_shape_note: count one sampled execution with fingerprint fp,
 * started at ts, in q's slots.  Caller holds q->mutex (no palloc, no
 * error here).
 */
void
adv_plan_shape_note(AdvQuery *q, uint64 fp, TimestampTz ts)
{
	AdvPlanShape *slot = NULL;

	if (fp == 0)
		return;
	for (int i = 0; i < ADV_PLAN_SHAPES; i++)
	{
		AdvPlanShape *s = &q->shapes[i];

		if (s->fp == fp)
		{
			s->last_seen = Max(s->last_seen, ts);
			s->samples++;
			return;
		}
	}
	/* a new shape: a free slot, else the one seen longest ago */
	for (int i = 0; i < ADV_PLAN_SHAPES; i++)
	{
		AdvPlanShape *s = &q->shapes[i];

		if (s->fp == 0)
		{
			slot = s;
			break;
		}
		if (slot == NULL || s->last_seen < slot->last_seen)
			slot = s;
	}
	slot->fp = fp;
	slot->first_seen = ts;
	slot->last_seen = ts;
	slot->samples = 1;
}

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
	InitMaterializedSRF(fcinfo, 0);
	if (rsinfo->setDesc->natts != PLAN_FINGERPRINT_COLS_1_1)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("observa.plan_fingerprints() is declared with %d columns, the library returns %d",
						rsinfo->setDesc->natts, PLAN_FINGERPRINT_COLS_1_1),
				 errhint("Run ALTER EXTENSION observa UPDATE to match the installed library.")));
	adv_lock_attach();
	rows = palloc(sizeof(ShapeRow) * adv_shared->max_queries * ADV_PLAN_SHAPES);
	LWLockAcquire(&adv_shared->lock, LW_SHARED);
	for (int i = 0; i < adv_shared->max_queries; i++)
	{
		AdvQuery   *q = &adv_shared->queries[i];
		AdvPlanShape shapes[ADV_PLAN_SHAPES];
		uint64		queryid;
		Oid			userid;

		if (!q->used || q->dbid != MyDatabaseId)
			continue;
		SpinLockAcquire(&q->mutex);
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

/*-------------------------------------------------------------------------
 *
 * plan_shape.c
 *		Plan-shape fingerprints of the statements the index advisor samples
 *		and the last few kept per statement (observa.plan_fingerprints() is
 *		plan_shape_sql.c's, so that capture.c and this file do not call
 *		each other).
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

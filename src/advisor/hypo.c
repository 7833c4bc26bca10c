/*-------------------------------------------------------------------------
 *
 * hypo.c
 *		Index advisor: hypothetical indexes and re-planning of captured
 *		examples.
 *
 * A hypothetical index is an IndexOptInfo that observa's
 * get_relation_info_hook adds to a relation's index list while this
 * backend plans a captured example (adv_example_plan); nothing is
 * written anywhere and no other backend sees it.  The IndexOptInfo is
 * built from the candidate the way plancat.c builds one from the catalogs
 * (the approach HypoPG takes; the code here is observa's own): opfamilies
 * from the operator classes, the AM's flags and cost estimator, a target
 * list of the key columns, and an estimated size.  It is marked
 * hypothetical, so the planner never reads it (selfuncs.c skips such
 * indexes when probing for actual column ranges, and GIN costing does not
 * open it).  Plans built with it are inspected and thrown away, never
 * executed.
 *
 * A candidate on a partitioned table is shown on each of its leaf
 * partitions (the planner plans partitions as relations of their own),
 * with the partition's column numbers and a size in proportion to the
 * partition's rows; the parent itself has no index to scan.
 *
 * Examples are planned as custom plans: the captured parameter values are
 * bound as constants (PARAM_FLAG_CONST), as a custom plan of a prepared
 * statement would be, so a skewed tenant gets its own estimates.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/amapi.h"
#include "access/htup_details.h"
#include "access/itup.h"
#include "catalog/pg_am.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/plancat.h"
#include "optimizer/planner.h"
#include "rewrite/rewriteManip.h"
#include "storage/bufpage.h"
#include "storage/lmgr.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "advisor.h"

static get_relation_info_hook_type prev_get_relation_info = NULL;

/* plans made by this backend (DEBUG1 output of recommend_indexes()) */
uint64		adv_plans_made = 0;

/* candidates visible to the planner right now (this backend only) */
static List *active_hypos = NIL;

static void adv_get_relation_info(PlannerInfo *root, Oid relationObjectId,
								  bool inhparent, RelOptInfo *rel);

void
adv_hypo_init(void)
{
	prev_get_relation_info = get_relation_info_hook;
	get_relation_info_hook = adv_get_relation_info;
}

/* type, typmod and collation of one key column */
static void
key_type(AdvCandidate *c, int i, Oid *type, int32 *typmod, Oid *coll)
{
	if (c->attnums[i] != 0)
		get_atttypetypmodcoll(c->relid, c->attnums[i], type, typmod, coll);
	else
	{
		*type = exprType((Node *) c->exprs[i]);
		*typmod = exprTypmod((Node *) c->exprs[i]);
		*coll = exprCollation((Node *) c->exprs[i]);
	}
}

/* bytes of a btree entry's key columns: average widths from pg_statistic */
double
adv_key_width(AdvCandidate *c)
{
	double		width = 0;

	for (int i = 0; i < c->ncols; i++)
	{
		Oid			type;
		int32		typmod;
		Oid			coll;
		int32		w = 0;

		key_type(c, i, &type, &typmod, &coll);
		if (c->attnums[i] != 0)
			w = get_attavgwidth(c->relid, c->attnums[i]);
		if (w <= 0)
			w = get_typavgwidth(type, typmod);
		width += w;
	}
	return width;
}

/*
 * Estimate an index's entries, pages and height from the number of rows
 * it covers: btree leaf tuples of the key width at the default fill
 * factor; GIN roughly 48 bytes per row (a rough figure, documented).
 */
void
adv_estimate_size(AdvCandidate *c, double tuples)
{
	double		per_page;
	double		leaves;

	if (tuples < 1)
		tuples = 1;
	c->tuples = tuples;
	if (c->amoid != BTREE_AM_OID)
	{
		c->pages = ceil(tuples * 48.0 / BLCKSZ) + 2;
		c->tree_height = 1;
		return;
	}
	per_page = (BLCKSZ - SizeOfPageHeaderData - 16) * 0.90 /
		(MAXALIGN(sizeof(IndexTupleData) + adv_key_width(c)) + sizeof(ItemIdData));
	if (per_page < 2)
		per_page = 2;
	leaves = ceil(tuples / per_page);
	c->pages = leaves + ceil(leaves / per_page) + 1;
	c->tree_height = leaves <= 1 ? 0 : (int) ceil(log(leaves) / log(per_page));
}

/* the hypothetical IndexOptInfo of a candidate, for relation 'rel' */
static IndexOptInfo *
build_index_info(AdvCandidate *c, RelOptInfo *rel)
{
	IndexOptInfo *info = makeNode(IndexOptInfo);
	IndexAmRoutine *am = GetIndexAmRoutineByAmId(c->amoid, false);
	int			n = c->ncols;

	info->indexoid = c->fakeoid;
	info->reltablespace = rel->reltablespace;
	info->rel = rel;
	info->ncolumns = n;
	info->nkeycolumns = n;
	info->indexkeys = palloc0(sizeof(int) * n);
	info->indexcollations = palloc0(sizeof(Oid) * n);
	info->opfamily = palloc0(sizeof(Oid) * n);
	info->opcintype = palloc0(sizeof(Oid) * n);
	info->canreturn = palloc0(sizeof(bool) * n);
	info->opclassoptions = palloc0(sizeof(bytea *) * n);	/* no options */
	info->relam = c->amoid;
	if (am->amcanorder)
	{
		info->sortopfamily = info->opfamily;
		info->reverse_sort = palloc0(sizeof(bool) * n);
		info->nulls_first = palloc0(sizeof(bool) * n);
	}

	for (int i = 0; i < n; i++)
	{
		Oid			type;
		int32		typmod;
		Oid			coll;
		Expr	   *key;

		key_type(c, i, &type, &typmod, &coll);
		info->indexkeys[i] = c->attnums[i];
		info->indexcollations[i] = coll;
		info->opfamily[i] = get_opclass_family(c->opclass[i]);
		info->opcintype[i] = get_opclass_input_type(c->opclass[i]);
		info->canreturn[i] = (am->amcanreturn != NULL && c->amoid == BTREE_AM_OID);
		if (am->amcanorder)
		{
			info->reverse_sort[i] = c->desc[i];
			info->nulls_first[i] = c->desc[i];
		}
		if (c->attnums[i] != 0)
			key = (Expr *) makeVar(rel->relid, c->attnums[i], type, typmod, coll, 0);
		else
		{
			key = copyObject(c->exprs[i]);
			ChangeVarNodes((Node *) key, 1, rel->relid, 0);
			info->indexprs = lappend(info->indexprs, key);
		}
		info->indextlist = lappend(info->indextlist,
								   makeTargetEntry(key, i + 1, NULL, false));
	}
	if (c->pred != NIL)
	{
		info->indpred = copyObject(c->pred);
		ChangeVarNodes((Node *) info->indpred, 1, rel->relid, 0);
	}
	info->predOK = false;		/* decided by check_index_predicates */
	info->unique = false;
	info->immediate = true;
	info->hypothetical = true;

	info->pages = (BlockNumber) c->pages;
	info->tuples = c->tuples;
	info->tree_height = c->tree_height;

	info->amcanorderbyop = am->amcanorderbyop;
	info->amoptionalkey = am->amoptionalkey;
	info->amsearcharray = am->amsearcharray;
	info->amsearchnulls = am->amsearchnulls;
	info->amhasgettuple = (am->amgettuple != NULL);
	info->amhasgetbitmap = (am->amgetbitmap != NULL);
	info->amcanparallel = am->amcanparallel;
	info->amcanmarkpos = (am->ammarkpos != NULL && am->amrestrpos != NULL);
	info->amcostestimate = am->amcostestimate;
	return info;
}

/*
 * The candidate as it applies to one leaf partition: its columns, and a
 * size in proportion to the partition's rows.  NULL when a column is
 * missing from the partition.
 */
static AdvCandidate *
candidate_for_partition(AdvCandidate *c, Oid child, RelOptInfo *rel)
{
	AdvCandidate *pc = palloc(sizeof(AdvCandidate));

	memcpy(pc, c, sizeof(AdvCandidate));
	pc->relid = child;
	for (int i = 0; i < c->ncols; i++)
	{
		if (c->attnums[i] != 0)
		{
			pc->attnums[i] = adv_map_attnum(c->relid, child, c->attnums[i]);
			if (pc->attnums[i] == InvalidAttrNumber)
				return NULL;
		}
		else
			pc->exprs[i] = (Expr *) adv_map_vars((Node *) c->exprs[i], c->relid, child);
	}
	pc->pred = (List *) adv_map_vars((Node *) c->pred, c->relid, child);
	adv_estimate_size(pc, Max(rel->tuples, 1) * c->fraction);
	return pc;
}

static void
adv_get_relation_info(PlannerInfo *root, Oid relationObjectId,
					  bool inhparent, RelOptInfo *rel)
{
	ListCell   *lc;

	if (prev_get_relation_info)
		prev_get_relation_info(root, relationObjectId, inhparent, rel);
	if (inhparent || active_hypos == NIL)
		return;
	foreach(lc, active_hypos)
	{
		AdvCandidate *c = (AdvCandidate *) lfirst(lc);

		if (c->relid == relationObjectId)
			rel->indexlist = lcons(build_index_info(c, rel), rel->indexlist);
		else if (list_member_oid(c->partitions, relationObjectId))
		{
			AdvCandidate *pc = candidate_for_partition(c, relationObjectId, rel);

			if (pc)
				rel->indexlist = lcons(build_index_info(pc, rel), rel->indexlist);
		}
	}
}

/* the offset of the search_path part of an example, or -1 */
static int
example_search_path_offset(const char *buf, int len)
{
	int32		tlen;
	int16		nparams;
	int			off;

	if (len < (int) (sizeof(int32) + sizeof(int16)))
		return -1;
	memcpy(&tlen, buf, sizeof(int32));
	off = sizeof(int32) + tlen;
	if (tlen < 0 || off + (int) sizeof(int16) > len)
		return -1;
	memcpy(&nparams, buf + off, sizeof(int16));
	off += sizeof(int16);
	for (int i = 0; i < nparams; i++)
	{
		int32		slen;

		if (off + (int) (sizeof(Oid) + 1 + sizeof(int32)) > len)
			return -1;
		off += sizeof(Oid) + 1;
		memcpy(&slen, buf + off, sizeof(int32));
		off += sizeof(int32) + slen;
		if (slen < 0 || off > len)
			return -1;
	}
	return off;
}

/*
 * The search_path an example's names were resolved with when it was
 * captured (palloc'd), or NULL when none was kept.  The sandbox that
 * parses and plans the example sets it (sandbox.c).
 */
char *
adv_example_search_path(const char *buf, int len)
{
	int			off = example_search_path_offset(buf, len);
	int16		splen;

	if (off < 0 || off + (int) sizeof(int16) > len)
		return NULL;
	memcpy(&splen, buf + off, sizeof(int16));
	off += sizeof(int16);
	if (splen < 0 || off + splen > len)
		return NULL;
	return pnstrdup(buf + off, splen);
}

/*
 * Parse an example kept by capture.c (layout in render_example) and bind
 * its parameters.  Returns false when it no longer parses to one
 * SELECT, UPDATE or DELETE.  May raise errors (name lookups): callers run
 * it in a subtransaction.
 */
bool
adv_example_prepare(const char *buf, int len, AdvExample *ex)
{
	int32		tlen;
	int16		nparams;
	int			off;
	Oid		   *types = NULL;
	List	   *raw;
	List	   *queries;
	Query	   *query;

	memset(ex, 0, sizeof(*ex));
	if (len < (int) (sizeof(int32) + sizeof(int16)))
		return false;
	memcpy(&tlen, buf, sizeof(int32));
	ex->text = pnstrdup(buf + sizeof(int32), tlen);
	off = sizeof(int32) + tlen;
	memcpy(&nparams, buf + off, sizeof(int16));
	off += sizeof(int16);
	if (nparams > 0)
	{
		ex->params = makeParamList(nparams);
		types = palloc(sizeof(Oid) * nparams);
		for (int i = 0; i < nparams; i++)
		{
			ParamExternData *prm = &ex->params->params[i];
			int32		slen;
			char		isnull;

			memcpy(&prm->ptype, buf + off, sizeof(Oid));
			off += sizeof(Oid);
			isnull = buf[off++];
			memcpy(&slen, buf + off, sizeof(int32));
			off += sizeof(int32);
			prm->isnull = isnull;
			prm->pflags = PARAM_FLAG_CONST;
			types[i] = prm->ptype;
			if (!isnull)
			{
				Oid			typinput;
				Oid			typioparam;
				char	   *str = pnstrdup(buf + off, slen);

				getTypeInputInfo(prm->ptype, &typinput, &typioparam);
				prm->value = OidInputFunctionCall(typinput, str, typioparam, -1);
			}
			off += slen;
		}
	}
	/* the search_path was set by the caller's sandbox (adv_example_search_path) */
	raw = pg_parse_query(ex->text);
	if (list_length(raw) != 1)
		return false;
	/* an EXECUTE's text is its PREPARE: the statement is the prepared one */
	if (IsA(linitial_node(RawStmt, raw)->stmt, PrepareStmt))
		linitial_node(RawStmt, raw)->stmt =
			((PrepareStmt *) linitial_node(RawStmt, raw)->stmt)->query;
	queries = pg_analyze_and_rewrite_fixedparams(linitial_node(RawStmt, raw),
												 ex->text, types, nparams, NULL);
	if (list_length(queries) != 1)
		return false;
	query = linitial_node(Query, queries);
	if (query->commandType != CMD_SELECT && query->commandType != CMD_UPDATE &&
		query->commandType != CMD_DELETE)
		return false;
	if (query->utilityStmt != NULL || query->rowMarks != NIL)
		return false;
	ex->query = query;
	return true;
}

/*
 * Lock the relations of a parsed query (and of its subqueries, CTEs and
 * sublinks) as parse analysis did: each sandboxed step is rolled back,
 * which releases the locks, so a query kept across steps is locked again
 * before it is planned (as plancache.c does for a cached plan).
 */
static bool
lock_query_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *query = (Query *) node;
		ListCell   *lc;

		foreach(lc, query->rtable)
		{
			RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

			if (rte->rtekind == RTE_RELATION)
				LockRelationOid(rte->relid, rte->rellockmode);
		}
		return query_tree_walker(query, lock_query_walker, context, 0);
	}
	return expression_tree_walker(node, lock_query_walker, context);
}

/*
 * Plan an example with the given hypothetical indexes visible.  The plan
 * must not be executed.
 */
PlannedStmt *
adv_example_plan(AdvExample *ex, List *hypos)
{
	PlannedStmt *result;

	(void) lock_query_walker((Node *) ex->query, NULL);
	active_hypos = hypos;
	adv_plans_made++;
	PG_TRY();
	{
		result = planner(copyObject(ex->query), ex->text, 0, ex->params);
	}
	PG_FINALLY();
	{
		active_hypos = NIL;
	}
	PG_END_TRY();
	return result;
}

static bool
plan_uses(Plan *plan, Oid indexoid)
{
	ListCell   *lc;

	if (plan == NULL)
		return false;
	switch (nodeTag(plan))
	{
		case T_IndexScan:
			if (((IndexScan *) plan)->indexid == indexoid)
				return true;
			break;
		case T_IndexOnlyScan:
			if (((IndexOnlyScan *) plan)->indexid == indexoid)
				return true;
			break;
		case T_BitmapIndexScan:
			if (((BitmapIndexScan *) plan)->indexid == indexoid)
				return true;
			break;
		case T_Append:
			foreach(lc, ((Append *) plan)->appendplans)
				if (plan_uses(lfirst(lc), indexoid))
				return true;
			break;
		case T_MergeAppend:
			foreach(lc, ((MergeAppend *) plan)->mergeplans)
				if (plan_uses(lfirst(lc), indexoid))
				return true;
			break;
		case T_BitmapAnd:
			foreach(lc, ((BitmapAnd *) plan)->bitmapplans)
				if (plan_uses(lfirst(lc), indexoid))
				return true;
			break;
		case T_BitmapOr:
			foreach(lc, ((BitmapOr *) plan)->bitmapplans)
				if (plan_uses(lfirst(lc), indexoid))
				return true;
			break;
		case T_SubqueryScan:
			if (plan_uses(((SubqueryScan *) plan)->subplan, indexoid))
				return true;
			break;
		default:
			break;
	}
	return plan_uses(plan->lefttree, indexoid) ||
		plan_uses(plan->righttree, indexoid);
}

/* does the plan (or one of its subplans) scan the index? */
bool
adv_plan_uses(PlannedStmt *pstmt, Oid indexoid)
{
	ListCell   *lc;

	if (plan_uses(pstmt->planTree, indexoid))
		return true;
	foreach(lc, pstmt->subplans)
		if (plan_uses(lfirst(lc), indexoid))
			return true;
	return false;
}

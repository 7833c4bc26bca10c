/*-------------------------------------------------------------------------
 *
 * distribution.c
 *		Index advisor: judge candidates across the tenant distribution.
 *
 * A statement that filters a table by "tenant_key = value" is costed at
 * two ends of the tenant distribution: with the value replaced by the
 * heaviest tenant and by a small one (colstats.c picks them from the
 * table's statistics).  The rest of the example, its other parameters
 * and constants, stays as captured.  When the value is a bind parameter
 * its value is replaced in the parameter list (every use of $n changes
 * with it); when it is a constant, every constant equal to it that is
 * compared with the tenant key is replaced.  Each end is planned on its
 * own (a custom plan, like the planner gives a prepared statement for
 * those values).  A statement with no such equality (a report, or a join
 * that supplies the tenant at run time from another table's row) has one
 * end: the example as captured.
 *
 * select.c then credits a candidate with a statement only when it helps
 * at every end where some candidate helps, so an index that is good for
 * small tenants and bad for the heaviest (or the reverse) is rejected.
 *
 * Runs inside the caller's guarded steps (recommend.c); no locks.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "parser/parsetree.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "recommend.h"

/* a "tenant_key = value" conjunct found in the statement */
typedef struct TenantEq
{
	TableInfo  *table;
	Const	   *cnst;			/* the value when it is a constant */
	int			paramid;		/* ... or a bind parameter ($n), else 0 */
	Oid			valtype;
} TenantEq;

typedef struct FindCtx
{
	Ctx		   *ctx;
	Query	   *query;
	TenantEq   *found;
	Const	   *replace_from;	/* replacing: constants equal to this */
	Const	   *replace_to;
} FindCtx;

/* strip relabelling and implicit casts off a value */
static Node *
strip_value(Node *n)
{
	for (;;)
	{
		if (n && IsA(n, RelabelType))
			n = (Node *) ((RelabelType *) n)->arg;
		else if (n && IsA(n, FuncExpr) &&
				 ((FuncExpr *) n)->funcformat == COERCE_IMPLICIT_CAST &&
				 list_length(((FuncExpr *) n)->args) == 1)
			n = linitial(((FuncExpr *) n)->args);
		else
			return n;
	}
}

/* the table whose tenant key the Var is, or NULL */
static TableInfo *
tenant_var_table(FindCtx *f, Node *n)
{
	Var		   *v;
	RangeTblEntry *rte;
	Oid			root;
	TableInfo  *t;

	n = strip_value(n);
	if (n == NULL || !IsA(n, Var))
		return NULL;
	v = (Var *) n;
	if (v->varlevelsup != 0 || v->varattno <= 0 ||
		v->varno > list_length(f->query->rtable))
		return NULL;
	rte = rt_fetch(v->varno, f->query->rtable);
	if (rte->rtekind != RTE_RELATION)
		return NULL;
	root = adv_partition_root(rte->relid);
	t = adv_table(f->ctx, root);
	if (t == NULL || t->tenant_att == InvalidAttrNumber ||
		adv_map_attnum(rte->relid, root, v->varattno) != t->tenant_att)
		return NULL;
	return t;
}

/* is op "tenant_key = value"?  Returns the index of the value argument */
static int
tenant_equality(FindCtx *f, OpExpr *op, TableInfo **table)
{
	if (list_length(op->args) != 2 || get_oprrest(op->opno) != F_EQSEL)
		return -1;
	for (int side = 0; side < 2; side++)
	{
		TableInfo  *t = tenant_var_table(f, list_nth(op->args, side));
		Node	   *val = strip_value(list_nth(op->args, 1 - side));

		if (t && val && (IsA(val, Const) ||
						 (IsA(val, Param) && ((Param *) val)->paramkind == PARAM_EXTERN)))
		{
			*table = t;
			return 1 - side;
		}
	}
	return -1;
}

/* walker: find the first tenant equality, or replace constants */
static bool
tenant_walker(Node *node, FindCtx *f)
{
	if (node == NULL)
		return false;
	if (IsA(node, OpExpr))
	{
		OpExpr	   *op = (OpExpr *) node;
		TableInfo  *t = NULL;
		int			vi = tenant_equality(f, op, &t);

		if (vi >= 0)
		{
			Node	   *val = strip_value(list_nth(op->args, vi));

			if (f->replace_from)
			{
				if (IsA(val, Const) && equal(val, f->replace_from))
					list_nth_cell(op->args, vi)->ptr_value = copyObject(f->replace_to);
			}
			else if (f->found->table == NULL)
			{
				f->found->table = t;
				if (IsA(val, Const))
				{
					f->found->cnst = (Const *) val;
					f->found->valtype = ((Const *) val)->consttype;
				}
				else
				{
					f->found->paramid = ((Param *) val)->paramid;
					f->found->valtype = ((Param *) val)->paramtype;
				}
			}
		}
		/* the value side may itself hold no further equalities */
	}
	if (IsA(node, Query))
	{
		/* a subquery: its Vars refer to its own range table */
		Query	   *outer = f->query;
		bool		r;

		f->query = (Query *) node;
		r = query_tree_walker((Query *) node, tenant_walker, (void *) f, 0);
		f->query = outer;
		return r;
	}
	return expression_tree_walker(node, tenant_walker, (void *) f);
}

/* the stats value converted to the type the statement compares it as */
static Datum
convert_value(Datum value, Oid from, Oid to)
{
	Oid			typinput;
	Oid			typioparam;
	int16		typlen;
	bool		byval;

	if (from == to)
	{
		get_typlenbyval(to, &typlen, &byval);
		return datumCopy(value, byval, typlen);
	}
	getTypeInputInfo(to, &typinput, &typioparam);
	return OidInputFunctionCall(typinput, adv_datum_text(value, from),
								typioparam, -1);
}

/* one end: the example with the tenant value replaced */
static void
make_end(FindCtx *f, Stmt *s, TenantEq *eq, StmtEnd *end, Datum value,
		 double freq, bool heavy)
{
	AdvColStats *st = &eq->table->tenant_stats;
	Datum		v = convert_value(value, st->type, eq->valtype);

	end->ex = s->ex;
	end->tenant = adv_datum_text(value, st->type);
	end->tenant_freq = freq;
	end->heavy = heavy;
	if (eq->paramid > 0)
	{
		ParamListInfo p = makeParamList(s->ex.params->numParams);

		memcpy(p->params, s->ex.params->params,
			   sizeof(ParamExternData) * s->ex.params->numParams);
		p->params[eq->paramid - 1].value = v;
		p->params[eq->paramid - 1].isnull = false;
		end->ex.params = p;
	}
	else
	{
		Const	   *to = copyObject(eq->cnst);

		to->constvalue = v;
		to->constisnull = false;
		end->ex.query = copyObject(s->ex.query);
		f->replace_from = eq->cnst;
		f->replace_to = to;
		f->query = end->ex.query;
		(void) query_tree_walker(end->ex.query, tenant_walker, (void *) f, 0);
		f->query = s->ex.query;
		f->replace_from = NULL;
	}
}

/* does a join hand a scanned table its tenant key at run time? */
static bool
tenant_joined(Ctx *ctx, Stmt *s)
{
	for (int i = 0; i < s->q.nscans; i++)
	{
		TableInfo  *t = adv_table(ctx, s->q.scans[i].relid);

		if (t != NULL && t->tenant_att != InvalidAttrNumber &&
			list_member_int(adv_query_join_columns(s->ex.query, t->relid),
							t->tenant_att))
			return true;
	}
	return false;
}

/*
 * The statement's ends: the heaviest and a small tenant when it filters
 * a table by its tenant key and that column has statistics, else the
 * example as captured.  Must run as the statement's role (type input
 * functions), inside the caller's guard.
 */
void
adv_build_ends(Ctx *ctx, Stmt *s)
{
	TenantEq	eq;
	FindCtx		f;
	AdvColStats *st;

	memset(&eq, 0, sizeof(eq));
	memset(&f, 0, sizeof(f));
	f.ctx = ctx;
	f.query = s->ex.query;
	f.found = &eq;
	(void) query_tree_walker(s->ex.query, tenant_walker, (void *) &f, 0);

	s->nends = 1;
	memset(&s->ends[0], 0, sizeof(StmtEnd));
	s->ends[0].ex = s->ex;
	if (eq.table == NULL || !eq.table->tenant_stats.has_heavy ||
		(eq.paramid > 0 && (s->ex.params == NULL ||
							eq.paramid > s->ex.params->numParams)))
	{
		s->tenant_from_join = tenant_joined(ctx, s);
		return;
	}
	st = &eq.table->tenant_stats;
	s->tenant_relid = eq.table->relid;
	make_end(&f, s, &eq, &s->ends[0], st->heavy, st->heavy_freq, true);
	if (st->has_small)
	{
		memset(&s->ends[1], 0, sizeof(StmtEnd));
		make_end(&f, s, &eq, &s->ends[1], st->small, st->small_freq, false);
		s->nends = 2;
	}
}

/*
 * Plan ends first..last with the hypothetical indexes 'hypos': try_cost[] and,
 * for must_use, whether the plan uses that index (try_used[]).  Inside
 * the caller's guard.
 */
void
adv_plan_ends(Stmt *s, List *hypos, Oid must_use, int first, int last)
{
	for (int e = first; e <= last && e < s->nends; e++)
	{
		MemoryContext old = MemoryContextSwitchTo(adv_plan_cxt);
		PlannedStmt *p = adv_example_plan(&s->ends[e].ex, hypos);

		MemoryContextSwitchTo(old);
		s->try_cost[e] = p->planTree->total_cost;
		s->try_used[e] = OidIsValid(must_use) ? adv_plan_uses(p, must_use) : false;
		MemoryContextReset(adv_plan_cxt);
	}
}

/*
 * "tenants tried: 1 (heaviest, 17.1% of rows) and 200 (small, 0.2% of
 * rows)" for the statements an index serves; NULL when none varied.
 */
char *
adv_tenants_tried(Ctx *ctx, List *stmt_idx)
{
	StringInfoData r;
	ListCell   *lc;
	List	   *seen = NIL;
	bool		joined = false;

	initStringInfo(&r);
	foreach(lc, stmt_idx)
	{
		Stmt	   *s = &ctx->stmts[lfirst_int(lc)];

		joined |= s->tenant_from_join;
		for (int e = 0; e < s->nends; e++)
		{
			StmtEnd    *end = &s->ends[e];
			char	   *item;

			if (end->tenant == NULL)
				continue;
			item = psprintf("%s (%s, %.1f%% of rows)", end->tenant,
							end->heavy ? "heaviest" : "small",
							100.0 * end->tenant_freq);
			if (list_member(seen, makeString(item)))
				continue;
			seen = lappend(seen, makeString(item));
		}
	}
	if (seen == NIL && !joined)
		return NULL;
	if (seen != NIL)
	{
		appendStringInfoString(&r, "tenants tried: ");
		foreach(lc, seen)
			appendStringInfo(&r, "%s%s",
							 foreach_current_index(lc) == 0 ? "" :
							 foreach_current_index(lc) == list_length(seen) - 1 ?
							 " and " : ", ", strVal(lfirst(lc)));
	}
	if (joined)
		appendStringInfo(&r, "%sa join supplies the tenant at run time",
						 seen != NIL ? "; " : "");
	return r.data;
}

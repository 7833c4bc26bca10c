/*-------------------------------------------------------------------------
 *
 * recommend.c
 *		Index advisor: candidates from the captured workload, proof by
 *		hypothetical-index costing, and the chosen set returned by
 *		observa.recommend_indexes().
 *
 * Steps (docs/advisor.md explains them for DBAs):
 *	1. copy the current database's captured statements (shared lock only
 *	   while copying);
 *	2. parse each example again and plan it with its captured parameter
 *	   values bound (a custom plan): the baseline cost, and a plan whose
 *	   scans show each table's predicates with the real values;
 *	3. per statement and table build candidates: equality columns first
 *	   (tenant key first), then IN columns, then one range / LIKE-prefix
 *	   column, or the ORDER BY ... LIMIT keys (DESC as asked); a partial
 *	   variant when the statement always filters with the same literal
 *	   (IN list, IS NULL); expression keys (lower(email)); GIN for
 *	   full-text predicates (tenant key first through btree_gin when it is
 *	   installed);
 *	4. drop duplicates and candidates an existing valid index serves by
 *	   the prefix rule;
 *	5. greedy selection: re-plan the statements of a candidate's table with
 *	   the indexes chosen so far plus the candidate; a statement is helped
 *	   when the plan uses the candidate and its cost drops by at least
 *	   observa.advisor_min_improvement percent; the benefit (estimated
 *	   executions x cost drop) minus the write cost must be positive; the
 *	   best benefit per byte is chosen, until nothing helps;
 *	   (before costing, a candidate whose keys are a prefix of another's is
 *	   merged into the wider one);
 *	6. a chosen index the others make redundant (its statements cost at
 *	   most observa.advisor_min_improvement percent more without it) is
 *	   dropped.
 *
 * Everything here runs in the calling backend.  Each step that evaluates
 * a captured statement runs in the sandbox of sandbox.c (as the
 * statement's role, restricted, GUCs discarded, subtransaction rolled
 * back); a step that fails is skipped (an example that no longer parses).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_statistic.h"
#include "commands/defrem.h"
#include "common/hashfn.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/plancat.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteManip.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/pg_locale.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"
#include "utils/varlena.h"

#include "advisor.h"
#include "../sandbox.h"
#include "../tenant_columns.h"

#define ADV_FAKE_OID_BASE	((Oid) 4000000000U)
#define ADV_MAX_ROUNDS		16

/* one captured statement, as this recommendation sees it */
typedef struct Stmt
{
	AdvQuery	q;				/* copy of the shared entry */
	char	   *search_path;	/* captured with the example, or NULL */
	AdvExample	ex;
	bool		ok;				/* example parsed and planned */
	PlannedStmt *base;
	double		base_cost;
	double		cur_cost;		/* with the indexes chosen so far */
	double		try_cost;		/* scratch */
} Stmt;

/* per table facts */
typedef struct TableInfo
{
	Oid			relid;
	AttrNumber	tenant_att;
	bool		tenant_detected;
	double		tenant_share;
	double		tenant_distinct;
	double		rows_inserted;
	double		rows_updated;
	uint64		updated_cols;
	double		reltuples;
} TableInfo;

typedef struct Ctx
{
	Stmt	   *stmts;
	int			nstmts;
	List	   *cands;			/* AdvCandidate * */
	TableInfo  *tables;
	int			ntables;
	List	   *chosen;
	List	   *untrusted;		/* "relid reason" strings, reported once each */
} Ctx;

/* result of choosing a candidate: which statements, costs */
typedef struct Choice
{
	AdvCandidate *c;
	List	   *stmt_idx;
	double		cost_before;
	double		cost_after;
	double		calls;
} Choice;

/* ---------- running fallible steps ---------- */

/*
 * Run one step that evaluates a captured statement (parse analysis,
 * planning, constant folding, hypothetical costing) in the sandbox of
 * sandbox.c: as the role whose example it is, with the search_path it
 * was captured with, in a subtransaction that is rolled back.  False (the
 * error at DEBUG1) when it failed or the role is gone.
 */
static bool
run_guarded(Stmt *s, ObsSandboxFn fn, void *arg)
{
	return obs_sandbox_run(s->q.userid, s->search_path, fn, arg);
}

static void
prepare_stmt(void *arg)
{
	Stmt	   *s = (Stmt *) arg;

	s->ok = false;
	if (!adv_example_prepare(s->q.example, s->q.example_len, &s->ex))
		return;
	s->base = adv_example_plan(&s->ex, NIL);
	s->base_cost = s->base->planTree->total_cost;
	s->cur_cost = s->base_cost;
	s->ok = true;
}

typedef struct TryArg
{
	Stmt	   *s;
	List	   *hypos;
	Oid			must_use;
	double		cost;
	bool		used;
} TryArg;

static void
try_plan(void *arg)
{
	TryArg	   *t = (TryArg *) arg;
	PlannedStmt *p = adv_example_plan(&t->s->ex, t->hypos);

	t->cost = p->planTree->total_cost;
	t->used = OidIsValid(t->must_use) ? adv_plan_uses(p, t->must_use) : false;
}

/* ---------- tables ---------- */

static TableInfo *
table_info(Ctx *ctx, Oid relid)
{
	for (int i = 0; i < ctx->ntables; i++)
		if (ctx->tables[i].relid == relid)
			return &ctx->tables[i];
	return NULL;
}

static double
stat_distinct(Oid relid, AttrNumber att, double reltuples)
{
	HeapTuple	tup = SearchSysCache3(STATRELATTINH, ObjectIdGetDatum(relid),
									  Int16GetDatum(att), BoolGetDatum(false));
	double		nd;

	if (!HeapTupleIsValid(tup))
		return -1;
	nd = ((Form_pg_statistic) GETSTRUCT(tup))->stadistinct;
	ReleaseSysCache(tup);
	if (nd < 0)
		nd = -nd * Max(reltuples, 0);
	return nd;
}

/*
 * The tenant key of a table: the first of observa.tenant_columns it has;
 * otherwise a column with an equality predicate in more than half of the
 * table's (estimated) statement executions and at least 10 distinct
 * values per pg_statistic.
 */
static void
find_tenant(Ctx *ctx, TableInfo *t)
{
	double		total = 0;
	double		best = 0;
	AttrNumber	best_att = InvalidAttrNumber;
	double		eq_calls[65];

	t->tenant_att = InvalidAttrNumber;
	for (int i = 0; i < obs_tenant_column_count(); i++)
	{
		AttrNumber	a = get_attnum(t->relid, obs_tenant_column(i));

		if (a > 0)
		{
			t->tenant_att = a;
			return;
		}
	}
	memset(eq_calls, 0, sizeof(eq_calls));
	for (int i = 0; i < ctx->nstmts; i++)
	{
		AdvQuery   *q = &ctx->stmts[i].q;

		for (int s = 0; s < q->nscans; s++)
		{
			AdvScan    *sc = &q->scans[s];
			uint64		seen = 0;

			if (sc->relid != t->relid)
				continue;
			total += q->calls;
			for (int p = 0; p < sc->npreds; p++)
			{
				AdvPred    *pr = &sc->preds[p];

				if (pr->cls == ADV_EQ && !(pr->flags & ADV_PF_EXPR) &&
					pr->attnum <= 64 && !(seen & (UINT64CONST(1) << (pr->attnum - 1))))
				{
					seen |= UINT64CONST(1) << (pr->attnum - 1);
					eq_calls[pr->attnum] += q->calls;
				}
			}
		}
	}
	if (total <= 0)
		return;
	for (int a = 1; a <= 64; a++)
	{
		if (eq_calls[a] / total > 0.5 && eq_calls[a] > best)
		{
			double		nd = stat_distinct(t->relid, a, t->reltuples);

			if (nd >= 10)
			{
				best = eq_calls[a];
				best_att = a;
				t->tenant_distinct = nd;
			}
		}
	}
	if (best_att != InvalidAttrNumber)
	{
		t->tenant_att = best_att;
		t->tenant_detected = true;
		t->tenant_share = best / total;
	}
}

static void
collect_tables(Ctx *ctx)
{
	int			max = 0;

	for (int i = 0; i < ctx->nstmts; i++)
		max += ctx->stmts[i].q.nscans + 1;
	ctx->tables = palloc0(sizeof(TableInfo) * Max(max, 1));
	for (int i = 0; i < ctx->nstmts; i++)
	{
		AdvQuery   *q = &ctx->stmts[i].q;

		for (int s = 0; s <= q->nscans; s++)
		{
			Oid			relid = (s < q->nscans) ? q->scans[s].relid : q->target_relid;
			TableInfo  *t;

			if (!OidIsValid(relid) || table_info(ctx, relid) != NULL)
				continue;
			if ((get_rel_relkind(relid) != RELKIND_RELATION &&
				 get_rel_relkind(relid) != RELKIND_MATVIEW) ||
				get_rel_persistence(relid) == RELPERSISTENCE_TEMP)
				continue;		/* gone, not a table, or temporary */
			t = &ctx->tables[ctx->ntables++];
			t->relid = relid;
		}
	}
	for (int i = 0; i < ctx->nstmts; i++)
	{
		AdvQuery   *q = &ctx->stmts[i].q;
		TableInfo  *t = table_info(ctx, q->target_relid);

		if (t == NULL)
			continue;
		if (q->operation == OBS_OP_INSERT || q->operation == OBS_OP_MERGE)
			t->rows_inserted += q->dml_rows;
		else if (q->operation == OBS_OP_UPDATE)
		{
			t->rows_updated += q->dml_rows;
			t->updated_cols |= q->updated_cols;
		}
	}
	for (int i = 0; i < ctx->ntables; i++)
	{
		TableInfo  *t = &ctx->tables[i];
		Relation	rel = table_open(t->relid, AccessShareLock);
		BlockNumber pages;
		double		allvis;

		estimate_rel_size(rel, NULL, &pages, &t->reltuples, &allvis);
		table_close(rel, AccessShareLock);
		find_tenant(ctx, t);
	}
}

/* ---------- candidates ---------- */

static bool
cand_equal(AdvCandidate *a, AdvCandidate *b)
{
	if (a->relid != b->relid || a->amoid != b->amoid || a->ncols != b->ncols)
		return false;
	for (int i = 0; i < a->ncols; i++)
		if (a->attnums[i] != b->attnums[i] || a->opclass[i] != b->opclass[i] ||
			a->desc[i] != b->desc[i] || !equal(a->exprs[i], b->exprs[i]))
			return false;
	return equal(a->pred, b->pred);
}

/* a key column of the candidate: plain column or expression */
static bool
add_key(AdvCandidate *c, AttrNumber att, Expr *expr, bool desc, Oid opclass)
{
	Oid			type;

	if (c->ncols >= ADV_MAX_COLS)
		return false;
	for (int i = 0; i < c->ncols; i++)
		if ((att != 0 && c->attnums[i] == att) ||
			(att == 0 && c->attnums[i] == 0 && equal(c->exprs[i], expr)))
			return true;		/* already a key */
	type = (att != 0) ? get_atttype(c->relid, att) : exprType((Node *) expr);
	if (!OidIsValid(opclass))
		opclass = GetDefaultOpClass(type, c->amoid);
	if (!OidIsValid(opclass))
		return false;
	c->attnums[c->ncols] = att;
	c->exprs[c->ncols] = (att != 0) ? NULL : expr;
	c->opclass[c->ncols] = opclass;
	c->desc[c->ncols] = desc;
	c->ncols++;
	return true;
}

/*
 * Why the candidate may not become an index (an untrusted function,
 * operator or domain in a key expression or the predicate; trust.c), or
 * NULL.
 */
static char *
cand_untrusted(AdvCandidate *c)
{
	char	   *reason = NULL;

	for (int i = 0; i < c->ncols && reason == NULL; i++)
		if (c->exprs[i] != NULL)
			reason = adv_untrusted_reason((Node *) c->exprs[i], c->relid);
	if (reason == NULL && c->pred != NIL)
		reason = adv_untrusted_reason((Node *) c->pred, c->relid);
	return reason;
}

static void
add_candidate(Ctx *ctx, AdvCandidate *c, int stmt_idx)
{
	ListCell   *lc;
	char	   *reason;

	if (c->ncols == 0)
		return;
	if ((reason = cand_untrusted(c)) != NULL)
	{
		char	   *note = psprintf("%u %s", c->relid, reason);

		foreach(lc, ctx->untrusted)
			if (strcmp((char *) lfirst(lc), note) == 0)
				return;
		ctx->untrusted = lappend(ctx->untrusted, note);
		return;
	}
	foreach(lc, ctx->cands)
	{
		AdvCandidate *o = (AdvCandidate *) lfirst(lc);

		if (cand_equal(o, c))
		{
			o->query_idx = list_append_unique_int(o->query_idx, stmt_idx);
			return;
		}
	}
	c->query_idx = list_make1_int(stmt_idx);
	ctx->cands = lappend(ctx->cands, c);
}

static AdvCandidate *
new_cand(Oid relid, Oid amoid)
{
	AdvCandidate *c = palloc0(sizeof(AdvCandidate));

	c->relid = relid;
	c->amoid = amoid;
	return c;
}

/* the captured predicate matching a re-planned one */
static AdvPred *
captured_pred(AdvQuery *q, Oid relid, AttrNumber att, int cls)
{
	for (int s = 0; s < q->nscans; s++)
		if (q->scans[s].relid == relid)
			for (int p = 0; p < q->scans[s].npreds; p++)
				if (q->scans[s].preds[p].attnum == att &&
					q->scans[s].preds[p].cls == cls)
					return &q->scans[s].preds[p];
	return NULL;
}

/* ORDER BY ... LIMIT keys of the statement that are columns of relid */
static int
query_sort_keys(Query *query, Oid relid, AttrNumber *atts, bool *desc)
{
	ListCell   *lc;
	int			n = 0;

	if (query->limitCount == NULL || query->sortClause == NIL)
		return 0;
	foreach(lc, query->sortClause)
	{
		SortGroupClause *sgc = lfirst_node(SortGroupClause, lc);
		TargetEntry *tle = get_sortgroupclause_tle(sgc, query->targetList);
		Expr	   *e = tle->expr;
		Var		   *v;
		RangeTblEntry *rte;
		Oid			opf,
					opt;
		int16		strat;

		while (e && IsA(e, RelabelType))
			e = ((RelabelType *) e)->arg;
		if (e == NULL || !IsA(e, Var) || n >= ADV_MAX_SORT)
			return 0;
		v = (Var *) e;
		if (v->varlevelsup != 0 || v->varattno <= 0)
			return 0;
		rte = rt_fetch(v->varno, query->rtable);
		if (rte->rtekind != RTE_RELATION || rte->relid != relid)
			return 0;
		if (!get_ordering_op_properties(sgc->sortop, &opf, &opt, &strat))
			return 0;
		atts[n] = v->varattno;
		desc[n] = (strat == BTGreaterStrategyNumber);
		n++;
	}
	return n;
}

/* collect "a.x = b.y" join equalities of a FROM/JOIN tree */
static void
join_equalities(Node *node, List **out)
{
	if (node == NULL)
		return;
	if (IsA(node, FromExpr))
	{
		ListCell   *lc;

		foreach(lc, ((FromExpr *) node)->fromlist)
			join_equalities(lfirst(lc), out);
		join_equalities(((FromExpr *) node)->quals, out);
	}
	else if (IsA(node, JoinExpr))
	{
		join_equalities(((JoinExpr *) node)->larg, out);
		join_equalities(((JoinExpr *) node)->rarg, out);
		join_equalities(((JoinExpr *) node)->quals, out);
	}
	else if (is_andclause(node))
	{
		ListCell   *lc;

		foreach(lc, ((BoolExpr *) node)->args)
			join_equalities(lfirst(lc), out);
	}
	else if (IsA(node, OpExpr) && list_length(((OpExpr *) node)->args) == 2)
		*out = lappend(*out, node);
}

/*
 * Columns of relid that the statement joins on by equality with another
 * table (t.id = c.ticket_id): keys an index needs for a nested loop.
 */
static List *
query_join_columns(Query *query, Oid relid)
{
	List	   *ops = NIL;
	List	   *atts = NIL;
	ListCell   *lc;

	join_equalities((Node *) query->jointree, &ops);
	foreach(lc, ops)
	{
		OpExpr	   *op = lfirst(lc);
		Expr	   *l = linitial(op->args);
		Expr	   *r = lsecond(op->args);
		Var		   *vars[2];

		while (l && IsA(l, RelabelType))
			l = ((RelabelType *) l)->arg;
		while (r && IsA(r, RelabelType))
			r = ((RelabelType *) r)->arg;
		if (!IsA(l, Var) || !IsA(r, Var))
			continue;
		vars[0] = (Var *) l;
		vars[1] = (Var *) r;
		if (vars[0]->varlevelsup != 0 || vars[1]->varlevelsup != 0 ||
			vars[0]->varno == vars[1]->varno || get_oprrest(op->opno) != F_EQSEL)
			continue;
		for (int i = 0; i < 2; i++)
		{
			RangeTblEntry *rte = rt_fetch(vars[i]->varno, query->rtable);

			if (rte->rtekind == RTE_RELATION && rte->relid == relid &&
				vars[i]->varattno > 0)
				atts = list_append_unique_int(atts, vars[i]->varattno);
		}
	}
	return atts;
}

/* expression rewritten to varno 1 (the candidate's convention) */
static Expr *
to_varno1(Expr *e, Index scanrelid)
{
	Expr	   *copy = copyObject(e);

	ChangeVarNodes((Node *) copy, scanrelid, 1, 0);
	return copy;
}

static Oid
pattern_opclass(Oid relid, AttrNumber att)
{
	Oid			type;
	int32		typmod;
	Oid			coll;

	get_atttypetypmodcoll(relid, att, &type, &typmod, &coll);
	if (!OidIsValid(coll) || lc_collate_is_c(coll))
		return InvalidOid;		/* default opclass serves LIKE 'x%' */
	if (type == TEXTOID)
		return get_opclass_oid(BTREE_AM_OID, list_make1(makeString("text_pattern_ops")), true);
	if (type == VARCHAROID)
		return get_opclass_oid(BTREE_AM_OID, list_make1(makeString("varchar_pattern_ops")), true);
	return InvalidOid;
}

/*
 * Candidates for one statement's scan of one table, from the quals of
 * its re-planned scan node (Vars numbered scanrelid).
 */
static void
scan_candidates(Ctx *ctx, int si, Oid relid, Index scanrelid, List *quals)
{
	Stmt	   *s = &ctx->stmts[si];
	TableInfo  *t = table_info(ctx, relid);
	List	   *eq = NIL,
			   *in = NIL,
			   *range = NIL,
			   *like = NIL,
			   *fts = NIL,
			   *fixed = NIL;
	AttrNumber	sort_att[ADV_MAX_SORT];
	bool		sort_desc[ADV_MAX_SORT];
	int			nsort;
	ListCell   *lc;
	AdvCandidate *base;
	AdvCandidate *c;

	if (t == NULL)
		return;
	foreach(lc, quals)
	{
		AdvQual    *q = palloc(sizeof(AdvQual));
		AdvPred    *cp;

		if (!adv_classify_qual((Expr *) lfirst(lc), scanrelid, q))
			continue;
		cp = captured_pred(&s->q, relid, q->attnum, q->cls);
		switch (q->cls)
		{
			case ADV_EQ:
				/* a join equality (PARAM_EXEC) or value: a key column */
				if (IsA(q->colexpr, Var) && q->attnum == t->tenant_att)
					eq = lcons(q, eq);
				else
					eq = lappend(eq, q);
				break;
			case ADV_IN:
				in = lappend(in, q);
				if (cp && (cp->flags & ADV_PF_CONST) && !(cp->flags & ADV_PF_VARIES))
					fixed = lappend(fixed, q);
				break;
			case ADV_ISNULL:
				fixed = lappend(fixed, q);
				break;
			case ADV_RANGE:
				range = lappend(range, q);
				break;
			case ADV_LIKE_PREFIX:
				if (q->like_prefix_known && IsA(q->colexpr, Var))
					like = lappend(like, q);
				break;
			case ADV_FTS:
				fts = lappend(fts, q);
				break;
			default:
				break;
		}
	}
	nsort = query_sort_keys(s->ex.query, relid, sort_att, sort_desc);

	/* equality keys, tenant first (eq is ordered so) */
	base = new_cand(relid, BTREE_AM_OID);
	foreach(lc, eq)
	{
		AdvQual    *q = lfirst(lc);

		if (IsA(q->colexpr, Var))
			add_key(base, q->attnum, NULL, false, InvalidOid);
		else
			add_key(base, 0, to_varno1(q->colexpr, scanrelid), false, InvalidOid);
	}

	/* 1. filter: equality, IN, then one range or LIKE-prefix key */
	c = palloc(sizeof(AdvCandidate));
	memcpy(c, base, sizeof(AdvCandidate));
	foreach(lc, in)
	{
		AdvQual    *q = lfirst(lc);

		if (IsA(q->colexpr, Var))
			add_key(c, q->attnum, NULL, false, InvalidOid);
	}
	if (range != NIL)
	{
		AdvQual    *q = linitial(range);

		if (IsA(q->colexpr, Var))
			add_key(c, q->attnum, NULL, false, InvalidOid);
		else
			add_key(c, 0, to_varno1(q->colexpr, scanrelid), false, InvalidOid);
	}
	else if (like != NIL)
	{
		AdvQual    *q = linitial(like);

		add_key(c, q->attnum, NULL, false, pattern_opclass(relid, q->attnum));
	}
	add_candidate(ctx, c, si);

	/* 1b. joins: equality keys, then the columns joined on */
	{
		List	   *joins = query_join_columns(s->ex.query, relid);

		if (joins != NIL)
		{
			c = palloc(sizeof(AdvCandidate));
			memcpy(c, base, sizeof(AdvCandidate));
			foreach(lc, joins)
				add_key(c, (AttrNumber) lfirst_int(lc), NULL, false, InvalidOid);
			add_candidate(ctx, c, si);
		}
	}

	/* 2. ORDER BY ... LIMIT: equality keys, then the sort keys */
	if (nsort > 0)
	{
		c = palloc(sizeof(AdvCandidate));
		memcpy(c, base, sizeof(AdvCandidate));
		for (int i = 0; i < nsort; i++)
			add_key(c, sort_att[i], NULL, sort_desc[i], InvalidOid);
		add_candidate(ctx, c, si);
	}

	/* 3. partial: the fixed predicates move to WHERE */
	if (fixed != NIL)
	{
		c = new_cand(relid, BTREE_AM_OID);
		foreach(lc, eq)
		{
			AdvQual    *q = lfirst(lc);

			if (IsA(q->colexpr, Var))
				add_key(c, q->attnum, NULL, false, InvalidOid);
		}
		if (nsort > 0)
			for (int i = 0; i < nsort; i++)
				add_key(c, sort_att[i], NULL, sort_desc[i], InvalidOid);
		else if (range != NIL && IsA(((AdvQual *) linitial(range))->colexpr, Var))
			add_key(c, ((AdvQual *) linitial(range))->attnum, NULL, false, InvalidOid);
		foreach(lc, fixed)
		{
			AdvQual    *q = lfirst(lc);

			c->pred = lappend(c->pred, to_varno1(q->clause, scanrelid));
		}
		if (c->ncols > 0)
			add_candidate(ctx, c, si);
	}

	/* 4. full text: GIN, tenant key first through btree_gin */
	foreach(lc, fts)
	{
		AdvQual    *q = lfirst(lc);

		c = new_cand(relid, GIN_AM_OID);
		if (t->tenant_att != InvalidAttrNumber &&
			eq != NIL && IsA(((AdvQual *) linitial(eq))->colexpr, Var) &&
			((AdvQual *) linitial(eq))->attnum == t->tenant_att)
			(void) add_key(c, t->tenant_att, NULL, false, InvalidOid);
		if (IsA(q->colexpr, Var))
			add_key(c, q->attnum, NULL, false, InvalidOid);
		else
			add_key(c, 0, to_varno1(q->colexpr, scanrelid), false, InvalidOid);
		/* a GIN index must contain the full-text key */
		if (c->ncols > 0 && (c->attnums[c->ncols - 1] == q->attnum ||
							 c->attnums[c->ncols - 1] == 0))
			add_candidate(ctx, c, si);
	}
}

/* walk a re-planned plan for table scans */
static void
plan_candidates(Ctx *ctx, int si, PlannedStmt *pstmt, Plan *plan)
{
	Index		scanrelid = 0;
	List	   *quals;
	ListCell   *lc;

	if (plan == NULL)
		return;
	quals = adv_scan_quals(plan, &scanrelid);
	if (scanrelid > 0)
	{
		RangeTblEntry *rte = rt_fetch(scanrelid, pstmt->rtable);

		if (rte->rtekind == RTE_RELATION && rte->relid >= FirstNormalObjectId)
			scan_candidates(ctx, si, rte->relid, scanrelid, quals);
	}
	switch (nodeTag(plan))
	{
		case T_Append:
			foreach(lc, ((Append *) plan)->appendplans)
				plan_candidates(ctx, si, pstmt, lfirst(lc));
			break;
		case T_MergeAppend:
			foreach(lc, ((MergeAppend *) plan)->mergeplans)
				plan_candidates(ctx, si, pstmt, lfirst(lc));
			break;
		case T_SubqueryScan:
			plan_candidates(ctx, si, pstmt, ((SubqueryScan *) plan)->subplan);
			break;
		default:
			break;
	}
	plan_candidates(ctx, si, pstmt, plan->lefttree);
	plan_candidates(ctx, si, pstmt, plan->righttree);
}

/* does an existing valid index already serve the candidate (prefix rule)? */
static bool
served_by_existing(AdvCandidate *c)
{
	Relation	rel = table_open(c->relid, AccessShareLock);
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	bool		served = false;

	foreach(lc, indexes)
	{
		Relation	idx = index_open(lfirst_oid(lc), AccessShareLock);
		Form_pg_index form = idx->rd_index;
		List	   *exprs;
		List	   *pred;
		ListCell   *ei;
		int			flip = -1;
		bool		match = true;

		if (!form->indisvalid || idx->rd_rel->relam != c->amoid ||
			form->indnkeyatts < c->ncols)
		{
			index_close(idx, AccessShareLock);
			continue;
		}
		exprs = RelationGetIndexExpressions(idx);
		pred = RelationGetIndexPredicate(idx);
		ei = list_head(exprs);
		for (int i = 0; i < form->indnkeyatts && match; i++)
		{
			bool		idesc = (idx->rd_indoption[i] & INDOPTION_DESC) != 0;
			Node	   *iexpr = NULL;

			if (form->indkey.values[i] == 0)
			{
				iexpr = lfirst(ei);
				ei = lnext(exprs, ei);
			}
			if (i >= c->ncols)
				continue;
			if (form->indkey.values[i] != c->attnums[i] ||
				(iexpr && !equal(iexpr, c->exprs[i])) ||
				idx->rd_opfamily[i] != get_opclass_family(c->opclass[i]))
				match = false;
			else if (c->amoid == BTREE_AM_OID)
			{
				int			f = (idesc != c->desc[i]) ? 1 : 0;

				if (flip == -1)
					flip = f;
				else if (flip != f)
					match = false;
			}
		}
		if (match && (pred == NIL || equal(pred, c->pred)))
			served = true;
		index_close(idx, AccessShareLock);
		if (served)
			break;
	}
	table_close(rel, AccessShareLock);
	return served;
}

/* rows a partial index would hold: plan SELECT ... WHERE pred */
typedef struct PredRows
{
	AdvCandidate *c;
	double		rows;
} PredRows;

static void
pred_rows(void *arg)
{
	PredRows   *pr = (PredRows *) arg;
	List	   *ctx = deparse_context_for(get_rel_name(pr->c->relid), pr->c->relid);
	char	   *where = deparse_expression((Node *) make_ands_explicit(pr->c->pred),
										   ctx, false, false);
	char	   *sql = psprintf("SELECT 1 FROM ONLY %s.%s WHERE %s",
							   quote_identifier(get_namespace_name(get_rel_namespace(pr->c->relid))),
							   quote_identifier(get_rel_name(pr->c->relid)), where);
	List	   *raw = pg_parse_query(sql);
	List	   *qs = pg_analyze_and_rewrite_fixedparams(linitial_node(RawStmt, raw),
													   sql, NULL, 0, NULL);
	PlannedStmt *p = planner(linitial_node(Query, qs), sql, 0, NULL);

	pr->rows = p->planTree->plan_rows;
}

static bool
cand_touches(AdvCandidate *c, uint64 cols)
{
	for (int i = 0; i < c->ncols; i++)
	{
		if (c->attnums[i] > 0 && c->attnums[i] <= 64 &&
			(cols & (UINT64CONST(1) << (c->attnums[i] - 1))))
			return true;
		if (c->attnums[i] == 0)
		{
			List	   *vars = pull_var_clause((Node *) c->exprs[i], 0);
			ListCell   *lc;

			foreach(lc, vars)
			{
				AttrNumber	a = ((Var *) lfirst(lc))->varattno;

				if (a > 0 && a <= 64 && (cols & (UINT64CONST(1) << (a - 1))))
					return true;
			}
		}
	}
	return false;
}

/* ---------- selection ---------- */

/*
 * Hypothetical indexes chosen so far (on every table: a join's best plan
 * may need an index on each side), plus c, less 'without'.
 */
static List *
hypos_with(Ctx *ctx, Oid relid, AdvCandidate *c, AdvCandidate *without)
{
	List	   *l = NIL;
	ListCell   *lc;

	foreach(lc, ctx->chosen)
	{
		Choice	   *ch = lfirst(lc);

		if (ch->c != without && !ch->c->dropped)
			l = lappend(l, ch->c);
	}
	if (c)
		l = lappend(l, c);
	return l;
}

static bool
stmt_scans(Stmt *s, Oid relid)
{
	for (int i = 0; i < s->q.nscans; i++)
		if (s->q.scans[i].relid == relid)
			return true;
	return false;
}

/*
 * Evaluate c against the chosen set: which statements it helps, the
 * summed benefit; fills ch (when not NULL).
 */
static double
evaluate(Ctx *ctx, AdvCandidate *c, Choice *ch)
{
	List	   *hypos = hypos_with(ctx, c->relid, c, NULL);
	double		benefit = 0;
	double		factor = 1.0 - adv_min_improvement / 100.0;

	for (int i = 0; i < ctx->nstmts; i++)
	{
		Stmt	   *s = &ctx->stmts[i];
		TryArg		t;

		if (!s->ok || !stmt_scans(s, c->relid))
			continue;
		t.s = s;
		t.hypos = hypos;
		t.must_use = c->fakeoid;
		if (!run_guarded(t.s, try_plan, &t))
			continue;
		s->try_cost = t.cost;
		if (t.used && t.cost < s->cur_cost * factor)
		{
			benefit += s->q.calls * (s->cur_cost - t.cost);
			if (ch)
			{
				ch->stmt_idx = lappend_int(ch->stmt_idx, i);
				ch->cost_before += s->cur_cost;
				ch->cost_after += t.cost;
				ch->calls += s->q.calls;
			}
		}
	}
	return benefit;
}

static double
write_penalty(Ctx *ctx, AdvCandidate *c)
{
	TableInfo  *t = table_info(ctx, c->relid);
	double		rows;

	if (t == NULL)
		return 0;
	c->hot_blocking = cand_touches(c, t->updated_cols);
	rows = t->rows_inserted + (c->hot_blocking ? t->rows_updated : 0);
	return rows * random_page_cost;
}

/* does some statement scan both tables? */
static bool
shares_statement(Ctx *ctx, Oid a, Oid b)
{
	if (a == b)
		return true;
	for (int i = 0; i < ctx->nstmts; i++)
		if (ctx->stmts[i].ok && stmt_scans(&ctx->stmts[i], a) &&
			stmt_scans(&ctx->stmts[i], b))
			return true;
	return false;
}

static void
choose(Ctx *ctx)
{
	Oid			last_relid = InvalidOid;

	for (int round = 0; round < ADV_MAX_ROUNDS; round++)
	{
		AdvCandidate *best = NULL;
		double		best_score = 0;
		ListCell   *lc;
		Choice	   *ch;

		foreach(lc, ctx->cands)
		{
			AdvCandidate *c = lfirst(lc);
			double		net;
			double		score;

			if (c->chosen || c->dropped)
				continue;
			/*
			 * Only candidates on tables that share a statement with the last
			 * chosen index's table can have changed.
			 */
			if (round == 0 || shares_statement(ctx, c->relid, last_relid))
			{
				c->benefit = evaluate(ctx, c, NULL);
				c->penalty = write_penalty(ctx, c);
			}
			net = c->benefit - c->penalty;
			ereport(DEBUG1,
					(errmsg_internal("observa advisor: round %d candidate %u on %u: %d keys, benefit %.1f, penalty %.1f, pages %.0f",
									 round, c->fakeoid, c->relid, c->ncols,
									 c->benefit, c->penalty, c->pages)));
			if (c->benefit <= 0 || net <= 0)
				continue;
			score = net / (c->pages * BLCKSZ);
			if (best == NULL || score > best_score)
			{
				best = c;
				best_score = score;
			}
		}
		if (best == NULL)
			break;
		ch = palloc0(sizeof(Choice));
		ch->c = best;
		(void) evaluate(ctx, best, ch);
		best->chosen = true;
		last_relid = best->relid;
		ctx->chosen = lappend(ctx->chosen, ch);
		/* the helped statements now cost what they cost with it */
		{
			ListCell   *li;
			List	   *hypos = hypos_with(ctx, best->relid, NULL, NULL);

			foreach(li, ch->stmt_idx)
			{
				Stmt	   *s = &ctx->stmts[lfirst_int(li)];
				TryArg		t;

				t.s = s;
				t.hypos = hypos;
				t.must_use = InvalidOid;
				if (run_guarded(t.s, try_plan, &t))
					s->cur_cost = Min(s->cur_cost, t.cost);
			}
		}
	}
}

/* is a's key list a prefix of b's (same table, method, predicate)? */
static bool
cand_prefix(AdvCandidate *a, AdvCandidate *b)
{
	if (a == b || a->relid != b->relid || a->amoid != b->amoid ||
		a->ncols > b->ncols || !equal(a->pred, b->pred))
		return false;
	for (int i = 0; i < a->ncols; i++)
		if (a->attnums[i] != b->attnums[i] || a->opclass[i] != b->opclass[i] ||
			a->desc[i] != b->desc[i] || !equal(a->exprs[i], b->exprs[i]))
			return false;
	return true;
}

/*
 * Merge subsumed candidates before costing: a candidate whose keys are a
 * prefix of another's (same table, method and predicate) is served by
 * the wider one, which inherits its statements.
 */
static void
merge_prefixes(Ctx *ctx)
{
	ListCell   *la;

	foreach(la, ctx->cands)
	{
		AdvCandidate *a = lfirst(la);
		ListCell   *lb;

		if (a->dropped)
			continue;
		foreach(lb, ctx->cands)
		{
			AdvCandidate *b = lfirst(lb);

			if (!b->dropped && cand_prefix(a, b))
			{
				a->dropped = true;
				b->query_idx = list_concat_unique_int(b->query_idx, a->query_idx);
				break;
			}
		}
	}
}

/*
 * Drop chosen indexes the others make redundant: when every statement a
 * chosen index helps still costs at most observa.advisor_min_improvement
 * percent more without it, it goes, and each statement is credited to
 * the chosen index its plan then uses.
 */
static void
drop_redundant(Ctx *ctx)
{
	ListCell   *la;
	double		slack = 1.0 + adv_min_improvement / 100.0;

	foreach(la, ctx->chosen)
	{
		Choice	   *a = lfirst(la);
		List	   *hypos = hypos_with(ctx, a->c->relid, NULL, a->c);
		ListCell   *ls;
		bool		redundant = (hypos != NIL);
		double	   *costs = palloc0(sizeof(double) * Max(list_length(a->stmt_idx), 1));
		int			k = 0;

		foreach(ls, a->stmt_idx)
		{
			TryArg		t;
			Stmt	   *s = &ctx->stmts[lfirst_int(ls)];

			if (!redundant)
				break;
			t.s = s;
			t.hypos = hypos;
			t.must_use = InvalidOid;
			if (!run_guarded(t.s, try_plan, &t) || t.cost > s->cur_cost * slack)
				redundant = false;
			costs[k++] = t.cost;
		}
		if (!redundant)
			continue;
		a->c->dropped = true;
		k = 0;
		foreach(ls, a->stmt_idx)
		{
			int			si = lfirst_int(ls);
			Stmt	   *s = &ctx->stmts[si];
			ListCell   *lb;

			s->cur_cost = costs[k++];
			foreach(lb, ctx->chosen)
			{
				Choice	   *b = lfirst(lb);
				TryArg		t;

				if (b->c->dropped || b->c->relid != a->c->relid ||
					list_member_int(b->stmt_idx, si))
					continue;
				t.s = s;
				t.hypos = hypos;
				t.must_use = b->c->fakeoid;
				if (run_guarded(t.s, try_plan, &t) && t.used)
				{
					b->stmt_idx = lappend_int(b->stmt_idx, si);
					b->calls += s->q.calls;
					b->cost_before += s->base_cost;
					b->cost_after += s->cur_cost;
					break;
				}
			}
		}
	}
}

/* ---------- output ---------- */

static char *
opclass_suffix(Oid opclass, Oid type, Oid amoid)
{
	HeapTuple	tup;
	Form_pg_opclass form;
	char	   *result;

	if (opclass == GetDefaultOpClass(type, amoid))
		return "";
	tup = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclass));
	if (!HeapTupleIsValid(tup))
		return "";
	form = (Form_pg_opclass) GETSTRUCT(tup);
	if (OpclassIsVisible(opclass))
		result = psprintf(" %s", quote_identifier(NameStr(form->opcname)));
	else
		result = psprintf(" %s.%s",
						  quote_identifier(get_namespace_name(form->opcnamespace)),
						  quote_identifier(NameStr(form->opcname)));
	ReleaseSysCache(tup);
	return result;
}

/* key texts; index_def; deterministic name */
static char *
render(AdvCandidate *c, Datum **cols_out, char **name_out)
{
	char	   *relname = get_rel_name(c->relid);
	char	   *nspname = get_namespace_name(get_rel_namespace(c->relid));
	List	   *dctx = deparse_context_for(relname, c->relid);
	StringInfoData keys;
	StringInfoData namecols;
	char	   *where = NULL;
	char	   *name;
	Datum	   *cols = palloc(sizeof(Datum) * c->ncols);
	uint32		h;
	char		base[NAMEDATALEN];
	int			len;

	initStringInfo(&keys);
	initStringInfo(&namecols);
	for (int i = 0; i < c->ncols; i++)
	{
		char	   *k;
		Oid			type;

		if (c->attnums[i] != 0)
		{
			k = (char *) quote_identifier(get_attname(c->relid, c->attnums[i], false));
			type = get_atttype(c->relid, c->attnums[i]);
			appendStringInfo(&namecols, "_%s", get_attname(c->relid, c->attnums[i], false));
		}
		else
		{
			k = psprintf("(%s)", deparse_expression((Node *) c->exprs[i], dctx, false, false));
			type = exprType((Node *) c->exprs[i]);
			if (IsA(c->exprs[i], FuncExpr))
				appendStringInfo(&namecols, "_%s", get_func_name(((FuncExpr *) c->exprs[i])->funcid));
			else
				appendStringInfoString(&namecols, "_expr");
		}
		k = psprintf("%s%s%s", k, opclass_suffix(c->opclass[i], type, c->amoid),
					 c->desc[i] ? " DESC" : "");
		cols[i] = CStringGetTextDatum(k);
		appendStringInfo(&keys, "%s%s", i > 0 ? ", " : "", k);
	}
	if (c->pred)
		where = deparse_expression((Node *) make_ands_explicit(c->pred), dctx, false, false);

	h = hash_bytes((const unsigned char *) keys.data, keys.len);
	if (where)
		h ^= hash_bytes((const unsigned char *) where, strlen(where));
	snprintf(base, sizeof(base), "obs_%s%s", relname, namecols.data);
	len = Min((int) strlen(base), NAMEDATALEN - 1 - 10);
	base[len] = '\0';
	/* a plain lower-case identifier whatever the table is called */
	for (char *p = base; *p; p++)
	{
		if (*p >= 'A' && *p <= 'Z')
			*p += 'a' - 'A';
		else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			*p = '_';
	}
	name = psprintf("%s_%08x", base, h);

	*cols_out = cols;
	*name_out = name;
	return psprintf("CREATE INDEX CONCURRENTLY IF NOT EXISTS %s ON %s.%s USING %s (%s)%s%s",
					quote_identifier(name), quote_identifier(nspname),
					quote_identifier(relname),
					c->amoid == BTREE_AM_OID ? "btree" : "gin",
					keys.data, where ? " WHERE " : "", where ? where : "");
}

static char *
reason_text(Ctx *ctx, Choice *ch)
{
	AdvCandidate *c = ch->c;
	TableInfo  *t = table_info(ctx, c->relid);
	StringInfoData r;
	double		pct = ch->cost_before > 0 ?
		100.0 * (ch->cost_before - ch->cost_after) / ch->cost_before : 0;

	initStringInfo(&r);
	appendStringInfo(&r, "%s index serving %d statement%s (about %.0f execution%s)",
					 c->amoid == GIN_AM_OID ? "GIN full-text" :
					 c->pred ? "Partial" :
					 c->tenant_leading ? "Tenant-leading" : "Composite",
					 list_length(ch->stmt_idx), list_length(ch->stmt_idx) == 1 ? "" : "s",
					 ch->calls, rint(ch->calls) == 1 ? "" : "s");
	appendStringInfo(&r, "; planner cost per execution %.1f -> %.1f (%.0f%% less)",
					 ch->cost_before, ch->cost_after, pct);
	if (t && t->tenant_detected && t->tenant_att != InvalidAttrNumber)
		appendStringInfo(&r, "; tenant key %s detected from the workload (equality filter in %.0f%% of executions, about %.0f distinct values)",
						 quote_identifier(get_attname(c->relid, t->tenant_att, false)),
						 100.0 * t->tenant_share, t->tenant_distinct);
	if (c->hot_blocking)
		appendStringInfoString(&r, "; indexes a column the workload updates, so those UPDATEs will no longer be HOT");
	else if (c->penalty > 0)
		appendStringInfo(&r, "; write cost on this table weighed in (%.0f)", c->penalty);
	appendStringInfoChar(&r, '.');
	return r.data;
}

/* result columns of recommend_indexes(): 1.0, and 1.1 (+ replaces) */
#define RECOMMEND_COLS_1_0	13
#define RECOMMEND_COLS_1_1	14

typedef struct OutRow
{
	char	   *sortkey;
	Datum		values[RECOMMEND_COLS_1_1];
	bool		nulls[RECOMMEND_COLS_1_1];
} OutRow;

static int
outrow_cmp(const void *a, const void *b)
{
	return strcmp(((const OutRow *) a)->sortkey, ((const OutRow *) b)->sortkey);
}

/* one NOTICE per candidate dropped for an untrusted function (add_candidate) */
static void
report_untrusted(Ctx *ctx)
{
	ListCell   *lc;

	foreach(lc, ctx->untrusted)
	{
		char	   *note = (char *) lfirst(lc);
		char	   *reason = strchr(note, ' ') + 1;
		Oid			relid = (Oid) strtoul(note, NULL, 10);
		char	   *relname = get_rel_name(relid);

		if (relname == NULL)
			continue;
		ereport(NOTICE,
				(errmsg("observa advisor skipped a candidate index on table %s",
						quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												   relname)),
				 errdetail("Its key or predicate uses %s.", reason),
				 errhint("An index runs its functions for every row written to the table; observa recommends only functions, operators and domains owned by a superuser or by the table's owner.")));
	}
}

/* copy the database's captured statements */
static void
snapshot(Ctx *ctx)
{
	int			n = 0;

	ctx->stmts = palloc0(sizeof(Stmt) * adv_shared->max_queries);
	OBS_LWLOCK_ACQUIRE(adv_lock_id, &adv_shared->lock, LW_SHARED);
	for (int i = 0; i < adv_shared->max_queries; i++)
	{
		AdvQuery   *q = &adv_shared->queries[i];

		if (!q->used || q->dbid != MyDatabaseId)
			continue;
		OBS_SPIN_ACQUIRE(adv_lock_id, &q->mutex);
		memcpy(&ctx->stmts[n].q, q, sizeof(AdvQuery));
		SpinLockRelease(&q->mutex);
		n++;
	}
	LWLockRelease(&adv_shared->lock);
	ctx->nstmts = n;
}

/* regclass[] of the existing indexes a recommended index replaces */
static Datum
replaces_array(AdvCandidate *c)
{
	List	   *oids = adv_replaced_indexes(c);
	Datum	   *elems = palloc(sizeof(Datum) * Max(list_length(oids), 1));
	ListCell   *lc;
	int			n = 0;

	foreach(lc, oids)
		elems[n++] = ObjectIdGetDatum(lfirst_oid(lc));
	return PointerGetDatum(construct_array(elems, n, REGCLASSOID, sizeof(Oid),
										   true, TYPALIGN_INT));
}

/*
 * One body for both API versions: ncols is the result's column count of
 * the SQL declaration it serves (RECOMMEND_COLS_1_0 or _1_1).
 */
static Datum
recommend_indexes_internal(FunctionCallInfo fcinfo, int ncols)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Ctx			ctx;
	ListCell   *lc;
	int			k = 0;
	OutRow	   *rows;
	int			nrows = 0;

	obs_require_preload();
	obs_init_srf(fcinfo, ncols);
	adv_lock_attach();
	memset(&ctx, 0, sizeof(ctx));

	snapshot(&ctx);
	for (int i = 0; i < ctx.nstmts; i++)
	{
		Stmt	   *s = &ctx.stmts[i];

		if (s->q.example_len > 0 && s->q.nscans > 0 &&
			(s->q.operation == OBS_OP_SELECT || s->q.operation == OBS_OP_UPDATE ||
			 s->q.operation == OBS_OP_DELETE))
		{
			s->search_path = adv_example_search_path(s->q.example, s->q.example_len);
			(void) run_guarded(s, prepare_stmt, s);
		}
	}
	collect_tables(&ctx);
	for (int i = 0; i < ctx.nstmts; i++)
		if (ctx.stmts[i].ok)
			plan_candidates(&ctx, i, ctx.stmts[i].base, ctx.stmts[i].base->planTree);

	merge_prefixes(&ctx);

	/* prune, size, number */
	foreach(lc, ctx.cands)
	{
		AdvCandidate *c = lfirst(lc);
		TableInfo  *t = table_info(&ctx, c->relid);
		double		tuples = t ? t->reltuples : 0;

		if (c->dropped)
			continue;
		if (t == NULL || served_by_existing(c))
		{
			c->dropped = true;
			continue;
		}
		c->tenant_leading = (t->tenant_att != InvalidAttrNumber &&
							 c->attnums[0] == t->tenant_att);
		if (c->pred)
		{
			PredRows	pr;

			pr.c = c;
			pr.rows = tuples;
			(void) run_guarded(&ctx.stmts[linitial_int(c->query_idx)],
							   pred_rows, &pr);
			tuples = pr.rows;
		}
		adv_estimate_size(c, tuples);
		c->fakeoid = ADV_FAKE_OID_BASE + k++;
	}

	ereport(DEBUG1,
			(errmsg_internal("observa advisor: %d statements, %d tables, %d candidates",
							 ctx.nstmts, ctx.ntables, list_length(ctx.cands))));
	choose(&ctx);
	drop_redundant(&ctx);
	report_untrusted(&ctx);

	rows = palloc0(sizeof(OutRow) * Max(list_length(ctx.chosen), 1));
	foreach(lc, ctx.chosen)
	{
		Choice	   *ch = lfirst(lc);
		AdvCandidate *c = ch->c;
		TableInfo  *t = table_info(&ctx, c->relid);
		OutRow	   *row;
		Datum	   *cols;
		Datum	   *qids;
		char	   *name;
		char	   *def;
		ListCell   *li;
		int			nq = 0;

		if (c->dropped)
			continue;
		row = &rows[nrows++];
		def = render(c, &cols, &name);
		qids = palloc(sizeof(Datum) * Max(list_length(ch->stmt_idx), 1));
		foreach(li, ch->stmt_idx)
			qids[nq++] = Int64GetDatum((int64) ctx.stmts[lfirst_int(li)].q.queryid);

		row->values[0] = CStringGetTextDatum(get_namespace_name(get_rel_namespace(c->relid)));
		row->values[1] = CStringGetTextDatum(get_rel_name(c->relid));
		row->values[2] = PointerGetDatum(construct_array(cols, c->ncols, TEXTOID, -1, false, TYPALIGN_INT));
		row->values[3] = CStringGetTextDatum(def);
		if (t && t->tenant_att != InvalidAttrNumber)
			row->values[4] = CStringGetTextDatum(get_attname(c->relid, t->tenant_att, false));
		else
			row->nulls[4] = true;
		row->values[5] = BoolGetDatum(c->tenant_leading);
		row->values[6] = Float8GetDatum(ch->cost_before);
		row->values[7] = Float8GetDatum(ch->cost_after);
		row->values[8] = Float8GetDatum(ch->cost_before > 0 ?
										rint(1000.0 * (ch->cost_before - ch->cost_after) / ch->cost_before) / 10.0 : 0);
		row->values[9] = Int64GetDatum((int64) (c->pages * BLCKSZ));
		row->values[10] = PointerGetDatum(construct_array(qids, nq, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		row->values[11] = Int64GetDatum((int64) rint(ch->calls));
		row->values[12] = CStringGetTextDatum(reason_text(&ctx, ch));
		if (ncols > RECOMMEND_COLS_1_0)
			row->values[13] = replaces_array(c);
		row->sortkey = psprintf("%s.%s %s", get_namespace_name(get_rel_namespace(c->relid)),
								get_rel_name(c->relid), def);
	}
	qsort(rows, nrows, sizeof(OutRow), outrow_cmp);
	for (int i = 0; i < nrows; i++)
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc,
							 rows[i].values, rows[i].nulls);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(observa_recommend_indexes);
PG_FUNCTION_INFO_V1(observa_recommend_indexes_1_1);

/* 1.0's recommend_indexes(): 13 columns */
Datum
observa_recommend_indexes(PG_FUNCTION_ARGS)
{
	return recommend_indexes_internal(fcinfo, RECOMMEND_COLS_1_0);
}

/* 1.1's recommend_indexes(): 1.0's columns plus replaces regclass[] */
Datum
observa_recommend_indexes_1_1(PG_FUNCTION_ARGS)
{
	return recommend_indexes_internal(fcinfo, RECOMMEND_COLS_1_1);
}

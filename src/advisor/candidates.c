/*-------------------------------------------------------------------------
 *
 * candidates.c
 *		Index advisor: candidate indexes for each captured statement, and
 *		the rules that order their keys (docs/advisor.md explains them with
 *		examples).
 *
 * For a statement's scan of a table (its re-planned plan, every tenant
 * end) the classified quals are sorted into:
 *	- the tenant key: an equality or IN on it, or a join that supplies it
 *	  at run time (a parameterized inner scan);
 *	- equality and IN columns of many distinct values (high cardinality)
 *	  and of few (low cardinality, see adv_low_card);
 *	- one range or LIKE-prefix column, the ORDER BY ... LIMIT keys, the
 *	  columns joined on, full-text predicates;
 *	- fixed predicates: an IN list or IS NULL with always the same
 *	  constants, or "low-cardinality column = constant" together with
 *	  ORDER BY ... LIMIT.
 * Key order: the tenant key first; then high-cardinality equality (and IN)
 * columns; then the range, sort or join columns; low-cardinality columns
 * last.  A low-cardinality column never leads an index and never precedes
 * a range or sort column.  Candidates:
 *	filter   tenant, high eq, high IN, range | LIKE prefix, low eq, low IN
 *	join     tenant, high eq, joined columns, low eq
 *	sort     tenant, high eq, ORDER BY keys (DESC as asked)
 *	partial  tenant, high eq, ORDER BY keys | range  WHERE fixed predicates
 *	GIN      (tenant through btree_gin), full-text expression
 * Identical candidates of different statements are one candidate, and a
 * candidate whose keys are a prefix of another's is merged into it.
 *
 * Everything runs in the calling backend; planning of predicates runs
 * through the caller's guard (recommend.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/transam.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "commands/defrem.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/planner.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteManip.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/pg_locale.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"

#include "recommend.h"

/*
 * Is the column of few distinct values?  Judged from pg_statistic against
 * the table's tenant key: fewer distinct values than the tenant key, or a
 * most common value more frequent than the tenant key's most common
 * value.  Without a tenant key: fewer than 10 distinct values, or one
 * value in more than half of the rows.  The tenant key itself and columns
 * without statistics are not.
 */
bool
adv_low_card(TableInfo *t, AttrNumber att)
{
	AdvColStats cs;
	bool		low = false;

	if (att <= 0 || att == t->tenant_att)
		return false;
	if (bms_is_member(att, t->judged))
		return bms_is_member(att, t->low_card);
	if (adv_column_stats(t->relid, att, t->partitioned, t->reltuples, false, &cs))
	{
		if (t->tenant_att != InvalidAttrNumber && t->tenant_stats.valid)
			low = cs.ndistinct < t->tenant_stats.ndistinct ||
				cs.top_freq > t->tenant_stats.top_freq;
		else
			low = cs.ndistinct < 10 || cs.top_freq > 0.5;
	}
	t->judged = bms_add_member(t->judged, att);
	if (low)
		t->low_card = bms_add_member(t->low_card, att);
	return low;
}

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

/*
 * GetDefaultOpClass, remembered per (type, access method) during one run
 * (adv_forget_opclasses starts each run afresh): it scans pg_opclass, and
 * a run asks thousands of times.
 */
static struct
{
	Oid			type;
	Oid			amoid;
	Oid			opclass;
}			opclass_cache[32];
static int	opclass_cached = 0;

void
adv_forget_opclasses(void)
{
	opclass_cached = 0;
}

static Oid
default_opclass(Oid type, Oid amoid)
{
	int			n = opclass_cached;

	for (int i = 0; i < n; i++)
		if (opclass_cache[i].type == type && opclass_cache[i].amoid == amoid)
			return opclass_cache[i].opclass;
	if (n == lengthof(opclass_cache))
		n = 0;
	opclass_cache[n].type = type;
	opclass_cache[n].amoid = amoid;
	opclass_cache[n].opclass = GetDefaultOpClass(type, amoid);
	opclass_cached = n + 1;
	return opclass_cache[n].opclass;
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
		opclass = default_opclass(type, c->amoid);
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
		if (rte->rtekind != RTE_RELATION || adv_partition_root(rte->relid) != relid)
			return 0;
		if (!get_ordering_op_properties(sgc->sortop, &opf, &opt, &strat))
			return 0;
		atts[n] = adv_map_attnum(rte->relid, relid, v->varattno);
		if (atts[n] == InvalidAttrNumber)
			return 0;
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
List *
adv_query_join_columns(Query *query, Oid relid)
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

			if (rte->rtekind == RTE_RELATION && vars[i]->varattno > 0 &&
				adv_partition_root(rte->relid) == relid)
			{
				AttrNumber	a = adv_map_attnum(rte->relid, relid, vars[i]->varattno);

				if (a != InvalidAttrNumber)
					atts = list_append_unique_int(atts, a);
			}
		}
	}
	return atts;
}/* expression rewritten to varno 1 (the candidate's convention) */
static Expr *
to_varno1(Expr *e, Index scanrelid, Oid scanned, Oid table)
{
	Expr	   *copy = copyObject(e);

	ChangeVarNodes((Node *) copy, scanrelid, 1, 0);
	return (Expr *) adv_map_vars((Node *) copy, scanned, table);
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

/* the quals of one scan, sorted by role (see the header comment) */
typedef struct KeyPlan
{
	TableInfo  *t;
	Oid			scanned;		/* the relation scanned (a partition, maybe) */
	Index		scanrelid;
	AdvQual    *tenant;			/* equality or IN on the tenant key */
	bool		tenant_joined;	/* ... or a join supplies it */
	List	   *eq_hi,
			   *eq_lo,
			   *in_hi,
			   *in_lo,
			   *range,
			   *like,
			   *fts,
			   *fixed,			/* clauses a partial index can hold */
			   *fixed_eq;		/* low-card = constant (with ORDER BY ... LIMIT) */
	List	   *joins_hi,		/* ints: columns joined on */
			   *joins_lo;
	int			nsort;
	AttrNumber	sort_att[ADV_MAX_SORT];
	bool		sort_desc[ADV_MAX_SORT];
} KeyPlan;

/* the columns a statement refers to on a table (for adv_relevant) */
static void
note_ref(Stmt *s, Oid relid, AttrNumber att)
{
	ListCell   *lc;
	StmtRefs   *r;

	if (att <= 0)
		return;
	foreach(lc, s->refs)
	{
		r = lfirst(lc);
		if (r->relid == relid)
		{
			r->cols = bms_add_member(r->cols, att);
			return;
		}
	}
	r = palloc0(sizeof(StmtRefs));
	r->relid = relid;
	r->cols = bms_make_singleton(att);
	s->refs = lappend(s->refs, r);
}

/* is the classified qual's value always the same literal? */
static bool
always_same_constant(Stmt *s, Oid relid, AdvQual *q, AttrNumber att)
{
	AdvPred    *cp = captured_pred(&s->q, relid, att, q->cls);

	return q->is_const && cp && (cp->flags & ADV_PF_CONST) &&
		!(cp->flags & ADV_PF_VARIES);
}

/* sort one classified qual into the key plan */
static void
plan_qual(Stmt *s, KeyPlan *kp, AdvQual *q)
{
	TableInfo  *t = kp->t;
	bool		var = IsA(q->colexpr, Var);
	bool		low = var && adv_low_card(t, q->attnum);

	switch (q->cls)
	{
		case ADV_EQ:
			if (var && q->attnum == t->tenant_att)
			{
				if (kp->tenant == NULL)
					kp->tenant = q;
			}
			else if (low)
			{
				kp->eq_lo = lappend(kp->eq_lo, q);
				if (always_same_constant(s, t->relid, q, q->attnum))
					kp->fixed_eq = lappend(kp->fixed_eq, q);
			}
			else
				kp->eq_hi = lappend(kp->eq_hi, q);
			break;
		case ADV_IN:
			if (!var)
				break;
			if (q->attnum == t->tenant_att)
			{
				if (kp->tenant == NULL)
					kp->tenant = q;
				break;
			}
			if (low)
				kp->in_lo = lappend(kp->in_lo, q);
			else
				kp->in_hi = lappend(kp->in_hi, q);
			if (always_same_constant(s, t->relid, q, q->attnum))
				kp->fixed = lappend(kp->fixed, q);
			break;
		case ADV_ISNULL:
			kp->fixed = lappend(kp->fixed, q);
			break;
		case ADV_RANGE:
			kp->range = lappend(kp->range, q);
			break;
		case ADV_LIKE_PREFIX:
			if (q->like_prefix_known && var)
				kp->like = lappend(kp->like, q);
			break;
		case ADV_FTS:
			kp->fts = lappend(kp->fts, q);
			break;
		default:
			break;
	}
}

/* key of a classified qual: its column, or its expression (varno 1) */
static bool
add_qual_key(KeyPlan *kp, AdvCandidate *c, AdvQual *q, bool desc, Oid opclass)
{
	if (IsA(q->colexpr, Var))
		return add_key(c, q->attnum, NULL, desc, opclass);
	return add_key(c, 0, to_varno1(q->colexpr, kp->scanrelid, kp->scanned,
								   kp->t->relid), desc, opclass);
}

static void
add_qual_keys(KeyPlan *kp, AdvCandidate *c, List *quals)
{
	ListCell   *lc;

	foreach(lc, quals)
		(void) add_qual_key(kp, c, lfirst(lc), false, InvalidOid);
}

static void
add_att_keys(AdvCandidate *c, List *atts)
{
	ListCell   *lc;

	foreach(lc, atts)
		(void) add_key(c, (AttrNumber) lfirst_int(lc), NULL, false, InvalidOid);
}

/* a new candidate led by the tenant key when the statement has one */
static AdvCandidate *
led_cand(KeyPlan *kp)
{
	AdvCandidate *c = new_cand(kp->t->relid, BTREE_AM_OID);

	if (kp->tenant || kp->tenant_joined)
		(void) add_key(c, kp->t->tenant_att, NULL, false, InvalidOid);
	return c;
}

static void
add_sort_keys(KeyPlan *kp, AdvCandidate *c)
{
	for (int i = 0; i < kp->nsort; i++)
		(void) add_key(c, kp->sort_att[i], NULL, kp->sort_desc[i], InvalidOid);
}

/* keep a candidate unless a low-cardinality column would lead it */
static void
offer(Ctx *ctx, KeyPlan *kp, AdvCandidate *c, int si)
{
	if (c->ncols == 0)
		return;
	if (c->attnums[0] != 0 && adv_low_card(kp->t, c->attnums[0]))
		return;
	add_candidate(ctx, c, si);
}

/* filter: tenant, high eq, high IN, range | LIKE prefix, low eq, low IN */
static void
filter_candidate(Ctx *ctx, KeyPlan *kp, int si)
{
	AdvCandidate *c = led_cand(kp);

	add_qual_keys(kp, c, kp->eq_hi);
	add_qual_keys(kp, c, kp->in_hi);
	if (kp->range != NIL)
		(void) add_qual_key(kp, c, linitial(kp->range), false, InvalidOid);
	else if (kp->like != NIL)
	{
		AdvQual    *q = linitial(kp->like);

		(void) add_key(c, q->attnum, NULL, false,
					   pattern_opclass(kp->t->relid, q->attnum));
	}
	add_qual_keys(kp, c, kp->eq_lo);
	add_qual_keys(kp, c, kp->in_lo);
	offer(ctx, kp, c, si);
}

/* join: tenant, high eq, joined columns, low eq */
static void
join_candidate(Ctx *ctx, KeyPlan *kp, int si)
{
	AdvCandidate *c;

	if (kp->joins_hi == NIL && kp->joins_lo == NIL)
		return;
	c = led_cand(kp);
	add_qual_keys(kp, c, kp->eq_hi);
	add_att_keys(c, kp->joins_hi);
	add_qual_keys(kp, c, kp->eq_lo);
	add_att_keys(c, kp->joins_lo);
	offer(ctx, kp, c, si);
}

/*
 * ORDER BY ... LIMIT: tenant, high eq, sort keys.  (Low-cardinality
 * filters are not appended: the prefix rule would then fold the plain
 * ordered index of another statement into this wider one.)
 */
static void
sort_candidate(Ctx *ctx, KeyPlan *kp, int si)
{
	AdvCandidate *c;

	if (kp->nsort == 0)
		return;
	c = led_cand(kp);
	add_qual_keys(kp, c, kp->eq_hi);
	add_sort_keys(kp, c);
	offer(ctx, kp, c, si);
}

/*
 * partial: the fixed predicates move to WHERE; the keys are the tenant,
 * high eq, then the sort keys (or the range column).
 */
static void
partial_candidate(Ctx *ctx, KeyPlan *kp, int si)
{
	List	   *fixed = kp->fixed;
	AdvCandidate *c;
	ListCell   *lc;

	if (kp->nsort > 0)
		fixed = list_concat_copy(fixed, kp->fixed_eq);
	if (fixed == NIL)
		return;
	c = led_cand(kp);
	add_qual_keys(kp, c, kp->eq_hi);
	if (kp->nsort > 0)
		add_sort_keys(kp, c);
	else if (kp->range != NIL)
		(void) add_qual_key(kp, c, linitial(kp->range), false, InvalidOid);
	foreach(lc, fixed)
	{
		AdvQual    *q = lfirst(lc);

		c->pred = lappend(c->pred, to_varno1(q->clause, kp->scanrelid,
											 kp->scanned, kp->t->relid));
	}
	offer(ctx, kp, c, si);
}

/* full text: GIN, tenant key first through btree_gin */
static void
gin_candidates(Ctx *ctx, KeyPlan *kp, int si)
{
	ListCell   *lc;

	foreach(lc, kp->fts)
	{
		AdvQual    *q = lfirst(lc);
		AdvCandidate *c = new_cand(kp->t->relid, GIN_AM_OID);

		if (kp->tenant && kp->tenant->cls == ADV_EQ)
			(void) add_key(c, kp->t->tenant_att, NULL, false, InvalidOid);
		(void) add_qual_key(kp, c, q, false, InvalidOid);
		/* a GIN index must contain the full-text key */
		if (c->ncols > 0 && (c->attnums[c->ncols - 1] == q->attnum ||
							 c->attnums[c->ncols - 1] == 0))
			add_candidate(ctx, c, si);
	}
}

/* the columns joined on, by role; and the statement's references */
static void
plan_joins(Stmt *s, KeyPlan *kp)
{
	List	   *joins = adv_query_join_columns(s->ex.query, kp->t->relid);
	ListCell   *lc;

	foreach(lc, joins)
	{
		AttrNumber	a = (AttrNumber) lfirst_int(lc);
		bool		known = false;
		ListCell   *lq;

		note_ref(s, kp->t->relid, a);
		if (a == kp->t->tenant_att)
		{
			kp->tenant_joined = true;
			continue;
		}
		foreach(lq, kp->eq_hi)
			known |= (((AdvQual *) lfirst(lq))->attnum == a);
		foreach(lq, kp->eq_lo)
			known |= (((AdvQual *) lfirst(lq))->attnum == a);
		if (known)
			continue;
		if (adv_low_card(kp->t, a))
			kp->joins_lo = lappend_int(kp->joins_lo, a);
		else
			kp->joins_hi = lappend_int(kp->joins_hi, a);
	}
}

/*
 * Candidates for one statement's scan of one table (a partition of it,
 * maybe), from the quals of its re-planned scan node (Vars numbered
 * scanrelid, the scanned relation's columns).
 */
static void
scan_candidates(Ctx *ctx, int si, Oid scanned, Index scanrelid, List *quals)
{
	Stmt	   *s = &ctx->stmts[si];
	Oid			relid = adv_partition_root(scanned);
	KeyPlan		kp;
	ListCell   *lc;

	memset(&kp, 0, sizeof(kp));
	kp.t = adv_table(ctx, relid);
	if (kp.t == NULL)
		return;
	kp.scanned = scanned;
	kp.scanrelid = scanrelid;
	foreach(lc, quals)
	{
		AdvQual    *q = palloc(sizeof(AdvQual));

		if (!adv_classify_qual((Expr *) lfirst(lc), scanrelid, q))
			continue;
		q->attnum = adv_map_attnum(scanned, relid, q->attnum);
		if (q->attnum == InvalidAttrNumber)
			continue;
		if (IsA(q->colexpr, Var))
		{
			Var		   *v = (Var *) copyObject(q->colexpr);

			v->varattno = q->attnum;
			q->colexpr = (Expr *) v;
		}
		note_ref(s, relid, q->attnum);
		plan_qual(s, &kp, q);
	}
	kp.nsort = query_sort_keys(s->ex.query, relid, kp.sort_att, kp.sort_desc);
	for (int i = 0; i < kp.nsort; i++)
		note_ref(s, relid, kp.sort_att[i]);
	plan_joins(s, &kp);

	filter_candidate(ctx, &kp, si);
	join_candidate(ctx, &kp, si);
	sort_candidate(ctx, &kp, si);
	partial_candidate(ctx, &kp, si);
	gin_candidates(ctx, &kp, si);
}

/* walk a re-planned plan for table scans */
void
adv_plan_candidates(Ctx *ctx, int si, PlannedStmt *pstmt, Plan *plan)
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
				adv_plan_candidates(ctx, si, pstmt, lfirst(lc));
			break;
		case T_MergeAppend:
			foreach(lc, ((MergeAppend *) plan)->mergeplans)
				adv_plan_candidates(ctx, si, pstmt, lfirst(lc));
			break;
		case T_SubqueryScan:
			adv_plan_candidates(ctx, si, pstmt, ((SubqueryScan *) plan)->subplan);
			break;
		default:
			break;
	}
	adv_plan_candidates(ctx, si, pstmt, plan->lefttree);
	adv_plan_candidates(ctx, si, pstmt, plan->righttree);
}

/* does an existing valid index already serve the candidate (prefix rule)? */
bool
adv_served_by_existing(AdvCandidate *c)
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
	char	   *sql = psprintf("SELECT 1 FROM %s%s.%s WHERE %s",
							   get_rel_relkind(pr->c->relid) == RELKIND_PARTITIONED_TABLE ?
							   "" : "ONLY ",
							   quote_identifier(get_namespace_name(get_rel_namespace(pr->c->relid))),
							   quote_identifier(get_rel_name(pr->c->relid)), where);
	List	   *raw = pg_parse_query(sql);
	List	   *qs = pg_analyze_and_rewrite_fixedparams(linitial_node(RawStmt, raw),
													   sql, NULL, 0, NULL);
	PlannedStmt *p = planner(linitial_node(Query, qs), sql, 0, NULL);

	pr->rows = p->planTree->plan_rows;
}

/* key and predicate columns (attnums 1..64) of a candidate */
uint64
adv_cand_columns(AdvCandidate *c)
{
	uint64		cols = 0;
	List	   *vars = pull_var_clause((Node *) c->pred, 0);
	ListCell   *lc;

	for (int i = 0; i < c->ncols; i++)
	{
		if (c->attnums[i] != 0)
			vars = lappend(vars, makeVar(1, c->attnums[i], InvalidOid, -1, InvalidOid, 0));
		else
			vars = list_concat(vars, pull_var_clause((Node *) c->exprs[i], 0));
	}
	foreach(lc, vars)
	{
		AttrNumber	a = ((Var *) lfirst(lc))->varattno;

		if (a > 0 && a <= 64)
			cols |= UINT64CONST(1) << (a - 1);
	}
	return cols;
}

/*
 * Does the candidate use one of the columns (a bit mask of attnums
 * 1..64) in a key or its predicate?  An UPDATE setting such a column
 * cannot be HOT.
 */
bool
adv_cand_touches(AdvCandidate *c, uint64 cols)
{
	return (adv_cand_columns(c) & cols) != 0;
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
void
adv_merge_prefixes(Ctx *ctx)
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

/* the column (attnum) of a key: the column, or the one Var of an expression */
static AttrNumber
key_column(AdvCandidate *c, int i)
{
	List	   *vars;

	if (c->attnums[i] != 0)
		return c->attnums[i];
	vars = pull_var_clause((Node *) c->exprs[i], 0);
	return vars != NIL ? ((Var *) linitial(vars))->varattno : InvalidAttrNumber;
}

/* range and ORDER BY ... LIMIT columns a statement has on a table */
static Bitmapset *
order_columns(Stmt *s, Oid relid)
{
	Bitmapset  *cols = NULL;
	AttrNumber	atts[ADV_MAX_SORT];
	bool		desc[ADV_MAX_SORT];
	int			n = s->ok ? query_sort_keys(s->ex.query, relid, atts, desc) : 0;

	for (int i = 0; i < n; i++)
		cols = bms_add_member(cols, atts[i]);
	for (int sc = 0; sc < s->q.nscans; sc++)
		if (s->q.scans[sc].relid == relid)
			for (int p = 0; p < s->q.scans[sc].npreds; p++)
				if (s->q.scans[sc].preds[p].cls == ADV_RANGE &&
					s->q.scans[sc].preds[p].attnum > 0)
					cols = bms_add_member(cols, s->q.scans[sc].preds[p].attnum);
	return cols;
}

/*
 * The key-order rule over the statements an index serves: no
 * low-cardinality key leads, and none precedes a range or sort column of
 * one of them.
 */
bool
adv_key_order_ok(Ctx *ctx, AdvCandidate *c, List *stmt_idx)
{
	TableInfo  *t = adv_table(ctx, c->relid);
	ListCell   *lc;

	if (t == NULL || c->amoid != BTREE_AM_OID || c->ncols == 0)
		return true;
	if (adv_low_card(t, key_column(c, 0)))
		return false;
	foreach(lc, stmt_idx)
	{
		Bitmapset  *order = order_columns(&ctx->stmts[lfirst_int(lc)], c->relid);
		bool		low_seen = false;

		for (int i = 0; i < c->ncols; i++)
		{
			AttrNumber	a = key_column(c, i);

			if (low_seen && bms_is_member(a, order))
				return false;
			if (c->attnums[i] != 0 && adv_low_card(t, a))
				low_seen = true;
		}
	}
	return true;
}

/*
 * Can the statement use the candidate at all?  It must refer to the
 * candidate's first key on the table, and to its second key (or to a
 * column of its predicate) when it has one.  Statements the candidate was
 * built for always can.  This keeps costing to the statements that
 * matter: a run plans each candidate only with them.
 */
bool
adv_relevant(Stmt *s, AdvCandidate *c)
{
	StmtRefs   *refs = NULL;
	ListCell   *lc;

	foreach(lc, s->refs)
		if (((StmtRefs *) lfirst(lc))->relid == c->relid)
			refs = lfirst(lc);
	if (refs == NULL)
		return false;
	if (!bms_is_member(key_column(c, 0), refs->cols))
		return false;
	if (c->ncols == 1 || bms_is_member(key_column(c, 1), refs->cols))
		return true;
	if (c->pred != NIL)
	{
		List	   *vars = pull_var_clause((Node *) c->pred, 0);

		foreach(lc, vars)
			if (bms_is_member(((Var *) lfirst(lc))->varattno, refs->cols))
				return true;
	}
	return false;
}

/*
 * One composite for two candidates of a table: a's keys, then b's keys a
 * lacks.  When their predicates differ the composite is a full index, and
 * the predicates' columns become trailing keys (so it can still filter on
 * them).  NULL when it would have too many keys.
 */
AdvCandidate *
adv_merge_keys(AdvCandidate *a, AdvCandidate *b)
{
	AdvCandidate *m;

	if (a->relid != b->relid || a->amoid != BTREE_AM_OID || b->amoid != BTREE_AM_OID)
		return NULL;
	m = new_cand(a->relid, BTREE_AM_OID);
	for (int i = 0; i < a->ncols; i++)
		if (!add_key(m, a->attnums[i], a->exprs[i], a->desc[i], a->opclass[i]))
			return NULL;
	for (int i = 0; i < b->ncols; i++)
		if (!add_key(m, b->attnums[i], b->exprs[i], b->desc[i], b->opclass[i]))
			return NULL;
	if (equal(a->pred, b->pred))
		m->pred = copyObject(a->pred);
	else
	{
		List	   *vars = list_concat(pull_var_clause((Node *) a->pred, 0),
									   pull_var_clause((Node *) b->pred, 0));
		ListCell   *lc;

		foreach(lc, vars)
			if (!add_key(m, ((Var *) lfirst(lc))->varattno, NULL, false, InvalidOid))
				return NULL;
	}
	m->query_idx = list_concat_unique_int(list_copy(a->query_idx), b->query_idx);
	return m;
}

/* rows a partial index holds, planned in the statement's sandbox */
double
adv_partial_rows(Ctx *ctx, AdvCandidate *c, Stmt *s)
{
	TableInfo  *t = adv_table(ctx, c->relid);
	PredRows	pr;

	pr.c = c;
	pr.rows = t ? t->reltuples : 0;
	if (c->pred)
		(void) adv_guarded(s, pred_rows, &pr);
	return pr.rows;
}

/* a candidate's size, share of the table, partitions */
void
adv_size_candidate(Ctx *ctx, AdvCandidate *c, Stmt *s)
{
	TableInfo  *t = adv_table(ctx, c->relid);
	double		tuples = adv_partial_rows(ctx, c, s);

	c->partitions = t ? t->partitions : NIL;
	c->fraction = (t && t->reltuples > 0) ? Min(tuples / t->reltuples, 1.0) : 1.0;
	adv_estimate_size(c, tuples);
}

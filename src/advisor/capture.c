/*-------------------------------------------------------------------------
 *
 * capture.c
 *		Index advisor, workload capture: for a sample of top-level
 *		statements, the predicates their table scans evaluated, the
 *		ORDER BY ... LIMIT keys they sorted on, the rows they wrote, and one
 *		example of the statement with its bind parameters.
 *
 * Sampling: obs_advisor_executor_start decides once per top-level
 * statement, in backend-local memory only (adv_sample_weight): with
 * probability observa.advisor_sample_rate, and at most once per statement
 * shape (database, queryid) and backend every observa.advisor_sample_interval
 * (rate 1 captures every execution).  Shapes new to the backend are
 * captured at most 16 times per interval, so that a workload of thousands
 * of distinct statements does not reach the shared array a tenth of the
 * time either.  Only sampled statements are asked for INSTRUMENT_ROWS and
 * reach the shared array: a steady workload of hot statements takes the
 * advisor's lock about once per shape, backend and interval.  At record
 * time a sampled, successful statement's plan state tree is walked (no
 * catalog access beyond the syscache lookups of operator properties), and
 * the result is folded into one AdvQuery entry per (database, queryid).  A
 * sample counts as the executions of its shape in this backend since the
 * previous sample (1/rate for a shape the backend had not seen).  The
 * decision (adv_sample_weight) and the capture of a sampled statement
 * (capture_statement) are kept in separate functions: only the first is
 * on every statement's path.
 *
 * Partitions: a scan of a partition is recorded as a scan of the root of
 * its partition tree, with the root's column numbers (syscache lookups and
 * pg_inherits, on the sampled path only), so that the advisor recommends
 * one index on the parent (partitions.c).  Later executions add the
 * predicates and scans an earlier one did not show.
 *
 * Storage: a fixed array of observa.advisor_max_queries entries in shared
 * memory (AdvShared), least recently sampled entry evicted when full.  The
 * example is kept in the entry (ADV_EXAMPLE_LEN bytes: statement text and
 * parameters rendered as text); longer examples are not kept and counted.
 * The example kept is the sampled execution whose text and parameters
 * hash lowest: the same set of executions keeps the same example in
 * whatever order they ran, which makes recommendations repeatable.
 *
 * Locking protocol: adv_shared->lock (an LWLock embedded in the struct).
 *	- look up an entry: lock shared; then update its counters, and add
 *	  predicates or scans a later execution showed, under the entry's
 *	  spinlock (no palloc, no ereport there);
 *	- read an entry's scans and predicates: lock shared and the entry's
 *	  spinlock, or lock exclusive;
 *	- create or evict an entry, replace an example, reset, and touch the
 *	  create slots or created-index records: lock exclusive.
 * The example text is rendered (palloc, output functions) before the
 * exclusive lock is taken, its parameters through obs_guard_render()
 * (guard.c): an output function's ERROR is logged and the statement keeps
 * its outcome.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "access/stratnum.h"
#include "access/sysattr.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/pg_prng.h"
#include "executor/executor.h"
#include "executor/instrument.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"

#include "advisor.h"
#include "../guard.h"

AdvShared  *adv_shared = NULL;
int			adv_lock_id = 0;

/* capture settings (defined as GUCs by advisor.c) */
double		adv_sample_rate = 0.1;
int			adv_sample_interval = 1000;
int			adv_max_queries = 500;

const char *const adv_class_names[ADV_NCLASSES] = {
	"equality", "range", "in", "like_prefix", "full_text", "is_null", "other"
};

/* the QueryDesc of the top-level statement sampled at ExecutorStart */
static QueryDesc *sampled_qd = NULL;
/* the executions it stands for */
static double sampled_weight = 0;

/*
 * Backend-local sampling state per statement shape, direct-mapped by
 * (database, queryid): executions since the shape's last sample and when
 * that was.  A slot taken by another shape just starts over.
 */
#define ADV_SHAPE_SLOTS 256

typedef struct AdvShapeSlot
{
	uint64		queryid;
	Oid			dbid;
	int64		pending;		/* executions not yet counted in a sample */
	TimestampTz last_sampled;
} AdvShapeSlot;

static AdvShapeSlot shape_slots[ADV_SHAPE_SLOTS];

/*
 * Shapes new to the backend captured per interval, at most: a workload of
 * thousands of distinct statements (each one new to the slots) would
 * otherwise send a tenth of all statements to the shared array.
 */
#define ADV_NEW_SHAPES_PER_INTERVAL 16

static TimestampTz new_shapes_since = 0;
static int	new_shapes_captured = 0;
static bool lock_attached = false;

/* what one execution's plan showed */
typedef struct AdvCapture
{
	int			nscans;
	AdvScan		scans[ADV_MAX_SCANS];
	PlannedStmt *pstmt;
	Oid			target;			/* DML target (partition root) */
	uint64		updated_cols;	/* columns an UPDATE sets */
	uint64		plan_fp;		/* plan-shape fingerprint (plan_shape.c) */
	TimestampTz started;		/* the statement's start */
} AdvCapture;

Size
adv_capture_shmem_size(void)
{
	return add_size(offsetof(AdvShared, queries),
					mul_size(adv_max_queries, sizeof(AdvQuery)));
}

void
adv_capture_shmem_startup(void)
{
	bool		found;

	adv_lock_id = obs_lock_counter("advisor");
	adv_shared = ShmemInitStruct("observa advisor", adv_capture_shmem_size(),
								 &found);
	if (!found)
	{
		memset(adv_shared, 0, adv_capture_shmem_size());
		adv_shared->tranche_id = LWLockNewTrancheId();
		LWLockInitialize(&adv_shared->lock, adv_shared->tranche_id);
		adv_shared->max_queries = adv_max_queries;
		adv_shared->reset_at = GetCurrentTimestamp();
		for (int i = 0; i < adv_max_queries; i++)
			SpinLockInit(&adv_shared->queries[i].mutex);
	}
	lock_attached = false;
}

/* register the lock's tranche name in this backend, once */
void
adv_lock_attach(void)
{
	if (!lock_attached && adv_shared)
	{
		LWLockRegisterTranche(adv_shared->tranche_id, "observa_advisor");
		lock_attached = true;
	}
}

/*
 * The sampling decision for one execution of statement shape (dbid,
 * queryid) that started at 'now': 0 when it is not sampled, else the
 * number of executions the sample stands for.  Backend-local memory only:
 * no lock, no shared cache line, no clock read (the caller passes the
 * statement's start time).
 */
static double
adv_sample_weight(Oid dbid, uint64 queryid, TimestampTz now)
{
	AdvShapeSlot *slot;
	double		weight;

	slot = &shape_slots[(queryid ^ (queryid >> 32) ^ dbid) % ADV_SHAPE_SLOTS];
	if (slot->queryid != queryid || slot->dbid != dbid)
	{
		/* a shape new to this backend: the rate decides, within the cap */
		if (adv_sample_rate < 1.0)
		{
			if (pg_prng_double(&pg_global_prng_state) >= adv_sample_rate)
				return 0;
			if (now - new_shapes_since >= (int64) adv_sample_interval * 1000)
			{
				new_shapes_since = now;
				new_shapes_captured = 0;
			}
			if (new_shapes_captured >= ADV_NEW_SHAPES_PER_INTERVAL)
				return 0;
			new_shapes_captured++;
		}
		slot->queryid = queryid;
		slot->dbid = dbid;
		slot->pending = 0;
		slot->last_sampled = now;
		return 1.0 / adv_sample_rate;
	}
	slot->pending++;
	/* rate 1 captures every execution: the interval does not apply */
	if (adv_sample_rate < 1.0 &&
		(now - slot->last_sampled < (int64) adv_sample_interval * 1000 ||
		 pg_prng_double(&pg_global_prng_state) >= adv_sample_rate))
		return 0;
	/* executions counted before a reset do not count after it */
	weight = (slot->last_sampled < adv_shared->reset_at) ?
		1.0 / adv_sample_rate : (double) slot->pending;
	slot->pending = 0;
	slot->last_sampled = now;
	return weight;
}

/*
 * Decide whether this top-level statement is sampled; if so ask the
 * executor for row counts (rows removed by filters).
 */
void
adv_capture_executor_start(QueryDesc *queryDesc, int eflags)
{
	if (adv_shared == NULL || obs_nesting_level() != 0)
		return;
	if (queryDesc->operation == CMD_UTILITY || adv_sample_rate <= 0.0 ||
		queryDesc->plannedstmt->queryId == UINT64CONST(0))
		return;
	sampled_weight = adv_sample_weight(MyDatabaseId,
									   queryDesc->plannedstmt->queryId,
									   GetCurrentStatementStartTimestamp());
	if (sampled_weight <= 0)
		return;
	sampled_qd = queryDesc;
	queryDesc->instrument_options |= INSTRUMENT_ROWS;
}

/* strip binary-compatible relabelling */
static Expr *
strip_relabel(Expr *e)
{
	while (e && IsA(e, RelabelType))
		e = ((RelabelType *) e)->arg;
	return e;
}

/*
 * If 'e' is a Var of scanrelid, or an immutable expression over exactly
 * one such Var and nothing else variable, return that Var's attnum.
 */
static AttrNumber
column_of(Expr *e, Index scanrelid, bool *is_expr)
{
	List	   *vars;
	Var		   *v;

	e = strip_relabel(e);
	if (e == NULL)
		return InvalidAttrNumber;
	if (IsA(e, Var))
	{
		v = (Var *) e;
		*is_expr = false;
		return (v->varno == (int) scanrelid && v->varlevelsup == 0 &&
				v->varattno > 0) ? v->varattno : InvalidAttrNumber;
	}
	if (!IsA(e, FuncExpr) && !IsA(e, OpExpr) && !IsA(e, CoerceViaIO))
		return InvalidAttrNumber;
	vars = pull_var_clause((Node *) e, 0);
	if (list_length(vars) != 1 || contain_mutable_functions((Node *) e))
		return InvalidAttrNumber;
	v = linitial_node(Var, vars);
	*is_expr = true;
	return (v->varno == (int) scanrelid && v->varlevelsup == 0 &&
			v->varattno > 0) ? v->varattno : InvalidAttrNumber;
}

/* a side that is constant during the scan: no Vars, nothing volatile */
static bool
is_value_side(Expr *e)
{
	return e != NULL && !contain_var_clause((Node *) e) &&
		!contain_volatile_functions((Node *) e);
}

/*
 * Classify one scan qual.  Returns false for quals that are not
 * "column (or expression of a column) <op> value".  Uses the operator's
 * restriction estimator to tell equality, range, LIKE and full-text
 * apart (one syscache lookup).
 */
bool
adv_classify_qual(Expr *clause, Index scanrelid, AdvQual *out)
{
	bool		is_expr = false;
	Expr	   *col = NULL;
	Expr	   *val = NULL;
	Oid			opno = InvalidOid;
	RegProcedure rest;

	memset(out, 0, sizeof(*out));
	out->clause = clause;

	if (IsA(clause, NullTest))
	{
		NullTest   *nt = (NullTest *) clause;

		if (nt->nulltesttype != IS_NULL || nt->argisrow)
			return false;
		out->attnum = column_of(nt->arg, scanrelid, &is_expr);
		if (out->attnum == InvalidAttrNumber)
			return false;
		out->cls = ADV_ISNULL;
		out->colexpr = strip_relabel(nt->arg);
		out->is_const = true;
		return true;
	}
	if (IsA(clause, ScalarArrayOpExpr))
	{
		ScalarArrayOpExpr *sa = (ScalarArrayOpExpr *) clause;

		if (!sa->useOr || list_length(sa->args) != 2)
			return false;
		col = linitial(sa->args);
		val = lsecond(sa->args);
		opno = sa->opno;
		out->attnum = column_of(col, scanrelid, &is_expr);
		if (out->attnum == InvalidAttrNumber || !is_value_side(val))
			return false;
		rest = get_oprrest(opno);
		out->cls = (rest == F_EQSEL) ? ADV_IN : ADV_OTHER;
	}
	else if (IsA(clause, OpExpr) && list_length(((OpExpr *) clause)->args) == 2)
	{
		OpExpr	   *op = (OpExpr *) clause;
		Expr	   *l = linitial(op->args);
		Expr	   *r = lsecond(op->args);

		opno = op->opno;
		out->attnum = column_of(l, scanrelid, &is_expr);
		if (out->attnum != InvalidAttrNumber && is_value_side(r))
		{
			col = l;
			val = r;
		}
		else
		{
			out->attnum = column_of(r, scanrelid, &is_expr);
			if (out->attnum == InvalidAttrNumber || !is_value_side(l))
				return false;
			col = r;
			val = l;
		}
		rest = get_oprrest(opno);
		switch (rest)
		{
			case F_EQSEL:
				out->cls = ADV_EQ;
				break;
			case F_SCALARLTSEL:
			case F_SCALARLESEL:
			case F_SCALARGTSEL:
			case F_SCALARGESEL:
				out->cls = ADV_RANGE;
				break;
			case F_LIKESEL:
			case F_PREFIXSEL:
				out->cls = ADV_OTHER;
				val = strip_relabel(val);
				if (val && IsA(val, Const) && !((Const *) val)->constisnull &&
					(((Const *) val)->consttype == TEXTOID ||
					 ((Const *) val)->consttype == VARCHAROID))
				{
					char	   *pat = TextDatumGetCString(((Const *) val)->constvalue);

					out->like_prefix_known = true;
					if (rest == F_PREFIXSEL ||
						(pat[0] != '\0' && pat[0] != '%' && pat[0] != '_' &&
						 pat[0] != '\\'))
						out->cls = ADV_LIKE_PREFIX;
					pfree(pat);
				}
				else if (val && IsA(val, Param))
					out->cls = ADV_LIKE_PREFIX; /* judged on re-planning */
				break;
			case F_TSMATCHSEL:
				out->cls = ADV_FTS;
				break;
			default:
				out->cls = ADV_OTHER;
				break;
		}
	}
	else
		return false;

	out->colexpr = strip_relabel(col);
	out->value = val;
	out->is_const = IsA(strip_relabel(val), Const);
	return true;
}

/*
 * The quals a scan node evaluates, in terms of the table's columns, and
 * its range-table index; NIL for nodes that are not table scans.
 */
List *
adv_scan_quals(Plan *plan, Index *scanrelid)
{
	List	   *quals = NIL;

	switch (nodeTag(plan))
	{
		case T_SeqScan:
			quals = plan->qual;
			break;
		case T_IndexScan:
			quals = list_concat_copy(((IndexScan *) plan)->indexqualorig,
									 plan->qual);
			break;
		case T_IndexOnlyScan:
			quals = list_concat_copy(((IndexOnlyScan *) plan)->recheckqual,
									 plan->qual);
			break;
		case T_BitmapHeapScan:
			quals = list_concat_copy(((BitmapHeapScan *) plan)->bitmapqualorig,
									 plan->qual);
			break;
		default:
			return NIL;
	}
	*scanrelid = ((Scan *) plan)->scanrelid;
	return quals;
}

/* a hash of a value's bytes (compressed or external values hash alike) */
static uint32
datum_hash(Datum value, bool isnull, int16 typlen, bool byval)
{
	if (isnull)
		return 1;
	if (byval)
		return hash_bytes((const unsigned char *) &value, sizeof(Datum));
	if (typlen == -1)
	{
		struct varlena *v = (struct varlena *) DatumGetPointer(value);

		if (VARATT_IS_EXTENDED(v))
			return 2;
		return hash_bytes((const unsigned char *) VARDATA_ANY(v),
						  VARSIZE_ANY_EXHDR(v));
	}
	if (typlen > 0)
		return hash_bytes((const unsigned char *) DatumGetPointer(value), typlen);
	return hash_bytes((const unsigned char *) DatumGetCString(value),
					  strlen(DatumGetCString(value)));
}

static uint32
const_hash(Expr *e)
{
	Const	   *c;

	e = strip_relabel(e);
	if (e == NULL || !IsA(e, Const))
		return 0;
	c = (Const *) e;
	return datum_hash(c->constvalue, c->constisnull, c->constlen, c->constbyval);
}

static AdvScan *
capture_scan(AdvCapture *cap, Oid relid)
{
	for (int i = 0; i < cap->nscans; i++)
		if (cap->scans[i].relid == relid)
			return &cap->scans[i];
	if (cap->nscans >= ADV_MAX_SCANS)
		return NULL;
	memset(&cap->scans[cap->nscans], 0, sizeof(AdvScan));
	cap->scans[cap->nscans].relid = relid;
	return &cap->scans[cap->nscans++];
}

/* the table and column a sort/target expression comes from, if any */
static bool
resolve_column(Plan *plan, Expr *e, PlannedStmt *pstmt, Oid *relid,
			   AttrNumber *attnum)
{
	for (int depth = 0; depth < 16 && plan != NULL; depth++)
	{
		Var		   *v;
		TargetEntry *tle;
		Plan	   *child;

		e = strip_relabel(e);
		if (e == NULL || !IsA(e, Var))
			return false;
		v = (Var *) e;
		if (v->varno == OUTER_VAR)
			child = outerPlan(plan);
		else if (v->varno == INNER_VAR)
			child = innerPlan(plan);
		else
		{
			RangeTblEntry *rte;

			if (!IsA(plan, SeqScan) && !IsA(plan, IndexScan) &&
				!IsA(plan, IndexOnlyScan) && !IsA(plan, BitmapHeapScan))
				return false;
			if (v->varno != (int) ((Scan *) plan)->scanrelid || v->varattno <= 0)
				return false;
			rte = rt_fetch(v->varno, pstmt->rtable);
			*relid = adv_partition_root(rte->relid);
			*attnum = adv_map_attnum(rte->relid, *relid, v->varattno);
			return *attnum != InvalidAttrNumber;
		}
		if (child == NULL)
			return false;
		tle = get_tle_by_resno(child->targetlist, v->varattno);
		if (tle == NULL)
			return false;
		e = tle->expr;
		plan = child;
	}
	return false;
}

/* Sort directly under Limit: its keys, when they are columns of one table */
static void
capture_sort(AdvCapture *cap, Limit *limit)
{
	Plan	   *p = outerPlan(&limit->plan);
	Sort	   *sort;

	while (p && (IsA(p, Result) || IsA(p, GatherMerge)))
		p = outerPlan(p);
	if (p == NULL || (!IsA(p, Sort) && !IsA(p, IncrementalSort)))
		return;
	sort = (Sort *) p;
	for (int i = 0; i < sort->numCols && i < ADV_MAX_SORT; i++)
	{
		TargetEntry *tle = get_tle_by_resno(sort->plan.targetlist,
											sort->sortColIdx[i]);
		Oid			relid;
		AttrNumber	attnum;
		Oid			opfamily,
					opcintype;
		int16		strategy;
		AdvScan    *scan;

		if (tle == NULL ||
			!resolve_column(&sort->plan, tle->expr, cap->pstmt, &relid, &attnum))
			return;
		scan = capture_scan(cap, relid);
		if (scan == NULL || (i > 0 && scan->nsort != i))
			return;
		if (!get_ordering_op_properties(sort->sortOperators[i], &opfamily,
										&opcintype, &strategy))
			return;
		scan->sort_att[i] = attnum;
		scan->sort_desc[i] = (strategy == BTGreaterStrategyNumber);
		scan->nsort = i + 1;
	}
}

/* one classified qual of a scan, added to the scan's predicates */
static void
capture_pred(AdvScan *scan, const AdvQual *q, AttrNumber attnum)
{
	AdvPred    *p = NULL;

	for (int i = 0; i < scan->npreds; i++)
		if (scan->preds[i].attnum == attnum && scan->preds[i].cls == q->cls)
			return;
	if (scan->npreds >= ADV_MAX_PREDS)
		return;
	p = &scan->preds[scan->npreds++];
	p->attnum = attnum;
	p->cls = q->cls;
	p->count = 1;
	if (IsA(q->colexpr, FuncExpr))
		p->funcid = ((FuncExpr *) q->colexpr)->funcid;
	if (!IsA(q->colexpr, Var))
		p->flags |= ADV_PF_EXPR;
	if (q->is_const)
	{
		p->flags |= ADV_PF_CONST;
		p->consthash = const_hash(q->value);
	}
}

/* the table a scan's RTE is recorded under: tables, matviews, partitions */
static Oid
captured_table(RangeTblEntry *rte)
{
	if (rte->rtekind != RTE_RELATION || rte->relid < FirstNormalObjectId ||
		(rte->relkind != RELKIND_RELATION && rte->relkind != RELKIND_MATVIEW))
		return InvalidOid;
	return adv_partition_root(rte->relid);
}

static bool capture_walker(PlanState *ps, void *context);

static bool
capture_walker(PlanState *ps, void *context)
{
	AdvCapture *cap = (AdvCapture *) context;
	Plan	   *plan = ps->plan;
	Index		scanrelid = 0;
	List	   *quals;
	ListCell   *lc;

	if (IsA(plan, Limit))
		capture_sort(cap, (Limit *) plan);

	quals = adv_scan_quals(plan, &scanrelid);
	if (scanrelid > 0)
	{
		RangeTblEntry *rte = rt_fetch(scanrelid, cap->pstmt->rtable);
		Oid			table = captured_table(rte);
		AdvScan    *scan;

		if (OidIsValid(table) && (scan = capture_scan(cap, table)) != NULL)
		{
			if (ps->instrument)
			{
				scan->rows_removed += ps->instrument->nfiltered1;
				scan->rows_out += ps->instrument->ntuples +
					ps->instrument->tuplecount;
			}
			foreach(lc, quals)
			{
				AdvQual		q;
				AttrNumber	att;

				if (!adv_classify_qual((Expr *) lfirst(lc), scanrelid, &q))
					continue;
				att = adv_map_attnum(rte->relid, table, q.attnum);
				if (att != InvalidAttrNumber)
					capture_pred(scan, &q, att);
			}
		}
	}
	return planstate_tree_walker(ps, capture_walker, context);
}

/* this statement's part of its (non-NULL) source text: offset and length */
static void
stmt_span(const ObsSample *sample, int *loc, int *len)
{
	*loc = sample->stmt_location;
	*len = sample->stmt_len;
	if (*loc < 0 || *loc > (int) strlen(sample->source_text))
		*loc = 0;
	if (*len <= 0)
		*len = strlen(sample->source_text + *loc);
}

/*
 * The key that picks the example kept: a hash of the statement's text and
 * of its parameters' values (no output functions: this runs for every
 * sampled execution).
 */
static uint32
example_key(const ObsSample *sample)
{
	const char *text = sample->source_text;
	int			loc;
	int			len;
	uint32		h;
	ParamListInfo params = sample->params;

	if (text == NULL)
		return 0;
	stmt_span(sample, &loc, &len);
	h = hash_bytes((const unsigned char *) text + loc, len);
	if (params && params->paramFetch == NULL)
	{
		for (int i = 0; i < params->numParams; i++)
		{
			ParamExternData *prm = &params->params[i];
			int16		typlen;
			bool		byval;

			if (!OidIsValid(prm->ptype))
				continue;
			get_typlenbyval(prm->ptype, &typlen, &byval);
			h = hash_combine(h, datum_hash(prm->value, prm->isnull, typlen, byval));
		}
	}
	return h;
}

/*
 * The example: statement text (this statement's part of the source) and
 * its parameters as text.  Layout: int32 len, text, int16 nparams, then
 * per parameter: Oid type, char isnull, int32 len, bytes; then int16 len
 * and the search_path.  Returns the
 * length, or 0 when it does not fit.
 */
static int
render_example(const ObsSample *sample, char *buf)
{
	const char *text = sample->source_text;
	int			loc;
	int			len;
	int			off = 0;
	int16		nparams = 0;
	ParamListInfo params = sample->params;

	if (text == NULL)
		return 0;
	stmt_span(sample, &loc, &len);
	if (len + 64 > ADV_EXAMPLE_LEN)
		return 0;
	memcpy(buf, &len, sizeof(int32));
	memcpy(buf + sizeof(int32), text + loc, len);
	off = sizeof(int32) + len;
	if (params && params->paramFetch == NULL)
		nparams = params->numParams;
	memcpy(buf + off, &nparams, sizeof(int16));
	off += sizeof(int16);
	for (int i = 0; i < nparams; i++)
	{
		ParamExternData *prm = &params->params[i];
		char		isnull = prm->isnull;
		char	   *str = NULL;
		int32		slen = 0;
		Oid			typoutput;
		bool		varlena;

		if (!OidIsValid(prm->ptype))
			return 0;
		if (!isnull)
		{
			getTypeOutputInfo(prm->ptype, &typoutput, &varlena);
			str = OidOutputFunctionCall(typoutput, prm->value);
			slen = strlen(str);
		}
		if (off + (int) (sizeof(Oid) + 1 + sizeof(int32)) + slen > ADV_EXAMPLE_LEN)
			return 0;
		memcpy(buf + off, &prm->ptype, sizeof(Oid));
		off += sizeof(Oid);
		buf[off++] = isnull;
		memcpy(buf + off, &slen, sizeof(int32));
		off += sizeof(int32);
		if (slen > 0)
			memcpy(buf + off, str, slen);
		off += slen;
	}
	/* the search_path the statement's names were resolved with */
	{
		const char *sp = namespace_search_path ? namespace_search_path : "";
		int16		splen = strlen(sp);

		if (off + (int) sizeof(int16) + splen > ADV_EXAMPLE_LEN)
			return 0;
		memcpy(buf + off, &splen, sizeof(int16));
		off += sizeof(int16);
		memcpy(buf + off, sp, splen);
		off += splen;
	}
	return off;
}

typedef struct RenderExample
{
	const ObsSample *sample;
	char	   *buf;
	int			len;
} RenderExample;

static void
render_example_step(void *arg)
{
	RenderExample *re = (RenderExample *) arg;

	re->len = render_example(re->sample, re->buf);
}

/*
 * The example of a sampled statement into buf: its length, 0 when it does
 * not fit, -1 when a parameter's output function raised (then logged by
 * obs_guard_render, and the statement keeps its outcome).  Parameters are
 * rendered in a subtransaction: this runs only for sampled statements
 * whose example is kept.
 */
static int
render_example_guarded(const ObsSample *sample, char *buf)
{
	RenderExample re;

	if (sample->params == NULL || sample->params->numParams == 0)
		return render_example(sample, buf);		/* no output function runs */
	re.sample = sample;
	re.buf = buf;
	re.len = 0;
	if (!obs_guard_render(sample, "example's bind parameters",
						  render_example_step, &re))
		return -1;
	return re.len;
}

/*
 * A scan of this execution into the entry's scan of the same table: rows,
 * predicate counts, and predicates not seen before (so the entry holds
 * the union of what its executions showed, whatever their order).
 * Caller holds the entry's spinlock.
 */
static void
fold_scan(AdvScan *qs, const AdvScan *cs)
{
	qs->rows_removed += cs->rows_removed;
	qs->rows_out += cs->rows_out;
	for (int i = 0; i < cs->npreds; i++)
	{
		const AdvPred *cp = &cs->preds[i];
		AdvPred    *p = NULL;

		for (int j = 0; j < qs->npreds; j++)
			if (qs->preds[j].attnum == cp->attnum && qs->preds[j].cls == cp->cls)
				p = &qs->preds[j];
		if (p == NULL)
		{
			if (qs->npreds >= ADV_MAX_PREDS)
				continue;
			p = &qs->preds[qs->npreds];
			*p = *cp;
			p->count = 0;
			qs->npreds++;
		}
		p->count++;
		if (p->consthash != cp->consthash || ((p->flags ^ cp->flags) & ADV_PF_CONST))
			p->flags |= ADV_PF_VARIES;
	}
	if (qs->nsort == 0 && cs->nsort > 0)
	{
		qs->nsort = cs->nsort;
		memcpy(qs->sort_att, cs->sort_att, sizeof(qs->sort_att));
		memcpy(qs->sort_desc, cs->sort_desc, sizeof(qs->sort_desc));
	}
}

/* fold one execution into an entry; caller holds the entry's spinlock */
static void
fold_counts(AdvQuery *q, const AdvCapture *cap, const ObsSample *sample,
			double weight)
{
	q->calls += weight;
	q->sampled++;
	q->total_ms += sample->duration_ms;
	if (sample->operation == OBS_OP_INSERT || sample->operation == OBS_OP_UPDATE ||
		sample->operation == OBS_OP_DELETE || sample->operation == OBS_OP_MERGE)
		q->dml_rows += weight * (double) sample->rows;
	q->last_used = adv_shared->clock;
	adv_plan_shape_note(q, cap->plan_fp, cap->started);
	for (int s = 0; s < cap->nscans; s++)
	{
		const AdvScan *cs = &cap->scans[s];
		AdvScan    *qs = NULL;

		for (int t = 0; t < q->nscans; t++)
			if (q->scans[t].relid == cs->relid)
				qs = &q->scans[t];
		if (qs == NULL)
		{
			if (q->nscans >= ADV_MAX_SCANS)
				continue;
			qs = &q->scans[q->nscans];
			memset(qs, 0, sizeof(AdvScan));
			qs->relid = cs->relid;
			q->nscans++;
		}
		fold_scan(qs, cs);
	}
}

static AdvQuery *
find_entry(Oid dbid, uint64 queryid)
{
	/*
	 * Backend-local direct-mapped hints (dbid, queryid) -> entry index, so
	 * a sampled statement seen before does not scan the whole array (each
	 * entry is several kB: a scan touches hundreds of cache lines).  A hint
	 * is only trusted after checking the entry under the caller's lock.
	 */
	static struct
	{
		Oid			dbid;
		uint64		queryid;
		int			idx;
	}			hints[256];
	int			h = (int) ((queryid ^ (queryid >> 32) ^ dbid) & 255);

	if (hints[h].queryid == queryid && hints[h].dbid == dbid &&
		hints[h].idx < adv_shared->max_queries)
	{
		AdvQuery   *q = &adv_shared->queries[hints[h].idx];

		if (q->used && q->queryid == queryid && q->dbid == dbid)
			return q;
	}
	for (int i = 0; i < adv_shared->max_queries; i++)
	{
		AdvQuery   *q = &adv_shared->queries[i];

		if (q->used && q->queryid == queryid && q->dbid == dbid)
		{
			hints[h].dbid = dbid;
			hints[h].queryid = queryid;
			hints[h].idx = i;
			return q;
		}
	}
	return NULL;
}

/* the columns an UPDATE sets, as attnums 1..64 of the table it is recorded under */
static uint64
updated_columns(const ObsSample *sample, Oid table)
{
	RangeTblEntry *rte;
	uint64		cols = 0;
	int			k = -1;

	if (sample->operation != OBS_OP_UPDATE || sample->pstmt->resultRelations == NIL)
		return 0;
	rte = rt_fetch(linitial_int(sample->pstmt->resultRelations),
				   sample->pstmt->rtable);
	while ((k = bms_next_member(rte->updatedCols, k)) >= 0)
	{
		AttrNumber	att = adv_map_attnum(rte->relid, table,
										 k + FirstLowInvalidHeapAttributeNumber);

		if (att >= 1 && att <= 64)
			cols |= UINT64CONST(1) << (att - 1);
	}
	return cols;
}

/* a free or the least recently sampled entry; lock held exclusive */
static AdvQuery *
claim_entry(void)
{
	AdvQuery   *victim = NULL;

	for (int i = 0; i < adv_shared->max_queries; i++)
	{
		AdvQuery   *c = &adv_shared->queries[i];

		if (!c->used)
			return c;
		if (victim == NULL || c->last_used < victim->last_used)
			victim = c;
	}
	adv_shared->evictions++;
	return victim;
}

/* a new entry for this statement; lock held exclusive */
static AdvQuery *
create_entry(const ObsSample *sample, const AdvCapture *cap, double weight)
{
	AdvQuery   *q = claim_entry();

	OBS_SPIN_ACQUIRE(adv_lock_id, &q->mutex);
	q->used = true;
	q->dbid = sample->dbid;
	q->queryid = sample->queryid;
	q->userid = sample->userid;
	q->calls = 0;
	q->sampled = 0;
	q->total_ms = 0;
	q->dml_rows = 0;
	q->operation = (uint8) sample->operation;
	q->target_relid = cap->target;
	q->updated_cols = cap->updated_cols;
	q->nscans = 0;
	q->example_len = 0;
	q->example_key = 0;
	memset(q->shapes, 0, sizeof(q->shapes));
	fold_counts(q, cap, sample, weight);
	SpinLockRelease(&q->mutex);
	return q;
}

/*
 * Capture one sampled, successful statement: walk its plan, fold it into
 * its entry (shared lock and the entry's spinlock in the common case),
 * and when it is new or its example should be replaced, render the
 * example and take the lock exclusive.
 */
static void
capture_statement(const ObsSample *sample)
{
	AdvCapture	cap;
	AdvQuery   *q;
	bool		need_example = false;
	char	   *example = NULL;
	int			example_len = 0;
	uint32		key;
	double		weight;

	adv_lock_attach();
	memset(&cap, 0, sizeof(cap));
	cap.pstmt = sample->pstmt;
	(void) capture_walker(sample->query_desc->planstate, &cap);
	if (cap.nscans == 0 && !OidIsValid(sample->target_relid))
		return;
	if (OidIsValid(sample->target_relid))
	{
		cap.target = adv_partition_root(sample->target_relid);
		cap.updated_cols = updated_columns(sample, cap.target);
	}
	cap.plan_fp = adv_plan_fingerprint(sample->pstmt);
	cap.started = GetCurrentStatementStartTimestamp();
	weight = sampled_weight;
	key = example_key(sample);

	/* common case: the entry exists and keeps its example */
	OBS_LWLOCK_ACQUIRE(adv_lock_id, &adv_shared->lock, LW_SHARED);
	q = find_entry(sample->dbid, sample->queryid);
	if (q)
	{
		OBS_SPIN_ACQUIRE(adv_lock_id, &q->mutex);
		fold_counts(q, &cap, sample, weight);
		need_example = (q->example_len == 0 || key < q->example_key);
		SpinLockRelease(&q->mutex);
	}
	adv_shared->clock++;		/* racy increments are fine: LRU hint */
	LWLockRelease(&adv_shared->lock);
	if (q && !need_example)
		return;

	/* render outside the lock */
	example = palloc(ADV_EXAMPLE_LEN);
	example_len = render_example_guarded(sample, example);

	OBS_LWLOCK_ACQUIRE(adv_lock_id, &adv_shared->lock, LW_EXCLUSIVE);
	if (q == NULL)
		q = find_entry(sample->dbid, sample->queryid);
	if (q == NULL)
		q = create_entry(sample, &cap, weight);
	if (example_len > 0 && (q->example_len == 0 || key < q->example_key))
	{
		memcpy(q->example, example, example_len);
		q->example_len = example_len;
		q->example_key = key;
		/* the example is re-planned as the role that ran it */
		q->userid = sample->userid;
	}
	else if (example_len == 0)
		adv_shared->examples_too_long++;
	LWLockRelease(&adv_shared->lock);
	pfree(example);
}

/*
 * Record a statement: only those picked at ExecutorStart that ended
 * without error and have a queryid are captured.
 */
void
adv_capture_record(const ObsSample *sample)
{
	if (sample->query_desc == NULL || sample->query_desc != sampled_qd)
		return;
	sampled_qd = NULL;
	if (sample->failed || sample->queryid == 0 || adv_shared == NULL ||
		sample->query_desc->planstate == NULL)
		return;
	capture_statement(sample);
}

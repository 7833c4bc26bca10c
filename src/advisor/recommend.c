/*-------------------------------------------------------------------------
 *
 * recommend.c
 *		Index advisor: observa.recommend_indexes() and
 *		observa.recommend_indexes_overhead(): candidates from the captured
 *		workload, proof by hypothetical-index costing, and the chosen set.
 *
 * A run (docs/advisor.md explains it for DBAs; recommend.h lists the files
 * that do each step):
 *	1. copy the current database's captured statements (shared lock only
 *	   while copying) and sort them by queryid, so that the run does not
 *	   depend on where capture happened to store them;
 *	2. per table: partitions, tenant key and its statistics, existing
 *	   indexes' columns, write traffic (writes.c);
 *	3. parse each example again; build its tenant ends (distribution.c)
 *	   and plan each with the captured parameter values bound (a custom
 *	   plan): the baseline costs, and plans whose scans show each table's
 *	   predicates with the real values;
 *	4. candidates per statement and table (candidates.c), less those an
 *	   existing valid index serves (prefix rule);
 *	5. choose the set (select.c): greedy by benefit per byte across the
 *	   tenant distribution, merging on write-heavy tables, redundancy;
 *	6. one row per chosen index, ordered by schema, table and definition.
 *
 * Everything here runs in the calling backend.  Each step that evaluates
 * a captured statement runs in run.c's guard, the sandbox of sandbox.c
 * (as the statement's role, restricted, GUCs discarded, subtransaction
 * rolled back); a step that fails is skipped (an example that no longer
 * parses).
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
#include "utils/memutils.h"
#include "utils/pg_locale.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"
#include "utils/varlena.h"

#include "recommend.h"
#include "../tenant_columns.h"

#include "access/itup.h"
#include "storage/itemid.h"

/* arguments of prepare_stmt */
typedef struct PrepareArg
{
	Ctx		   *ctx;
	Stmt	   *s;
	int			si;
} PrepareArg;

/*
 * Parse the example, build its ends, plan each without hypotheses (the
 * baseline cost) and take the statement's candidates from each plan.
 * The plans are made and dropped in adv_plan_cxt: a run makes thousands.
 */
static void
prepare_stmt(void *arg)
{
	PrepareArg *pa = (PrepareArg *) arg;
	Stmt	   *s = pa->s;
	MemoryContext outer = CurrentMemoryContext;

	s->ok = false;
	if (!adv_example_prepare(s->q.example, s->q.example_len, &s->ex))
		return;
	adv_build_ends(pa->ctx, s);
	for (int e = 0; e < s->nends; e++)
	{
		PlannedStmt *p;

		MemoryContextSwitchTo(adv_plan_cxt);
		p = adv_example_plan(&s->ends[e].ex, NIL);
		MemoryContextSwitchTo(outer);
		s->ends[e].base_cost = p->planTree->total_cost;
		s->ends[e].cur_cost = s->ends[e].base_cost;
		adv_plan_candidates(pa->ctx, pa->si, p, p->planTree);
		MemoryContextReset(adv_plan_cxt);
	}
	s->ok = true;
}

/* ---------- tables ---------- */

/* a table's distinct values of a column (pg_statistic), -1 if unknown */
static double
stat_distinct(TableInfo *t, AttrNumber att)
{
	AdvColStats cs;

	if (!adv_column_stats(t->relid, att, t->partitioned, t->reltuples, false, &cs))
		return -1;
	return cs.ndistinct;
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
			double		nd = stat_distinct(t, a);

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

/* columns existing indexes use (keys, expressions, predicates): 1..64 */
static uint64
indexed_columns(Oid table, Oid relid)
{
	Relation	rel = table_open(relid, AccessShareLock);
	Bitmapset  *attrs = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_ALL);
	uint64		cols = 0;
	int			k = -1;

	while ((k = bms_next_member(attrs, k)) >= 0)
	{
		AttrNumber	a = adv_map_attnum(relid, table,
									   k + FirstLowInvalidHeapAttributeNumber);

		if (a >= 1 && a <= 64)
			cols |= UINT64CONST(1) << (a - 1);
	}
	table_close(rel, AccessShareLock);
	return cols;
}

/* rows, tuple width and indexed columns of a table (its leaves, if partitioned) */
static void
table_size(TableInfo *t)
{
	List	   *rels = t->partitioned ? t->partitions : list_make1_oid(t->relid);
	ListCell   *lc;
	int32		width = 0;

	t->reltuples = 0;
	foreach(lc, rels)
	{
		Relation	rel = table_open(lfirst_oid(lc), AccessShareLock);
		BlockNumber pages;
		double		tuples;
		double		allvis;

		estimate_rel_size(rel, NULL, &pages, &tuples, &allvis);
		t->reltuples += tuples;
		if (width == 0)
			width = get_rel_data_width(rel, NULL);
		table_close(rel, AccessShareLock);
		t->indexed_cols |= indexed_columns(t->relid, lfirst_oid(lc));
	}
	t->tuple_bytes = MAXALIGN(SizeofHeapTupleHeader) + width + sizeof(ItemIdData);
}

/* a table the workload touches, if the advisor handles its kind */
static void
add_table(Ctx *ctx, Oid relid)
{
	TableInfo  *t;
	char		kind;

	if (!OidIsValid(relid) || adv_table(ctx, relid) != NULL)
		return;
	kind = get_rel_relkind(relid);
	if ((kind != RELKIND_RELATION && kind != RELKIND_MATVIEW &&
		 kind != RELKIND_PARTITIONED_TABLE) ||
		get_rel_persistence(relid) == RELPERSISTENCE_TEMP)
		return;					/* gone, not a table, or temporary */
	t = &ctx->tables[ctx->ntables++];
	t->relid = relid;
	t->partitioned = (kind == RELKIND_PARTITIONED_TABLE);
	if (t->partitioned)
		t->partitions = adv_partition_leaves(relid);
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

		for (int s = 0; s < q->nscans; s++)
		{
			TableInfo  *t;

			add_table(ctx, q->scans[s].relid);
			if ((t = adv_table(ctx, q->scans[s].relid)) != NULL)
				t->stmts = lappend_int(t->stmts, i);
		}
		add_table(ctx, q->target_relid);
	}
	for (int i = 0; i < ctx->nstmts; i++)
	{
		AdvQuery   *q = &ctx->stmts[i].q;
		TableInfo  *t = adv_table(ctx, q->target_relid);

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

		table_size(t);
		find_tenant(ctx, t);
		if (t->tenant_att != InvalidAttrNumber)
			(void) adv_column_stats(t->relid, t->tenant_att, t->partitioned,
									t->reltuples, true, &t->tenant_stats);
	}
	adv_read_table_writes(ctx);
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
	name = adv_index_name(relname, namecols.data, keys.data, where);

	*cols_out = cols;
	*name_out = name;
	return psprintf("CREATE INDEX CONCURRENTLY IF NOT EXISTS %s ON %s.%s USING %s (%s)%s%s",
					quote_identifier(name), quote_identifier(nspname),
					quote_identifier(relname),
					c->amoid == BTREE_AM_OID ? "btree" : "gin",
					keys.data, where ? " WHERE " : "", where ? where : "");
}

/* kind of index, statements, costs, tenants, writes: one sentence */
static char *
reason_text(Ctx *ctx, Choice *ch)
{
	AdvCandidate *c = ch->c;
	TableInfo  *t = adv_table(ctx, c->relid);
	StringInfoData r;
	double		pct = ch->cost_before > 0 ?
		100.0 * (ch->cost_before - ch->cost_after) / ch->cost_before : 0;
	char	   *tried = adv_tenants_tried(ctx, ch->stmt_idx);

	initStringInfo(&r);
	appendStringInfo(&r, "%s index serving %d statement%s (about %.0f execution%s)",
					 c->amoid == GIN_AM_OID ? "GIN full-text" :
					 c->pred ? "Partial" :
					 c->tenant_leading ? "Tenant-leading" : "Composite",
					 list_length(ch->stmt_idx), list_length(ch->stmt_idx) == 1 ? "" : "s",
					 ch->calls, rint(ch->calls) == 1 ? "" : "s");
	if (t && t->partitioned)
		appendStringInfo(&r, " on a partitioned table (%d partition%s)",
						 list_length(t->partitions),
						 list_length(t->partitions) == 1 ? "" : "s");
	appendStringInfo(&r, "; planner cost per execution %.1f -> %.1f (%.0f%% less)",
					 ch->cost_before, ch->cost_after, pct);
	if (tried)
		appendStringInfo(&r, "; %s", tried);
	if (t && t->tenant_detected && t->tenant_att != InvalidAttrNumber)
		appendStringInfo(&r, "; tenant key %s detected from the workload (equality filter in %.0f%% of executions, about %.0f distinct values)",
						 quote_identifier(get_attname(c->relid, t->tenant_att, false)),
						 100.0 * t->tenant_share, t->tenant_distinct);
	if (ch->merged > 1)
		appendStringInfo(&r, "; one composite for %d candidates on this write-heavy table, each statement within %.0f%% of its cost with separate indexes",
						 ch->merged, adv_merge_tolerance);
	if (c->hot_blocking)
		appendStringInfoString(&r, "; indexes a column the workload updates, so those UPDATEs will no longer be HOT");
	else if (c->penalty > 0)
		appendStringInfo(&r, "; write cost on this table weighed in (%.0f)", c->penalty);
	appendStringInfoChar(&r, '.');
	return r.data;
}

/* one NOTICE per candidate dropped for an untrusted function (candidates.c) */
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

static int
stmt_cmp(const void *a, const void *b)
{
	const Stmt *sa = (const Stmt *) a;
	const Stmt *sb = (const Stmt *) b;

	if (sa->q.queryid != sb->q.queryid)
		return sa->q.queryid < sb->q.queryid ? -1 : 1;
	return 0;
}

/* copy the database's captured statements, in queryid order */
static void
snapshot(Ctx *ctx)
{
	int			n = 0;
	int			max = 0;

	OBS_LWLOCK_ACQUIRE(adv_lock_id, &adv_shared->lock, LW_SHARED);
	for (int i = 0; i < adv_shared->max_queries; i++)
		max += (adv_shared->queries[i].used &&
				adv_shared->queries[i].dbid == MyDatabaseId);
	ctx->stmts = palloc0(sizeof(Stmt) * Max(max, 1));
	for (int i = 0; i < adv_shared->max_queries && n < max; i++)
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
	qsort(ctx->stmts, n, sizeof(Stmt), stmt_cmp);
}

/* size, number and judge the candidates that remain */
static void
prepare_candidates(Ctx *ctx)
{
	ListCell   *lc;

	foreach(lc, ctx->cands)
	{
		AdvCandidate *c = lfirst(lc);
		TableInfo  *t = adv_table(ctx, c->relid);

		if (c->dropped)
			continue;
		if (t == NULL || adv_served_by_existing(c))
		{
			c->dropped = true;
			continue;
		}
		c->tenant_leading = (t->tenant_att != InvalidAttrNumber &&
							 c->attnums[0] == t->tenant_att);
		adv_size_candidate(ctx, c, &ctx->stmts[linitial_int(c->query_idx)]);
		adv_number_candidate(ctx, c);
	}
}

/* one whole run: ctx->chosen holds the set */
static void
run_recommend(Ctx *ctx, Oid nspid)
{
	uint64		plans = adv_plans_made;

	adv_lock_attach();
	adv_forget_opclasses();
	/*
	 * Plans are made, inspected and dropped here, one at a time.  Its first
	 * block survives each reset, so planning does not map and unmap memory
	 * for every plan.
	 */
	adv_plan_cxt = AllocSetContextCreate(CurrentMemoryContext, "observa advisor plans",
										 1024 * 1024, 1024 * 1024,
										 ALLOCSET_DEFAULT_MAXSIZE);
	memset(ctx, 0, sizeof(*ctx));
	ctx->nspid = nspid;
	snapshot(ctx);
	collect_tables(ctx);
	for (int i = 0; i < ctx->nstmts; i++)
	{
		Stmt	   *s = &ctx->stmts[i];
		PrepareArg	pa;

		pa.ctx = ctx;
		pa.s = s;
		pa.si = i;
		if (s->q.example_len > 0 && s->q.nscans > 0 &&
			(s->q.operation == OBS_OP_SELECT || s->q.operation == OBS_OP_UPDATE ||
			 s->q.operation == OBS_OP_DELETE))
		{
			s->search_path = adv_example_search_path(s->q.example, s->q.example_len);
			(void) adv_guarded(s, prepare_stmt, &pa);
		}
	}
	adv_merge_prefixes(ctx);
	prepare_candidates(ctx);
	ereport(DEBUG1,
			(errmsg_internal("observa advisor: %d statements, %d tables, %d candidates, %d plans so far",
							 ctx->nstmts, ctx->ntables, list_length(ctx->cands),
							 (int) (adv_plans_made - plans))));
	adv_choose(ctx);
	ereport(DEBUG1,
			(errmsg_internal("observa advisor: %d plans in all", (int) (adv_plans_made - plans))));
}

/* result columns of recommend_indexes(): 1.0, and 1.1 (+ replaces, write
 * overhead, update overhead) */
#define RECOMMEND_COLS_1_0	13
#define RECOMMEND_COLS_1_1	16

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

/* one output row for a chosen index */
static void
fill_row(Ctx *ctx, Choice *ch, OutRow *row)
{
	AdvCandidate *c = ch->c;
	TableInfo  *t = adv_table(ctx, c->relid);
	Datum	   *cols;
	Datum	   *qids;
	char	   *name;
	char	   *def = render(c, &cols, &name);
	ListCell   *li;
	int			nq = 0;
	double		wo,
				up,
				ib,
				tb;

	/* merged candidates are new: judge every one here */
	c->tenant_leading = (t && t->tenant_att != InvalidAttrNumber &&
						 c->attnums[0] == t->tenant_att);
	qids = palloc(sizeof(Datum) * Max(list_length(ch->stmt_idx), 1));
	foreach(li, ch->stmt_idx)
		qids[nq++] = Int64GetDatum((int64) ctx->stmts[lfirst_int(li)].q.queryid);
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
	row->values[12] = CStringGetTextDatum(reason_text(ctx, ch));
	row->values[13] = replaces_array(c);
	adv_write_overhead(ctx, t, list_make1(c), &wo, &up, &ib, &tb);
	row->values[14] = Float8GetDatum(rint(wo * 1000.0) / 1000.0);
	row->nulls[14] = (wo < 0);
	row->values[15] = Float8GetDatum(rint(up * 10.0) / 10.0);
	row->nulls[15] = (up < 0);
	row->sortkey = psprintf("%s.%s %s", get_namespace_name(get_rel_namespace(c->relid)),
							get_rel_name(c->relid), def);
}

/*
 * observa.recommend_indexes(): one row per recommended index.  One body
 * for both API versions: ncols is the result's column count of the SQL
 * declaration it serves (1.0: 13; 1.1 adds replaces, write_overhead and
 * update_overhead_pct).
 */
static Datum
recommend_internal(FunctionCallInfo fcinfo, int ncols)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Ctx			ctx;
	ListCell   *lc;
	OutRow	   *rows;
	int			nrows = 0;

	obs_require_preload();
	obs_init_srf(fcinfo, ncols);
	run_recommend(&ctx, get_func_namespace(fcinfo->flinfo->fn_oid));
	report_untrusted(&ctx);

	rows = palloc0(sizeof(OutRow) * Max(list_length(ctx.chosen), 1));
	foreach(lc, ctx.chosen)
	{
		Choice	   *ch = lfirst(lc);

		if (!ch->c->dropped)
			fill_row(&ctx, ch, &rows[nrows++]);
	}
	qsort(rows, nrows, sizeof(OutRow), outrow_cmp);
	for (int i = 0; i < nrows; i++)
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc,
							 rows[i].values, rows[i].nulls);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(observa_recommend_indexes);

Datum
observa_recommend_indexes(PG_FUNCTION_ARGS)
{
	return recommend_internal(fcinfo, RECOMMEND_COLS_1_0);
}

PG_FUNCTION_INFO_V1(observa_recommend_indexes_1_1);

Datum
observa_recommend_indexes_1_1(PG_FUNCTION_ARGS)
{
	return recommend_internal(fcinfo, RECOMMEND_COLS_1_1);
}

#define OVERHEAD_COLS 9

/* one row of recommend_indexes_overhead(): a table, or the whole set */
static void
overhead_row(ReturnSetInfo *rsinfo, TableInfo *t, int nidx, double bytes,
			 double ib, double tb, double up, bool up_known, bool heavy)
{
	Datum		values[OVERHEAD_COLS];
	bool		nulls[OVERHEAD_COLS] = {0};

	if (t)
	{
		values[0] = CStringGetTextDatum(get_namespace_name(get_rel_namespace(t->relid)));
		values[1] = CStringGetTextDatum(get_rel_name(t->relid));
		values[8] = BoolGetDatum(heavy);
	}
	else
		nulls[0] = nulls[1] = nulls[8] = true;
	values[2] = Int32GetDatum(nidx);
	values[3] = Int64GetDatum((int64) bytes);
	values[4] = Float8GetDatum(tb > 0 ? rint(1000.0 * ib / tb) / 1000.0 : 0);
	nulls[4] = (tb <= 0);
	values[5] = Float8GetDatum(rint(up * 10.0) / 10.0);
	nulls[5] = !up_known;
	values[6] = Float8GetDatum(rint(ib));
	values[7] = Float8GetDatum(rint(tb));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * observa.recommend_indexes_overhead(): the write cost of the recommended
 * set, per table and for the whole set (the row with NULL schemaname).
 */
PG_FUNCTION_INFO_V1(observa_recommend_indexes_overhead_1_1);

Datum
observa_recommend_indexes_overhead_1_1(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Ctx			ctx;
	double		all_bytes = 0,
				all_ib = 0,
				all_tb = 0,
				all_up_rows = 0,
				all_lost = 0;
	int			all_n = 0;
	bool		all_up_known = true;

	obs_require_preload();
	obs_init_srf(fcinfo, OVERHEAD_COLS);
	run_recommend(&ctx, get_func_namespace(fcinfo->flinfo->fn_oid));

	for (int i = 0; i < ctx.ntables; i++)
	{
		TableInfo  *t = &ctx.tables[i];
		List	   *set = NIL;
		double		bytes = 0;
		double		wo,
					up,
					ib,
					tb;
		ListCell   *lc;

		foreach(lc, ctx.chosen)
		{
			Choice	   *ch = lfirst(lc);

			if (!ch->c->dropped && ch->c->relid == t->relid)
			{
				set = lappend(set, ch->c);
				bytes += ch->c->pages * BLCKSZ;
			}
		}
		if (set == NIL)
			continue;
		adv_write_overhead(&ctx, t, set, &wo, &up, &ib, &tb);
		overhead_row(rsinfo, t, list_length(set), bytes, ib, tb, Max(up, 0),
					 up >= 0, t->write_heavy);
		all_n += list_length(set);
		all_bytes += bytes;
		all_ib += ib;
		all_tb += tb;
		if (up < 0)
			all_up_known = false;
		else
		{
			all_up_rows += t->writes.upd_rows;
			all_lost += t->writes.upd_rows * up / 100.0;
		}
	}
	if (all_n > 0)
		overhead_row(rsinfo, NULL, all_n, all_bytes, all_ib, all_tb,
					 all_up_rows > 0 ? 100.0 * all_lost / all_up_rows : 0,
					 all_up_known, false);
	return (Datum) 0;
}

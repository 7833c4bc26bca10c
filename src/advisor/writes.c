/*-------------------------------------------------------------------------
 *
 * writes.c
 *		Index advisor: what indexes cost the writes of a table.
 *
 * Write traffic comes from observa's own table statistics: the rows each
 * table's INSERT, UPDATE, DELETE and MERGE statements wrote since the
 * statistics were reset, read through observa.table_stats() (the SQL
 * function, so this room does not reach into another room's memory).  A
 * table is write-heavy when at least observa.advisor_write_heavy percent
 * of its statements write; select.c merges indexes on such tables.  A
 * partitioned table counts the statements on the parent (each statement
 * once).  Without table statistics the advisor's own captured statements
 * stand in.
 *
 * The figures reported per index and for the set, as pganalyze's Index
 * Advisor reports them:
 *	- write overhead: bytes written to the index per byte written to the
 *	  table, at the observed rates.  Each inserted row writes one heap
 *	  tuple and one entry in each index (a partial index: only for the
 *	  rows its predicate keeps); an UPDATE writes a new heap tuple, and a
 *	  new entry in every index unless it is HOT;
 *	- update overhead: the share of the observed UPDATEs (rows) that are
 *	  HOT today (they set no column an existing index uses) and would no
 *	  longer be, because the index uses a column they set (in a key,
 *	  an expression or its predicate).  Which columns an UPDATE sets comes
 *	  from the captured statements.
 * HOT also needs room on the page; neither figure models that.
 *
 * The write cost weighed in the greedy selection (adv_write_penalty) is
 * in planner cost units over the captured window: random_page_cost per
 * index entry the captured writes would add.
 *
 * Runs in the calling backend; SPI for the statistics.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/itup.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "storage/itemid.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "recommend.h"
#include "../sandbox.h"

/* the rows of observa.table_stats() for this database, into the tables */
static void
read_stats_fn(void *arg)
{
	Ctx		   *ctx = (Ctx *) arg;
	char	   *nsp = get_namespace_name(ctx->nspid);
	char	   *sql;

	if (nsp == NULL)
		return;
	sql = psprintf("SELECT relid, operation, calls, rows,"
				   " extract(epoch FROM clock_timestamp() - stats_since)::float8"
				   " FROM %s.table_stats() WHERE datname = current_database()"
				   " AND relid IS NOT NULL", quote_identifier(nsp));
	if (SPI_connect() != SPI_OK_CONNECT)
		return;
	if (SPI_execute(sql, true, 0) == SPI_OK_SELECT)
	{
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			Oid			relid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
			char	   *op = SPI_getvalue(tup, desc, 2);
			double		calls = (double) DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
			double		rows = (double) DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
			double		secs = DatumGetFloat8(SPI_getbinval(tup, desc, 5, &isnull));
			TableInfo  *t = adv_table(ctx, relid);
			TableWrites *w;

			if (t == NULL || op == NULL)
				continue;
			w = &t->writes;
			w->observed = true;
			w->calls += calls;
			w->seconds = Max(w->seconds, isnull ? 0 : secs);
			if (strcmp(op, "INSERT") == 0 || strcmp(op, "MERGE") == 0)
				w->ins_rows += rows;
			else if (strcmp(op, "UPDATE") == 0)
				w->upd_rows += rows;
			else if (strcmp(op, "DELETE") == 0)
				w->del_rows += rows;
			else
				continue;
			w->write_calls += calls;
		}
	}
	SPI_finish();
}

/* captured statements instead, when table statistics have nothing */
static void
captured_writes(Ctx *ctx, TableInfo *t)
{
	TableWrites *w = &t->writes;
	double		secs;

	secs = (double) (GetCurrentTimestamp() - adv_shared->reset_at) / USECS_PER_SEC;
	w->seconds = Max(secs, 1);
	w->ins_rows = t->rows_inserted;
	w->upd_rows = t->rows_updated;
	for (int i = 0; i < ctx->nstmts; i++)
	{
		AdvQuery   *q = &ctx->stmts[i].q;
		bool		touches = (q->target_relid == t->relid);

		for (int s = 0; s < q->nscans && !touches; s++)
			touches = (q->scans[s].relid == t->relid);
		if (!touches)
			continue;
		w->calls += q->calls;
		if (q->target_relid == t->relid && q->operation != OBS_OP_SELECT)
			w->write_calls += q->calls;
	}
}

/*
 * Write traffic per table, and which tables are write-heavy.  Rows become
 * rates (per second) here.
 */
void
adv_read_table_writes(Ctx *ctx)
{
	/* observa's own query, as the caller, restricted like every step */
	(void) obs_sandbox_run(GetUserId(), NULL, read_stats_fn, ctx);
	for (int i = 0; i < ctx->ntables; i++)
	{
		TableInfo  *t = &ctx->tables[i];
		TableWrites *w = &t->writes;

		if (!w->observed)
			captured_writes(ctx, t);
		if (w->seconds <= 0)
			w->seconds = 1;
		w->ins_rows /= w->seconds;
		w->upd_rows /= w->seconds;
		w->del_rows /= w->seconds;
		t->write_heavy = w->calls > 0 &&
			w->write_calls >= w->calls * adv_write_heavy / 100.0;
	}
}

/*
 * Captured UPDATE rows of a table: all, those already not HOT (they set a
 * column an existing index uses), and those an index using 'cols' would
 * make lose HOT.
 */
static void
update_rows(Ctx *ctx, TableInfo *t, uint64 cols, double *all, double *nonhot,
			double *lost)
{
	*all = *nonhot = *lost = 0;
	for (int i = 0; i < ctx->nstmts; i++)
	{
		AdvQuery   *q = &ctx->stmts[i].q;

		if (q->operation != OBS_OP_UPDATE || q->target_relid != t->relid)
			continue;
		*all += q->dml_rows;
		if (q->updated_cols & t->indexed_cols)
			*nonhot += q->dml_rows;
		else if (q->updated_cols & cols)
			*lost += q->dml_rows;
	}
}

/* bytes of one index entry: the tuple and its line pointer */
double
adv_index_tuple_bytes(AdvCandidate *c)
{
	if (c->amoid != BTREE_AM_OID)
		return 48.0;			/* GIN, rough (as its size estimate) */
	return MAXALIGN(sizeof(IndexTupleData) + adv_key_width(c)) + sizeof(ItemIdData);
}

/*
 * Planner-cost write cost of c over the captured window: random_page_cost
 * per entry the captured inserts and non-HOT updates would add.
 */
double
adv_write_penalty(Ctx *ctx, AdvCandidate *c)
{
	TableInfo  *t = adv_table(ctx, c->relid);
	double		all,
				nonhot,
				lost;

	if (t == NULL)
		return 0;
	update_rows(ctx, t, adv_cand_columns(c), &all, &nonhot, &lost);
	c->hot_blocking = lost > 0;
	return (t->rows_inserted + nonhot + lost) * c->fraction * random_page_cost;
}

/*
 * Write overhead and update overhead of the indexes 'cands' (all on
 * table t) taken together, at the observed rates; also the index and
 * table bytes written per second.  *write_overhead is -1 when the table
 * writes nothing, *update_pct -1 when UPDATEs were observed but none was
 * captured (their columns are unknown).
 */
void
adv_write_overhead(Ctx *ctx, TableInfo *t, List *cands, double *write_overhead,
				   double *update_pct, double *index_bytes_per_s,
				   double *table_bytes_per_s)
{
	TableWrites *w = &t->writes;
	uint64		cols = 0;
	double		all,
				nonhot,
				lost;
	double		nonhot_share = 0,
				lost_share = 0;
	double		idx = 0;
	ListCell   *lc;

	foreach(lc, cands)
		cols |= adv_cand_columns((AdvCandidate *) lfirst(lc));
	update_rows(ctx, t, cols, &all, &nonhot, &lost);
	if (all > 0)
	{
		nonhot_share = nonhot / all;
		lost_share = lost / all;
	}
	foreach(lc, cands)
	{
		AdvCandidate *c = lfirst(lc);

		idx += adv_index_tuple_bytes(c) * c->fraction *
			(w->ins_rows + w->upd_rows * (nonhot_share + lost_share));
	}
	*index_bytes_per_s = idx;
	*table_bytes_per_s = t->tuple_bytes * (w->ins_rows + w->upd_rows);
	*write_overhead = *table_bytes_per_s > 0 ? idx / *table_bytes_per_s : -1;
	if (w->upd_rows <= 0)
		*update_pct = 0;
	else
		*update_pct = all > 0 ? 100.0 * lost_share : -1;
}

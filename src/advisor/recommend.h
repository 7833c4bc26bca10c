/*-------------------------------------------------------------------------
 *
 * recommend.h
 *		Index advisor: the state of one recommend_indexes() run, shared by
 *		the files that do its steps (all in the calling backend, nothing
 *		shared):
 *
 *	  recommend.c		the run: snapshot, re-planning, output
 *	  run.c				the guard, table lookup, plan context, fake OIDs:
 *						called by all the others, calling none of them
 *	  colstats.c		column statistics (pg_statistic): distinct values,
 *						most common values, heaviest and small tenants
 *	  distribution.c	each statement's "ends": its example planned for a
 *						heavy and for a small tenant
 *	  candidates.c		candidate indexes and the key-order rules
 *	  select.c			choosing the set: benefit, tenant distribution,
 *						merging on write-heavy tables, redundancy
 *	  writes.c			write traffic per table (observa.table_stats), write
 *						and update overhead of indexes and of the set
 *
 *-------------------------------------------------------------------------
 */
#ifndef OBSERVA_ADVISOR_RECOMMEND_H
#define OBSERVA_ADVISOR_RECOMMEND_H

#include "advisor.h"

#include "nodes/bitmapset.h"

#define ADV_MAX_ENDS		2	/* tenant ends a statement is costed at */
#define ADV_MAX_ROUNDS		16	/* indexes chosen per run, at most */

/* statistics of one column (colstats.c) */
typedef struct AdvColStats
{
	bool		valid;			/* pg_statistic has a row */
	double		ndistinct;		/* absolute */
	double		nullfrac;
	double		top_freq;		/* frequency of the most common value; 0: none */
	double		mcv_total;		/* summed frequencies of the MCV list */
	int			nmcv;
	Oid			type;
	/* heaviest and a small value (tenants), when asked for */
	bool		has_heavy;
	Datum		heavy;
	double		heavy_freq;
	bool		has_small;
	Datum		small;
	double		small_freq;
} AdvColStats;

/* one tenant end of a statement (distribution.c) */
typedef struct StmtEnd
{
	AdvExample	ex;				/* the example, tenant value substituted */
	char	   *tenant;			/* tenant value as text, NULL: as captured */
	double		tenant_freq;	/* its share of the table's rows */
	bool		heavy;			/* the heaviest tenant */
	double		base_cost;		/* without recommended indexes */
	double		cur_cost;		/* with the indexes chosen so far */
	bool		helpable;		/* some candidate helps it (first round) */
} StmtEnd;

/* columns a statement refers to on one table (relevance of candidates) */
typedef struct StmtRefs
{
	Oid			relid;
	Bitmapset  *cols;			/* attnums: predicates, joins, sort keys */
} StmtRefs;

/* one captured statement, as this run sees it */
typedef struct Stmt
{
	AdvQuery	q;				/* copy of the shared entry */
	char	   *search_path;	/* captured with the example, or NULL */
	AdvExample	ex;				/* the example as captured */
	bool		ok;				/* example parsed and planned */
	int			nends;
	StmtEnd		ends[ADV_MAX_ENDS];
	Oid			tenant_relid;	/* table whose tenant equality was varied */
	bool		tenant_from_join;	/* tenant supplied by a join at run time */
	List	   *refs;			/* StmtRefs * */
	double		try_cost[ADV_MAX_ENDS];		/* scratch */
	bool		try_used[ADV_MAX_ENDS];
} Stmt;

/* write traffic of a table (writes.c) */
typedef struct TableWrites
{
	bool		observed;		/* observa.table_stats had rows for it */
	double		calls;			/* statements of any operation */
	double		write_calls;	/* INSERT, UPDATE, DELETE, MERGE */
	double		ins_rows;		/* rows per second */
	double		upd_rows;
	double		del_rows;
	double		seconds;		/* covered by the figures */
} TableWrites;

/* per table facts */
typedef struct TableInfo
{
	Oid			relid;
	bool		partitioned;
	List	   *partitions;		/* leaf partitions */
	List	   *stmts;			/* ints: statements that scan it */
	AttrNumber	tenant_att;
	bool		tenant_detected;
	double		tenant_share;
	double		tenant_distinct;
	AdvColStats tenant_stats;
	double		rows_inserted;	/* captured, estimated */
	double		rows_updated;
	uint64		updated_cols;
	uint64		indexed_cols;	/* columns existing indexes use (HOT) */
	double		reltuples;
	double		tuple_bytes;	/* heap tuple incl. header and line pointer */
	TableWrites writes;
	bool		write_heavy;
	/* low-cardinality judgements, cached */
	Bitmapset  *judged;
	Bitmapset  *low_card;
} TableInfo;

typedef struct Ctx
{
	Stmt	   *stmts;
	int			nstmts;
	List	   *cands;			/* AdvCandidate * */
	TableInfo  *tables;
	int			ntables;
	List	   *chosen;			/* Choice * */
	int			next_fake;		/* fake index oids handed out */
	Oid			nspid;			/* observa's schema */
	List	   *untrusted;		/* "relid reason" strings, reported once each */
} Ctx;

/* a chosen index and the statements it serves */
typedef struct Choice
{
	AdvCandidate *c;
	List	   *stmt_idx;
	double		cost_before;
	double		cost_after;
	double		calls;
	int			merged;			/* candidates merged into it */
} Choice;

/* run.c */
extern MemoryContext adv_plan_cxt;
typedef void (*adv_guarded_fn) (void *arg);
extern bool adv_guarded(Stmt *s, adv_guarded_fn fn, void *arg);
extern TableInfo *adv_table(Ctx *ctx, Oid relid);
extern void adv_number_candidate(Ctx *ctx, AdvCandidate *c);

/* colstats.c */
extern bool adv_column_stats(Oid relid, AttrNumber att, bool inherited,
							 double reltuples, bool want_values,
							 AdvColStats *out);
extern char *adv_datum_text(Datum value, Oid type);

/* distribution.c */
extern void adv_build_ends(Ctx *ctx, Stmt *s);
extern void adv_plan_ends(Stmt *s, List *hypos, Oid must_use, int first,
						  int last);
extern char *adv_tenants_tried(Ctx *ctx, List *stmt_idx);

/* candidates.c */
extern void adv_plan_candidates(Ctx *ctx, int si, PlannedStmt *pstmt, Plan *plan);
extern void adv_merge_prefixes(Ctx *ctx);
extern void adv_forget_opclasses(void);
extern List *adv_query_join_columns(Query *query, Oid relid);
extern bool adv_served_by_existing(AdvCandidate *c);
extern bool adv_cand_touches(AdvCandidate *c, uint64 cols);
extern uint64 adv_cand_columns(AdvCandidate *c);
extern bool adv_low_card(TableInfo *t, AttrNumber att);
extern bool adv_key_order_ok(Ctx *ctx, AdvCandidate *c, List *stmt_idx);
extern bool adv_relevant(Stmt *s, AdvCandidate *c);
extern AdvCandidate *adv_merge_keys(AdvCandidate *a, AdvCandidate *b);
extern double adv_partial_rows(Ctx *ctx, AdvCandidate *c, Stmt *s);
extern void adv_size_candidate(Ctx *ctx, AdvCandidate *c, Stmt *s);

/* select.c */
extern void adv_choose(Ctx *ctx);
extern List *adv_hypos_with(Ctx *ctx, AdvCandidate *c, AdvCandidate *without,
							AdvCandidate *without2);

/* writes.c */
extern void adv_read_table_writes(Ctx *ctx);
extern double adv_write_penalty(Ctx *ctx, AdvCandidate *c);
extern void adv_write_overhead(Ctx *ctx, TableInfo *t, List *cands,
							   double *write_overhead, double *update_pct,
							   double *index_bytes_per_s,
							   double *table_bytes_per_s);
extern double adv_index_tuple_bytes(AdvCandidate *c);

#endif							/* OBSERVA_ADVISOR_RECOMMEND_H */

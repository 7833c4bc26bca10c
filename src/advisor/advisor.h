/*-------------------------------------------------------------------------
 *
 * advisor.h
 *		Index advisor: declarations shared by its files (docs/advisor.md).
 *
 *	  capture.c		workload capture: sampled statements' scan predicates,
 *					sort keys, DML rows and one example with parameters per
 *					statement, in bounded shared memory
 *	  hypo.c		hypothetical indexes (get_relation_info_hook) and
 *					re-planning of captured examples
 *	  partitions.c	partitioned tables: root mapping, build steps
 *	  recommend.c	recommend_indexes(): the run, its output
 *	  colstats.c, distribution.c, candidates.c, select.c, writes.c
 *					the steps of a run (recommend.h)
 *	  create.c		safe creation through a background worker
 *	  trust.c		which functions and operators an index may hold
 *
 *-------------------------------------------------------------------------
 */
#ifndef OBSERVA_ADVISOR_H
#define OBSERVA_ADVISOR_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "nodes/parsenodes.h"
#include "nodes/pg_list.h"
#include "nodes/plannodes.h"
#include "nodes/primnodes.h"
#include "storage/lwlock.h"
#include "storage/spin.h"

#include "../observa.h"

/* predicate classes */
typedef enum AdvPredClass
{
	ADV_EQ = 0,					/* col = value (also join equality) */
	ADV_RANGE,					/* <, <=, >, >= */
	ADV_IN,						/* col = ANY(array), IN (...) */
	ADV_LIKE_PREFIX,			/* col LIKE 'abc%' */
	ADV_FTS,					/* tsvector @@ tsquery */
	ADV_ISNULL,					/* col IS NULL */
	ADV_OTHER,					/* anything else on one column (<>, LIKE '%x') */
	ADV_NCLASSES
} AdvPredClass;

extern const char *const adv_class_names[ADV_NCLASSES];

/* predicate flags */
#define ADV_PF_EXPR		0x01	/* on an expression of the column */
#define ADV_PF_CONST	0x02	/* compared with a literal constant */
#define ADV_PF_VARIES	0x04	/* that constant differed between runs */

#define ADV_MAX_SCANS	6		/* scanned tables remembered per statement */
#define ADV_MAX_PREDS	8		/* predicates remembered per scan */
#define ADV_MAX_SORT	3		/* ORDER BY ... LIMIT keys per statement */
#define ADV_EXAMPLE_LEN 2048	/* bytes of one example (text + params) */
#define ADV_CREATE_SLOTS 8		/* queued or remembered index builds */
#define ADV_MAX_CREATED 32		/* created indexes whose effect we follow */
#define ADV_EFFECT_QUERIES 8	/* statements followed per created index */

typedef struct AdvPred
{
	int16		attnum;
	uint8		cls;			/* AdvPredClass */
	uint8		flags;			/* ADV_PF_* */
	Oid			funcid;			/* top function of an expression, or 0 */
	uint32		consthash;		/* hash of the literal (ADV_PF_CONST) */
	uint64		count;			/* sampled executions evaluating it */
} AdvPred;

typedef struct AdvScan
{
	Oid			relid;
	int16		npreds;
	int16		nsort;			/* sort keys of ORDER BY ... LIMIT */
	AdvPred		preds[ADV_MAX_PREDS];
	int16		sort_att[ADV_MAX_SORT];
	bool		sort_desc[ADV_MAX_SORT];
	double		rows_removed;	/* by filters, summed over sampled runs */
	double		rows_out;
} AdvScan;

/* one plan-shape fingerprint of a statement (plan_shape.c) */
#define ADV_PLAN_SHAPES 4

typedef struct AdvPlanShape
{
	uint64		fp;				/* 0: free slot */
	TimestampTz first_seen;		/* statement start of the first sample */
	TimestampTz last_seen;		/* ... of the last one */
	int64		samples;
} AdvPlanShape;

/*
 * One captured statement (queryid) of one database.  Entries live in a
 * fixed array; see capture.c for the locking protocol.
 */
typedef struct AdvQuery
{
	bool		used;
	Oid			dbid;
	uint64		queryid;
	Oid			userid;			/* role that ran the example (re-planned as it) */
	slock_t		mutex;			/* protects the counters below */
	double		calls;			/* estimated executions: sum of 1/rate */
	int64		sampled;		/* sampled executions */
	double		total_ms;		/* over sampled executions */
	double		dml_rows;		/* estimated rows written (target_relid) */
	uint64		last_used;		/* clock for eviction */
	/* shape: set when the entry is created, under the exclusive lock */
	uint8		operation;		/* ObsOperation */
	Oid			target_relid;
	uint64		updated_cols;	/* attnums 1..64 an UPDATE sets */
	int16		nscans;
	AdvScan		scans[ADV_MAX_SCANS];
	AdvPlanShape shapes[ADV_PLAN_SHAPES];	/* under mutex, plan_shape.c */

	/*
	 * example: replaced under the exclusive lock.  The execution kept is
	 * the one whose text and parameters hash lowest, so the same traffic
	 * keeps the same example whatever order it ran in.
	 */
	uint32		example_key;
	int			example_len;	/* 0: none */
	char		example[ADV_EXAMPLE_LEN];
} AdvQuery;

/* one background index build (create.c) */
typedef enum AdvSlotState
{
	ADV_SLOT_FREE = 0,
	ADV_SLOT_QUEUED,			/* worker launched, waiting for its turn */
	ADV_SLOT_BUILDING,			/* running CREATE INDEX CONCURRENTLY */
	ADV_SLOT_DONE				/* finished; kept for index_builds() */
} AdvSlotState;

typedef struct AdvCreateSlot
{
	AdvSlotState state;
	uint64		seq;			/* order of queueing */
	Oid			dbid;
	Oid			roleid;			/* current role of the caller: builds as it */
	Oid			session_roleid; /* login role the worker connects as */
	Oid			relid;
	int			pid;
	bool		ok;
	bool		drop_first;		/* an invalid index of that name exists */
	bool		standard_conforming_strings;	/* the caller's, for parsing sql */
	bool		dropped_invalid;
	TimestampTz queued_at;
	TimestampTz finished_at;
	char		nspname[NAMEDATALEN];
	char		idxname[NAMEDATALEN];
	char		search_path[256];
	char		sql[ADV_EXAMPLE_LEN * 2];
	char		message[512];
	/* the table's statements at queueing time, for the effect */
	int			nqueries;
	uint64		queryids[ADV_EFFECT_QUERIES];
	double		calls_before[ADV_EFFECT_QUERIES];
	double		ms_before[ADV_EFFECT_QUERIES];
} AdvCreateSlot;

/* an index observa created, with its statements' latency at creation */
typedef struct AdvCreated
{
	bool		used;
	Oid			dbid;
	Oid			relid;
	char		idxname[NAMEDATALEN];
	TimestampTz created_at;
	int			nqueries;
	uint64		queryids[ADV_EFFECT_QUERIES];
	double		calls_before[ADV_EFFECT_QUERIES];	/* sampled */
	double		ms_before[ADV_EFFECT_QUERIES];
} AdvCreated;

typedef struct AdvShared
{
	LWLock		lock;			/* see capture.c */
	int			tranche_id;
	uint64		clock;
	int64		evictions;
	int64		examples_too_long;
	uint64		build_seq;
	TimestampTz reset_at;
	AdvCreateSlot slots[ADV_CREATE_SLOTS];
	AdvCreated	created[ADV_MAX_CREATED];
	int			max_queries;
	AdvQuery	queries[FLEXIBLE_ARRAY_MEMBER];
} AdvShared;

extern AdvShared *adv_shared;
/* the advisor's lock counter (core.h), set at shared-memory start-up */
extern int	adv_lock_id;

/* GUCs */
extern double adv_sample_rate;
extern int	adv_sample_interval;
extern int	adv_max_queries;
extern double adv_min_improvement;
extern double adv_merge_tolerance;
extern double adv_write_heavy;

/* capture.c */
extern void adv_capture_init(void);
extern Size adv_capture_shmem_size(void);
extern void adv_capture_shmem_startup(void);
extern void adv_capture_executor_start(QueryDesc *queryDesc, int eflags);
extern void adv_capture_record(const ObsSample *sample);
extern void adv_lock_attach(void);

/* partitions.c */
typedef enum AdvStepKind
{
	ADV_STEP_BUILD,				/* CREATE INDEX CONCURRENTLY on a table */
	ADV_STEP_PARENT,			/* CREATE INDEX ... ON ONLY a partitioned table */
	ADV_STEP_ATTACH				/* ALTER INDEX ... ATTACH PARTITION */
} AdvStepKind;

typedef struct AdvStep
{
	AdvStepKind kind;
	Oid			relid;			/* table the index is on (ATTACH: the child) */
	char	   *nspname;		/* its schema: the index's schema too */
	char	   *index_name;		/* index created (ATTACH: the child's) */
	char	   *sql;
} AdvStep;

extern Oid	adv_partition_root(Oid relid);
extern AttrNumber adv_map_attnum(Oid from, Oid to, AttrNumber attnum);
extern List *adv_partition_leaves(Oid root);
extern Node *adv_map_vars(Node *node, Oid from, Oid to);
extern char *adv_index_name(const char *relname, const char *namecols,
							const char *keys, const char *where);
extern List *adv_build_steps(const char *def, IndexStmt *stmt, Oid relid);

/*
 * One classified predicate: the column (or expression of one column) of
 * the scanned relation and the other side.
 */
typedef struct AdvQual
{
	AdvPredClass cls;
	AttrNumber	attnum;
	Expr	   *colexpr;		/* Var, or expression over one Var */
	Expr	   *clause;			/* the whole clause */
	Expr	   *value;			/* the other side (may be NULL) */
	bool		is_const;		/* value is a Const */
	bool		like_prefix_known;	/* LIKE with a constant pattern */
} AdvQual;

extern bool adv_classify_qual(Expr *clause, Index scanrelid, AdvQual *out);
extern List *adv_scan_quals(Plan *plan, Index *scanrelid);

/* hypo.c */
#define ADV_MAX_COLS 6

/*
 * A candidate index.  Expressions and the predicate use varno 1; the
 * hypothetical-index hook rewrites them for the relation being planned.
 */
typedef struct AdvCandidate
{
	Oid			relid;
	Oid			amoid;
	int			ncols;
	AttrNumber	attnums[ADV_MAX_COLS];	/* 0: expression */
	Expr	   *exprs[ADV_MAX_COLS];
	Oid			opclass[ADV_MAX_COLS];
	bool		desc[ADV_MAX_COLS];
	List	   *pred;			/* implicit-AND list, or NIL */
	List	   *partitions;		/* partitioned table: its leaf partitions */
	double		fraction;		/* share of the table's rows it holds */
	Oid			fakeoid;
	double		tuples;			/* index entries */
	double		pages;
	int			tree_height;
	/* recommend.c bookkeeping */
	List	   *query_idx;		/* ints: statements it was built for */
	bool		chosen;
	bool		dropped;
	bool		tenant_leading;
	bool		hot_blocking;
	double		benefit;
	double		penalty;
} AdvCandidate;

/* a captured example, parsed and ready to be planned again */
typedef struct AdvExample
{
	char	   *text;
	Query	   *query;
	ParamListInfo params;
} AdvExample;

extern uint64 adv_plans_made;
extern void adv_hypo_init(void);
extern void adv_estimate_size(AdvCandidate *c, double tuples);
extern double adv_key_width(AdvCandidate *c);
extern char *adv_example_search_path(const char *buf, int len);
extern bool adv_example_prepare(const char *buf, int len, AdvExample *ex);
extern PlannedStmt *adv_example_plan(AdvExample *ex, List *hypos);
extern bool adv_plan_uses(PlannedStmt *pstmt, Oid indexoid);

/* plan_shape.c */
extern uint64 adv_plan_fingerprint(PlannedStmt *pstmt);
extern void adv_plan_shape_note(AdvQuery *q, uint64 fp, TimestampTz ts);

/* replaces.c */
extern List *adv_replaced_indexes(AdvCandidate *c);

/* trust.c */
extern char *adv_untrusted_reason(Node *expr, Oid relid);
extern char *adv_index_untrusted(IndexStmt *stmt, Oid relid);

/* create.c */
extern PGDLLEXPORT void observa_advisor_worker_main(Datum arg);

#endif							/* OBSERVA_ADVISOR_H */

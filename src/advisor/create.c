/*-------------------------------------------------------------------------
 *
 * create.c
 *		Index advisor: build indexes safely.
 *
 * observa.create_index(index_def) checks the definition (exactly one
 * CREATE INDEX CONCURRENTLY naming its index), that the caller owns the
 * table, that every function, operator and domain in its keys and
 * predicate is trusted (trust.c: owned by a superuser or the table's
 * owner), and that no valid index of that name or with the same plain key
 * columns exists; then it queues the build in a shared slot and starts a
 * dynamic background worker connected to the same database as the calling
 * role, with the caller's search_path and standard_conforming_strings.
 *
 * The worker checks the statement again itself, in the transaction that
 * starts the build: it parses it under the caller's
 * standard_conforming_strings, requires exactly one CREATE INDEX
 * CONCURRENTLY with the queued index name whose table resolves to the
 * queued table OID (locked ShareUpdateExclusiveLock, as the build locks
 * it, so the name cannot move to another table before the build), pins
 * the table's schema, transforms the statement and checks trust on the
 * transformed keys and predicate, then runs exactly that transformed
 * statement as a top-level statement through a portal, as a client's
 * simple query would run, which is what CONCURRENTLY requires (it cannot
 * run in a transaction block or a function).
 *
 * The caller does not wait for the build: CREATE INDEX CONCURRENTLY waits
 * for every transaction holding an older snapshot to end, and the
 * caller's own statement holds one, so waiting would hang both.  The
 * build proceeds once the caller's transaction ends; its outcome is shown
 * by observa.index_builds().  Builds in one database run one at a time,
 * in queueing order (two concurrent builds on one table can deadlock).
 * When a build fails, the invalid index it leaves is dropped by OID: in
 * one transaction the worker locks the table and the index
 * (ShareUpdateExclusiveLock: nothing can validate or rename the index
 * meanwhile), checks that the index is still invalid and on the queued
 * table, and starts DROP INDEX CONCURRENTLY of it.
 *
 * A partitioned table's index is built as a DBA builds one (partitions.c,
 * adv_build_steps): CREATE INDEX ... ON ONLY the parent, CREATE INDEX
 * CONCURRENTLY on each leaf partition, ALTER INDEX ... ATTACH PARTITION
 * each.  The worker checks each CREATE INDEX step as it checks a table's
 * statement (its name, its table resolved and locked, trusted keys) and
 * runs the checked statement, each step a top-level statement in its own
 * transaction.  When a step fails it drops every index this build
 * created, each by OID after checking it is still on the table it was
 * built on: the parent's first (DROP INDEX; it takes the partition indexes
 * attached to it along), then the partitions' left, concurrently.
 *
 * After a successful build the worker records the index with the table's
 * captured statements' sampled latency at queueing time;
 * observa.advisor_index_effect() compares it with their latency since.
 *
 * Locking: the slots and created-index records are read and written under
 * adv_shared->lock (exclusive to change them).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_inherits.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_utilcmd.h"
#include "parser/parser.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "advisor.h"

/* ---------- caller side ---------- */

/* the index named idxname in namespace nsp: its oid, and whether valid */
static Oid
index_by_name(Oid nsp, const char *idxname, bool *valid)
{
	Oid			idx = get_relname_relid(idxname, nsp);
	HeapTuple	tup;

	*valid = false;
	if (!OidIsValid(idx))
		return InvalidOid;
	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(idx));
	if (HeapTupleIsValid(tup))
	{
		*valid = ((Form_pg_index) GETSTRUCT(tup))->indisvalid;
		ReleaseSysCache(tup);
	}
	return idx;
}

/*
 * A valid index on relid with exactly the plain key columns (and
 * directions) of stmt, no predicate, same method; NULL if none or if stmt
 * has expressions, opclasses or a predicate (then the name decides).
 */
static char *
equivalent_index(Oid relid, IndexStmt *stmt)
{
	Relation	rel;
	List	   *indexes;
	ListCell   *lc;
	AttrNumber	atts[INDEX_MAX_KEYS];
	bool		desc[INDEX_MAX_KEYS];
	int			n = 0;
	char	   *found = NULL;
	const char *am = stmt->accessMethod ? stmt->accessMethod : "btree";

	if (stmt->whereClause || stmt->indexIncludingParams || stmt->unique)
		return NULL;
	foreach(lc, stmt->indexParams)
	{
		IndexElem  *e = lfirst_node(IndexElem, lc);

		if (e->name == NULL || e->expr || e->opclass || e->collation ||
			n >= INDEX_MAX_KEYS || e->nulls_ordering != SORTBY_NULLS_DEFAULT)
			return NULL;
		atts[n] = get_attnum(relid, e->name);
		if (atts[n] == InvalidAttrNumber)
			return NULL;
		desc[n] = (e->ordering == SORTBY_DESC);
		n++;
	}
	rel = table_open(relid, AccessShareLock);
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		Relation	idx = index_open(lfirst_oid(lc), AccessShareLock);
		Form_pg_index form = idx->rd_index;
		bool		same = form->indisvalid && form->indnkeyatts == n &&
			form->indnatts == n && RelationGetIndexPredicate(idx) == NIL &&
			strcmp(get_am_name(idx->rd_rel->relam), am) == 0;

		for (int i = 0; same && i < n; i++)
			if (form->indkey.values[i] != atts[i] ||
				((idx->rd_indoption[i] & INDOPTION_DESC) != 0) != desc[i])
				same = false;
		if (same)
			found = pstrdup(RelationGetRelationName(idx));
		index_close(idx, AccessShareLock);
		if (found)
			break;
	}
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * Raise an ERROR when the definition's keys or predicate use a function,
 * operator or domain that may not appear in an index (trust.c).  Checks
 * the statement as CREATE INDEX would transform it; relid is locked.
 */
static void
check_trusted(Oid relid, IndexStmt *stmt, const char *sql)
{
	IndexStmt  *t = transformIndexStmt(relid, copyObject(stmt), sql);
	char	   *reason = adv_index_untrusted(t, relid);

	if (reason != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("index_def uses a function, operator or domain that observa does not put in an index"),
				 errdetail("The index uses %s.", reason),
				 errhint("observa builds only indexes whose functions, operators and domains are owned by a superuser or by the table's owner; run the statement yourself if you trust it.")));
}

/* the table's captured statements and their sampled latency, now */
static void
effect_snapshot(AdvCreateSlot *slot, Oid relid)
{
	slot->nqueries = 0;
	for (int i = 0; i < adv_shared->max_queries && slot->nqueries < ADV_EFFECT_QUERIES; i++)
	{
		AdvQuery   *q = &adv_shared->queries[i];
		bool		scans = false;

		if (!q->used || q->dbid != MyDatabaseId)
			continue;
		for (int s = 0; s < q->nscans; s++)
			if (q->scans[s].relid == relid)
				scans = true;
		if (!scans || q->operation != OBS_OP_SELECT)
			continue;
		OBS_SPIN_ACQUIRE(adv_lock_id, &q->mutex);
		slot->queryids[slot->nqueries] = q->queryid;
		slot->calls_before[slot->nqueries] = q->sampled;
		slot->ms_before[slot->nqueries] = q->total_ms;
		SpinLockRelease(&q->mutex);
		slot->nqueries++;
	}
}

static void
return_row(FunctionCallInfo fcinfo, const char *name, const char *status,
		   const char *detail, Datum *result)
{
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = CStringGetTextDatum(name);
	values[1] = CStringGetTextDatum(status);
	values[2] = CStringGetTextDatum(detail);
	*result = HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

/*
 * The checked IndexStmt of argument 0: not NULL, not too long, exactly one
 * CREATE INDEX CONCURRENTLY statement that names its index.
 */
static IndexStmt *
parse_index_def(FunctionCallInfo fcinfo, char **def_out)
{
	char	   *def;
	List	   *raw;
	IndexStmt  *stmt;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("index_def must not be NULL"),
				 errhint("Pass an index_def from observa.recommend_indexes().")));
	def = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (strlen(def) >= sizeof(((AdvCreateSlot *) NULL)->sql))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("index_def is too long"),
				 errdetail("At most %d bytes are accepted.",
						   (int) sizeof(((AdvCreateSlot *) NULL)->sql) - 1)));

	raw = raw_parser(def, RAW_PARSE_DEFAULT);
	if (list_length(raw) != 1 ||
		!IsA(linitial_node(RawStmt, raw)->stmt, IndexStmt))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("index_def must be exactly one CREATE INDEX statement"),
				 errhint("Pass an index_def from observa.recommend_indexes().")));
	stmt = (IndexStmt *) linitial_node(RawStmt, raw)->stmt;
	if (!stmt->concurrent)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("index_def must use CREATE INDEX CONCURRENTLY"),
				 errhint("observa builds indexes without blocking writes; write CREATE INDEX CONCURRENTLY.")));
	if (stmt->idxname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("index_def must name the index"),
				 errhint("Write CREATE INDEX CONCURRENTLY IF NOT EXISTS name ON ...")));

	*def_out = def;
	return stmt;
}

/* a table, materialized view or partitioned table; WRONG_OBJECT_TYPE else */
static void
check_kind(Oid relid)
{
	char		relkind = get_rel_relkind(relid);

	if (relkind != RELKIND_RELATION && relkind != RELKIND_MATVIEW &&
		relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table or materialized view",
						get_rel_name(relid))));
}

/*
 * The caller must own the table, and for a partitioned table every
 * partition too: the worker builds an index on each of them.
 */
static void
check_owner(Oid relid)
{
	List	   *members = list_make1_oid(relid);
	ListCell   *lc;

	if (get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE)
		members = find_all_inheritors(relid, AccessShareLock, NULL);
	foreach(lc, members)
	{
		Oid			m = lfirst_oid(lc);

		if (!object_ownercheck(RelationRelationId, m, GetUserId()))
			aclcheck_error(ACLCHECK_NOT_OWNER,
						   get_relkind_objtype(get_rel_relkind(m)),
						   get_rel_name(m));
	}
}

/*
 * observa_create_index serves 1.0's SQL and observa_create_index_1_1
 * 1.1's; the shape (index_name, status, detail) is the same.
 */
#define CREATE_INDEX_COLS 3

static Datum create_index_internal(FunctionCallInfo fcinfo);

PG_FUNCTION_INFO_V1(observa_create_index);
PG_FUNCTION_INFO_V1(observa_create_index_1_1);

Datum
observa_create_index(PG_FUNCTION_ARGS)
{
	obs_check_result_columns(fcinfo, CREATE_INDEX_COLS);
	return create_index_internal(fcinfo);
}

Datum
observa_create_index_1_1(PG_FUNCTION_ARGS)
{
	obs_check_result_columns(fcinfo, CREATE_INDEX_COLS);
	return create_index_internal(fcinfo);
}

static Datum
create_index_internal(FunctionCallInfo fcinfo)
{
	char	   *def;
	IndexStmt  *stmt;
	Oid			relid;
	Oid			nsp;
	bool		valid;
	char	   *equiv;
	char	   *nspname;
	bool		drop_first;
	int			slotno = -1;
	AdvCreateSlot *slot;
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	pid_t		pid;
	Datum		result;

	obs_require_preload();
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("observa.create_index() cannot run on a standby"),
				 errhint("Create indexes on the primary, which replicates them; on a standby, observa.recommend_indexes() lists what its own workload needs.")));
	stmt = parse_index_def(fcinfo, &def);
	relid = RangeVarGetRelid(stmt->relation, AccessShareLock, false);
	check_kind(relid);
	check_owner(relid);
	check_trusted(relid, stmt, def);

	nsp = get_rel_namespace(relid);
	if (OidIsValid(index_by_name(nsp, stmt->idxname, &valid)) && valid)
	{
		return_row(fcinfo, stmt->idxname, "exists",
				   "a valid index of that name exists; nothing to do", &result);
		PG_RETURN_DATUM(result);
	}
	if ((equiv = equivalent_index(relid, stmt)) != NULL)
	{
		return_row(fcinfo, stmt->idxname, "exists",
				   psprintf("index %s already has these key columns; nothing to do",
							quote_identifier(equiv)), &result);
		PG_RETURN_DATUM(result);
	}

	/* queue it, unless it is queued already */
	nspname = get_namespace_name(nsp);
	drop_first = OidIsValid(index_by_name(nsp, stmt->idxname, &valid)) && !valid;
	adv_lock_attach();
	OBS_LWLOCK_ACQUIRE(adv_lock_id, &adv_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < ADV_CREATE_SLOTS; i++)
	{
		AdvCreateSlot *s = &adv_shared->slots[i];

		if ((s->state == ADV_SLOT_QUEUED || s->state == ADV_SLOT_BUILDING) &&
			s->dbid == MyDatabaseId && strcmp(s->idxname, stmt->idxname) == 0 &&
			strcmp(s->nspname, nspname) == 0)
		{
			LWLockRelease(&adv_shared->lock);
			return_row(fcinfo, stmt->idxname, "queued",
					   "a build of this index is already queued; see observa.index_builds()",
					   &result);
			PG_RETURN_DATUM(result);
		}
	}
	for (int i = 0; i < ADV_CREATE_SLOTS; i++)
	{
		AdvCreateSlot *s = &adv_shared->slots[i];

		if (s->state == ADV_SLOT_FREE)
		{
			slotno = i;
			break;
		}
		if (s->state == ADV_SLOT_DONE &&
			(slotno < 0 || s->finished_at < adv_shared->slots[slotno].finished_at))
			slotno = i;
	}
	if (slotno < 0)
	{
		LWLockRelease(&adv_shared->lock);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("too many index builds are queued"),
				 errhint("Wait until observa.index_builds() shows the queued builds finished.")));
	}
	slot = &adv_shared->slots[slotno];
	memset(slot, 0, sizeof(*slot));
	slot->state = ADV_SLOT_QUEUED;
	slot->seq = ++adv_shared->build_seq;
	slot->dbid = MyDatabaseId;
	slot->roleid = GetUserId();
	slot->session_roleid = GetSessionUserId();
	slot->relid = relid;
	slot->queued_at = GetCurrentTimestamp();
	slot->drop_first = drop_first;
	strlcpy(slot->nspname, nspname, NAMEDATALEN);
	strlcpy(slot->idxname, stmt->idxname, NAMEDATALEN);
	strlcpy(slot->search_path, namespace_search_path ? namespace_search_path : "",
			sizeof(slot->search_path));
	slot->standard_conforming_strings = standard_conforming_strings;
	strlcpy(slot->sql, def, sizeof(slot->sql));
	effect_snapshot(slot, relid);
	LWLockRelease(&adv_shared->lock);

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "observa");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "observa_advisor_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "observa index build %d", slotno);
	snprintf(worker.bgw_type, BGW_MAXLEN, "observa index build");
	worker.bgw_main_arg = Int32GetDatum(slotno);
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle) ||
		WaitForBackgroundWorkerStartup(handle, &pid) != BGWH_STARTED)
	{
		OBS_LWLOCK_ACQUIRE(adv_lock_id, &adv_shared->lock, LW_EXCLUSIVE);
		if (slot->state == ADV_SLOT_QUEUED)
			slot->state = ADV_SLOT_FREE;
		LWLockRelease(&adv_shared->lock);
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not start a background worker to build index \"%s\"",
						stmt->idxname),
				 errhint("Raise max_worker_processes, or run the index_def from psql.")));
	}
	OBS_LWLOCK_ACQUIRE(adv_lock_id, &adv_shared->lock, LW_EXCLUSIVE);
	slot->pid = pid;
	LWLockRelease(&adv_shared->lock);

	return_row(fcinfo, stmt->idxname, "queued",
			   psprintf("building concurrently in background worker %d once this transaction ends; see observa.index_builds()",
						(int) pid), &result);
	PG_RETURN_DATUM(result);
}

/*
 * observa.index_build_steps(index_def): the statements that build the
 * index as a DBA would (partitions.c), one row each, ready for \\gexec.
 * Reads only the catalogs.
 */
PG_FUNCTION_INFO_V1(observa_index_build_steps_1_1);

Datum
observa_index_build_steps_1_1(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *def;
	IndexStmt  *stmt;
	Oid			relid;
	ListCell   *lc;

	obs_require_preload();
	stmt = parse_index_def(fcinfo, &def);
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	relid = RangeVarGetRelid(stmt->relation, AccessShareLock, false);
	check_kind(relid);
	foreach(lc, adv_build_steps(def, stmt, relid))
	{
		Datum		value = CStringGetTextDatum(((AdvStep *) lfirst(lc))->sql);
		bool		isnull = false;

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
	}
	return (Datum) 0;
}

/* ---------- worker side ---------- */

static MemoryContext build_cxt = NULL;

/* what the worker builds, copied out of its slot */
typedef struct BuildJob
{
	Oid			relid;
	char	   *sql;
	char		nspname[NAMEDATALEN];
	char		idxname[NAMEDATALEN];
	bool		dropped;		/* drop_invalid(): an index was dropped */
	bool		partitioned;	/* the table is partitioned */
} BuildJob;

/* run one planned statement as a client's top-level statement would run */
static void
run_portal(const char *sql, List *plans, CommandTag tag)
{
	Portal		portal;
	DestReceiver *dest;
	QueryCompletion qc;

	portal = CreatePortal("observa_index_build", true, true);
	portal->visible = false;
	PortalDefineQuery(portal, NULL, sql, tag, plans, NULL);
	PortalStart(portal, NULL, 0, InvalidSnapshot);
	dest = CreateDestReceiver(DestNone);
	InitializeQueryCompletion(&qc);
	(void) PortalRun(portal, FETCH_ALL, true, dest, dest, &qc);
	PortalDrop(portal, false);
}

/* parse, analyze, plan and run sql (one statement) */
static void
exec_toplevel(const char *sql)
{
	List	   *raw;
	RawStmt    *rs;
	List	   *queries;
	List	   *plans;

	raw = pg_parse_query(sql);
	if (list_length(raw) != 1)
		elog(ERROR, "expected one statement");
	rs = linitial_node(RawStmt, raw);
	PushActiveSnapshot(GetTransactionSnapshot());
	queries = pg_analyze_and_rewrite_fixedparams(rs, sql, NULL, 0, NULL);
	plans = pg_plan_queries(queries, sql, CURSOR_OPT_PARALLEL_OK, NULL);
	PopActiveSnapshot();
	run_portal(sql, plans, CreateCommandTag(rs->stmt));
}

static void
refuse_job(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("the queued index build was not run: %s", what)));
}

/*
 * The queued statement, checked again here: exactly one CREATE INDEX
 * CONCURRENTLY of the queued name on the queued table (resolved and
 * locked as the build locks it), its schema pinned, transformed, with
 * trusted keys and predicate.  Returns the transformed statement, which
 * is what runs.
 */
static IndexStmt *
verified_statement(BuildJob *job, RawStmt **rs_out)
{
	List	   *raw = raw_parser(job->sql, RAW_PARSE_DEFAULT);
	RawStmt    *rs;
	IndexStmt  *stmt;
	Oid			relid;
	char	   *reason;

	if (list_length(raw) != 1 || !IsA(linitial_node(RawStmt, raw)->stmt, IndexStmt))
		refuse_job("it is not exactly one CREATE INDEX statement");
	rs = linitial_node(RawStmt, raw);
	stmt = (IndexStmt *) rs->stmt;
	if (!stmt->concurrent)
		refuse_job("it is not CREATE INDEX CONCURRENTLY");
	if (stmt->idxname == NULL || strcmp(stmt->idxname, job->idxname) != 0)
		refuse_job("it does not create the queued index name");
	relid = RangeVarGetRelid(stmt->relation, ShareUpdateExclusiveLock, true);
	if (relid != job->relid)
		refuse_job("its table is no longer the table it was queued for");
	stmt->relation->schemaname = get_namespace_name(get_rel_namespace(relid));
	stmt->relation->catalogname = NULL;
	stmt = transformIndexStmt(relid, stmt, job->sql);
	if ((reason = adv_index_untrusted(stmt, relid)) != NULL)
		refuse_job(psprintf("it uses %s", reason));
	*rs_out = rs;
	return stmt;
}

/* in the build's transaction: check the statement, then run it */
static void
build_index(void *arg)
{
	BuildJob   *job = (BuildJob *) arg;
	RawStmt    *rs;
	IndexStmt  *stmt = verified_statement(job, &rs);
	PlannedStmt *ps = makeNode(PlannedStmt);

	ps->commandType = CMD_UTILITY;
	ps->canSetTag = true;
	ps->utilityStmt = (Node *) stmt;
	ps->stmt_location = rs->stmt_location;
	ps->stmt_len = rs->stmt_len;
	run_portal(job->sql, list_make1(ps), CMDTAG_CREATE_INDEX);
}

/*
 * Drop the index nspname.idxname if it is still on table relid (and,
 * with only_invalid, still invalid), by OID, in this transaction: lock
 * the table and the index as DROP INDEX CONCURRENTLY does (nothing can
 * validate, rename or drop it meanwhile), check, then run DROP INDEX
 * (CONCURRENTLY unless the index is partitioned, which cannot be dropped
 * so).  True when it was dropped.
 */
static bool
drop_index_checked(Oid relid, const char *nspname, const char *idxname,
				   bool only_invalid)
{
	Oid			nsp = get_namespace_oid(nspname, true);
	Oid			idx = OidIsValid(nsp) ? get_relname_relid(idxname, nsp) : InvalidOid;
	HeapTuple	tup;
	bool		ours = false;
	char	   *name;

	if (!OidIsValid(idx))
		return false;
	LockRelationOid(relid, ShareUpdateExclusiveLock);
	LockRelationOid(idx, ShareUpdateExclusiveLock);
	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(idx));
	if (HeapTupleIsValid(tup))
	{
		Form_pg_index form = (Form_pg_index) GETSTRUCT(tup);

		ours = (form->indrelid == relid && !(only_invalid && form->indisvalid));
		ReleaseSysCache(tup);
	}
	name = get_rel_name(idx);
	if (!ours || name == NULL)
		return false;
	exec_toplevel(psprintf("DROP INDEX %s%s",
						   get_rel_relkind(idx) == RELKIND_PARTITIONED_INDEX ? "" : "CONCURRENTLY ",
						   quote_qualified_identifier(get_namespace_name(get_rel_namespace(idx)),
													  name)));
	return true;
}

/*
 * Drop the invalid index of the job's name on the job's table; a valid
 * index, or one on another table, is left.
 */
static void
drop_invalid(void *arg)
{
	BuildJob   *job = (BuildJob *) arg;

	if (drop_index_checked(job->relid, job->nspname, job->idxname, true))
		job->dropped = true;
}

/* run fn in its own transaction(s); false and the message on error */
static bool
run_in_transaction(void (*fn) (void *), void *arg, const char *activity,
				   char *msg, int msglen)
{
	volatile bool ok = true;

	pgstat_report_activity(STATE_RUNNING, activity);
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		MemoryContext old = MemoryContextSwitchTo(build_cxt);

		fn(arg);
		MemoryContextSwitchTo(old);
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(TopMemoryContext);
		edata = CopyErrorData();
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
		if (msg)
			strlcpy(msg, edata->message ? edata->message : "unknown error", msglen);
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextReset(build_cxt);
	pgstat_report_activity(STATE_IDLE, NULL);
	return ok;
}

/* drop_invalid() in its own transaction(s); true if an index was dropped */
static bool
drop_if_invalid(BuildJob *job)
{
	char		msg[256];

	job->dropped = false;
	if (!run_in_transaction(drop_invalid, job, "observa: drop an invalid index",
							msg, sizeof(msg)))
		return false;
	return job->dropped;
}

/* ---------- partitioned tables ---------- */

/* one step of a partitioned build (partitions.c), and what it did */
typedef struct StepJob
{
	BuildJob   *job;
	AdvStep    *step;
	List	   *steps;			/* plan_steps: the steps, in steps_cxt */
	MemoryContext steps_cxt;
	bool		existed;		/* run_step: its index existed before */
	bool		dropped;		/* drop_created: dropped it */
} StepJob;

/* in a transaction: check the queued statement, then plan its steps */
static void
plan_steps(void *arg)
{
	StepJob    *sj = (StepJob *) arg;
	RawStmt    *rs;
	MemoryContext old;
	List	   *raw;

	(void) verified_statement(sj->job, &rs);
	old = MemoryContextSwitchTo(sj->steps_cxt);
	raw = raw_parser(sj->job->sql, RAW_PARSE_DEFAULT);
	sj->steps = adv_build_steps(sj->job->sql,
								(IndexStmt *) linitial_node(RawStmt, raw)->stmt,
								sj->job->relid);
	MemoryContextSwitchTo(old);
}

/* the index of a step's name in its schema, or InvalidOid */
static Oid
step_index(AdvStep *st)
{
	Oid			nsp = get_namespace_oid(st->nspname, true);

	return OidIsValid(nsp) ? get_relname_relid(st->index_name, nsp) : InvalidOid;
}

/*
 * A CREATE INDEX step checked as verified_statement checks the queued
 * one: one CREATE INDEX, CONCURRENTLY exactly for a partition's build, of
 * the step's index name, on the step's table (resolved and locked), its
 * schema pinned, transformed, with trusted keys and predicate.
 */
static IndexStmt *
verified_step(AdvStep *st, const char *sql, RawStmt **rs_out)
{
	List	   *raw = raw_parser(sql, RAW_PARSE_DEFAULT);
	RawStmt    *rs;
	IndexStmt  *stmt;
	char	   *reason;

	if (list_length(raw) != 1 || !IsA(linitial_node(RawStmt, raw)->stmt, IndexStmt))
		refuse_job("a step is not exactly one CREATE INDEX statement");
	rs = linitial_node(RawStmt, raw);
	stmt = (IndexStmt *) rs->stmt;
	if (stmt->concurrent != (st->kind == ADV_STEP_BUILD) ||
		stmt->idxname == NULL || strcmp(stmt->idxname, st->index_name) != 0)
		refuse_job("a step does not create the index it names");
	if (RangeVarGetRelid(stmt->relation, ShareUpdateExclusiveLock, true) != st->relid)
		refuse_job("a step's table is no longer the partition it was planned for");
	stmt->relation->schemaname = get_namespace_name(get_rel_namespace(st->relid));
	stmt->relation->catalogname = NULL;
	stmt = transformIndexStmt(st->relid, stmt, sql);
	if ((reason = adv_index_untrusted(stmt, st->relid)) != NULL)
		refuse_job(psprintf("it uses %s", reason));
	*rs_out = rs;
	return stmt;
}

/* in a transaction: run one step, noting whether its index existed */
static void
run_step(void *arg)
{
	StepJob    *sj = (StepJob *) arg;
	AdvStep    *st = sj->step;
	RawStmt    *rs;
	IndexStmt  *stmt;
	PlannedStmt *ps;

	if (st->kind == ADV_STEP_ATTACH)
	{
		exec_toplevel(st->sql);
		return;
	}
	sj->existed = OidIsValid(step_index(st));
	stmt = verified_step(st, st->sql, &rs);
	ps = makeNode(PlannedStmt);
	ps->commandType = CMD_UTILITY;
	ps->canSetTag = true;
	ps->utilityStmt = (Node *) stmt;
	ps->stmt_location = rs->stmt_location;
	ps->stmt_len = rs->stmt_len;
	run_portal(st->sql, list_make1(ps), CMDTAG_CREATE_INDEX);
}

/* in a transaction: drop the index a step created, if still on its table */
static void
drop_created(void *arg)
{
	StepJob    *sj = (StepJob *) arg;
	AdvStep    *st = sj->step;

	if (drop_index_checked(st->relid, st->nspname, st->index_name, false))
		sj->dropped = true;
}

/*
 * After a failed step: drop every index this build created, the
 * partitioned ones first (each takes the partition indexes attached to
 * it along), then the partitions' left.  Returns how many went.
 */
static int
clean_up(BuildJob *job, List *created)
{
	int			dropped = 0;
	ListCell   *lc;

	for (int pass = 0; pass < 2; pass++)
		foreach(lc, created)
		{
			StepJob		sj;
			char		msg[256];

			memset(&sj, 0, sizeof(sj));
			sj.job = job;
			sj.step = lfirst(lc);
			if ((sj.step->kind == ADV_STEP_PARENT) != (pass == 0))
				continue;
			if (!run_in_transaction(drop_created, &sj, "observa: drop a failed build's index",
									msg, sizeof(msg)))
				continue;
			/* gone already: it went with its parent index */
			if (sj.dropped || pass == 1)
				dropped++;
		}
	return dropped;
}

/*
 * Build a partitioned table's index step by step; the message says what
 * was built, or the error, the step and what was dropped.
 */
static bool
build_partitioned(BuildJob *job, char *msg, int msglen)
{
	StepJob		sj;
	List	   *created = NIL;
	int			nbuilt = 0;
	ListCell   *lc;

	memset(&sj, 0, sizeof(sj));
	sj.job = job;
	sj.steps_cxt = AllocSetContextCreate(TopMemoryContext, "observa build steps",
										 ALLOCSET_DEFAULT_SIZES);
	if (!run_in_transaction(plan_steps, &sj, job->sql, msg, msglen))
		return false;
	foreach(lc, sj.steps)
	{
		char		err[512];
		int			ndropped;

		sj.step = lfirst(lc);
		sj.existed = true;
		if (run_in_transaction(run_step, &sj, sj.step->sql, err, sizeof(err)))
		{
			if (!sj.existed)
				created = lappend(created, sj.step);
			nbuilt += (sj.step->kind == ADV_STEP_BUILD);
			continue;
		}
		if (!sj.existed)
			created = lappend(created, sj.step);
		ndropped = clean_up(job, created);
		snprintf(msg, msglen, "%s (at step %d of %d: %s); the %d index%s it had created %s dropped",
				 err, foreach_current_index(lc) + 1, list_length(sj.steps), sj.step->sql,
				 ndropped, ndropped == 1 ? "" : "es", ndropped == 1 ? "was" : "were");
		return false;
	}
	snprintf(msg, msglen,
			 "index built concurrently on %d partition%s and attached to the parent",
			 nbuilt, nbuilt == 1 ? "" : "s");
	MemoryContextDelete(sj.steps_cxt);
	return true;
}

/* is the job's table partitioned?  (its own transaction) */
static void
job_partitioned(void *arg)
{
	BuildJob   *job = (BuildJob *) arg;

	job->partitioned = (get_rel_relkind(job->relid) == RELKIND_PARTITIONED_TABLE);
}

/* wait until no earlier build of this database is queued or building */
static void
wait_turn(int slotno)
{
	for (;;)
	{
		AdvCreateSlot *me = &adv_shared->slots[slotno];
		bool		mine = true;

		OBS_LWLOCK_ACQUIRE(adv_lock_id, &adv_shared->lock, LW_EXCLUSIVE);
		for (int i = 0; i < ADV_CREATE_SLOTS; i++)
		{
			AdvCreateSlot *s = &adv_shared->slots[i];

			if (i == slotno || s->dbid != me->dbid)
				continue;
			if (s->state == ADV_SLOT_BUILDING ||
				(s->state == ADV_SLOT_QUEUED && s->seq < me->seq))
				mine = false;
		}
		if (mine)
			me->state = ADV_SLOT_BUILDING;
		LWLockRelease(&adv_shared->lock);
		if (mine)
			return;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 200L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/* a finished build of this slot: remember the index for its effect */
static void
note_created(AdvCreateSlot *slot)
{
	AdvCreated *c = NULL;

	for (int i = 0; i < ADV_MAX_CREATED; i++)
	{
		AdvCreated *o = &adv_shared->created[i];

		if (!o->used)
		{
			c = o;
			break;
		}
		if (c == NULL || o->created_at < c->created_at)
			c = o;
	}
	memset(c, 0, sizeof(*c));
	c->used = true;
	c->dbid = slot->dbid;
	c->relid = slot->relid;
	strlcpy(c->idxname, slot->idxname, NAMEDATALEN);
	c->created_at = GetCurrentTimestamp();
	c->nqueries = slot->nqueries;
	memcpy(c->queryids, slot->queryids, sizeof(c->queryids));
	memcpy(c->calls_before, slot->calls_before, sizeof(c->calls_before));
	memcpy(c->ms_before, slot->ms_before, sizeof(c->ms_before));
}

/* exit callback: a worker that ends early marks its slot failed */
static void
worker_exit(int code, Datum arg)
{
	AdvCreateSlot *slot = &adv_shared->slots[DatumGetInt32(arg)];

	OBS_LWLOCK_ACQUIRE(adv_lock_id, &adv_shared->lock, LW_EXCLUSIVE);
	if (slot->state == ADV_SLOT_QUEUED || slot->state == ADV_SLOT_BUILDING)
	{
		slot->ok = false;
		strlcpy(slot->message,
				"the background worker exited before the build finished (see the server log)",
				sizeof(slot->message));
		slot->finished_at = GetCurrentTimestamp();
		slot->state = ADV_SLOT_DONE;
	}
	LWLockRelease(&adv_shared->lock);
}

/*
 * Background worker: build the index of one slot as the role that asked,
 * in the database it asked from.
 */
void
observa_advisor_worker_main(Datum arg)
{
	int			slotno = DatumGetInt32(arg);
	AdvCreateSlot *slot;
	Oid			dbid,
				roleid,
				session_roleid;
	BuildJob	job;
	char		search_path[256];
	char		msg[512];
	bool		drop_first;
	bool		scs;
	bool		ok;
	bool		dropped = false;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	if (adv_shared == NULL || slotno < 0 || slotno >= ADV_CREATE_SLOTS)
		proc_exit(1);
	adv_lock_attach();
	slot = &adv_shared->slots[slotno];
	/* however this process ends, the slot must not stay queued */
	before_shmem_exit(worker_exit, Int32GetDatum(slotno));

	OBS_LWLOCK_ACQUIRE(adv_lock_id, &adv_shared->lock, LW_SHARED);
	dbid = slot->dbid;
	roleid = slot->roleid;
	session_roleid = slot->session_roleid;
	memset(&job, 0, sizeof(job));
	job.relid = slot->relid;
	job.sql = MemoryContextStrdup(TopMemoryContext, slot->sql);
	strlcpy(job.nspname, slot->nspname, sizeof(job.nspname));
	strlcpy(job.idxname, slot->idxname, sizeof(job.idxname));
	strlcpy(search_path, slot->search_path, sizeof(search_path));
	drop_first = slot->drop_first;
	scs = slot->standard_conforming_strings;
	LWLockRelease(&adv_shared->lock);

	/*
	 * Connect as the caller's login role, then become its current role, as
	 * SET ROLE would: table owners are often roles that cannot log in.
	 */
	BackgroundWorkerInitializeConnectionByOid(dbid, session_roleid, 0);
	if (roleid != session_roleid)
	{
		StartTransactionCommand();
		SetCurrentRoleId(roleid, superuser_arg(roleid));
		CommitTransactionCommand();
	}
	build_cxt = AllocSetContextCreate(TopMemoryContext, "observa index build",
									  ALLOCSET_DEFAULT_SIZES);
	pgstat_report_appname("observa index build");
	if (search_path[0] != '\0')
		SetConfigOption("search_path", search_path, PGC_USERSET, PGC_S_SESSION);
	/* the statement is read as the caller's session read it */
	SetConfigOption("standard_conforming_strings", scs ? "on" : "off",
					PGC_USERSET, PGC_S_SESSION);

	wait_turn(slotno);
	if (drop_first)
		(void) drop_if_invalid(&job);
	msg[0] = '\0';
	(void) run_in_transaction(job_partitioned, &job, "observa: look up the table", NULL, 0);
	if (job.partitioned)
		ok = build_partitioned(&job, msg, sizeof(msg));
	else
	{
		ok = run_in_transaction(build_index, &job, job.sql, msg, sizeof(msg));
		if (!ok)
			dropped = drop_if_invalid(&job);
	}

	OBS_LWLOCK_ACQUIRE(adv_lock_id, &adv_shared->lock, LW_EXCLUSIVE);
	slot->ok = ok;
	slot->dropped_invalid = dropped;
	if (job.partitioned)
		strlcpy(slot->message, msg, sizeof(slot->message));
	else if (ok)
		strlcpy(slot->message, "index built concurrently", sizeof(slot->message));
	else
		snprintf(slot->message, sizeof(slot->message), "%s%s", msg,
				 dropped ? " (the invalid index it left was dropped)" : "");
	slot->finished_at = GetCurrentTimestamp();
	slot->state = ADV_SLOT_DONE;
	if (ok)
		note_created(slot);
	LWLockRelease(&adv_shared->lock);
	proc_exit(0);
}

/* ---------- reporting ---------- */

#define INDEX_BUILDS_COLS 8

static Datum
index_builds_internal(FunctionCallInfo fcinfo, ObsApiVersion api)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	AdvCreateSlot *copy = palloc(sizeof(AdvCreateSlot) * ADV_CREATE_SLOTS);

	obs_require_preload();
	obs_init_srf(fcinfo, INDEX_BUILDS_COLS);
	adv_lock_attach();
	OBS_LWLOCK_ACQUIRE(adv_lock_id, &adv_shared->lock, LW_SHARED);
	memcpy(copy, adv_shared->slots, sizeof(AdvCreateSlot) * ADV_CREATE_SLOTS);
	LWLockRelease(&adv_shared->lock);

	for (int i = 0; i < ADV_CREATE_SLOTS; i++)
	{
		AdvCreateSlot *s = &copy[i];
		Datum		values[INDEX_BUILDS_COLS];
		bool		nulls[INDEX_BUILDS_COLS] = {0};
		const char *state;
		char	   *role;

		if (s->state == ADV_SLOT_FREE || s->dbid != MyDatabaseId)
			continue;
		state = s->state == ADV_SLOT_QUEUED ? "queued" :
			s->state == ADV_SLOT_BUILDING ? "building" :
			s->ok ? "created" : "failed";
		role = GetUserNameFromId(s->roleid, true);
		values[0] = CStringGetTextDatum(s->nspname);
		values[1] = CStringGetTextDatum(s->idxname);
		if (get_rel_name(s->relid))
			values[2] = CStringGetTextDatum(get_rel_name(s->relid));
		else
			nulls[2] = true;
		if (role)
			values[3] = CStringGetTextDatum(role);
		else
			nulls[3] = true;
		values[4] = CStringGetTextDatum(state);
		if (s->state == ADV_SLOT_DONE)
			values[5] = CStringGetTextDatum(s->message);
		else
			nulls[5] = true;
		values[6] = TimestampTzGetDatum(s->queued_at);
		if (s->state == ADV_SLOT_DONE)
			values[7] = TimestampTzGetDatum(s->finished_at);
		else
			nulls[7] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * One body, two entry points: observa_index_builds serves 1.0's SQL,
 * observa_index_builds_1_1 serves 1.1's.
 */
PG_FUNCTION_INFO_V1(observa_index_builds);
PG_FUNCTION_INFO_V1(observa_index_builds_1_1);

Datum
observa_index_builds(PG_FUNCTION_ARGS)
{
	return index_builds_internal(fcinfo, OBS_API_1_0);
}

Datum
observa_index_builds_1_1(PG_FUNCTION_ARGS)
{
	return index_builds_internal(fcinfo, OBS_API_1_1);
}

#define INDEX_EFFECT_COLS 9

static Datum
advisor_index_effect_internal(FunctionCallInfo fcinfo, ObsApiVersion api)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	AdvCreated *created = palloc(sizeof(AdvCreated) * ADV_MAX_CREATED);
	double	   *now_calls = palloc0(sizeof(double) * ADV_MAX_CREATED * ADV_EFFECT_QUERIES);
	double	   *now_ms = palloc0(sizeof(double) * ADV_MAX_CREATED * ADV_EFFECT_QUERIES);

	obs_require_preload();
	obs_init_srf(fcinfo, INDEX_EFFECT_COLS);
	adv_lock_attach();
	OBS_LWLOCK_ACQUIRE(adv_lock_id, &adv_shared->lock, LW_SHARED);
	memcpy(created, adv_shared->created, sizeof(AdvCreated) * ADV_MAX_CREATED);
	for (int c = 0; c < ADV_MAX_CREATED; c++)
	{
		if (!created[c].used || created[c].dbid != MyDatabaseId)
			continue;
		for (int k = 0; k < created[c].nqueries; k++)
		{
			now_calls[c * ADV_EFFECT_QUERIES + k] = -1;
			for (int i = 0; i < adv_shared->max_queries; i++)
			{
				AdvQuery   *q = &adv_shared->queries[i];

				if (q->used && q->dbid == MyDatabaseId &&
					q->queryid == created[c].queryids[k])
				{
					OBS_SPIN_ACQUIRE(adv_lock_id, &q->mutex);
					now_calls[c * ADV_EFFECT_QUERIES + k] = q->sampled;
					now_ms[c * ADV_EFFECT_QUERIES + k] = q->total_ms;
					SpinLockRelease(&q->mutex);
				}
			}
		}
	}
	LWLockRelease(&adv_shared->lock);

	for (int c = 0; c < ADV_MAX_CREATED; c++)
	{
		AdvCreated *cr = &created[c];

		if (!cr->used || cr->dbid != MyDatabaseId || get_rel_name(cr->relid) == NULL)
			continue;
		for (int k = 0; k < cr->nqueries; k++)
		{
			Datum		values[INDEX_EFFECT_COLS];
			bool		nulls[INDEX_EFFECT_COLS] = {0};
			double		nc = now_calls[c * ADV_EFFECT_QUERIES + k];
			double		nm = now_ms[c * ADV_EFFECT_QUERIES + k];
			double		dc = nc - cr->calls_before[k];

			values[0] = CStringGetTextDatum(get_namespace_name(get_rel_namespace(cr->relid)));
			values[1] = CStringGetTextDatum(get_rel_name(cr->relid));
			values[2] = CStringGetTextDatum(cr->idxname);
			values[3] = TimestampTzGetDatum(cr->created_at);
			values[4] = Int64GetDatum((int64) cr->queryids[k]);
			values[5] = Int64GetDatum((int64) cr->calls_before[k]);
			if (cr->calls_before[k] > 0)
				values[6] = Float8GetDatum(cr->ms_before[k] / cr->calls_before[k]);
			else
				nulls[6] = true;
			if (nc >= 0 && dc > 0)
			{
				values[7] = Int64GetDatum((int64) dc);
				values[8] = Float8GetDatum((nm - cr->ms_before[k]) / dc);
			}
			else
			{
				values[7] = Int64GetDatum(0);
				nulls[8] = true;
			}
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}

/*
 * One body, two entry points: observa_advisor_index_effect serves 1.0's SQL,
 * observa_advisor_index_effect_1_1 serves 1.1's.
 */
PG_FUNCTION_INFO_V1(observa_advisor_index_effect);
PG_FUNCTION_INFO_V1(observa_advisor_index_effect_1_1);

Datum
observa_advisor_index_effect(PG_FUNCTION_ARGS)
{
	return advisor_index_effect_internal(fcinfo, OBS_API_1_0);
}

Datum
observa_advisor_index_effect_1_1(PG_FUNCTION_ARGS)
{
	return advisor_index_effect_internal(fcinfo, OBS_API_1_1);
}

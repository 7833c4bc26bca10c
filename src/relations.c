/*-------------------------------------------------------------------------
 *
 * relations.c
 *		Fill a statement sample's operation and relation set.
 *
 * Attribution rule (documented in docs/table_stats.md):
 *	- an optimizable statement touches every plain relation (RTE_RELATION)
 *	  of its final range table: each table of a join, the tables under a
 *	  view (and the view itself, which the rewriter keeps for permission
 *	  checks), the tables read inside CTEs and subqueries, the partitioned
 *	  parent and the partitions the planner did not prune;
 *	- each relation is counted once per statement, however often it
 *	  appears;
 *	- the DML target is the first result relation; it is remembered
 *	  separately so recorders can tell it from the tables only read.
 *	- utility statements touch the relation(s) they name, resolved by
 *	  name before they run (so DROP still sees the table), without taking
 *	  locks.
 *
 * This runs on every tracked statement: for plans it only walks the range
 * table, which is already in memory; there are no catalog lookups.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "nodes/parsenodes.h"
#include "parser/parsetree.h"
#include "tcop/utility.h"
#include "utils/lsyscache.h"

#include "relations.h"

static void
add_relation(ObsSample *sample, Oid relid, char relkind)
{
	int			i;

	if (!OidIsValid(relid))
		return;
	for (i = 0; i < sample->nrels; i++)
	{
		if (sample->relids[i] == relid)
			return;
	}
	if (sample->nrels >= OBS_MAX_SAMPLE_RELS)
	{
		sample->rels_truncated = true;
		return;
	}
	sample->relids[sample->nrels] = relid;
	sample->relkinds[sample->nrels] = relkind;
	sample->nrels++;
}

static ObsOperation
operation_of(CmdType cmd)
{
	switch (cmd)
	{
		case CMD_SELECT:
			return OBS_OP_SELECT;
		case CMD_INSERT:
			return OBS_OP_INSERT;
		case CMD_UPDATE:
			return OBS_OP_UPDATE;
		case CMD_DELETE:
			return OBS_OP_DELETE;
		case CMD_MERGE:
			return OBS_OP_MERGE;
		case CMD_UTILITY:
			return OBS_OP_UTILITY;
		default:
			return OBS_OP_OTHER;
	}
}

const char *
obs_operation_name(ObsOperation op)
{
	switch (op)
	{
		case OBS_OP_SELECT:
			return "SELECT";
		case OBS_OP_INSERT:
			return "INSERT";
		case OBS_OP_UPDATE:
			return "UPDATE";
		case OBS_OP_DELETE:
			return "DELETE";
		case OBS_OP_MERGE:
			return "MERGE";
		case OBS_OP_UTILITY:
			return "UTILITY";
		case OBS_OP_OTHER:
			break;
	}
	return "OTHER";
}

/*
 * Operation, relations and DML target of an executor statement.
 */
void
obs_sample_from_plan(ObsSample *sample, QueryDesc *queryDesc)
{
	PlannedStmt *pstmt = queryDesc->plannedstmt;
	ListCell   *lc;

	sample->operation = operation_of(queryDesc->operation);
	sample->command_tag = obs_operation_name(sample->operation);
	sample->queryid = pstmt->queryId;

	foreach(lc, pstmt->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_RELATION)
			add_relation(sample, rte->relid, rte->relkind);
	}

	if (pstmt->resultRelations != NIL)
	{
		Index		rti = (Index) linitial_int(pstmt->resultRelations);

		sample->target_relid = rt_fetch(rti, pstmt->rtable)->relid;
	}
}

/*
 * A relation named by a utility statement, resolved without locking and
 * without permission checks (the statement itself does those): a name that
 * does not resolve is simply not recorded.
 */
static void
add_rangevar(ObsSample *sample, RangeVar *rv)
{
	Oid			relid;

	if (rv == NULL || rv->relname == NULL)
		return;
	if (rv->schemaname != NULL)
	{
		Oid			nspid = get_namespace_oid(rv->schemaname, true);

		relid = OidIsValid(nspid) ? get_relname_relid(rv->relname, nspid)
			: InvalidOid;
	}
	else
		relid = RelnameGetRelid(rv->relname);
	add_relation(sample, relid, '\0');
}

/*
 * Operation (command tag) and named relations of a utility statement.
 * Must run inside a transaction (catalog lookups by name).
 */
void
obs_sample_from_utility(ObsSample *sample, PlannedStmt *pstmt)
{
	Node	   *stmt = pstmt->utilityStmt;
	ListCell   *lc;

	sample->operation = OBS_OP_UTILITY;
	sample->command_tag = GetCommandTagName(CreateCommandTag(stmt));
	sample->queryid = pstmt->queryId;

	switch (nodeTag(stmt))
	{
		case T_IndexStmt:
			add_rangevar(sample, ((IndexStmt *) stmt)->relation);
			break;
		case T_CopyStmt:
			add_rangevar(sample, ((CopyStmt *) stmt)->relation);
			break;
		case T_AlterTableStmt:
			add_rangevar(sample, ((AlterTableStmt *) stmt)->relation);
			break;
		case T_ClusterStmt:
			add_rangevar(sample, ((ClusterStmt *) stmt)->relation);
			break;
		case T_ReindexStmt:
			add_rangevar(sample, ((ReindexStmt *) stmt)->relation);
			break;
		case T_VacuumStmt:
			foreach(lc, ((VacuumStmt *) stmt)->rels)
			{
				VacuumRelation *vrel = lfirst_node(VacuumRelation, lc);

				if (OidIsValid(vrel->oid))
					add_relation(sample, vrel->oid, '\0');
				else
					add_rangevar(sample, vrel->relation);
			}
			break;
		case T_TruncateStmt:
			foreach(lc, ((TruncateStmt *) stmt)->relations)
				add_rangevar(sample, lfirst_node(RangeVar, lc));
			break;
		case T_LockStmt:
			foreach(lc, ((LockStmt *) stmt)->relations)
				add_rangevar(sample, lfirst_node(RangeVar, lc));
			break;
		case T_DropStmt:
			{
				DropStmt   *drop = (DropStmt *) stmt;

				if (drop->removeType != OBJECT_TABLE &&
					drop->removeType != OBJECT_MATVIEW &&
					drop->removeType != OBJECT_VIEW)
					break;
				foreach(lc, drop->objects)
					add_rangevar(sample,
								 makeRangeVarFromNameList(lfirst_node(List, lc)));
			}
			break;
		default:
			break;
	}
}

/*-------------------------------------------------------------------------
 *
 * replaces.c
 *		Index advisor: the existing indexes a recommended index makes
 *		redundant (recommend_indexes()'s "replaces" column, which
 *		observa.index_hygiene() reads).
 *
 * An existing index E is replaced by a recommended index C when C serves
 * every lookup E serves, by the prefix rule the advisor already applies
 * the other way round (served_by_existing in recommend.c):
 *	- same table and access method, E valid;
 *	- E's key columns are a leading part of C's: same attribute or the
 *	  same expression, same operator family; for btree, every key of E in
 *	  C's direction or every key reversed (a backward scan serves it);
 *	- the same predicate (both none, or equal);
 *	- E has no INCLUDE columns (they may serve index-only scans that C
 *	  would not), and E enforces nothing: not unique, not an exclusion,
 *	  primary key or replica-identity index.  (index_hygiene() applies
 *	  its own, stricter exceptions on top.)
 * Only btree is considered: a GIN index's keys are not ordered, so a
 * prefix says nothing about which index serves a lookup.
 *
 * Runs in the backend calling recommend_indexes(), with the relation
 * opened AccessShareLock; no shared memory is touched.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "advisor.h"

/* does the existing index idx enforce something, or carry INCLUDE columns? */
static bool
index_is_kept(Relation idx)
{
	Form_pg_index form = idx->rd_index;

	return !form->indisvalid || form->indisunique || form->indisprimary ||
		form->indisexclusion || form->indisreplident ||
		form->indnatts != form->indnkeyatts;
}

/* are idx's keys a leading part of c's (see the header comment)? */
static bool
index_is_prefix_of(Relation idx, AdvCandidate *c)
{
	Form_pg_index form = idx->rd_index;
	List	   *exprs = RelationGetIndexExpressions(idx);
	List	   *pred = RelationGetIndexPredicate(idx);
	ListCell   *ei = list_head(exprs);
	int			flip = -1;

	if (idx->rd_rel->relam != c->amoid || form->indnkeyatts > c->ncols ||
		!equal(pred, c->pred))
		return false;
	for (int i = 0; i < form->indnkeyatts; i++)
	{
		bool		idesc = (idx->rd_indoption[i] & INDOPTION_DESC) != 0;
		Node	   *iexpr = NULL;
		int			f;

		if (form->indkey.values[i] == 0)
		{
			iexpr = lfirst(ei);
			ei = lnext(exprs, ei);
		}
		if (form->indkey.values[i] != c->attnums[i] ||
			(iexpr != NULL && !equal(iexpr, c->exprs[i])) ||
			idx->rd_opfamily[i] != get_opclass_family(c->opclass[i]))
			return false;
		f = (idesc != c->desc[i]) ? 1 : 0;
		if (flip == -1)
			flip = f;
		else if (flip != f)
			return false;
	}
	return true;
}

/*
 * adv_replaced_indexes: OIDs of the existing indexes of c's table that c
 * makes redundant, in the order of the relation's index list (by OID).
 */
List *
adv_replaced_indexes(AdvCandidate *c)
{
	Relation	rel;
	List	   *indexes;
	List	   *result = NIL;
	ListCell   *lc;

	if (c->amoid != BTREE_AM_OID)
		return NIL;
	rel = table_open(c->relid, AccessShareLock);
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		Relation	idx = index_open(lfirst_oid(lc), AccessShareLock);

		if (!index_is_kept(idx) && index_is_prefix_of(idx, c))
			result = lappend_oid(result, RelationGetRelid(idx));
		index_close(idx, AccessShareLock);
	}
	table_close(rel, AccessShareLock);
	return result;
}

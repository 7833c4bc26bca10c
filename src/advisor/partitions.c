/*-------------------------------------------------------------------------
 *
 * partitions.c
 *		Index advisor: partitioned tables.  The advisor treats a partitioned
 *		table as one table: capture records scans of its partitions as scans
 *		of the root, recommendations name the root, hypothetical indexes on
 *		the root are shown to the planner on every leaf partition, and a
 *		recommended index is built the way a DBA builds one (CREATE INDEX
 *		CONCURRENTLY cannot run on a partitioned table):
 *
 *		1. CREATE INDEX IF NOT EXISTS idx ON ONLY root ...   (invalid, empty)
 *		   and the same on each intermediate partitioned table;
 *		2. CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_i ON leaf_i ...;
 *		3. ALTER INDEX parent_idx ATTACH PARTITION idx_i, bottom up; the
 *		   root index becomes valid when its last partition is attached.
 *
 * adv_build_steps() turns one recommended definition into those steps;
 * create.c runs them and cleans up after a failure (adv_cleanup_steps).
 *
 * Everything here reads the catalogs: callers are on the sampled path of
 * capture (never the hot path) or in SQL functions.  No locks of our own.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/attmap.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "advisor.h"

/*
 * The table a scan of relid is accounted to: the root of its partition
 * tree, or relid itself.
 */
Oid
adv_partition_root(Oid relid)
{
	List	   *ancestors;
	Oid			root;

	if (!get_rel_relispartition(relid))
		return relid;
	ancestors = get_partition_ancestors(relid);
	root = ancestors != NIL ? llast_oid(ancestors) : relid;
	list_free(ancestors);
	return root;
}

/*
 * The attribute number in 'to' of the column called like attnum in 'from'
 * (partitions may number their columns differently); InvalidAttrNumber if
 * it has none.
 */
AttrNumber
adv_map_attnum(Oid from, Oid to, AttrNumber attnum)
{
	char	   *name;

	if (from == to || attnum <= 0)
		return attnum;
	name = get_attname(from, attnum, true);
	if (name == NULL)
		return InvalidAttrNumber;
	return get_attnum(to, name);
}

/* Vars (varno 1) renumbered from one table's columns to another's */
typedef struct MapVars
{
	Oid			from;
	Oid			to;
} MapVars;

static Node *
map_vars_mutator(Node *node, MapVars *m)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Var) && ((Var *) node)->varno == 1 &&
		((Var *) node)->varlevelsup == 0)
	{
		Var		   *v = (Var *) copyObject(node);

		v->varattno = adv_map_attnum(m->from, m->to, v->varattno);
		v->varattnosyn = v->varattno;
		return (Node *) v;
	}
	return expression_tree_mutator(node, map_vars_mutator, (void *) m);
}

/*
 * A copy of an expression (Vars numbered 1) with its columns renumbered
 * from table 'from' to table 'to' (a partition and its root).
 */
Node *
adv_map_vars(Node *node, Oid from, Oid to)
{
	MapVars		m = {from, to};

	if (from == to)
		return copyObject(node);
	return map_vars_mutator(node, &m);
}

/* qualified-name order, so that steps come out the same every time */
static int
relname_cmp(const ListCell *a, const ListCell *b)
{
	Oid			ra = lfirst_oid(a);
	Oid			rb = lfirst_oid(b);
	int			c = strcmp(get_namespace_name(get_rel_namespace(ra)),
						   get_namespace_name(get_rel_namespace(rb)));

	return c != 0 ? c : strcmp(get_rel_name(ra), get_rel_name(rb));
}

/*
 * Leaf partitions (tables) under a partitioned table, in name order.
 * Foreign partitions are left out: they cannot be indexed.
 */
List *
adv_partition_leaves(Oid root)
{
	List	   *all = find_all_inheritors(root, NoLock, NULL);
	List	   *leaves = NIL;
	ListCell   *lc;

	foreach(lc, all)
	{
		Oid			relid = lfirst_oid(lc);

		if (get_rel_relkind(relid) == RELKIND_RELATION)
			leaves = lappend_oid(leaves, relid);
	}
	list_sort(leaves, relname_cmp);
	return leaves;
}

/* deepest first, then by name: the order partitioned members attach in */
static int
depth_cmp(const ListCell *a, const ListCell *b)
{
	int			da = list_length(get_partition_ancestors(lfirst_oid(a)));
	int			db = list_length(get_partition_ancestors(lfirst_oid(b)));

	if (da != db)
		return db - da;
	return relname_cmp(a, b);
}

/* the partitioned tables below the root of a tree, deepest first */
static List *
partitioned_members(Oid root)
{
	List	   *all = find_all_inheritors(root, NoLock, NULL);
	List	   *parts = NIL;
	ListCell   *lc;

	foreach(lc, all)
	{
		Oid			relid = lfirst_oid(lc);

		if (relid != root && get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE)
			parts = lappend_oid(parts, relid);
	}
	list_sort(parts, depth_cmp);
	return parts;
}

/*
 * The index name observa gives an index with these keys and predicate
 * texts on a table: obs_<table>_<columns>_<hash>, lower case, at most
 * NAMEDATALEN - 1 bytes.  Same inputs, same name.
 */
char *
adv_index_name(const char *relname, const char *namecols, const char *keys,
			   const char *where)
{
	char		base[NAMEDATALEN];
	uint32		h;
	int			len;

	h = hash_bytes((const unsigned char *) keys, strlen(keys));
	if (where)
		h ^= hash_bytes((const unsigned char *) where, strlen(where));
	snprintf(base, sizeof(base), "obs_%s%s", relname, namecols);
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
	return psprintf("%s_%08x", base, h);
}

/* the name of the index a partition gets for the parent's index idxname */
static char *
member_index_name(Oid relid, const char *idxname)
{
	char	   *relname = get_rel_name(relid);

	/* deterministic: the parent index name and the partition's name */
	return adv_index_name(relname, "", idxname, relname);
}

/* "CREATE [UNIQUE] INDEX [CONCURRENTLY] IF NOT EXISTS name ON [ONLY] rel <rest>" */
static char *
create_text(Oid relid, const char *name, bool unique, bool only,
			bool concurrently, const char *rest)
{
	return psprintf("CREATE %sINDEX %sIF NOT EXISTS %s ON %s%s.%s %s",
					unique ? "UNIQUE " : "", concurrently ? "CONCURRENTLY " : "",
					quote_identifier(name), only ? "ONLY " : "",
					quote_identifier(get_namespace_name(get_rel_namespace(relid))),
					quote_identifier(get_rel_name(relid)), rest);
}

/*
 * The text after "ON rel" of an index definition: "USING ... (...) ...".
 * Found by the parser's location of the relation and its length in the
 * text (the relation may be written quoted or qualified).
 */
static char *
definition_tail(const char *def, IndexStmt *stmt)
{
	const char *p = def + stmt->relation->location;
	bool		quoted = false;

	/* skip the (possibly qualified, possibly quoted) relation name */
	for (; *p; p++)
	{
		if (*p == '"')
			quoted = !quoted;
		else if (!quoted && (*p == ' ' || *p == '(' || *p == '\t' || *p == '\n'))
			break;
	}
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	return pstrdup(p);
}

/*
 * The statements that build the index of 'def' (one CREATE INDEX
 * CONCURRENTLY ... ON a table) as a DBA would: for a plain table the
 * definition itself; for a partitioned table the ON ONLY / CONCURRENTLY
 * per partition / ATTACH PARTITION sequence described at the top.  Each
 * element is an AdvStep.  'def' must already have been checked by the
 * caller (one IndexStmt with a name).
 */
List *
adv_build_steps(const char *def, IndexStmt *stmt, Oid relid)
{
	List	   *steps = NIL;
	List	   *members;
	List	   *leaves;
	char	   *tail;
	ListCell   *lc;
	AdvStep    *st;

	if (get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE)
	{
		st = palloc0(sizeof(AdvStep));
		st->kind = ADV_STEP_BUILD;
		st->relid = relid;
		st->nspname = get_namespace_name(get_rel_namespace(relid));
		st->index_name = pstrdup(stmt->idxname);
		st->sql = pstrdup(def);
		return list_make1(st);
	}
	tail = definition_tail(def, stmt);
	members = partitioned_members(relid);
	leaves = adv_partition_leaves(relid);

	/* 1. the partitioned tables' own (empty, invalid) indexes, root first */
	foreach(lc, lcons_oid(relid, list_copy(members)))
	{
		Oid			m = lfirst_oid(lc);

		st = palloc0(sizeof(AdvStep));
		st->kind = ADV_STEP_PARENT;
		st->relid = m;
		st->nspname = get_namespace_name(get_rel_namespace(m));
		st->index_name = (m == relid) ? pstrdup(stmt->idxname) :
			member_index_name(m, stmt->idxname);
		st->sql = create_text(m, st->index_name, stmt->unique, true, false, tail);
		steps = lappend(steps, st);
	}
	/* 2. each leaf, concurrently */
	foreach(lc, leaves)
	{
		Oid			leaf = lfirst_oid(lc);

		st = palloc0(sizeof(AdvStep));
		st->kind = ADV_STEP_BUILD;
		st->relid = leaf;
		st->nspname = get_namespace_name(get_rel_namespace(leaf));
		st->index_name = member_index_name(leaf, stmt->idxname);
		st->sql = create_text(leaf, st->index_name, stmt->unique, false, true, tail);
		steps = lappend(steps, st);
	}
	/* 3. attach bottom up: leaves, then the partitioned members, deepest first */
	{
		List	   *children = list_concat_copy(leaves, members);

		foreach(lc, children)
		{
			Oid			child = lfirst_oid(lc);
			Oid			parent = get_partition_parent(child, false);
			char	   *child_idx = member_index_name(child, stmt->idxname);
			char	   *parent_idx = (parent == relid) ? stmt->idxname :
				member_index_name(parent, stmt->idxname);
			char	   *nsp = get_namespace_name(get_rel_namespace(child));
			char	   *pnsp = get_namespace_name(get_rel_namespace(parent));

			st = palloc0(sizeof(AdvStep));
			st->kind = ADV_STEP_ATTACH;
			st->relid = child;
			st->nspname = nsp;
			st->index_name = child_idx;
			st->sql = psprintf("ALTER INDEX %s.%s ATTACH PARTITION %s.%s",
							   quote_identifier(pnsp), quote_identifier(parent_idx),
							   quote_identifier(nsp), quote_identifier(child_idx));
			steps = lappend(steps, st);
		}
	}
	return steps;
}

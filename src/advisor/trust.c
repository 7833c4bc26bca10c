/*-------------------------------------------------------------------------
 *
 * trust.c
 *		Index advisor: which functions, operators and domains may appear in
 *		an index that observa recommends or builds.
 *
 * An index expression or partial-index predicate is evaluated for every
 * row that any role writes to the table, and its author can replace a
 * function's body at any time (CREATE OR REPLACE FUNCTION).  So the
 * advisor only puts into a key or a predicate the functions, operators
 * (and the operators' functions) and domains (whose constraints run when
 * a value is coerced) owned by a superuser (pg_catalog, or an extension a
 * superuser installed) or by the table's owner.  recommend.c drops a
 * candidate that holds anything else and says why (a NOTICE);
 * create_index() and its background worker check again, on the parsed and
 * transformed definition they build (create.c).
 *
 * Catalog lookups only (syscache); nothing here runs the functions.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "advisor.h"

typedef struct TrustCtx
{
	Oid			relowner;
	char	   *reason;			/* set at the first untrusted object */
} TrustCtx;

static bool
owner_trusted(TrustCtx *ctx, Oid owner)
{
	return owner == ctx->relowner || superuser_arg(owner);
}

static void
set_reason(TrustCtx *ctx, const char *what, Oid owner)
{
	char	   *name = GetUserNameFromId(owner, true);

	ctx->reason = psprintf("%s, owned by role %s, which is neither a superuser nor the owner of the table",
						   what, name ? quote_identifier(name) : "(dropped)");
}

typedef enum TrustObject
{
	TRUST_FUNCTION = 0,
	TRUST_OPERATOR,
	TRUST_DOMAIN
} TrustObject;

/* "schema.name(argtype, ...)": schema always, argument types as SQL writes them */
static char *
function_name(Form_pg_proc proc)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "function %s(",
					 quote_qualified_identifier(get_namespace_name(proc->pronamespace),
												NameStr(proc->proname)));
	for (int i = 0; i < proc->pronargs; i++)
		appendStringInfo(&buf, "%s%s", i > 0 ? ", " : "",
						 format_type_be(proc->proargtypes.values[i]));
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

static char *
operator_name(Form_pg_operator op)
{
	return psprintf("operator %s.%s(%s, %s)",
					quote_identifier(get_namespace_name(op->oprnamespace)),
					NameStr(op->oprname),
					OidIsValid(op->oprleft) ? format_type_be(op->oprleft) : "NONE",
					OidIsValid(op->oprright) ? format_type_be(op->oprright) : "NONE");
}

/*
 * Is the function, operator or domain 'oid' untrusted for an index on
 * the table?  Sets ctx->reason when it is (or when it no longer exists).
 */
static bool
object_untrusted(TrustCtx *ctx, TrustObject kind, Oid oid)
{
	static const int caches[] = {PROCOID, OPEROID, TYPEOID};
	static const char *const kinds[] = {"function", "operator", "type"};
	HeapTuple	tup = SearchSysCache1(caches[kind], ObjectIdGetDatum(oid));
	Oid			owner;
	bool		untrusted;

	if (!HeapTupleIsValid(tup))
	{
		ctx->reason = psprintf("%s %u, which no longer exists", kinds[kind], oid);
		return true;
	}
	owner = kind == TRUST_FUNCTION ? ((Form_pg_proc) GETSTRUCT(tup))->proowner :
		kind == TRUST_OPERATOR ? ((Form_pg_operator) GETSTRUCT(tup))->oprowner :
		((Form_pg_type) GETSTRUCT(tup))->typowner;
	untrusted = !owner_trusted(ctx, owner);
	if (untrusted)
		set_reason(ctx,
				   kind == TRUST_FUNCTION ? function_name((Form_pg_proc) GETSTRUCT(tup)) :
				   kind == TRUST_OPERATOR ? operator_name((Form_pg_operator) GETSTRUCT(tup)) :
				   psprintf("domain %s", format_type_be_qualified(oid)),
				   owner);
	ReleaseSysCache(tup);
	return untrusted;
}

/* check_functions_in_node() callback: true stops the walk */
static bool
function_untrusted(Oid funcid, void *context)
{
	return object_untrusted((TrustCtx *) context, TRUST_FUNCTION, funcid);
}

static bool
trust_walker(Node *node, void *context)
{
	TrustCtx   *ctx = (TrustCtx *) context;

	if (node == NULL)
		return false;
	/* operators first (the clearer message), then their functions */
	switch (nodeTag(node))
	{
		case T_OpExpr:
		case T_DistinctExpr:
		case T_NullIfExpr:
			if (object_untrusted(ctx, TRUST_OPERATOR, ((OpExpr *) node)->opno))
				return true;
			break;
		case T_ScalarArrayOpExpr:
			if (object_untrusted(ctx, TRUST_OPERATOR, ((ScalarArrayOpExpr *) node)->opno))
				return true;
			break;
		case T_RowCompareExpr:
			{
				ListCell   *lc;

				foreach(lc, ((RowCompareExpr *) node)->opnos)
					if (object_untrusted(ctx, TRUST_OPERATOR, lfirst_oid(lc)))
					return true;
				break;
			}
		case T_CoerceToDomain:
			if (object_untrusted(ctx, TRUST_DOMAIN, ((CoerceToDomain *) node)->resulttype))
				return true;
			break;
		default:
			break;
	}
	/* functions: FuncExpr, operators' functions, I/O coercions, ... */
	if (check_functions_in_node(node, function_untrusted, ctx))
		return true;
	return expression_tree_walker(node, trust_walker, context);
}

/*
 * NULL when every function, operator and domain in expr may appear in an
 * index on relid; otherwise a phrase naming the first one that may not
 * ("function m.f(text), owned by role m, which is neither ...").
 */
char *
adv_untrusted_reason(Node *expr, Oid relid)
{
	TrustCtx	ctx;
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));

	if (!HeapTupleIsValid(tup))
		return psprintf("relation %u, which no longer exists", relid);
	ctx.relowner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	ctx.reason = NULL;
	(void) trust_walker(expr, &ctx);
	return ctx.reason;
}

/*
 * The same for a transformed CREATE INDEX statement (transformIndexStmt):
 * its key expressions and its predicate.
 */
char *
adv_index_untrusted(IndexStmt *stmt, Oid relid)
{
	List	   *elems = list_concat_copy(stmt->indexParams, stmt->indexIncludingParams);
	ListCell   *lc;
	char	   *reason = NULL;

	Assert(stmt->transformed);
	foreach(lc, elems)
	{
		IndexElem  *e = lfirst_node(IndexElem, lc);

		if (e->expr != NULL &&
			(reason = adv_untrusted_reason(e->expr, relid)) != NULL)
			return reason;
	}
	if (stmt->whereClause != NULL)
		reason = adv_untrusted_reason(stmt->whereClause, relid);
	return reason;
}

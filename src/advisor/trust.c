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

/* "schema.name(argtype, ...)": schema always, argument types as SQL writes them */
static char *
function_name(Form_pg_proc proc)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s(",
					 quote_qualified_identifier(get_namespace_name(proc->pronamespace),
												NameStr(proc->proname)));
	for (int i = 0; i < proc->pronargs; i++)
		appendStringInfo(&buf, "%s%s", i > 0 ? ", " : "",
						 format_type_be(proc->proargtypes.values[i]));
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

/* check_functions_in_node() callback: true stops the walk */
static bool
function_untrusted(Oid funcid, void *context)
{
	TrustCtx   *ctx = (TrustCtx *) context;
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
	{
		ctx->reason = psprintf("function %u, which no longer exists", funcid);
		return true;
	}
	owner = ((Form_pg_proc) GETSTRUCT(tup))->proowner;
	if (owner_trusted(ctx, owner))
	{
		ReleaseSysCache(tup);
		return false;
	}
	set_reason(ctx, psprintf("function %s", function_name((Form_pg_proc) GETSTRUCT(tup))),
			   owner);
	ReleaseSysCache(tup);
	return true;
}

static bool
operator_untrusted(TrustCtx *ctx, Oid opno)
{
	HeapTuple	tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(opno));
	Form_pg_operator form;
	Oid			owner;

	if (!HeapTupleIsValid(tup))
	{
		ctx->reason = psprintf("operator %u, which no longer exists", opno);
		return true;
	}
	form = (Form_pg_operator) GETSTRUCT(tup);
	owner = form->oprowner;
	if (owner_trusted(ctx, owner))
	{
		ReleaseSysCache(tup);
		return false;
	}
	set_reason(ctx, psprintf("operator %s.%s(%s, %s)",
							 quote_identifier(get_namespace_name(form->oprnamespace)),
							 NameStr(form->oprname),
							 OidIsValid(form->oprleft) ? format_type_be(form->oprleft) : "NONE",
							 OidIsValid(form->oprright) ? format_type_be(form->oprright) : "NONE"),
			   owner);
	ReleaseSysCache(tup);
	return true;
}

/* a domain's constraints run when a value is coerced to it */
static bool
domain_untrusted(TrustCtx *ctx, Oid typid)
{
	HeapTuple	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
	{
		ctx->reason = psprintf("type %u, which no longer exists", typid);
		return true;
	}
	owner = ((Form_pg_type) GETSTRUCT(tup))->typowner;
	ReleaseSysCache(tup);
	if (owner_trusted(ctx, owner))
		return false;
	set_reason(ctx, psprintf("domain %s", format_type_be_qualified(typid)), owner);
	/* format_type_be_qualified: always schema-qualified */
	return true;
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
			if (operator_untrusted(ctx, ((OpExpr *) node)->opno))
				return true;
			break;
		case T_ScalarArrayOpExpr:
			if (operator_untrusted(ctx, ((ScalarArrayOpExpr *) node)->opno))
				return true;
			break;
		case T_RowCompareExpr:
			{
				ListCell   *lc;

				foreach(lc, ((RowCompareExpr *) node)->opnos)
					if (operator_untrusted(ctx, lfirst_oid(lc)))
					return true;
				break;
			}
		case T_CoerceToDomain:
			if (domain_untrusted(ctx, ((CoerceToDomain *) node)->resulttype))
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
	ListCell   *lc;
	char	   *reason = NULL;

	Assert(stmt->transformed);
	foreach(lc, stmt->indexParams)
	{
		IndexElem  *e = lfirst_node(IndexElem, lc);

		if (e->expr != NULL &&
			(reason = adv_untrusted_reason(e->expr, relid)) != NULL)
			return reason;
	}
	foreach(lc, stmt->indexIncludingParams)
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

/*-------------------------------------------------------------------------
 *
 * tenant_stats.c
 *		Recorder: per-tenant statistics ("which tenant is the noisy
 *		neighbour").  See docs/tenant_stats.md.
 *
 * Tenant of a statement, first match wins among the sources that the
 * superuser setting observa.tenant_sources trusts (all three by default;
 * every one is client-supplied, docs/security.md says how each can be
 * forged):
 *	1. observa.tenant, when the session set it (SET observa.tenant = 'acme');
 *	2. a leading query comment  / * tenant=acme * /  (without the spaces);
 *	3. the value the plan filters a tenant column on with a btree equality
 *	   operator: "tenant_id = 42", "tenant_id = $1" (value taken from the
 *	   bound parameters), "tenant_id = ANY('{42}')" (a list of one), in
 *	   the quals of a scan of a table that has a tenant column
 *	   (observa.tenant_columns), or the value an INSERT ... VALUES of one
 *	   row puts in it;
 *	4. none: the statement counts under the NULL tenant.
 *
 * Which relation has which tenant column is cached per backend (relid ->
 * attnum) in a local hash filled from the syscache on first sight and
 * invalidated by a relcache callback.  A statement whose relations all
 * have no tenant column costs one local hash probe per relation: the plan
 * is not walked.  Whether an operator is a btree equality, and how a
 * tenant value of an uncommon type is rendered (integers, strings and
 * uuids are formatted without an output function), are cached the same
 * way in small arrays.  No output function that could raise is called
 * (type_render): a tenant value is rendered on every statement, where
 * catching an ERROR would cost a subtransaction per statement.  On the
 * error path only the caches are consulted and no output function is
 * called: anything unknown counts under NULL.
 *
 * Storage: one store instance (store.c) keyed by (database, tenant), so
 * any number of databases share one capacity (observa.max_tenants).  Its
 * eviction rule is Space-Saving by calls: when the store is full, the
 * tenants with the smallest estimate (calls + error bound) are folded into
 * their database's pinned "(other)" row, counters, sketch, windows and top
 * tables included, so the rows of a database always add up to its total;
 * a tenant admitted afterwards carries error bounds (calls and time) that
 * bound what it may have had before.  A database's statements without a
 * tenant count under its NULL-tenant row, kept (and never evicted) once
 * the database has shown a tenant since the reset: databases without
 * tenants take no room.  The entry payload is the
 * tenant's heaviest tables: Space-Saving by time over 5 slots, merged by
 * the store under the entry's lock.  Windows, percentiles (1 %, the
 * store's sketch), batching, locking and persistence are the store's.
 *
 * Hot path: obs_tenant_stats_record() finds the tenant (above) and hands
 * one value to obs_store_record(): backend-local, no lock; on the error
 * path only the caches are consulted.  A statement without a tenant in a
 * database that has shown none (a flag in shared memory, read, not
 * written) is not recorded at all: such databases cost one relation cache
 * probe per relation and one read of a shared flag per statement.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "common/hashfn.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "parser/parsetree.h"
#include "port/atomics.h"
#include "storage/shmem.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
#include "utils/varlena.h"

#include "observa.h"
#include "store.h"
#include "tenant_columns.h"

/* longest tenant value kept, in bytes, terminator included */
#define TENANT_KEYLEN			64
/* heaviest tables remembered per tenant */
#define TENANT_TOP_TABLES		5

#define OTHER_TENANT_LABEL		"(other)"

/* ------------------------------------------------------------------------
 * Keys and payload
 * ------------------------------------------------------------------------
 */
typedef struct TenantKey
{
	char		name[TENANT_KEYLEN];	/* NUL-padded */
} TenantKey;

/* what a store entry is */
#define TENANT_KIND_NAMED		0
#define TENANT_KIND_NONE		1	/* statements without a tenant */
#define TENANT_KIND_OTHER		2	/* the pinned "(other)" row */

typedef struct TenantStoreKey
{
	Oid			dbid;
	int32		kind;
	TenantKey	tenant;			/* zeros unless TENANT_KIND_NAMED */
} TenantStoreKey;

StaticAssertDecl(sizeof(TenantStoreKey) <= OBS_STORE_MAX_KEY, "tenant key too large");

typedef struct TenantTop
{
	Oid			relid;
	double		ms;
} TenantTop;

/* the entry payload: the heaviest tables */
typedef struct TenantTops
{
	TenantTop	top[TENANT_TOP_TABLES];
} TenantTops;

StaticAssertDecl(sizeof(TenantTops) <= OBS_STORE_MAX_PAYLOAD, "tenant payload too large");

/* ------------------------------------------------------------------------
 * Settings and state
 * ------------------------------------------------------------------------
 */
static char *session_tenant = NULL;
static int	max_tenants = 1000;

/* observa.tenant_sources: which client-supplied tenant sources are trusted */
#define TENANT_SOURCE_SETTING	0x01	/* SET observa.tenant */
#define TENANT_SOURCE_COMMENT	0x02	/* a leading comment tenant=... */
#define TENANT_SOURCE_FILTER	0x04	/* the plan's equality filter, INSERT value */
#define TENANT_SOURCES_ALL		0x07
static char *tenant_sources_string = NULL;
static int	tenant_sources = TENANT_SOURCES_ALL;

static ObsStoreConfig tenant_cfg;
static ObsStore *tenant_store = NULL;

/*
 * Databases that may have tenant rows, by dbid hashed into a few flags in
 * shared memory (a flag may stand for several databases).  A flag is set
 * when a backend records a named tenant of a database whose flag is clear
 * (read first: in steady state nobody writes), set at start-up for the
 * databases of the reloaded rows, and cleared at reset.  A statement
 * without a tenant of a database whose flag is clear is not recorded: its
 * NULL-tenant row would not be kept anyway (tenant_pinned_member), and
 * recording it would cost a pending entry and, at every flush, the store's
 * exclusive lock to find out.
 */
#define TENANT_DB_FLAGS			256	/* power of 2 */

typedef struct TenantShared
{
	pg_atomic_uint32 db_has_tenants[TENANT_DB_FLAGS];
} TenantShared;

static TenantShared *tenant_shared = NULL;

static inline pg_atomic_uint32 *
db_flag(Oid dbid)
{
	return &tenant_shared->db_has_tenants[hash_uint32((uint32) dbid) &
										  (TENANT_DB_FLAGS - 1)];
}

/* relid -> tenant column cache */
typedef struct RelTenantCache
{
	Oid			relid;			/* hash key */
	AttrNumber	attnum;			/* 0: no tenant column */
} RelTenantCache;

static HTAB *rel_cache = NULL;
static uint32 rel_cache_gen = 0;
static bool rel_cache_flush_all = false;

/* small caches for the operator and type facts the plan walk needs */
#define SMALL_CACHE 16
typedef struct OpFact
{
	Oid			opno;
	bool		is_eq;
} OpFact;
/* how a tenant value of a type is turned into a key (type_fact) */
typedef enum TenantRender
{
	TENANT_RENDER_NONE = 0,		/* not rendered: counts under no tenant */
	TENANT_RENDER_BASE,			/* a domain over a type format_value knows */
	TENANT_RENDER_OUTPUT,		/* a built-in output function of a built-in type or enum */
	TENANT_RENDER_TEXT			/* a string-category varlena: its bytes */
} TenantRender;

typedef struct TypeFact
{
	Oid			type;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Oid			outfn;
	Oid			base;			/* type without its domains */
	TenantRender render;
} TypeFact;
static OpFact op_facts[SMALL_CACHE];
static int	n_op_facts = 0;
static TypeFact type_facts[SMALL_CACHE];
static int	n_type_facts = 0;

/* ------------------------------------------------------------------------
 * The store instance
 * ------------------------------------------------------------------------
 */
/* Space-Saving over the few top-table slots */
static void
top_add(TenantTop *top, Oid relid, double ms)
{
	int			i;
	int			min = 0;

	if (!OidIsValid(relid))
		return;
	for (i = 0; i < TENANT_TOP_TABLES; i++)
	{
		if (top[i].relid == relid)
		{
			top[i].ms += ms;
			return;
		}
		if (!OidIsValid(top[i].relid))
		{
			top[i].relid = relid;
			top[i].ms = ms;
			return;
		}
		if (top[i].ms < top[min].ms)
			min = i;
	}
	top[min].relid = relid;
	top[min].ms += ms;
}

/* payload merge (store.h): fold src's tables into dst's */
static void
tops_merge(void *dst, const void *src)
{
	TenantTops *d = (TenantTops *) dst;
	const TenantTops *s = (const TenantTops *) src;

	for (int i = 0; i < TENANT_TOP_TABLES; i++)
		top_add(d->top, s->top[i].relid, s->top[i].ms);
}

/* Space-Saving's pinned row of key's group: its database's "(other)" */
static bool
tenant_other_key(const void *key, void *other)
{
	const TenantStoreKey *k = (const TenantStoreKey *) key;
	TenantStoreKey *o = (TenantStoreKey *) other;

	if (k->kind == TENANT_KIND_OTHER)
		return false;
	memset(o, 0, sizeof(TenantStoreKey));
	o->dbid = k->dbid;
	o->kind = TENANT_KIND_OTHER;
	return true;
}

/*
 * A database's NULL-tenant row is never evicted, and only kept once the
 * database has shown a tenant: databases without tenants take no rows.
 */
static bool
tenant_pinned_member(const void *key)
{
	return ((const TenantStoreKey *) key)->kind == TENANT_KIND_NONE;
}

/* ------------------------------------------------------------------------
 * Settings: observa.tenant, observa.max_tenants (observa.tenant_columns is
 * core.c's)
 * ------------------------------------------------------------------------
 */
static bool
check_session_tenant(char **newval, void **extra, GucSource source)
{
	if (*newval != NULL && strlen(*newval) >= TENANT_KEYLEN)
	{
		GUC_check_errdetail("A tenant value is at most %d bytes long.",
							TENANT_KEYLEN - 1);
		return false;
	}
	return true;
}

/* observa.tenant_sources: a list of setting, comment, filter (or empty) */
static bool
check_tenant_sources(char **newval, void **extra, GucSource source)
{
	char	   *raw = pstrdup(*newval ? *newval : "");
	List	   *names;
	ListCell   *lc;
	int			bits = 0;
	int		   *result;

	if (!SplitIdentifierString(raw, ',', &names))
	{
		GUC_check_errdetail("List syntax is invalid: expected source names separated by commas.");
		pfree(raw);
		list_free(names);
		return false;
	}
	foreach(lc, names)
	{
		const char *name = (const char *) lfirst(lc);

		if (strcmp(name, "setting") == 0)
			bits |= TENANT_SOURCE_SETTING;
		else if (strcmp(name, "comment") == 0)
			bits |= TENANT_SOURCE_COMMENT;
		else if (strcmp(name, "filter") == 0)
			bits |= TENANT_SOURCE_FILTER;
		else
		{
			GUC_check_errdetail("Unknown tenant source \"%s\".", name);
			GUC_check_errhint("The sources are setting, comment and filter.");
			pfree(raw);
			list_free(names);
			return false;
		}
	}
	pfree(raw);
	list_free(names);
	result = (int *) malloc(sizeof(int));
	if (result == NULL)
	{
		GUC_check_errcode(ERRCODE_OUT_OF_MEMORY);
		GUC_check_errdetail("Out of memory.");
		return false;
	}
	*result = bits;
	*extra = result;
	return true;
}

static void
assign_tenant_sources(const char *newval, void *extra)
{
	tenant_sources = *((int *) extra);
}

void
obs_tenant_stats_init(void)
{
	DefineCustomStringVariable("observa.tenant",
							   "Tenant the session's statements are counted under.",
							   "Overrides the tenant found in the statement. Empty: not set.",
							   &session_tenant,
							   "",
							   PGC_USERSET,
							   0,
							   check_session_tenant, NULL, NULL);

	DefineCustomStringVariable("observa.tenant_sources",
							   "Tenant sources trusted by per-tenant statistics, comma-separated.",
							   "setting (SET observa.tenant), comment (/* tenant=... */), filter (the plan's equality filter on a tenant column). All are client-supplied.",
							   &tenant_sources_string,
							   "setting, comment, filter",
							   PGC_SUSET,
							   GUC_LIST_INPUT,
							   check_tenant_sources, assign_tenant_sources, NULL);

	DefineCustomIntVariable("observa.max_tenants",
							"Tenants (of all databases together) tracked by per-tenant statistics.",
							"The tenants with the most calls are kept; the others count under their database's \"(other)\" row.",
							&max_tenants,
							1000, 10, 1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	tenant_cfg.name = "tenant_stats";
	tenant_cfg.keysize = sizeof(TenantStoreKey);
	tenant_cfg.auxsize = 0;
	tenant_cfg.capacity = max_tenants;
	tenant_cfg.payloadsize = sizeof(TenantTops);
	tenant_cfg.payload_merge = tops_merge;
	tenant_cfg.evict = OBS_EVICT_SPACE_SAVING;
	tenant_cfg.other_key = tenant_other_key;
	tenant_cfg.pinned_member = tenant_pinned_member;
}

Size
obs_tenant_stats_shmem_size(void)
{
	return add_size(obs_store_shmem_size(&tenant_cfg),
					MAXALIGN(sizeof(TenantShared)));
}

/* scan callback: flag the database of a reloaded row */
static void
flag_key_db(const void *key, void *arg)
{
	pg_atomic_write_u32(db_flag(((const TenantStoreKey *) key)->dbid), 1);
}

void
obs_tenant_stats_shmem_startup(void)
{
	bool		found;

	tenant_shared = ShmemInitStruct("observa tenant_stats flags",
									sizeof(TenantShared), &found);
	if (!found)
		for (int i = 0; i < TENANT_DB_FLAGS; i++)
			pg_atomic_init_u32(&tenant_shared->db_has_tenants[i], 0);
	tenant_store = obs_store_attach(&tenant_cfg);
	if (!found && tenant_store)
		obs_store_scan_keys(tenant_store, flag_key_db, NULL);
}

/* ------------------------------------------------------------------------
 * Relation -> tenant column cache
 * ------------------------------------------------------------------------
 */
static void
rel_cache_callback(Datum arg, Oid relid)
{
	if (rel_cache == NULL)
		return;
	if (OidIsValid(relid))
		hash_search(rel_cache, &relid, HASH_REMOVE, NULL);
	else
		rel_cache_flush_all = true;
}

static void
rel_cache_reset(void)
{
	HASH_SEQ_STATUS seq;
	RelTenantCache *c;

	hash_seq_init(&seq, rel_cache);
	while ((c = hash_seq_search(&seq)) != NULL)
		hash_search(rel_cache, &c->relid, HASH_REMOVE, NULL);
	rel_cache_flush_all = false;
	rel_cache_gen = obs_tenant_columns_generation();
}

/*
 * Tenant column of a relation: its attnum, 0 when it has none, -1 when
 * unknown.  With may_fill (normal path, inside a transaction) an unknown
 * relation is looked up in the syscache and remembered; otherwise only
 * the cache answers.
 */
static AttrNumber
rel_tenant_attnum(Oid relid, bool may_fill)
{
	RelTenantCache *c;
	AttrNumber	attnum = 0;
	int			i;

	if (relid < FirstNormalObjectId || obs_tenant_column_count() == 0)
		return 0;
	if (rel_cache == NULL)
	{
		HASHCTL		info;

		if (!may_fill)
			return -1;
		memset(&info, 0, sizeof(info));
		info.keysize = sizeof(Oid);
		info.entrysize = sizeof(RelTenantCache);
		info.hcxt = TopMemoryContext;
		rel_cache = hash_create("observa tenant relations", 256, &info,
								HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(rel_cache_callback, (Datum) 0);
		rel_cache_gen = obs_tenant_columns_generation();
	}
	if (may_fill && (rel_cache_flush_all || rel_cache_gen != obs_tenant_columns_generation()))
		rel_cache_reset();
	else if (rel_cache_flush_all || rel_cache_gen != obs_tenant_columns_generation())
		return -1;

	c = hash_search(rel_cache, &relid, HASH_FIND, NULL);
	if (c != NULL)
		return c->attnum;
	if (!may_fill)
		return -1;

	for (i = 0; i < obs_tenant_column_count(); i++)
	{
		HeapTuple	tup = SearchSysCacheAttName(relid, obs_tenant_column(i));

		if (HeapTupleIsValid(tup))
		{
			Form_pg_attribute att = (Form_pg_attribute) GETSTRUCT(tup);

			if (att->attnum > 0)
				attnum = att->attnum;
			ReleaseSysCache(tup);
			if (attnum > 0)
				break;
		}
	}
	c = hash_search(rel_cache, &relid, HASH_ENTER, NULL);
	c->attnum = attnum;
	return attnum;
}

/* is opno a btree equality operator (mergejoinable)?  -1: unknown */
static int
op_is_equality(Oid opno, bool may_fill)
{
	int			i;
	HeapTuple	tup;
	bool		is_eq = false;

	for (i = 0; i < n_op_facts; i++)
		if (op_facts[i].opno == opno)
			return op_facts[i].is_eq;
	if (!may_fill)
		return -1;
	tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(opno));
	if (HeapTupleIsValid(tup))
	{
		is_eq = ((Form_pg_operator) GETSTRUCT(tup))->oprcanmerge;
		ReleaseSysCache(tup);
	}
	if (n_op_facts < SMALL_CACHE)
	{
		op_facts[n_op_facts].opno = opno;
		op_facts[n_op_facts].is_eq = is_eq;
		n_op_facts++;
	}
	return is_eq;
}

/* the types format_value() formats itself, with no output function */
static bool
type_formatted_inline(Oid type)
{
	switch (type)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case OIDOID:
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
		case UUIDOID:
			return true;
		default:
			return false;
	}
}

/*
 * How tenant values of a type become keys.  A tenant value is rendered on
 * every statement, where catching an ERROR would cost a subtransaction per
 * statement, so no output function that could raise is ever called: only
 * the built-in output function of a built-in type (everything it prints
 * is built in too) or of an enum (enum_out prints a label).  A
 * user-defined base type, composite, array or range type could have an
 * output function that raises, or reach one through its elements; its
 * values count under no tenant, except string-like ones (category S,
 * variable length, such as citext), whose bytes are the key when they are
 * valid in the database encoding.  Said once per backend and type in the
 * log.
 */
static TenantRender
type_render(TypeFact *tf)
{
	char		typtype = get_typtype(tf->base);
	char		category;
	bool		preferred;

	if (tf->base != tf->type && type_formatted_inline(tf->base))
		return TENANT_RENDER_BASE;
	if (tf->outfn < FirstGenbkiObjectId && typtype != TYPTYPE_PSEUDO &&
		(tf->base < FirstGenbkiObjectId || typtype == TYPTYPE_ENUM))
		return TENANT_RENDER_OUTPUT;
	get_type_category_preferred(tf->base, &category, &preferred);
	if (tf->typlen == -1 && category == TYPCATEGORY_STRING)
		return TENANT_RENDER_TEXT;
	ereport(LOG,
			(errmsg("observa does not render tenant values of type %s: its output function is not built in",
					format_type_be(tf->type)),
			 errdetail("Statements whose tenant value has this type count under no tenant.")));
	return TENANT_RENDER_NONE;
}

/* storage and output facts of a type; NULL when unknown and !may_fill */
static TypeFact *
type_fact(Oid type, bool may_fill)
{
	int			i;
	TypeFact	tf;
	bool		isvarlena;

	for (i = 0; i < n_type_facts; i++)
		if (type_facts[i].type == type)
			return &type_facts[i];
	if (!may_fill || n_type_facts >= SMALL_CACHE)
		return NULL;
	tf.type = type;
	get_typlenbyvalalign(type, &tf.typlen, &tf.typbyval, &tf.typalign);
	getTypeOutputInfo(type, &tf.outfn, &isvarlena);
	tf.base = getBaseType(type);
	tf.render = type_render(&tf);
	type_facts[n_type_facts] = tf;
	return &type_facts[n_type_facts++];
}

/* ------------------------------------------------------------------------
 * Finding the tenant value in a plan
 * ------------------------------------------------------------------------
 */
typedef struct TenantFind
{
	const ObsSample *sample;
	PlannedStmt *pstmt;
	bool		may_fill;		/* normal path: catalog and output fns ok */
	TenantKey  *out;
	Oid			relid;			/* relation the value was found on */
	bool		found;
} TenantFind;

static void
set_key(TenantKey *key, const char *s, int len)
{
	memset(key, 0, sizeof(TenantKey));
	if (len >= TENANT_KEYLEN)
		len = pg_mbcliplen(s, len, TENANT_KEYLEN - 1);
	memcpy(key->name, s, len);
}

/* a varlena's bytes as the key; false when compressed, toasted or not text */
static bool
set_key_from_varlena(TenantKey *key, Datum value, bool blank_padded,
					 bool verify)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(value);
	int			len;
	const char *s;

	if (VARATT_IS_EXTENDED(v) && !VARATT_IS_SHORT(v))
		return false;			/* compressed or toasted: not a key */
	len = VARSIZE_ANY_EXHDR(v);
	s = VARDATA_ANY(v);
	if (blank_padded)
		while (len > 0 && s[len - 1] == ' ')
			len--;
	if (verify && !pg_verifymbstr(s, len, true))
		return false;
	set_key(key, s, len);
	return true;
}

/*
 * Format a non-null datum of the given type as the tenant key.  Integers,
 * strings and uuids are formatted here (no allocation, safe on the error
 * path); other types as type_render() decided, their output function on
 * the normal path only.  Nothing here can raise an ERROR on a valid datum.
 */
static bool
format_value(TenantFind *tf, Oid type, Datum value)
{
	char		buf[64];

	switch (type)
	{
		case INT2OID:
			snprintf(buf, sizeof(buf), "%d", (int) DatumGetInt16(value));
			break;
		case INT4OID:
			snprintf(buf, sizeof(buf), "%d", DatumGetInt32(value));
			break;
		case INT8OID:
			snprintf(buf, sizeof(buf), INT64_FORMAT, DatumGetInt64(value));
			break;
		case OIDOID:
			snprintf(buf, sizeof(buf), "%u", DatumGetObjectId(value));
			break;
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
			return set_key_from_varlena(tf->out, value, type == BPCHAROID, false);
		case UUIDOID:
			{
				pg_uuid_t  *u = DatumGetUUIDP(value);
				int			i,
							o = 0;

				for (i = 0; i < UUID_LEN; i++)
				{
					if (i == 4 || i == 6 || i == 8 || i == 10)
						buf[o++] = '-';
					o += snprintf(buf + o, sizeof(buf) - o, "%02x", u->data[i]);
				}
				buf[o] = '\0';
				break;
			}
		default:
			{
				TypeFact   *fact;
				char	   *s;

				if ((fact = type_fact(type, tf->may_fill)) == NULL)
					return false;
				switch (fact->render)
				{
					case TENANT_RENDER_BASE:
						return format_value(tf, fact->base, value);
					case TENANT_RENDER_TEXT:
						return set_key_from_varlena(tf->out, value, false, true);
					case TENANT_RENDER_OUTPUT:
						if (!tf->may_fill)
							return false;
						s = OidOutputFunctionCall(fact->outfn, value);
						set_key(tf->out, s, strlen(s));
						pfree(s);
						return true;
					case TENANT_RENDER_NONE:
						break;
				}
				return false;
			}
	}
	set_key(tf->out, buf, strlen(buf));
	return true;
}

/* the value of an extern parameter, or false */
static bool
param_value(TenantFind *tf, Param *p, Oid *type, Datum *value)
{
	ParamListInfo params = tf->sample->params;
	ParamExternData *prm;
	ParamExternData workspace;

	if (p->paramkind != PARAM_EXTERN || params == NULL ||
		p->paramid <= 0 || p->paramid > params->numParams)
		return false;
	if (params->paramFetch != NULL)
	{
		if (!tf->may_fill)
			return false;
		prm = params->paramFetch(params, p->paramid, true, &workspace);
	}
	else
		prm = &params->params[p->paramid - 1];
	if (prm == NULL || prm->isnull || !OidIsValid(prm->ptype))
		return false;
	*type = prm->ptype;
	*value = prm->value;
	return true;
}

/* a Const or extern Param with a non-null value */
static bool
expr_value(TenantFind *tf, Node *n, Oid *type, Datum *value)
{
	while (n && IsA(n, RelabelType))
		n = (Node *) ((RelabelType *) n)->arg;
	if (n == NULL)
		return false;
	if (IsA(n, Const))
	{
		Const	   *c = (Const *) n;

		if (c->constisnull)
			return false;
		*type = c->consttype;
		*value = c->constvalue;
		return true;
	}
	if (IsA(n, Param))
		return param_value(tf, (Param *) n, type, value);
	return false;
}

/*
 * Is n a Var of the tenant column of the scanned relation?  For an
 * index-only scan, Vars point at index columns (INDEX_VAR): indextlist
 * maps them back to the table's columns.
 */
static bool
is_tenant_var(Node *n, Index scanrelid, AttrNumber attnum, List *indextlist)
{
	Var		   *v;

	while (n && IsA(n, RelabelType))
		n = (Node *) ((RelabelType *) n)->arg;
	if (n == NULL || !IsA(n, Var))
		return false;
	v = (Var *) n;
	if (v->varlevelsup != 0)
		return false;
	if (v->varno == INDEX_VAR && indextlist != NIL)
	{
		TargetEntry *tle;

		if (v->varattno <= 0 || v->varattno > list_length(indextlist))
			return false;
		tle = list_nth_node(TargetEntry, indextlist, v->varattno - 1);
		if (tle->expr == NULL || !IsA(tle->expr, Var))
			return false;
		v = (Var *) tle->expr;
	}
	return v->varno == scanrelid && v->varattno == attnum;
}

/* the single element of a one-element array, or false */
static bool
single_element(TenantFind *tf, Oid arraytype, Datum arr, Oid *type,
			   Datum *value)
{
	ArrayType  *a;
	TypeFact   *fact;
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (!tf->may_fill)
		return false;
	a = DatumGetArrayTypeP(arr);
	if (ARR_NDIM(a) != 1 || ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)) != 1)
		return false;
	fact = type_fact(ARR_ELEMTYPE(a), true);
	if (fact == NULL)
		return false;
	deconstruct_array(a, ARR_ELEMTYPE(a), fact->typlen, fact->typbyval,
					  fact->typalign, &elems, &nulls, &n);
	if (n != 1 || nulls[0])
		return false;
	*type = ARR_ELEMTYPE(a);
	*value = elems[0];
	return true;
}

/* look for "tenant = value" in an implicit-AND qual list */
static bool
find_in_quals(TenantFind *tf, List *quals, Index scanrelid,
			  AttrNumber attnum, List *indextlist)
{
	ListCell   *lc;

	foreach(lc, quals)
	{
		Node	   *q = (Node *) lfirst(lc);
		Oid			type;
		Datum		value;

		if (IsA(q, OpExpr))
		{
			OpExpr	   *op = (OpExpr *) q;
			Node	   *l,
					   *r;

			if (list_length(op->args) != 2)
				continue;
			l = linitial(op->args);
			r = lsecond(op->args);
			if (!is_tenant_var(l, scanrelid, attnum, indextlist))
			{
				Node	   *t = l;

				l = r;
				r = t;
				if (!is_tenant_var(l, scanrelid, attnum, indextlist))
					continue;
			}
			if (op_is_equality(op->opno, tf->may_fill) != 1)
				continue;
			if (expr_value(tf, r, &type, &value) && format_value(tf, type, value))
				return true;
		}
		else if (IsA(q, ScalarArrayOpExpr))
		{
			ScalarArrayOpExpr *sa = (ScalarArrayOpExpr *) q;

			if (!sa->useOr || list_length(sa->args) != 2 ||
				!is_tenant_var(linitial(sa->args), scanrelid, attnum, indextlist))
				continue;
			if (op_is_equality(sa->opno, tf->may_fill) != 1)
				continue;
			if (expr_value(tf, lsecond(sa->args), &type, &value) &&
				single_element(tf, type, value, &type, &value) &&
				format_value(tf, type, value))
				return true;
		}
	}
	return false;
}

/* tenant attnum of the relation a scan node reads, 0/-1 if none/unknown */
static AttrNumber
scan_attnum(TenantFind *tf, Index scanrelid)
{
	RangeTblEntry *rte;

	if (scanrelid == 0 || scanrelid > list_length(tf->pstmt->rtable))
		return 0;
	rte = rt_fetch(scanrelid, tf->pstmt->rtable);
	if (rte->rtekind != RTE_RELATION)
		return 0;
	tf->relid = rte->relid;
	return rel_tenant_attnum(rte->relid, tf->may_fill);
}

static bool find_in_plan(TenantFind *tf, Plan *plan);

static bool
find_in_plans(TenantFind *tf, List *plans)
{
	ListCell   *lc;

	foreach(lc, plans)
		if (find_in_plan(tf, (Plan *) lfirst(lc)))
			return true;
	return false;
}

/* INSERT ... VALUES of one row: the value put in the tenant column */
static bool
find_in_insert(TenantFind *tf, ModifyTable *mt)
{
	Plan	   *sub = outerPlan(&mt->plan);
	AttrNumber	attnum;
	ListCell   *lc;

	if (mt->operation != CMD_INSERT || sub == NULL || !IsA(sub, Result) ||
		sub->lefttree != NULL || mt->resultRelations == NIL)
		return false;
	attnum = scan_attnum(tf, (Index) linitial_int(mt->resultRelations));
	if (attnum <= 0)
		return false;
	foreach(lc, sub->targetlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);
		Oid			type;
		Datum		value;

		if (tle->resno == attnum)
			return expr_value(tf, (Node *) tle->expr, &type, &value) &&
				format_value(tf, type, value);
	}
	return false;
}

/* depth-first over the plan tree; true once a tenant value is found */
static bool
find_in_plan(TenantFind *tf, Plan *plan)
{
	AttrNumber	attnum;

	if (plan == NULL)
		return false;

	switch (nodeTag(plan))
	{
		case T_SeqScan:
		case T_SampleScan:
		case T_TidScan:
		case T_TidRangeScan:
			attnum = scan_attnum(tf, ((Scan *) plan)->scanrelid);
			if (attnum > 0 &&
				find_in_quals(tf, plan->qual, ((Scan *) plan)->scanrelid,
							  attnum, NIL))
				return true;
			break;
		case T_IndexScan:
			{
				IndexScan  *is = (IndexScan *) plan;

				attnum = scan_attnum(tf, is->scan.scanrelid);
				if (attnum > 0 &&
					(find_in_quals(tf, is->indexqualorig, is->scan.scanrelid,
								   attnum, NIL) ||
					 find_in_quals(tf, plan->qual, is->scan.scanrelid,
								   attnum, NIL)))
					return true;
			}
			break;
		case T_IndexOnlyScan:
			{
				IndexOnlyScan *ios = (IndexOnlyScan *) plan;

				attnum = scan_attnum(tf, ios->scan.scanrelid);
				if (attnum > 0 &&
					(find_in_quals(tf, ios->indexqual, ios->scan.scanrelid,
								   attnum, ios->indextlist) ||
					 find_in_quals(tf, plan->qual, ios->scan.scanrelid,
								   attnum, ios->indextlist)))
					return true;
			}
			break;
		case T_BitmapIndexScan:
			{
				BitmapIndexScan *bis = (BitmapIndexScan *) plan;

				attnum = scan_attnum(tf, bis->scan.scanrelid);
				if (attnum > 0 &&
					find_in_quals(tf, bis->indexqualorig, bis->scan.scanrelid,
								  attnum, NIL))
					return true;
			}
			break;
		case T_BitmapHeapScan:
			{
				BitmapHeapScan *bhs = (BitmapHeapScan *) plan;

				attnum = scan_attnum(tf, bhs->scan.scanrelid);
				if (attnum > 0 &&
					(find_in_quals(tf, bhs->bitmapqualorig, bhs->scan.scanrelid,
								   attnum, NIL) ||
					 find_in_quals(tf, plan->qual, bhs->scan.scanrelid,
								   attnum, NIL)))
					return true;
			}
			break;
		case T_ModifyTable:
			if (find_in_insert(tf, (ModifyTable *) plan))
				return true;
			break;
		case T_Append:
			if (find_in_plans(tf, ((Append *) plan)->appendplans))
				return true;
			break;
		case T_MergeAppend:
			if (find_in_plans(tf, ((MergeAppend *) plan)->mergeplans))
				return true;
			break;
		case T_BitmapAnd:
			if (find_in_plans(tf, ((BitmapAnd *) plan)->bitmapplans))
				return true;
			break;
		case T_BitmapOr:
			if (find_in_plans(tf, ((BitmapOr *) plan)->bitmapplans))
				return true;
			break;
		case T_SubqueryScan:
			if (find_in_plan(tf, ((SubqueryScan *) plan)->subplan))
				return true;
			break;
		case T_CustomScan:
			if (find_in_plans(tf, ((CustomScan *) plan)->custom_plans))
				return true;
			break;
		default:
			break;
	}
	return find_in_plan(tf, plan->lefttree) ||
		find_in_plan(tf, plan->righttree);
}

/*
 * The tenant found in an executor statement's plan.  Returns false at
 * once when none of its relations has a tenant column (the common case:
 * one cache probe per relation).
 */
static bool
tenant_from_plan(const ObsSample *sample, bool may_fill, TenantKey *out,
				 Oid *relid)
{
	TenantFind	tf;
	bool		candidate = sample->rels_truncated;
	int			i;

	if (sample->pstmt == NULL || sample->pstmt->planTree == NULL ||
		obs_tenant_column_count() == 0)
		return false;
	for (i = 0; i < sample->nrels && !candidate; i++)
		if (rel_tenant_attnum(sample->relids[i], may_fill) > 0)
			candidate = true;
	if (!candidate)
		return false;

	memset(&tf, 0, sizeof(tf));
	tf.sample = sample;
	tf.pstmt = sample->pstmt;
	tf.may_fill = may_fill;
	tf.out = out;
	if (find_in_plan(&tf, sample->pstmt->planTree) ||
		find_in_plans(&tf, sample->pstmt->subplans))
	{
		*relid = tf.relid;
		return true;
	}
	return false;
}

/* a leading comment "/" "* tenant=VALUE *" "/" of the statement */
static bool
tenant_from_comment(const ObsSample *sample, TenantKey *out)
{
	const char *s = sample->source_text;
	const char *end;
	const char *v;
	int			len;

	if (s == NULL)
		return false;
	if (sample->stmt_location > 0)
		s += sample->stmt_location;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	if (s[0] != '/' || s[1] != '*')
		return false;
	end = strstr(s + 2, "*/");
	if (end == NULL)
		return false;
	for (v = s + 2; v < end; v++)
	{
		if (strncmp(v, "tenant=", 7) == 0 &&
			(v == s + 2 || v[-1] == ' ' || v[-1] == '\t'))
			break;
	}
	if (v >= end)
		return false;
	v += 7;
	for (len = 0; v + len < end && v[len] != ' ' && v[len] != '\t' &&
		 v[len] != '\n' && v[len] != ','; len++)
		;
	if (len == 0)
		return false;
	set_key(out, v, len);
	return true;
}

/* ------------------------------------------------------------------------
 * Recording
 * ------------------------------------------------------------------------
 */
/*
 * The table a statement's time is booked to in top_tables: the DML target,
 * else its first table (views and catalogs do not count).
 */
static Oid
primary_relation(const ObsSample *sample)
{
	int			i;

	if (OidIsValid(sample->target_relid))
		return sample->target_relid;
	for (i = 0; i < sample->nrels; i++)
	{
		char		k = sample->relkinds[i];

		if (sample->relids[i] >= FirstNormalObjectId &&
			(k == RELKIND_RELATION || k == RELKIND_PARTITIONED_TABLE ||
			 k == RELKIND_MATVIEW || k == RELKIND_FOREIGN_TABLE || k == '\0'))
			return sample->relids[i];
	}
	return InvalidOid;
}

void
obs_tenant_stats_record(const ObsSample *sample)
{
	TenantStoreKey key;
	TenantTops	tops;
	ObsStoreValue v;
	Oid			relid;
	bool		may_fill;
	bool		has_tenant = false;

	if (tenant_store == NULL || !OidIsValid(sample->dbid))
		return;

	memset(&key, 0, sizeof(key));
	key.dbid = sample->dbid;
	relid = primary_relation(sample);
	may_fill = !sample->failed && IsTransactionState();

	if ((tenant_sources & TENANT_SOURCE_SETTING) &&
		session_tenant != NULL && session_tenant[0] != '\0')
	{
		set_key(&key.tenant, session_tenant, strlen(session_tenant));
		has_tenant = true;
	}
	else if ((tenant_sources & TENANT_SOURCE_COMMENT) &&
			 tenant_from_comment(sample, &key.tenant))
		has_tenant = true;
	else if ((tenant_sources & TENANT_SOURCE_FILTER) && sample->query_desc != NULL)
	{
		Oid			found_on = InvalidOid;

		has_tenant = tenant_from_plan(sample, may_fill, &key.tenant, &found_on);
		if (has_tenant && !OidIsValid(sample->target_relid))
			relid = found_on;
	}
	if (has_tenant)
	{
		pg_atomic_uint32 *flag = db_flag(key.dbid);

		if (pg_atomic_read_u32(flag) == 0)
			pg_atomic_write_u32(flag, 1);
	}
	else if (pg_atomic_read_u32(db_flag(key.dbid)) == 0)
		return;					/* no tenant row of this database: not kept */
	else
		memset(&key.tenant, 0, sizeof(key.tenant));
	key.kind = has_tenant ? TENANT_KIND_NAMED : TENANT_KIND_NONE;
	if (relid < FirstNormalObjectId)
		relid = InvalidOid;

	memset(&tops, 0, sizeof(tops));
	tops.top[0].relid = relid;
	tops.top[0].ms = sample->duration_ms;
	memset(&v, 0, sizeof(v));
	v.ms = sample->duration_ms;
	v.rows = sample->rows;
	v.failed = sample->failed;
	v.payload = OidIsValid(relid) ? &tops : NULL;
	obs_store_record(tenant_store, &key, NULL, &v);
}

/* ------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------
 */
#define TENANT_STATS_COLS_1_0	13
#define TENANT_STATS_COLS_1_1	14	/* since interval: + covered_since */

typedef struct TenantRow
{
	Oid			dbid;
	int			kind;
	TenantKey	key;
	int64		calls;
	int64		errors;
	double		total_ms;
	double		q[3];
	double		error_bound_ms;
	TenantTop	top[TENANT_TOP_TABLES];
	TimestampTz covered_since;
} TenantRow;

static const double quantiles[3] = {0.5, 0.95, 0.99};

static int
top_cmp(const void *a, const void *b)
{
	const TenantTop *x = a;
	const TenantTop *y = b;

	if (x->ms != y->ms)
		return x->ms > y->ms ? -1 : 1;
	return 0;
}

static Datum
top_tables_datum(TenantRow *row)
{
	Datum		elems[TENANT_TOP_TABLES];
	int			n = 0;
	int			i;

	qsort(row->top, TENANT_TOP_TABLES, sizeof(TenantTop), top_cmp);
	for (i = 0; i < TENANT_TOP_TABLES; i++)
	{
		char	   *name = NULL;

		if (!OidIsValid(row->top[i].relid))
			continue;
		if (row->dbid == MyDatabaseId)
		{
			char	   *rel = get_rel_name(row->top[i].relid);

			if (rel != NULL)
			{
				char	   *nsp = get_namespace_name(get_rel_namespace(row->top[i].relid));

				name = quote_qualified_identifier(nsp, rel);
			}
		}
		if (name == NULL)
			name = psprintf("%u", row->top[i].relid);
		elems[n++] = CStringGetTextDatum(name);
	}
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false,
										   TYPALIGN_INT));
}

static int
tenant_row_cmp(const void *a, const void *b)
{
	const TenantRow *x = a;
	const TenantRow *y = b;

	if (x->dbid != y->dbid)
		return x->dbid < y->dbid ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return strcmp(x->key.name, y->key.name);
}

/* the store's rows as tenant rows, grouped by database */
static TenantRow *
collect_rows(int64 since_us, int *nrows_out)
{
	ObsStoreRow *rows;
	TenantRow  *out;
	int			n,
				i;

	rows = obs_store_snapshot(tenant_store, since_us, quantiles, 3, NULL, 0, &n);
	out = palloc0(sizeof(TenantRow) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		const TenantStoreKey *k = (const TenantStoreKey *) rows[i].key;
		TenantRow  *r = &out[i];

		r->dbid = k->dbid;
		r->kind = k->kind;
		r->key = k->tenant;
		r->calls = rows[i].c.calls;
		r->errors = rows[i].c.errors;
		r->total_ms = rows[i].c.total_ms;
		memcpy(r->q, rows[i].quantiles, sizeof(r->q));
		r->error_bound_ms = rows[i].error_bound_ms;
		memcpy(r->top, ((const TenantTops *) rows[i].payload)->top, sizeof(r->top));
		r->covered_since = rows[i].covered_since;
	}
	qsort(out, n, sizeof(TenantRow), tenant_row_cmp);
	*nrows_out = n;
	return out;
}

/* emit one result row; dbtotal is the time of all rows of its database */
static void
put_row(ReturnSetInfo *rsinfo, TenantRow *r, const char *datname,
		double dbtotal, int ncols)
{
	Datum		values[TENANT_STATS_COLS_1_1];
	bool		nulls[TENANT_STATS_COLS_1_1];
	int			k;

	memset(nulls, 0, sizeof(nulls));
	if (datname)
		values[0] = DirectFunctionCall1(namein, CStringGetDatum(datname));
	else
		nulls[0] = true;
	if (r->kind == TENANT_KIND_NONE)
		nulls[1] = true;
	else if (r->kind == TENANT_KIND_OTHER)
		values[1] = CStringGetTextDatum(OTHER_TENANT_LABEL);
	else
		values[1] = CStringGetTextDatum(r->key.name);
	values[2] = BoolGetDatum(r->kind == TENANT_KIND_OTHER);
	values[3] = Int64GetDatum(r->calls);
	values[4] = Int64GetDatum(r->errors);
	values[5] = Float8GetDatum(r->total_ms);
	if (r->calls > 0)
		values[6] = Float8GetDatum(r->total_ms / r->calls);
	else
		nulls[6] = true;
	for (k = 0; k < 3; k++)
	{
		if (isnan(r->q[k]))
			nulls[7 + k] = true;
		else
			values[7 + k] = Float8GetDatum(r->q[k]);
	}
	if (dbtotal > 0)
		values[10] = Float8GetDatum(r->total_ms / dbtotal);
	else
		nulls[10] = true;
	{
		TenantRow	tmp = *r;

		values[11] = top_tables_datum(&tmp);
	}
	values[12] = Float8GetDatum(r->error_bound_ms);
	values[13] = TimestampTzGetDatum(r->covered_since);
	(void) ncols;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * observa.tenant_stats() and observa.tenant_stats(since interval).  API 1.1
 * adds covered_since to the interval form; 1.0's symbol keeps serving
 * 1.0's shape.
 */
static Datum
tenant_stats_internal(FunctionCallInfo fcinfo, int api)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		since_us;
	TenantRow  *rows;
	int			nrows;
	int			ncols;
	int			i;

	obs_require_preload();
	since_us = obs_since_arg(fcinfo, 0, "tenant_stats");

	ncols = (api >= 11 && since_us >= 0) ? TENANT_STATS_COLS_1_1 : TENANT_STATS_COLS_1_0;
	obs_init_srf(fcinfo, ncols);

	rows = collect_rows(since_us, &nrows);

	/* rows come grouped by database: total each group, then emit it */
	for (i = 0; i < nrows;)
	{
		Oid			dbid = rows[i].dbid;
		char	   *datname = get_database_name(dbid);
		double		dbtotal = 0.0;
		int			j;

		for (j = i; j < nrows && rows[j].dbid == dbid; j++)
			dbtotal += rows[j].total_ms;
		for (; i < j; i++)
			put_row(rsinfo, &rows[i], datname, dbtotal, ncols);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(observa_tenant_stats_1_0);

Datum
observa_tenant_stats_1_0(PG_FUNCTION_ARGS)
{
	return tenant_stats_internal(fcinfo, 10);
}

PG_FUNCTION_INFO_V1(observa_tenant_stats_1_1);

Datum
observa_tenant_stats_1_1(PG_FUNCTION_ARGS)
{
	return tenant_stats_internal(fcinfo, 11);
}

/* observa.reset() (room table) */
void
obs_tenant_stats_reset(TimestampTz now)
{
	if (tenant_store == NULL)
		return;
	/* flags first: one set meanwhile costs a flush, a lost one would drop rows */
	for (int i = 0; i < TENANT_DB_FLAGS; i++)
		pg_atomic_write_u32(&tenant_shared->db_has_tenants[i], 0);
	obs_store_reset(tenant_store, now);
}

/*
 * observa.reset_tenant_stats(): forget every database's tenant statistics.
 */
PG_FUNCTION_INFO_V1(observa_reset_tenant_stats);

Datum
observa_reset_tenant_stats(PG_FUNCTION_ARGS)
{
	TimestampTz now;

	obs_require_preload();
	now = GetCurrentTimestamp();
	obs_tenant_stats_reset(now);
	PG_RETURN_TIMESTAMPTZ(now);
}

/* scan callback: count the databases and named tenants */
typedef struct TenantCount
{
	Oid			dbs[64];
	int			ndbs;			/* distinct, up to 64, then "at least" */
	int64		tenants;
} TenantCount;

static void
count_key(const void *key, void *arg)
{
	const TenantStoreKey *k = (const TenantStoreKey *) key;
	TenantCount *c = (TenantCount *) arg;
	int			i;

	if (k->kind == TENANT_KIND_NAMED)
		c->tenants++;
	for (i = 0; i < c->ndbs; i++)
		if (c->dbs[i] == k->dbid)
			return;
	if (c->ndbs < lengthof(c->dbs))
		c->dbs[c->ndbs++] = k->dbid;
}

void
obs_tenant_stats_info(ObsInfoSink *sink)
{
	TenantCount c;

	if (tenant_store == NULL)
		return;
	obs_store_info(tenant_store, sink, "tenant_stats");
	memset(&c, 0, sizeof(c));
	obs_store_scan_keys(tenant_store, count_key, &c);
	obs_info_add_int(sink, "tenant_stats", "databases", c.ndbs,
					 "databases with tenant statistics now (counted up to 64)");
	obs_info_add_int(sink, "tenant_stats", "tenants", c.tenants,
					 "named tenant rows in use, all databases (besides NULL-tenant and (other) rows)");
}

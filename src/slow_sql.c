/*-------------------------------------------------------------------------
 *
 * slow_sql.c
 *		SQL functions of the slow-query ring: observa.slow_queries(lim) (and
 *		the view over it) and observa.reset_slow_queries().
 *
 * Reading takes no lock: it lists the complete entries by their slot
 * sequences, sorts them newest first, and copies each one out with
 * obs_slow_ring_copy(), which validates the copy against the slot's
 * sequence (slow_ring.c).  An entry overwritten between the listing and
 * the copy is skipped.  Names (database, role, relations) are resolved
 * here, at read time, never by the writer.
 *
 * Privileges: roles that are superuser or members of pg_read_all_stats see
 * everything; other roles see query, params, plan and error only of the
 * rows whose user they have the privileges of, "<insufficient privilege>"
 * otherwise, and client_addr and queryid of those rows only (NULL
 * otherwise), as pg_stat_activity hides them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "common/string.h"
#include "commands/dbcommands.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "observa.h"
#include "slow_ring.h"

/* columns of observa.slow_queries(lim) in version 1.0 */
#define SLOW_COLS_1_0	23

#define INSUFFICIENT_PRIVILEGE	"<insufficient privilege>"

/* newest first */
static int
ticket_cmp_desc(const void *a, const void *b)
{
	uint64		x = *(const uint64 *) a;
	uint64		y = *(const uint64 *) b;

	return (x < y) ? 1 : (x > y) ? -1 : 0;
}

/*
 * Tickets of the complete entries in the ring since the last reset, newest
 * first; returns how many.  'tickets' has room for ring->size.
 */
static int
list_tickets(const SlowRing *r, uint64 *tickets)
{
	uint64		base = pg_atomic_read_u64((pg_atomic_uint64 *) &r->reset_ticket);
	int			n = 0;
	uint32		i;

	for (i = 0; i < r->size; i++)
	{
		uint64		seq = pg_atomic_read_u64(&obs_slow_slot(r, i)->seq);

		if (seq == 0 || (seq & 1) != 0 || seq / 2 - 1 < base)
			continue;
		tickets[n++] = seq / 2 - 1;
	}
	qsort(tickets, n, sizeof(uint64), ticket_cmp_desc);
	return n;
}

/*
 * A text datum from bytes captured in 'encoding', with "..." when
 * truncated.  Text captured in a database of another encoding is
 * converted when it is plain ASCII; otherwise its non-ASCII bytes are
 * shown as '?', so that reading the ring never fails on a conversion.
 */
static Datum
text_from(const char *s, uint32 len, int encoding, bool truncated)
{
	char	   *copy = palloc(len + 4);

	memcpy(copy, s, len);
	copy[len] = '\0';
	if (encoding != GetDatabaseEncoding() && !pg_is_ascii(copy))
	{
		uint32		i;

		for (i = 0; i < len; i++)
		{
			if (IS_HIGHBIT_SET(copy[i]))
				copy[i] = '?';
		}
	}
	if (truncated)
		strcat(copy, "...");
	return CStringGetTextDatum(copy);
}

/* relation names, schema-qualified; the OID when the relation is gone */
static Datum
relation_names(const SlowSlot *e)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(e->nrels, 1));
	int			i;

	for (i = 0; i < e->nrels; i++)
	{
		HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(e->relids[i]));
		char	   *name = NULL;

		if (HeapTupleIsValid(tup))
		{
			Form_pg_class rel = (Form_pg_class) GETSTRUCT(tup);
			char	   *nsp = get_namespace_name(rel->relnamespace);

			name = quote_qualified_identifier(nsp, NameStr(rel->relname));
			ReleaseSysCache(tup);
		}
		else
			name = psprintf("%u", e->relids[i]);
		elems[i] = CStringGetTextDatum(name);
	}
	return PointerGetDatum(construct_array(elems, e->nrels, TEXTOID, -1,
										   false, TYPALIGN_INT));
}

static Datum
relation_oids(const SlowSlot *e)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(e->nrels, 1));
	int			i;

	for (i = 0; i < e->nrels; i++)
		elems[i] = ObjectIdGetDatum(e->relids[i]);
	return PointerGetDatum(construct_array(elems, e->nrels, OIDOID,
										   sizeof(Oid), true, TYPALIGN_INT));
}

/* one output row from a validated local copy of an entry */
static void
emit_row(ReturnSetInfo *rsinfo, const SlowRing *r, SlowSlot *e,
		 uint64 ticket, bool see_all)
{
	Datum		values[SLOW_COLS_1_0];
	bool		nulls[SLOW_COLS_1_0];
	bool		visible = see_all || has_privs_of_role(GetUserId(), e->userid);
	char	   *name;
	int			c = 0;

	memset(nulls, 0, sizeof(nulls));

	values[c++] = Int64GetDatum((int64) ticket + 1);	/* seq */
	values[c++] = TimestampTzGetDatum(e->ts);
	values[c++] = Float8GetDatum(e->duration_ms);
	values[c++] = ObjectIdGetDatum(e->dbid);
	name = get_database_name(e->dbid);
	if (name)
		values[c++] = CStringGetTextDatum(name);
	else
		nulls[c++] = true;
	values[c++] = ObjectIdGetDatum(e->userid);
	name = GetUserNameFromId(e->userid, true);
	if (name)
		values[c++] = CStringGetTextDatum(name);
	else
		nulls[c++] = true;
	values[c++] = CStringGetTextDatum(e->application_name);
	/* client_addr and queryid: hidden in others' rows, as pg_stat_activity does */
	if (visible && e->client_addr[0] != '\0')
		values[c++] = DirectFunctionCall1(inet_in,
										  CStringGetDatum(e->client_addr));
	else
		nulls[c++] = true;
	values[c++] = Int32GetDatum(e->pid);
	if (visible && e->queryid != 0)
		values[c++] = Int64GetDatum((int64) e->queryid);
	else
		nulls[c++] = true;
	values[c++] = BoolGetDatum(e->nesting_level == 0);
	values[c++] = CStringGetTextDatum(e->operation);
	values[c++] = relation_oids(e);
	if (e->dbid == MyDatabaseId)
		values[c++] = relation_names(e);
	else
		nulls[c++] = true;
	values[c++] = Int64GetDatum((int64) e->rows);

	/* query (NULL once the arena overwrote the entry's bytes) */
	if (!visible)
		values[c++] = CStringGetTextDatum(INSUFFICIENT_PRIVILEGE);
	else if (e->var_lost)
		nulls[c++] = true;
	else
		values[c++] = text_from(obs_slow_query_buf(r, e), e->query_len,
								e->encoding, e->query_truncated);
	values[c++] = BoolGetDatum(e->query_truncated);

	/* params */
	if (e->params_state == OBS_SLOW_PARAMS_NONE)
		nulls[c++] = true;
	else if (!visible)
		values[c++] = CStringGetTextDatum(INSUFFICIENT_PRIVILEGE);
	else if (e->params_state == OBS_SLOW_PARAMS_SKIPPED)
		values[c++] = CStringGetTextDatum("<not captured>");
	else if (e->var_lost)
		nulls[c++] = true;
	else
		values[c++] = text_from(obs_slow_params_buf(r, e), e->params_len,
								e->encoding, e->params_truncated);
	values[c++] = BoolGetDatum(e->params_truncated);

	/* plan */
	if (e->plan_format == OBS_SLOW_PLAN_OFF || (visible && e->var_lost))
		nulls[c++] = true;
	else if (!visible)
		values[c++] = CStringGetTextDatum(INSUFFICIENT_PRIVILEGE);
	else
		values[c++] = text_from(obs_slow_plan_buf(r, e), e->plan_len,
								e->encoding, e->plan_truncated);
	values[c++] = BoolGetDatum(e->plan_truncated);

	/* error */
	if (!e->failed)
		nulls[c++] = true;
	else if (!visible)
		values[c++] = CStringGetTextDatum(INSUFFICIENT_PRIVILEGE);
	else if (e->var_lost)
		values[c++] = CStringGetTextDatum(e->sqlstate);
	else
	{
		Datum		msg = text_from(obs_slow_error_buf(r, e), e->error_len,
									e->encoding, false);

		values[c++] = CStringGetTextDatum(psprintf("%s: %s", e->sqlstate,
												   TextDatumGetCString(msg)));
	}

	Assert(c == SLOW_COLS_1_0);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * observa.slow_queries(lim int): the newest 'lim' entries, newest first.
 * lim NULL or negative is an error; 0 returns no row.
 */
PG_FUNCTION_INFO_V1(observa_slow_queries_1_0);

Datum
observa_slow_queries_1_0(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SlowRing   *r;
	int32		lim;
	uint64	   *tickets;
	SlowSlot   *copy;
	bool		see_all;
	int			n;
	int			i;
	int			emitted = 0;

	obs_require_preload();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("lim must not be null"),
				 errhint("Pass the number of newest entries wanted, or read the view observa.slow_queries for all of them.")));
	lim = PG_GETARG_INT32(0);
	if (lim < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lim must not be negative: %d", lim),
				 errhint("Pass the number of newest entries wanted, or 0 for none.")));

	obs_init_srf(fcinfo, SLOW_COLS_1_0);

	r = obs_slow_ring_get();
	see_all = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
	tickets = palloc(sizeof(uint64) * r->size);
	copy = palloc(r->copy_size);
	n = list_tickets(r, tickets);
	for (i = 0; i < n && emitted < lim; i++)
	{
		if (!obs_slow_ring_copy(r, tickets[i], copy))
			continue;			/* overwritten since it was listed */
		emit_row(rsinfo, r, copy, tickets[i], see_all);
		emitted++;
	}
	return (Datum) 0;
}

/*
 * observa.reset_slow_queries(): forget every entry of the ring.
 */
PG_FUNCTION_INFO_V1(observa_reset_slow_queries);

Datum
observa_reset_slow_queries(PG_FUNCTION_ARGS)
{
	obs_require_preload();
	obs_slow_ring_reset(obs_slow_ring_get());
	PG_RETURN_VOID();
}

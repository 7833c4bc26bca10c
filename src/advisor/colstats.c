/*-------------------------------------------------------------------------
 *
 * colstats.c
 *		Index advisor: what pg_statistic (the data behind pg_stats) says
 *		about a column: its distinct values, the frequency of its most
 *		common values, and, for a tenant key, the heaviest tenant and a
 *		small one.
 *
 * The heaviest tenant is the first entry of the most-common-values list.
 * A small tenant is the last MCV entry when the list covers (nearly) all
 * rows, otherwise the middle bound of the histogram, a value outside the
 * MCV list, whose frequency is estimated the way the planner does: the
 * rows the MCVs leave, spread over the remaining distinct values.  Both
 * depend only on the statistics, never on which executions the capture
 * happened to sample, so the same data gives the same tenants.
 *
 * Syscache lookups only; no locks of our own.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_statistic.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "recommend.h"

/* the MCV list: top frequency, total, and the heavy / small values */
static void
read_mcv(HeapTuple tup, AdvColStats *out, bool want_values)
{
	AttStatsSlot slot;
	int16		typlen;
	bool		byval;

	if (!get_attstatsslot(&slot, tup, STATISTIC_KIND_MCV, InvalidOid,
						  ATTSTATSSLOT_NUMBERS |
						  (want_values ? ATTSTATSSLOT_VALUES : 0)))
		return;
	out->nmcv = slot.nnumbers;
	for (int i = 0; i < slot.nnumbers; i++)
		out->mcv_total += slot.numbers[i];
	if (slot.nnumbers > 0)
		out->top_freq = slot.numbers[0];
	if (want_values && slot.nvalues > 0)
	{
		out->type = slot.valuetype;
		get_typlenbyval(slot.valuetype, &typlen, &byval);
		out->has_heavy = true;
		out->heavy = datumCopy(slot.values[0], byval, typlen);
		out->heavy_freq = slot.numbers[0];
		if (slot.nvalues > 1)
		{
			out->has_small = true;
			out->small = datumCopy(slot.values[slot.nvalues - 1], byval, typlen);
			out->small_freq = slot.numbers[slot.nvalues - 1];
		}
	}
	free_attstatsslot(&slot);
}

/* a small value outside the MCV list: the histogram's middle bound */
static void
read_histogram(HeapTuple tup, AdvColStats *out)
{
	AttStatsSlot slot;
	int16		typlen;
	bool		byval;
	double		rest;
	double		others;

	if (!get_attstatsslot(&slot, tup, STATISTIC_KIND_HISTOGRAM, InvalidOid,
						  ATTSTATSSLOT_VALUES))
		return;
	if (slot.nvalues > 0)
	{
		get_typlenbyval(slot.valuetype, &typlen, &byval);
		rest = Max(1.0 - out->mcv_total - out->nullfrac, 0.0);
		others = Max(out->ndistinct - out->nmcv, 1.0);
		if (!out->has_heavy)
		{
			/* no MCV list: values are about equally frequent */
			out->type = slot.valuetype;
			out->has_heavy = true;
			out->heavy = datumCopy(slot.values[slot.nvalues / 2], byval, typlen);
			out->heavy_freq = rest / others;
		}
		else
		{
			out->has_small = true;
			out->small = datumCopy(slot.values[slot.nvalues / 2], byval, typlen);
			out->small_freq = rest / others;
		}
	}
	free_attstatsslot(&slot);
}

/*
 * Statistics of relid.att (inherited: the statistics over a partitioned
 * table's partitions).  With want_values also the heavy and small values.
 * False when the column has no statistics (never analyzed).
 */
bool
adv_column_stats(Oid relid, AttrNumber att, bool inherited, double reltuples,
				 bool want_values, AdvColStats *out)
{
	HeapTuple	tup;
	Form_pg_statistic form;

	memset(out, 0, sizeof(*out));
	tup = SearchSysCache3(STATRELATTINH, ObjectIdGetDatum(relid),
						  Int16GetDatum(att), BoolGetDatum(inherited));
	if (!HeapTupleIsValid(tup))
		return false;
	form = (Form_pg_statistic) GETSTRUCT(tup);
	out->valid = true;
	out->nullfrac = form->stanullfrac;
	out->ndistinct = form->stadistinct;
	if (out->ndistinct < 0)
		out->ndistinct = -out->ndistinct * Max(reltuples, 0) * (1.0 - out->nullfrac);
	read_mcv(tup, out, want_values);
	/* the MCV list covers nearly every row: its last entry is a small one */
	if (want_values && out->mcv_total + out->nullfrac < 0.99)
	{
		out->has_small = false;
		read_histogram(tup, out);
	}
	ReleaseSysCache(tup);
	return true;
}

/* a value as text, by its type's output function */
char *
adv_datum_text(Datum value, Oid type)
{
	Oid			typoutput;
	bool		varlena;

	getTypeOutputInfo(type, &typoutput, &varlena);
	return OidOutputFunctionCall(typoutput, value);
}

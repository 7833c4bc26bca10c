/*-------------------------------------------------------------------------
 *
 * regressions.c
 *		observa.window_latency(recent, baseline): per statement and per
 *		(operation, table), the latency of a recent period and of the
 *		baseline period before it, and the p95 and mean of every window
 *		of the recent period's resolution.  observa.regressions() (SQL,
 *		docs/regressions.md) judges from these numbers which keys got
 *		slower; report_html() draws its timeline from the windows.
 *
 * Periods.  The recent period is what table_stats(recent) would answer:
 * the windows of the finest level whose kept windows reach back 'recent',
 * from the one holding now - recent on.  The baseline period is the same
 * for 'baseline' minus the recent period: at the same level its windows
 * before the recent ones; at a coarser level (every statement is added
 * to its window at every level, so the levels agree) the merge of its
 * windows minus the merge of the recent ones, bucket by bucket for the
 * sketch and by the inverse of Chan's merge for the moments.
 *
 * Noise.  Beside the point p95 of each side, two ranks are read: the
 * recent sketch at 0.95 - 3 * sqrt(0.95 * 0.05 / n_recent) and the
 * baseline sketch at min(1, 0.95 + 3 * sqrt(0.95 * 0.05 / n_baseline)):
 * the nearest-rank p95 of n independent latencies lies between those
 * ranks of the distribution with high probability (a binomial count of
 * values below the true p95, three standard deviations).  The sketch's
 * relative error is returned so that the caller can widen by it.
 *
 * Locking: obs_store_windows() holds the store lock shared while the
 * callback below merges one entry's windows into backend-local dense
 * histograms; no catalog access happens until it is released (names are
 * resolved by the SQL caller).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "histogram.h"
#include "observa.h"
#include "store.h"

#define WL_COLS 26

/* what one key's windows give */
typedef struct WlRow
{
	ObsRoomKey	key;
	Oid			relids[OBS_MAX_SAMPLE_RELS];
	ObsCounters recent;
	double		recent_p95;
	double		recent_p95_low;
	TimestampTz recent_since;
	bool		has_baseline;
	ObsCounters base;
	double		base_p95;
	double		base_p95_high;
	TimestampTz base_since;
	int			nwin;
	TimestampTz *wstart;
	int64	   *wcalls;
	double	   *wmean;
	double	   *wp95;
	int64		wlen_us;
} WlRow;

typedef struct WlState
{
	bool		statements;
	TimestampTz now;
	int			lr,
				lb;				/* levels; lb < 0: no baseline */
	int64		first_r,
				first_b;		/* first epochs of the periods */
	ObsLevelInfo levels[OBS_STORE_LEVELS];
	ObsHistogram *hr,
			   *hb;
	List	   *rows;
} WlState;

/* the q-quantile (nearest rank) of (bucket, count) pairs, within [lo, hi] */
static double
pairs_quantile(const ObsBucketCount *p, int n, double q, double lo, double hi)
{
	uint64		total = 0,
				rank,
				seen = 0;
	double		v = NAN;
	int			i;

	for (i = 0; i < n; i++)
		total += p[i].count;
	if (total == 0)
		return NAN;
	rank = (uint64) ceil(q * (double) total);
	rank = Max(rank, 1);
	for (i = 0; i < n; i++)
	{
		seen += p[i].count;
		if (seen >= rank)
		{
			v = obs_hist_bucket_value(p[i].bucket);
			break;
		}
	}
	return Min(Max(v, lo), hi);
}

static double
hist_rank(const ObsHistogram *h, double q, const ObsCounters *c)
{
	double		v;

	if (h->count == 0)
		return NAN;
	v = obs_hist_quantile(h, Min(Max(q, 0.0), 1.0));
	if (c->calls > 0 && c->min_ms <= c->max_ms)
		v = Min(Max(v, c->min_ms), c->max_ms);
	return v;
}

/* three binomial standard deviations of the rank of a p95 from n values */
static double
rank_margin(uint64 n)
{
	return n > 0 ? 3.0 * sqrt(0.95 * 0.05 / (double) n) : 1.0;
}

/* total -= part (counts and moments; min and max become unknown) */
static void
counters_subtract(ObsCounters *total, const ObsCounters *part)
{
	double		n = (double) total->calls - (double) part->calls;
	double		N = (double) total->calls;
	double		mean,
				delta;

	if (n <= 0)
	{
		memset(total, 0, sizeof(*total));
		return;
	}
	mean = (total->mean_ms * N - part->mean_ms * (double) part->calls) / n;
	delta = part->mean_ms - mean;
	total->m2 -= part->m2 + delta * delta * n * (double) part->calls / N;
	total->m2 = Max(total->m2, 0.0);
	total->mean_ms = mean;
	total->calls -= part->calls;
	total->errors = Max(total->errors - part->errors, 0);
	total->rows = Max(total->rows - part->rows, 0);
	total->total_ms = Max(total->total_ms - part->total_ms, 0.0);
	total->min_ms = 0.0;
	total->max_ms = DBL_MAX;
}

static void
hist_add_pairs(ObsHistogram *h, const ObsWindow *w)
{
	for (int i = 0; i < w->npairs; i++)
		obs_hist_add(h, w->pairs[i].bucket, w->pairs[i].count);
}

static void
hist_subtract(ObsHistogram *h, const ObsHistogram *part)
{
	int			nb = obs_hist_nbuckets();

	for (int b = 0; b < nb; b++)
	{
		uint64		d = Min(h->counts[b], part->counts[b]);

		h->counts[b] -= d;
		h->count -= d;
	}
}

/* obs_store_windows callback: one entry */
static void
wl_entry(const void *key, const void *aux, const ObsWindow *w, int nw, void *arg)
{
	WlState    *st = arg;
	WlRow	   *row = palloc0(sizeof(WlRow));
	int64		lenr = st->levels[st->lr].len_us;
	int			i,
				k = 0;

	if (st->statements)
		obs_statement_stats_key(key, aux, &row->key);
	else
		obs_table_stats_key(key, aux, &row->key);
	if (row->key.nrels > 0)
	{
		memcpy(row->relids, row->key.relids, sizeof(Oid) * row->key.nrels);
		row->key.relids = row->relids;
	}

	obs_hist_reset(st->hr);
	row->wstart = palloc(sizeof(TimestampTz) * nw);
	row->wcalls = palloc(sizeof(int64) * nw);
	row->wmean = palloc(sizeof(double) * nw);
	row->wp95 = palloc(sizeof(double) * nw);
	row->wlen_us = lenr;
	for (i = 0; i < nw; i++)
	{
		if (w[i].level != st->lr)
			continue;
		row->wstart[k] = w[i].start;
		row->wcalls[k] = w[i].c.calls;
		row->wmean[k] = w[i].c.total_ms / (double) w[i].c.calls;
		row->wp95[k] = pairs_quantile(w[i].pairs, w[i].npairs, 0.95,
									  w[i].c.min_ms, w[i].c.max_ms);
		k++;
		if (w[i].start / lenr >= st->first_r)
		{
			obs_counters_merge(&row->recent, &w[i].c);
			hist_add_pairs(st->hr, &w[i]);
		}
	}
	row->nwin = k;
	if (row->recent.calls == 0)
	{
		/* nothing recent: not a candidate */
		pfree(row->wstart);
		pfree(row->wcalls);
		pfree(row->wmean);
		pfree(row->wp95);
		pfree(row);
		return;
	}
	row->recent_since = st->first_r * lenr;
	row->recent_since = Max(row->recent_since, st->levels[st->lr].complete_from);
	row->recent_p95 = hist_rank(st->hr, 0.95, &row->recent);
	row->recent_p95_low = hist_rank(st->hr, 0.95 - rank_margin(st->hr->count),
									&row->recent);

	if (st->lb >= 0)
	{
		int64		lenb = st->levels[st->lb].len_us;

		obs_hist_reset(st->hb);
		for (i = 0; i < nw; i++)
		{
			int64		epoch = w[i].start / lenb;

			if (w[i].level != st->lb || epoch < st->first_b)
				continue;
			/* same level: only the windows before the recent ones */
			if (st->lb == st->lr && epoch >= st->first_r)
				continue;
			obs_counters_merge(&row->base, &w[i].c);
			hist_add_pairs(st->hb, &w[i]);
		}
		if (st->lb != st->lr)
		{
			counters_subtract(&row->base, &row->recent);
			hist_subtract(st->hb, st->hr);
		}
		row->has_baseline = true;
		row->base_since = st->first_b * lenb;
		row->base_since = Max(row->base_since, st->levels[st->lb].complete_from);
		if (row->base.calls > 0)
		{
			row->base_p95 = hist_rank(st->hb, 0.95, &row->base);
			row->base_p95_high = hist_rank(st->hb, 0.95 + rank_margin(st->hb->count),
										   &row->base);
		}
	}
	st->rows = lappend(st->rows, row);
}

static Datum
ts_array(const TimestampTz *v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = TimestampTzGetDatum(v[i]);
	return PointerGetDatum(construct_array(d, n, TIMESTAMPTZOID, 8,
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

static Datum
int8_array(const int64 *v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = Int64GetDatum(v[i]);
	return PointerGetDatum(construct_array(d, n, INT8OID, 8,
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

static Datum
float8_array(const double *v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = Float8GetDatum(v[i]);
	return PointerGetDatum(construct_array(d, n, FLOAT8OID, 8,
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

static Datum
nan_null(double v, bool *isnull)
{
	*isnull = isnan(v);
	return Float8GetDatum(v);
}

static Datum
interval_us(int64 us)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->time = us;
	return IntervalPGetDatum(iv);
}

static void
wl_emit(ReturnSetInfo *rsinfo, const WlRow *r)
{
	Datum		values[WL_COLS];
	bool		nulls[WL_COLS];
	const ObsRoomKey *k = &r->key;

	memset(nulls, 0, sizeof(nulls));
	values[0] = CStringGetTextDatum(k->is_statement ? "statement" : "table");
	values[1] = Int64GetDatum((int64) k->queryid);
	values[2] = ObjectIdGetDatum(k->userid);
	values[3] = BoolGetDatum(k->toplevel);
	nulls[1] = nulls[2] = nulls[3] = !k->is_statement;
	values[4] = ObjectIdGetDatum(k->dbid);
	values[5] = ObjectIdGetDatum(k->relid);
	nulls[5] = k->is_statement;
	if (k->is_statement)
	{
		Datum	   *d = palloc(sizeof(Datum) * Max(k->nrels, 1));

		for (int i = 0; i < k->nrels; i++)
			d[i] = ObjectIdGetDatum(k->relids[i]);
		values[6] = PointerGetDatum(construct_array(d, k->nrels, OIDOID,
													sizeof(Oid), true,
													TYPALIGN_INT));
	}
	else
		nulls[6] = true;
	values[7] = CStringGetTextDatum(k->operation);
	values[8] = Int64GetDatum(r->recent.calls);
	values[9] = Float8GetDatum(r->recent.total_ms / (double) r->recent.calls);
	values[10] = Float8GetDatum(obs_counters_stddev(&r->recent));
	values[11] = nan_null(r->recent_p95, &nulls[11]);
	values[12] = nan_null(r->recent_p95_low, &nulls[12]);
	values[13] = TimestampTzGetDatum(r->recent_since);
	if (r->has_baseline)
	{
		values[14] = Int64GetDatum(r->base.calls);
		if (r->base.calls > 0)
		{
			values[15] = Float8GetDatum(r->base.total_ms / (double) r->base.calls);
			values[16] = Float8GetDatum(obs_counters_stddev(&r->base));
			values[17] = nan_null(r->base_p95, &nulls[17]);
			values[18] = nan_null(r->base_p95_high, &nulls[18]);
		}
		else
			nulls[15] = nulls[16] = nulls[17] = nulls[18] = true;
		values[19] = TimestampTzGetDatum(r->base_since);
	}
	else
		for (int i = 14; i <= 19; i++)
			nulls[i] = true;
	values[20] = ts_array(r->wstart, r->nwin);
	values[21] = int8_array(r->wcalls, r->nwin);
	values[22] = float8_array(r->wmean, r->nwin);
	values[23] = float8_array(r->wp95, r->nwin);
	values[24] = interval_us(r->wlen_us);
	values[25] = Float8GetDatum(obs_hist_relative_error());
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* first epoch of the period since(us) at level L, as snapshot_windows */
static int64
period_first(const WlState *st, int L, int64 us)
{
	int64		len = st->levels[L].len_us;
	int64		cur = st->now / len;
	int64		first = (st->now - us) / len;

	return Max(first, cur - st->levels[L].nwindows);
}

static void
wl_room(ReturnSetInfo *rsinfo, ObsStore *store, bool statements,
		int64 recent_us, int64 baseline_us)
{
	WlState		st;
	ListCell   *lc;

	memset(&st, 0, sizeof(st));
	st.statements = statements;
	st.now = GetCurrentTimestamp();
	obs_store_levels(store, st.levels);
	st.lr = obs_store_level_for(store, recent_us);
	st.first_r = period_first(&st, st.lr, recent_us);
	st.lb = -1;
	if (baseline_us > 0)
	{
		st.lb = obs_store_level_for(store, baseline_us);
		st.first_b = period_first(&st, st.lb, baseline_us);
	}
	st.hr = palloc(obs_hist_size());
	st.hb = palloc(obs_hist_size());
	obs_store_windows(store, wl_entry, &st);
	foreach(lc, st.rows)
		wl_emit(rsinfo, (WlRow *) lfirst(lc));
}

/*
 * observa.window_latency(recent interval, baseline interval DEFAULT NULL)
 */
PG_FUNCTION_INFO_V1(observa_window_latency_1_1);

Datum
observa_window_latency_1_1(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	int64		recent_us,
				baseline_us = 0;

	obs_require_preload();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("recent must not be NULL"),
				 errhint("Pass the recent period, for example interval '15 minutes'.")));
	recent_us = obs_interval_us(PG_GETARG_DATUM(0));
	if (!PG_ARGISNULL(1))
	{
		baseline_us = obs_interval_us(PG_GETARG_DATUM(1));
		if (baseline_us <= recent_us)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("baseline must be longer than recent"),
					 errhint("The baseline period is the one before the recent period, for example recent => interval '15 minutes', baseline => interval '1 day'.")));
	}
	rsinfo = obs_init_srf(fcinfo, WL_COLS);
	wl_room(rsinfo, obs_statement_stats_store(), true, recent_us, baseline_us);
	wl_room(rsinfo, obs_table_stats_store(), false, recent_us, baseline_us);
	return (Datum) 0;
}

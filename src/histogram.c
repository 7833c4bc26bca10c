/*-------------------------------------------------------------------------
 *
 * histogram.c
 *		Log-bucketed latency histogram with a relative-error guarantee.
 *
 * With relative error a, let g = (1 + a) / (1 - a).  Bucket 0 holds values
 * up to OBS_HIST_MIN_MS; bucket i >= 1 holds (MIN * g^(i-1), MIN * g^i].
 * Every value x of bucket i is within a relative error a of the bucket's
 * representative 2 * MIN * g^i / (1 + g): |x - v| <= a * x.  A quantile is
 * answered with the representative of the bucket that holds the value of
 * that rank (nearest-rank definition: the ceil(q * n)-th smallest value),
 * so the answer is within a of the true quantile of the recorded values,
 * for any q, provided the value lies in [1 us, 1 h].  Values below 1 us
 * fall in bucket 0 (answered as 1 us); values above 1 h in the last
 * bucket (answered as 1 h).
 *
 * With a = 1 % that is 1102 buckets of 4 bytes: 4.4 kB per histogram.
 *
 * Histograms are mergeable: merging adds bucket counts, and the merged
 * histogram keeps the same guarantee for the union of the values.
 *
 * Counters are uint32.  Before one would overflow, every bucket is halved
 * (rounding up, so no non-empty bucket empties): quantiles keep their
 * shape (ranks scale), and 'halvings' records that it happened.
 *
 * Nothing here allocates, locks or raises errors.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "utils/float.h"

#include "histogram.h"

static double hist_error = OBS_HIST_DEFAULT_ERROR;
static double hist_log_gamma = 0.0;		/* ln(g) */
static double hist_gamma = 0.0;
static int	hist_nbuckets = 0;

void
obs_hist_configure(double relative_error)
{
	if (relative_error < OBS_HIST_MIN_ERROR)
		relative_error = OBS_HIST_MIN_ERROR;
	if (relative_error > OBS_HIST_MAX_ERROR)
		relative_error = OBS_HIST_MAX_ERROR;
	hist_error = relative_error;
	hist_gamma = (1.0 + relative_error) / (1.0 - relative_error);
	hist_log_gamma = log(hist_gamma);
	/* bucket 0, then enough buckets to pass MAX, plus the last (overflow) */
	hist_nbuckets = (int) ceil(log(OBS_HIST_MAX_MS / OBS_HIST_MIN_MS) /
							   hist_log_gamma) + 2;
}

static inline void
ensure_configured(void)
{
	if (hist_nbuckets == 0)
		obs_hist_configure(OBS_HIST_DEFAULT_ERROR);
}

double
obs_hist_relative_error(void)
{
	ensure_configured();
	return hist_error;
}

int
obs_hist_nbuckets(void)
{
	ensure_configured();
	return hist_nbuckets;
}

Size
obs_hist_size(void)
{
	ensure_configured();
	return MAXALIGN(offsetof(ObsHistogram, counts) +
					sizeof(uint32) * hist_nbuckets);
}

void
obs_hist_reset(ObsHistogram *h)
{
	memset(h, 0, obs_hist_size());
}

int
obs_hist_bucket(double ms)
{
	int			b;

	ensure_configured();
	if (!(ms > OBS_HIST_MIN_MS))	/* also catches NaN */
		return 0;
	b = (int) ceil(log(ms / OBS_HIST_MIN_MS) / hist_log_gamma);
	/* guard the boundary against rounding in log() */
	if (b < 1)
		b = 1;
	if (b > hist_nbuckets - 1)
		b = hist_nbuckets - 1;
	return b;
}

double
obs_hist_bucket_upper(int bucket)
{
	ensure_configured();
	if (bucket <= 0)
		return OBS_HIST_MIN_MS;
	return OBS_HIST_MIN_MS * exp(hist_log_gamma * bucket);
}

double
obs_hist_bucket_value(int bucket)
{
	double		v;

	ensure_configured();
	if (bucket <= 0)
		return OBS_HIST_MIN_MS;
	v = 2.0 * obs_hist_bucket_upper(bucket) / (1.0 + hist_gamma);
	return Min(v, OBS_HIST_MAX_MS);
}

/* halve every bucket, keeping non-empty buckets non-empty */
static void
halve(ObsHistogram *h)
{
	int			i;

	for (i = 0; i < hist_nbuckets; i++)
		h->counts[i] = (h->counts[i] + 1) / 2;
	h->halvings++;
}

void
obs_hist_add(ObsHistogram *h, int bucket, uint32 n)
{
	ensure_configured();
	if (bucket < 0)
		bucket = 0;
	if (bucket >= hist_nbuckets)
		bucket = hist_nbuckets - 1;
	while (h->counts[bucket] > PG_UINT32_MAX - n)
		halve(h);
	h->counts[bucket] += n;
	h->count += n;
}

void
obs_hist_record(ObsHistogram *h, double ms)
{
	obs_hist_add(h, obs_hist_bucket(ms), 1);
}

void
obs_hist_merge(ObsHistogram *dst, const ObsHistogram *src)
{
	int			i;

	ensure_configured();
	for (i = 0; i < hist_nbuckets; i++)
	{
		if (src->counts[i] == 0)
			continue;
		while (dst->counts[i] > PG_UINT32_MAX - src->counts[i])
			halve(dst);
		dst->counts[i] += src->counts[i];
	}
	dst->count += src->count;
	dst->halvings = Max(dst->halvings, src->halvings);
}

void
obs_hist_quantiles(const ObsHistogram *h, const double *qs, double *out,
				   int n)
{
	uint64		total = 0;
	uint64		cum = 0;
	int			b = 0;
	int			i;

	ensure_configured();
	for (i = 0; i < hist_nbuckets; i++)
		total += h->counts[i];

	for (i = 0; i < n; i++)
	{
		double		q = qs[i];
		uint64		rank;

		if (total == 0 || isnan(q))
		{
			out[i] = get_float8_nan();
			continue;
		}
		q = Max(0.0, Min(1.0, q));
		/* nearest rank: the ceil(q * total)-th value, at least the first */
		rank = (uint64) ceil(q * (double) total);
		if (rank < 1)
			rank = 1;
		while (b < hist_nbuckets && cum + h->counts[b] < rank)
		{
			cum += h->counts[b];
			b++;
		}
		out[i] = obs_hist_bucket_value(Min(b, hist_nbuckets - 1));
	}
}

double
obs_hist_quantile(const ObsHistogram *h, double q)
{
	double		r;

	obs_hist_quantiles(h, &q, &r, 1);
	return r;
}

uint64
obs_hist_count_le(const ObsHistogram *h, double bound_ms)
{
	uint64		n = 0;
	int			i;

	ensure_configured();
	for (i = 0; i < hist_nbuckets; i++)
	{
		if (obs_hist_bucket_value(i) > bound_ms)
			break;
		n += h->counts[i];
	}
	return n;
}

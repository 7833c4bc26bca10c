/*-------------------------------------------------------------------------
 *
 * histogram.h
 *		observa's latency sketch: a log-bucketed histogram whose quantiles
 *		are within a stated relative error of the true quantile of what was
 *		recorded.  Plain C, no PostgreSQL state: safe in shared memory,
 *		in backend-local memory and on the error path.  See histogram.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OBSERVA_HISTOGRAM_H
#define OBSERVA_HISTOGRAM_H

#include "c.h"

/* recorded range: 1 microsecond to 1 hour, in milliseconds */
#define OBS_HIST_MIN_MS		0.001
#define OBS_HIST_MAX_MS		3600000.0

/* default and limits of observa.histogram_error (relative error) */
#define OBS_HIST_DEFAULT_ERROR	0.01
#define OBS_HIST_MIN_ERROR		0.001
#define OBS_HIST_MAX_ERROR		0.1

/*
 * A histogram is this header followed by obs_hist_nbuckets() counters.
 * Its size is fixed once obs_hist_configure() ran (in _PG_init), so a
 * store can lay histograms out in shared memory with obs_hist_size().
 */
typedef struct ObsHistogram
{
	uint64		count;			/* values recorded (sum of the buckets,
								 * before any halving, see below) */
	uint32		halvings;		/* times every bucket was halved to avoid
								 * counter overflow (shape is kept) */
	uint32		counts[FLEXIBLE_ARRAY_MEMBER];
} ObsHistogram;

/* set the relative error (and so the bucket count); call once, early */
extern void obs_hist_configure(double relative_error);
extern double obs_hist_relative_error(void);
extern int	obs_hist_nbuckets(void);
/* bytes of one histogram, header included */
extern Size obs_hist_size(void);

extern void obs_hist_reset(ObsHistogram *h);
/* bucket index of a duration (ms); values outside the range are clamped */
extern int	obs_hist_bucket(double ms);
/* the value a bucket stands for (its relative-error midpoint), in ms */
extern double obs_hist_bucket_value(int bucket);
/* upper bound of a bucket in ms (lower bound is the previous upper) */
extern double obs_hist_bucket_upper(int bucket);

extern void obs_hist_record(ObsHistogram *h, double ms);
extern void obs_hist_add(ObsHistogram *h, int bucket, uint32 n);
extern void obs_hist_merge(ObsHistogram *dst, const ObsHistogram *src);

/* q in [0,1]; returns NaN (get_float8_nan) on an empty histogram */
extern double obs_hist_quantile(const ObsHistogram *h, double q);
/*
 * Fill out[i] with the estimated quantile of qs[i] for n quantiles in one
 * pass; qs must be ascending.
 */
extern void obs_hist_quantiles(const ObsHistogram *h, const double *qs,
							   double *out, int n);
/*
 * Number of recorded values <= bound_ms (a bucket counts when its
 * representative value is <= bound_ms).  For Prometheus-style buckets.
 */
extern uint64 obs_hist_count_le(const ObsHistogram *h, double bound_ms);

#endif							/* OBSERVA_HISTOGRAM_H */

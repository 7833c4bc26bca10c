/*-------------------------------------------------------------------------
 *
 * histogram.h
 *		observa's latency sketch (see histogram.c): relative-error
 *		logarithmic buckets in the manner of DDSketch (Masson, Rim, Lee,
 *		"DDSketch: A Fast and Fully-Mergeable Quantile Sketch with
 *		Relative-Error Guarantees", PVLDB 12(12), 2019).
 *
 * Three pieces, all plain C with no PostgreSQL state, safe in shared
 * memory, in backend-local memory and on the error path:
 *
 *	  - the bucket geometry: which bucket a duration falls in (no log(): the
 *	    double's exponent and mantissa bits and a small table) and the value
 *	    that stands for a bucket;
 *	  - ObsHistogram, a dense backend-local histogram for readers (merge,
 *	    quantiles, cumulative counts);
 *	  - ObsSketch, the compact form kept in shared memory: a sorted list of
 *	    64-byte cells from an arena the caller owns, each holding the counts
 *	    of a run of consecutive buckets, 16-bit counters until one needs more.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OBSERVA_HISTOGRAM_H
#define OBSERVA_HISTOGRAM_H

#include "c.h"

/* documented range: 1 microsecond to 1 hour, in milliseconds */
#define OBS_HIST_MIN_MS		0.001
#define OBS_HIST_MAX_MS		3600000.0

/* default and limits of observa.histogram_error (relative error) */
#define OBS_HIST_DEFAULT_ERROR	0.01
#define OBS_HIST_MIN_ERROR		0.001
#define OBS_HIST_MAX_ERROR		0.1

/* ----------------------------------------------------------------
 * geometry
 * ---------------------------------------------------------------- */

/* set the relative error (and so the buckets); call once, early */
extern void obs_hist_configure(double relative_error);
/* the bound actually achieved (<= the one asked for) */
extern double obs_hist_relative_error(void);
extern int	obs_hist_nbuckets(void);
/* buckets per power of two */
extern int	obs_hist_buckets_per_octave(void);

/* bucket of a duration in ms (values outside the range are clamped) */
extern int	obs_hist_bucket(double ms);
/* the value a bucket stands for: within the relative error of all of it */
extern double obs_hist_bucket_value(int bucket);
/* lower bound of a bucket (its values are >= it, < the next one's) */
extern double obs_hist_bucket_lower(int bucket);

/* ----------------------------------------------------------------
 * dense histogram (backend-local)
 * ---------------------------------------------------------------- */

typedef struct ObsHistogram
{
	uint64		count;			/* sum of the buckets */
	uint64		counts[FLEXIBLE_ARRAY_MEMBER];
} ObsHistogram;

/* bytes of one dense histogram */
extern Size obs_hist_size(void);
extern void obs_hist_reset(ObsHistogram *h);
extern void obs_hist_add(ObsHistogram *h, int bucket, uint64 n);
extern void obs_hist_record(ObsHistogram *h, double ms);
extern void obs_hist_merge(ObsHistogram *dst, const ObsHistogram *src);

/*
 * out[i] = the value of the bucket holding the ceil(qs[i] * count)-th
 * smallest value (nearest rank), for qs ascending; NaN when empty.
 */
extern void obs_hist_quantiles(const ObsHistogram *h, const double *qs,
							   double *out, int n);
extern double obs_hist_quantile(const ObsHistogram *h, double q);
/* values recorded in buckets whose value is <= bound_ms */
extern uint64 obs_hist_count_le(const ObsHistogram *h, double bound_ms);

/* ----------------------------------------------------------------
 * compact sketch (cells in a caller-owned arena)
 * ---------------------------------------------------------------- */

#define OBS_SKETCH_CELL_SIZE	64
/* most cells one sketch takes (3.5 kB); beyond, the lowest collapse */
#define OBS_SKETCH_MAX_CELLS	56

/* the head of a sketch, kept in its owner (8 bytes) */
typedef struct ObsSketch
{
	int32		head;			/* first cell, -1 when empty */
	int16		ncells;
	uint16		collapsed;		/* 1 once the lowest buckets collapsed */
} ObsSketch;

/* a bucket and a count to add to it */
typedef struct ObsBucketCount
{
	int32		bucket;
	uint32		count;
} ObsBucketCount;

/* a stack of free cell numbers handed to obs_sketch_add */
typedef struct ObsCellStack
{
	int32	   *cells;
	int			n;
	int			max;
} ObsCellStack;

extern void obs_sketch_init(ObsSketch *sk);

/* sort bc[0..n-1] by bucket and merge duplicates; returns the new n */
extern int	obs_sketch_sort_counts(ObsBucketCount *bc, int n);

/*
 * Cells obs_sketch_add would need to take from the arena for bc[0..n-1]
 * (sorted): new runs and 16-bit runs that must widen.  Read-only.
 */
extern int	obs_sketch_cells_needed(const ObsSketch *sk, const char *arena,
									const ObsBucketCount *bc, int n);

/*
 * Add bc[0..n-1] (sorted) to the sketch, taking new cells from spare and
 * giving freed ones back to it.  Counts that need a cell when spare is
 * empty are left in bc (count kept), the others are set to 0; returns
 * the number of counts left.  Never allocates, never fails otherwise.
 */
extern int	obs_sketch_add(ObsSketch *sk, char *arena, ObsBucketCount *bc,
						   int n, ObsCellStack *spare);

/* add every cell of the sketch to a dense histogram */
extern void obs_sketch_to_hist(const ObsSketch *sk, const char *arena,
							   ObsHistogram *h);

/*
 * Non-empty buckets as (bucket, count) pairs in ascending order into out
 * (room for obs_hist_nbuckets()); returns how many.
 */
extern int	obs_sketch_pairs(const ObsSketch *sk, const char *arena,
							 ObsBucketCount *out);

/* empty the sketch, pushing its cells onto freed (room for ncells) */
extern void obs_sketch_release(ObsSketch *sk, char *arena, ObsCellStack *freed);

#endif							/* OBSERVA_HISTOGRAM_H */

/*-------------------------------------------------------------------------
 *
 * histogram.c
 *		observa's latency sketch: relative-error logarithmic buckets
 *		(DDSketch: Masson, Rim, Lee, PVLDB 12(12), 2019), in a compact,
 *		mergeable form.
 *
 * Geometry.  With relative error a, a bucket may be g = (1 + a) / (1 - a)
 * wide: every x in [L, L * g) lies within a of the bucket's value
 * v = 2 * L * g / (1 + g).  Buckets are aligned on powers of two: S =
 * ceil(ln 2 / ln g) buckets per octave, bucket boundaries 2^(e + k / S),
 * so the width actually used is g' = 2^(1/S) <= g and the bound achieved
 * a' = (g' - 1) / (g' + 1) <= a (a = 1 %: S = 35, a' = 0.990 %).  The
 * range is 2^-10 ms (0.98 us) .. 2^22 ms (70 min): bucket 0 holds smaller
 * values, the last bucket larger ones; 1 + 32 * S + 1 buckets in all.
 *
 * Bucket of a duration without log(): the exponent e is read from the
 * double's bits; the sub-bucket k of its mantissa m in [1, 2) is
 * floor(S * log2(m)), found from the top T bits of m through a table
 * (entry: the sub-bucket of the table cell's lowest mantissa) and one
 * comparison with the next boundary's mantissa, exact because a table cell
 * (2^-T) is narrower than the narrowest sub-bucket (2^(1/S) - 1 > 2^-T).
 *
 * Quantiles: nearest rank (the ceil(q * n)-th smallest value), answered
 * with the value of the bucket that holds it, so within a' of the true
 * quantile of what was recorded, for any q, as long as the value lies in
 * the range.  Merging adds bucket counts: the merged sketch keeps the same
 * bound for the union.  Callers also cap answers to the [min, max] they
 * recorded exactly.
 *
 * Compact sketch.  In shared memory a sketch is a sorted list of 64-byte
 * cells taken from an arena its owner manages: an 8-byte header (next,
 * first bucket, width) and 56 bytes of counters, either 28 16-bit
 * counters (a narrow cell, first bucket a multiple of 28) or 14 32-bit
 * ones (a wide cell, first a multiple of 14).  A narrow cell whose counter
 * would pass 65535 splits into two wide cells.  Only runs of buckets that
 * received a value take a cell, so a sketch costs what its spread needs:
 * three decades of latencies at 1 % are 346 buckets, 13 narrow cells
 * (832 bytes); the whole range at 1 % is 1122 buckets, 41 narrow cells
 * (2.6 kB).  At most OBS_SKETCH_MAX_CELLS (56, 3.5 kB) cells: a sketch that
 * would need more merges its lowest cell into the next one's first bucket
 * (DDSketch's "collapsing lowest" store), so its quantiles stay within a'
 * except those that fall below its lowest remaining cell, and "collapsed"
 * says it happened.  Wide counters saturate at 2^32 - 1 per bucket.
 *
 * Nothing here allocates, locks or raises errors; the caller serialises
 * access to a sketch and supplies free cells (obs_sketch_cells_needed says
 * how many) so that no allocation happens while it holds a spinlock.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "utils/float.h"

#include "histogram.h"

#define HIST_MIN_EXP		(-10)	/* 2^-10 ms: 0.98 us */
#define HIST_OCTAVES		32		/* up to 2^22 ms: 70 min */
#define HIST_MAX_TABLE_BITS 12

#define NARROW_RUN			28
#define WIDE_RUN			14

typedef struct SketchCell
{
	int32		next;			/* cell number, -1 at the end */
	uint16		first;			/* first bucket */
	uint8		wide;
	uint8		pad;
	union
	{
		uint16		n[NARROW_RUN];
		uint32		w[WIDE_RUN];
	}			c;
} SketchCell;

StaticAssertDecl(sizeof(SketchCell) == OBS_SKETCH_CELL_SIZE, "cell size");

static double hist_error = 0.0;		/* achieved bound a' */
static int	hist_per_octave = 0;	/* S */
static int	hist_nbuckets = 0;
static int	hist_table_bits = 0;	/* T */
static uint16 sub_table[1 << HIST_MAX_TABLE_BITS];
/* mantissa bits of 2^(k/S), k = 0..S (S: 2^52, i.e. past the octave) */
static uint64 sub_bound[2048];
static double hist_value_factor = 0.0;	/* 2 g' / (1 + g') */

void
obs_hist_configure(double relative_error)
{
	double		g;
	int			k,
				i;

	relative_error = Max(OBS_HIST_MIN_ERROR, Min(OBS_HIST_MAX_ERROR, relative_error));
	g = (1.0 + relative_error) / (1.0 - relative_error);
	hist_per_octave = (int) ceil(log(2.0) / log(g));
	g = exp2(1.0 / hist_per_octave);
	hist_error = (g - 1.0) / (g + 1.0);
	hist_value_factor = 2.0 * g / (1.0 + g);
	hist_nbuckets = 1 + HIST_OCTAVES * hist_per_octave + 1;

	/* table cells must be narrower than the narrowest sub-bucket */
	hist_table_bits = 1;
	while ((1 << hist_table_bits) * (g - 1.0) <= 1.0 &&
		   hist_table_bits < HIST_MAX_TABLE_BITS)
		hist_table_bits++;
	hist_table_bits = Min(hist_table_bits + 1, HIST_MAX_TABLE_BITS);

	for (k = 0; k < hist_per_octave; k++)
		sub_bound[k] = (uint64) ((exp2((double) k / hist_per_octave) - 1.0) *
								 (double) (UINT64CONST(1) << 52));
	sub_bound[0] = 0;
	sub_bound[hist_per_octave] = UINT64CONST(1) << 52;

	k = 0;
	for (i = 0; i < (1 << hist_table_bits); i++)
	{
		uint64		low = (uint64) i << (52 - hist_table_bits);

		while (k + 1 < hist_per_octave && sub_bound[k + 1] <= low)
			k++;
		sub_table[i] = (uint16) k;
	}
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

int
obs_hist_buckets_per_octave(void)
{
	ensure_configured();
	return hist_per_octave;
}

int
obs_hist_bucket(double ms)
{
	union
	{
		double		d;
		uint64		u;
	}			v;
	int			e;
	uint64		mant;
	int			k;

	ensure_configured();
	v.d = ms;
	if (!(ms > 0.0))			/* also catches NaN */
		return 0;
	e = (int) ((v.u >> 52) & 0x7FF) - 1023;
	if (e < HIST_MIN_EXP)		/* also denormals */
		return 0;
	if (e >= HIST_MIN_EXP + HIST_OCTAVES)
		return hist_nbuckets - 1;
	mant = v.u & ((UINT64CONST(1) << 52) - 1);
	k = sub_table[mant >> (52 - hist_table_bits)];
	if (mant >= sub_bound[k + 1])
		k++;
	return 1 + (e - HIST_MIN_EXP) * hist_per_octave + k;
}

double
obs_hist_bucket_lower(int bucket)
{
	ensure_configured();
	if (bucket <= 0)
		return 0.0;
	if (bucket >= hist_nbuckets - 1)
		return ldexp(1.0, HIST_MIN_EXP + HIST_OCTAVES);
	return exp2(HIST_MIN_EXP + (double) (bucket - 1) / hist_per_octave);
}

double
obs_hist_bucket_value(int bucket)
{
	ensure_configured();
	if (bucket <= 0)
		return ldexp(1.0, HIST_MIN_EXP);
	if (bucket >= hist_nbuckets - 1)
		return ldexp(1.0, HIST_MIN_EXP + HIST_OCTAVES);
	return obs_hist_bucket_lower(bucket) * hist_value_factor;
}

/* ----------------------------------------------------------------
 * dense histogram
 * ---------------------------------------------------------------- */

Size
obs_hist_size(void)
{
	ensure_configured();
	return offsetof(ObsHistogram, counts) + sizeof(uint64) * hist_nbuckets;
}

void
obs_hist_reset(ObsHistogram *h)
{
	memset(h, 0, obs_hist_size());
}

void
obs_hist_add(ObsHistogram *h, int bucket, uint64 n)
{
	ensure_configured();
	bucket = Max(0, Min(bucket, hist_nbuckets - 1));
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
		dst->counts[i] += src->counts[i];
	dst->count += src->count;
}

void
obs_hist_quantiles(const ObsHistogram *h, const double *qs, double *out,
				   int n)
{
	uint64		cum = 0;
	int			b = 0;
	int			i;

	ensure_configured();
	for (i = 0; i < n; i++)
	{
		double		q = qs[i];
		uint64		rank;

		if (h->count == 0 || isnan(q))
		{
			out[i] = get_float8_nan();
			continue;
		}
		q = Max(0.0, Min(1.0, q));
		rank = (uint64) ceil(q * (double) h->count);
		rank = Max(rank, 1);
		while (b < hist_nbuckets - 1 && cum + h->counts[b] < rank)
		{
			cum += h->counts[b];
			b++;
		}
		out[i] = obs_hist_bucket_value(b);
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

/* ----------------------------------------------------------------
 * compact sketch
 * ---------------------------------------------------------------- */

#define CELL(arena, i) ((SketchCell *) ((arena) + (Size) (i) * OBS_SKETCH_CELL_SIZE))

static inline int
cell_run(const SketchCell *c)
{
	return c->wide ? WIDE_RUN : NARROW_RUN;
}

static inline bool
cell_holds(const SketchCell *c, int bucket)
{
	return bucket >= c->first && bucket < c->first + cell_run(c);
}

void
obs_sketch_init(ObsSketch *sk)
{
	sk->head = -1;
	sk->ncells = 0;
	sk->collapsed = 0;
}

static int
bc_cmp(const void *a, const void *b)
{
	int32		x = ((const ObsBucketCount *) a)->bucket;
	int32		y = ((const ObsBucketCount *) b)->bucket;

	return (x < y) ? -1 : (x > y) ? 1 : 0;
}

int
obs_sketch_sort_counts(ObsBucketCount *bc, int n)
{
	int			i,
				m = 0;

	ensure_configured();
	for (i = 0; i < n; i++)
		bc[i].bucket = Max(0, Min(bc[i].bucket, hist_nbuckets - 1));
	qsort(bc, n, sizeof(ObsBucketCount), bc_cmp);
	for (i = 0; i < n; i++)
	{
		if (m > 0 && bc[m - 1].bucket == bc[i].bucket)
		{
			uint64		s = (uint64) bc[m - 1].count + bc[i].count;

			bc[m - 1].count = (uint32) Min(s, (uint64) PG_UINT32_MAX);
			continue;
		}
		bc[m++] = bc[i];
	}
	return m;
}

int
obs_sketch_cells_needed(const ObsSketch *sk, const char *arena,
						const ObsBucketCount *bc, int n)
{
	int32		ci = sk->head;
	int			need = 0;
	int			last_new_run = -1;
	int			i;

	for (i = 0; i < n; i++)
	{
		int			b = bc[i].bucket;

		if (bc[i].count == 0)
			continue;			/* already added */
		while (ci >= 0 && CELL(arena, ci)->first + cell_run(CELL(arena, ci)) <= b)
			ci = CELL(arena, ci)->next;
		if (ci >= 0 && cell_holds(CELL(arena, ci), b))
		{
			const SketchCell *c = CELL(arena, ci);

			/* a narrow cell that would overflow splits (one more cell) */
			if (!c->wide &&
				(uint64) c->c.n[b - c->first] + bc[i].count > PG_UINT16_MAX)
				need++;
			continue;
		}
		/* a new narrow run (large counts may widen it: count that too) */
		if (b / NARROW_RUN != last_new_run)
		{
			need++;
			last_new_run = b / NARROW_RUN;
		}
		if (bc[i].count > PG_UINT16_MAX)
			need++;
	}
	return need;
}

static inline int32
take_cell(ObsCellStack *spare)
{
	return spare->n > 0 ? spare->cells[--spare->n] : -1;
}

static inline void
give_cell(ObsCellStack *spare, int32 ci)
{
	Assert(spare->n < spare->max);
	spare->cells[spare->n++] = ci;
}

/* widen narrow cell ci into two wide cells; false without a spare cell */
static bool
widen(ObsSketch *sk, char *arena, int32 ci, ObsCellStack *spare)
{
	SketchCell *c = CELL(arena, ci);
	SketchCell *d;
	int32		di = take_cell(spare);
	uint16		counts[NARROW_RUN];
	int			j;

	if (di < 0)
		return false;
	memcpy(counts, c->c.n, sizeof(counts));
	d = CELL(arena, di);
	memset(d, 0, sizeof(SketchCell));
	d->wide = 1;
	d->first = c->first + WIDE_RUN;
	d->next = c->next;
	c->wide = 1;
	c->next = di;
	for (j = 0; j < WIDE_RUN; j++)
	{
		c->c.w[j] = counts[j];
		d->c.w[j] = counts[WIDE_RUN + j];
	}
	sk->ncells++;
	return true;
}

/* add n to bucket b of cell ci (which holds b); false: must widen first */
static bool
cell_add(SketchCell *c, int b, uint64 n)
{
	int			j = b - c->first;

	if (c->wide)
	{
		c->c.w[j] = (uint32) Min((uint64) c->c.w[j] + n, (uint64) PG_UINT32_MAX);
		return true;
	}
	if ((uint64) c->c.n[j] + n > PG_UINT16_MAX)
		return false;
	c->c.n[j] += (uint16) n;
	return true;
}

static uint64
cell_total(const SketchCell *c)
{
	uint64		t = 0;
	int			j;

	for (j = 0; j < cell_run(c); j++)
		t += c->wide ? c->c.w[j] : c->c.n[j];
	return t;
}

/*
 * Merge the lowest cell into the first bucket of the next one, freeing a
 * cell (DDSketch's collapsing lowest store).  false when fewer than two.
 */
static bool
collapse_lowest(ObsSketch *sk, char *arena, ObsCellStack *spare)
{
	int32		hi = sk->head;
	SketchCell *h;
	SketchCell *nx;
	uint64		total;

	if (hi < 0 || CELL(arena, hi)->next < 0)
		return false;
	h = CELL(arena, hi);
	nx = CELL(arena, h->next);
	total = cell_total(h);
	sk->head = h->next;
	sk->ncells--;
	sk->collapsed = 1;
	give_cell(spare, hi);
	if (!cell_add(nx, nx->first, total))
	{
		/* the freed cell makes widening possible */
		if (widen(sk, arena, sk->head, spare))
			(void) cell_add(nx, nx->first, total);
	}
	return true;
}

/* a new, empty narrow cell for the run of bucket b, linked after prev */
static bool
new_cell(ObsSketch *sk, char *arena, int32 prev, int b, ObsCellStack *spare)
{
	int32		ni = take_cell(spare);
	SketchCell *c;

	if (ni < 0)
		return false;
	c = CELL(arena, ni);
	memset(c, 0, sizeof(SketchCell));
	c->first = (uint16) (b - b % NARROW_RUN);
	if (prev < 0)
	{
		c->next = sk->head;
		sk->head = ni;
	}
	else
	{
		c->next = CELL(arena, prev)->next;
		CELL(arena, prev)->next = ni;
	}
	sk->ncells++;
	return true;
}

/*
 * Add one count; false when a cell is needed and spare is empty.  Each
 * step either adds, or changes the list (new cell, widened cell,
 * collapse) and walks it again; a collapse only happens at the cap.
 */
static bool
sketch_add_one(ObsSketch *sk, char *arena, int b, uint32 n,
			   ObsCellStack *spare)
{
	for (;;)
	{
		int32		prev = -1;
		int32		ci = sk->head;

		while (ci >= 0 && CELL(arena, ci)->first + cell_run(CELL(arena, ci)) <= b)
		{
			prev = ci;
			ci = CELL(arena, ci)->next;
		}
		if (ci >= 0 && cell_holds(CELL(arena, ci), b))
		{
			if (cell_add(CELL(arena, ci), b, n))
				return true;
			if (sk->ncells >= OBS_SKETCH_MAX_CELLS)
			{
				if (collapse_lowest(sk, arena, spare))
					continue;
				/* a single cell at the cap cannot happen (cap > 1) */
				return false;
			}
			if (!widen(sk, arena, ci, spare))
				return false;
			continue;
		}
		/* below the lowest cell of a collapsed sketch: into that cell */
		if (sk->collapsed && sk->head >= 0 && b < CELL(arena, sk->head)->first)
		{
			b = CELL(arena, sk->head)->first;
			continue;
		}
		if (sk->ncells >= OBS_SKETCH_MAX_CELLS)
		{
			if (collapse_lowest(sk, arena, spare))
				continue;
			return false;
		}
		if (!new_cell(sk, arena, prev, b, spare))
			return false;
	}
}

int
obs_sketch_add(ObsSketch *sk, char *arena, ObsBucketCount *bc, int n,
			   ObsCellStack *spare)
{
	int			left = 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		if (bc[i].count == 0)
			continue;
		if (sketch_add_one(sk, arena, bc[i].bucket, bc[i].count, spare))
			bc[i].count = 0;
		else
			left++;
	}
	return left;
}

void
obs_sketch_to_hist(const ObsSketch *sk, const char *arena, ObsHistogram *h)
{
	int32		ci;

	for (ci = sk->head; ci >= 0; ci = CELL(arena, ci)->next)
	{
		const SketchCell *c = CELL(arena, ci);
		int			j;

		for (j = 0; j < cell_run(c); j++)
		{
			uint64		v = c->wide ? c->c.w[j] : c->c.n[j];

			if (v > 0)
				obs_hist_add(h, c->first + j, v);
		}
	}
}

int
obs_sketch_pairs(const ObsSketch *sk, const char *arena, ObsBucketCount *out)
{
	int32		ci;
	int			m = 0;

	for (ci = sk->head; ci >= 0; ci = CELL(arena, ci)->next)
	{
		const SketchCell *c = CELL(arena, ci);
		int			j;

		for (j = 0; j < cell_run(c); j++)
		{
			uint32		v = c->wide ? c->c.w[j] : c->c.n[j];

			if (v > 0 && m < hist_nbuckets)
			{
				out[m].bucket = c->first + j;
				out[m].count = v;
				m++;
			}
		}
	}
	return m;
}

void
obs_sketch_release(ObsSketch *sk, char *arena, ObsCellStack *freed)
{
	int32		ci = sk->head;

	while (ci >= 0)
	{
		int32		next = CELL(arena, ci)->next;

		give_cell(freed, ci);
		ci = next;
	}
	obs_sketch_init(sk);
}

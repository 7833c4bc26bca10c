/*-------------------------------------------------------------------------
 *
 * io_counters.c
 *		The I/O, WAL and JIT counters of a statement as extra sums of a
 *		store entry and as SQL columns (see io_counters.h).  No state, no
 *		locks: conversions only.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "utils/numeric.h"

#include "io_counters.h"

/* which ObsUsageField each extra sum holds: the windowed part first */
static const ObsUsageField io_order[OBS_NUSAGE] = {
	/* kept per window */
	OBS_U_SHARED_BLKS_HIT,
	OBS_U_SHARED_BLKS_READ,
	OBS_U_TEMP_BLKS_WRITTEN,
	OBS_U_WAL_BYTES,
	/* since reset only */
	OBS_U_SHARED_BLKS_DIRTIED,
	OBS_U_SHARED_BLKS_WRITTEN,
	OBS_U_TEMP_BLKS_READ,
	OBS_U_BLK_READ_TIME,
	OBS_U_BLK_WRITE_TIME,
	OBS_U_WAL_RECORDS,
	OBS_U_WAL_FPI,
	OBS_U_LOCAL_BLKS_HIT,
	OBS_U_LOCAL_BLKS_READ,
	OBS_U_LOCAL_BLKS_DIRTIED,
	OBS_U_LOCAL_BLKS_WRITTEN,
	OBS_U_TEMP_BLK_READ_TIME,
	OBS_U_TEMP_BLK_WRITE_TIME,
	OBS_U_JIT_FUNCTIONS,
	OBS_U_JIT_GENERATION_TIME,
	OBS_U_JIT_INLINING_COUNT,
	OBS_U_JIT_INLINING_TIME,
	OBS_U_JIT_OPTIMIZATION_COUNT,
	OBS_U_JIT_OPTIMIZATION_TIME,
	OBS_U_JIT_EMISSION_COUNT,
	OBS_U_JIT_EMISSION_TIME
};

/* how a column is shown */
typedef enum IoKind
{
	IO_COUNT,					/* bigint */
	IO_MS,						/* float8 */
	IO_BYTES					/* numeric */
} IoKind;

static IoKind
io_kind(ObsUsageField f)
{
	switch (f)
	{
		case OBS_U_BLK_READ_TIME:
		case OBS_U_BLK_WRITE_TIME:
		case OBS_U_TEMP_BLK_READ_TIME:
		case OBS_U_TEMP_BLK_WRITE_TIME:
		case OBS_U_JIT_GENERATION_TIME:
		case OBS_U_JIT_INLINING_TIME:
		case OBS_U_JIT_OPTIMIZATION_TIME:
		case OBS_U_JIT_EMISSION_TIME:
			return IO_MS;
		case OBS_U_WAL_BYTES:
			return IO_BYTES;
		default:
			return IO_COUNT;
	}
}

void
obs_io_to_extras(const ObsUsage *u, double *win, double *rest)
{
	int			i;

	for (i = 0; i < OBS_IO_NWINDOW; i++)
		win[i] = u->v[io_order[i]];
	for (i = 0; i < OBS_IO_NREST; i++)
		rest[i] = u->v[io_order[OBS_IO_NWINDOW + i]];
}

static Datum
io_datum(ObsUsageField f, double v)
{
	switch (io_kind(f))
	{
		case IO_MS:
			return Float8GetDatum(v);
		case IO_BYTES:
			return NumericGetDatum(int64_to_numeric((int64) llround(v)));
		default:
			return Int64GetDatum((int64) llround(v));
	}
}

void
obs_io_columns(const double *win, const double *rest, Datum *values,
			   bool *nulls)
{
	int			i;

	for (i = 0; i < OBS_NUSAGE; i++)
	{
		ObsUsageField f = io_order[i];
		bool		windowed = i < OBS_IO_NWINDOW;

		if (!windowed && rest == NULL)
		{
			values[f] = (Datum) 0;
			nulls[f] = true;
			continue;
		}
		values[f] = io_datum(f, windowed ? win[i] : rest[i - OBS_IO_NWINDOW]);
		nulls[f] = false;
	}
}

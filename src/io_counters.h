/*-------------------------------------------------------------------------
 *
 * io_counters.h
 *		The I/O, WAL and JIT counters of a statement (sample.h's ObsUsage)
 *		as a store room keeps them: as extra sums of a store entry
 *		(store.h), with the ones kept per time window first, and as SQL
 *		columns in pg_stat_statements' order.  Base layer: used by
 *		statement_stats.c and table_stats.c, knows no room.
 *
 * A room lays its extra sums out as
 *
 *	  [0, OBS_IO_NWINDOW)         the counters kept per window too
 *	  [.., rest)                  the room's own windowed sums (io_calls)
 *	  [rest, rest + OBS_IO_NREST) the counters kept since reset only
 *	  [.., nextra)                the room's own since-reset sums (planning)
 *
 * and sets ObsStoreConfig.nextra_window to the end of its own windowed
 * sums.  Kept per window (what top_statements and the reports rank by):
 * shared blocks hit and read, temp blocks written, WAL bytes.  Since reset
 * only: the rest.  Each window sum costs 8 bytes in every window slot (13
 * slots per entry at the defaults, 104 bytes per entry), so only these
 * four are windowed: an entry stays within 4 kB (docs/statement_stats.md).
 * Each sum is a double: exact for integers below 2^53.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OBSERVA_IO_COUNTERS_H
#define OBSERVA_IO_COUNTERS_H

#include "postgres.h"

#include "sample.h"

#define OBS_IO_NWINDOW	4
#define OBS_IO_NREST	(OBS_NUSAGE - OBS_IO_NWINDOW)
#define OBS_IO_NCOLUMNS OBS_NUSAGE

/*
 * Split a sample's counters into the part kept per window (win,
 * OBS_IO_NWINDOW values) and the rest (rest, OBS_IO_NREST values).
 */
extern void obs_io_to_extras(const ObsUsage *u, double *win, double *rest);

/*
 * The OBS_IO_NCOLUMNS SQL columns, in pg_stat_statements' order
 * (shared_blks_hit ... jit_emission_time), from a row's extra sums: block
 * and record counts as bigint, times (ms) as float8, WAL bytes as numeric.
 * rest = NULL (a window row): the counters not kept per window are NULL.
 */
extern void obs_io_columns(const double *win, const double *rest,
						   Datum *values, bool *nulls);

#endif							/* OBSERVA_IO_COUNTERS_H */

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
 *	  [.., room's own sums)       e.g. planning (also per window)
 *	  [rest, rest + OBS_IO_NREST) the counters kept since reset only
 *
 * and sets ObsStoreConfig.nextra_window to the end of its own sums.
 * Kept per window: shared blocks (hit, read, dirtied, written), temp
 * blocks (read, written), block read and write time, WAL records, full
 * page images and bytes.  Since reset only: local blocks, temp block
 * times, JIT.  Each sum is a double: exact for integers below 2^53.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OBSERVA_IO_COUNTERS_H
#define OBSERVA_IO_COUNTERS_H

#include "postgres.h"

#include "sample.h"

#define OBS_IO_NWINDOW	11
#define OBS_IO_NREST	(OBS_NUSAGE - OBS_IO_NWINDOW)
#define OBS_IO_NCOLUMNS OBS_NUSAGE

/*
 * Split a sample's counters into the part kept per window (win, 11
 * values) and the rest (rest, 14 values).
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

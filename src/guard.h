/*-------------------------------------------------------------------------
 *
 * guard.h
 *		Rendering steps of recorders that must not fail the user's
 *		statement.  See guard.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OBSERVA_GUARD_H
#define OBSERVA_GUARD_H

#include "postgres.h"

#include "sample.h"

typedef void (*ObsGuardFn) (void *arg);

/*
 * Run fn(arg), which may raise (a type's output function, EXPLAIN), for
 * the successful statement 'sample' so that an ERROR in it cannot fail
 * the statement: in a subtransaction that is rolled back, the error
 * turned into one LOG line naming 'what' ("bind parameters").  Returns
 * false when fn raised, or when no subtransaction can be started here
 * (fn is then not run).  fn allocates in the caller's memory context.
 * Costs a subtransaction: call it only on a slow path, never per
 * statement.
 */
extern bool obs_guard_render(const ObsSample *sample, const char *what,
							 ObsGuardFn fn, void *arg);

#endif							/* OBSERVA_GUARD_H */

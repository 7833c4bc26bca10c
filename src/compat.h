/*-------------------------------------------------------------------------
 *
 * compat.h
 *		Version shims.  Call sites are written against the newest API; the
 *		wrappers below bridge older server versions, so no #if appears
 *		anywhere else in observa.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OBSERVA_COMPAT_H
#define OBSERVA_COMPAT_H

#include "postgres.h"

#if PG_VERSION_NUM < 150000
#error "observa requires PostgreSQL 15 or later"
#endif

#include "utils/guc.h"

/* PostgreSQL 17 renamed ExecutorRun's execute_once away; keep one spelling. */
#if PG_VERSION_NUM >= 180000
#define OBS_EXECUTOR_RUN_ARGS(qd, dir, count, once) (qd), (dir), (count)
#else
#define OBS_EXECUTOR_RUN_ARGS(qd, dir, count, once) (qd), (dir), (count), (once)
#endif

#endif							/* OBSERVA_COMPAT_H */

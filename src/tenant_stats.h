/*-------------------------------------------------------------------------
 *
 * tenant_stats.h
 *		What the per-tenant statistics room offers other rooms (see
 *		tenant_stats.c; its room entry points are declared in observa.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef OBSERVA_TENANT_STATS_H
#define OBSERVA_TENANT_STATS_H

#include "postgres.h"

#include "datatype/timestamp.h"

/*
 * Forget the tenant statistics of every database (what
 * observa.reset_tenant_stats() does), for a global observa reset.  Takes
 * the store's locks; not for the error path.  Returns the reset time.
 */
extern TimestampTz obs_tenant_stats_reset(void);

#endif							/* OBSERVA_TENANT_STATS_H */

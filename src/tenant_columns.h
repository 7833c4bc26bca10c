/*-------------------------------------------------------------------------
 *
 * tenant_columns.h
 *		The observa.tenant_columns setting: names of the columns that hold a
 *		row's tenant (default "tenant_id").  Defined once, in the base layer
 *		(core.c); every room that needs the list (tenant statistics, the
 *		index advisor) reads it through these functions.
 *
 * The list is parsed by the setting's check hook (a comma-separated list
 * of identifiers, folded to lower case unless double-quoted), so reading it
 * allocates nothing, takes no lock and is safe on the error path.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OBSERVA_TENANT_COLUMNS_H
#define OBSERVA_TENANT_COLUMNS_H

#include "postgres.h"

/* at most this many names in observa.tenant_columns */
#define OBS_MAX_TENANT_COLUMNS 16

/* number of configured tenant column names (0: tenant extraction is off) */
extern int	obs_tenant_column_count(void);

/* the i-th configured name, 0 <= i < obs_tenant_column_count() */
extern const char *obs_tenant_column(int i);

/* is attname one of the configured tenant columns? */
extern bool obs_is_tenant_column(const char *attname);

/*
 * Bumped whenever observa.tenant_columns changes in this backend, so that
 * caches keyed on the list (relid -> tenant attnum) know to start over.
 */
extern uint32 obs_tenant_columns_generation(void);

#endif							/* OBSERVA_TENANT_COLUMNS_H */

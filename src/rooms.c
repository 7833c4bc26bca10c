/*-------------------------------------------------------------------------
 *
 * rooms.c
 *		The room table (see rooms.h): each room's entry points, once.
 *
 * Samples reach the recorders in this order, observa.info lists the rooms
 * in this order and observa.reset() resets them in this order.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "observa.h"
#include "rooms.h"

const ObsRoom obs_rooms[] = {
	{"table_stats", obs_table_stats_init, obs_table_stats_shmem_size,
		obs_table_stats_shmem_startup, NULL, obs_table_stats_record,
	obs_table_stats_info, obs_table_stats_reset},
	{"statement_stats", obs_statement_stats_init,
		obs_statement_stats_shmem_size, obs_statement_stats_shmem_startup, NULL,
		obs_statement_stats_record, obs_statement_stats_info,
	obs_statement_stats_reset},
	{"query_text", obs_query_text_init, obs_query_text_shmem_size,
		obs_query_text_shmem_startup, NULL, obs_query_text_record,
	obs_query_text_info, obs_query_text_reset},
	{"slow_queries", obs_slow_ring_init, obs_slow_ring_shmem_size,
		obs_slow_ring_shmem_startup, obs_slow_ring_executor_start,
	obs_slow_ring_record, obs_slow_ring_info, NULL},
	{"advisor", obs_advisor_init, obs_advisor_shmem_size,
		obs_advisor_shmem_startup, obs_advisor_executor_start,
	obs_advisor_record, obs_advisor_info, NULL},
	{"tenant_stats", obs_tenant_stats_init, obs_tenant_stats_shmem_size,
		obs_tenant_stats_shmem_startup, NULL, obs_tenant_stats_record,
	obs_tenant_stats_info, obs_tenant_stats_reset},
};

const int	obs_nrooms = lengthof(obs_rooms);

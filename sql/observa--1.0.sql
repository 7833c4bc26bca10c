/* observa--1.0.sql: install script of observa 1.0 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION observa" to load this file. \quit

--
-- Core: version and the observa.info view.  Every function below calls
-- back into the library, which refuses with a hint naming
-- shared_preload_libraries when observa was not preloaded.
--

CREATE FUNCTION @extschema@.version()
RETURNS text
AS 'MODULE_PATHNAME', 'observa_version'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.version() IS
'version of the loaded observa library';

CREATE FUNCTION @extschema@.info(
    OUT section text,
    OUT name text,
    OUT value text,
    OUT description text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'observa_info'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW @extschema@.info AS
    SELECT section, name, value, description FROM @extschema@.info();

COMMENT ON VIEW @extschema@.info IS
'state of every observa subsystem: capacity, entries, evictions, memory, resets';

-- ==== table statistics (per operation and table) ====

-- Since reset (no argument) or over the windows overlapping the last
-- 'since' (see docs/table_stats.md).
CREATE FUNCTION @extschema@.table_stats(
    OUT datname text,
    OUT schemaname text,
    OUT relname text,
    OUT relid oid,
    OUT operation text,
    OUT calls bigint,
    OUT errors bigint,
    OUT rows bigint,
    OUT total_time_ms float8,
    OUT min_time_ms float8,
    OUT max_time_ms float8,
    OUT mean_time_ms float8,
    OUT stddev_time_ms float8,
    OUT p50_ms float8,
    OUT p95_ms float8,
    OUT p99_ms float8,
    OUT stats_since timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'observa_table_stats_1_0'
LANGUAGE C VOLATILE PARALLEL SAFE;

CREATE FUNCTION @extschema@.table_stats(
    since interval,
    OUT datname text,
    OUT schemaname text,
    OUT relname text,
    OUT relid oid,
    OUT operation text,
    OUT calls bigint,
    OUT errors bigint,
    OUT rows bigint,
    OUT total_time_ms float8,
    OUT min_time_ms float8,
    OUT max_time_ms float8,
    OUT mean_time_ms float8,
    OUT stddev_time_ms float8,
    OUT p50_ms float8,
    OUT p95_ms float8,
    OUT p99_ms float8,
    OUT stats_since timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'observa_table_stats_1_0'
LANGUAGE C VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.table_stats(interval) IS
'statistics per database, table and operation over the recent windows overlapping the interval';

CREATE VIEW @extschema@.table_stats AS
    SELECT * FROM @extschema@.table_stats();

COMMENT ON VIEW @extschema@.table_stats IS
'statistics per database, table and operation since reset, with latency percentiles';

CREATE FUNCTION @extschema@.table_percentiles(
    quantiles float8[],
    OUT datname text,
    OUT schemaname text,
    OUT relname text,
    OUT relid oid,
    OUT operation text,
    OUT quantile float8,
    OUT value_ms float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'observa_table_percentiles_1_0'
LANGUAGE C VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.table_percentiles(float8[]) IS
'any latency quantiles per database, table and operation, since reset';

CREATE FUNCTION @extschema@.table_latency_buckets(bounds_ms float8[])
RETURNS TABLE(datname text, schemaname text, relname text, relid oid,
              operation text, le_ms float8, count bigint)
AS 'MODULE_PATHNAME', 'observa_table_latency_buckets_1_0'
LANGUAGE C VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.table_latency_buckets(float8[]) IS
'cumulative count of statements at or under each bound (ms), plus Infinity = calls';

CREATE FUNCTION @extschema@.reset()
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'observa_reset'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.reset() IS
'forget all table and statement statistics and query texts; returns the reset time';

REVOKE ALL ON FUNCTION @extschema@.reset() FROM PUBLIC;
-- EXECUTE for PUBLIC is granted at the end of the script, after the
-- blanket REVOKE.

-- ==== end table statistics ====

-- ==== statement statistics ====

-- Since reset (no argument) or over the windows overlapping the last
-- 'since' (see docs/statement_stats.md).
CREATE FUNCTION @extschema@.statement_stats(
    OUT queryid bigint,
    OUT toplevel bool,
    OUT userid oid,
    OUT username text,
    OUT dbid oid,
    OUT datname text,
    OUT operation text,
    OUT query text,
    OUT calls bigint,
    OUT errors bigint,
    OUT rows bigint,
    OUT total_time_ms float8,
    OUT min_time_ms float8,
    OUT max_time_ms float8,
    OUT mean_time_ms float8,
    OUT stddev_time_ms float8,
    OUT p50_ms float8,
    OUT p95_ms float8,
    OUT p99_ms float8,
    OUT relations regclass[],
    OUT stats_since timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'observa_statement_stats_1_0'
LANGUAGE C VOLATILE PARALLEL SAFE;

CREATE FUNCTION @extschema@.statement_stats(
    since interval,
    OUT queryid bigint,
    OUT toplevel bool,
    OUT userid oid,
    OUT username text,
    OUT dbid oid,
    OUT datname text,
    OUT operation text,
    OUT query text,
    OUT calls bigint,
    OUT errors bigint,
    OUT rows bigint,
    OUT total_time_ms float8,
    OUT min_time_ms float8,
    OUT max_time_ms float8,
    OUT mean_time_ms float8,
    OUT stddev_time_ms float8,
    OUT p50_ms float8,
    OUT p95_ms float8,
    OUT p99_ms float8,
    OUT relations regclass[],
    OUT stats_since timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'observa_statement_stats_1_0'
LANGUAGE C VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.statement_stats(interval) IS
'statistics per normalized statement over the recent windows overlapping the interval';

CREATE VIEW @extschema@.statement_stats AS
    SELECT * FROM @extschema@.statement_stats();

COMMENT ON VIEW @extschema@.statement_stats IS
'statistics per normalized statement (pg_stat_statements queryid) since reset, with latency percentiles';

CREATE FUNCTION @extschema@.statement_percentiles(
    quantiles float8[],
    OUT queryid bigint,
    OUT toplevel bool,
    OUT userid oid,
    OUT username text,
    OUT dbid oid,
    OUT datname text,
    OUT quantile float8,
    OUT value_ms float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'observa_statement_percentiles_1_0'
LANGUAGE C VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.statement_percentiles(float8[]) IS
'any latency quantiles per normalized statement, since reset';

CREATE FUNCTION @extschema@.top_statements(
    by text DEFAULT 'total_time',
    lim int DEFAULT 10)
RETURNS SETOF @extschema@.statement_stats
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF top_statements.by IS NULL
       OR top_statements.by NOT IN ('total_time', 'mean_time', 'p95', 'p99', 'calls', 'errors') THEN
        RAISE EXCEPTION 'unknown ordering % for observa.top_statements',
                        coalesce(quote_literal(top_statements.by), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Order by one of: total_time, mean_time, p95, p99, calls, errors.';
    END IF;
    IF top_statements.lim IS NULL OR top_statements.lim < 1 THEN
        RAISE EXCEPTION 'lim must be a positive number of statements, not %',
                        coalesce(top_statements.lim::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass how many statements to list, for example 10.';
    END IF;
    RETURN QUERY
        SELECT s.* FROM @extschema@.statement_stats s
         ORDER BY CASE top_statements.by
                      WHEN 'total_time' THEN s.total_time_ms
                      WHEN 'mean_time' THEN s.mean_time_ms
                      WHEN 'p95' THEN s.p95_ms
                      WHEN 'p99' THEN s.p99_ms
                      WHEN 'calls' THEN s.calls::float8
                      ELSE s.errors::float8
                  END DESC NULLS LAST, s.queryid, s.userid, s.dbid, s.toplevel
         LIMIT top_statements.lim;
END
$$;

COMMENT ON FUNCTION @extschema@.top_statements(text, int) IS
'the statements with the highest total_time, mean_time, p95, p99, calls or errors';

-- EXECUTE for PUBLIC is granted at the end of the script, after the
-- blanket REVOKE.

-- query texts (query_text.c)
CREATE FUNCTION @extschema@.statement_text(queryid bigint)
RETURNS text
AS 'MODULE_PATHNAME', 'observa_statement_text'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.statement_text(bigint) IS
'normalized text of a queryid in the current database (NULL when unknown); superusers and pg_read_all_stats only';

-- texts are not tied to the role that ran them: readers of all statistics only
REVOKE ALL ON FUNCTION @extschema@.statement_text(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.statement_text(bigint) TO pg_read_all_stats;

-- ==== end statement statistics ====

-- ==== slow-query rings ====

-- Slow statements kept in a shared-memory ring (docs/slow_queries.md).
CREATE FUNCTION @extschema@.slow_queries(
    lim integer,
    OUT seq bigint,
    OUT ts timestamptz,
    OUT duration_ms double precision,
    OUT dbid oid,
    OUT datname text,
    OUT userid oid,
    OUT username text,
    OUT application_name text,
    OUT client_addr inet,
    OUT pid integer,
    OUT queryid bigint,
    OUT toplevel boolean,
    OUT operation text,
    OUT relids oid[],
    OUT relations text[],
    OUT rows bigint,
    OUT query text,
    OUT query_truncated boolean,
    OUT params text,
    OUT params_truncated boolean,
    OUT plan text,
    OUT plan_truncated boolean,
    OUT error text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'observa_slow_queries_1_0'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.slow_queries(integer) IS
'the newest lim slow statements of the ring, newest first';

CREATE VIEW @extschema@.slow_queries AS
    SELECT * FROM @extschema@.slow_queries(2147483647);

COMMENT ON VIEW @extschema@.slow_queries IS
'slow statements kept in the ring, newest first';

CREATE FUNCTION @extschema@.reset_slow_queries()
RETURNS void
AS 'MODULE_PATHNAME', 'observa_reset_slow_queries'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.reset_slow_queries() IS
'forget every entry of the slow-query ring';

REVOKE ALL ON FUNCTION @extschema@.reset_slow_queries() FROM PUBLIC;
GRANT SELECT ON @extschema@.slow_queries TO PUBLIC;

-- ==== end slow-query rings ====

-- ==== index advisor ====

-- Captured workload: predicates and ORDER BY ... LIMIT keys per table and
-- column (docs/advisor.md).
CREATE FUNCTION @extschema@.advisor_workload(
    OUT schemaname text,
    OUT relname text,
    OUT column_name text,
    OUT predicate_class text,
    OUT on_expression boolean,
    OUT statements bigint,
    OUT calls bigint,
    OUT rows_removed bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'observa_advisor_workload'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION @extschema@.advisor_workload() IS
'predicates and sort keys the index advisor captured, per table and column';

CREATE FUNCTION @extschema@.recommend_indexes(
    OUT schemaname text,
    OUT relname text,
    OUT columns text[],
    OUT index_def text,
    OUT tenant_column text,
    OUT tenant_leading boolean,
    OUT est_cost_before float8,
    OUT est_cost_after float8,
    OUT est_improvement_pct float8,
    OUT est_size_bytes bigint,
    OUT queries bigint[],
    OUT calls bigint,
    OUT reason text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'observa_recommend_indexes'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION @extschema@.recommend_indexes() IS
'indexes that the captured workload needs, each proven by hypothetical-index costing';

CREATE FUNCTION @extschema@.reset_advisor()
RETURNS void
AS 'MODULE_PATHNAME', 'observa_reset_advisor'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION @extschema@.reset_advisor() IS
'forget the workload the index advisor captured';

-- Build one index with CREATE INDEX CONCURRENTLY in a background worker
-- running as the calling role.
CREATE FUNCTION @extschema@.create_index(
    index_def text,
    OUT index_name text,
    OUT status text,
    OUT detail text)
RETURNS record
AS 'MODULE_PATHNAME', 'observa_create_index'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION @extschema@.create_index(text) IS
'queue one CREATE INDEX CONCURRENTLY, run by a background worker as the calling role';

CREATE FUNCTION @extschema@.index_builds(
    OUT schemaname text,
    OUT index_name text,
    OUT relname text,
    OUT role text,
    OUT state text,
    OUT detail text,
    OUT queued_at timestamptz,
    OUT finished_at timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'observa_index_builds'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION @extschema@.index_builds() IS
'index builds queued by create_index(): queued, building, created or failed';

CREATE FUNCTION @extschema@.create_recommended_indexes(
    dry_run boolean DEFAULT true,
    max_indexes integer DEFAULT NULL,
    OUT index_def text,
    OUT status text,
    OUT detail text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    res record;
    n integer := 0;
BEGIN
    IF max_indexes IS NOT NULL AND max_indexes < 0 THEN
        RAISE EXCEPTION 'max_indexes must not be negative'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass NULL for no limit.';
    END IF;
    IF dry_run IS NULL THEN
        RAISE EXCEPTION 'dry_run must not be NULL'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Pass true to list the indexes, false to create them.';
    END IF;
    FOR r IN SELECT ri.index_def AS def
               FROM @extschema@.recommend_indexes() ri
              ORDER BY ri.est_improvement_pct DESC, ri.index_def COLLATE "C" LOOP
        EXIT WHEN max_indexes IS NOT NULL AND n >= max_indexes;
        n := n + 1;
        IF dry_run THEN
            index_def := r.def; status := 'dry_run'; detail := 'not created (dry_run => true)';
        ELSE
            res := @extschema@.create_index(r.def);
            index_def := r.def; status := res.status; detail := res.detail;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;

COMMENT ON FUNCTION @extschema@.create_recommended_indexes(boolean, integer) IS
'create (or with dry_run list) the indexes recommend_indexes() proposes';

-- Indexes observa created, and their statements' latency before / after.
CREATE FUNCTION @extschema@.advisor_index_effect(
    OUT schemaname text,
    OUT relname text,
    OUT index_name text,
    OUT created_at timestamptz,
    OUT queryid bigint,
    OUT calls_before bigint,
    OUT mean_ms_before float8,
    OUT calls_after bigint,
    OUT mean_ms_after float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'observa_advisor_index_effect'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION @extschema@.advisor_index_effect() IS
'latency of the statements an index observa created serves, sampled before and after it';

GRANT EXECUTE ON FUNCTION @extschema@.advisor_workload() TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION @extschema@.recommend_indexes() TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION @extschema@.advisor_index_effect() TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION @extschema@.index_builds() TO pg_read_all_stats;

-- ==== end index advisor ====

-- ==== tenant statistics ====

-- Per-tenant statistics (docs/tenant_stats.md).  One C entry point serves
-- both forms: without an argument since the last reset, with one over the
-- most recent time windows.
CREATE FUNCTION @extschema@.tenant_stats(
    OUT datname name,
    OUT tenant text,
    OUT is_other boolean,
    OUT calls bigint,
    OUT errors bigint,
    OUT total_time_ms double precision,
    OUT mean_time_ms double precision,
    OUT p50_ms double precision,
    OUT p95_ms double precision,
    OUT p99_ms double precision,
    OUT share_of_total_time double precision,
    OUT top_tables text[],
    OUT error_bound_ms double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'observa_tenant_stats_1_0'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.tenant_stats() IS
'per-tenant statistics since the last reset';

CREATE FUNCTION @extschema@.tenant_stats(
    since interval,
    OUT datname name,
    OUT tenant text,
    OUT is_other boolean,
    OUT calls bigint,
    OUT errors bigint,
    OUT total_time_ms double precision,
    OUT mean_time_ms double precision,
    OUT p50_ms double precision,
    OUT p95_ms double precision,
    OUT p99_ms double precision,
    OUT share_of_total_time double precision,
    OUT top_tables text[],
    OUT error_bound_ms double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'observa_tenant_stats_1_0'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.tenant_stats(interval) IS
'per-tenant statistics over the time windows covering the last "since"';

CREATE VIEW @extschema@.tenant_stats AS
    SELECT * FROM @extschema@.tenant_stats();

COMMENT ON VIEW @extschema@.tenant_stats IS
'per-tenant calls, errors, time and latency percentiles since the last reset; tenant NULL: statements without a tenant; is_other: tenants evicted from the bounded table';

CREATE FUNCTION @extschema@.reset_tenant_stats()
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'observa_reset_tenant_stats'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.reset_tenant_stats() IS
'forget the per-tenant statistics of every database; returns the reset time';

REVOKE ALL ON FUNCTION @extschema@.tenant_stats() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.tenant_stats(interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.reset_tenant_stats() FROM PUBLIC;
REVOKE ALL ON @extschema@.tenant_stats FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.tenant_stats() TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION @extschema@.tenant_stats(interval) TO pg_read_all_stats;
GRANT SELECT ON @extschema@.tenant_stats TO pg_read_all_stats;

-- ==== end tenant statistics ====

-- ==== reports, snapshots and metrics ====

-- Human-readable report printed by the demo (make demo).
CREATE FUNCTION @extschema@.report()
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    RETURN NEXT format('observa %s', @extschema@.version());
    FOR r IN SELECT * FROM @extschema@.info() LOOP
        RETURN NEXT format('  %-16s %-28s %s', r.section, r.name, r.value);
    END LOOP;
END
$$;

COMMENT ON FUNCTION @extschema@.report() IS
'human-readable observa report, one line per row';

-- ==== end reports, snapshots and metrics ====

-- Nothing here is for PUBLIC to change; reading is granted per object.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA @extschema@ FROM PUBLIC;
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.version() TO PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.info() TO PUBLIC;
GRANT SELECT ON @extschema@.info TO PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.slow_queries(integer) TO PUBLIC;

-- table statistics: readable by PUBLIC (must follow the blanket REVOKE)
GRANT EXECUTE ON FUNCTION @extschema@.table_stats() TO PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.table_stats(interval) TO PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.table_percentiles(float8[]) TO PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.table_latency_buckets(float8[]) TO PUBLIC;
GRANT SELECT ON @extschema@.table_stats TO PUBLIC;

-- statement statistics: readable by PUBLIC (texts are filtered per role)
GRANT EXECUTE ON FUNCTION @extschema@.statement_stats() TO PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.statement_stats(interval) TO PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.statement_percentiles(float8[]) TO PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.top_statements(text, int) TO PUBLIC;
GRANT SELECT ON @extschema@.statement_stats TO PUBLIC;

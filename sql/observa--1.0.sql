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

-- ==== end statement statistics ====

-- ==== slow-query rings ====

-- ==== end slow-query rings ====

-- ==== index advisor ====

-- ==== end index advisor ====

-- ==== tenant statistics ====

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

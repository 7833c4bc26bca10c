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

-- ==== end table statistics ====

-- ==== statement statistics ====

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

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

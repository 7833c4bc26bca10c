/* observa--1.0--1.1.sql: upgrade an observa 1.0 installation to 1.1 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION observa UPDATE TO '1.1'" to load this file. \quit

--
-- Every change to the SQL API made in 1.1 appears twice: in
-- observa--1.1.sql (a fresh install) and here (an upgrade).  A test
-- compares the catalog objects of both paths.
--

-- ==== index advisor (1.1) ====

-- recommend_indexes() gains write_overhead and update_overhead_pct
DROP FUNCTION @extschema@.recommend_indexes();
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
    OUT reason text,
    OUT write_overhead float8,
    OUT update_overhead_pct float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'observa_recommend_indexes_1_1'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION @extschema@.recommend_indexes() IS
'indexes that the captured workload needs, each proven by hypothetical-index costing';


-- The write cost of the recommended set: per table, and for the whole set
-- (the row whose schemaname is NULL).
CREATE FUNCTION @extschema@.recommend_indexes_overhead(
    OUT schemaname text,
    OUT relname text,
    OUT indexes integer,
    OUT est_size_bytes bigint,
    OUT write_overhead float8,
    OUT update_overhead_pct float8,
    OUT index_bytes_per_s float8,
    OUT table_bytes_per_s float8,
    OUT write_heavy boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'observa_recommend_indexes_overhead_1_1'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION @extschema@.recommend_indexes_overhead() IS
'write and update overhead and bytes of the recommended indexes, per table and for the set';

-- The statements that build an index as a DBA would: the definition itself
-- for a table; for a partitioned table CREATE INDEX ... ON ONLY the parent,
-- CREATE INDEX CONCURRENTLY on each partition, ALTER INDEX ... ATTACH
-- PARTITION each (docs/advisor.md).
CREATE FUNCTION @extschema@.index_build_steps(index_def text)
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'observa_index_build_steps_1_1'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION @extschema@.index_build_steps(text) IS
'the statements that build an index_def: ON ONLY the parent, CONCURRENTLY on each partition, ATTACH PARTITION each';

-- as in a fresh install: only index_build_steps() is for PUBLIC; the
-- recommendations are for pg_read_all_stats
REVOKE ALL ON FUNCTION @extschema@.recommend_indexes(),
    @extschema@.recommend_indexes_overhead(),
    @extschema@.index_build_steps(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.index_build_steps(text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.recommend_indexes() TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION @extschema@.recommend_indexes_overhead() TO pg_read_all_stats;

-- ==== end index advisor (1.1) ====

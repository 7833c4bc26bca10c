/* observa--1.0--1.1.sql: upgrade an observa 1.0 installation to 1.1 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION observa UPDATE TO '1.1'" to load this file. \quit

--
-- Every change to the SQL API made in 1.1 appears twice: in
-- observa--1.1.sql (a fresh install) and here (an upgrade).  A test
-- compares the catalog objects of both paths.
--

-- ==== index advisor: recommend_indexes() gains "replaces" ====

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
    OUT replaces regclass[])
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'observa_recommend_indexes_1_1'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION @extschema@.recommend_indexes() IS
'indexes that the captured workload needs, each proven by hypothetical-index costing';

REVOKE ALL ON FUNCTION @extschema@.recommend_indexes() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.recommend_indexes() TO pg_read_all_stats;


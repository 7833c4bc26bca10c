/* observa--1.0--1.1.sql: upgrade an observa 1.0 installation to 1.1 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION observa UPDATE TO '1.1'" to load this file. \quit

--
-- Every change to the SQL API made in 1.1 appears twice: in
-- observa--1.1.sql (a fresh install) and here (an upgrade).  A test
-- compares the catalog objects of both paths.
--

-- ==== versioned C entry points ====
-- The column-returning functions that had no version suffix in 1.0 are
-- bound to their 1.1 entry points; the library keeps the 1.0 symbols for
-- installations not yet updated.

CREATE OR REPLACE FUNCTION @extschema@.info(
    OUT section text,
    OUT name text,
    OUT value text,
    OUT description text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'observa_info_1_1'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE OR REPLACE FUNCTION @extschema@.advisor_workload(
    OUT schemaname text,
    OUT relname text,
    OUT column_name text,
    OUT predicate_class text,
    OUT on_expression boolean,
    OUT statements bigint,
    OUT calls bigint,
    OUT rows_removed bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'observa_advisor_workload_1_1'
LANGUAGE C STRICT VOLATILE;

CREATE OR REPLACE FUNCTION @extschema@.recommend_indexes(
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
AS 'MODULE_PATHNAME', 'observa_recommend_indexes_1_1'
LANGUAGE C STRICT VOLATILE;

CREATE OR REPLACE FUNCTION @extschema@.index_builds(
    OUT schemaname text,
    OUT index_name text,
    OUT relname text,
    OUT role text,
    OUT state text,
    OUT detail text,
    OUT queued_at timestamptz,
    OUT finished_at timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'observa_index_builds_1_1'
LANGUAGE C STRICT VOLATILE;

CREATE OR REPLACE FUNCTION @extschema@.advisor_index_effect(
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
AS 'MODULE_PATHNAME', 'observa_advisor_index_effect_1_1'
LANGUAGE C STRICT VOLATILE;

CREATE OR REPLACE FUNCTION @extschema@.create_index(
    index_def text,
    OUT index_name text,
    OUT status text,
    OUT detail text)
RETURNS record
AS 'MODULE_PATHNAME', 'observa_create_index_1_1'
LANGUAGE C VOLATILE;

-- ==== end versioned C entry points ====

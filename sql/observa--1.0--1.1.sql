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

-- ==== index hygiene ====

-- observa.index_hygiene(): indexes of the current database that cost
-- writes and serve nothing another index does not (docs/index_hygiene.md):
-- exact duplicates, keys a prefix of another btree's, indexes an index the
-- advisor recommends replaces, and indexes never scanned.  An index that
-- enforces something (primary key, unique, exclusion, any constraint's
-- index, replica identity) or that cannot be dropped on its own
-- (partitioned or attached to one, part of an extension) is never listed.
CREATE FUNCTION @extschema@.index_hygiene(
    OUT schemaname name,
    OUT tablename name,
    OUT indexname name,
    OUT kind text,
    OUT kinds text[],
    OUT covered_by text,
    OUT index_scans bigint,
    OUT scans_since timestamptz,
    OUT size_bytes bigint,
    OUT index_writes_per_s float8,
    OUT write_bytes_per_s float8,
    OUT non_hot_update_pct float8,
    OUT reason text,
    OUT drop_statement text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    recs jsonb := '[]';
    since timestamptz;
    standby_note text;
    nstandbys bigint;
BEGIN
    PERFORM @extschema@.version();

    -- existing indexes that a recommended index replaces; the advisor may
    -- be unavailable to this role or fail (say, on a standby): the rest of
    -- the answer does not depend on it
    IF has_function_privilege('@extschema@.recommend_indexes()', 'EXECUTE') THEN
        BEGIN
            SELECT coalesce(jsonb_agg(jsonb_build_object('index', x.oid::oid, 'by', r.index_def)
                                      ORDER BY r.est_improvement_pct DESC, r.index_def), '[]')
              INTO recs
              FROM @extschema@.recommend_indexes() r, unnest(r.replaces) AS x(oid);
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'index recommendations not considered: %', SQLERRM;
            recs := '[]';
        END;
    END IF;

    -- idx_scan counts from the last reset of this database's statistics;
    -- without one, at least since the server started (a crash forgets them)
    since := coalesce((SELECT d.stats_reset FROM pg_stat_database d
                        WHERE d.datname = current_database()),
                      pg_postmaster_start_time());
    SELECT count(*) INTO nstandbys FROM pg_stat_replication;
    standby_note := CASE
        WHEN pg_is_in_recovery() THEN
            ' This server is a standby: scans on the primary and on other standbys are not counted here, and the DROP runs on the primary.'
        ELSE
            ' Scans on a standby are counted only on that standby, not here: check pg_stat_user_indexes on each standby before dropping'
            || CASE WHEN nstandbys > 0 THEN format(' (%s connected now).', nstandbys) ELSE '.' END
        END;

    RETURN QUERY
    WITH idx AS (
        SELECT i.indexrelid AS oid, i.indrelid AS relid, n.nspname, t.relname AS tab,
               c.relname AS iname, c.relam AS am,
               -- each key column: its definition, operator class, collation, ASC/DESC/NULLS
               ARRAY(SELECT pg_get_indexdef(i.indexrelid, k + 1, false) || ' ' || i.indclass[k]
                            || ' ' || i.indcollation[k] || ' ' || i.indoption[k]
                       FROM generate_series(0, i.indnkeyatts - 1) k ORDER BY k) AS keysig,
               ARRAY(SELECT pg_get_indexdef(i.indexrelid, k + 1, true)
                       FROM generate_series(0, i.indnkeyatts - 1) k ORDER BY k) AS keycols,
               ARRAY(SELECT pg_get_indexdef(i.indexrelid, k + 1, true)
                       FROM generate_series(i.indnkeyatts, i.indnatts - 1) k ORDER BY 1) AS inccols,
               pg_get_expr(i.indpred, i.indrelid) AS pred,
               (i.indisprimary OR i.indisunique OR i.indisexclusion OR i.indisreplident
                OR c.relkind = 'I'
                OR EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
                OR EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
                OR EXISTS (SELECT 1 FROM pg_depend d
                            WHERE d.classid = 'pg_class'::regclass AND d.deptype = 'e'
                              AND d.objid IN (i.indexrelid, i.indrelid))) AS protected,
               coalesce(s.idx_scan, 0) AS scans,
               pg_relation_size(i.indexrelid) AS size,
               c.reltuples AS entries
          FROM pg_index i
          JOIN pg_class c ON c.oid = i.indexrelid
          JOIN pg_class t ON t.oid = i.indrelid
          JOIN pg_namespace n ON n.oid = t.relnamespace
          LEFT JOIN pg_stat_all_indexes s ON s.indexrelid = i.indexrelid
         WHERE i.indisvalid AND i.indislive
           AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
    ),
    grp AS (    -- exact duplicates: the first of each group is kept
        SELECT x.*,
               row_number() OVER w AS rk,
               first_value(x.oid) OVER w AS keeper
          FROM idx x
        WINDOW w AS (PARTITION BY x.relid, x.am, x.keysig, x.inccols, x.pred
                     ORDER BY x.protected DESC, x.scans DESC, x.oid)
    ),
    kept AS (SELECT * FROM grp WHERE rk = 1),
    pairs AS (  -- btree a's keys a proper prefix of b's, same predicate
        SELECT a.oid AS a, b.oid AS b, b.size AS bsize, b.protected AS bprot
          FROM kept a
          JOIN kept b ON b.relid = a.relid AND b.am = a.am AND b.oid <> a.oid
                     AND a.pred IS NOT DISTINCT FROM b.pred
                     AND cardinality(a.keysig) < cardinality(b.keysig)
                     AND b.keysig[1:cardinality(a.keysig)] = a.keysig
                     AND a.inccols <@ (b.keycols || b.inccols)
         WHERE a.am = (SELECT m.oid FROM pg_am m WHERE m.amname = 'btree') AND NOT a.protected
    ),
    pfx AS (    -- cover each by an index that is kept itself
        SELECT DISTINCT ON (p.a) p.a AS oid, p.b AS by_oid
          FROM pairs p
         WHERE p.bprot OR NOT EXISTS (SELECT 1 FROM pairs q WHERE q.a = p.b)
         ORDER BY p.a, p.bsize, p.b
    ),
    rep AS (
        SELECT DISTINCT ON ((e ->> 'index')::oid) (e ->> 'index')::oid AS oid, e ->> 'by' AS by_def
          FROM jsonb_array_elements(recs) e
         ORDER BY (e ->> 'index')::oid
    ),
    ts AS (SELECT * FROM @extschema@.table_stats t WHERE t.datname = current_database()),
    writes AS ( -- each table's rows written per second since observa's oldest
                -- statistics of this database (observa.table_stats)
        SELECT ts.relid,
               coalesce(sum(ts.rows) FILTER (WHERE ts.operation = 'INSERT'), 0) AS ins,
               coalesce(sum(ts.rows) FILTER (WHERE ts.operation IN ('UPDATE', 'MERGE')), 0) AS upd,
               coalesce(sum(ts.rows) FILTER (WHERE ts.operation = 'DELETE'), 0) AS del,
               greatest(extract(epoch FROM clock_timestamp() - (SELECT min(o.stats_since) FROM ts o)), 1) AS secs
          FROM ts
         WHERE ts.operation IN ('INSERT', 'UPDATE', 'DELETE', 'MERGE')
         GROUP BY ts.relid
    ),
    found AS (
        SELECT g.*,
               array_remove(ARRAY[
                   CASE WHEN g.rk > 1 THEN 'duplicate' END,
                   CASE WHEN f.oid IS NOT NULL THEN 'prefix' END,
                   CASE WHEN r.oid IS NOT NULL THEN 'replaced' END,
                   CASE WHEN g.scans = 0 THEN 'unused' END], NULL) AS ks,
               CASE WHEN g.rk > 1 THEN g.keeper ELSE f.by_oid END AS by_oid,
               r.by_def
          FROM grp g
          LEFT JOIN pfx f ON f.oid = g.oid
          LEFT JOIN rep r ON r.oid = g.oid
         WHERE NOT g.protected
    )
    SELECT x.nspname, x.tab, x.iname, x.ks[1], x.ks,
           CASE WHEN x.by_oid IS NOT NULL THEN format('%I.%I', b.nspname, b.iname) ELSE x.by_def END,
           x.scans, since, x.size,
           round(((coalesce(w.ins, 0) + coalesce(w.upd, 0) * coalesce(h.nonhot, 1) + coalesce(w.del, 0))
                  / coalesce(w.secs, 1))::numeric, 3)::float8,
           CASE WHEN x.entries > 0 THEN
               round(((coalesce(w.ins, 0) + coalesce(w.upd, 0) * coalesce(h.nonhot, 1))
                      * x.size / x.entries / coalesce(w.secs, 1))::numeric, 1)::float8 END,
           round((100 * h.nonhot)::numeric, 1)::float8,
           concat_ws(' ',
               CASE WHEN 'duplicate' = ANY (x.ks) THEN
                   format('Same definition as %I.%I (%s): that index serves every lookup this one does.',
                          b.nspname, b.iname, pg_get_indexdef(x.by_oid)) END,
               CASE WHEN 'prefix' = ANY (x.ks) THEN
                   format('Its keys (%s) lead %I.%I''s keys (%s), with the same access method and predicate: that index serves the same lookups.',
                          array_to_string(x.keycols, ', '), b.nspname, b.iname, array_to_string(b.keycols, ', ')) END,
               CASE WHEN 'replaced' = ANY (x.ks) THEN
                   format('The index the advisor recommends covers it: %s (create that one first).', x.by_def) END,
               CASE WHEN 'unused' = ANY (x.ks) THEN
                   format('Never scanned since %s (statistics cover %s).%s',
                          to_char(since, 'YYYY-MM-DD HH24:MI:SS TZ'),
                          date_trunc('second', clock_timestamp() - since), standby_note) END,
               CASE WHEN h.nonhot > 0 AND coalesce(w.upd, 0) > 0 THEN
                   format('%s%% of the table''s updates are not HOT and write every index, this one too.',
                          round((100 * h.nonhot)::numeric, 1)) END),
           format('DROP INDEX CONCURRENTLY IF EXISTS %I.%I', x.nspname, x.iname)
      FROM found x
      LEFT JOIN idx b ON b.oid = x.by_oid
      LEFT JOIN writes w ON w.relid = x.relid
      LEFT JOIN (SELECT u.relid, CASE WHEN u.n_tup_upd > 0
                                      THEN (u.n_tup_upd - u.n_tup_hot_upd)::float8 / u.n_tup_upd END AS nonhot
                   FROM pg_stat_all_tables u) h ON h.relid = x.relid
     WHERE cardinality(x.ks) > 0
     ORDER BY 10 DESC NULLS LAST, x.size DESC, x.nspname, x.iname;
END
$$;

COMMENT ON FUNCTION @extschema@.index_hygiene() IS
'indexes that only cost writes: duplicates, prefixes of another index, replaced by a recommended index, never scanned; each with a DROP INDEX CONCURRENTLY statement';

REVOKE ALL ON FUNCTION @extschema@.index_hygiene() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.index_hygiene() TO pg_read_all_stats;

-- ==== end index hygiene ====

/* observa--1.0--1.1.sql: upgrade an observa 1.0 installation to 1.1 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION observa UPDATE TO '1.1'" to load this file. \quit

--
-- Every change to the SQL API made in 1.1 appears twice: in
-- observa--1.1.sql (a fresh install) and here (an upgrade).  A test
-- compares the catalog objects of both paths.
--

-- ==== index advisor: recommend_indexes() gains "replaces", "write_overhead"
-- and "update_overhead_pct" ====

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
    OUT replaces regclass[],
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

REVOKE ALL ON FUNCTION @extschema@.recommend_indexes(),
    @extschema@.recommend_indexes_overhead(),
    @extschema@.index_build_steps(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.recommend_indexes() TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION @extschema@.recommend_indexes_overhead() TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION @extschema@.index_build_steps(text) TO PUBLIC;

-- ==== plan fingerprints ====

-- observa.plan_fingerprints(): the plan-shape fingerprints of the
-- statements the index advisor sampled in the current database, the last
-- few per statement (docs/regressions.md).
CREATE FUNCTION @extschema@.plan_fingerprints(
    OUT queryid bigint,
    OUT userid oid,
    OUT fingerprint text,
    OUT first_seen timestamptz,
    OUT last_seen timestamptz,
    OUT samples bigint,
    OUT current boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'observa_plan_fingerprints_1_1'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION @extschema@.plan_fingerprints() IS
'plan-shape fingerprints (node types, relations, index names) of the sampled statements, the last few per statement';

REVOKE ALL ON FUNCTION @extschema@.plan_fingerprints() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.plan_fingerprints() TO pg_read_all_stats;

-- ==== end plan fingerprints ====

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
               -- each key column (definition, operator class, collation,
               -- ASC/DESC/NULLS) prefixed by its length and joined: one
               -- index's keys lead another's exactly when its text starts
               -- the other's
               (SELECT string_agg(length(e) || ':' || e, '' ORDER BY k)
                  FROM (SELECT k, pg_get_indexdef(i.indexrelid, k + 1, false) || ' ' || i.indclass[k]
                                  || ' ' || i.indcollation[k] || ' ' || i.indoption[k] AS e
                          FROM generate_series(0, i.indnkeyatts - 1) k) s) AS keytext,
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
        WINDOW w AS (PARTITION BY x.relid, x.am, x.keytext, x.inccols, x.pred
                     ORDER BY x.protected DESC, x.scans DESC, x.oid)
    ),
    kept AS (SELECT * FROM grp WHERE rk = 1),
    pairs AS (  -- btree a's keys a proper prefix of b's, same predicate;
                -- paired within each table (one table's indexes at a time)
        SELECT (a ->> 'oid')::oid AS a, (b ->> 'oid')::oid AS b,
               (b ->> 'size')::bigint AS bsize, (b ->> 'prot')::boolean AS bprot
          FROM (SELECT jsonb_agg(jsonb_build_object(
                           'oid', k.oid, 'kt', k.keytext, 'pred', k.pred, 'keys', to_jsonb(k.keycols),
                           'inc', to_jsonb(k.inccols), 'size', k.size, 'prot', k.protected)) AS items
                  FROM kept k
                 WHERE k.am = (SELECT m.oid FROM pg_am m WHERE m.amname = 'btree')
                 GROUP BY k.relid) t,
               jsonb_array_elements(t.items) a, jsonb_array_elements(t.items) b
         WHERE NOT (a ->> 'prot')::boolean AND a ->> 'oid' <> b ->> 'oid'
           AND length(b ->> 'kt') > length(a ->> 'kt') AND starts_with(b ->> 'kt', a ->> 'kt')
           AND a -> 'pred' = b -> 'pred'
           AND a -> 'inc' <@ ((b -> 'keys') || (b -> 'inc'))
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

-- ==== html report ====

-- observa.report_html(): one self-contained HTML page (docs/report_html.md):
-- inline CSS and SVG, no script, nothing loaded from anywhere (a
-- Content-Security-Policy says so to the browser as well).  Every value is
-- written through html_escape(): statement texts, parameters, plans, tenant
-- values, names and numbers alike.  The helpers below each draw one part.

-- Escape a value for HTML text or a quoted attribute; NULL gives ''.
CREATE FUNCTION @extschema@.html_escape(t text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT replace(replace(replace(replace(replace(coalesce(t, ''),
           '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;')
$$;

COMMENT ON FUNCTION @extschema@.html_escape(text) IS
'a value escaped for HTML text and attributes (& < > " and single quote); NULL gives an empty string';

-- x position (0 .. width) of a latency in ms on the report's log axis,
-- 0.01 ms to 100 s (seven decades); values outside are drawn at the ends.
CREATE FUNCTION @extschema@.html_log_x(ms float8, width float8)
RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT round(((least(greatest(log(greatest(coalesce(ms, 0.01), 0.01)), -2), 5) + 2)
                  / 7 * width)::numeric, 1)::float8
$$;

COMMENT ON FUNCTION @extschema@.html_log_x(float8, float8) IS
'x coordinate of a latency (ms) on the HTML report''s log axis from 0.01 ms to 100 s';

-- The decade ticks and labels of the log axis, as SVG, at height y.
CREATE FUNCTION @extschema@.html_log_axis(x0 float8, width float8, y float8)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT string_agg(format('<line class="tick" x1="%s" y1="%s" x2="%s" y2="%s"/><text class="axis" x="%s" y="%s" text-anchor="middle">%s</text>',
                             x, y, x, y + 4, x, y + 15, label), '' ORDER BY d)
      FROM (SELECT d, x0 + @extschema@.html_log_x(10 ^ d, width) AS x,
                   CASE WHEN d < 0 THEN (10 ^ d)::numeric::text || ' ms'
                        WHEN d < 3 THEN (10 ^ d)::int || ' ms'
                        ELSE (10 ^ (d - 3))::int || ' s' END AS label
              FROM generate_series(-2, 5) d) t
$$;

COMMENT ON FUNCTION @extschema@.html_log_axis(float8, float8, float8) IS
'SVG ticks and labels of the HTML report''s log latency axis';

-- One latency histogram as inline SVG: le are the bucket bounds in ms
-- (ascending, the last one Infinity), cum the cumulative counts at each
-- (observa.table_latency_buckets), marks the named values drawn as lines
-- (p50, p95, p99).
CREATE FUNCTION @extschema@.html_histogram(le float8[], cum bigint[], marks jsonb)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    x0 constant float8 := 30;
    w constant float8 := 480;
    h constant float8 := 70;
    top constant float8 := 32;
    k integer := 0;
    peak bigint := 1;
    n bigint;
    lo float8;
    x1 float8;
    x2 float8;
    bh float8;
    svg text := '';
    m record;
BEGIN
    IF le IS NULL OR cum IS NULL OR cardinality(le) <> cardinality(cum) OR cardinality(le) = 0 THEN
        RAISE EXCEPTION 'bucket bounds and cumulative counts must be two non-empty arrays of the same length'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the le_ms and count columns of observa.table_latency_buckets() for one key, in order.';
    END IF;
    FOR i IN 1 .. cardinality(le) LOOP
        peak := greatest(peak, cum[i] - CASE WHEN i = 1 THEN 0 ELSE cum[i - 1] END);
    END LOOP;
    FOR i IN 1 .. cardinality(le) LOOP
        n := cum[i] - CASE WHEN i = 1 THEN 0 ELSE cum[i - 1] END;
        CONTINUE WHEN n <= 0;
        lo := CASE WHEN i = 1 THEN 0.01 ELSE le[i - 1] END;
        x1 := x0 + @extschema@.html_log_x(lo, w);
        x2 := CASE WHEN le[i] = 'Infinity' THEN x0 + w + 8 ELSE x0 + @extschema@.html_log_x(le[i], w) END;
        bh := greatest(round((h * n / peak)::numeric, 1), 1);
        svg := svg || format('<rect class="%s" x="%s" y="%s" width="%s" height="%s"><title>%s</title></rect>',
                             CASE WHEN le[i] = 'Infinity' THEN 'bar over' ELSE 'bar' END,
                             x1, top + h - bh, greatest(x2 - x1 - 1, 1), bh,
                             @extschema@.html_escape(format('%s statements %s', n,
                                 CASE WHEN le[i] = 'Infinity' THEN format('over %s ms', lo)
                                      ELSE format('from %s to %s ms', lo, le[i]) END)));
    END LOOP;
    FOR m IN SELECT key, value::float8 AS v FROM jsonb_each_text(marks) WHERE value IS NOT NULL ORDER BY value::float8, key LOOP
        -- labels on three rows, so that close percentiles stay readable
        x1 := x0 + @extschema@.html_log_x(m.v, w);
        k := k + 1;
        svg := svg || format('<line class="mark" x1="%s" y1="%s" x2="%s" y2="%s"/><text class="mark" x="%s" y="%s">%s</text>',
                             x1, 9 * ((k - 1) % 3) + 6, x1, top + h, x1 + 2, 9 * ((k - 1) % 3) + 9,
                             @extschema@.html_escape(format('%s %s', m.key, round(m.v::numeric, 2))));
    END LOOP;
    RETURN format('<svg class="hist" viewBox="0 0 %s %s" width="%s" height="%s" role="img" xmlns="http://www.w3.org/2000/svg">',
                  x0 + w + 20, top + h + 22, x0 + w + 20, top + h + 22)
        || format('<line class="base" x1="%s" y1="%s" x2="%s" y2="%s"/>', x0, top + h, x0 + w + 8, top + h)
        || svg || @extschema@.html_log_axis(x0, w, top + h) || '</svg>';
END
$$;

COMMENT ON FUNCTION @extschema@.html_histogram(float8[], bigint[], jsonb) IS
'inline SVG latency histogram from bucket bounds and cumulative counts, with marked percentiles';

-- Latency section: a histogram per (operation, table) of the busiest ones,
-- and the percentile spread of the busiest statements.
CREATE FUNCTION @extschema@.report_html_latency()
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    lim constant integer := 6;
    bounds float8[] := ARRAY(SELECT round((10 ^ (-2 + i / 3.0))::numeric, 4)::float8
                               FROM generate_series(1, 21) i) || 'Infinity'::float8;
    out text := '';
    r record;
    x0 constant float8 := 40;
    w constant float8 := 560;
    y float8;
    k integer := 0;
    rows_svg text := '';
    legend text := '';
BEGIN
    -- per operation: the tables' buckets summed (a statement that touches
    -- several tables counts once per table, as in table_stats)
    out := '<h3>Operations, by total time</h3><div class="grid">';
    FOR r IN
        SELECT o.operation, o.calls, o.total_ms, b.le, b.cum
          FROM (SELECT t.operation, sum(t.calls) AS calls, sum(t.total_time_ms) AS total_ms
                  FROM @extschema@.table_stats t GROUP BY t.operation
                 ORDER BY 3 DESC NULLS LAST, 1 LIMIT 4) o
          JOIN LATERAL (SELECT array_agg(y.le ORDER BY y.le) AS le, array_agg(y.n ORDER BY y.le) AS cum
                          FROM (SELECT x.le_ms AS le, sum(x.count)::bigint AS n
                                  FROM @extschema@.table_latency_buckets(bounds) x
                                 WHERE x.operation = o.operation GROUP BY x.le_ms) y) b ON true
         ORDER BY o.total_ms DESC NULLS LAST, o.operation
    LOOP
        out := out || format('<figure class="dist"><figcaption><b>%s</b> <span class="dim">%s calls on tables · %s ms total</span></figcaption>%s</figure>',
            @extschema@.html_escape(r.operation), r.calls, round(r.total_ms::numeric, 1),
            @extschema@.html_histogram(r.le, r.cum, '{}'));
    END LOOP;
    IF out ~ '<div class="grid">$' THEN
        out := out || '<p class="none">No statement on a table recorded yet.</p>';
    END IF;
    out := out || '</div><p class="dim legend">Summed over tables: a statement on several tables counts once for each.</p>';

    out := out || '<h3>Operations on tables, by total time</h3><div class="grid">';
    FOR r IN
        SELECT t.*, b.le, b.cum
          FROM (SELECT * FROM @extschema@.table_stats ORDER BY total_time_ms DESC NULLS LAST,
                       datname, relid, operation LIMIT lim) t
          JOIN LATERAL (SELECT array_agg(x.le_ms ORDER BY x.le_ms) AS le, array_agg(x.count ORDER BY x.le_ms) AS cum
                          FROM @extschema@.table_latency_buckets(bounds) x
                         WHERE x.datname IS NOT DISTINCT FROM t.datname AND x.relid = t.relid
                           AND x.operation = t.operation) b ON true
         ORDER BY t.total_time_ms DESC NULLS LAST, t.datname, t.relid, t.operation
    LOOP
        out := out || format('<figure class="dist"><figcaption><b>%s</b> %s <span class="dim">%s calls · mean %s ms · p95 %s ms · p99 %s ms</span></figcaption>%s</figure>',
            @extschema@.html_escape(r.operation),
            @extschema@.html_escape(coalesce(r.schemaname || '.' || r.relname, format('%s oid %s', r.datname, r.relid))),
            r.calls, round(r.mean_time_ms::numeric, 3), round(r.p95_ms::numeric, 3), round(r.p99_ms::numeric, 3),
            @extschema@.html_histogram(r.le, r.cum,
                jsonb_build_object('p50', r.p50_ms, 'p95', r.p95_ms, 'p99', r.p99_ms)));
    END LOOP;
    IF out ~ '<h3>Operations on tables, by total time</h3><div class="grid">$' THEN
        out := out || '<p class="none">No statement on a table recorded yet.</p>';
    END IF;
    out := out || '</div>';

    -- statements: the spread of their percentiles on one log axis
    FOR r IN
        SELECT s.*, q.qs
          FROM (SELECT * FROM @extschema@.statement_stats ORDER BY total_time_ms DESC NULLS LAST, queryid
                 LIMIT lim + 2) s
          LEFT JOIN LATERAL (SELECT jsonb_object_agg(p.quantile::text, p.value_ms) AS qs
                               FROM @extschema@.statement_percentiles(ARRAY[0.25, 0.5, 0.75, 0.95, 0.99]) p
                              WHERE p.queryid = s.queryid AND p.userid = s.userid AND p.dbid = s.dbid
                                AND p.toplevel = s.toplevel) q ON true
         ORDER BY s.total_time_ms DESC NULLS LAST, s.queryid
    LOOP
        k := k + 1;
        y := 10 + (k - 1) * 26;
        rows_svg := rows_svg || format(
            '<text class="axis" x="4" y="%s">#%s</text>'
            '<line class="whisker" x1="%s" y1="%s" x2="%s" y2="%s"/>'
            '<rect class="box" x="%s" y="%s" width="%s" height="12"/>'
            '<line class="median" x1="%s" y1="%s" x2="%s" y2="%s"/>'
            '<circle class="p95" cx="%s" cy="%s" r="3"/><circle class="p99" cx="%s" cy="%s" r="3"/>'
            '<title>%s</title>',
            y + 10, k,
            x0 + @extschema@.html_log_x(r.min_time_ms, w), y + 6, x0 + @extschema@.html_log_x(r.max_time_ms, w), y + 6,
            x0 + @extschema@.html_log_x((r.qs ->> '0.25')::float8, w), y,
            greatest(@extschema@.html_log_x((r.qs ->> '0.75')::float8, w) - @extschema@.html_log_x((r.qs ->> '0.25')::float8, w), 1),
            x0 + @extschema@.html_log_x((r.qs ->> '0.5')::float8, w), y - 2, x0 + @extschema@.html_log_x((r.qs ->> '0.5')::float8, w), y + 14,
            x0 + @extschema@.html_log_x((r.qs ->> '0.95')::float8, w), y + 6,
            x0 + @extschema@.html_log_x((r.qs ->> '0.99')::float8, w), y + 6,
            @extschema@.html_escape(format('#%s: min %s, p25 %s, p50 %s, p75 %s, p95 %s, p99 %s, max %s ms', k,
                round(r.min_time_ms::numeric, 3), round((r.qs ->> '0.25')::numeric, 3), round((r.qs ->> '0.5')::numeric, 3),
                round((r.qs ->> '0.75')::numeric, 3), round((r.qs ->> '0.95')::numeric, 3),
                round((r.qs ->> '0.99')::numeric, 3), round(r.max_time_ms::numeric, 3))));
        legend := legend || format('<li><b>#%s</b> <span class="dim">%s calls · %s ms total · p95 %s ms · %s</span><code>%s</code></li>',
            k, r.calls, round(r.total_time_ms::numeric, 1), round(r.p95_ms::numeric, 3),
            @extschema@.html_escape(r.datname), @extschema@.html_escape(@extschema@.report_line(r.query, 300)));
    END LOOP;
    out := out || '<h3>Statements, by total time</h3>';
    IF k = 0 THEN
        RETURN out || '<p class="none">No statement recorded yet.</p>';
    END IF;
    RETURN out
        || format('<svg class="spread" viewBox="0 0 %s %s" width="%s" height="%s" role="img" xmlns="http://www.w3.org/2000/svg">',
                  x0 + w + 20, k * 26 + 30, x0 + w + 20, k * 26 + 30)
        || rows_svg || @extschema@.html_log_axis(x0, w, k * 26 + 8) || '</svg>'
        || '<p class="dim legend">Line: min to max; box: p25 to p75; bar: p50; dots: p95 (filled) and p99 (open).</p>'
        || '<ol class="stmts">' || legend || '</ol>';
END
$$;

COMMENT ON FUNCTION @extschema@.report_html_latency() IS
'HTML report part: latency histograms of the busiest operations on tables and percentile spread of the busiest statements';

-- An HTML table from a query's rows: cols are [header, jsonb key, class]
-- triples; every cell is escaped, a "code" class cell is monospace.
CREATE FUNCTION @extschema@.html_table(rows jsonb, cols text[])
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF cols IS NULL OR array_ndims(cols) IS DISTINCT FROM 2 OR array_length(cols, 2) <> 3 THEN
        RAISE EXCEPTION 'columns must be an array of {header, key, class} triples'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example ARRAY[[''index'', ''name'', ''code''], [''size'', ''size'', ''num'']].';
    END IF;
    IF rows IS NULL OR jsonb_typeof(rows) <> 'array' THEN
        RAISE EXCEPTION 'rows must be a jsonb array of objects'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Aggregate the rows with jsonb_agg(); pass ''[]'' for none.';
    END IF;
    RETURN '<table><thead><tr>'
        || (SELECT string_agg(format('<th>%s</th>', @extschema@.html_escape(cols[i][1])), '' ORDER BY i)
              FROM generate_subscripts(cols, 1) i)
        || '</tr></thead><tbody>'
        || coalesce((SELECT string_agg('<tr>' || (
                        SELECT string_agg(format('<td class="%s">%s</td>', @extschema@.html_escape(cols[i][3]),
                                                 @extschema@.html_escape(r ->> cols[i][2])), '' ORDER BY i)
                          FROM generate_subscripts(cols, 1) i) || '</tr>', '' ORDER BY o)
                       FROM jsonb_array_elements(rows) WITH ORDINALITY AS a(r, o)), '')
        || '</tbody></table>';
END
$$;

COMMENT ON FUNCTION @extschema@.html_table(jsonb, text[]) IS
'an HTML table of jsonb rows, columns given as {header, key, class} triples, every cell escaped';

-- Tenants section: the busiest tenants with a bar of their share of time.
CREATE FUNCTION @extschema@.report_html_tenants()
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    lim constant integer := 10;
    out text := '';
    r record;
    k integer := 0;
BEGIN
    IF to_regclass('@extschema@.tenant_stats') IS NULL THEN
        RETURN '<p class="none">Tenant statistics are not available in this build.</p>';
    END IF;
    FOR r IN EXECUTE format('SELECT * FROM @extschema@.tenant_stats ORDER BY total_time_ms DESC NULLS LAST LIMIT %s', lim) LOOP
        k := k + 1;
        out := out || format('<tr><td>%s</td><td class="code">%s</td><td class="num">%s</td><td class="num">%s</td><td class="num">%s</td><td><svg class="share" viewBox="0 0 200 12" width="200" height="12" xmlns="http://www.w3.org/2000/svg"><rect class="bar" x="0" y="1" width="%s" height="10"/></svg> %s%%</td></tr>',
            @extschema@.html_escape(r.datname),
            @extschema@.html_escape(CASE WHEN r.is_other THEN '(other tenants)' ELSE coalesce(r.tenant, '(no tenant)') END),
            r.calls, round(r.total_time_ms::numeric, 1), round(r.p95_ms::numeric, 3),
            round((200 * least(greatest(coalesce(r.share_of_total_time, 0), 0), 1))::numeric, 1),
            round((100 * coalesce(r.share_of_total_time, 0))::numeric, 1));
    END LOOP;
    IF k = 0 THEN
        RETURN '<p class="none">No tenant recorded yet.</p>';
    END IF;
    RETURN '<table><thead><tr><th>database</th><th>tenant</th><th>calls</th><th>total ms</th><th>p95 ms</th><th>share of time</th></tr></thead><tbody>'
        || out || '</tbody></table>';
END
$$;

COMMENT ON FUNCTION @extschema@.report_html_tenants() IS
'HTML report part: the busiest tenants and their share of time';

-- Slow queries section: the newest entries of the ring, each collapsible
-- with its text, parameters, plan and error.
CREATE FUNCTION @extschema@.report_html_slow()
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    out text := '';
    r record;
BEGIN
    FOR r IN SELECT * FROM @extschema@.slow_queries(20) LOOP
        out := out || format('<details class="slow"><summary><span class="num">%s ms</span> <span class="dim">%s · %s · %s</span> <code>%s</code></summary>'
                             '<dl><dt>statement</dt><dd><pre>%s</pre></dd>%s%s%s<dt>where</dt><dd>%s, pid %s, application %s, client %s, %s rows, relations %s</dd></dl></details>',
            round(r.duration_ms::numeric, 1),
            @extschema@.html_escape(to_char(r.ts, 'YYYY-MM-DD HH24:MI:SS.MS')),
            @extschema@.html_escape(r.username), @extschema@.html_escape(r.datname),
            @extschema@.html_escape(@extschema@.report_line(r.query, 120)),
            @extschema@.html_escape(r.query),
            CASE WHEN r.params IS NOT NULL THEN format('<dt>parameters</dt><dd><pre>%s</pre></dd>', @extschema@.html_escape(r.params)) ELSE '' END,
            CASE WHEN r.plan IS NOT NULL THEN format('<dt>plan%s</dt><dd><pre>%s</pre></dd>',
                                                     CASE WHEN r.plan_truncated THEN ' (truncated)' ELSE '' END,
                                                     @extschema@.html_escape(r.plan))
                 ELSE '<dt>plan</dt><dd class="dim">not captured (observa.slow_query_plan = off)</dd>' END,
            CASE WHEN r.error IS NOT NULL THEN format('<dt>error</dt><dd>%s</dd>', @extschema@.html_escape(r.error)) ELSE '' END,
            @extschema@.html_escape(r.operation), r.pid, @extschema@.html_escape(r.application_name),
            @extschema@.html_escape(r.client_addr::text), coalesce(r.rows::text, '-'),
            @extschema@.html_escape(array_to_string(r.relations, ', ')));
    END LOOP;
    IF out = '' THEN
        RETURN '<p class="none">No slow statement captured.</p>';
    END IF;
    RETURN out;
END
$$;

COMMENT ON FUNCTION @extschema@.report_html_slow() IS
'HTML report part: the newest slow statements, collapsible, with text, parameters and plan';

-- Index advice section: recommendations and hygiene (each may fail alone).
CREATE FUNCTION @extschema@.report_html_indexes()
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    recs jsonb;
    hyg jsonb;
    out text;
BEGIN
    PERFORM @extschema@.version();     -- refuses without the preload
    BEGIN
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'def', r.index_def, 'pct', r.est_improvement_pct, 'size', pg_size_pretty(r.est_size_bytes),
                   'calls', r.calls, 'replaces', array_to_string(r.replaces, ', '), 'reason', r.reason)
                   ORDER BY r.est_improvement_pct DESC, r.index_def), '[]')
          INTO recs FROM @extschema@.recommend_indexes() r;
        out := '<h3 id="recommendations">Index recommendations</h3>'
            || CASE WHEN jsonb_array_length(recs) = 0
                    THEN '<p class="none">None: no index would help the captured statements.</p>'
                    ELSE @extschema@.html_table(recs, ARRAY[['statement', 'def', 'code'], ['est. cheaper %', 'pct', 'num'],
                             ['size', 'size', 'num'], ['executions', 'calls', 'num'], ['replaces', 'replaces', 'code'],
                             ['reason', 'reason', 'text']]) END;
    EXCEPTION WHEN OTHERS THEN
        out := '<h3 id="recommendations">Index recommendations</h3><p class="none">'
            || @extschema@.html_escape(format('Unavailable: %s', SQLERRM)) || '</p>';
    END;
    BEGIN
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'index', format('%I.%I', h.schemaname, h.indexname), 'kind', array_to_string(h.kinds, ', '),
                   'size', pg_size_pretty(h.size_bytes), 'writes', h.index_writes_per_s,
                   'reason', h.reason, 'drop', h.drop_statement)
                   ORDER BY h.index_writes_per_s DESC NULLS LAST, h.size_bytes DESC), '[]')
          INTO hyg FROM @extschema@.index_hygiene() h;
        out := out || '<h3 id="hygiene">Index hygiene</h3>'
            || CASE WHEN jsonb_array_length(hyg) = 0
                    THEN '<p class="none">No duplicate, prefix, replaced or unused index found.</p>'
                    ELSE @extschema@.html_table(hyg, ARRAY[['index', 'index', 'code'], ['kind', 'kind', 'text'],
                             ['size', 'size', 'num'], ['index writes/s', 'writes', 'num'], ['reason', 'reason', 'text'],
                             ['statement', 'drop', 'code']]) END;
    EXCEPTION WHEN OTHERS THEN
        out := out || '<h3 id="hygiene">Index hygiene</h3><p class="none">'
            || @extschema@.html_escape(format('Unavailable: %s', SQLERRM)) || '</p>';
    END;
    RETURN out;
END
$$;

COMMENT ON FUNCTION @extschema@.report_html_indexes() IS
'HTML report part: index recommendations and index hygiene';

-- Timeline section: p95 per recent window.  Per-window rows are not
-- readable from SQL in this build yet (the store's windows are being
-- redesigned); the section says so rather than showing merged windows.
CREATE FUNCTION @extschema@.report_html_timeline()
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    span interval;
    pts jsonb;
    t0 timestamptz;
    t1 timestamptz;
    lines text;
    legend text;
    w constant float8 := 1000;
    h constant float8 := 220;
    colors constant text[] := ARRAY['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2'];
BEGIN
    PERFORM @extschema@.version();
    -- the finest windows kept: observa.windows of observa.window
    span := current_setting('observa.window')::interval * current_setting('observa.windows')::integer;
    BEGIN
        SELECT jsonb_agg(jsonb_build_object('k', t.k, 'label', t.label, 's', u.s,
                                            'e', u.s + t.window_length, 'p95', u.p))
          INTO pts
          FROM (SELECT row_number() OVER (ORDER BY wl.recent_calls DESC, wl.relid, wl.operation)::integer AS k,
                       wl.operation || ' ' || coalesce(n.nspname || '.' || c.relname, 'oid ' || wl.relid) AS label,
                       wl.window_starts, wl.window_p95_ms, wl.window_length
                  FROM @extschema@.window_latency(span) wl
                  LEFT JOIN pg_class c ON c.oid = wl.relid
                  LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE wl.kind = 'table'
                   AND wl.dbid = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
                 ORDER BY wl.recent_calls DESC, wl.relid, wl.operation LIMIT 6) t,
               unnest(t.window_starts, t.window_p95_ms) u(s, p);
    EXCEPTION WHEN insufficient_privilege THEN
        RETURN format('<p class="none">%s</p>', @extschema@.html_escape('timeline unavailable: ' || SQLERRM));
    END;
    IF pts IS NULL THEN
        RETURN '<p class="none">No statement on a table in the recent windows.</p>';
    END IF;
    SELECT min((x ->> 's')::timestamptz), max((x ->> 'e')::timestamptz) INTO t0, t1
      FROM jsonb_array_elements(pts) x;
    SELECT string_agg(format('<polyline class="line" stroke="%s" points="%s"/>%s', colors[k], coords, dots), '' ORDER BY k),
           string_agg(format('<span style="color:%s">&#9632;</span> %s', colors[k], @extschema@.html_escape(label)),
                      ' &#160; ' ORDER BY k)
      INTO lines, legend
      FROM (SELECT k, label,
                   string_agg(format('%s,%s', px, py), ' ' ORDER BY s) AS coords,
                   string_agg(format('<circle cx="%s" cy="%s" r="2.5" fill="%s"><title>%s</title></circle>', px, py, colors[k],
                                     @extschema@.html_escape(format('%s, window %s: p95 %s ms', label,
                                                                    to_char(s, 'HH24:MI:SS'), round(p95::numeric, 3)))),
                              '' ORDER BY s) AS dots
              FROM (SELECT (x ->> 'k')::integer AS k, x ->> 'label' AS label, (x ->> 's')::timestamptz AS s,
                           (x ->> 'p95')::float8 AS p95,
                           round((60 + extract(epoch FROM ((x ->> 's')::timestamptz + ((x ->> 'e')::timestamptz - (x ->> 's')::timestamptz) / 2) - t0)
                                       / greatest(extract(epoch FROM t1 - t0), 1e-6) * (w - 80))::numeric, 1) AS px,
                           round((h - 30 - @extschema@.html_log_x((x ->> 'p95')::float8, h - 50))::numeric, 1) AS py
                      FROM jsonb_array_elements(pts) x) p
             GROUP BY k, label) l;
    RETURN format('<p class="legend">%s</p>', legend)
        || format('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %s %s" width="100%%" role="img" aria-label="p95 per window">', w, h)
        || format('<line class="base" x1="60" y1="%s" x2="%s" y2="%s"/>', h - 30, w - 20, h - 30)
        || (SELECT string_agg(format('<line class="tick" x1="56" y1="%s" x2="60" y2="%s"/><text x="52" y="%s" text-anchor="end">%s</text>',
                                     y, y, y + 3, lbl), '' ORDER BY d)
              FROM (SELECT d, round((h - 30 - @extschema@.html_log_x(10 ^ d, h - 50))::numeric, 1) AS y,
                           CASE WHEN d < 0 THEN (10 ^ d)::numeric::text || ' ms'
                                WHEN d < 3 THEN (10 ^ d)::int || ' ms'
                                ELSE (10 ^ (d - 3))::int || ' s' END AS lbl
                      FROM generate_series(-2, 5) d) a)
        || format('<text x="60" y="%s">%s</text><text x="%s" y="%s" text-anchor="end">%s</text>',
                  h - 12, @extschema@.html_escape(to_char(t0, 'HH24:MI:SS')), w - 20, h - 12,
                  @extschema@.html_escape(to_char(t1, 'HH24:MI:SS')))
        || coalesce(lines, '') || '</svg>'
        || format('<p class="dim">p95 of the six busiest (operation, table) pairs in each window of %s (observa.window_latency()).</p>',
                  @extschema@.html_escape(current_setting('observa.window')));
END
$$;

COMMENT ON FUNCTION @extschema@.report_html_timeline() IS
'HTML report part: p95 per recent window';

-- Regressions section: observa.regressions() when this build has it.
CREATE FUNCTION @extschema@.report_html_regressions(
    recent interval DEFAULT '15 min',
    baseline text DEFAULT '1 day')
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rows jsonb;
    plans text;
BEGIN
    PERFORM @extschema@.version();
    BEGIN
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'what', CASE WHEN r.kind = 'statement'
                                THEN coalesce(@extschema@.report_line(r.query, 90), 'queryid ' || r.queryid)
                                ELSE r.operation || ' ' || coalesce(r.schemaname || '.' || r.relname, '?') END,
                   'kind', r.kind, 'on', r.regressed_on,
                   'p95', format('%s → %s', round(r.baseline_p95_ms::numeric, 3), round(r.recent_p95_ms::numeric, 3)),
                   'mean', format('%s → %s', round(r.baseline_mean_ms::numeric, 3), round(r.recent_mean_ms::numeric, 3)),
                   'calls', format('%s / %s', r.baseline_calls, r.recent_calls),
                   'since', coalesce(to_char(r.started_at, 'YYYY-MM-DD HH24:MI:SS'), '-'),
                   'plan', CASE WHEN r.plan_changed THEN format('changed %s → %s', r.fingerprint_before, r.fingerprint_now)
                                WHEN NOT r.plan_changed THEN 'same' ELSE 'unknown' END)
                   ORDER BY r.ordinality), '[]'),
               string_agg(format('<details class="slow"><summary><span class="num">%s ms</span> <span class="dim">%s</span> <code>%s</code></summary><dl><dt>plan</dt><dd><pre>%s</pre></dd></dl></details>',
                                 round(r.slow_query_ms::numeric, 1),
                                 @extschema@.html_escape(to_char(r.slow_query_at, 'YYYY-MM-DD HH24:MI:SS.MS')),
                                 @extschema@.html_escape(CASE WHEN r.query IS NOT NULL THEN @extschema@.report_line(r.query, 120)
                                                              ELSE r.operation || ' ' || coalesce(r.schemaname || '.' || r.relname, '?') END),
                                 @extschema@.html_escape(r.slow_query_plan)), '' ORDER BY r.ordinality)
                   FILTER (WHERE r.slow_query_plan IS NOT NULL)
          INTO rows, plans
          FROM @extschema@.regressions(recent, baseline) WITH ORDINALITY r;
    EXCEPTION WHEN insufficient_privilege THEN
        RETURN format('<p class="none">%s</p>', @extschema@.html_escape('regressions unavailable: ' || SQLERRM));
    END;
    IF jsonb_array_length(rows) = 0 THEN
        RETURN format('<p class="none">%s</p>', @extschema@.html_escape(format(
            'No regression: nothing is slower in the last %s than in the %s before, beyond noise (observa.regressions()).',
            recent, baseline)));
    END IF;
    RETURN @extschema@.html_table(rows, ARRAY[['statement or table', 'what', 'code'], ['kind', 'kind', ''],
                                             ['slower on', 'on', ''], ['p95 ms (before → now)', 'p95', 'num'],
                                             ['mean ms', 'mean', 'num'], ['calls', 'calls', 'num'],
                                             ['since window', 'since', 'num'], ['plan', 'plan', 'code']])
        || coalesce('<h3>Last slow query of each, with its plan</h3>' || plans, '');
END
$$;

COMMENT ON FUNCTION @extschema@.report_html_regressions(interval, text) IS
'HTML report part: latency regressions';

CREATE FUNCTION @extschema@.report_html()
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ver text := @extschema@.version();
    now_ts timestamptz := clock_timestamp();
    since timestamptz := (SELECT min(stats_since) FROM @extschema@.table_stats);
    css constant text := $css$
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;background:#f6f7f9;margin:0}
header{background:#1d2330;color:#fff;padding:16px 28px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:#c9cfdb}
nav a{color:#9cc3ff;margin-right:14px;text-decoration:none}main{padding:8px 28px 28px;max-width:1180px}
section{background:#fff;border:1px solid #e1e4ea;border-radius:8px;padding:8px 18px 14px;margin:16px 0}
h2{font-size:18px;margin:8px 0}h3{font-size:15px;margin:14px 0 6px;color:#39414f}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #eceef2;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f1f3f6;font-weight:600}td.num,span.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.code,code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f7f9;padding:6px;border-radius:4px;margin:2px 0}
.dim{color:#6b7280}.none{color:#6b7280;font-style:italic}figure.dist{margin:6px 0 10px}figcaption{font-size:13px}
svg text{font-size:10px;fill:#4b5563}svg .bar{fill:#3b82f6}svg .over{fill:#ef4444}svg .base,svg .tick{stroke:#9ca3af}
svg line.mark{stroke:#111827;stroke-dasharray:3 2}svg text.mark{fill:#111827}svg .whisker{stroke:#9ca3af;stroke-width:2}
svg .box{fill:#bfdbfe;stroke:#3b82f6}svg .median{stroke:#1d4ed8;stroke-width:2}svg .p95{fill:#f59e0b}svg .p99{fill:#fff;stroke:#ef4444;stroke-width:1.5}
svg .line{fill:none;stroke-width:2}ol.stmts li{margin:3px 0}ol.stmts code{display:block;color:#1d2330}
details.slow{border-bottom:1px solid #eceef2;padding:4px 0}details.slow summary{cursor:pointer}dl{margin:6px 0 6px 16px}dt{font-weight:600;margin-top:4px}dd{margin:0 0 0 12px}
.legend{font-size:12px;margin:2px 0 6px}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(540px,1fr));gap:4px 18px}
$css$;
BEGIN
    RETURN '<!DOCTYPE html>' || E'\n'
        || '<html lang="en"><head><meta charset="utf-8">'
        || '<meta http-equiv="Content-Security-Policy" content="default-src ''none''; style-src ''unsafe-inline''">'
        || '<meta name="viewport" content="width=device-width, initial-scale=1">'
        || format('<title>observa report, %s</title>', @extschema@.html_escape(to_char(now_ts, 'YYYY-MM-DD HH24:MI:SS TZ')))
        || '<style>' || css || '</style></head><body>' || E'\n'
        || format('<header><h1>observa %s report</h1><p>%s · database %s · statistics since %s (%s)</p>',
                  @extschema@.html_escape(ver),
                  @extschema@.html_escape(to_char(now_ts, 'YYYY-MM-DD HH24:MI:SS TZ')),
                  @extschema@.html_escape(current_database()),
                  @extschema@.html_escape(coalesce(to_char(since, 'YYYY-MM-DD HH24:MI:SS TZ'), '-')),
                  @extschema@.html_escape(coalesce(date_trunc('second', now_ts - since)::text, '-')))
        || '<nav><a href="#latency">latency</a><a href="#timeline">p95 timeline</a><a href="#tenants">tenants</a>'
        || '<a href="#slow-queries">slow queries</a><a href="#regressions">regressions</a>'
        || '<a href="#indexes">indexes</a></nav></header><main>' || E'\n'
        || '<section id="latency"><h2>Latency distribution (since reset)</h2>'
        || @extschema@.report_html_latency() || '</section>' || E'\n'
        || '<section id="timeline"><h2>p95 over the recent windows</h2>'
        || @extschema@.report_html_timeline() || '</section>' || E'\n'
        || '<section id="tenants"><h2>Busiest tenants</h2>'
        || @extschema@.report_html_tenants() || '</section>' || E'\n'
        || '<section id="slow-queries"><h2>Slow queries</h2>'
        || @extschema@.report_html_slow() || '</section>' || E'\n'
        || '<section id="regressions"><h2>Regressions</h2>'
        || @extschema@.report_html_regressions() || '</section>' || E'\n'
        || '<section id="indexes"><h2>Indexes</h2>'
        || @extschema@.report_html_indexes() || '</section>' || E'\n'
        || '</main></body></html>' || E'\n';
END
$$;

COMMENT ON FUNCTION @extschema@.report_html() IS
'one self-contained HTML page: latency distributions, p95 timeline, tenants, slow queries with plans, regressions, index recommendations and hygiene';

REVOKE ALL ON FUNCTION @extschema@.report_html(), @extschema@.report_html_latency(),
    @extschema@.report_html_tenants(), @extschema@.report_html_slow(),
    @extschema@.report_html_indexes(), @extschema@.report_html_timeline(),
    @extschema@.report_html_regressions(interval, text), @extschema@.html_escape(text),
    @extschema@.html_log_x(float8, float8), @extschema@.html_log_axis(float8, float8, float8),
    @extschema@.html_histogram(float8[], bigint[], jsonb), @extschema@.html_table(jsonb, text[])
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.report_html(), @extschema@.report_html_latency(),
    @extschema@.report_html_tenants(), @extschema@.report_html_slow(),
    @extschema@.report_html_indexes(), @extschema@.report_html_timeline(),
    @extschema@.report_html_regressions(interval, text), @extschema@.html_escape(text),
    @extschema@.html_log_x(float8, float8), @extschema@.html_log_axis(float8, float8, float8),
    @extschema@.html_histogram(float8[], bigint[], jsonb), @extschema@.html_table(jsonb, text[])
    TO pg_read_all_stats;

-- ==== end html report ====

-- ==== versioned C entry points ====
-- The column-returning functions that had no version suffix in 1.0 are
-- bound to their 1.1 entry points; the library keeps the 1.0 symbols for
-- installations not yet updated (recommend_indexes() is above: its shape
-- changed).

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

-- ==== hot standbys ====
-- snapshot(), drop_snapshot() and create_recommended_indexes() refuse on a
-- standby with 25006 and a hint (create_index() does so in the library).
-- Hot standbys record and show their own statistics; what must be written
-- to tables (snapshots) or build an index only the primary can do.  This
-- raises read_only_sql_transaction (25006) with a hint on a standby (a
-- null what or hint gets a generic wording).
CREATE FUNCTION @extschema@.check_primary(what text, hint text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pg_is_in_recovery() THEN
        RAISE EXCEPTION '% cannot run on a standby', coalesce(what, 'this function')
            USING ERRCODE = 'read_only_sql_transaction',
                  HINT = coalesce(hint, 'Run it on the primary.');
    END IF;
END
$$;

COMMENT ON FUNCTION @extschema@.check_primary(text, text) IS
'raise 25006 with the given hint when the server is a hot standby';

REVOKE ALL ON FUNCTION @extschema@.check_primary(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.check_primary(text, text) TO PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.snapshot(label text)
RETURNS timestamptz
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ver text := @extschema@.version();
    t timestamptz;
    ntab integer;
    nstmt integer;
BEGIN
    PERFORM @extschema@.check_primary('observa.snapshot()',
        'Snapshots are stored in tables, which only the primary can write: take them on the primary; on a standby, observa.compare() can compare a snapshot taken on the primary with this standby''s statistics.');
    PERFORM @extschema@.check_snapshot_label(label, false);
    BEGIN
        INSERT INTO @extschema@.snapshot_meta (label, taken_at, observa_version, table_rows, statement_rows)
            VALUES (label, clock_timestamp(), ver, 0, 0);
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'snapshot "%" already exists', label
            USING ERRCODE = 'duplicate_object',
                  HINT = 'Choose another label, or remove the old one with observa.drop_snapshot().';
    END;
    INSERT INTO @extschema@.snapshot_table_stats
        SELECT snapshot.label, c.* FROM @extschema@.current_table_stats() c;
    GET DIAGNOSTICS ntab = ROW_COUNT;
    INSERT INTO @extschema@.snapshot_statement_stats
        SELECT snapshot.label, c.* FROM @extschema@.current_statement_stats() c;
    GET DIAGNOSTICS nstmt = ROW_COUNT;
    -- taken when the statistics were read (reading publishes this
    -- backend's pending counts, which may create entries)
    t := clock_timestamp();
    UPDATE @extschema@.snapshot_meta m
       SET taken_at = t, table_rows = ntab, statement_rows = nstmt,
           stats_since = (SELECT min(s.stats_since) FROM @extschema@.snapshot_table_stats s
                           WHERE s.label = snapshot.label)
     WHERE m.label = snapshot.label;
    RETURN t;
END
$$;


CREATE OR REPLACE FUNCTION @extschema@.drop_snapshot(label text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM @extschema@.version();
    PERFORM @extschema@.check_primary('observa.drop_snapshot()',
        'Snapshots are stored in tables, which only the primary can write: take them on the primary; on a standby, observa.compare() can compare a snapshot taken on the primary with this standby''s statistics.');
    PERFORM @extschema@.check_snapshot_label(label, false);
    DELETE FROM @extschema@.snapshot_meta m WHERE m.label = drop_snapshot.label;
    IF NOT FOUND THEN
        PERFORM @extschema@.check_snapshot_label(label, true);
    END IF;
    DELETE FROM @extschema@.snapshot_table_stats s WHERE s.label = drop_snapshot.label;
    DELETE FROM @extschema@.snapshot_statement_stats s WHERE s.label = drop_snapshot.label;
END
$$;


CREATE OR REPLACE FUNCTION @extschema@.create_recommended_indexes(
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
    PERFORM @extschema@.check_primary('observa.create_recommended_indexes()',
        'Create indexes on the primary, which replicates them; on a standby, observa.recommend_indexes() lists what its own workload needs.');
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


-- ==== end hot standbys ====

-- ==== one store (issue 12) ====

-- table_stats(since) and statement_stats(since) say which interval their
-- numbers cover (covered_since): the function's result type changes, so
-- it is dropped and created again (nothing in the extension depends on
-- the interval form).
DROP FUNCTION @extschema@.table_stats(interval);
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
    OUT stats_since timestamptz,
    OUT covered_since timestamptz,
    OUT io_calls bigint,
    OUT shared_blks_hit bigint,
    OUT shared_blks_read bigint,
    OUT shared_blks_dirtied bigint,
    OUT shared_blks_written bigint,
    OUT local_blks_hit bigint,
    OUT local_blks_read bigint,
    OUT local_blks_dirtied bigint,
    OUT local_blks_written bigint,
    OUT temp_blks_read bigint,
    OUT temp_blks_written bigint,
    OUT blk_read_time_ms float8,
    OUT blk_write_time_ms float8,
    OUT temp_blk_read_time_ms float8,
    OUT temp_blk_write_time_ms float8,
    OUT wal_records bigint,
    OUT wal_fpi bigint,
    OUT wal_bytes numeric,
    OUT jit_functions bigint,
    OUT jit_generation_time_ms float8,
    OUT jit_inlining_count bigint,
    OUT jit_inlining_time_ms float8,
    OUT jit_optimization_count bigint,
    OUT jit_optimization_time_ms float8,
    OUT jit_emission_count bigint,
    OUT jit_emission_time_ms float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'observa_table_stats_1_1'
LANGUAGE C VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.table_stats(interval) IS
'statistics per database, table and operation over the recent windows covering the interval; covered_since says from when they are complete';
REVOKE ALL ON FUNCTION @extschema@.table_stats(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.table_stats(interval) TO PUBLIC;

DROP FUNCTION @extschema@.statement_stats(interval);
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
    OUT stats_since timestamptz,
    OUT covered_since timestamptz,
    OUT plans bigint,
    OUT total_plan_time_ms float8,
    OUT min_plan_time_ms float8,
    OUT max_plan_time_ms float8,
    OUT mean_plan_time_ms float8,
    OUT stddev_plan_time_ms float8,
    OUT shared_blks_hit bigint,
    OUT shared_blks_read bigint,
    OUT shared_blks_dirtied bigint,
    OUT shared_blks_written bigint,
    OUT local_blks_hit bigint,
    OUT local_blks_read bigint,
    OUT local_blks_dirtied bigint,
    OUT local_blks_written bigint,
    OUT temp_blks_read bigint,
    OUT temp_blks_written bigint,
    OUT blk_read_time_ms float8,
    OUT blk_write_time_ms float8,
    OUT temp_blk_read_time_ms float8,
    OUT temp_blk_write_time_ms float8,
    OUT wal_records bigint,
    OUT wal_fpi bigint,
    OUT wal_bytes numeric,
    OUT jit_functions bigint,
    OUT jit_generation_time_ms float8,
    OUT jit_inlining_count bigint,
    OUT jit_inlining_time_ms float8,
    OUT jit_optimization_count bigint,
    OUT jit_optimization_time_ms float8,
    OUT jit_emission_count bigint,
    OUT jit_emission_time_ms float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'observa_statement_stats_1_1'
LANGUAGE C VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.statement_stats(interval) IS
'statistics per normalized statement over the recent windows covering the interval; covered_since says from when they are complete';
REVOKE ALL ON FUNCTION @extschema@.statement_stats(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.statement_stats(interval) TO PUBLIC;

-- tenant_stats(since): a store instance now; covered_since as above.
DROP FUNCTION @extschema@.tenant_stats(interval);
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
    OUT error_bound_ms double precision,
    OUT covered_since timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'observa_tenant_stats_1_1'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.tenant_stats(interval) IS
'per-tenant statistics over the time windows covering the last "since"; covered_since says from when they are complete';
REVOKE ALL ON FUNCTION @extschema@.tenant_stats(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.tenant_stats(interval) TO pg_read_all_stats;

-- The quantiles observa's latency sketch answers for given durations.
CREATE FUNCTION @extschema@.sketch_quantiles(
    values_ms float8[],
    quantiles float8[],
    repeat integer DEFAULT 1,
    OUT value_ms float8[],
    OUT cells integer,
    OUT bytes integer,
    OUT collapsed boolean)
RETURNS record
AS 'MODULE_PATHNAME', 'observa_sketch_quantiles'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.sketch_quantiles(float8[], float8[], integer) IS
'the quantiles observa''s latency sketch reports for these durations (ms), each counted repeat times, with the cells and bytes it used and whether it collapsed';
REVOKE ALL ON FUNCTION @extschema@.sketch_quantiles(float8[], float8[], integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.sketch_quantiles(float8[], float8[], integer) TO PUBLIC;

-- ==== end one store ====

-- ==== I/O, WAL, JIT and planning counters (issue 17) ====

-- table_stats() gains io_calls and the I/O columns, statement_stats() the
-- planning and I/O columns (their interval forms above have them too):
-- the views over them, and top_statements(), which returns the
-- statement_stats row type, are dropped and created again.
DROP FUNCTION @extschema@.top_statements(text, int);
DROP VIEW @extschema@.statement_stats;
DROP FUNCTION @extschema@.statement_stats();
DROP VIEW @extschema@.table_stats;
DROP FUNCTION @extschema@.table_stats();

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
    OUT stats_since timestamptz,
    OUT io_calls bigint,
    OUT shared_blks_hit bigint,
    OUT shared_blks_read bigint,
    OUT shared_blks_dirtied bigint,
    OUT shared_blks_written bigint,
    OUT local_blks_hit bigint,
    OUT local_blks_read bigint,
    OUT local_blks_dirtied bigint,
    OUT local_blks_written bigint,
    OUT temp_blks_read bigint,
    OUT temp_blks_written bigint,
    OUT blk_read_time_ms float8,
    OUT blk_write_time_ms float8,
    OUT temp_blk_read_time_ms float8,
    OUT temp_blk_write_time_ms float8,
    OUT wal_records bigint,
    OUT wal_fpi bigint,
    OUT wal_bytes numeric,
    OUT jit_functions bigint,
    OUT jit_generation_time_ms float8,
    OUT jit_inlining_count bigint,
    OUT jit_inlining_time_ms float8,
    OUT jit_optimization_count bigint,
    OUT jit_optimization_time_ms float8,
    OUT jit_emission_count bigint,
    OUT jit_emission_time_ms float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'observa_table_stats_1_1'
LANGUAGE C VOLATILE PARALLEL SAFE;

CREATE VIEW @extschema@.table_stats AS
    SELECT * FROM @extschema@.table_stats();

COMMENT ON VIEW @extschema@.table_stats IS
'statistics per database, table and operation since reset, with latency percentiles';

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
    OUT stats_since timestamptz,
    OUT plans bigint,
    OUT total_plan_time_ms float8,
    OUT min_plan_time_ms float8,
    OUT max_plan_time_ms float8,
    OUT mean_plan_time_ms float8,
    OUT stddev_plan_time_ms float8,
    OUT shared_blks_hit bigint,
    OUT shared_blks_read bigint,
    OUT shared_blks_dirtied bigint,
    OUT shared_blks_written bigint,
    OUT local_blks_hit bigint,
    OUT local_blks_read bigint,
    OUT local_blks_dirtied bigint,
    OUT local_blks_written bigint,
    OUT temp_blks_read bigint,
    OUT temp_blks_written bigint,
    OUT blk_read_time_ms float8,
    OUT blk_write_time_ms float8,
    OUT temp_blk_read_time_ms float8,
    OUT temp_blk_write_time_ms float8,
    OUT wal_records bigint,
    OUT wal_fpi bigint,
    OUT wal_bytes numeric,
    OUT jit_functions bigint,
    OUT jit_generation_time_ms float8,
    OUT jit_inlining_count bigint,
    OUT jit_inlining_time_ms float8,
    OUT jit_optimization_count bigint,
    OUT jit_optimization_time_ms float8,
    OUT jit_emission_count bigint,
    OUT jit_emission_time_ms float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'observa_statement_stats_1_1'
LANGUAGE C VOLATILE PARALLEL SAFE;

CREATE VIEW @extschema@.statement_stats AS
    SELECT * FROM @extschema@.statement_stats();

COMMENT ON VIEW @extschema@.statement_stats IS
'statistics per normalized statement (pg_stat_statements queryid) since reset, with latency percentiles';

CREATE FUNCTION @extschema@.top_statements(
    by text DEFAULT 'total_time',
    lim int DEFAULT 10)
RETURNS SETOF @extschema@.statement_stats
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    col text;
BEGIN
    -- each ordering and the statement_stats column it sorts by
    SELECT o.col INTO col
      FROM (VALUES
            ('total_time', 'total_time_ms'),
            ('mean_time', 'mean_time_ms'),
            ('p95', 'p95_ms'),
            ('p99', 'p99_ms'),
            ('calls', 'calls'),
            ('errors', 'errors'),
            ('rows', 'rows'),
            ('plans', 'plans'),
            ('total_plan_time', 'total_plan_time_ms'),
            ('mean_plan_time', 'mean_plan_time_ms'),
            ('shared_blks_hit', 'shared_blks_hit'),
            ('shared_blks_read', 'shared_blks_read'),
            ('shared_blks_dirtied', 'shared_blks_dirtied'),
            ('shared_blks_written', 'shared_blks_written'),
            ('local_blks_hit', 'local_blks_hit'),
            ('local_blks_read', 'local_blks_read'),
            ('local_blks_dirtied', 'local_blks_dirtied'),
            ('local_blks_written', 'local_blks_written'),
            ('temp_blks_read', 'temp_blks_read'),
            ('temp_blks_written', 'temp_blks_written'),
            ('blk_read_time', 'blk_read_time_ms'),
            ('blk_write_time', 'blk_write_time_ms'),
            ('temp_blk_read_time', 'temp_blk_read_time_ms'),
            ('temp_blk_write_time', 'temp_blk_write_time_ms'),
            ('wal_records', 'wal_records'),
            ('wal_fpi', 'wal_fpi'),
            ('wal_bytes', 'wal_bytes'),
            ('jit_functions', 'jit_functions'),
            ('jit_generation_time', 'jit_generation_time_ms'),
            ('jit_inlining_count', 'jit_inlining_count'),
            ('jit_inlining_time', 'jit_inlining_time_ms'),
            ('jit_optimization_count', 'jit_optimization_count'),
            ('jit_optimization_time', 'jit_optimization_time_ms'),
            ('jit_emission_count', 'jit_emission_count'),
            ('jit_emission_time', 'jit_emission_time_ms')) o(name, col)
     WHERE o.name = top_statements.by;
    IF col IS NULL THEN
        RAISE EXCEPTION 'unknown ordering % for observa.top_statements',
                        coalesce(quote_literal(top_statements.by), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Order by one of: total_time, mean_time, p95, p99, calls, errors, rows, plans, total_plan_time, mean_plan_time, shared_blks_hit, shared_blks_read, shared_blks_dirtied, shared_blks_written, local_blks_hit, local_blks_read, local_blks_dirtied, local_blks_written, temp_blks_read, temp_blks_written, blk_read_time, blk_write_time, temp_blk_read_time, temp_blk_write_time, wal_records, wal_fpi, wal_bytes, jit_functions, jit_generation_time, jit_inlining_count, jit_inlining_time, jit_optimization_count, jit_optimization_time, jit_emission_count, jit_emission_time.';
    END IF;
    IF top_statements.lim IS NULL OR top_statements.lim < 1 THEN
        RAISE EXCEPTION 'lim must be a positive number of statements, not %',
                        coalesce(top_statements.lim::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass how many statements to list, for example 10.';
    END IF;
    -- col is one of the names above, never the caller's text
    RETURN QUERY EXECUTE format(
        'SELECT s.* FROM @extschema@.statement_stats s
          ORDER BY s.%I DESC NULLS LAST, s.queryid, s.userid, s.dbid, s.toplevel
          LIMIT $1', col)
        USING top_statements.lim;
END
$$;

COMMENT ON FUNCTION @extschema@.top_statements(text, int) IS
'the statements with the highest total_time, mean_time, p95, p99, calls, errors, rows, planning, or any I/O, WAL or JIT counter of statement_stats';

REVOKE ALL ON FUNCTION @extschema@.table_stats() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.table_stats() TO PUBLIC;
GRANT SELECT ON @extschema@.table_stats TO PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.statement_stats() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.statement_stats() TO PUBLIC;
GRANT SELECT ON @extschema@.statement_stats TO PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.top_statements(text, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.top_statements(text, int) TO PUBLIC;

-- ==== pg_stat_statements-compatible view (docs/pg_stat_statements.md) ====

-- pg_stat_statements 1.10's columns (PostgreSQL 15), filled from
-- statement_stats.  queryid and query follow pg_stat_statements' rule:
-- visible to pg_read_all_stats and in the role's own rows.
CREATE FUNCTION @extschema@.pg_stat_statements(
    showtext boolean,
    OUT userid oid,
    OUT dbid oid,
    OUT toplevel bool,
    OUT queryid bigint,
    OUT query text,
    OUT plans int8,
    OUT total_plan_time float8,
    OUT min_plan_time float8,
    OUT max_plan_time float8,
    OUT mean_plan_time float8,
    OUT stddev_plan_time float8,
    OUT calls int8,
    OUT total_exec_time float8,
    OUT min_exec_time float8,
    OUT max_exec_time float8,
    OUT mean_exec_time float8,
    OUT stddev_exec_time float8,
    OUT rows int8,
    OUT shared_blks_hit int8,
    OUT shared_blks_read int8,
    OUT shared_blks_dirtied int8,
    OUT shared_blks_written int8,
    OUT local_blks_hit int8,
    OUT local_blks_read int8,
    OUT local_blks_dirtied int8,
    OUT local_blks_written int8,
    OUT temp_blks_read int8,
    OUT temp_blks_written int8,
    OUT blk_read_time float8,
    OUT blk_write_time float8,
    OUT temp_blk_read_time float8,
    OUT temp_blk_write_time float8,
    OUT wal_records int8,
    OUT wal_fpi int8,
    OUT wal_bytes numeric,
    OUT jit_functions int8,
    OUT jit_generation_time float8,
    OUT jit_inlining_count int8,
    OUT jit_inlining_time float8,
    OUT jit_optimization_count int8,
    OUT jit_optimization_time float8,
    OUT jit_emission_count int8,
    OUT jit_emission_time float8)
RETURNS SETOF record
LANGUAGE sql STRICT VOLATILE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.userid,
           s.dbid,
           s.toplevel,
           CASE WHEN v.visible THEN s.queryid END,
           CASE WHEN NOT showtext THEN NULL WHEN v.visible THEN s.query ELSE '<insufficient privilege>' END,
           s.plans,
           s.total_plan_time_ms,
           coalesce(s.min_plan_time_ms, 0),
           coalesce(s.max_plan_time_ms, 0),
           coalesce(s.mean_plan_time_ms, 0),
           coalesce(s.stddev_plan_time_ms, 0),
           s.calls,
           s.total_time_ms,
           s.min_time_ms,
           s.max_time_ms,
           s.mean_time_ms,
           s.stddev_time_ms,
           s.rows,
           s.shared_blks_hit,
           s.shared_blks_read,
           s.shared_blks_dirtied,
           s.shared_blks_written,
           s.local_blks_hit,
           s.local_blks_read,
           s.local_blks_dirtied,
           s.local_blks_written,
           s.temp_blks_read,
           s.temp_blks_written,
           s.blk_read_time_ms,
           s.blk_write_time_ms,
           s.temp_blk_read_time_ms,
           s.temp_blk_write_time_ms,
           s.wal_records,
           s.wal_fpi,
           s.wal_bytes,
           s.jit_functions,
           s.jit_generation_time_ms,
           s.jit_inlining_count,
           s.jit_inlining_time_ms,
           s.jit_optimization_count,
           s.jit_optimization_time_ms,
           s.jit_emission_count,
           s.jit_emission_time_ms
      FROM @extschema@.statement_stats() s
     CROSS JOIN LATERAL (
         SELECT pg_has_role(current_user, 'pg_read_all_stats', 'USAGE')
                OR s.userid = (SELECT r.oid FROM pg_roles r WHERE r.rolname = current_user)
                AS visible) v
$$;

COMMENT ON FUNCTION @extschema@.pg_stat_statements(boolean) IS
'observa''s statement statistics in pg_stat_statements'' columns (PostgreSQL 15); showtext = false leaves query NULL';

CREATE VIEW @extschema@.pg_stat_statements AS
    SELECT * FROM @extschema@.pg_stat_statements(true);

COMMENT ON VIEW @extschema@.pg_stat_statements IS
'observa''s statement statistics in pg_stat_statements'' columns (PostgreSQL 15), for tools that read pg_stat_statements';

CREATE FUNCTION @extschema@.pg_stat_statements_info(
    OUT dealloc bigint,
    OUT stats_reset timestamptz)
RETURNS record
LANGUAGE sql STRICT VOLATILE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT max(i.value) FILTER (WHERE i.name = 'evictions')::bigint,
           max(i.value) FILTER (WHERE i.name = 'stats_reset')::timestamptz
      FROM @extschema@.info() i
     WHERE i.section = 'statement_stats'
$$;

COMMENT ON FUNCTION @extschema@.pg_stat_statements_info() IS
'pg_stat_statements_info''s columns: statement entries evicted (dealloc) and the last reset of statement statistics';

CREATE VIEW @extschema@.pg_stat_statements_info AS
    SELECT * FROM @extschema@.pg_stat_statements_info();

COMMENT ON VIEW @extschema@.pg_stat_statements_info IS
'pg_stat_statements_info''s columns: statement entries evicted (dealloc) and the last reset of statement statistics';

-- EXECUTE and SELECT for PUBLIC, as pg_stat_statements grants them, at
-- the end of the script (after the blanket REVOKE).

-- ==== end pg_stat_statements-compatible view ====

REVOKE ALL ON FUNCTION @extschema@.pg_stat_statements(boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.pg_stat_statements(boolean) TO PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.pg_stat_statements_info() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.pg_stat_statements_info() TO PUBLIC;
GRANT SELECT ON @extschema@.pg_stat_statements TO PUBLIC;
GRANT SELECT ON @extschema@.pg_stat_statements_info TO PUBLIC;

-- ==== end I/O counters ====

-- ==== regressions ====

-- observa.window_latency(recent, baseline): per statement and per
-- (operation, table), the recent period, the baseline period before it
-- and the recent resolution's windows (src/regressions.c,
-- docs/regressions.md).  observa.regressions() judges from it.
CREATE FUNCTION @extschema@.window_latency(
    recent interval,
    baseline interval DEFAULT NULL,
    OUT kind text,
    OUT queryid bigint,
    OUT userid oid,
    OUT toplevel boolean,
    OUT dbid oid,
    OUT relid oid,
    OUT relids oid[],
    OUT operation text,
    OUT recent_calls bigint,
    OUT recent_mean_ms float8,
    OUT recent_stddev_ms float8,
    OUT recent_p95_ms float8,
    OUT recent_p95_low_ms float8,
    OUT recent_since timestamptz,
    OUT baseline_calls bigint,
    OUT baseline_mean_ms float8,
    OUT baseline_stddev_ms float8,
    OUT baseline_p95_ms float8,
    OUT baseline_p95_high_ms float8,
    OUT baseline_since timestamptz,
    OUT window_starts timestamptz[],
    OUT window_calls bigint[],
    OUT window_mean_ms float8[],
    OUT window_p95_ms float8[],
    OUT window_length interval,
    OUT sketch_error float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'observa_window_latency_1_1'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.window_latency(interval, interval) IS
'per statement and per (operation, table): latency of the recent period and of the baseline period before it, with p95 at the noise ranks, and p95 and mean per window of the recent resolution';

-- observa.regressions(): statements and (operation, table) pairs whose
-- recent p95 or mean exceeds the baseline's by min_ratio beyond noise
-- (docs/regressions.md states the rule).  baseline is an interval's text
-- or 'snapshot:LABEL'; the (interval, interval) form below serves typed
-- intervals.
CREATE FUNCTION @extschema@.regressions(
    recent interval DEFAULT '15 min',
    baseline text DEFAULT '1 day',
    min_ratio float8 DEFAULT 1.5,
    min_calls bigint DEFAULT 50,
    OUT kind text,
    OUT queryid bigint,
    OUT datname text,
    OUT schemaname text,
    OUT relname text,
    OUT operation text,
    OUT query text,
    OUT regressed_on text,
    OUT recent_calls bigint,
    OUT baseline_calls bigint,
    OUT recent_p95_ms float8,
    OUT baseline_p95_ms float8,
    OUT recent_mean_ms float8,
    OUT baseline_mean_ms float8,
    OUT p95_ratio float8,
    OUT mean_ratio float8,
    OUT mean_z float8,
    OUT started_at timestamptz,
    OUT slow_windows integer,
    OUT window_length interval,
    OUT plan_changed boolean,
    OUT fingerprint_before text,
    OUT fingerprint_now text,
    OUT slow_query_at timestamptz,
    OUT slow_query_ms float8,
    OUT slow_query_plan text,
    OUT recent_since timestamptz,
    OUT baseline_since timestamptz,
    OUT baseline_until timestamptz)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    base_iv interval;
    snap text;
    snap_since timestamptz;
    snap_at timestamptz;
BEGIN
    PERFORM @extschema@.version();
    IF recent IS NULL OR recent <= interval '0' THEN
        RAISE EXCEPTION 'recent must be a positive interval'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass how far back the recent period goes, for example recent => interval ''15 minutes''.';
    END IF;
    IF min_ratio IS NULL OR NOT min_ratio > 1 OR min_ratio IN ('Infinity', 'NaN') THEN
        RAISE EXCEPTION 'min_ratio must be a finite number greater than 1'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example min_ratio => 1.5: recent 50 % slower than the baseline.';
    END IF;
    IF min_calls IS NULL OR min_calls < 1 THEN
        RAISE EXCEPTION 'min_calls must be at least 1'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example min_calls => 50 calls on each side.';
    END IF;
    IF baseline IS NULL THEN
        RAISE EXCEPTION 'baseline must not be null'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass an interval such as ''1 day'' or a snapshot as ''snapshot:LABEL''.';
    END IF;
    IF baseline LIKE 'snapshot:%' THEN
        snap := substr(baseline, 10);
        SELECT m.stats_since, m.taken_at INTO snap_since, snap_at
          FROM @extschema@.snapshot_meta m WHERE m.label = snap;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'snapshot "%" does not exist', snap
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'SELECT label FROM observa.snapshots lists the snapshots; observa.snapshot(''LABEL'') takes one.';
        END IF;
    ELSE
        BEGIN
            base_iv := baseline::interval;
        EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR interval_field_overflow THEN
            RAISE EXCEPTION 'baseline "%" is neither an interval nor snapshot:LABEL', baseline
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'For example baseline => ''1 day'' or baseline => ''snapshot:before''.';
        END;
        IF base_iv <= interval '0' THEN
            RAISE EXCEPTION 'baseline must be a positive interval'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Pass how far back the baseline goes, for example baseline => ''1 day''.';
        END IF;
        IF base_iv <= recent THEN
            RAISE EXCEPTION 'baseline must be longer than recent'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'The baseline is the period before the recent one, for example recent => ''15 minutes'', baseline => ''1 day''.';
        END IF;
    END IF;

    RETURN QUERY
    WITH w AS (
        SELECT * FROM @extschema@.window_latency(recent, base_iv)
    ), b AS (
        -- the baseline of each key: the windows before the recent period,
        -- or the snapshot's since-reset numbers
        SELECT w.*,
               coalesce(ss.calls, st.calls, CASE WHEN snap IS NULL THEN w.baseline_calls END) AS b_calls,
               coalesce(ss.mean_time_ms, st.mean_time_ms, CASE WHEN snap IS NULL THEN w.baseline_mean_ms END) AS b_mean,
               coalesce(ss.stddev_time_ms, st.stddev_time_ms, CASE WHEN snap IS NULL THEN w.baseline_stddev_ms END) AS b_sd,
               coalesce(ss.p95_ms, st.p95_ms, CASE WHEN snap IS NULL THEN w.baseline_p95_ms END) AS b_p95,
               coalesce(ss.p95_ms, st.p95_ms, CASE WHEN snap IS NULL THEN w.baseline_p95_high_ms END) AS b_p95_high,
               CASE WHEN snap IS NULL THEN w.baseline_since ELSE snap_since END AS b_since,
               CASE WHEN snap IS NULL THEN w.recent_since ELSE snap_at END AS b_until,
               d.datname::text AS d_name
          FROM w
          LEFT JOIN pg_database d ON d.oid = w.dbid
          LEFT JOIN @extschema@.snapshot_statement_stats ss
                 ON snap IS NOT NULL AND w.kind = 'statement' AND ss.label = snap
                AND ss.queryid = w.queryid AND ss.userid = w.userid AND ss.dbid = w.dbid
                AND ss.toplevel IS NOT DISTINCT FROM w.toplevel
          LEFT JOIN @extschema@.snapshot_table_stats st
                 ON snap IS NOT NULL AND w.kind = 'table' AND st.label = snap
                AND st.relid = w.relid AND st.operation = w.operation
                AND st.datname IS NOT DISTINCT FROM d.datname
    ), j AS (
        -- the rule: both sides have min_calls; p95: the recent p95's low
        -- rank over the baseline p95's high rank, each widened by the
        -- sketch's relative error; mean: Welch's z of recent - ratio * baseline
        SELECT b.*,
               (b.recent_p95_low_ms / (1 + b.sketch_error))
                   >= min_ratio * b.b_p95_high * (1 + b.sketch_error) AS p95_slow,
               CASE WHEN b.recent_stddev_ms ^ 2 / b.recent_calls
                         + min_ratio ^ 2 * coalesce(b.b_sd, 0) ^ 2 / b.b_calls > 0
                    THEN (b.recent_mean_ms - min_ratio * b.b_mean)
                         / sqrt(b.recent_stddev_ms ^ 2 / b.recent_calls
                                + min_ratio ^ 2 * coalesce(b.b_sd, 0) ^ 2 / b.b_calls)
                    WHEN b.recent_mean_ms > min_ratio * b.b_mean THEN 'Infinity'::float8
                    ELSE '-Infinity'::float8 END AS z
          FROM b
         WHERE b.recent_calls >= min_calls AND b.b_calls >= min_calls
    ), r AS (
        SELECT j.*
          FROM j
         WHERE coalesce(j.p95_slow, false) OR j.z >= 3
    ), run AS (
        -- the unbroken run of slow windows that ends with the last window
        -- that has calls: a window is slow when its mean or p95 reaches
        -- min_ratio times the baseline's
        SELECT r.kind AS k, r.queryid AS q, r.userid AS u, r.toplevel AS t, r.dbid AS db,
               r.relid AS rel, r.operation AS op,
               x.n, x.last_fast,
               (SELECT min(u2.s) FROM unnest(r.window_starts) WITH ORDINALITY u2(s, i)
                 WHERE u2.i > x.last_fast) AS started
          FROM r,
               LATERAL (SELECT cardinality(r.window_starts) AS n,
                               coalesce(max(u.i) FILTER (WHERE NOT (u.m >= min_ratio * r.b_mean
                                                                   OR u.p >= min_ratio * r.b_p95)), 0) AS last_fast
                          FROM unnest(r.window_mean_ms, r.window_p95_ms) WITH ORDINALITY u(m, p, i)) x
    ), fp AS (
        SELECT * FROM @extschema@.plan_fingerprints()
    ), plans AS (
        -- per regressed statement of this database: a fingerprint first
        -- seen after the baseline period and seen recently, and one the
        -- baseline period had
        SELECT w.queryid AS q, w.userid AS u, w.dbid AS db, w.toplevel AS t, w.relids AS rels,
               (SELECT f.fingerprint FROM fp f
                 WHERE f.queryid = w.queryid AND f.first_seen <= w.b_until AND f.last_seen >= w.b_since
                 ORDER BY f.last_seen DESC LIMIT 1) AS before_fp,
               (SELECT f.fingerprint FROM fp f
                 WHERE f.queryid = w.queryid AND f.first_seen > w.b_until AND f.last_seen >= w.recent_since
                 ORDER BY f.last_seen DESC LIMIT 1) AS now_fp
          FROM b w
         WHERE w.kind = 'statement'
           AND w.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           -- only the regressed statements and those on regressed tables
           AND (EXISTS (SELECT FROM r WHERE r.kind = 'statement' AND r.queryid = w.queryid)
                OR w.relids && (SELECT array_agg(r.relid) FROM r WHERE r.kind = 'table'))
    ), sq AS (
        SELECT * FROM @extschema@.slow_queries(2147483647)
    )
    SELECT r.kind, r.queryid, r.d_name,
           CASE WHEN r.kind = 'table' AND r.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                THEN (SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                       WHERE c.oid = r.relid) END,
           CASE WHEN r.kind = 'table' AND r.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                THEN (SELECT c.relname::text FROM pg_class c WHERE c.oid = r.relid) END,
           r.operation,
           CASE WHEN r.kind = 'statement'
                     AND r.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                THEN @extschema@.statement_text(r.queryid) END,
           concat_ws(' and ', CASE WHEN r.p95_slow THEN 'p95' END, CASE WHEN r.z >= 3 THEN 'mean' END),
           r.recent_calls, r.b_calls,
           r.recent_p95_ms, r.b_p95, r.recent_mean_ms, r.b_mean,
           r.recent_p95_ms / nullif(r.b_p95, 0), r.recent_mean_ms / nullif(r.b_mean, 0),
           r.z,
           CASE WHEN run.last_fast < run.n THEN run.started END,
           (run.n - run.last_fast)::integer,
           r.window_length,
           CASE WHEN pl.any_new THEN true WHEN pl.any_before THEN false END,
           pl.before_fp, pl.now_fp,
           s.ts, s.duration_ms, s.plan,
           r.recent_since, r.b_since, r.b_until
      FROM r
      JOIN run ON run.k = r.kind AND run.op = r.operation AND run.db = r.dbid
              AND run.q IS NOT DISTINCT FROM r.queryid AND run.u IS NOT DISTINCT FROM r.userid
              AND run.t IS NOT DISTINCT FROM r.toplevel AND run.rel IS NOT DISTINCT FROM r.relid
      LEFT JOIN LATERAL (
            -- a statement's own fingerprints; a table's: those of the
            -- statements that touched it
            SELECT bool_or(p.before_fp IS NOT NULL AND p.now_fp IS NOT NULL) AS any_new,
                   bool_or(p.before_fp IS NOT NULL) AS any_before,
                   (array_agg(p.before_fp ORDER BY (p.now_fp IS NULL), p.q) FILTER (WHERE p.before_fp IS NOT NULL))[1] AS before_fp,
                   (array_agg(p.now_fp ORDER BY p.q) FILTER (WHERE p.now_fp IS NOT NULL AND p.before_fp IS NOT NULL))[1] AS now_fp
              FROM plans p
             WHERE CASE WHEN r.kind = 'statement'
                        THEN p.q = r.queryid AND p.u = r.userid AND p.db = r.dbid AND p.t = r.toplevel
                        ELSE p.db = r.dbid AND r.relid = ANY (p.rels) END) pl ON true
      LEFT JOIN LATERAL (
            SELECT s1.ts, s1.duration_ms, s1.plan
              FROM sq s1
             WHERE s1.dbid = r.dbid
               AND CASE WHEN r.kind = 'statement'
                        THEN s1.queryid = r.queryid AND s1.userid = r.userid
                        ELSE r.relid = ANY (s1.relids) AND s1.operation = r.operation END
             ORDER BY s1.ts DESC LIMIT 1) s ON true
     ORDER BY greatest(r.recent_p95_ms / nullif(r.b_p95, 0), r.recent_mean_ms / nullif(r.b_mean, 0)) DESC NULLS LAST,
              r.kind, r.queryid, r.relid, r.operation;
END
$$;

COMMENT ON FUNCTION @extschema@.regressions(interval, text, float8, bigint) IS
'statements and (operation, table) pairs whose recent p95 or mean exceeds the baseline''s (an interval before the recent period, or snapshot:LABEL) by min_ratio beyond noise';

CREATE FUNCTION @extschema@.regressions(
    recent interval,
    baseline interval,
    min_ratio float8 DEFAULT 1.5,
    min_calls bigint DEFAULT 50,
    OUT kind text,
    OUT queryid bigint,
    OUT datname text,
    OUT schemaname text,
    OUT relname text,
    OUT operation text,
    OUT query text,
    OUT regressed_on text,
    OUT recent_calls bigint,
    OUT baseline_calls bigint,
    OUT recent_p95_ms float8,
    OUT baseline_p95_ms float8,
    OUT recent_mean_ms float8,
    OUT baseline_mean_ms float8,
    OUT p95_ratio float8,
    OUT mean_ratio float8,
    OUT mean_z float8,
    OUT started_at timestamptz,
    OUT slow_windows integer,
    OUT window_length interval,
    OUT plan_changed boolean,
    OUT fingerprint_before text,
    OUT fingerprint_now text,
    OUT slow_query_at timestamptz,
    OUT slow_query_ms float8,
    OUT slow_query_plan text,
    OUT recent_since timestamptz,
    OUT baseline_since timestamptz,
    OUT baseline_until timestamptz)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    IF baseline IS NULL THEN
        RAISE EXCEPTION 'baseline must not be null'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass an interval such as interval ''1 day'' or a snapshot as ''snapshot:LABEL''.';
    END IF;
    RETURN QUERY SELECT * FROM @extschema@.regressions(recent, baseline::text, min_ratio, min_calls);
END
$$;

COMMENT ON FUNCTION @extschema@.regressions(interval, interval, float8, bigint) IS
'observa.regressions() with the baseline as a typed interval';

-- observa.metrics_regressions(): one Prometheus gauge value per kind
-- (statement, table): regressions over the default periods.
CREATE FUNCTION @extschema@.metrics_regressions(
    OUT kind text,
    OUT regressions bigint)
RETURNS SETOF record
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT k.kind, count(r.kind)
      FROM (VALUES ('statement'), ('table')) k(kind)
      LEFT JOIN @extschema@.regressions() r ON r.kind = k.kind
     GROUP BY k.kind ORDER BY k.kind
$$;

COMMENT ON FUNCTION @extschema@.metrics_regressions() IS
'number of regressions per kind over the default periods (Prometheus gauge observa_regressions)';

-- they reveal which statements other roles run: readers of all statistics
REVOKE ALL ON FUNCTION @extschema@.window_latency(interval, interval),
                       @extschema@.regressions(interval, text, float8, bigint),
                       @extschema@.regressions(interval, interval, float8, bigint),
                       @extschema@.metrics_regressions() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.window_latency(interval, interval),
                          @extschema@.regressions(interval, text, float8, bigint),
                          @extschema@.regressions(interval, interval, float8, bigint),
                          @extschema@.metrics_regressions() TO pg_read_all_stats;

-- ==== end regressions ====

-- ==== reports with regressions ====

-- metrics() shows the regressions (docs/regressions.md);
-- performance_report(), report() and prometheus() show them too, and are
-- defined once, in the next section, with the I/O leaders as well.

CREATE OR REPLACE FUNCTION @extschema@.metrics(
    bounds_seconds double precision[]
        DEFAULT '{0.001,0.005,0.01,0.025,0.05,0.1,0.25,0.5,1,2.5,5,10}')
RETURNS TABLE (
    metric text,
    type text,
    datname text,
    operation text,
    schemaname text,
    "table" text,
    le text,
    value double precision)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT m.metric, m.type, h.datname, h.operation, h.schemaname, h."table", m.le, m.value
      FROM @extschema@.metrics_histograms(bounds_seconds) h
      CROSS JOIN LATERAL (
          SELECT 'observa_query_duration_seconds_bucket'::text AS metric, 'histogram'::text AS type,
                 u.le::text AS le, u.c::float8 AS value, u.o AS ord
            FROM unnest(h.duration_seconds, h.duration_seconds_bucket) WITH ORDINALITY AS u(le, c, o)
          UNION ALL
          SELECT 'observa_query_duration_seconds_bucket', 'histogram', '+Inf',
                 h.duration_seconds_count::float8, 1000000
          UNION ALL
          SELECT 'observa_query_duration_seconds_sum', 'histogram', NULL, h.duration_seconds_sum, 1000001
          UNION ALL
          SELECT 'observa_query_duration_seconds_count', 'histogram', NULL,
                 h.duration_seconds_count::float8, 1000002
          UNION ALL
          SELECT 'observa_query_errors_total', 'counter', NULL, h.errors_total::float8, 1000003
      ) m
     ORDER BY m.ord >= 1000003, h.datname COLLATE "C", h.operation COLLATE "C",
              h.schemaname COLLATE "C", h."table" COLLATE "C", m.ord;

    RETURN QUERY
    SELECT c.metric, 'counter'::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, c.value
      FROM @extschema@.metrics_slow_queries() q
     CROSS JOIN LATERAL (VALUES ('observa_slow_queries_total', q.total::float8),
                                ('observa_slow_queries_dropped_total', q.dropped_total::float8)) c(metric, value);

    -- regressions over the default periods, per kind (in "operation")
    BEGIN
        RETURN QUERY
        SELECT 'observa_regressions'::text, 'gauge'::text, current_database()::text, g.kind,
               NULL::text, NULL::text, NULL::text, g.regressions::float8
          FROM @extschema@.metrics_regressions() g;
    EXCEPTION WHEN insufficient_privilege THEN
        NULL;
    END;
END
$$;

-- ==== end reports with regressions ====

-- ==== reports: I/O leaders, per-statement Prometheus counters (issue 17) ====

-- prometheus(), performance_report() and report() as 1.1 has them, with
-- both the regressions and the I/O leaders.

-- The statements that read the most shared blocks, wrote the most temp
-- blocks and wrote the most WAL: for performance_report()'s "io_leaders"
-- (docs/reports.md), lim statements each, those with a zero count left out.
CREATE FUNCTION @extschema@.io_leaders(lim integer)
RETURNS jsonb
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_object_agg(b.by, b.leaders)
      FROM (VALUES ('shared_blks_read'), ('temp_blks_written'), ('wal_bytes')) AS k(by)
     CROSS JOIN LATERAL (
         SELECT k.by, coalesce(jsonb_agg(jsonb_build_object(
                    'queryid', s.queryid, 'datname', s.datname, 'username', s.username,
                    'calls', s.calls, 'total_ms', round(s.total_time_ms::numeric, 3),
                    'shared_blks_hit', s.shared_blks_hit, 'shared_blks_read', s.shared_blks_read,
                    'shared_blks_dirtied', s.shared_blks_dirtied,
                    'shared_blks_written', s.shared_blks_written,
                    'temp_blks_read', s.temp_blks_read, 'temp_blks_written', s.temp_blks_written,
                    'blk_read_time_ms', round(s.blk_read_time_ms::numeric, 3),
                    'blk_write_time_ms', round(s.blk_write_time_ms::numeric, 3),
                    'wal_records', s.wal_records, 'wal_fpi', s.wal_fpi, 'wal_bytes', s.wal_bytes,
                    'query', s.query) ORDER BY s.ordinality), '[]') AS leaders
           FROM @extschema@.top_statements(k.by, greatest(lim, 1)) WITH ORDINALITY s
          WHERE CASE k.by WHEN 'shared_blks_read' THEN s.shared_blks_read > 0
                          WHEN 'temp_blks_written' THEN s.temp_blks_written > 0
                          ELSE s.wal_bytes > 0 END) b
$$;

COMMENT ON FUNCTION @extschema@.io_leaders(integer) IS
'the statements with the most shared blocks read, temp blocks written and WAL bytes (performance_report()''s io_leaders)';

-- observa.metrics_statements(lim): the per-statement totals of
-- statement_stats as Prometheus counters, for the lim statements with the
-- highest total time (docs/prometheus.md); one row per statement.
CREATE FUNCTION @extschema@.metrics_statements(lim integer DEFAULT 100)
RETURNS TABLE (
    datname text,
    username text,
    queryid text,
    toplevel text,
    calls_total double precision,
    exec_seconds_total double precision,
    rows_total double precision,
    plans_total double precision,
    plan_seconds_total double precision,
    shared_blks_hit_total double precision,
    shared_blks_read_total double precision,
    shared_blks_dirtied_total double precision,
    shared_blks_written_total double precision,
    temp_blks_read_total double precision,
    temp_blks_written_total double precision,
    blk_read_seconds_total double precision,
    blk_write_seconds_total double precision,
    wal_records_total double precision,
    wal_fpi_total double precision,
    wal_bytes_total double precision)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.datname::text, s.username::text, s.queryid::text, s.toplevel::text,
           (s.calls)::float8,
           (s.total_time_ms / 1000)::float8,
           (s.rows)::float8,
           (s.plans)::float8,
           (s.total_plan_time_ms / 1000)::float8,
           (s.shared_blks_hit)::float8,
           (s.shared_blks_read)::float8,
           (s.shared_blks_dirtied)::float8,
           (s.shared_blks_written)::float8,
           (s.temp_blks_read)::float8,
           (s.temp_blks_written)::float8,
           (s.blk_read_time_ms / 1000)::float8,
           (s.blk_write_time_ms / 1000)::float8,
           (s.wal_records)::float8,
           (s.wal_fpi)::float8,
           (s.wal_bytes)::float8
      FROM @extschema@.top_statements('total_time', lim) s
$$;

COMMENT ON FUNCTION @extschema@.metrics_statements(integer) IS
'per-statement totals of statement_stats (calls, time, buffers, temp, I/O time, WAL) as Prometheus counters, for the lim statements with the highest total time';

-- The same counters in Prometheus' text format, for observa.prometheus().
CREATE FUNCTION @extschema@.prometheus_statements(lim integer)
RETURNS text
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH m AS (
        SELECT s.datname, s.username, s.queryid, s.toplevel, c.col, c.value, s.ordinality AS ord
          FROM @extschema@.metrics_statements(lim) WITH ORDINALITY AS s
         CROSS JOIN LATERAL (
             SELECT j.key AS col, j.value::text::float8 AS value, j.n
               FROM jsonb_each(to_jsonb(s) - 'datname' - 'username' - 'queryid' - 'toplevel' - 'ordinality')
                    WITH ORDINALITY AS j(key, value, n)
              WHERE j.value <> 'null'::jsonb) c
    ), f AS (
        SELECT m.*, 'observa_statement_' || m.col AS metric,
               row_number() OVER (PARTITION BY m.col ORDER BY m.ord) = 1 AS first_of_family
          FROM m
    )
    SELECT coalesce(string_agg(
               CASE WHEN f.first_of_family
                    THEN format(E'# HELP %s %s\n# TYPE %s counter\n', f.metric,
                                CASE f.col
                                    WHEN 'calls_total' THEN 'Calls of the statement (pg_stat_statements calls).'
                                    WHEN 'exec_seconds_total' THEN 'Execution time of the statement, in seconds.'
                                    WHEN 'rows_total' THEN 'Rows the statement returned or changed.'
                                    WHEN 'plans_total' THEN 'Timed plannings of the statement (observa.track_planning).'
                                    WHEN 'plan_seconds_total' THEN 'Planning time of the statement, in seconds (observa.track_planning).'
                                    WHEN 'shared_blks_hit_total' THEN 'Shared buffer hits of the statement.'
                                    WHEN 'shared_blks_read_total' THEN 'Shared blocks the statement read (not found in shared buffers).'
                                    WHEN 'shared_blks_dirtied_total' THEN 'Shared blocks the statement dirtied.'
                                    WHEN 'shared_blks_written_total' THEN 'Shared blocks the statement wrote.'
                                    WHEN 'temp_blks_read_total' THEN 'Temp blocks the statement read.'
                                    WHEN 'temp_blks_written_total' THEN 'Temp blocks the statement wrote.'
                                    WHEN 'blk_read_seconds_total' THEN 'Time the statement spent reading data blocks, in seconds (track_io_timing).'
                                    WHEN 'blk_write_seconds_total' THEN 'Time the statement spent writing data blocks, in seconds (track_io_timing).'
                                    WHEN 'wal_records_total' THEN 'WAL records the statement generated.'
                                    WHEN 'wal_fpi_total' THEN 'WAL full page images the statement generated.'
                                    WHEN 'wal_bytes_total' THEN 'WAL bytes the statement generated.'
                                END, f.metric)
                    ELSE '' END
               || format('%s{datname="%s",user="%s",queryid="%s",toplevel="%s"} %s', f.metric,
                         @extschema@.prom_label(f.datname), @extschema@.prom_label(f.username),
                         @extschema@.prom_label(f.queryid), @extschema@.prom_label(f.toplevel),
                         f.value::text),
               E'\n' ORDER BY f.col, f.ord) || E'\n', '')
      FROM f
$$;

COMMENT ON FUNCTION @extschema@.prometheus_statements(integer) IS
'observa.metrics_statements(lim) in Prometheus text exposition format';

-- observa.prometheus(bounds): observa.metrics in Prometheus' text
-- exposition format (HELP and TYPE lines included), for a textfile
-- collector or any scraper that reads a file or a query result.
CREATE OR REPLACE FUNCTION @extschema@.prometheus(
    bounds_seconds double precision[]
        DEFAULT '{0.001,0.005,0.01,0.025,0.05,0.1,0.25,0.5,1,2.5,5,10}')
RETURNS text
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    -- metrics() returns each family's samples together; HELP and TYPE go
    -- before the first sample of a family
    WITH m AS (
        SELECT m.*, CASE WHEN m.type = 'histogram'
                         THEN regexp_replace(m.metric, '_(bucket|sum|count)$', '')
                         ELSE m.metric END AS family
          FROM @extschema@.metrics(bounds_seconds) WITH ORDINALITY
               AS m(metric, type, datname, operation, schemaname, "table", le, value, n)
    ), f AS (
        SELECT m.*, m.n = min(m.n) OVER (PARTITION BY m.family) AS first_of_family FROM m
    )
    SELECT coalesce(string_agg(
               CASE WHEN m.first_of_family
                    THEN format(E'# HELP %s %s\n# TYPE %s %s\n', m.family,
                                CASE m.family
                                    WHEN 'observa_query_duration_seconds'
                                        THEN 'Statement duration per database, operation and table, in seconds.'
                                    WHEN 'observa_query_errors_total'
                                        THEN 'Statements that ended with an error, per database, operation and table.'
                                    WHEN 'observa_slow_queries_total'
                                        THEN 'Slow statements captured by the slow-query ring since its last reset.'
                                    WHEN 'observa_slow_queries_dropped_total'
                                        THEN 'Captured slow statements no longer in the ring (overwritten by newer ones).'
                                    WHEN 'observa_regressions'
                                        THEN 'Statements and (operation, table) pairs slower in the last 15 minutes than in the day before (observa.regressions()).'
                                    ELSE m.family END,
                                m.family, m.type)
                    ELSE '' END
               || m.metric
               || CASE WHEN m.operation IS NULL THEN ''
                       WHEN m.family = 'observa_regressions'
                       THEN format('{datname="%s",kind="%s"}', @extschema@.prom_label(m.datname),
                                   @extschema@.prom_label(m.operation))
                       ELSE format('{datname="%s",operation="%s",schema="%s",table="%s"%s}',
                                   @extschema@.prom_label(m.datname), @extschema@.prom_label(m.operation),
                                   @extschema@.prom_label(m.schemaname), @extschema@.prom_label(m."table"),
                                   CASE WHEN m.le IS NOT NULL THEN format(',le="%s"', m.le) ELSE '' END) END
               || ' ' || m.value::text,
               E'\n' ORDER BY m.n) || E'\n', '')
           || CASE WHEN to_regclass('@extschema@.statement_stats') IS NOT NULL
                   THEN @extschema@.prometheus_statements(100) ELSE '' END
      FROM f AS m
$$;

COMMENT ON FUNCTION @extschema@.prometheus(double precision[]) IS
'observa.metrics and the per-statement counters of the 100 statements with the highest total time, in Prometheus text exposition format';

-- observa.performance_report(): one jsonb document, shape documented in
-- docs/reports.md and pinned by test/pgtap/50_report.sql.
CREATE OR REPLACE FUNCTION @extschema@.performance_report()
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ver text := @extschema@.version();
    has_tables boolean := to_regclass('@extschema@.table_stats') IS NOT NULL;
    has_statements boolean := to_regclass('@extschema@.statement_stats') IS NOT NULL;
    has_slow boolean := to_regclass('@extschema@.slow_queries') IS NOT NULL;
    has_advisor boolean := to_regprocedure('@extschema@.recommend_indexes()') IS NOT NULL;
    has_tenants boolean := to_regclass('@extschema@.tenant_stats') IS NOT NULL;
    now_ts timestamptz := clock_timestamp();
    since timestamptz;
    tables jsonb;
    recommendations jsonb;
    regressions jsonb;
    notes jsonb := '[]';
    table_row text := $q$jsonb_build_object(
        'datname', t.datname, 'schema', t.schemaname, 'table', t.relname,
        'relid', t.relid, 'operation', t.operation, 'calls', t.calls, 'errors', t.errors,
        'error_rate', CASE WHEN t.calls > 0 THEN round(t.errors::numeric / t.calls, 4) END,
        'rows', t.rows, 'total_ms', round(t.total_time_ms::numeric, 3),
        'avg_ms', round(t.mean_time_ms::numeric, 3), 'min_ms', round(t.min_time_ms::numeric, 3),
        'max_ms', round(t.max_time_ms::numeric, 3), 'p50_ms', round(t.p50_ms::numeric, 3),
        'p95_ms', round(t.p95_ms::numeric, 3), 'p99_ms', round(t.p99_ms::numeric, 3))$q$;
BEGIN
    IF has_tables THEN
        EXECUTE 'SELECT min(stats_since) FROM @extschema@.table_stats' INTO since;
    END IF;
    IF has_statements THEN
        since := least(since, (SELECT min(s.stats_since) FROM @extschema@.current_statement_stats() s));
    END IF;

    -- the advisor may fail (for example without HypoPG): report the rest
    IF has_advisor THEN
        BEGIN
            SELECT coalesce(jsonb_agg(to_jsonb(r)), '[]') INTO recommendations
              FROM @extschema@.recommend_indexes() r;
        EXCEPTION WHEN OTHERS THEN
            notes := notes || to_jsonb(format('recommendations unavailable: %s', SQLERRM));
        END;
    END IF;
    -- regressions over the default periods (docs/regressions.md)
    BEGIN
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'kind', r.kind, 'queryid', r.queryid, 'datname', r.datname, 'schema', r.schemaname,
                   'table', r.relname, 'operation', r.operation, 'query', r.query,
                   'regressed_on', r.regressed_on,
                   'recent_calls', r.recent_calls, 'baseline_calls', r.baseline_calls,
                   'recent_p95_ms', round(r.recent_p95_ms::numeric, 3),
                   'baseline_p95_ms', round(r.baseline_p95_ms::numeric, 3),
                   'recent_mean_ms', round(r.recent_mean_ms::numeric, 3),
                   'baseline_mean_ms', round(r.baseline_mean_ms::numeric, 3),
                   'started_at', r.started_at, 'plan_changed', r.plan_changed,
                   'fingerprint_before', r.fingerprint_before, 'fingerprint_now', r.fingerprint_now,
                   'slow_query_at', r.slow_query_at, 'slow_query_plan', r.slow_query_plan)
                   ORDER BY r.ordinality), '[]')
          INTO regressions
          FROM @extschema@.regressions() WITH ORDINALITY r;
    EXCEPTION WHEN OTHERS THEN
        notes := notes || to_jsonb(format('regressions unavailable: %s', SQLERRM));
    END;

    RETURN jsonb_build_object(
        'observa_version', ver,
        'generated_at', now_ts,
        'time_range', jsonb_build_object(
            'from', since, 'to', now_ts,
            'seconds', round(extract(epoch FROM now_ts - since)::numeric, 3)),
        'parts', jsonb_build_object(
            'table_stats', has_tables, 'statement_stats', has_statements,
            'slow_queries', has_slow, 'recommendations', has_advisor,
            'tenants', has_tenants),
        'table_stats', @extschema@.report_part(has_tables, format(
            'SELECT coalesce(jsonb_agg(%s ORDER BY t.total_time_ms DESC, t.datname, t.schemaname,
                                         t.relname, t.operation), ''[]'')
               FROM (SELECT * FROM @extschema@.table_stats
                      ORDER BY total_time_ms DESC NULLS LAST LIMIT 100) t', table_row)),
        'slowest_tables', @extschema@.report_part(has_tables, format(
            'SELECT coalesce(jsonb_agg(%s ORDER BY t.p95_ms DESC, t.datname, t.schemaname,
                                         t.relname, t.operation), ''[]'')
               FROM (SELECT * FROM @extschema@.table_stats
                      ORDER BY p95_ms DESC NULLS LAST LIMIT 10) t', table_row)),
        'top_statements', @extschema@.report_part(has_statements,
            $q$SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'queryid', s.queryid, 'datname', s.datname, 'username', s.username,
                    'operation', s.operation, 'calls', s.calls, 'errors', s.errors,
                    'rows', s.rows, 'total_ms', round(s.total_time_ms::numeric, 3),
                    'avg_ms', round(s.mean_time_ms::numeric, 3),
                    'p50_ms', round(s.p50_ms::numeric, 3), 'p95_ms', round(s.p95_ms::numeric, 3),
                    'p99_ms', round(s.p99_ms::numeric, 3), 'relations', to_jsonb(s.relations),
                    'query', s.query) ORDER BY s.total_time_ms DESC, s.queryid), '[]')
               FROM (SELECT * FROM @extschema@.statement_stats
                      ORDER BY total_time_ms DESC NULLS LAST, queryid LIMIT 10) s$q$),
        'io_leaders', @extschema@.report_part(has_statements
                                              AND to_regprocedure('@extschema@.io_leaders(integer)') IS NOT NULL,
            'SELECT @extschema@.io_leaders(5)'),
        'slow_queries', @extschema@.report_part(has_slow, format(
            $q$SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'ts', q.ts, 'duration_ms', round(q.duration_ms::numeric, 3),
                    'datname', q.datname, 'username', q.username,
                    'application_name', q.application_name, 'client_addr', q.client_addr,
                    'pid', q.pid, 'queryid', q.queryid, 'operation', q.operation,
                    'relations', to_jsonb(q.relations), 'rows', q.rows, 'query', q.query,
                    'params', q.params, 'error', q.error) ORDER BY q.ts DESC), '[]')
               FROM (SELECT * FROM %s) q$q$,
            -- the ring's own function copies only the newest entries
            CASE WHEN to_regprocedure('@extschema@.slow_queries(integer)') IS NOT NULL
                 THEN '@extschema@.slow_queries(10)'
                 ELSE '@extschema@.slow_queries ORDER BY ts DESC LIMIT 10' END)),
        'recommendations', recommendations,
        'regressions', regressions,
        'tenants', @extschema@.report_part(has_tenants,
            $q$SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.total_time_ms DESC), '[]')
                 FROM (SELECT * FROM @extschema@.tenant_stats
                        ORDER BY total_time_ms DESC NULLS LAST LIMIT 10) x$q$),
        'info', (SELECT jsonb_object_agg(i.section, i.kv)
                   FROM (SELECT section, jsonb_object_agg(name, value) AS kv
                           FROM @extschema@.info() GROUP BY section) i),
        'notes', notes);
END
$$;

COMMENT ON FUNCTION @extschema@.performance_report() IS
'one jsonb document: time range, per operation and table statistics, slowest tables, top statements, I/O leaders, last slow queries, index recommendations, regressions';

-- observa.report(): performance_report() as readable text, one line per
-- row (the demo prints it).
CREATE OR REPLACE FUNCTION @extschema@.report()
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rep jsonb := @extschema@.performance_report();
    e jsonb;
    n integer;
    hdr text := format('  %-9s %-28s %9s %6s %9s %9s %9s %9s %9s',
                       'operation', 'table', 'calls', 'err%', 'avg ms', 'p50 ms',
                       'p95 ms', 'p99 ms', 'max ms');
    ms text := 'FM999999990.000';
BEGIN
    RETURN NEXT format('observa %s report, %s', rep ->> 'observa_version',
                       to_char((rep ->> 'generated_at')::timestamptz, 'YYYY-MM-DD HH24:MI:SS TZ'));
    RETURN NEXT format('statistics since %s (%s s)',
                       coalesce(to_char((rep #>> '{time_range,from}')::timestamptz,
                                        'YYYY-MM-DD HH24:MI:SS TZ'), '-'),
                       coalesce(round((rep #>> '{time_range,seconds}')::numeric)::text, '-'));

    FOREACH n IN ARRAY ARRAY[1, 2] LOOP
        RETURN NEXT '';
        IF n = 1 THEN
            RETURN NEXT 'Per operation and table, by total time';
            e := nullif(rep -> 'table_stats', 'null');
        ELSE
            RETURN NEXT 'Slowest operations on tables, by p95';
            e := nullif(rep -> 'slowest_tables', 'null');
        END IF;
        IF e IS NULL THEN
            RETURN NEXT '  (table statistics are not available in this build)';
            CONTINUE;
        ELSIF jsonb_array_length(e) = 0 THEN
            RETURN NEXT '  (no statements recorded yet)';
            CONTINUE;
        END IF;
        RETURN NEXT hdr;
        RETURN QUERY
            SELECT format('  %-9s %-28s %9s %6s %9s %9s %9s %9s %9s',
                          x ->> 'operation',
                          @extschema@.report_line(CASE WHEN x ->> 'table' IS NULL
                                                       THEN format('%s oid %s', x ->> 'datname', x ->> 'relid')
                                                       ELSE concat_ws('.', x ->> 'schema', x ->> 'table') END, 28),
                          x ->> 'calls',
                          to_char(coalesce((x ->> 'error_rate')::numeric, 0) * 100, 'FM990.0'),
                          to_char((x ->> 'avg_ms')::numeric, ms), to_char((x ->> 'p50_ms')::numeric, ms),
                          to_char((x ->> 'p95_ms')::numeric, ms), to_char((x ->> 'p99_ms')::numeric, ms),
                          to_char((x ->> 'max_ms')::numeric, ms))
              FROM jsonb_array_elements(e) WITH ORDINALITY AS a(x, o)
             WHERE n = 2 OR o <= 15
             ORDER BY o;
    END LOOP;

    RETURN NEXT '';
    RETURN NEXT 'Top statements, by total time';
    e := nullif(rep -> 'top_statements', 'null');
    IF e IS NULL THEN
        RETURN NEXT '  (statement statistics are not available in this build)';
    ELSIF jsonb_array_length(e) = 0 THEN
        RETURN NEXT '  (no statements recorded yet)';
    ELSE
        RETURN NEXT format('  %9s %11s %9s %9s  %s', 'calls', 'total ms', 'avg ms', 'p95 ms', 'query');
        RETURN QUERY
            SELECT format('  %9s %11s %9s %9s  %s', x ->> 'calls',
                          to_char((x ->> 'total_ms')::numeric, 'FM99999999990.0'),
                          to_char((x ->> 'avg_ms')::numeric, ms), to_char((x ->> 'p95_ms')::numeric, ms),
                          @extschema@.report_line(coalesce(nullif(x ->> 'query', ''),
                                                           format('(queryid %s, no text)', x ->> 'queryid')), 70))
              FROM jsonb_array_elements(e) WITH ORDINALITY AS a(x, o) ORDER BY o;
    END IF;

    RETURN NEXT '';
    RETURN NEXT 'I/O leaders: most shared blocks read, temp blocks written, WAL bytes';
    e := nullif(rep -> 'io_leaders', 'null');
    IF e IS NULL THEN
        RETURN NEXT '  (statement statistics are not available in this build)';
    ELSE
        RETURN NEXT format('  %-18s %9s %12s %12s %14s  %s', 'by', 'calls', 'shared read',
                           'temp written', 'WAL bytes', 'query');
        RETURN QUERY
            SELECT format('  %-18s %9s %12s %12s %14s  %s', k.by, x ->> 'calls',
                          x ->> 'shared_blks_read', x ->> 'temp_blks_written', x ->> 'wal_bytes',
                          @extschema@.report_line(coalesce(nullif(x ->> 'query', ''),
                                                           format('(queryid %s, no text)', x ->> 'queryid')), 60))
              FROM unnest(ARRAY['shared_blks_read', 'temp_blks_written', 'wal_bytes']) WITH ORDINALITY AS k(by, ko)
             CROSS JOIN LATERAL jsonb_array_elements(e -> k.by) WITH ORDINALITY AS a(x, o)
             ORDER BY k.ko, a.o;
        IF NOT EXISTS (SELECT 1 FROM jsonb_each(e) j WHERE jsonb_array_length(j.value) > 0) THEN
            RETURN NEXT '  (no statement read, spilled or wrote WAL yet)';
        END IF;
    END IF;

    RETURN NEXT '';
    RETURN NEXT 'Last slow queries';
    e := nullif(rep -> 'slow_queries', 'null');
    IF e IS NULL THEN
        RETURN NEXT '  (the slow-query ring is not available in this build)';
    ELSIF jsonb_array_length(e) = 0 THEN
        RETURN NEXT '  (none captured)';
    ELSE
        RETURN QUERY
            SELECT format('  %s %10s ms  %-10s %s',
                          to_char((x ->> 'ts')::timestamptz, 'HH24:MI:SS.MS'),
                          to_char((x ->> 'duration_ms')::numeric, 'FM999999990.0'),
                          @extschema@.report_line(x ->> 'username', 10),
                          @extschema@.report_line(concat_ws(' ', x ->> 'query',
                              CASE WHEN x ->> 'error' IS NOT NULL THEN '[error ' || (x ->> 'error') || ']' END), 80))
              FROM jsonb_array_elements(e) WITH ORDINALITY AS a(x, o) ORDER BY o;
    END IF;

    RETURN NEXT '';
    RETURN NEXT 'Regressions (last 15 minutes against the day before)';
    e := nullif(rep -> 'regressions', 'null');
    IF e IS NULL THEN
        RETURN QUERY SELECT '  ' || (x #>> '{}') FROM jsonb_array_elements(rep -> 'notes') x
                      WHERE x #>> '{}' LIKE 'regressions%';
    ELSIF jsonb_array_length(e) = 0 THEN
        RETURN NEXT '  (none)';
    ELSE
        RETURN NEXT format('  %-9s %-12s %9s %9s %9s %9s  %-8s %-5s %s', 'kind', 'slower on', 'p95 was', 'p95 now',
                           'mean was', 'mean now', 'since', 'plan', 'statement or table');
        RETURN QUERY
            SELECT format('  %-9s %-12s %9s %9s %9s %9s  %-8s %-5s %s', x ->> 'kind', x ->> 'regressed_on',
                          to_char((x ->> 'baseline_p95_ms')::numeric, ms), to_char((x ->> 'recent_p95_ms')::numeric, ms),
                          to_char((x ->> 'baseline_mean_ms')::numeric, ms), to_char((x ->> 'recent_mean_ms')::numeric, ms),
                          coalesce(to_char((x ->> 'started_at')::timestamptz, 'HH24:MI:SS'), '-'),
                          CASE (x ->> 'plan_changed')::boolean WHEN true THEN 'new' WHEN false THEN 'same' ELSE '?' END,
                          @extschema@.report_line(CASE WHEN x ->> 'kind' = 'statement'
                                                       THEN coalesce(x ->> 'query', 'queryid ' || (x ->> 'queryid'))
                                                       ELSE concat_ws(' ', x ->> 'operation',
                                                                      concat_ws('.', x ->> 'schema', x ->> 'table')) END, 60))
              FROM jsonb_array_elements(e) WITH ORDINALITY AS a(x, o) ORDER BY o;
    END IF;

    RETURN NEXT '';
    RETURN NEXT 'Index recommendations';
    e := nullif(rep -> 'recommendations', 'null');
    IF NOT (rep #>> '{parts,recommendations}')::boolean THEN
        RETURN NEXT '  (the index advisor is not available in this build)';
    ELSIF e IS NULL THEN
        RETURN QUERY SELECT '  ' || (x #>> '{}') FROM jsonb_array_elements(rep -> 'notes') x;
    ELSIF jsonb_array_length(e) = 0 THEN
        RETURN NEXT '  (none: no index would help the captured statements)';
    ELSE
        RETURN QUERY
            SELECT format('  %s%s', coalesce(x ->> 'index_def', x::text),
                          CASE WHEN x ->> 'est_improvement_pct' IS NOT NULL
                               THEN format('  -- est. %s%% cheaper',
                                           round((x ->> 'est_improvement_pct')::numeric)) ELSE '' END)
                   || CASE WHEN x ->> 'reason' IS NOT NULL
                           THEN E'\n      ' || @extschema@.report_line(x ->> 'reason', 100) ELSE '' END
              FROM jsonb_array_elements(e) x;
    END IF;

    IF (rep #>> '{parts,tenants}')::boolean THEN
        RETURN NEXT '';
        RETURN NEXT 'Busiest tenants, by total time';
        e := nullif(rep -> 'tenants', 'null');
        IF e IS NULL OR jsonb_array_length(e) = 0 THEN
            RETURN NEXT '  (none recorded)';
        ELSE
            RETURN NEXT format('  %-12s %-24s %9s %11s %9s', 'database', 'tenant', 'calls', 'total ms', 'p95 ms');
            RETURN QUERY
                SELECT format('  %-12s %-24s %9s %11s %9s',
                              @extschema@.report_line(x ->> 'datname', 12),
                              @extschema@.report_line(CASE WHEN (x ->> 'is_other')::boolean THEN '(other tenants)'
                                                           ELSE coalesce(x ->> 'tenant', '(no tenant)') END, 24),
                              x ->> 'calls',
                              to_char((x ->> 'total_time_ms')::numeric, 'FM99999999990.0'),
                              to_char((x ->> 'p95_ms')::numeric, ms))
                  FROM jsonb_array_elements(e) WITH ORDINALITY AS a(x, o) ORDER BY o;
        END IF;
    END IF;

    RETURN NEXT '';
    RETURN NEXT 'Capacity (SELECT * FROM observa.info for everything)';
    RETURN QUERY
        SELECT format('  %-16s %-28s %s', i.section, i.name, i.value)
          FROM @extschema@.info() i
         WHERE i.name ~ '(^|_)(entries|capacity|evictions|dropped|captured|tenants|shared_memory_bytes)$';
END
$$;

COMMENT ON FUNCTION @extschema@.report() IS
'observa.performance_report() as readable text, one line per row';

REVOKE ALL ON FUNCTION @extschema@.io_leaders(integer), @extschema@.metrics_statements(integer),
    @extschema@.prometheus_statements(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.io_leaders(integer), @extschema@.metrics_statements(integer),
    @extschema@.prometheus_statements(integer) TO pg_read_all_stats;

-- ==== end reports: I/O leaders ====

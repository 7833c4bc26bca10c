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
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT '<p class="none">Per-window statistics are not readable in this build yet; '
        || 'observa.table_stats(since) merges the recent windows.</p>'
      FROM (SELECT @extschema@.version()) v
$$;

COMMENT ON FUNCTION @extschema@.report_html_timeline() IS
'HTML report part: p95 per recent window';

-- Regressions section: observa.regressions() when this build has it.
CREATE FUNCTION @extschema@.report_html_regressions()
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT '<p class="none">Latency regressions are not available in this build yet.</p>'
      FROM (SELECT @extschema@.version()) v
$$;

COMMENT ON FUNCTION @extschema@.report_html_regressions() IS
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
    @extschema@.report_html_regressions(), @extschema@.html_escape(text),
    @extschema@.html_log_x(float8, float8), @extschema@.html_log_axis(float8, float8, float8),
    @extschema@.html_histogram(float8[], bigint[], jsonb), @extschema@.html_table(jsonb, text[])
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.report_html(), @extschema@.report_html_latency(),
    @extschema@.report_html_tenants(), @extschema@.report_html_slow(),
    @extschema@.report_html_indexes(), @extschema@.report_html_timeline(),
    @extschema@.report_html_regressions(), @extschema@.html_escape(text),
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
    OUT covered_since timestamptz)
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
    OUT covered_since timestamptz)
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

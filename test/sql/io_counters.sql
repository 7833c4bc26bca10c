--
-- I/O, WAL and temp counters of statement_stats, statement_stats(since)
-- and table_stats; top_statements() by a counter; observa.pg_stat_statements
-- and pg_stat_statements_info against pg_stat_statements' catalog
-- definition; pgwatch- and pghero-style queries run unchanged against
-- them; the privilege rule of query and queryid; the I/O leaders of
-- performance_report() and report(); the per-statement Prometheus
-- counters.  (Equality with pg_stat_statements' numbers: TAP test 170.)
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS observa;
DROP TABLE IF EXISTS io_a, io_b;
CREATE TABLE io_a (id int PRIMARY KEY, pad text);
CREATE TABLE io_b (id int PRIMARY KEY, a_id int);
INSERT INTO io_a SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 5000) g;
INSERT INTO io_b SELECT g, g FROM generate_series(1, 50) g;
RESET client_min_messages;
SELECT observa.reset() IS NOT NULL AS reset;

-- 1. counters of single statements
SET work_mem = '64kB';
UPDATE io_a SET pad = pad || 'x' WHERE id <= 500;
SELECT id FROM io_a ORDER BY pad DESC LIMIT 1 OFFSET 2000;
SELECT count(*) FROM io_a JOIN io_b ON io_b.a_id = io_a.id;
RESET work_mem;
SELECT operation,
       shared_blks_hit + shared_blks_read > 0 AS blocks,
       shared_blks_dirtied > 0 AS dirtied,
       temp_blks_written > 0 AND temp_blks_read > 0 AS spilled,
       CASE WHEN operation = 'UPDATE' THEN wal_records > 0 AND wal_bytes > 0 END AS wal,
       local_blks_hit + local_blks_read = 0 AS no_local,
       jit_functions = 0 AS no_jit,
       plans = 0 AND total_plan_time_ms = 0 AND min_plan_time_ms IS NULL AS unplanned
  FROM observa.statement_stats
 WHERE relations = '{io_a}'::regclass[]
 ORDER BY operation COLLATE "C";
-- the window form has the windowed counters (shared blocks hit and read,
-- temp blocks written, WAL bytes); the others are NULL there
SELECT operation,
       shared_blks_hit + shared_blks_read > 0 AS blocks,
       CASE WHEN operation = 'UPDATE' THEN wal_bytes > 0 END AS wal,
       temp_blks_written > 0 AS spilled,
       num_nulls(shared_blks_dirtied, shared_blks_written, local_blks_hit, local_blks_read,
                 local_blks_dirtied, local_blks_written, temp_blks_read, blk_read_time_ms,
                 blk_write_time_ms, temp_blk_read_time_ms, temp_blk_write_time_ms, wal_records,
                 wal_fpi, jit_functions, jit_generation_time_ms, jit_inlining_count,
                 jit_inlining_time_ms, jit_optimization_count, jit_optimization_time_ms,
                 jit_emission_count, jit_emission_time_ms, plans, total_plan_time_ms,
                 min_plan_time_ms, max_plan_time_ms, mean_plan_time_ms, stddev_plan_time_ms)
         AS since_reset_only_null
  FROM observa.statement_stats(interval '1 hour')
 WHERE relations = '{io_a}'::regclass[]
 ORDER BY operation COLLATE "C";
-- and both equal for statements all inside the window
SELECT count(*) AS differ
  FROM observa.statement_stats s
  JOIN observa.statement_stats(interval '1 hour') w USING (queryid, userid, dbid, toplevel)
 WHERE (s.shared_blks_hit, s.shared_blks_read, s.temp_blks_written, s.wal_bytes)
       IS DISTINCT FROM
       (w.shared_blks_hit, w.shared_blks_read, w.temp_blks_written, w.wal_bytes);

-- 2. table rows: single-table statements carry the counters (io_calls),
--    the join carries none, on either table
SELECT relname, operation, calls, io_calls,
       shared_blks_hit + shared_blks_read > 0 AS blocks,
       CASE WHEN operation = 'UPDATE' THEN wal_bytes > 0 END AS wal
  FROM observa.table_stats
 WHERE relname IN ('io_a', 'io_b')
 ORDER BY relname, operation COLLATE "C";
SELECT (SELECT sum(shared_blks_dirtied) FROM observa.table_stats
         WHERE relname = 'io_a' AND operation = 'UPDATE')
     = (SELECT sum(shared_blks_dirtied) FROM observa.statement_stats
         WHERE operation = 'UPDATE' AND relations = '{io_a}'::regclass[]) AS update_same_dirtied;

-- 3. top_statements by a counter, and bad orderings
SELECT operation FROM observa.top_statements(by => 'wal_bytes', lim => 1);
SELECT operation FROM observa.top_statements(by => 'temp_blks_written', lim => 1);
SELECT count(*) > 0 AS some FROM observa.top_statements(by => 'shared_blks_read');
SELECT * FROM observa.top_statements(by => 'wal_bytez');
SELECT * FROM observa.top_statements(by => 'wal_bytes; DROP TABLE io_a');
SELECT to_regclass('io_a') IS NOT NULL AS io_a_still_there;

-- 4. observa.pg_stat_statements has pg_stat_statements' columns: names,
--    types and order, as the catalog defines them
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS io_pgss_ref CASCADE;
CREATE SCHEMA io_pgss_ref;
RESET client_min_messages;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') THEN
        CREATE EXTENSION pg_stat_statements SCHEMA io_pgss_ref;
    END IF;
END $$;
SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements';
CREATE FUNCTION io_cols(rel regclass) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(format('%s %s', attname, format_type(atttypid, atttypmod)), ', ' ORDER BY attnum)
      FROM pg_attribute WHERE attrelid = rel AND attnum > 0 AND NOT attisdropped
$$;
SELECT io_cols(c.oid) = io_cols('observa.pg_stat_statements') AS same_columns,
       (SELECT count(*) FROM pg_attribute WHERE attrelid = c.oid AND attnum > 0) AS ncolumns
  FROM pg_class c JOIN pg_extension e ON c.relnamespace = e.extnamespace
 WHERE e.extname = 'pg_stat_statements' AND c.relname = 'pg_stat_statements';
SELECT io_cols(c.oid) = io_cols('observa.pg_stat_statements_info') AS same_info_columns
  FROM pg_class c JOIN pg_extension e ON c.relnamespace = e.extnamespace
 WHERE e.extname = 'pg_stat_statements' AND c.relname = 'pg_stat_statements_info';
-- the view's numbers are statement_stats'
SELECT count(*) AS differ
  FROM observa.statement_stats s
  JOIN observa.pg_stat_statements p USING (userid, dbid, queryid, toplevel)
 WHERE (s.calls, s.rows, s.total_time_ms, s.shared_blks_hit, s.shared_blks_read, s.temp_blks_written,
        s.wal_bytes, s.blk_read_time_ms, s.query)
       IS DISTINCT FROM
       (p.calls, p.rows, p.total_exec_time, p.shared_blks_hit, p.shared_blks_read, p.temp_blks_written,
        p.wal_bytes, p.blk_read_time, p.query);
SELECT count(*) = (SELECT count(*) FROM observa.statement_stats) AS one_row_per_entry
  FROM observa.pg_stat_statements;
SELECT count(*) > 0 AS rows, bool_and(query IS NULL) AS no_text
  FROM observa.pg_stat_statements(showtext => false);
SELECT dealloc >= 0 AS dealloc, stats_reset <= now() AS stats_reset FROM observa.pg_stat_statements_info;
DROP SCHEMA io_pgss_ref CASCADE;

-- 5. tools' queries run unchanged with observa ahead of public
SET search_path = observa, public;
-- pgwatch-style "stat_statements" (per queryid, this database)
SELECT count(*) > 0 AS pgwatch_rows, bool_and(calls > 0) AS calls
  FROM (
    SELECT queryid::text AS tag_queryid,
           max(ltrim(regexp_replace(query, E'[ \\t\\n\\r]+', ' ', 'g'))) AS tag_query,
           sum(calls)::int8 AS calls,
           round(sum(total_exec_time)::numeric, 3)::float8 AS total_time,
           sum(rows)::int8 AS rows,
           sum(shared_blks_hit)::int8 AS shared_blks_hit,
           sum(shared_blks_read)::int8 AS shared_blks_read,
           sum(shared_blks_written)::int8 AS shared_blks_written,
           sum(shared_blks_dirtied)::int8 AS shared_blks_dirtied,
           sum(temp_blks_read)::int8 AS temp_blks_read,
           sum(temp_blks_written)::int8 AS temp_blks_written,
           round(sum(blk_read_time)::numeric, 3)::float8 AS blk_read_time,
           round(sum(blk_write_time)::numeric, 3)::float8 AS blk_write_time,
           sum(wal_fpi)::int8 AS wal_fpi,
           sum(wal_bytes)::int8 AS wal_bytes,
           round(sum(total_plan_time)::numeric, 3)::float8 AS total_plan_time
      FROM pg_stat_statements
     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND NOT upper(query) LIKE ANY (ARRAY['DEALLOCATE%', 'SET %', 'RESET %', 'BEGIN%', 'COMMIT%'])
       AND toplevel
     GROUP BY queryid) x;
-- pgwatch-style "stat_statements_calls"
SELECT calls > 0 AS calls, total_time > 0 AS total_time, total_plan_time >= 0 AS plan_time
  FROM (
    SELECT coalesce(sum(calls), 0)::int8 AS calls,
           coalesce(round(sum(total_exec_time)::numeric, 3), 0)::float8 AS total_time,
           round(sum(total_plan_time)::numeric, 3)::float8 AS total_plan_time
      FROM pg_stat_statements
     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())) x;
-- pghero-style "query stats" (share of total time, per statement and role)
SELECT count(*) > 0 AS pghero_rows, round(sum(total_percent)) AS total_percent
  FROM (
    WITH query_stats AS (
        SELECT left(query, 10000) AS query, queryid AS query_hash, rolname AS "user",
               (total_plan_time + total_exec_time) / 1000 / 60 AS total_minutes,
               (total_plan_time + total_exec_time) / calls AS average_time, calls
          FROM pg_stat_statements
         INNER JOIN pg_database ON pg_database.oid = pg_stat_statements.dbid
         INNER JOIN pg_roles ON pg_roles.oid = pg_stat_statements.userid
         WHERE calls > 0 AND pg_database.datname = current_database())
    SELECT query, query_hash, "user", total_minutes, average_time, calls,
           total_minutes * 100.0 / (SELECT sum(total_minutes) FROM query_stats) AS total_percent
      FROM query_stats ORDER BY total_minutes DESC LIMIT 100) x;
-- pghero-style "cache hit rate" of statements, and the info view
SELECT sum(shared_blks_hit) * 1.0 / nullif(sum(shared_blks_hit) + sum(shared_blks_read), 0) BETWEEN 0 AND 1
       AS hit_rate
  FROM pg_stat_statements;
SELECT stats_reset IS NOT NULL AS info FROM pg_stat_statements_info;
RESET search_path;

-- 6. privileges: numbers for everyone; queryid and query only in one's
--    own rows, or with pg_read_all_stats (pg_stat_statements' rule)
SET client_min_messages = warning;
DROP ROLE IF EXISTS observa_io_r1;
DROP ROLE IF EXISTS observa_io_r2;
DROP ROLE IF EXISTS observa_io_r3;
RESET client_min_messages;
CREATE ROLE observa_io_r1;
CREATE ROLE observa_io_r2;
CREATE ROLE observa_io_r3 IN ROLE pg_read_all_stats;
GRANT SELECT ON io_a TO observa_io_r1;
SELECT observa.reset() IS NOT NULL AS reset;
SET ROLE observa_io_r1;
SELECT count(*) FROM io_a WHERE id < 10;
SELECT calls, queryid IS NOT NULL AS queryid, query ~ '^SELECT count' AS text
  FROM observa.pg_stat_statements WHERE userid = 'observa_io_r1'::regrole;
SET ROLE observa_io_r2;
SELECT calls, queryid IS NULL AS queryid_hidden, query
  FROM observa.pg_stat_statements WHERE userid = 'observa_io_r1'::regrole;
SELECT count(*) AS others_texts FROM observa.pg_stat_statements
 WHERE query IS DISTINCT FROM '<insufficient privilege>';
SET ROLE observa_io_r3;
SELECT calls, queryid IS NOT NULL AS queryid, query ~ '^SELECT count' AS text
  FROM observa.pg_stat_statements WHERE userid = 'observa_io_r1'::regrole;
RESET ROLE;
DROP OWNED BY observa_io_r1;
DROP ROLE observa_io_r1;
DROP ROLE observa_io_r2;
DROP ROLE observa_io_r3;

-- 7. reports: I/O leaders in performance_report() and report()
SET work_mem = '64kB';
UPDATE io_a SET pad = pad || 'y' WHERE id <= 300;
SELECT id FROM io_a ORDER BY pad LIMIT 1 OFFSET 1000;
RESET work_mem;
SELECT array_agg(k ORDER BY k) AS io_leader_lists
  FROM jsonb_object_keys(observa.performance_report() -> 'io_leaders') k;
SELECT (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(observa.performance_report() #> '{io_leaders,wal_bytes,0}') k)
       AS io_leader_keys;
SELECT x ->> 'query' ~ '^UPDATE io_a' AS wal_leader_is_update,
       (x ->> 'wal_bytes')::numeric > 0 AS wal_bytes
  FROM jsonb_array_elements(observa.performance_report() #> '{io_leaders,wal_bytes}') WITH ORDINALITY a(x, o)
 WHERE o = 1;
SELECT bool_and((x ->> 'temp_blks_written')::bigint > 0) AS all_spilled
  FROM jsonb_array_elements(observa.performance_report() #> '{io_leaders,temp_blks_written}') x;
SELECT count(*) FILTER (WHERE l ~ '^  wal_bytes +[0-9]+ .*UPDATE io_a') AS wal_line,
       count(*) FILTER (WHERE l ~ '^  temp_blks_written +[0-9]+ .*ORDER BY pad') AS temp_line
  FROM observa.report() l;

-- 8. Prometheus: per-statement totals as counters
SELECT calls_total >= 1 AS calls, wal_bytes_total > 0 AS wal
  FROM observa.metrics_statements() WHERE queryid = (
      SELECT queryid::text FROM observa.statement_stats
       WHERE operation = 'UPDATE' AND relations = '{io_a}'::regclass[]);
SELECT count(*) FILTER (WHERE l = '# TYPE observa_statement_wal_bytes_total counter') AS wal_type,
       count(*) FILTER (WHERE l ~ '^observa_statement_wal_bytes_total\{datname="[^"]+",user="[^"]+",queryid="-?[0-9]+",toplevel="(true|false)"\} [0-9.e+]+$') > 0
       AS wal_samples,
       count(*) FILTER (WHERE l = '# TYPE observa_statement_shared_blks_read_total counter') AS read_type
  FROM regexp_split_to_table(observa.prometheus(), E'\n') l;
SELECT count(*) AS rows FROM observa.metrics_statements(1);
SELECT * FROM observa.metrics_statements(0);

DROP FUNCTION io_cols(regclass);
DROP TABLE io_a, io_b;

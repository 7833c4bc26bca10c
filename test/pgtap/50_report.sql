-- pgTAP: the contract of reports, snapshots and metrics: objects, the
-- pinned shape of performance_report(), snapshot errors and their
-- SQLSTATEs, Prometheus histogram invariants, privileges, pg_dump marks.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
DROP EXTENSION IF EXISTS observa CASCADE;
CREATE EXTENSION observa;
RESET client_min_messages;

BEGIN;
SELECT plan(69);

-- objects
SELECT has_function('observa', 'performance_report', ARRAY[]::text[], 'performance_report() exists');
SELECT function_returns('observa', 'performance_report', ARRAY[]::text[], 'jsonb', 'performance_report() returns jsonb');
SELECT has_function('observa', 'report', ARRAY[]::text[], 'report() exists');
SELECT has_function('observa', 'snapshot', ARRAY['text'], 'snapshot(text) exists');
SELECT has_function('observa', 'drop_snapshot', ARRAY['text'], 'drop_snapshot(text) exists');
SELECT has_function('observa', 'compare', ARRAY['text', 'text'], 'compare(text, text) exists');
SELECT has_function('observa', 'metrics', ARRAY['double precision[]'], 'metrics(float8[]) exists');
SELECT has_function('observa', 'metrics_histograms', ARRAY['double precision[]'], 'metrics_histograms(float8[]) exists');
SELECT has_function('observa', 'metrics_slow_queries', ARRAY[]::text[], 'metrics_slow_queries() exists');
SELECT has_function('observa', 'prometheus', ARRAY['double precision[]'], 'prometheus(float8[]) exists');
SELECT has_function('observa', 'metrics_statements', ARRAY['integer'], 'metrics_statements(integer) exists');
SELECT has_function('observa', 'io_leaders', ARRAY['integer'], 'io_leaders(integer) exists');
SELECT has_view('observa', 'snapshots', 'view observa.snapshots exists');
SELECT has_view('observa', 'metrics', 'view observa.metrics exists');
SELECT columns_are('observa', 'metrics',
    ARRAY['metric', 'type', 'datname', 'operation', 'schemaname', 'table', 'le', 'value'],
    'observa.metrics has its documented columns');
SELECT columns_are('observa', 'snapshots',
    ARRAY['label', 'taken_at', 'stats_since', 'observa_version', 'table_rows', 'statement_rows'],
    'observa.snapshots has its documented columns');

-- a workload on a table of our own
CREATE TABLE rpt (id int PRIMARY KEY, v int);
INSERT INTO rpt SELECT g, g FROM generate_series(1, 100) g;
\o /dev/null
SELECT v FROM rpt WHERE id = 1;
SELECT v FROM rpt WHERE id = 2;
SELECT v FROM rpt WHERE id = 3;
UPDATE rpt SET v = v + 1 WHERE id = 4;
\o

-- the pinned shape of performance_report()
SELECT is((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(observa.performance_report()) k),
    ARRAY['generated_at', 'info', 'io_leaders', 'notes', 'observa_version', 'parts', 'recommendations',
          'regressions', 'slow_queries', 'slowest_tables', 'table_stats', 'tenants', 'time_range',
          'top_statements'],
    'performance_report() has exactly its documented top-level keys');
SELECT is((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(observa.performance_report() -> 'time_range') k),
    ARRAY['from', 'seconds', 'to'], 'time_range has from, to and seconds');
SELECT is((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(observa.performance_report() -> 'parts') k),
    ARRAY['recommendations', 'slow_queries', 'statement_stats', 'table_stats', 'tenants'],
    'parts names every optional part');
SELECT is(observa.performance_report() ->> 'observa_version', observa.version(), 'the report carries the version');
SELECT ok((observa.performance_report() #>> '{time_range,from}')::timestamptz
          <= (observa.performance_report() #>> '{time_range,to}')::timestamptz, 'the time range runs forward');
SELECT is((observa.performance_report() #>> '{parts,table_stats}')::boolean,
          to_regclass('observa.table_stats') IS NOT NULL, 'parts.table_stats says whether table_stats exists');
SELECT is((observa.performance_report() #>> '{parts,recommendations}')::boolean,
          to_regprocedure('observa.recommend_indexes()') IS NOT NULL,
          'parts.recommendations says whether the advisor exists');
SELECT ok(CASE WHEN to_regprocedure('observa.recommend_indexes()') IS NULL
               THEN jsonb_typeof(observa.performance_report() -> 'recommendations') = 'null'
               ELSE jsonb_typeof(observa.performance_report() -> 'recommendations') = 'array'
                    OR jsonb_array_length(observa.performance_report() -> 'notes') > 0 END,
          'recommendations: null without the advisor, else an array (or a note saying why not)');
SELECT is((SELECT array_agg(k ORDER BY k)
             FROM jsonb_array_elements(observa.performance_report() -> 'table_stats') e,
                  jsonb_object_keys(e) k
            WHERE e ->> 'table' = 'rpt' AND e ->> 'operation' = 'SELECT'),
    ARRAY['avg_ms', 'calls', 'datname', 'error_rate', 'errors', 'max_ms', 'min_ms', 'operation',
          'p50_ms', 'p95_ms', 'p99_ms', 'relid', 'rows', 'schema', 'table', 'total_ms'],
    'a table_stats entry has exactly its documented keys');
SELECT ok((SELECT (e ->> 'calls')::int >= 3 AND (e ->> 'errors')::int = 0
                  AND (e ->> 'error_rate')::numeric = 0
                  AND (e ->> 'min_ms')::numeric <= (e ->> 'p50_ms')::numeric
                  AND (e ->> 'p50_ms')::numeric <= (e ->> 'p95_ms')::numeric
                  AND (e ->> 'p95_ms')::numeric <= (e ->> 'p99_ms')::numeric
             FROM jsonb_array_elements(observa.performance_report() -> 'table_stats') e
            WHERE e ->> 'table' = 'rpt' AND e ->> 'operation' = 'SELECT' AND e ->> 'datname' = current_database()),
    'rpt SELECT: calls counted, no errors, min <= p50 <= p95 <= p99');
SELECT ok((SELECT bool_and(a.p >= b.p)
             FROM (SELECT (e ->> 'p95_ms')::numeric p, o
                     FROM jsonb_array_elements(observa.performance_report() -> 'slowest_tables') WITH ORDINALITY x(e, o)) a
             JOIN (SELECT (e ->> 'p95_ms')::numeric p, o
                     FROM jsonb_array_elements(observa.performance_report() -> 'slowest_tables') WITH ORDINALITY x(e, o)) b
               ON b.o = a.o + 1)
          IS NOT FALSE
      AND jsonb_array_length(observa.performance_report() -> 'slowest_tables') BETWEEN 1 AND 10,
    'slowest_tables: 1 to 10 entries, by p95 descending');
SELECT ok(CASE WHEN to_regclass('observa.statement_stats') IS NULL
               THEN jsonb_typeof(observa.performance_report() -> 'top_statements') = 'null'
               ELSE (SELECT array_agg(k ORDER BY k)
                       FROM jsonb_object_keys(observa.performance_report() #> '{top_statements,0}') k)
                    = ARRAY['avg_ms', 'calls', 'datname', 'errors', 'operation', 'p50_ms', 'p95_ms', 'p99_ms',
                            'query', 'queryid', 'relations', 'rows', 'total_ms', 'username'] END,
    'top_statements: null without statement statistics, else entries with exactly the documented keys');
SELECT ok(CASE WHEN to_regclass('observa.statement_stats') IS NULL THEN true
               ELSE jsonb_array_length(observa.performance_report() -> 'top_statements') BETWEEN 1 AND 10 END,
    'top_statements has 1 to 10 entries (when the build has statement statistics)');
SELECT ok(CASE WHEN to_regclass('observa.statement_stats') IS NULL
               THEN jsonb_typeof(observa.performance_report() -> 'io_leaders') = 'null'
               ELSE (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(observa.performance_report() -> 'io_leaders') k)
                    = ARRAY['shared_blks_read', 'temp_blks_written', 'wal_bytes']
                    AND (SELECT count(*) BETWEEN 1 AND 5
                                AND bool_and((e ->> 'wal_bytes')::numeric > 0)
                                AND bool_and(o = 1 OR (e ->> 'wal_bytes')::numeric
                                             <= (l -> (o - 2)::int ->> 'wal_bytes')::numeric)
                           FROM (SELECT observa.performance_report() #> '{io_leaders,wal_bytes}' AS l) r,
                                jsonb_array_elements(r.l) WITH ORDINALITY x(e, o)) END,
    'io_leaders: three lists (shared blocks read, temp blocks written, WAL bytes); by WAL bytes: 1 to 5 statements, descending');
SELECT ok(CASE WHEN to_regclass('observa.slow_queries') IS NULL
               THEN jsonb_typeof(observa.performance_report() -> 'slow_queries') = 'null'
               ELSE jsonb_typeof(observa.performance_report() -> 'slow_queries') = 'array'
                    AND jsonb_array_length(observa.performance_report() -> 'slow_queries') <= 10 END,
    'slow_queries: null without the ring, else an array of at most 10');
SELECT ok((SELECT r.l FROM observa.report() WITH ORDINALITY r(l, o)
            WHERE r.o = (SELECT h.o + 2 FROM observa.report() WITH ORDINALITY h(l, o)
                          WHERE h.l = 'Per operation and table, by total time'))
          LIKE (SELECT format('  %s %% %s %%', e ->> 'operation', e ->> 'calls')
                  FROM jsonb_array_elements(observa.performance_report() -> 'table_stats') e LIMIT 1),
    'report() shows the busiest operation and table first');
SELECT ok((SELECT count(*) FROM observa.report() l
            WHERE l IN ('Per operation and table, by total time', 'Slowest operations on tables, by p95',
                        'Top statements, by total time', 'Last slow queries', 'Index recommendations',
                        'I/O leaders: most shared blocks read, temp blocks written, WAL bytes')) = 6,
    'report() has its six sections');

-- snapshots and their errors
SELECT lives_ok($$SELECT observa.snapshot('t1')$$, 'snapshot(t1) is taken');
SELECT throws_ok($$SELECT observa.snapshot('t1')$$, '42710', 'snapshot "t1" already exists',
    'a duplicate label is refused (42710)');
SELECT throws_ok($$SELECT observa.snapshot(NULL)$$, '22004', 'snapshot label must not be null',
    'a NULL label is refused (22004)');
SELECT throws_ok($$SELECT observa.snapshot('  ')$$, '22023', 'snapshot label must not be empty',
    'an empty label is refused (22023)');
SELECT throws_ok($$SELECT observa.snapshot(repeat('x', 201))$$, '22023', NULL,
    'a label over 200 characters is refused (22023)');
SELECT throws_ok($$SELECT * FROM observa.compare('t1', 'nope')$$, '42704', 'snapshot "nope" does not exist',
    'compare with an unknown snapshot is refused (42704)');
SELECT throws_ok($$SELECT * FROM observa.compare('nope')$$, '42704', 'snapshot "nope" does not exist',
    'compare from an unknown snapshot is refused (42704)');
SELECT throws_ok($$SELECT * FROM observa.compare(NULL, 't1')$$, '22004', NULL,
    'compare from NULL is refused (22004)');
SELECT throws_ok($$SELECT observa.drop_snapshot('nope')$$, '42704', 'snapshot "nope" does not exist',
    'dropping an unknown snapshot is refused (42704)');
SELECT throws_ok($$SELECT observa.drop_snapshot(NULL)$$, '22004', NULL, 'dropping NULL is refused (22004)');
SELECT is((SELECT count(*)::int FROM observa.snapshots WHERE label = 't1'), 1,
    'the refused calls changed nothing: t1 is still the only t1');

\o /dev/null
SELECT v FROM rpt WHERE id = 5;
SELECT v FROM rpt WHERE id = 6;
\o
SELECT lives_ok($$SELECT observa.snapshot('t2')$$, 'snapshot(t2) is taken');
SELECT ok((SELECT table_rows > 0
                  AND (statement_rows > 0) = (to_regclass('observa.statement_stats') IS NOT NULL)
             FROM observa.snapshots WHERE label = 't2'),
    'the snapshot stored table rows, and statement rows when the build has statement statistics');
SELECT ok((SELECT calls_delta = calls_b - calls_a AND calls_delta >= 2
             FROM observa.compare('t1', 't2')
            WHERE kind = 'table' AND relname = 'rpt' AND operation = 'SELECT' AND datname = current_database()),
    'compare(t1, t2): rpt SELECT calls grew by at least the 2 statements run between');
SELECT ok(((SELECT count(*) FROM observa.compare('t1', 't2') WHERE kind = 'statement') > 0)
          = (to_regclass('observa.statement_stats') IS NOT NULL),
    'compare(t1, t2) has per-statement rows when the build has statement statistics');
SELECT ok((SELECT bool_and(mean_change_pct IS NOT DISTINCT FROM observa.pct_change(mean_ms_a, mean_ms_b)
                           AND p95_change_pct IS NOT DISTINCT FROM observa.pct_change(p95_ms_a, p95_ms_b))
             FROM observa.compare('t1', 't2')),
    'the % changes are (b - a) / a');
SELECT is(observa.pct_change(10, 15), 50.0, 'pct_change(10, 15) = 50.0');
SELECT is(observa.pct_change(0, 15), NULL, 'pct_change from 0 is NULL');
SELECT ok((SELECT calls_b >= calls_a FROM observa.compare('t2')
            WHERE kind = 'table' AND relname = 'rpt' AND operation = 'SELECT' AND datname = current_database()),
    'compare(t2) compares with now');
SELECT lives_ok($$SELECT observa.drop_snapshot('t2')$$, 'drop_snapshot(t2) works');
SELECT is((SELECT count(*)::int FROM observa.snapshot_table_stats WHERE label = 't2')
          + (SELECT count(*)::int FROM observa.snapshot_statement_stats WHERE label = 't2')
          + (SELECT count(*)::int FROM observa.snapshots WHERE label = 't2'), 0,
    'dropping a snapshot removes all its rows');

-- pg_dump keeps the snapshots
SELECT is((SELECT array_agg(c::regclass::text ORDER BY c::regclass::text)
             FROM pg_extension e, unnest(e.extconfig) c WHERE e.extname = 'observa'
              AND c::regclass::text LIKE 'observa.snapshot%'),
    ARRAY['observa.snapshot_meta', 'observa.snapshot_statement_stats', 'observa.snapshot_table_stats'],
    'the snapshot tables are marked for pg_dump');

-- Prometheus series
SELECT ok((SELECT bool_and(array_length(duration_seconds, 1) = 12
                           AND array_length(duration_seconds_bucket, 1) = 12
                           AND duration_seconds_bucket[12] <= duration_seconds_count
                           AND duration_seconds_sum >= 0 AND errors_total <= duration_seconds_count)
             FROM observa.metrics_histograms()),
    'metrics_histograms(): 12 default buckets, none above the count');
SELECT ok((SELECT bool_and(c >= p)
             FROM (SELECT u.c, lag(u.c, 1, 0::bigint) OVER (PARTITION BY h.datname, h.operation, h.schemaname, h."table"
                                                           ORDER BY u.o) AS p
                     FROM observa.metrics_histograms() h,
                          unnest(h.duration_seconds_bucket) WITH ORDINALITY u(c, o)) x),
    'bucket counts are cumulative (never decrease)');
SELECT ok((SELECT count(*) FROM observa.metrics
            WHERE metric = 'observa_query_duration_seconds_bucket' AND "table" = 'rpt' AND operation = 'SELECT'
              AND datname = current_database()) = 13,
    'observa.metrics: 12 buckets plus +Inf for rpt SELECT');
SELECT ok((SELECT b.value = c.value
             FROM observa.metrics b JOIN observa.metrics c USING (datname, operation, schemaname, "table")
            WHERE b.metric = 'observa_query_duration_seconds_bucket' AND b.le = '+Inf'
              AND c.metric = 'observa_query_duration_seconds_count'
              AND b."table" = 'rpt' AND b.operation = 'SELECT' AND b.datname = current_database()),
    'the +Inf bucket equals _count');
SELECT is((SELECT array_agg(le ORDER BY value) FROM observa.metrics('{0.5,2}')
            WHERE metric = 'observa_query_duration_seconds_bucket' AND "table" = 'rpt'
              AND operation = 'SELECT' AND datname = current_database()),
    ARRAY['0.5', '2', '+Inf'], 'custom bounds give their own le labels');
SELECT throws_ok($$SELECT * FROM observa.metrics('{}')$$, '22023', NULL, 'empty bounds are refused (22023)');
SELECT throws_ok($$SELECT * FROM observa.metrics('{1,0.5}')$$, '22023', 'bucket bounds must be strictly ascending',
    'descending bounds are refused (22023)');
SELECT throws_ok($$SELECT * FROM observa.metrics('{0,1}')$$, '22023', NULL, 'a zero bound is refused (22023)');
SELECT throws_ok($$SELECT * FROM observa.metrics(NULL)$$, '22004', NULL, 'NULL bounds are refused (22004)');
SELECT ok((SELECT bool_and(l ~ '^(# (HELP|TYPE) observa_\w+ .+|observa_\w+(\{[^}]*\})? [-+0-9.e]+|)$')
             FROM regexp_split_to_table(observa.prometheus(), E'\n') l),
    'prometheus() is lines of HELP, TYPE and samples');

-- privileges
SELECT ok(NOT has_function_privilege('public', 'observa.snapshot(text)', 'EXECUTE'),
    'PUBLIC cannot take snapshots');
SELECT ok(NOT has_function_privilege('public', 'observa.drop_snapshot(text)', 'EXECUTE'),
    'PUBLIC cannot drop snapshots');
SELECT ok(NOT has_table_privilege('public', 'observa.snapshot_statement_stats', 'SELECT')
          AND NOT has_table_privilege('public', 'observa.snapshot_table_stats', 'INSERT'),
    'PUBLIC can neither read nor write the snapshot tables');
SELECT ok(has_function_privilege('pg_read_all_stats', 'observa.performance_report()', 'EXECUTE')
          AND has_table_privilege('pg_monitor', 'observa.metrics', 'SELECT')
          AND has_function_privilege('pg_monitor', 'observa.compare(text, text)', 'EXECUTE'),
    'pg_read_all_stats (and so pg_monitor) reads reports, metrics and comparisons');

SELECT * FROM finish();
ROLLBACK;

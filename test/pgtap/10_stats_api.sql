-- pgTAP: the SQL contract of table and statement statistics that other
-- rooms (reports, Prometheus exporter) rely on: column names in order,
-- function signatures, privileges, and the latency-bucket invariants.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS observa;
RESET client_min_messages;

BEGIN;
SELECT plan(20);

SELECT is((SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute
            WHERE attrelid = 'observa.table_stats'::regclass AND attnum > 0),
          ARRAY['datname', 'schemaname', 'relname', 'relid', 'operation', 'calls', 'errors', 'rows',
                'total_time_ms', 'min_time_ms', 'max_time_ms', 'mean_time_ms', 'stddev_time_ms',
                'p50_ms', 'p95_ms', 'p99_ms', 'stats_since', 'io_calls',
                'shared_blks_hit', 'shared_blks_read', 'shared_blks_dirtied', 'shared_blks_written',
                'local_blks_hit', 'local_blks_read', 'local_blks_dirtied', 'local_blks_written',
                'temp_blks_read', 'temp_blks_written', 'blk_read_time_ms', 'blk_write_time_ms',
                'temp_blk_read_time_ms', 'temp_blk_write_time_ms', 'wal_records', 'wal_fpi', 'wal_bytes',
                'jit_functions', 'jit_generation_time_ms', 'jit_inlining_count', 'jit_inlining_time_ms',
                'jit_optimization_count', 'jit_optimization_time_ms', 'jit_emission_count',
                'jit_emission_time_ms'],
          'observa.table_stats has the contracted columns in order');
SELECT is((SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute
            WHERE attrelid = 'observa.statement_stats'::regclass AND attnum > 0),
          ARRAY['queryid', 'toplevel', 'userid', 'username', 'dbid', 'datname', 'operation', 'query',
                'calls', 'errors', 'rows', 'total_time_ms', 'min_time_ms', 'max_time_ms',
                'mean_time_ms', 'stddev_time_ms', 'p50_ms', 'p95_ms', 'p99_ms', 'relations',
                'stats_since', 'plans', 'total_plan_time_ms', 'min_plan_time_ms', 'max_plan_time_ms',
                'mean_plan_time_ms', 'stddev_plan_time_ms',
                'shared_blks_hit', 'shared_blks_read', 'shared_blks_dirtied', 'shared_blks_written',
                'local_blks_hit', 'local_blks_read', 'local_blks_dirtied', 'local_blks_written',
                'temp_blks_read', 'temp_blks_written', 'blk_read_time_ms', 'blk_write_time_ms',
                'temp_blk_read_time_ms', 'temp_blk_write_time_ms', 'wal_records', 'wal_fpi', 'wal_bytes',
                'jit_functions', 'jit_generation_time_ms', 'jit_inlining_count', 'jit_inlining_time_ms',
                'jit_optimization_count', 'jit_optimization_time_ms', 'jit_emission_count',
                'jit_emission_time_ms'],
          'observa.statement_stats has the contracted columns in order');
SELECT has_function('observa', 'table_stats', ARRAY['interval'], 'table_stats(since interval)');
SELECT has_function('observa', 'statement_stats', ARRAY['interval'], 'statement_stats(since interval)');
SELECT has_function('observa', 'table_percentiles', ARRAY['double precision[]'], 'table_percentiles(float8[])');
SELECT has_function('observa', 'statement_percentiles', ARRAY['double precision[]'], 'statement_percentiles(float8[])');
SELECT has_function('observa', 'table_latency_buckets', ARRAY['double precision[]'], 'table_latency_buckets(float8[])');
SELECT has_function('observa', 'top_statements', ARRAY['text', 'integer'], 'top_statements(text, int)');
SELECT function_returns('observa', 'reset', ARRAY[]::text[], 'timestamp with time zone', 'reset() returns timestamptz');
SELECT ok(NOT has_function_privilege('public', 'observa.reset()', 'EXECUTE'), 'PUBLIC may not reset');
SELECT ok(has_table_privilege('public', 'observa.table_stats', 'SELECT')
          AND has_table_privilege('public', 'observa.statement_stats', 'SELECT'), 'PUBLIC may read the views');
SELECT ok(has_function_privilege('public', 'observa.table_latency_buckets(float8[])', 'EXECUTE')
          AND has_function_privilege('public', 'observa.top_statements(text,int)', 'EXECUTE')
          AND has_function_privilege('public', 'observa.statement_percentiles(float8[])', 'EXECUTE'),
          'PUBLIC may call the reading functions');

-- latency buckets: monotonic in le_ms, Infinity = calls (workload of this session)
CREATE TEMP TABLE tap_t AS SELECT g AS i FROM generate_series(1, 10) g;
\o /dev/null
SELECT observa.reset() IS NOT NULL;
SELECT count(*) FROM tap_t;
SELECT count(*) FROM tap_t WHERE i > 5;
SELECT pg_sleep(0.002) FROM tap_t WHERE i = 1;
\o
SELECT is((SELECT count FROM observa.table_latency_buckets(ARRAY[0.001, 1, 1000])
            WHERE relname = 'tap_t' AND le_ms = 'Infinity'),
          (SELECT calls FROM observa.table_stats WHERE relname = 'tap_t' AND operation = 'SELECT'),
          'the Infinity bucket equals calls');
SELECT ok((SELECT bool_and(c >= prev) FROM (
             SELECT count AS c, lag(count, 1, 0::bigint) OVER (ORDER BY le_ms) AS prev
               FROM observa.table_latency_buckets(ARRAY[0.001, 0.01, 0.1, 1, 1.5, 2, 5, 1000])
              WHERE relname = 'tap_t') s), 'bucket counts are monotonic in le_ms');
SELECT is((SELECT count(*)::int FROM observa.table_latency_buckets(ARRAY[5, 1, 5])
            WHERE relname = 'tap_t'), 2 + 1, 'duplicate bounds collapse, Infinity added');
SELECT ok((SELECT count >= 1 FROM observa.table_latency_buckets(ARRAY[1000])
            WHERE relname = 'tap_t' AND le_ms = 1000), 'a 2 ms statement is under 1000 ms');
SELECT throws_ok($$SELECT * FROM observa.table_latency_buckets(NULL)$$, '22004', NULL, 'NULL bounds');
SELECT throws_ok($$SELECT * FROM observa.table_percentiles(ARRAY[0.5, 1.01])$$, '22023', NULL, 'quantile > 1');
SELECT throws_ok($$SELECT * FROM observa.statement_percentiles(ARRAY[NULL::float8])$$, '22004', NULL, 'NULL quantile');
SELECT throws_ok($$SELECT * FROM observa.top_statements('slowest')$$, '22023', NULL, 'unknown top_statements ordering');

SELECT * FROM finish();
ROLLBACK;

--
-- Reports, snapshots and comparisons (docs/reports.md): bad inputs with
-- their messages, exact call deltas between snapshots, the report's shape.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS observa;
RESET client_min_messages;
\set SHOW_CONTEXT never

CREATE TABLE report_t (id int PRIMARY KEY, v int);
INSERT INTO report_t SELECT g, g FROM generate_series(1, 50) g;
SELECT observa.reset() IS NOT NULL AS reset;

-- bad labels: nothing is stored
SELECT observa.snapshot(NULL);
SELECT observa.snapshot('');
SELECT observa.snapshot('   ');
SELECT observa.snapshot(repeat('x', 201));
SELECT count(*) AS snapshots FROM observa.snapshots;

-- five SELECTs, a snapshot, three more, another snapshot
SELECT v FROM report_t WHERE id = 1;
SELECT v FROM report_t WHERE id = 2;
SELECT v FROM report_t WHERE id = 3;
SELECT v FROM report_t WHERE id = 4;
SELECT v FROM report_t WHERE id = 5;
SELECT observa.snapshot('reg_a') <= clock_timestamp() AS taken;
SELECT observa.snapshot('reg_a');
SELECT v FROM report_t WHERE id = 6;
SELECT v FROM report_t WHERE id = 7;
SELECT v FROM report_t WHERE id = 8;
SELECT observa.snapshot('reg_b') IS NOT NULL AS taken;
SELECT label, table_rows > 0 AS has_tables,
       (statement_rows > 0) = (to_regclass('observa.statement_stats') IS NOT NULL) AS statements_ok,
       stats_since <= taken_at AS since_before_taken, observa_version = observa.version() AS version_ok
  FROM observa.snapshots ORDER BY taken_at;

-- per operation and table: exact calls, deltas and consistent figures
SELECT kind, operation, schemaname, relname, calls_a, calls_b, calls_delta,
       interval_mean_ms > 0 AS interval_mean_ok,
       mean_ms_a > 0 AND mean_ms_b > 0 AS means_ok,
       p95_ms_a <= p99_ms_a AND p95_ms_b <= p99_ms_b AS p95_le_p99,
       mean_change_pct IS NOT DISTINCT FROM observa.pct_change(mean_ms_a, mean_ms_b) AS pct_ok
  FROM observa.compare('reg_a', 'reg_b')
 WHERE relname = 'report_t' AND datname = current_database()
 ORDER BY operation COLLATE "C";
-- per statement: the parameterized SELECT, 5 then 8 calls (no statement
-- rows in a build without statement statistics)
SELECT CASE WHEN to_regclass('observa.statement_stats') IS NULL THEN count(*) = 0
            ELSE count(*) = 1 AND bool_and(operation = 'SELECT' AND calls_a = 5 AND calls_b = 8
                                           AND calls_delta = 3) END AS statement_delta_ok
  FROM observa.compare('reg_a', 'reg_b')
 WHERE kind = 'statement' AND query ~* 'select v from report_t' AND datname = current_database();
-- against now, after two more
SELECT v FROM report_t WHERE id = 9;
SELECT v FROM report_t WHERE id = 10;
SELECT calls_a, calls_b, calls_delta
  FROM observa.compare('reg_b')
 WHERE kind = 'table' AND relname = 'report_t' AND operation = 'SELECT' AND datname = current_database();
-- a snapshot compared with itself changes nothing
SELECT bool_and(calls_delta = 0 AND mean_change_pct = 0) AS unchanged
  FROM observa.compare('reg_a', 'reg_a') WHERE calls_a > 0 AND mean_ms_a > 0;

-- unknown and NULL snapshots
SELECT * FROM observa.compare('reg_a', 'no_such');
SELECT * FROM observa.compare('no_such');
SELECT * FROM observa.compare(NULL);
SELECT observa.drop_snapshot('no_such');
SELECT observa.drop_snapshot(NULL);
SELECT observa.drop_snapshot('reg_a');
SELECT observa.drop_snapshot('reg_a');
SELECT label FROM observa.snapshots;
SELECT count(*) AS leftover_rows FROM observa.snapshot_table_stats WHERE label = 'reg_a';

-- percentage change
SELECT observa.pct_change(2, 3) AS up_50, observa.pct_change(4, 1) AS down_75,
       observa.pct_change(0, 1) AS from_zero, observa.pct_change(NULL, 1) AS unknown;

-- performance_report(): the report_t entry is in every table part
SELECT e ->> 'operation' AS operation, e ->> 'schema' AS schema, (e ->> 'calls')::int AS calls,
       (e ->> 'error_rate')::numeric AS error_rate,
       (e ->> 'min_ms')::numeric <= (e ->> 'p50_ms')::numeric
         AND (e ->> 'p50_ms')::numeric <= (e ->> 'p95_ms')::numeric
         AND (e ->> 'p95_ms')::numeric <= (e ->> 'p99_ms')::numeric
         AND (e ->> 'avg_ms')::numeric <= (e ->> 'max_ms')::numeric AS ordered
  FROM jsonb_array_elements(observa.performance_report() -> 'table_stats') e
 WHERE e ->> 'table' = 'report_t' AND e ->> 'datname' = current_database()
 ORDER BY e ->> 'operation' COLLATE "C";
SELECT count(*) > 0 AS in_slowest
  FROM jsonb_array_elements(observa.performance_report() -> 'slowest_tables') e
 WHERE e ->> 'table' = 'report_t';
SELECT (observa.performance_report() #>> '{time_range,from}')::timestamptz <= now() AS from_ok,
       (observa.performance_report() #>> '{time_range,seconds}')::numeric >= 0 AS seconds_ok;

-- report(): readable lines for report_t
SELECT count(*) AS report_t_lines FROM observa.report() l WHERE l ~ '^  (SELECT|INSERT) +public\.report_t ';
SELECT l FROM observa.report() l
 WHERE l ~ '^[A-Z]' AND l !~ '^Busiest tenants' ORDER BY l COLLATE "C";
SELECT count(*) = (to_regclass('observa.tenant_stats') IS NOT NULL)::int AS tenants_section_iff_tenant_stats
  FROM observa.report() l WHERE l = 'Busiest tenants, by total time';

-- cleanup
SELECT observa.drop_snapshot('reg_b');
DROP TABLE report_t;

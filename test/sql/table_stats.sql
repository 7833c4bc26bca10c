--
-- observa.table_stats: exact counts, attribution rules, errors, windows,
-- percentiles and bad arguments.  Statements run in this session are
-- flushed before each observa read, so counts are exact.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS observa;
CREATE TABLE ts_a (id int PRIMARY KEY, v int);
CREATE TABLE ts_b (id int PRIMARY KEY, a_id int);
INSERT INTO ts_a SELECT g, g % 10 FROM generate_series(1, 100) g;
INSERT INTO ts_b SELECT g, g FROM generate_series(1, 20) g;
RESET client_min_messages;
SELECT observa.reset() <= now() + interval '1 min' AS reset_ok;

-- a small helper: calls/errors/rows of one (table, operation)
CREATE FUNCTION ts_get(rel text, op text, OUT calls bigint, OUT errors bigint, OUT rows bigint)
LANGUAGE sql AS $$
  SELECT calls, errors, rows FROM observa.table_stats
   WHERE relname = rel AND operation = op AND datname = current_database()
$$;

-- 1. exact counts: 50 single-row SELECTs give calls = 50, rows = 50
\o /dev/null
SELECT format('SELECT v FROM ts_a WHERE id = %s', g) FROM generate_series(1, 50) g \gexec
\o
SELECT * FROM ts_get('ts_a', 'SELECT');
-- scans returning several rows: rows is the sum
SELECT count(*) FROM (SELECT * FROM ts_a WHERE id <= 30) s;
SELECT id FROM ts_a WHERE id <= 3 ORDER BY id;
SELECT * FROM ts_get('ts_a', 'SELECT');

-- 2. DML operations count for their target
SELECT observa.reset() IS NOT NULL AS reset;
UPDATE ts_a SET v = v + 1 WHERE id <= 10;
DELETE FROM ts_b WHERE id > 18;
INSERT INTO ts_b VALUES (19, 1), (20, 2), (21, 3);
SELECT relname, operation, calls, errors, rows FROM observa.table_stats
 WHERE datname = current_database() ORDER BY relname COLLATE "C", operation COLLATE "C";

-- 3. a join counts once for each table it touches, with the statement's rows
SELECT observa.reset() IS NOT NULL AS reset;
SELECT count(*) FROM ts_a JOIN ts_b ON ts_b.a_id = ts_a.id;
-- the same table twice (self-join) counts once
SELECT count(*) FROM ts_a x JOIN ts_a y ON x.id = y.id;
SELECT relname, operation, calls, rows FROM observa.table_stats
 WHERE datname = current_database() ORDER BY relname COLLATE "C";

-- 4. DML target and the tables it reads: every relation of the statement
--    is counted under the statement's operation
SELECT observa.reset() IS NOT NULL AS reset;
UPDATE ts_a SET v = 0 FROM ts_b WHERE ts_b.a_id = ts_a.id AND ts_b.id = 1;
INSERT INTO ts_b SELECT id + 1000, id FROM ts_a WHERE id <= 5;
SELECT relname, operation, calls, rows FROM observa.table_stats
 WHERE datname = current_database() ORDER BY relname COLLATE "C", operation COLLATE "C";

-- 5. views: the view and the tables under it
CREATE VIEW ts_v AS SELECT a.id, b.id AS bid FROM ts_a a JOIN ts_b b ON b.a_id = a.id;
SELECT observa.reset() IS NOT NULL AS reset;
SELECT count(*) FROM ts_v;
SELECT relname, operation, calls FROM observa.table_stats
 WHERE datname = current_database() ORDER BY relname COLLATE "C";

-- 6. CTEs and subqueries: the tables they read
SELECT observa.reset() IS NOT NULL AS reset;
WITH c AS (SELECT a_id FROM ts_b WHERE id < 5) SELECT count(*) FROM c;
SELECT count(*) FROM ts_a WHERE id IN (SELECT a_id FROM ts_b);
-- a data-modifying CTE counts under the statement's operation (SELECT)
WITH d AS (DELETE FROM ts_b WHERE id >= 1000 RETURNING a_id) SELECT count(*) FROM d;
SELECT relname, operation, calls, rows FROM observa.table_stats
 WHERE datname = current_database() ORDER BY relname COLLATE "C", operation COLLATE "C";

-- 7. partitions: the parent and the partitions not pruned by the planner
CREATE TABLE ts_p (k int, v int) PARTITION BY RANGE (k);
CREATE TABLE ts_p1 PARTITION OF ts_p FOR VALUES FROM (0) TO (100);
CREATE TABLE ts_p2 PARTITION OF ts_p FOR VALUES FROM (100) TO (200);
INSERT INTO ts_p SELECT g, g FROM generate_series(0, 199) g;
SELECT observa.reset() IS NOT NULL AS reset;
SELECT count(*) FROM ts_p;
SELECT relname, calls FROM observa.table_stats
 WHERE datname = current_database() ORDER BY relname COLLATE "C";
-- pruned at plan time: ts_p1 is not touched
SELECT observa.reset() IS NOT NULL AS reset;
SELECT count(*) FROM ts_p WHERE k = 150;
SELECT relname, calls FROM observa.table_stats
 WHERE datname = current_database() ORDER BY relname COLLATE "C";
-- a partition read directly: only the partition
SELECT observa.reset() IS NOT NULL AS reset;
SELECT count(*) FROM ts_p1;
SELECT relname, calls FROM observa.table_stats
 WHERE datname = current_database() ORDER BY relname COLLATE "C";
-- an INSERT routed to a partition: the parent (the target) only
SELECT observa.reset() IS NOT NULL AS reset;
INSERT INTO ts_p VALUES (5, 5);
SELECT relname, operation, calls FROM observa.table_stats
 WHERE datname = current_database() ORDER BY relname COLLATE "C";

-- 8. utility statements: operation is the command tag
SELECT observa.reset() IS NOT NULL AS reset;
CREATE INDEX ts_a_v ON ts_a (v);
VACUUM ts_b;
ANALYZE ts_a;
TRUNCATE ts_p2;
SELECT relname, operation, calls, errors FROM observa.table_stats
 WHERE datname = current_database() ORDER BY relname COLLATE "C", operation COLLATE "C";

-- 9. errors: counted in errors and in calls, with no rows
SELECT observa.reset() IS NOT NULL AS reset;
SELECT 1 / (v - v) FROM ts_a WHERE id = 5;
SELECT 1 / (v - v) FROM ts_a WHERE id = 6;
SELECT v FROM ts_a WHERE id = 7;
INSERT INTO ts_b VALUES (1, 1);
SELECT * FROM ts_get('ts_a', 'SELECT');
SELECT * FROM ts_get('ts_b', 'INSERT');
-- a statement_timeout cancel counts, with the time it ran
SET statement_timeout = '100ms';
SELECT pg_sleep(2) FROM ts_a WHERE id = 1;
RESET statement_timeout;
SELECT calls, errors, max_time_ms >= 90 AS ran_until_cancel,
       max_time_ms < 2000 AS cancelled
  FROM observa.table_stats WHERE relname = 'ts_a' AND operation = 'SELECT';

-- 10. percentiles of statements of known duration: 18 x 1 ms, 2 x 30 ms
-- (within the sketch's 1 % of the true value)
SELECT observa.reset() IS NOT NULL AS reset;
\o /dev/null
SELECT format('SELECT pg_sleep(%s) FROM ts_b WHERE id = 1', CASE WHEN g % 10 = 0 THEN '0.030' ELSE '0.001' END)
  FROM generate_series(1, 20) g \gexec
\o
SELECT calls,
       p50_ms >= 0.99 AND p50_ms < 30 * 0.99 AS p50_is_a_short_one,
       p95_ms >= 30 * 0.99 AND p95_ms <= max_time_ms AS p95_is_a_long_one,
       p99_ms >= 30 * 0.99 AND p99_ms <= max_time_ms AS p99_is_a_long_one,
       min_time_ms >= 1 AND min_time_ms <= p50_ms AS min_ok,
       abs(mean_time_ms - total_time_ms / calls) < 1e-9 AS mean_ok,
       stddev_time_ms > 5 AS stddev_ok
  FROM observa.table_stats WHERE relname = 'ts_b' AND operation = 'SELECT';
-- table_percentiles agrees with the view, in the order asked
SELECT quantile, value_ms = (SELECT CASE quantile WHEN 0.5 THEN p50_ms WHEN 0.95 THEN p95_ms ELSE p99_ms END
                               FROM observa.table_stats WHERE relname = 'ts_b' AND operation = 'SELECT') AS same
  FROM observa.table_percentiles(ARRAY[0.99, 0.5, 0.95]) WHERE relname = 'ts_b';
SELECT bool_and(value_ms >= (SELECT min_time_ms FROM observa.table_stats WHERE relname = 'ts_b' AND operation = 'SELECT'))
       AS q0_is_min
  FROM observa.table_percentiles(ARRAY[0]) WHERE relname = 'ts_b';
-- latency buckets: cumulative, monotonic, Infinity = calls (25 ms lies
-- between the 1 ms and the 30 ms statements even on a loaded machine)
SELECT le_ms, count FROM observa.table_latency_buckets(ARRAY[100, 0.5, 25, 25])
 WHERE relname = 'ts_b' ORDER BY le_ms;

-- 11. windows: the recent windows hold what the totals hold
SELECT t.calls = w.calls AS calls, t.errors = w.errors AS errors, t.rows = w.rows AS rows,
       abs(t.total_time_ms - w.total_time_ms) < 1e-6 AS total, t.p95_ms = w.p95_ms AS p95,
       t.min_time_ms = w.min_time_ms AND t.max_time_ms = w.max_time_ms AS minmax,
       w.stats_since <= now() AS since
  FROM observa.table_stats t JOIN observa.table_stats('5 min') w USING (relid, operation)
 WHERE t.relname = 'ts_b';
SELECT count(*) FROM observa.table_stats('1 day') WHERE relname = 'ts_b';

-- 12. names are resolved when read: renames show, drops leave NULL names
ALTER TABLE ts_b RENAME TO ts_b2;
SELECT relname, operation, calls FROM observa.table_stats WHERE relname LIKE 'ts_b%';
CREATE TABLE ts_gone (i int);
SELECT * FROM ts_gone;
SELECT 'ts_gone'::regclass::oid AS gone_oid \gset
DROP TABLE ts_gone;
SELECT schemaname IS NULL AND relname IS NULL AS names_null, operation, calls
  FROM observa.table_stats WHERE relid = :gone_oid AND operation = 'SELECT';

-- 13. bad arguments
SELECT * FROM observa.table_percentiles(NULL);
SELECT * FROM observa.table_percentiles('{}');
SELECT * FROM observa.table_percentiles(ARRAY[0.5, NULL]);
SELECT * FROM observa.table_percentiles(ARRAY[0.5, 1.5]);
SELECT * FROM observa.table_percentiles(ARRAY[-0.1]);
SELECT * FROM observa.table_percentiles(ARRAY['NaN'::float8]);
SELECT * FROM observa.table_percentiles(ARRAY[[0.5], [0.9]]);
SELECT * FROM observa.table_stats(NULL);
SELECT * FROM observa.table_stats('0 s');
SELECT * FROM observa.table_stats('-5 min');
SELECT * FROM observa.table_latency_buckets(NULL);
SELECT * FROM observa.table_latency_buckets('{}');
SELECT * FROM observa.table_latency_buckets(ARRAY[1, -1]);
SELECT * FROM observa.table_latency_buckets(ARRAY[1, NULL]);

-- 14. observa.info reports the store
SELECT name FROM observa.info WHERE section = 'table_stats' ORDER BY name COLLATE "C";
SELECT value::int > 0 AS has_entries FROM observa.info WHERE section = 'table_stats' AND name = 'entries';

-- 15. privileges: reset is not for PUBLIC, reading is
SELECT has_function_privilege('public', 'observa.reset()', 'EXECUTE') AS public_reset,
       has_table_privilege('public', 'observa.table_stats', 'SELECT') AS public_view,
       has_function_privilege('public', 'observa.table_percentiles(float8[])', 'EXECUTE') AS public_pct;

DROP VIEW ts_v;
DROP TABLE ts_a, ts_b2, ts_p;
DROP FUNCTION ts_get;

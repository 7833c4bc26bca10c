--
-- observa.statement_stats: one entry per (queryid, userid, dbid, toplevel),
-- exact counts, operations, relations, nesting, errors, windows,
-- top_statements, privileges and bad arguments.  The query column is
-- only compared with '<insufficient privilege>' (texts come from the
-- query-text store).
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS observa;
CREATE TABLE ss_a (id int PRIMARY KEY, v int);
CREATE TABLE ss_b (id int PRIMARY KEY, a_id int);
INSERT INTO ss_a SELECT g, g % 10 FROM generate_series(1, 100) g;
INSERT INTO ss_b SELECT g, g FROM generate_series(1, 20) g;
RESET client_min_messages;
SELECT observa.reset() IS NOT NULL AS reset;

-- 1. constants do not make new statements: 20 calls of one queryid
\o /dev/null
SELECT format('SELECT v FROM ss_a WHERE id = %s', g) FROM generate_series(1, 20) g \gexec
-- comments and spacing do not either
SELECT /* one */ v FROM ss_a WHERE id = 1;
SELECT v   FROM ss_a  WHERE id = 2 -- two
;
\o
SELECT operation, calls, errors, rows, toplevel, relations, username = current_user AS me,
       datname = current_database() AS db
  FROM observa.statement_stats WHERE relations = '{ss_a}'::regclass[];
-- another shape is another statement
SELECT count(*) FROM ss_a WHERE v = 3;
SELECT count(*) FROM ss_a JOIN ss_b ON ss_b.a_id = ss_a.id;
SELECT operation, calls, rows, relations FROM observa.statement_stats
 WHERE relations && '{ss_a,ss_b}'::regclass[] ORDER BY calls DESC, cardinality(relations), rows;

-- 2. operations: DML and utility (command tag)
SELECT observa.reset() IS NOT NULL AS reset;
UPDATE ss_a SET v = v + 1 WHERE id <= 5;
UPDATE ss_a SET v = v + 1 WHERE id <= 7;
INSERT INTO ss_b VALUES (100, 1);
DELETE FROM ss_b WHERE id = 100;
CREATE INDEX ss_a_v ON ss_a (v);
SELECT operation, calls, rows, relations FROM observa.statement_stats
 WHERE relations && '{ss_a,ss_b}'::regclass[] ORDER BY operation COLLATE "C";

-- 3. errors are counted, with the time they ran
SELECT observa.reset() IS NOT NULL AS reset;
SELECT 1 / (v - v) FROM ss_a WHERE id = 5;
SELECT 1 / (v - v) FROM ss_a WHERE id = 6;
SELECT 1 / v FROM ss_a WHERE id = 1;
SELECT calls, errors, rows, min_time_ms > 0 AS timed FROM observa.statement_stats
 WHERE relations = '{ss_a}'::regclass[];

-- 4. nesting: with observa.track = all, statements run by functions are
--    entries with toplevel = false
CREATE FUNCTION ss_count() RETURNS bigint LANGUAGE plpgsql AS
$$ BEGIN RETURN (SELECT count(*) FROM ss_b); END $$;
SELECT observa.reset() IS NOT NULL AS reset;
SET observa.track = 'all';
SELECT ss_count();
SELECT ss_count();
SELECT ss_count();
RESET observa.track;
SELECT ss_count();
SELECT toplevel, calls, rows, relations FROM observa.statement_stats
 WHERE relations = '{ss_b}'::regclass[] ORDER BY toplevel;

-- 5. percentiles: ordered, within [min, max], same as statement_percentiles;
-- a percentile is within the sketch's 1 % relative error of the value
SELECT observa.reset() IS NOT NULL AS reset;
\o /dev/null
SELECT format('SELECT pg_sleep(%s) FROM ss_b WHERE id = 1', CASE WHEN g % 10 = 0 THEN '0.030' ELSE '0.001' END)
  FROM generate_series(1, 20) g \gexec
\o
SELECT calls, p50_ms >= 0.99 AND p50_ms < 30 AS p50_ok, p95_ms >= 30 * 0.99 AND p95_ms <= max_time_ms AS p95_ok,
       p99_ms >= p95_ms AS p99_ok
  FROM observa.statement_stats WHERE relations = '{ss_b}'::regclass[];
SELECT p.quantile, p.value_ms = CASE p.quantile WHEN 0.5 THEN s.p50_ms WHEN 0.95 THEN s.p95_ms ELSE s.p99_ms END AS same
  FROM observa.statement_stats s
  JOIN observa.statement_percentiles(ARRAY[0.95, 0.5, 0.99]) p USING (queryid, userid, dbid, toplevel)
 WHERE s.relations = '{ss_b}'::regclass[];

-- 6. windows agree with the totals
SELECT t.calls = w.calls AND t.rows = w.rows AND t.p99_ms = w.p99_ms
       AND abs(t.total_time_ms - w.total_time_ms) < 1e-6 AS same
  FROM observa.statement_stats t JOIN observa.statement_stats('5 min') w
       USING (queryid, userid, dbid, toplevel)
 WHERE t.relations = '{ss_b}'::regclass[];

-- 7. top_statements
SELECT calls, relations FROM observa.top_statements('calls', 1);
SELECT count(*) <= 3 AS at_most_3 FROM observa.top_statements('p95', 3);
SELECT count(*) > 0 AS some FROM observa.top_statements();
SELECT bool_and(ok) AS ordered FROM (
  SELECT total_time_ms >= lead(total_time_ms) OVER () OR lead(total_time_ms) OVER () IS NULL AS ok
    FROM observa.top_statements('total_time', 5)) s;
SELECT count(*) FROM observa.top_statements(by => 'errors', lim => 2);
SELECT * FROM observa.top_statements('bogus');
SELECT * FROM observa.top_statements(NULL);
SELECT * FROM observa.top_statements('calls', 0);
SELECT * FROM observa.top_statements('calls', NULL);

-- 8. bad arguments
SELECT * FROM observa.statement_percentiles(NULL);
SELECT * FROM observa.statement_percentiles('{}');
SELECT * FROM observa.statement_percentiles(ARRAY[NULL]::float8[]);
SELECT * FROM observa.statement_percentiles(ARRAY[2]);
SELECT * FROM observa.statement_stats(NULL);
SELECT * FROM observa.statement_stats('-1 s');

-- 9. privileges: text only for one's own statements (or with
--    pg_read_all_stats); numbers for everyone
SET client_min_messages = warning;
DROP ROLE IF EXISTS observa_ss_r1;
DROP ROLE IF EXISTS observa_ss_r2;
DROP ROLE IF EXISTS observa_ss_r3;
RESET client_min_messages;
CREATE ROLE observa_ss_r1;
CREATE ROLE observa_ss_r2;
CREATE ROLE observa_ss_r3 IN ROLE pg_read_all_stats;
GRANT SELECT ON ss_a TO observa_ss_r1;
SELECT observa.reset() IS NOT NULL AS reset;
SET ROLE observa_ss_r1;
SELECT count(*) FROM ss_a WHERE v = 42;
SELECT count(*) FROM ss_a WHERE v = 43;
SELECT calls, query IS DISTINCT FROM '<insufficient privilege>' AS text_visible
  FROM observa.statement_stats WHERE relations = '{ss_a}'::regclass[];
SET ROLE observa_ss_r2;
SELECT username, calls, query AS text
  FROM observa.statement_stats WHERE relations = '{ss_a}'::regclass[];
SET ROLE observa_ss_r3;
SELECT username, calls, query IS DISTINCT FROM '<insufficient privilege>' AS text_visible
  FROM observa.statement_stats WHERE relations = '{ss_a}'::regclass[];
RESET ROLE;
SELECT username, calls, query IS DISTINCT FROM '<insufficient privilege>' AS text_visible
  FROM observa.statement_stats WHERE relations = '{ss_a}'::regclass[];
-- reset is not for PUBLIC
SET ROLE observa_ss_r2;
SELECT observa.reset();
RESET ROLE;

-- 10. observa.info
SELECT name, value::int > 0 AS positive FROM observa.info
 WHERE section = 'statement_stats' AND name IN ('capacity', 'entries', 'shared_memory_bytes')
 ORDER BY name COLLATE "C";

DROP TABLE ss_a, ss_b;
DROP FUNCTION ss_count;
DROP ROLE observa_ss_r1, observa_ss_r2, observa_ss_r3;

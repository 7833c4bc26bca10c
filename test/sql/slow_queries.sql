--
-- Slow-query ring: threshold, captured fields, parameters, truncation,
-- plans, errors, argument checks.  The shared cluster has the default ring
-- (1000 slots, 500-character texts, 200-character parameters, 8kB plans);
-- the threshold is set in this session only.  Each statement embeds a
-- marker so that other tests' slow statements never disturb the checks.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS observa;
RESET client_min_messages;
CREATE TABLE slow_t (id int PRIMARY KEY, v text);
INSERT INTO slow_t SELECT g, 'v' || g FROM generate_series(1, 100) g;
SELECT observa.reset_slow_queries();
SELECT count(*) AS after_reset FROM observa.slow_queries;

-- the threshold is a time setting, superuser-only, -1 disables
SET observa.slow_query_threshold = '0.1s';
SHOW observa.slow_query_threshold;
SET observa.slow_query_threshold = -2;

-- just under and just over the threshold
SET observa.slow_query_threshold = '100ms';
SELECT pg_sleep(0.06) AS under_marker;
SELECT pg_sleep(0.1) AS over_marker;
SELECT query, duration_ms >= 100 AS over_threshold, operation, toplevel,
       rows, params IS NULL AS no_params, plan IS NULL AS no_plan,
       error IS NULL AS no_error
  FROM observa.slow_queries
 WHERE query LIKE '%\_marker' ORDER BY seq;
-- who, where, when
SELECT datname = current_database() AS datname_ok,
       username = current_user AS username_ok,
       pid = pg_backend_pid() AS pid_ok,
       application_name = current_setting('application_name') AS app_ok,
       client_addr IS NOT DISTINCT FROM inet_client_addr() AS addr_ok,
       queryid IS NOT NULL AS has_queryid,
       ts BETWEEN now() - interval '1 minute' AND clock_timestamp() AS ts_ok
  FROM observa.slow_queries WHERE query LIKE '%over\_marker';

-- disabled
SET observa.slow_query_threshold = -1;
SELECT pg_sleep(0.11) AS disabled_marker;
SELECT count(*) AS disabled_captured
  FROM observa.slow_queries WHERE query LIKE '%disabled\_marker';
SET observa.slow_query_threshold = '100ms';

-- the statement's own text out of a multi-statement string, and its tables
SELECT 1 AS first_part\; SELECT pg_sleep(0.1), v AS multi_marker FROM slow_t WHERE id = 3\; SELECT 3 AS third_part;
SELECT query, relations, cardinality(relids) AS nrelids, rows
  FROM observa.slow_queries WHERE query LIKE '%multi\_marker%';

-- parameters of PREPARE/EXECUTE come from the EXECUTE
PREPARE slow_p(int, text, int) AS
  SELECT pg_sleep(0.1), v AS prepared_marker FROM slow_t WHERE id = $1 AND v <> $2 AND $3 IS NULL;
EXECUTE slow_p(7, 'it''s', NULL);
SELECT params, params_truncated, rows
  FROM observa.slow_queries WHERE query LIKE '%prepared\_marker%';
-- long parameters are truncated to observa.slow_query_params_limit (200) and marked
EXECUTE slow_p(8, repeat('p', 300), NULL);
SELECT length(params) AS params_length, params_truncated, params LIKE '%...' AS marked
  FROM observa.slow_queries WHERE query LIKE '%prepared\_marker%' ORDER BY seq DESC LIMIT 1;
-- capture_params off: the parameters are known to exist but not kept
SET observa.slow_query_capture_params = off;
EXECUTE slow_p(9, 'secret', NULL);
SELECT params FROM observa.slow_queries WHERE query LIKE '%prepared\_marker%' ORDER BY seq DESC LIMIT 1;
RESET observa.slow_query_capture_params;
DEALLOCATE slow_p;

-- long texts are truncated to observa.slow_query_text_limit (500) and marked
\set ECHO none
\o /dev/null
SELECT format('SELECT pg_sleep(0.1), %L AS long_marker', repeat('x', 600)) \gexec
\o
\set ECHO all
SELECT length(query) AS query_length, query_truncated, query LIKE '%...' AS marked
  FROM observa.slow_queries WHERE query LIKE 'SELECT pg\_sleep(0.1), ''xxx%';

-- a statement that fails after crossing the threshold keeps its error
SET statement_timeout = '150ms';
SELECT pg_sleep(2) AS timeout_marker;
RESET statement_timeout;
SELECT error, duration_ms >= 100 AS over_threshold
  FROM observa.slow_queries WHERE query LIKE '%timeout\_marker';
-- failed with bind parameters: no catalog access on the error path, so the
-- parameters are not rendered (a generic plan divides at run time)
PREPARE slow_fail(int) AS SELECT pg_sleep(0.1) AS fail_marker, 1 / $1;
SET plan_cache_mode = force_generic_plan;
EXECUTE slow_fail(0);
RESET plan_cache_mode;
SELECT error, params FROM observa.slow_queries WHERE query LIKE '%fail\_marker%';
DEALLOCATE slow_fail;

-- utility statements too
DO $$ BEGIN PERFORM pg_sleep(0.1); END $$ /* do_marker */;
SELECT operation, toplevel FROM observa.slow_queries WHERE query LIKE '%do\_marker%';

-- plans: text, json, with actual rows
SET observa.slow_query_plan = 'text';
SELECT pg_sleep(0.1), v AS plan_text_marker FROM slow_t WHERE v = 'v5';
SELECT plan ~ 'Seq Scan on slow_t' AS has_scan, plan !~ 'actual' AS estimated_only,
       plan_truncated
  FROM observa.slow_queries WHERE query LIKE '%plan\_text\_marker%';
SET observa.slow_query_plan = 'json';
SELECT pg_sleep(0.1), v AS plan_json_marker FROM slow_t WHERE v = 'v5';
SELECT plan::json -> 'Plan' ->> 'Node Type' AS top_node
  FROM observa.slow_queries WHERE query LIKE '%plan\_json\_marker%';
SET observa.slow_query_plan = 'text';
SET observa.slow_query_plan_analyze = on;
SELECT pg_sleep(0.1), v AS plan_analyze_marker FROM slow_t WHERE v = 'v5';
SELECT plan ~ 'Seq Scan on slow_t .*actual rows=1 loops=1' AS actual_rows
  FROM observa.slow_queries WHERE query LIKE '%plan\_analyze\_marker%';
RESET observa.slow_query_plan_analyze;
-- a plan longer than observa.slow_query_plan_limit (8kB) is cut and marked
\set ECHO none
\o /dev/null
SELECT 'SELECT 0 FROM pg_sleep(0.1) AS big_plan_marker' ||
       string_agg(format(' UNION ALL SELECT %s FROM slow_t WHERE v = %L', g, 'v' || g), '')
  FROM generate_series(1, 100) g \gexec
\o
\set ECHO all
SELECT plan_truncated, octet_length(plan) BETWEEN 8000 AND 8195 AS clipped_to_limit
  FROM observa.slow_queries WHERE query LIKE '%big\_plan\_marker%';
SET observa.slow_query_plan = 'yaml';
RESET observa.slow_query_plan;

-- newest first; lim picks the newest
SELECT bool_and(seq > next_seq) AS newest_first
  FROM (SELECT seq, lead(seq) OVER () AS next_seq FROM observa.slow_queries) s
 WHERE next_seq IS NOT NULL;
SELECT (SELECT array_agg(seq) FROM observa.slow_queries(3)) =
       (SELECT array_agg(seq) FROM (SELECT seq FROM observa.slow_queries LIMIT 3) s)
       AS lim_takes_newest;
SELECT count(*) AS lim_zero FROM observa.slow_queries(0);

-- bad arguments change nothing
SELECT * FROM observa.slow_queries(NULL);
SELECT * FROM observa.slow_queries(-1);
SELECT count(*) > 0 AS still_there FROM observa.slow_queries;

-- info: capacity, entries, captured, dropped
SELECT name, value::bigint >= 0 AS ok FROM observa.info
 WHERE section = 'slow_queries' AND name <> 'stats_reset' ORDER BY name COLLATE "C";
SELECT (SELECT value::int FROM observa.info WHERE section = 'slow_queries' AND name = 'entries') =
       (SELECT count(*) FROM observa.slow_queries) AS entries_match;
-- sizes are fixed at server start
SET observa.slow_query_ring_size = 10;

SELECT observa.reset_slow_queries();
SELECT count(*) AS after_reset FROM observa.slow_queries;
SELECT value AS captured_after_reset FROM observa.info
 WHERE section = 'slow_queries' AND name = 'slow_queries_captured';
RESET observa.slow_query_threshold;
DROP TABLE slow_t;

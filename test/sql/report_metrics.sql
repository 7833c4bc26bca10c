--
-- Prometheus series (docs/prometheus.md): histogram layout, cumulative
-- buckets, +Inf = _count, custom bounds, bad bounds, the text format.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS observa;
RESET client_min_messages;
\set SHOW_CONTEXT never

CREATE TABLE report_m (id int PRIMARY KEY, v int);
INSERT INTO report_m VALUES (1, 1), (2, 2);
-- three quick statements and two that sleep 12 ms (always over 10 ms)
SELECT v FROM report_m WHERE id = 1;
SELECT v FROM report_m WHERE id = 2;
SELECT v FROM report_m WHERE id = 1;
SELECT pg_sleep(0.012) FROM report_m WHERE id = 1;
SELECT pg_sleep(0.012) FROM report_m WHERE id = 2;
-- and one that fails in the executor
SELECT 1 / (v - 1) FROM report_m WHERE id = 1;

-- the series of report_m's SELECTs, default bounds
SELECT metric, type, le,
       CASE WHEN metric LIKE '%bucket' AND le IN ('0.001', '0.005', '0.01') THEN value <= 4
            WHEN metric LIKE '%bucket' AND le = '0.025' THEN value BETWEEN 4 AND 6
            WHEN metric LIKE '%bucket' THEN value = 6
            WHEN metric LIKE '%sum' THEN value >= 0.024
            WHEN metric LIKE '%count' THEN value = 6
            ELSE value = 1 END AS expected
  FROM observa.metrics
 WHERE "table" = 'report_m' AND operation = 'SELECT' AND datname = current_database()
   AND schemaname = 'public';

-- the same through metrics_histograms() (postgres_exporter's layout)
SELECT duration_seconds, duration_seconds_count, errors_total,
       duration_seconds_bucket[3] <= 4 AS under_10ms_excludes_sleeps,
       duration_seconds_bucket[5:12] = array_fill(6::bigint, ARRAY[8]) AS from_50ms_all
  FROM observa.metrics_histograms()
 WHERE "table" = 'report_m' AND operation = 'SELECT' AND datname = current_database();

-- custom bounds
SELECT le, value FROM observa.metrics('{0.011,60}')
 WHERE metric = 'observa_query_duration_seconds_bucket' AND "table" = 'report_m'
   AND operation = 'SELECT' AND datname = current_database() AND le <> '0.011';
SELECT value <= 4 AS under_11ms FROM observa.metrics('{0.011,60}')
 WHERE metric = 'observa_query_duration_seconds_bucket' AND "table" = 'report_m'
   AND operation = 'SELECT' AND datname = current_database() AND le = '0.011';

-- every histogram: cumulative, +Inf = _count, one family each
SELECT bool_and(ok) AS cumulative FROM (
    SELECT value >= lag(value, 1, 0::float8) OVER (PARTITION BY datname, operation, schemaname, "table" ORDER BY o) AS ok
      FROM (SELECT m.*, row_number() OVER () AS o FROM observa.metrics m
             WHERE metric = 'observa_query_duration_seconds_bucket') b) x;
SELECT count(*) AS inf_not_count
  FROM observa.metrics b JOIN observa.metrics c USING (datname, operation, schemaname, "table")
 WHERE b.metric = 'observa_query_duration_seconds_bucket' AND b.le = '+Inf'
   AND c.metric = 'observa_query_duration_seconds_count' AND b.value <> c.value;
SELECT metric, min(type) AS type FROM observa.metrics
 WHERE metric LIKE 'observa_query%' GROUP BY metric ORDER BY metric COLLATE "C";

-- bad bounds
SELECT * FROM observa.metrics(NULL);
SELECT * FROM observa.metrics('{}');
SELECT * FROM observa.metrics('{0.1,0.05}');
SELECT * FROM observa.metrics('{0.1,0.1}');
SELECT * FROM observa.metrics('{0,1}');
SELECT * FROM observa.metrics('{-1}');
SELECT * FROM observa.metrics('{1,NaN}');
SELECT * FROM observa.metrics('{1,Infinity}');
SELECT * FROM observa.metrics('{1,NULL}');
SELECT * FROM observa.metrics('{{1,2},{3,4}}');
SELECT * FROM observa.metrics_histograms(array_fill(1::float8, ARRAY[101]));

-- text exposition: report_m's lines
SELECT regexp_replace(l, 'le="0.011"} [0-9]+$', 'le="0.011"} N') AS line
  FROM regexp_split_to_table(observa.prometheus('{0.011}'), E'\n') l
 WHERE l LIKE '# %observa_query%' OR (l LIKE '%table="report_m"%' AND l LIKE '%operation="SELECT"%'
                                       AND l NOT LIKE '%_sum{%');
SELECT observa.prom_label(E'a"b\\c\nd') AS escaped;

DROP TABLE report_m;

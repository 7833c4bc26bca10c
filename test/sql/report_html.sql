--
-- observa.report_html() and its helpers: escaping, the SVG histogram and
-- table helpers with bad input, the page's sections with an empty and a
-- small workload, a hostile statement text, and privileges.  The page is
-- rendered in Chromium by test/t/803_report_html.pl.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS observa;
DROP SCHEMA IF EXISTS rh CASCADE;
RESET client_min_messages;

-- escaping: the five HTML specials, NULL as empty
SELECT observa.html_escape($$<a href="x">'&'</a>$$) AS escaped,
       observa.html_escape(NULL) = '' AS null_empty;

-- the log axis: 0.01 ms at 0, 100 s at the width, clamped outside
SELECT observa.html_log_x(0.01, 700) AS x_min, observa.html_log_x(1, 700) AS x_1ms,
       observa.html_log_x(1e5, 700) AS x_max, observa.html_log_x(0.0001, 700) AS below,
       observa.html_log_x(1e9, 700) AS above, observa.html_log_x(NULL, 700) AS null_x;

-- a histogram: one bar per non-empty bucket, the overflow bucket marked,
-- percentile lines with escaped labels
SELECT (SELECT count(*) FROM regexp_matches(h, '<rect class="bar"', 'g')) AS bars,
       (SELECT count(*) FROM regexp_matches(h, '<rect class="bar over"', 'g')) AS over_bars,
       (SELECT count(*) FROM regexp_matches(h, '<line class="mark"', 'g')) AS marks,
       h ~ '^<svg class="hist" ' AND h ~ '</svg>$' AS svg,
       h ~ '&lt;p&gt; 2' AS label_escaped
  FROM observa.html_histogram(ARRAY[1, 10, 100, 'Infinity']::float8[], ARRAY[5, 5, 9, 10]::bigint[],
                              '{"p50": 0.5, "<p>": 2}') h;
-- bad input: a clear error, nothing drawn
SELECT observa.html_histogram(ARRAY[1, 10]::float8[], ARRAY[1]::bigint[], '{}');
SELECT observa.html_histogram(NULL, ARRAY[1]::bigint[], '{}');

-- a table: headers and every cell escaped
SELECT observa.html_table('[{"a": "<b>", "n": 1}]', ARRAY[['A & B', 'a', 'code'], ['n', 'n', 'num']]) AS tbl;
SELECT observa.html_table('[]', ARRAY['a', 'b', 'c']);
SELECT observa.html_table('{}', ARRAY[['a', 'a', 'code']]);

-- the page: every section, even with nothing to show
SELECT observa.reset() IS NOT NULL AS reset;
SELECT observa.reset_slow_queries();
SELECT p ~ '^<!DOCTYPE html>' AS doctype,
       p ~ '<section id="latency">.*<section id="timeline">.*<section id="tenants">.*<section id="slow-queries">.*<section id="regressions">.*<section id="indexes">' AS sections,
       p ~ '<h3 id="recommendations">' AND p ~ '<h3 id="hygiene">' AS index_parts,
       p !~* '<script' AS no_script,
       p !~* '(src|href)\s*=\s*"(?!#)' AS nothing_loaded
  FROM observa.report_html() p;

-- with a statement whose text is hostile and slow enough for the ring
CREATE SCHEMA rh;
CREATE TABLE rh.t (id int PRIMARY KEY, v int);
INSERT INTO rh.t SELECT g, g FROM generate_series(1, 100) g;
SET observa.slow_query_threshold = '50ms';
SELECT count(*) FROM rh.t WHERE v < 50;
SELECT pg_sleep(0.06) AS "<script>alert(1)</script>";
RESET observa.slow_query_threshold;
SELECT p ~ '<h3>Operations, by total time</h3><div class="grid"><figure class="dist"><figcaption><b>[A-Z ]+</b> <span class="dim">[0-9]+ calls on tables' AS operation_histogram,
       p ~ '<figure class="dist"><figcaption><b>SELECT</b> rh\.t ' AS table_histogram,
       p ~ '<svg class="spread"' AS statement_spread,
       p ~ '<details class="slow"><summary>' AS slow_collapsible,
       p ~ '&lt;script&gt;alert\(1\)&lt;/script&gt;' AS text_escaped,
       p !~* '<script' AS no_script
  FROM observa.report_html() p;

-- privileges: PUBLIC may not read it; pg_read_all_stats may
CREATE ROLE rh_nobody;
CREATE ROLE rh_reader IN ROLE pg_read_all_stats;
SET ROLE rh_nobody;
SELECT length(observa.report_html()) > 0;
RESET ROLE;
SET ROLE rh_reader;
SELECT length(observa.report_html()) > 0 AS reader_reads;
RESET ROLE;
DROP ROLE rh_nobody;
DROP ROLE rh_reader;
DROP SCHEMA rh CASCADE;

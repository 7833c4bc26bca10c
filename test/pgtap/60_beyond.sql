-- pgTAP: the SQL API of index hygiene, plan fingerprints, regressions and
-- the HTML report: functions, result columns, privileges (PUBLIC may call none of
-- them, pg_read_all_stats all of them).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS observa;
RESET client_min_messages;

BEGIN;
SELECT plan(12);

SELECT is((SELECT proargnames FROM pg_proc WHERE oid = 'observa.index_hygiene()'::regprocedure),
          ARRAY['schemaname', 'tablename', 'indexname', 'kind', 'kinds', 'covered_by', 'index_scans',
                'scans_since', 'size_bytes', 'index_writes_per_s', 'write_bytes_per_s',
                'non_hot_update_pct', 'reason', 'drop_statement'],
          'index_hygiene() has the documented columns, in order');
SELECT is(pg_get_function_arguments('observa.index_hygiene()'::regprocedure),
          'OUT schemaname name, OUT tablename name, OUT indexname name, OUT kind text, OUT kinds text[], OUT covered_by text, OUT index_scans bigint, OUT scans_since timestamp with time zone, OUT size_bytes bigint, OUT index_writes_per_s double precision, OUT write_bytes_per_s double precision, OUT non_hot_update_pct double precision, OUT reason text, OUT drop_statement text',
          'index_hygiene() column types');
SELECT is((SELECT proargnames FROM pg_proc WHERE oid = 'observa.plan_fingerprints()'::regprocedure),
          ARRAY['queryid', 'userid', 'fingerprint', 'first_seen', 'last_seen', 'samples', 'current'],
          'plan_fingerprints() has the documented columns, in order');
SELECT is(pg_get_function_result('observa.report_html()'::regprocedure), 'text', 'report_html() returns text');
SELECT is((SELECT proargnames FROM pg_proc WHERE oid = 'observa.regressions(interval, text, float8, bigint)'::regprocedure),
          ARRAY['recent', 'baseline', 'min_ratio', 'min_calls', 'kind', 'queryid', 'datname', 'schemaname',
                'relname', 'operation', 'query', 'regressed_on', 'recent_calls', 'baseline_calls',
                'recent_p95_ms', 'baseline_p95_ms', 'recent_mean_ms', 'baseline_mean_ms', 'p95_ratio',
                'mean_ratio', 'mean_z', 'started_at', 'slow_windows', 'window_length', 'plan_changed',
                'fingerprint_before', 'fingerprint_now', 'slow_query_at', 'slow_query_ms', 'slow_query_plan',
                'recent_since', 'baseline_since', 'baseline_until'],
          'regressions() has the documented arguments and columns, in order');
SELECT is((SELECT proargnames FROM pg_proc WHERE oid = 'observa.regressions(interval, interval, float8, bigint)'::regprocedure),
          (SELECT proargnames FROM pg_proc WHERE oid = 'observa.regressions(interval, text, float8, bigint)'::regprocedure),
          'the typed-interval form has the same columns');
SELECT throws_ok($$SELECT * FROM observa.regressions(recent => interval '-5 min')$$, '22023',
                 'recent must be a positive interval', 'a negative recent period is refused (22023)');

-- every function of these parts
CREATE TEMP TABLE beyond_funcs AS
  SELECT p.oid::regprocedure AS f FROM pg_proc p
   WHERE p.pronamespace = 'observa'::regnamespace
     AND (p.proname IN ('index_hygiene', 'plan_fingerprints', 'regressions', 'window_latency',
                        'metrics_regressions') OR p.proname LIKE 'report\_html%'
          OR p.proname LIKE 'html\_%');
SELECT is((SELECT count(*)::int FROM beyond_funcs), 18, 'eighteen functions: hygiene, fingerprints, two regressions forms, window_latency, the gauge, the page, six parts, five helpers');
SELECT is((SELECT array_agg(f::text ORDER BY f::text) FROM beyond_funcs WHERE has_function_privilege('public', f, 'EXECUTE')),
          NULL, 'PUBLIC may call none of them');
SELECT is((SELECT count(*)::int FROM beyond_funcs WHERE NOT has_function_privilege('pg_read_all_stats', f, 'EXECUTE')),
          0, 'pg_read_all_stats may call all of them');
SELECT ok((SELECT bool_and(coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false))
             FROM pg_proc p JOIN beyond_funcs b ON b.f = p.oid
            WHERE p.prolang <> (SELECT oid FROM pg_language WHERE lanname = 'c')),
          'the SQL and PL/pgSQL ones pin search_path');
SELECT ok(NOT EXISTS (SELECT 1 FROM pg_proc p JOIN beyond_funcs b ON b.f = p.oid WHERE p.prosecdef),
          'none is SECURITY DEFINER');

SELECT * FROM finish();
ROLLBACK;

-- pgTAP: the index advisor's SQL API: functions, result columns, privileges.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS observa;
RESET client_min_messages;

BEGIN;
SELECT plan(30);

SELECT has_function('observa', 'recommend_indexes', ARRAY[]::text[], 'recommend_indexes() exists');
SELECT has_function('observa', 'reset_advisor', ARRAY[]::text[], 'reset_advisor() exists');
SELECT has_function('observa', 'advisor_workload', ARRAY[]::text[], 'advisor_workload() exists');
SELECT has_function('observa', 'create_index', ARRAY['text'], 'create_index(text) exists');
SELECT has_function('observa', 'create_recommended_indexes', ARRAY['boolean', 'integer'],
                    'create_recommended_indexes(boolean, integer) exists');
SELECT has_function('observa', 'index_builds', ARRAY[]::text[], 'index_builds() exists');
SELECT has_function('observa', 'advisor_index_effect', ARRAY[]::text[], 'advisor_index_effect() exists');
SELECT has_function('observa', 'recommend_indexes_overhead', ARRAY[]::text[], 'recommend_indexes_overhead() exists');
SELECT has_function('observa', 'index_build_steps', ARRAY['text'], 'index_build_steps(text) exists');
SELECT is((SELECT pg_get_function_arguments('observa.recommend_indexes_overhead()'::regprocedure)),
          'OUT schemaname text, OUT relname text, OUT indexes integer, OUT est_size_bytes bigint, OUT write_overhead double precision, OUT update_overhead_pct double precision, OUT index_bytes_per_s double precision, OUT table_bytes_per_s double precision, OUT write_heavy boolean',
          'recommend_indexes_overhead() columns');
SELECT is((SELECT boot_val FROM pg_settings WHERE name = 'observa.advisor_merge_tolerance'), '10',
          'observa.advisor_merge_tolerance: 10 percent by default');
SELECT is((SELECT boot_val FROM pg_settings WHERE name = 'observa.advisor_write_heavy'), '20',
          'observa.advisor_write_heavy: 20 percent of a table''s statements by default');

SELECT is((SELECT boot_val FROM pg_settings WHERE name = 'observa.advisor_sample_rate'), '0.1',
          'observa.advisor_sample_rate samples a tenth of the statements by default');
SELECT is((SELECT proargnames FROM pg_proc WHERE oid = 'observa.recommend_indexes()'::regprocedure),
          ARRAY['schemaname', 'relname', 'columns', 'index_def', 'tenant_column', 'tenant_leading',
                'est_cost_before', 'est_cost_after', 'est_improvement_pct', 'est_size_bytes',
                'queries', 'calls', 'reason', 'replaces', 'write_overhead', 'update_overhead_pct'],
          'recommend_indexes() has the documented columns, in order');
SELECT is((SELECT pg_get_function_arguments('observa.recommend_indexes()'::regprocedure)),
          'OUT schemaname text, OUT relname text, OUT columns text[], OUT index_def text, OUT tenant_column text, OUT tenant_leading boolean, OUT est_cost_before double precision, OUT est_cost_after double precision, OUT est_improvement_pct double precision, OUT est_size_bytes bigint, OUT queries bigint[], OUT calls bigint, OUT reason text, OUT replaces regclass[], OUT write_overhead double precision, OUT update_overhead_pct double precision',
          'recommend_indexes() column types');
SELECT is((SELECT proargnames FROM pg_proc WHERE oid = 'observa.create_index(text)'::regprocedure),
          ARRAY['index_def', 'index_name', 'status', 'detail'], 'create_index() returns name, status, detail');
SELECT is((SELECT pg_get_function_arguments('observa.create_recommended_indexes(boolean,integer)'::regprocedure)),
          'dry_run boolean DEFAULT true, max_indexes integer DEFAULT NULL::integer, OUT index_def text, OUT status text, OUT detail text',
          'create_recommended_indexes() defaults to a dry run');

-- privileges
SELECT ok(NOT has_function_privilege('public', 'observa.reset_advisor()', 'EXECUTE'),
          'PUBLIC cannot reset the advisor');
SELECT ok(NOT has_function_privilege('public', 'observa.recommend_indexes()', 'EXECUTE'),
          'PUBLIC cannot read recommendations (they show other roles'' statements)');
SELECT ok(has_function_privilege('pg_read_all_stats', 'observa.recommend_indexes()', 'EXECUTE'),
          'pg_read_all_stats may read recommendations');
SELECT ok(has_function_privilege('pg_read_all_stats', 'observa.advisor_workload()', 'EXECUTE'),
          'pg_read_all_stats may read the captured workload');
SELECT ok(has_function_privilege('pg_read_all_stats', 'observa.index_builds()', 'EXECUTE'),
          'pg_read_all_stats may read index builds');
SELECT ok(NOT has_function_privilege('public', 'observa.recommend_indexes_overhead()', 'EXECUTE')
          AND has_function_privilege('pg_read_all_stats', 'observa.recommend_indexes_overhead()', 'EXECUTE'),
          'the overhead of the recommendations is for pg_read_all_stats, not PUBLIC');
SELECT ok(has_function_privilege('public', 'observa.index_build_steps(text)', 'EXECUTE'),
          'index_build_steps() is for everyone: it only reads the catalogs');
SELECT throws_ok($$SELECT observa.index_build_steps('VACUUM')$$, '22023', NULL,
                 'index_build_steps() rejects what is not CREATE INDEX with 22023');
SELECT ok(NOT has_function_privilege('public', 'observa.create_index(text)', 'EXECUTE'),
          'creating is granted explicitly, not to PUBLIC');

-- behaviour that needs no workload
SELECT lives_ok('SELECT observa.reset_advisor()', 'reset_advisor() works');
SELECT is((SELECT count(*)::int FROM observa.recommend_indexes()), 0,
          'an empty workload recommends nothing');
SELECT throws_ok($$SELECT observa.create_index('VACUUM')$$, '22023', NULL,
                 'create_index() rejects what is not CREATE INDEX with 22023');
SELECT throws_ok($$SELECT observa.create_index('CREATE INDEX i ON pg_class (relname)')$$, '22023', NULL,
                 'create_index() rejects a build without CONCURRENTLY');

SELECT * FROM finish();
ROLLBACK;

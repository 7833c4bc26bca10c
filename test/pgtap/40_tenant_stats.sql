-- pgTAP: the SQL contract of per-tenant statistics: objects, columns,
-- privileges, and clear errors for bad arguments.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS observa;
RESET client_min_messages;

BEGIN;
SELECT plan(18);

SELECT has_view('observa', 'tenant_stats', 'observa.tenant_stats exists');
SELECT columns_are('observa', 'tenant_stats',
       ARRAY['datname', 'tenant', 'is_other', 'calls', 'errors', 'total_time_ms',
             'mean_time_ms', 'p50_ms', 'p95_ms', 'p99_ms', 'share_of_total_time',
             'top_tables', 'error_bound_ms'],
       'observa.tenant_stats has its documented columns');
SELECT col_type_is('observa', 'tenant_stats', 'top_tables', 'text[]', 'top_tables is text[]');
SELECT col_type_is('observa', 'tenant_stats', 'is_other', 'boolean', 'is_other is boolean');
SELECT has_function('observa', 'tenant_stats', ARRAY['interval'],
                    'observa.tenant_stats(since interval) exists');
SELECT ok((SELECT 'covered_since' = ANY (proargnames) FROM pg_proc
            WHERE oid = 'observa.tenant_stats(interval)'::regprocedure),
          'observa.tenant_stats(since interval) has covered_since');
SELECT has_function('observa', 'reset_tenant_stats', 'observa.reset_tenant_stats() exists');
SELECT function_returns('observa', 'reset_tenant_stats', 'timestamp with time zone',
                        'reset returns the reset time');

-- privileges: reading is for pg_read_all_stats, resetting for superusers
SELECT ok(NOT has_function_privilege('public', 'observa.reset_tenant_stats()', 'EXECUTE'),
          'PUBLIC may not reset tenant statistics');
SELECT ok(NOT has_table_privilege('public', 'observa.tenant_stats', 'SELECT'),
          'PUBLIC may not read tenant statistics');
SELECT ok(has_table_privilege('pg_read_all_stats', 'observa.tenant_stats', 'SELECT'),
          'pg_read_all_stats may read the view');
SELECT ok(has_function_privilege('pg_read_all_stats', 'observa.tenant_stats(interval)', 'EXECUTE'),
          'pg_read_all_stats may read the windowed form');

-- bad arguments
SELECT throws_ok($$SELECT * FROM observa.tenant_stats(NULL)$$, '22004',
                 'since must not be NULL', 'NULL since is rejected');
SELECT throws_ok($$SELECT * FROM observa.tenant_stats('-5 minutes')$$, '22023',
                 'interval must be positive', 'negative since is rejected');
SELECT throws_like($$SET observa.tenant = 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'$$,
                   'invalid value for parameter "observa.tenant"%', 'too long a tenant is rejected');

-- an explicit tenant is attributed in this database
SET observa.tenant = 'pgtap-tenant';
SELECT 1;
RESET observa.tenant;
SELECT is((SELECT calls FROM observa.tenant_stats
            WHERE datname = current_database() AND tenant = 'pgtap-tenant'),
          2::bigint, 'SET observa.tenant attributes the SET and the SELECT');
SELECT is((SELECT count(*) FROM observa.tenant_stats
            WHERE datname = current_database() AND is_other AND tenant <> '(other)'),
          0::bigint, 'the other row is labelled (other)');

-- since beyond the windows kept: the rows say what they cover
SELECT is((SELECT bool_and(covered_since > now() - interval '10 years')
             FROM observa.tenant_stats('10 years')),
          true, 'since beyond the windows: covered_since says how far back the rows go');

SELECT * FROM finish();
ROLLBACK;

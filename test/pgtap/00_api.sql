-- pgTAP: observa's SQL API contract for the core objects and privileges.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
DROP EXTENSION IF EXISTS observa CASCADE;
CREATE EXTENSION observa;
RESET client_min_messages;

BEGIN;
SELECT plan(9);

SELECT has_schema('observa', 'the extension lives in schema observa');
SELECT has_view('observa', 'info', 'observa.info exists');
SELECT columns_are('observa', 'info', ARRAY['section', 'name', 'value', 'description'],
                   'observa.info has its documented columns');
SELECT has_function('observa', 'version', 'observa.version() exists');
SELECT is(observa.version(), (SELECT extversion FROM pg_extension WHERE extname = 'observa'),
          'library and install script agree on the version');
SELECT ok(NOT has_schema_privilege('public', 'observa', 'CREATE'),
          'PUBLIC cannot create objects in schema observa');
SELECT ok(has_function_privilege('public', 'observa.version()', 'EXECUTE'),
          'PUBLIC may read the version');
SELECT ok(has_table_privilege('public', 'observa.info', 'SELECT'),
          'PUBLIC may read observa.info');
SELECT is((SELECT count(*)::int FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'observa' AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
              AND p.prosrc NOT LIKE 'observa\_%'),
          0, 'every C entry point is named observa_*');

SELECT * FROM finish();
ROLLBACK;

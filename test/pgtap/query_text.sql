-- pgTAP: contract and privileges of observa.statement_text(queryid).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS observa;
RESET client_min_messages;

BEGIN;
SELECT plan(10);

SELECT has_function('observa', 'statement_text', ARRAY['bigint'],
                    'observa.statement_text(bigint) exists');
SELECT function_returns('observa', 'statement_text', ARRAY['bigint'], 'text',
                        'it returns text');
SELECT is_strict('observa', 'statement_text', ARRAY['bigint'], 'it is STRICT: NULL in, NULL out');
SELECT ok(NOT has_function_privilege('public', 'observa.statement_text(bigint)', 'EXECUTE'),
          'PUBLIC may not read statement texts');
SELECT ok(has_function_privilege('pg_read_all_stats', 'observa.statement_text(bigint)', 'EXECUTE'),
          'pg_read_all_stats may read statement texts');
SELECT is(observa.statement_text(0), NULL, 'an unknown queryid has no text');

CREATE ROLE regress_qt_tap_user;
GRANT EXECUTE ON FUNCTION observa.statement_text(bigint) TO regress_qt_tap_user;
SET LOCAL ROLE regress_qt_tap_user;
SELECT throws_ok('SELECT observa.statement_text(1)', '42501',
                 'permission denied to read statement texts',
                 'the function refuses roles outside pg_read_all_stats even with EXECUTE');
RESET ROLE;
GRANT pg_read_all_stats TO regress_qt_tap_user;
SET LOCAL ROLE regress_qt_tap_user;
SELECT lives_ok('SELECT observa.statement_text(1)', 'members of pg_read_all_stats may call it');
RESET ROLE;

SELECT is((SELECT count(*)::int FROM observa.info WHERE section = 'query_text'
            AND name IN ('entries', 'capacity', 'max_query_text', 'evictions', 'truncated', 'text_bytes')),
          6, 'observa.info reports the text store');
SELECT cmp_ok((SELECT value::bigint FROM observa.info WHERE section = 'query_text' AND name = 'entries'),
              '<=', (SELECT value::bigint FROM observa.info WHERE section = 'query_text' AND name = 'capacity'),
              'entries within capacity');

SELECT * FROM finish();
ROLLBACK;

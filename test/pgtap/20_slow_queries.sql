-- pgTAP: the slow-query ring's SQL contract and its privileges.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS observa;
RESET client_min_messages;

BEGIN;
SELECT plan(26);

SELECT has_view('observa', 'slow_queries', 'observa.slow_queries exists');
SELECT columns_are('observa', 'slow_queries', ARRAY[
    'seq', 'ts', 'duration_ms', 'dbid', 'datname', 'userid', 'username',
    'application_name', 'client_addr', 'pid', 'queryid', 'toplevel', 'operation',
    'relids', 'relations', 'rows', 'query', 'query_truncated', 'params',
    'params_truncated', 'plan', 'plan_truncated', 'error'],
    'observa.slow_queries has its documented columns');
SELECT has_function('observa', 'slow_queries', ARRAY['integer'], 'observa.slow_queries(lim) exists');
SELECT function_returns('observa', 'reset_slow_queries', ARRAY[]::text[], 'void',
                        'observa.reset_slow_queries() returns void');
SELECT ok(has_table_privilege('public', 'observa.slow_queries', 'SELECT'),
          'PUBLIC may read observa.slow_queries');
SELECT ok(has_function_privilege('public', 'observa.slow_queries(integer)', 'EXECUTE'),
          'PUBLIC may call observa.slow_queries(lim)');
SELECT ok(NOT has_function_privilege('public', 'observa.reset_slow_queries()', 'EXECUTE'),
          'PUBLIC may not reset the ring');

-- bad arguments: clear errors with proper SQLSTATEs
SELECT throws_ok('SELECT * FROM observa.slow_queries(NULL)', '22004',
                 'lim must not be null', 'lim NULL is refused (22004)');
SELECT throws_ok('SELECT * FROM observa.slow_queries(-1)', '22023',
                 'lim must not be negative: -1', 'a negative lim is refused (22023)');

-- two unprivileged roles, one reader with pg_read_all_stats
CREATE ROLE slow_r1;
CREATE ROLE slow_r2;
CREATE ROLE slow_reader IN ROLE pg_read_all_stats;
CREATE TABLE slow_priv (id int);
INSERT INTO slow_priv VALUES (1);
GRANT SELECT ON slow_priv TO slow_r1, slow_r2;

SELECT observa.reset_slow_queries();
SET observa.slow_query_threshold = '50ms';
SET ROLE slow_r1;
SELECT throws_ok('SET observa.slow_query_threshold = 0', '42501', NULL,
                 'an unprivileged role cannot change the threshold');
\o /dev/null
SELECT pg_sleep(0.06), 'r1_secret' FROM slow_priv;
PREPARE slow_r1_p(text) AS SELECT pg_sleep(0.06), 'r1_prepared' FROM slow_priv WHERE $1 IS NOT NULL;
EXECUTE slow_r1_p('r1_param');
\o
SELECT is((SELECT count(*)::int FROM observa.slow_queries WHERE query LIKE '%r1\_secret%'), 1,
          'slow_r1 sees the text of its own slow statement');
SELECT is((SELECT params FROM observa.slow_queries WHERE query LIKE '%r1\_prepared%'),
          '$1 = ''r1_param''', 'slow_r1 sees the parameters of its own slow statement');

-- the two workload statements (on a loaded machine a check above may be
-- slow too: the counts below are about the workload only)
RESET ROLE;
CREATE TABLE slow_r1_work AS SELECT seq FROM observa.slow_queries
 WHERE query LIKE '%r1\_secret%' OR query LIKE '%r1\_prepared%';
GRANT SELECT ON slow_r1_work TO slow_r2;
SET ROLE slow_r2;
SELECT is((SELECT count(*)::int FROM observa.slow_queries WHERE query LIKE '%r1\_%'), 0,
          'slow_r2 does not see slow_r1''s texts');
SELECT is((SELECT count(*)::int FROM observa.slow_queries
            WHERE username = 'slow_r1' AND query = '<insufficient privilege>'
              AND seq IN (SELECT seq FROM slow_r1_work)), 2,
          'slow_r2 sees slow_r1''s rows with the text hidden');
SELECT is((SELECT params FROM observa.slow_queries
            WHERE username = 'slow_r1' AND params IS NOT NULL),
          '<insufficient privilege>', 'slow_r2 does not see slow_r1''s parameters');
SELECT is((SELECT count(*)::int FROM observa.slow_queries WHERE username = 'slow_r1' AND duration_ms >= 50
              AND seq IN (SELECT seq FROM slow_r1_work)), 2,
          'slow_r2 still sees who ran what for how long');
SELECT throws_ok('SELECT observa.reset_slow_queries()', '42501', NULL,
                 'slow_r2 may not reset the ring');
RESET ROLE;

-- membership in the row's role gives its privileges
GRANT slow_r1 TO slow_r2;
SET ROLE slow_r2;
SELECT is((SELECT count(*)::int FROM observa.slow_queries WHERE query LIKE '%r1\_%'), 2,
          'a member of slow_r1 sees slow_r1''s texts');
RESET ROLE;
REVOKE slow_r1 FROM slow_r2;

SET ROLE slow_reader;
SELECT is((SELECT count(*)::int FROM observa.slow_queries WHERE query LIKE '%r1\_%'), 2,
          'a member of pg_read_all_stats sees every text');
SELECT is((SELECT params FROM observa.slow_queries WHERE query LIKE '%r1\_prepared%'),
          '$1 = ''r1_param''', 'a member of pg_read_all_stats sees every parameter');
RESET ROLE;

-- the reset can be granted
GRANT EXECUTE ON FUNCTION observa.reset_slow_queries() TO slow_r2;
SET ROLE slow_r2;
SELECT lives_ok('SELECT observa.reset_slow_queries()', 'reset works once granted');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM observa.slow_queries WHERE query LIKE '%r1\_%'), 0,
          'the reset emptied the ring');
SELECT is((SELECT value FROM observa.info WHERE section = 'slow_queries' AND name = 'slow_queries_captured'),
          '0', 'captured count restarts at the reset');

-- superusers set the threshold per role and per database
SELECT lives_ok('ALTER ROLE slow_r1 SET observa.slow_query_threshold = ''5s''',
                'the threshold can be set per role');
SELECT is((SELECT setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
            WHERE r.rolname = 'slow_r1'),
          ARRAY['observa.slow_query_threshold=5s'], 'the role setting is stored');
SELECT lives_ok(format('ALTER DATABASE %I SET observa.slow_query_threshold = ''2s''', current_database()),
                'the threshold can be set per database');
RESET observa.slow_query_threshold;

SELECT * FROM finish();
ROLLBACK;

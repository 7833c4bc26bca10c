--
-- Normalized statement texts (query_text.c): constants become $n as in
-- pg_stat_statements, the rest of the statement is kept as written.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS observa;
RESET client_min_messages;
CREATE TABLE qt_t (a int, b text, c date, d float8);

-- qt_qid(statement): the statement's queryid, read from EXPLAIN VERBOSE
-- (run nested, so EXPLAIN itself stores no text).  The statement checked
-- runs first at top level with other constants: the queryid ignores them.
CREATE FUNCTION qt_qid(q text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    l text;
BEGIN
    FOR l IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || q LOOP
        IF l LIKE 'Query Identifier:%' THEN
            RETURN substring(l FROM '(-?[0-9]+)$')::bigint;
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
-- the queryid of a utility statement is a hash of its text
CREATE FUNCTION qt_utility_qid(q text) RETURNS bigint
LANGUAGE sql AS $$ SELECT hashtextextended(q COLLATE "C", 0) $$;

-- literals: integers, strings, floats, negative numbers, typed literals
SELECT a, b FROM qt_t WHERE a = 1 AND b = 'two' AND d = 3.5 AND d > -4
  AND c = date '2020-01-01' AND c < '2021-01-01'::date;
SELECT observa.statement_text(qt_qid($q$SELECT a, b FROM qt_t WHERE a = 9 AND b = 'x' AND d = 1e3 AND d > -8
  AND c = date '1999-12-31' AND c < '2000-01-01'::date$q$));
-- other constant syntaxes
SELECT $$dollar$$ AS d, E'it\'s' AS e, B'101' AS bits, X'1F' AS hex,
       1e-3 AS f, -1.5 AS neg, interval '1 day' AS i, '5'::int AS cast_int;
SELECT observa.statement_text(qt_qid($q$SELECT $$z$$ AS d, E'\n' AS e, B'1' AS bits, X'0' AS hex,
       2e-3 AS f, -2.5 AS neg, interval '2 days' AS i, '6'::int AS cast_int$q$));
-- IN lists: each element is a constant
SELECT count(*) FROM qt_t WHERE a IN (1, 2, 3) OR b IN ('a', 'b');
SELECT observa.statement_text(qt_qid($q$SELECT count(*) FROM qt_t WHERE a IN (7, 8, 9) OR b IN ('y', 'z')$q$));
-- comments inside the statement are kept, as pg_stat_statements keeps them
/* by id */ SELECT b FROM qt_t WHERE a = 10 -- a trailing comment
  AND b <> 'none';
SELECT observa.statement_text(qt_qid($q$SELECT b FROM qt_t WHERE a = 11 AND b <> 'x'$q$));
-- no constants: the text as written, whitespace included
SELECT   a ,  b   FROM qt_t   ORDER BY a;
SELECT observa.statement_text(qt_qid('SELECT a, b FROM qt_t ORDER BY a'));
-- several statements in one string: each its own part, trimmed
SELECT 101 AS first \;   SELECT 'second' AS second  \; INSERT INTO qt_t (a) VALUES (102) ;
SELECT observa.statement_text(qt_qid('SELECT 1 AS first')) AS first,
       observa.statement_text(qt_qid($q$SELECT 'x' AS second$q$)) AS second;
-- DML
UPDATE qt_t SET b = 'changed', d = d * 2 WHERE a = 102;
SELECT observa.statement_text(qt_qid($q$UPDATE qt_t SET b = 'x', d = d * 3 WHERE a = 1$q$));
-- a statement that has $1 already: constants are numbered after it
PREPARE qt_p(int) AS SELECT b FROM qt_t WHERE a = $1 AND d < 2.5 AND b <> 'q';
EXECUTE qt_p(1);
SELECT observa.statement_text(qt_qid('EXECUTE qt_p(2)'));
-- PREPARE and EXECUTE themselves have no text of their own
SELECT observa.statement_text(qt_utility_qid('EXECUTE qt_p(1)')) IS NULL AS no_execute_text;
DEALLOCATE qt_p;
-- utility statements keep their text as written, constants included
CREATE INDEX qt_i ON qt_t (a);
ALTER TABLE qt_t ALTER COLUMN b SET DEFAULT 'none';
SELECT observa.statement_text(qt_utility_qid('CREATE INDEX qt_i ON qt_t (a)')) AS create_index,
       observa.statement_text(qt_utility_qid($q$ALTER TABLE qt_t ALTER COLUMN b SET DEFAULT 'none'$q$)) AS alter_table;
-- statements observa does not time have no text: nested ones while
-- observa.track = top, and all of them with observa.track = none
DO $$ BEGIN PERFORM count(*) FROM qt_t WHERE a = 77; END $$;
SELECT observa.statement_text(qt_qid('SELECT count(*) FROM qt_t WHERE a = 1')) IS NULL AS nested_not_stored;
SET observa.track = 'all';
DO $$ BEGIN PERFORM count(*) FROM qt_t WHERE a = 78; END $$;
RESET observa.track;
SELECT observa.statement_text(qt_qid('SELECT count(*) FROM qt_t WHERE a = 1')) AS nested_with_track_all;
SET observa.track = 'none';
SELECT a FROM qt_t WHERE a = 5 AND b = 'not timed';
SELECT observa.statement_text(qt_qid($q$SELECT a FROM qt_t WHERE a = 1 AND b = 'x'$q$)) IS NULL AS untracked_not_stored;
RESET observa.track;
SELECT a FROM qt_t WHERE a = 6 AND b = 'timed';
SELECT observa.statement_text(qt_qid($q$SELECT a FROM qt_t WHERE a = 1 AND b = 'x'$q$)) AS tracked_again;
-- unknown queryid and NULL
SELECT observa.statement_text(0) IS NULL AS unknown, observa.statement_text(NULL) IS NULL AS null_arg;
-- the store reports itself in observa.info
SELECT name, value::bigint > 0 AS positive
  FROM observa.info WHERE section = 'query_text'
   AND name IN ('entries', 'capacity', 'max_query_text', 'text_bytes', 'shared_memory_bytes')
 ORDER BY name COLLATE "C";
SELECT value AS capacity FROM observa.info WHERE section = 'query_text' AND name = 'capacity';

-- privileges: texts are not tied to who ran them, so only superusers and
-- members of pg_read_all_stats may read them
CREATE ROLE regress_qt_user;
CREATE ROLE regress_qt_reader IN ROLE pg_read_all_stats;
SELECT qt_qid('SELECT a, b FROM qt_t ORDER BY a') AS qid \gset
SET ROLE regress_qt_user;
SELECT observa.statement_text(:qid);
RESET ROLE;
-- even with EXECUTE granted, the function itself refuses
GRANT EXECUTE ON FUNCTION observa.statement_text(bigint) TO regress_qt_user;
SET ROLE regress_qt_user;
SELECT observa.statement_text(:qid);
RESET ROLE;
SET ROLE regress_qt_reader;
SELECT observa.statement_text(:qid) AS reader_sees_text;
RESET ROLE;
REVOKE EXECUTE ON FUNCTION observa.statement_text(bigint) FROM regress_qt_user;
DROP ROLE regress_qt_user;
DROP ROLE regress_qt_reader;

DROP FUNCTION qt_qid(text);
DROP FUNCTION qt_utility_qid(text);
DROP TABLE qt_t;

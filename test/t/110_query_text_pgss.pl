# observa.statement_text(queryid) shows, for every statement
# pg_stat_statements tracks, the same normalized text pg_stat_statements
# shows: same statement boundaries, same $n numbering, comments and
# whitespace kept the same way.  Both run preloaded with compute_query_id.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;

my $node = observa_node('qt_pgss', "pg_stat_statements.track_utility = on\n",
	{ preload => 'pg_stat_statements,observa', create_extension => 0 });
$node->safe_psql('postgres', 'CREATE DATABASE qt');
$node->safe_psql('qt', 'CREATE EXTENSION observa; CREATE EXTENSION pg_stat_statements');

# one statement per request, as psql sends a script
$node->safe_psql('qt', <<'SQL');
SELECT pg_stat_statements_reset();
CREATE TABLE qt_a (id int PRIMARY KEY, v text, d date, f float8, j jsonb);
CREATE INDEX qt_a_v ON qt_a (v);
INSERT INTO qt_a SELECT g, 'v' || g, date '2020-01-01' + g, g * 1.5, '{"k": 1}' FROM generate_series(1, 50) g;
INSERT INTO qt_a VALUES (1000, 'x', '2021-02-03', -2.5, '{}') ON CONFLICT (id) DO UPDATE SET v = 'dup';
SELECT * FROM qt_a WHERE id = 5;
SELECT * FROM qt_a WHERE id = -5 AND f > -1.25e2 AND v <> 'it''s';
SELECT count(*) FROM qt_a WHERE id IN (1, 2, 3, 4) AND v NOT IN ('a', 'b');
SELECT id FROM qt_a WHERE d BETWEEN date '2020-01-05' AND '2020-02-01'::date ORDER BY id LIMIT 3 OFFSET 1;
/* a leading comment */ SELECT v FROM qt_a WHERE id = 7; -- not part of it
SELECT v -- inside
  FROM qt_a /* inside too */ WHERE id = 8 AND v = $$dollar 'quoted'$$;
SELECT E'esc\tape', B'1010', X'FF', U&'\0041', interval '3 days', 1e10, .5, 1::numeric(10,2);
SELECT 'héllo wörld' AS unicode, length('ünïcödé') AS n;
WITH w AS (SELECT id FROM qt_a WHERE id < 10) SELECT count(*) FROM w WHERE id > 2;
SELECT a.id, b.v FROM qt_a a JOIN qt_a b ON b.id = a.id + 1 WHERE a.id = 3;
SELECT (SELECT max(id) FROM qt_a WHERE id < 20) + 100;
UPDATE qt_a SET v = 'upd', f = f * 2 WHERE id = 10;
DELETE FROM qt_a WHERE id = 11 RETURNING v;
SELECT j->>'k', j @> '{"k": 1}' FROM qt_a WHERE id = 1;
SELECT ARRAY[1, 2, 3], '{4,5}'::int[], ROW(1, 'a');
SELECT CASE WHEN id > 3 THEN 'big' ELSE 'small' END FROM qt_a WHERE id = 2;
SELECT 1;
SELECT 'one';
SELECT NULL;
SELECT true, false;
SELECT now() - interval '1 hour' > '2000-01-01';
PREPARE qt_p(int, text) AS SELECT id FROM qt_a WHERE id = $1 AND v <> $2 AND f > 0.5;
EXECUTE qt_p(1, 'a');
EXECUTE qt_p(2, 'b');
DEALLOCATE qt_p;
PREPARE qt_q AS SELECT count(*) FROM qt_a WHERE id > 10;
EXECUTE qt_q;
BEGIN;
DECLARE qt_c CURSOR FOR SELECT id FROM qt_a WHERE id < 4 ORDER BY id;
FETCH 2 FROM qt_c;
CLOSE qt_c;
COMMIT;
CREATE TABLE qt_b AS SELECT id, v FROM qt_a WHERE id < 5;
CREATE VIEW qt_view AS SELECT id FROM qt_a WHERE id > 40;
SELECT * FROM qt_view WHERE id = 45;
ALTER TABLE qt_b ADD COLUMN extra int DEFAULT 7;
SET work_mem = '8MB';
RESET work_mem;
SHOW work_mem;
VACUUM qt_b;
ANALYZE qt_b;
EXPLAIN (COSTS OFF) SELECT * FROM qt_a WHERE id = 3;
DO $$ BEGIN PERFORM count(*) FROM qt_a WHERE id = 1; END $$;
CREATE FUNCTION qt_f(x int) RETURNS int LANGUAGE sql AS 'SELECT x + 1';
SELECT qt_f(41);
CREATE PROCEDURE qt_proc() LANGUAGE plpgsql AS $$ BEGIN PERFORM 1; END $$;
CALL qt_proc();
COPY (SELECT id FROM qt_a WHERE id < 3) TO STDOUT;
TRUNCATE qt_b;
DROP VIEW qt_view;
SQL

# several statements in one request (a multi-statement simple query)
$node->safe_psql('qt',
	"SELECT 11 AS m1;  SELECT 'twelve' AS m2 ;\n  UPDATE qt_a SET v = 'm' WHERE id = 13;INSERT INTO qt_b (id) VALUES (14)");

# the extended protocol, through pgbench
my $script = $node->basedir . '/qt_bench.sql';
open(my $fh, '>', $script) or die $!;
print $fh "\\set id random(1, 50)\nSELECT v FROM qt_a WHERE id = :id AND f > 0.5;\n";
close $fh;
for my $mode ('extended', 'prepared')
{
	$node->command_ok(
		[ 'pgbench', '-n', '-t', '3', '-M', $mode, '-f', $script, '-p', $node->port, '-h', $node->host, 'qt' ],
		"pgbench -M $mode");
}

# (the INSERT ... SELECT above records one constant twice: numbered once, as
# pg_stat_statements 15 does)

# an error at execution: pg_stat_statements keeps statements with constants
$node->psql('qt', 'SELECT 1 / 0 AS boom');

# (the utility statements observa groups by name or value, DECLARE, FETCH,
# CLOSE and SET here, have observa's own id and text instead: see
# 150_utility_grouping.pl)
my $q = q{
	SELECT queryid, query, observa.statement_text(queryid) AS o
	  FROM pg_stat_statements
	 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
	   AND query NOT LIKE '%pg_stat_statements%'
	   AND query !~* '^(declare|fetch|close|set) '};
my $n = $node->safe_psql('qt', "SELECT count(*) FROM ($q) s");
cmp_ok($n, '>=', 45, "pg_stat_statements tracked a varied set of statements ($n)");

my $missing = $node->safe_psql('qt', "SELECT string_agg(query, E'\\n---\\n') FROM ($q) s WHERE o IS NULL");
is($missing, '', 'observa has a text for every statement pg_stat_statements has');

my $differ = $node->safe_psql('qt',
	"SELECT string_agg(format('pgss:    %s\nobserva: %s', query, o), E'\\n---\\n') FROM ($q) s WHERE o <> query");
is($differ, '', 'every text equals pg_stat_statements\' text');

# a few texts spelled out, so a shared mistake cannot hide
my $lookup = sub {
	my ($like) = @_;
	return $node->safe_psql('qt',
		"SELECT observa.statement_text(queryid) FROM pg_stat_statements WHERE query LIKE '$like'");
};
is($lookup->('SELECT count(*) FROM qt_a WHERE id IN%'),
	'SELECT count(*) FROM qt_a WHERE id IN ($1, $2, $3, $4) AND v NOT IN ($5, $6)', 'IN lists');
is($lookup->('PREPARE qt_p%'),
	'PREPARE qt_p(int, text) AS SELECT id FROM qt_a WHERE id = $1 AND v <> $2 AND f > $3',
	'constants numbered after existing parameters');
is($lookup->('SELECT v FROM qt_a WHERE id = $1 AND f%'),
	'SELECT v FROM qt_a WHERE id = $1 AND f > $2', 'extended protocol');
is($lookup->('%UPDATE qt_a SET v = $1 WHERE id = $2%'),
	'UPDATE qt_a SET v = $1 WHERE id = $2', 'one statement of a multi-statement string');

$node->stop;
done_testing();

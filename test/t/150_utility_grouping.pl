# Utility statements that differ only in a name or a constant are one entry
# in observa.statement_stats, with the group's text (utility_id.c):
# savepoints, two-phase commit, cursors (DECLARE, FETCH, MOVE, CLOSE),
# DEALLOCATE and SET values.  pg_stat_statements, loaded beside observa,
# still sees core's query ids (one entry per name): observa never changes
# the Query's queryId.
use strict;
use warnings;
use lib 'test/t/lib';
use ObservaTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = observa_node('utility_grouping', qq{
max_prepared_transactions = 5
pg_stat_statements.track_utility = on
}, { preload => 'pg_stat_statements,observa' });
$node->safe_psql('postgres', 'CREATE EXTENSION pg_stat_statements');

# the workload and the read in one session: a read publishes the session's
# pending statistics first
my $out = $node->safe_psql('postgres', <<'SQL');
SELECT observa.reset() IS NOT NULL;
SELECT pg_stat_statements_reset() IS NOT NULL;
BEGIN;
SAVEPOINT sp1;
SAVEPOINT sp2;
SAVEPOINT "Sp 3";
ROLLBACK TO sp2;
ROLLBACK TO SAVEPOINT sp1;
ROLLBACK TRANSACTION TO SAVEPOINT sp1;
RELEASE sp1;
COMMIT;
BEGIN;
savepoint a;
RELEASE SAVEPOINT a;
COMMIT;
BEGIN;
PREPARE TRANSACTION 'g1';
COMMIT PREPARED 'g1';
BEGIN;
PREPARE TRANSACTION 'g2';
ROLLBACK PREPARED 'g2';
BEGIN;
DECLARE c1 CURSOR FOR SELECT g FROM generate_series(1, 10) g;
DECLARE "C two" CURSOR FOR SELECT g FROM generate_series(1, 10) g;
/* a comment */ DECLARE c3 SCROLL CURSOR FOR SELECT g FROM generate_series(1, 10) g;
FETCH 2 FROM c1;
FETCH 3 FROM "C two";
FETCH NEXT c1;
FETCH FORWARD 1 IN c3;
FETCH ALL FROM c1;
FETCH FORWARD ALL c3;
FETCH BACKWARD 2 FROM c3;
FETCH PRIOR FROM c3;
FETCH ABSOLUTE 2 FROM c3;
FETCH FIRST FROM c3;
MOVE 1 IN c3;
MOVE FORWARD 2 IN c3;
CLOSE c1;
CLOSE "C two";
CLOSE ALL;
COMMIT;
PREPARE p1 AS SELECT 1 AS a;
PREPARE p2 AS SELECT 2 AS a;
EXECUTE p1;
EXECUTE p2;
EXECUTE p1;
DEALLOCATE p1;
DEALLOCATE PREPARE p2;
DEALLOCATE ALL;
DEALLOCATE PREPARE ALL;
SET work_mem = '1MB';
Set work_mem = '2MB';
SET work_mem TO 3000;
SET SESSION work_mem = '4MB';
BEGIN;
SET LOCAL work_mem = '5MB';
COMMIT;
SET search_path = public, pg_catalog;
SET search_path TO "$user", public;
SET TIME ZONE 'UTC';
SET TIME ZONE 'Europe/Paris';
SET "myapp.Flag" = 'on';
SET "myapp.Flag" = 'off';
RESET work_mem;
RESET work_mem;
SET work_mem TO DEFAULT;
SELECT query || '|' || calls || '|' || rows
  FROM observa.statement_stats
 WHERE datname = current_database() AND query NOT LIKE '%observa%' AND query NOT LIKE '%pg_stat_statements%'
 ORDER BY query COLLATE "C";
SQL
my %got = map { my ($q, $c, $r) = split /\|/; ($q => "$c|$r") } grep { /\|/ } split /\n/, $out;

my @expected = (
	[ 'SAVEPOINT $1', 4, 0, 'SAVEPOINT: any name, any case of the keyword' ],
	[ 'ROLLBACK TO $1', 3, 0, 'ROLLBACK [TRANSACTION] TO [SAVEPOINT]' ],
	[ 'RELEASE $1', 2, 0, 'RELEASE [SAVEPOINT]' ],
	[ 'PREPARE TRANSACTION $1', 2, 0, 'PREPARE TRANSACTION gid' ],
	[ 'COMMIT PREPARED $1', 1, 0, 'COMMIT PREPARED gid' ],
	[ 'ROLLBACK PREPARED $1', 1, 0, 'ROLLBACK PREPARED gid' ],
	[ 'DECLARE $1 CURSOR FOR SELECT g FROM generate_series(1, 10) g', 2, 0,
		'DECLARE: plain and quoted cursor names are one entry' ],
	[ '/* a comment */ DECLARE $1 SCROLL CURSOR FOR SELECT g FROM generate_series(1, 10) g', 1, 0,
		'DECLARE with other options is another entry (a comment before it kept, as core keeps it)' ],
	[ 'FETCH FORWARD $1 FROM $2', 4, 7, 'FETCH n / NEXT / FORWARD n, rows summed' ],
	[ 'FETCH FORWARD ALL FROM $1', 2, 16, 'FETCH [FORWARD] ALL' ],
	[ 'FETCH BACKWARD $1 FROM $2', 2, 3, 'FETCH BACKWARD n / PRIOR' ],
	[ 'FETCH ABSOLUTE $1 FROM $2', 2, 2, 'FETCH ABSOLUTE n / FIRST' ],
	[ 'MOVE FORWARD $1 FROM $2', 2, 3, 'MOVE' ],
	[ 'CLOSE $1', 2, 0, 'CLOSE name' ],
	[ 'CLOSE ALL', 1, 0, 'CLOSE ALL keeps its text' ],
	[ 'PREPARE p1 AS SELECT $1 AS a', 3, 3,
		'prepared statements of one query under two names: one entry, the first text' ],
	[ 'DEALLOCATE $1', 2, 0,
		'DEALLOCATE [PREPARE] name (recorded although pg_stat_statements clears its queryId)' ],
	[ 'DEALLOCATE ALL', 2, 0, 'DEALLOCATE [PREPARE] ALL' ],
	[ 'SET work_mem = $1', 4, 0, 'SET [SESSION] name = / TO value, any value' ],
	[ 'SET LOCAL work_mem = $1', 1, 0, 'SET LOCAL is its own entry' ],
	[ 'SET search_path = $1, $2', 2, 0, 'SET of a list: one $n per value' ],
	[ 'SET timezone = $1', 2, 0, 'SET TIME ZONE' ],
	[ 'SET "myapp.Flag" = $1', 2, 0, 'a name that needs quotes is quoted' ],
	[ 'RESET work_mem', 2, 0, 'RESET keeps its text' ],
	[ 'SET work_mem TO DEFAULT', 1, 0, 'SET ... TO DEFAULT keeps its text' ],
);
for my $e (@expected)
{
	my ($q, $calls, $rows, $what) = @$e;
	is($got{$q} // 'missing', "$calls|$rows", "$what: $q");
}
my %known = map { $_->[0] => 1 } @expected;
my @other = grep { !$known{$_} && !/^(BEGIN|COMMIT|EXECUTE)/ } sort keys %got;
is(join("\n", @other), '', 'no other utility entries (no name left in a text)');

# other extensions still see core's ids: one pg_stat_statements entry per name
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM pg_stat_statements WHERE query ILIKE 'savepoint %'}),
	'4', 'pg_stat_statements 15 still has one SAVEPOINT entry per name');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM pg_stat_statements
		   WHERE query ILIKE 'set %work_mem%' AND query !~* 'default|local'}),
	'4', 'pg_stat_statements 15 still has one SET entry per text');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM observa.statement_stats o JOIN pg_stat_statements p USING (queryid)
	 WHERE o.query IN ('SAVEPOINT $1', 'SET work_mem = $1', 'FETCH FORWARD $1 FROM $2', 'CLOSE $1')}),
	'0', "observa's ids of grouped statements are not pg_stat_statements 15's");

# a grouped statement's id is the same in every session and database
$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('other', 'CREATE EXTENSION observa');
my $id = sub {
	my ($db) = @_;
	return $node->safe_psql($db, q{BEGIN; SAVEPOINT zz; COMMIT;
		SELECT queryid FROM observa.statement_stats WHERE query = 'SAVEPOINT $1' AND datname = current_database()});
};
my $id1 = $id->('postgres');
like($id1, qr/^-?\d+$/, 'SAVEPOINT $1 has an id');
is($id->('other'), $id1, 'the same id in another database');

# observa.track_utility = off: none of them is recorded
my $off = $node->safe_psql('postgres', <<'SQL');
SELECT observa.reset() IS NOT NULL;
SET observa.track_utility = off;
BEGIN;
SAVEPOINT s;
RELEASE s;
COMMIT;
SET work_mem = '1MB';
SELECT count(*) FROM observa.statement_stats WHERE query IN ('SAVEPOINT $1', 'RELEASE $1', 'SET work_mem = $1');
SQL
is((split /\n/, $off)[-1], '0', 'observa.track_utility = off records none of them');

$node->stop;
done_testing();

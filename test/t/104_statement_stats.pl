# observa.statement_stats next to pg_stat_statements: same queryid and
# calls for the same statements, exact counts from 8 concurrent clients,
# eviction with more statements than observa.max_statements, persistence
# across a clean restart, and text privileges with two login roles.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;

my $node = observa_node('statements', q{
compute_query_id = auto
observa.max_statements = 40
max_connections = 30
}, { preload => 'pg_stat_statements,observa' });
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_stat_statements;
	CREATE TABLE st_a (id int PRIMARY KEY, v int);
	INSERT INTO st_a SELECT g, g FROM generate_series(1, 500) g;
	CREATE ROLE st_r1 LOGIN;
	CREATE ROLE st_r2 LOGIN;
	GRANT SELECT ON st_a TO st_r1, st_r2;
});
is($node->safe_psql('postgres', 'SHOW compute_query_id'), 'auto', 'compute_query_id is auto');

sub reset_all
{
	$node->safe_psql('postgres', 'SELECT observa.reset(); SELECT pg_stat_statements_reset()');
}

# 1. 8 concurrent clients: exact calls, and pg_stat_statements agrees on
#    queryid and calls for every statement both track
reset_all();
$node->pgbench(
	'-n -c 8 -j 2 -t 150 -M prepared',
	0, [qr/processed: 1200\/1200/], [qr/^$/],
	'pgbench with 8 clients',
	{
		'st_bench' => q{
\set id random(1, 490)
SELECT v FROM st_a WHERE id = :id;
SELECT count(*) FROM st_a WHERE id BETWEEN :id AND :id + 9;
UPDATE st_a SET v = v + 1 WHERE id = :id;
}
	});
$node->poll_query_until('postgres', q{
	SELECT sum(calls) = 3600 FROM observa.statement_stats WHERE relations = '{st_a}'::regclass[]});
is($node->safe_psql('postgres', q{
	SELECT string_agg(operation || ':' || calls || ':' || rows, ',' ORDER BY operation, rows)
	  FROM observa.statement_stats WHERE relations = '{st_a}'::regclass[]}),
	'SELECT:1200:1200,SELECT:1200:1200,UPDATE:1200:1200',
	'exact calls and rows per statement from 8 clients');
my $joined = $node->safe_psql('postgres', q{
	SELECT count(*), bool_and(o.calls = p.calls), bool_and(o.rows = p.rows)
	  FROM observa.statement_stats o
	  JOIN pg_stat_statements p USING (queryid, userid, dbid, toplevel)
	 WHERE o.relations = '{st_a}'::regclass[]});
is($joined, '3|t|t', 'queryid joins pg_stat_statements with the same calls and rows');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM observa.statement_stats o
	 WHERE o.relations = '{st_a}'::regclass[]
	   AND NOT EXISTS (SELECT 1 FROM pg_stat_statements p WHERE p.queryid = o.queryid)}),
	'0', 'every observa queryid is a pg_stat_statements queryid');

# 2. the same statement from psql (simple protocol, literals) has the
#    same queryid as pg_stat_statements', and normalization by queryid
#    merges different constants
reset_all();
$node->safe_psql('postgres', join('', map { "SELECT v FROM st_a WHERE id = $_;\n" } 1 .. 12));
$node->safe_psql('postgres', "SELECT v FROM st_a WHERE id IN (1, 2, 3);\nSELECT v FROM st_a WHERE id IN (4, 5, 6);\n");
is($node->safe_psql('postgres', q{
	SELECT string_agg(o.calls || '=' || p.calls, ',' ORDER BY o.calls)
	  FROM observa.statement_stats o JOIN pg_stat_statements p USING (queryid, userid, dbid, toplevel)
	 WHERE o.relations = '{st_a}'::regclass[]}),
	'2=2,12=12', 'literals and IN lists of one shape are one statement in both');

# 3. privileges with two login roles
reset_all();
$node->safe_psql('postgres', q{SELECT count(*) FROM st_a WHERE v = 4242}, extra_params => ['-U', 'st_r1']);
$node->safe_psql('postgres', q{SELECT count(*) FROM st_a WHERE v > 4242}, extra_params => ['-U', 'st_r2']);
my $q = q{SELECT string_agg(username || ':' || calls || ':' || (query IS DISTINCT FROM '<insufficient privilege>'), ',' ORDER BY username)
	FROM observa.statement_stats WHERE relations = '{st_a}'::regclass[]};
is($node->safe_psql('postgres', $q, extra_params => ['-U', 'st_r1']),
	'st_r1:1:true,st_r2:1:false', 'st_r1 sees its own text only, numbers of both');
is($node->safe_psql('postgres', $q, extra_params => ['-U', 'st_r2']),
	'st_r1:1:false,st_r2:1:true', 'st_r2 sees its own text only, numbers of both');
is($node->safe_psql('postgres', $q), 'st_r1:1:true,st_r2:1:true', 'a superuser sees every text');
$node->safe_psql('postgres', 'GRANT pg_read_all_stats TO st_r2');
is($node->safe_psql('postgres', $q, extra_params => ['-U', 'st_r2']),
	'st_r1:1:true,st_r2:1:true', 'a member of pg_read_all_stats sees every text');
my ($rc, $out, $err) = $node->psql('postgres', 'SELECT observa.reset()', extra_params => ['-U', 'st_r1']);
like($err, qr/permission denied/, 'observa.reset() is refused to ordinary roles');

# 4. eviction: 100 distinct statements (IN lists of 1 to 100 constants
#    have distinct queryids in PostgreSQL 15) with capacity 40
reset_all();
$node->safe_psql('postgres', join('', map { "SELECT v FROM st_a WHERE id IN (" . join(',', 1 .. $_) . ");\n" } 1 .. 100));
my $info = $node->safe_psql('postgres', q{
	SELECT string_agg(name || '=' || value, ',' ORDER BY name) FROM observa.info
	 WHERE section = 'statement_stats' AND name IN ('capacity', 'entries', 'evictions')});
my ($entries) = $info =~ /entries=(\d+)/;
my ($evictions) = $info =~ /evictions=(\d+)/;
ok($entries <= 40, "entries stay within observa.max_statements ($info)");
ok($evictions >= 60, "evictions are counted ($info)");
is($node->safe_psql('postgres', q{
	SELECT (SELECT count(*) FROM observa.statement_stats) =
	       (SELECT value::bigint FROM observa.info WHERE section = 'statement_stats' AND name = 'entries')}),
	't', 'the view has one row per entry');
# the texts of evicted statements are released by the statement store
# (eviction callback), not evicted by the text store: of the 100 texts,
# about as many remain as there are entries
my ($texts, $text_evictions) = split /\|/, $node->safe_psql('postgres', q{
	SELECT (SELECT value FROM observa.info WHERE section = 'query_text' AND name = 'entries') || '|' ||
	       (SELECT value FROM observa.info WHERE section = 'query_text' AND name = 'evictions')});
cmp_ok($texts, '<=', 40 + 5, "the texts of evicted statements are released ($texts texts for at most 40 entries)");
is($text_evictions, '0', 'the text store itself evicted none');

# 5. persistence across a clean restart
reset_all();
$node->safe_psql('postgres', join('', map { "SELECT v FROM st_a WHERE id = $_;\n" } 1 .. 9));
my $before = $node->safe_psql('postgres', q{
	SELECT queryid || ':' || calls || ':' || p95_ms FROM observa.statement_stats
	 WHERE relations = '{st_a}'::regclass[]});
$node->restart;
is($node->safe_psql('postgres', q{
	SELECT queryid || ':' || calls || ':' || p95_ms FROM observa.statement_stats
	 WHERE relations = '{st_a}'::regclass[]}), $before, 'statement statistics survive a clean restart');
like($before, qr/:9:/, 'with the 9 calls');

$node->stop;
done_testing();

# observa.table_stats under concurrency: 8 pgbench clients give exact call
# and row counts once they have exited (each backend publishes its pending
# statistics at exit), and failures in concurrent sessions are counted.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;

my $node = observa_node('table_concurrency', "max_connections = 30\n");
$node->safe_psql('postgres', q{
	CREATE TABLE cc_t (id int PRIMARY KEY, v int);
	INSERT INTO cc_t SELECT g, g FROM generate_series(1, 1000) g;
	CREATE TABLE cc_u (id int PRIMARY KEY, n int);
	INSERT INTO cc_u SELECT g, 0 FROM generate_series(1, 10) g;
	SELECT observa.reset();
});

# 8 clients x 200 transactions of one SELECT (1 row), one UPDATE (1 row)
# and one range SELECT (5 rows); -M prepared and simple
for my $mode ('prepared', 'simple')
{
	$node->safe_psql('postgres', 'SELECT observa.reset()');
	$node->pgbench(
		"-n -c 8 -j 2 -t 200 -M $mode",
		0, [qr/processed: 1600\/1600/], [qr/^$/],
		"pgbench $mode with 8 clients",
		{
			"cc_$mode" => q{
\set id random(1, 995)
\set u random(1, 10)
SELECT v FROM cc_t WHERE id = :id;
UPDATE cc_u SET n = n + 1 WHERE id = :u;
SELECT v FROM cc_t WHERE id BETWEEN :id AND :id + 4;
}
		});
	# backends publish at exit, which may finish just after pgbench does
	$node->poll_query_until('postgres', q{
		SELECT sum(calls) = 4800 FROM observa.table_stats WHERE relname IN ('cc_t', 'cc_u')});
	my $r = $node->safe_psql('postgres', q{
		SELECT operation, calls, errors, rows FROM observa.table_stats
		 WHERE relname IN ('cc_t', 'cc_u') ORDER BY relname, operation});
	is($r, "SELECT|3200|0|9600\nUPDATE|1600|0|1600",
		"$mode: exact calls and rows from 8 concurrent clients");
	my $ok = $node->safe_psql('postgres', q{
		SELECT bool_and(p50_ms <= p95_ms AND p95_ms <= p99_ms AND p99_ms <= max_time_ms
		                AND min_time_ms <= p50_ms AND mean_time_ms > 0)
		  FROM observa.table_stats WHERE relname IN ('cc_t', 'cc_u')});
	is($ok, 't', "$mode: percentiles ordered within [min, max]");
	# the windows hold the same counts
	$r = $node->safe_psql('postgres', q{
		SELECT sum(calls), sum(rows) FROM observa.table_stats('10 min')
		 WHERE relname IN ('cc_t', 'cc_u')});
	is($r, "4800|11200", "$mode: the recent windows hold every call");
}

# concurrent failing statements: 4 clients x 25 divisions by zero
$node->safe_psql('postgres', 'SELECT observa.reset()');
$node->pgbench(
	"-n -c 4 -j 2 -t 25",
	2, [qr/.*/], [qr/division by zero/],
	"pgbench with failing statements",
	{ 'cc_fail' => "SELECT 1 / (v - v) FROM cc_t WHERE id = 1;\n" });
# each client stops at its first error, so 4 failed calls
$node->poll_query_until('postgres', q{
	SELECT calls = 4 FROM observa.table_stats WHERE relname = 'cc_t'});
my $r = $node->safe_psql('postgres', q{
	SELECT calls, errors, rows FROM observa.table_stats WHERE relname = 'cc_t'});
is($r, "4|4|0", 'failed statements of concurrent clients are counted at their exit');

$node->stop;
done_testing();

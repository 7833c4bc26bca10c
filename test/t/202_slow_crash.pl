# The slow-query ring after a crash restart (a backend killed with SIGKILL)
# and after an immediate shutdown: empty, valid, and capturing again.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;

my $node = observa_node('slow_crash', q{
observa.slow_query_ring_size = 8
restart_after_crash = on
});

sub ring_state
{
	return $node->safe_psql('postgres', q{
		SELECT (SELECT count(*) FROM observa.slow_queries) || ' ' ||
		       (SELECT value FROM observa.info WHERE section = 'slow_queries' AND name = 'slow_queries_captured')});
}

my $set = "SET observa.slow_query_threshold = 0;\n";
$node->safe_psql('postgres', $set . join('', map { "SELECT $_ AS before_crash;\n" } 1 .. 5));
like(ring_state(), qr/^[5-8] \d+$/, 'the ring holds entries before the crash');

# a backend dies with SIGKILL in the middle of a statement: the postmaster
# reinitialises shared memory
my $bg = $node->background_psql('postgres', on_error_stop => 0);
my $pid = $bg->query_safe('SELECT pg_backend_pid()');
$bg->query_until(qr/^$/, "SELECT pg_sleep(60);\n");
$node->poll_query_until('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE pid = $pid AND state = 'active'", '1')
  or die 'the sleeping statement did not start';
my $log_offset = -s $node->logfile;
kill 'KILL', $pid;
eval { $bg->quit; };
ok( $node->poll_query_until('postgres', 'SELECT 1', '1'),
	'the server accepts connections after the crash restart');
ok($node->log_contains(qr/terminated by signal 9/, $log_offset), 'it was a crash restart');
is( $node->safe_psql('postgres',
		q{SELECT (SELECT count(*) FROM observa.slow_queries(100)) || ' ' ||
		         (SELECT string_agg(name || '=' || value, ',' ORDER BY name) FROM observa.info
		           WHERE section = 'slow_queries' AND name IN ('entries', 'slow_queries_dropped', 'writes_abandoned'))}),
	'0 entries=0,slow_queries_dropped=0,writes_abandoned=0',
	'after the crash restart the ring is empty');
$node->safe_psql('postgres', $set . "SELECT 'after crash' AS marker");
is( $node->safe_psql('postgres',
		q{SELECT string_agg(seq || ' ' || query, ',' ORDER BY seq) FROM observa.slow_queries}),
	"1 SET observa.slow_query_threshold = 0,2 SELECT 'after crash' AS marker",
	'capturing starts again from seq 1');

# immediate shutdown and start: nothing survives, nothing is corrupt
$node->safe_psql('postgres', $set . join('', map { "SELECT $_ AS before_stop;\n" } 1 .. 20));
$node->stop('immediate');
$node->start;
is(ring_state(), '0 0', 'after an immediate stop and start the ring is empty');
$node->safe_psql('postgres', $set . join('', map { "SELECT $_ AS after_start;\n" } 1 .. 20));
is( $node->safe_psql('postgres', q{
		SELECT count(*) || ' ' || min(substring(query from '(\d+) AS after_start')::int)
		  FROM observa.slow_queries WHERE query LIKE '%after_start'}),
	'8 13', 'the ring wraps normally after the restart');

$node->stop;
done_testing();

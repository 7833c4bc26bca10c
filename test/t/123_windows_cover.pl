# Windows never silently cover less than asked: 1000 active keys over 8
# finest windows (more than observa.windows keeps) give exactly the same
# calls in table_stats('1 hour') as since reset, for every key, and the
# same for statement_stats('1 hour'); every row says it is complete since
# the reset.  The default capacities (1000 keys) and window settings other
# than a 1-second finest window.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep);
use lib 'test/t/lib';
use ObservaTest;

my $node = observa_node('windows_cover', "observa.window = 1s\n");
$node->safe_psql('postgres', q{
DO $$ BEGIN FOR i IN 1..1000 LOOP EXECUTE format('CREATE TABLE k_%s (a int)', i); END LOOP; END $$;
SET observa.track = 'none';
SELECT observa.reset();
});
my $sql = join('', map { "SELECT count(*) FROM k_$_;\n" } 1 .. 1000);
for my $round (1 .. 8)
{
	$node->safe_psql('postgres', $sql);
	sleep(1.1);
}

# the reads are not timed: they would add keys to a full store (and evict
# 5 % of it).  observa.track is set at connection start, since a SET
# statement is itself tracked (as pg_stat_statements tracks it) and would
# be the 1001st statement.
sub rd
{
	local $ENV{PGOPTIONS} = '-c observa.track=none';
	return $node->safe_psql('postgres', $_[0]);
}

my $r = rd(q{
	SELECT (SELECT count(*) || '/' || sum(calls) FROM observa.table_stats WHERE relname LIKE 'k\_%'),
	       (SELECT count(*) || '/' || sum(calls) FROM observa.table_stats('1 hour') WHERE relname LIKE 'k\_%')});
my ($total, $hour) = split /\|/, $r;
is($total, '1000/8000', 'since reset: 1000 keys, 8000 calls');
is($hour, '1000/8000', "table_stats('1 hour'): the same 1000 keys and 8000 calls");
is(rd(q{
	SELECT count(*) FROM observa.table_stats t
	  JOIN observa.table_stats('1 hour') w USING (relid, operation)
	 WHERE t.relname LIKE 'k\_%' AND t.calls = w.calls AND t.p50_ms = w.p50_ms}),
	'1000', 'every key: the same calls and median in the hour as since reset');
is(rd(q{
	SELECT bool_and(covered_since = (SELECT value::timestamptz FROM observa.info
	                                 WHERE section = 'table_stats' AND name = 'stats_reset'))
	  FROM observa.table_stats('1 hour') WHERE relname LIKE 'k\_%'}),
	't', 'each row says it is complete since the reset');
is(rd(q{
	SELECT sum(calls) FROM observa.table_stats('3 s') WHERE relname LIKE 'k\_%'}) < 8000 ? 'fewer' : 'all',
	'fewer', 'the finest level keeps only its recent windows');
is(rd(q[
	SELECT (SELECT sum(calls) FROM observa.statement_stats WHERE relations::text LIKE '{k\_%') || '/' ||
	       (SELECT sum(calls) FROM observa.statement_stats('1 hour') WHERE relations::text LIKE '{k\_%')]),
	'8000/8000', "statement_stats('1 hour') equals statement_stats for 1000 statements");
is(rd(q{SELECT value FROM observa.info WHERE section = 'statement_stats' AND name = 'evictions'}),
	'0', 'the statements fit (1000, the default capacity)');
is(rd(q{
	SELECT value FROM observa.info WHERE section = 'table_stats' AND name = 'window_slots_recycled'}),
	'0', 'no kept window was lost');
$node->stop;
done_testing();

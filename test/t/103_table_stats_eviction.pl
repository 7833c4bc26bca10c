# Eviction: with observa.max_entries = 20 and statements on 60 distinct
# tables the store stays at capacity, evictions are counted, frequently
# used entries survive and the counts of surviving entries stay exact.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;

my $node = observa_node('eviction', "observa.max_entries = 20\nobserva.window_slots = 8\n");
$node->safe_psql('postgres', q{
	CREATE TABLE hot (i int);
	INSERT INTO hot VALUES (1);
	SELECT format('CREATE TABLE ev_%s (i int)', g) FROM generate_series(1, 60) g \gexec
	SELECT observa.reset();
});
is($node->safe_psql('postgres',
	q{SELECT value FROM observa.info WHERE section = 'table_stats' AND name = 'capacity'}),
	'20', 'capacity is observa.max_entries');

# a hot table used often, then 60 cold tables once each, in separate
# sessions so that each flush sees few new keys
$node->safe_psql('postgres', join('', map { "SELECT * FROM hot;\n" } 1 .. 200));
for my $chunk (0 .. 5)
{
	my $sql = join('', map { 'SELECT * FROM ev_' . ($chunk * 10 + $_) . ";\n" } 1 .. 10);
	$node->safe_psql('postgres', $sql);
}
my $info = $node->safe_psql('postgres', q{
	SELECT string_agg(name || '=' || value, ',' ORDER BY name) FROM observa.info
	 WHERE section = 'table_stats' AND name IN ('entries', 'evictions')});
my ($entries) = $info =~ /entries=(\d+)/;
my ($evictions) = $info =~ /evictions=(\d+)/;
ok($entries <= 20 && $entries > 0, "entries stay within capacity ($info)");
ok($evictions >= 41, "evictions are counted ($info)");
is($node->safe_psql('postgres', q{SELECT count(*) FROM observa.table_stats}), $entries,
	'the view shows as many rows as entries');
is($node->safe_psql('postgres', q{SELECT calls FROM observa.table_stats WHERE relname = 'hot'}),
	'200', 'the hot entry survives with its exact count');
is($node->safe_psql('postgres', q{
	SELECT bool_and(calls = 1) FROM observa.table_stats WHERE relname LIKE 'ev\_%'}),
	't', 'surviving cold entries have exact counts');
# windows of evicted entries never leak into the entries reusing the slots
is($node->safe_psql('postgres', q{
	SELECT bool_and(w.calls = t.calls) FROM observa.table_stats t
	  JOIN observa.table_stats('1 hour') w USING (relid, operation)}),
	't', 'window statistics agree with the totals after evictions');
# window slots: 8 slots per level for up to 20 live entries: kept windows are
# recycled, and reported
ok($node->safe_psql('postgres', q{
	SELECT value::int FROM observa.info WHERE section = 'table_stats' AND name = 'window_slots_recycled'}) > 0,
	'recycled window slots are reported');
$node->stop;
done_testing();

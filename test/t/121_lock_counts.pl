# observa counts its own lock acquisitions per room (backend-local,
# published when a backend flushes, reads observa.info or exits) and the
# statement samples the hooks dispatched: after a session of 1000
# statements, core.statements_recorded grows by exactly the statements
# run, and the table store's shared-lock count grows by less than one per
# statement (publishing is batched), but grows.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 'test/t/lib';
use ObservaTest;

my $node = observa_node('lock_counts');
$node->safe_psql('postgres', 'CREATE TABLE lc (id int PRIMARY KEY); INSERT INTO lc VALUES (1)');

sub info
{
	my ($section, $name) = @_;
	return $node->safe_psql('postgres',
		"SELECT value FROM observa.info WHERE section = '$section' AND name = '$name'");
}

# every room that takes locks reports the three counters
my $rows = $node->safe_psql('postgres', q{
	SELECT string_agg(section, ',' ORDER BY section COLLATE "C") FROM observa.info
	 WHERE name = 'lwlock_shared_acquisitions'});
like($rows, qr/statement_stats.*table_stats/, "rooms with locks report their counts ($rows)");
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM observa.info WHERE name = 'shared_memory_bytes'}),
	$node->safe_psql('postgres', q{SELECT count(DISTINCT section) FROM observa.info}),
	'every section has one shared_memory_bytes row');

# let every earlier backend publish what it counted (at its exit)
sleep 1;
my $stmts0 = info('core', 'statements_recorded');
my $locks0 = info('table_stats', 'lwlock_shared_acquisitions');
my $spin0 = info('table_stats', 'spinlock_acquisitions');

# 1000 statements in one session (the reading statement above counts too)
$node->safe_psql('postgres', join('', map { "SELECT id FROM lc WHERE id = 1;\n" } 1 .. 1000));

my $expect = $stmts0 + 1000 + 1;
ok($node->poll_query_until('postgres',
		"SELECT value::bigint >= $expect FROM observa.info WHERE section = 'core' AND name = 'statements_recorded'"),
	'the sessions published their counts at exit');
# the polling statements above were counted by their own (exited) backends;
# the workload and the first read are 1001 of them
my $stmts1 = info('core', 'statements_recorded');
cmp_ok($stmts1 - $stmts0, '>=', 1001, 'statements_recorded counts every statement');

my $locks = info('table_stats', 'lwlock_shared_acquisitions') - $locks0;
my $spins = info('table_stats', 'spinlock_acquisitions') - $spin0;
cmp_ok($locks, '>', 0, "the table store's shared-lock acquisitions are counted ($locks)");
cmp_ok($locks, '<', 1000, "fewer than one shared lock per statement ($locks for 1000 statements)");
cmp_ok($spins, '>', 0, "spinlock acquisitions are counted ($spins)");

# exact: one backend, its own statements only, read by itself
my $out = $node->safe_psql('postgres', q{
	SELECT value FROM observa.info WHERE section = 'core' AND name = 'statements_recorded' \gset
	SELECT 1; SELECT 2; SELECT 3;
	SELECT value::bigint - :value AS delta FROM observa.info
	 WHERE section = 'core' AND name = 'statements_recorded';
});
like($out, qr/^4$/m, 'a backend publishes its own count before reading observa.info: 3 statements and the first read');

done_testing();

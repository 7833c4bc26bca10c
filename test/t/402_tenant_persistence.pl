# Persistence of per-tenant statistics: a clean restart keeps every
# tenant's calls, time and percentiles; a restart with a smaller
# observa.max_tenants keeps the tenants with the most calls and folds the rest into (other)
# so totals still add up; an immediate stop starts empty and consistent;
# a corrupt, truncated or foreign file, or one written with another
# histogram shape, is ignored with a LOG line and the server comes up;
# observa.save = off keeps nothing.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;

my $node = observa_node('tenant_persistence', "observa.max_tenants = 20\n");
$node->safe_psql('postgres', q{
CREATE TABLE tp (id int PRIMARY KEY, tenant_id int, v int);
INSERT INTO tp SELECT g, g % 10, g FROM generate_series(1, 1000) g;
SELECT observa.reset_tenant_stats();
});
my $file = $node->data_dir . '/pg_stat/observa_tenant_stats.stat';

# tenant t gets t statements (tenants 1..12: 78); with $expect, wait
# until the tenant rows count that many calls (the workload's backend
# publishes its statements as it exits)
sub workload
{
	my ($expect) = @_;
	my $sql = '';
	for my $t (1 .. 12)
	{
		$sql .= "SELECT count(*) FROM tp WHERE tenant_id = $t;\n" for 1 .. $t;
	}
	$node->safe_psql('postgres', $sql);
	return if !defined $expect;
	$node->poll_query_until('postgres',
		qq{SELECT coalesce(sum(calls), 0) = $expect FROM observa.tenant_stats WHERE tenant IS NOT NULL})
	  or diag("tenant rows did not reach $expect calls");
}

# tenant rows, (other) included, as text: tenant:calls:total:p95
sub tenant_rows
{
	return $node->safe_psql('postgres', q{
		SELECT coalesce(string_agg(tenant || ':' || calls || ':' || total_time_ms || ':' || p95_ms,
		                           ',' ORDER BY tenant COLLATE "C"), '')
		  FROM observa.tenant_stats WHERE tenant IS NOT NULL AND calls > 0});
}

sub tenant_calls
{
	return $node->safe_psql('postgres',
		q{SELECT coalesce(sum(calls), 0) FROM observa.tenant_stats WHERE tenant IS NOT NULL});
}

sub persistence
{
	return $node->safe_psql('postgres',
		q{SELECT value FROM observa.info WHERE section = 'tenant_stats' AND name = 'persistence'});
}

workload(78);
my $before = tenant_rows();
is(tenant_calls(), 78, 'workload: 78 statements of tenants 1..12');
like($before, qr/^1:1:.*,9:9:/, 'per-tenant rows before the restart');

# 1. clean restart: same calls, time and percentiles per tenant
$node->restart(mode => 'fast');
is(tenant_rows(), $before, 'a clean restart keeps calls, total time and p95 of every tenant');
ok(!-e $file, 'the file is removed once loaded');
like(persistence(), qr/^loaded (\d+) of \1 entries$/,
	'observa.info says what was loaded');
is($node->safe_psql('postgres', q{
	SELECT round(sum(share_of_total_time)::numeric, 6) FROM observa.tenant_stats}), '1.000000',
	'shares of the database total add up to 1 after loading');
workload(156);
is(tenant_calls(), 156, 'counting goes on after the restart');
my $total = $node->safe_psql('postgres',
	q{SELECT sum(total_time_ms) FROM observa.tenant_stats WHERE tenant IS NOT NULL});

# 2. fewer tenants allowed than saved: most calls kept, the rest in (other)
$node->stop('fast');
ok(-e $file, 'a clean stop writes the file');
# (10 rows in all: the NULL-tenant row, (other) and 8 tenants)
$node->append_conf('postgresql.conf', 'observa.max_tenants = 10');
$node->start;
is(tenant_calls(), 156, 'with max_tenants = 10 the tenant rows still add up to 156 calls');
is($node->safe_psql('postgres', q{
	SELECT string_agg(tenant, ',' ORDER BY calls DESC) FROM observa.tenant_stats
	 WHERE tenant IS NOT NULL AND NOT is_other}), '12,11,10,9,8,7,6,5',
	'the eight tenants with the most calls are kept');
is($node->safe_psql('postgres', q{SELECT calls FROM observa.tenant_stats WHERE is_other}),
	'20', '(other) holds the calls of tenants 1 to 4');
like(persistence(), qr/\(4 more folded into their group's pinned entry\)/, 'the fold is reported');
is($node->safe_psql('postgres', qq{
	SELECT abs(sum(total_time_ms) - $total) <= 1e-9 * $total FROM observa.tenant_stats
	 WHERE tenant IS NOT NULL}), 't', 'and so does the total time');
$node->append_conf('postgresql.conf', 'observa.max_tenants = 20');
$node->restart(mode => 'fast');

# 3. an immediate stop is a crash: start empty and consistent
is(tenant_calls(), 156, 'kept again across a clean restart');
$node->stop('immediate');
$node->start;
is(tenant_calls(), 0, 'after an immediate stop tenant statistics start empty');
ok(!-e $file, 'no stale file is left to resurrect old statistics');
workload(78);
is(tenant_calls(), 78, 'and they count consistently afterwards');

# 4. a corrupt, truncated, foreign or other-shape file: LOG line, empty, server up
$node->stop('fast');
ok(-e $file, 'a clean stop writes the file');
my $good = slurp_file($file);
my %bad = (
	'corrupt'   => substr($good, 0, 80) . ('garbage!' x 4) . substr($good, 112),
	'truncated' => substr($good, 0, length($good) - 100),
	'foreign'   => pack('L', 0xdeadbeef) . substr($good, 4),
	'empty'     => '',
);
for my $kind (sort keys %bad)
{
	open(my $fh, '>', $file) or die;
	binmode $fh;
	print $fh $bad{$kind};
	close $fh;
	my $logstart = -s $node->logfile;
	$node->start;
	is($node->safe_psql('postgres', 'SELECT 1'), '1', "server up after a $kind file");
	is(tenant_calls(), 0, "a $kind file is ignored: tenant statistics start empty");
	ok($node->log_contains(qr/observa: tenant_stats statistics file .*: ignored/, $logstart),
		"a $kind file is reported in the log");
	ok(!-e $file, "the $kind file is removed");
	workload();
	$node->stop('fast');
}

# a file written with another histogram shape
ok(-e $file, 'file written before changing observa.histogram_error');
my $logstart = -s $node->logfile;
$node->append_conf('postgresql.conf', 'observa.histogram_error = 0.02');
$node->start;
is(tenant_calls(), 0, 'a file of another histogram shape is ignored');
ok($node->log_contains(qr/tenant_stats statistics file .*: ignored: written with a different histogram_error/,
	$logstart), 'and reported in the log');

# 5. observa.save = off: nothing is kept
$node->append_conf('postgresql.conf', 'observa.save = off');
$node->restart(mode => 'fast');
workload(78);
is(tenant_calls(), 78, 'statistics are counted with observa.save = off');
$node->stop('fast');
ok(!-e $file, 'with observa.save = off no file is written');
$node->start;
is(tenant_calls(), 0, 'and nothing is kept');
$node->stop;
done_testing();

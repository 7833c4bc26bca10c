# Per-tenant statistics under a skewed workload with more tenants than
# observa.max_tenants: the heavy tenants come out first and in order, the
# rows stay bounded, calls add up exactly to what pgbench ran (simple and
# prepared protocol), the (other) row takes the evicted tenants, explicit
# SET observa.tenant is attributed, data of exited backends is visible, a
# bad observa.max_tenants is reported with its valid range, and a second
# database's tenants live beside the first's (one capacity for all).
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;

my $node = observa_node('tenant_skew', q{
observa.max_tenants = 20
}, { create_extension => 0 });

$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('other', 'CREATE EXTENSION observa');
# that backend has flushed (before leaving pg_stat_activity) before we reset
$node->poll_query_until('postgres',
	q{SELECT count(*) = 0 FROM pg_stat_activity WHERE datname = 'other'});
$node->safe_psql('postgres', q{
CREATE EXTENSION observa;
CREATE TABLE t (id int PRIMARY KEY, tenant_id int, v int);
INSERT INTO t SELECT g, g % 101, g FROM generate_series(1, 10100) g;
CREATE INDEX ON t (tenant_id);
ANALYZE t;
SELECT observa.reset_tenant_stats();
});

my $dir = PostgreSQL::Test::Utils::tempdir;
# tenant 1: heavy (sleeps 3 ms); tenant 2: medium (1 ms); tenants 3..100 small
open my $f, '>', "$dir/big.sql" or die;
print $f "SELECT count(*), pg_sleep(0.003) FROM t WHERE tenant_id = 1;\n";
close $f;
open $f, '>', "$dir/mid.sql" or die;
print $f "SELECT count(*), pg_sleep(0.001) FROM t WHERE tenant_id = 2;\n";
close $f;
open $f, '>', "$dir/small.sql" or die;
print $f "\\set t random(3, 100)\nSELECT count(*) FROM t WHERE tenant_id = :t;\n";
close $f;

my $clients = 2;
my $tx = 150;
foreach my $mode ('simple', 'prepared')
{
	$node->command_ok(
		[ 'pgbench', '-n', '-M', $mode, '-c', $clients, '-j', 1, '-t', $tx,
		  '-f', "$dir/big.sql\@2", '-f', "$dir/mid.sql\@2", '-f', "$dir/small.sql\@6",
		  '-h', $node->host, '-p', $node->port, 'postgres' ],
		"pgbench -M $mode ran");
}
my $expected_calls = 2 * $clients * $tx;

# pgbench's backends flush at exit; wait until all their statements show
ok($node->poll_query_until('postgres',
	qq{SELECT sum(calls) = $expected_calls FROM observa.tenant_stats WHERE tenant IS NOT NULL}),
	"tenant rows (incl. (other)) count exactly the $expected_calls statements pgbench ran");

my $top = $node->safe_psql('postgres', q{
	SELECT string_agg(tenant, ',' ORDER BY total_time_ms DESC)
	  FROM (SELECT tenant, total_time_ms FROM observa.tenant_stats
	         WHERE tenant IS NOT NULL AND NOT is_other
	         ORDER BY total_time_ms DESC LIMIT 2) s});
is($top, '1,2', 'heaviest tenants in order: 1, then 2');

my $share = $node->safe_psql('postgres', q{
	SELECT share_of_total_time > 0.4 FROM observa.tenant_stats WHERE tenant = '1'});
is($share, 't', 'tenant 1 takes the biggest share');

my $rows = $node->safe_psql('postgres',
	q{SELECT count(*) FROM observa.tenant_stats WHERE NOT is_other AND tenant IS NOT NULL});
ok($rows <= 18, "at most observa.max_tenants rows, the NULL and (other) rows included ($rows tenants)");

my ($other_calls, $evictions) = split /\|/, $node->safe_psql('postgres', q{
	SELECT (SELECT calls FROM observa.tenant_stats WHERE is_other),
	       (SELECT value FROM observa.info WHERE section = 'tenant_stats' AND name = 'evictions')});
ok($other_calls > 0, "evicted tenants' calls are in the (other) row ($other_calls)");
ok($evictions > 0, "evictions are counted ($evictions)");

is($node->safe_psql('postgres', q{
	SELECT bool_and(error_bound_ms >= 0) AND bool_or(error_bound_ms > 0)
	  FROM observa.tenant_stats WHERE tenant IS NOT NULL AND NOT is_other}),
	't', 'tenants admitted after eviction carry an error bound');

is($node->safe_psql('postgres', q{
	SELECT abs(sum(share_of_total_time) - 1) < 1e-9 FROM observa.tenant_stats}),
	't', 'shares of the database add up to 1');

# the same totals in the windowed form
is($node->safe_psql('postgres', qq{
	SELECT sum(calls) FROM observa.tenant_stats('10 minutes') WHERE tenant IS NOT NULL}),
	$expected_calls, 'the windowed form counts the same statements');

# explicit tenant, prepared and simple
$node->safe_psql('postgres', q{
	SET observa.tenant = 'acme';
	SELECT count(*) FROM t WHERE tenant_id = 5;
	PREPARE p AS SELECT count(*) FROM t WHERE tenant_id = 5;
	EXECUTE p;});
ok($node->poll_query_until('postgres',
	q{SELECT calls >= 3 FROM observa.tenant_stats WHERE tenant = 'acme'}),
	'SET observa.tenant attributes simple and prepared statements');

# a bad observa.max_tenants in postgresql.conf: PostgreSQL's rule for
# extension settings is a WARNING naming the valid range, and the default
$node->stop;
$node->append_conf('postgresql.conf', 'observa.max_tenants = -5');
my $log_offset = -s $node->logfile;
$node->start;
like(slurp_file($node->logfile, $log_offset),
	qr/WARNING:  -5 is outside the valid range for parameter "observa.max_tenants" \(10 \.\. 1000000\)/,
	'the log says which setting is wrong and its valid range');
is($node->safe_psql('postgres', 'SHOW observa.max_tenants'), '1000',
	'the default is used instead of -5');
my ($rc, $out, $err) = $node->psql('postgres', 'SET observa.max_tenants = -5');
isnt($rc, 0, 'SET observa.max_tenants is refused');
like($err, qr/cannot be changed without restarting the server/, 'and says why');
$node->append_conf('postgresql.conf', 'observa.max_tenants = 20');
$node->restart;

# two databases share the one capacity: the second database's tenant
# does not take anything of the first's.  A reader flushes its own
# session's statements first, so each check reads in the session that ran
# them.
is($node->safe_psql('postgres', q{
	SET observa.tenant = 'in-postgres';
	SELECT count(*) FROM observa.tenant_stats WHERE datname = 'postgres' AND tenant = 'in-postgres';}),
	'1', 'the first database has its tenant');
my $seen = $node->safe_psql('other', q{
	SET observa.tenant = 'in-other';
	SELECT string_agg(datname || ':' || tenant || ':' || calls, ',' ORDER BY datname)
	  FROM observa.tenant_stats WHERE tenant LIKE 'in-%';});
# (a session's SET observa.tenant counts under the new tenant, and a read
# counts once it has run: postgres's read is in, other's not yet)
is($seen, 'other:in-other:1,postgres:in-postgres:2', 'both databases keep their tenants');

$node->stop;
done_testing();

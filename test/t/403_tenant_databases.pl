# Tenant statistics of many databases share one capacity: five databases
# with tenant traffic keep every database's calls exactly, with the default
# capacity and with one so small that each database's tenants are evicted
# into its own (other) row; statements of a database before its first
# tenant (its setup) and of databases without tenants take no rows.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 'test/t/lib';
use ObservaTest;

my $node = observa_node('tenant_databases');
my $dir = PostgreSQL::Test::Utils::tempdir;
open my $f, '>', "$dir/q.sql" or die;
print $f "\\set t random(0, 29)\nSELECT count(*) FROM t WHERE tenant_id = :t;\n";
close $f;

my @dbs = map { "db$_" } 1 .. 5;
foreach my $d (@dbs)
{
	$node->safe_psql('postgres', "CREATE DATABASE $d");
	$node->safe_psql($d, q{
		CREATE EXTENSION observa;
		CREATE TABLE t (id int PRIMARY KEY, tenant_id int);
		INSERT INTO t SELECT g, g % 30 FROM generate_series(1, 3000) g;
		ANALYZE t;});
}

sub traffic
{
	for my $round (1 .. 2)
	{
		foreach my $d (@dbs)
		{
			$node->command_ok(
				[ 'pgbench', '-n', '-c', 2, '-j', 1, '-t', 150, '-f', "$dir/q.sql",
				  '-h', $node->host, '-p', $node->port, $d ],
				"pgbench on $d, round $round");
		}
	}
}

sub per_db
{
	return $node->safe_psql('postgres', q{
		SELECT string_agg(datname || '=' || n, ' ' ORDER BY datname)
		  FROM (SELECT datname, sum(calls) n FROM observa.tenant_stats
		         WHERE datname LIKE 'db_' GROUP BY datname) s});
}

my $want = join(' ', map { "$_=600" } @dbs);
traffic();
ok($node->poll_query_until('postgres',
		qq{SELECT coalesce(string_agg(datname || '=' || n, ' ' ORDER BY datname), '') = '$want'
		     FROM (SELECT datname, sum(calls) n FROM observa.tenant_stats
		            WHERE datname LIKE 'db_' GROUP BY datname) s}),
	'five databases, 600 tenant statements each: every database keeps them all') or diag(per_db());
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM observa.tenant_stats WHERE datname LIKE 'db_' AND tenant IS NULL}),
	'0', 'their setup statements, before any tenant, take no row');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM observa.tenant_stats WHERE datname = 'postgres'}),
	'0', 'neither does a database without tenants');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM observa.tenant_stats WHERE datname LIKE 'db_' AND NOT is_other}),
	'150', '30 tenants in each of the five databases');
is($node->safe_psql('postgres', q{
	SELECT bool_and(s = 1) FROM (SELECT round(sum(share_of_total_time)::numeric, 9) s
	                               FROM observa.tenant_stats GROUP BY datname) x}),
	't', "each database's shares add up to 1");

# a statement without a tenant in a database that has tenants: its NULL row
my $null = $node->safe_psql('db1', q{
	SELECT count(*) FROM t;
	SELECT calls FROM observa.tenant_stats WHERE datname = 'db1' AND tenant IS NULL});
is((split /\n/, $null)[-1], '1', 'a database with tenants keeps its statements without a tenant');

# 150 tenants over 5 databases in a store of 40 rows: evictions into each
# database's (other); every database still adds up exactly
$node->append_conf('postgresql.conf', "observa.max_tenants = 40\n");
$node->restart;
$node->safe_psql('postgres', 'SELECT observa.reset_tenant_stats()');
traffic();
ok($node->poll_query_until('postgres',
		qq{SELECT coalesce(string_agg(datname || '=' || n, ' ' ORDER BY datname), '') = '$want'
		     FROM (SELECT datname, sum(calls) n FROM observa.tenant_stats
		            WHERE datname LIKE 'db_' GROUP BY datname) s}),
	'a store of 40 rows for 150 tenants: every database still adds up to 600') or diag(per_db());
my ($rows, $others, $evictions) = split /\|/, $node->safe_psql('postgres', q{
	SELECT (SELECT count(*) FROM observa.tenant_stats),
	       (SELECT count(*) FROM observa.tenant_stats WHERE is_other AND calls > 0),
	       (SELECT value FROM observa.info WHERE section = 'tenant_stats' AND name = 'evictions')});
ok($rows <= 40, "at most 40 rows ($rows)");
ok($others >= 1 && $evictions > 0, "evicted tenants went to their database's (other) row ($others rows, $evictions evictions)");
is($node->safe_psql('postgres', q{
	SELECT bool_and(calls > 0) FROM observa.tenant_stats WHERE NOT is_other AND datname LIKE 'db_'}),
	't', 'the rows kept count calls');
is($node->safe_psql('postgres', q{
	SELECT sum(calls) FROM observa.tenant_stats('1 hour') WHERE datname LIKE 'db_'}),
	'3000', 'the windows of evicted tenants are folded too: the last hour adds up to 3000');
$node->stop;
done_testing();

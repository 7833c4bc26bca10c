# A store that fills and evicts under 8 concurrent clients keeps its
# totals consistent: the table store (20 entries, 100 tables) and the
# tenant store (30 rows, 400 tenants in two databases, Space-Saving) are
# hammered by 8 pgbench clients; afterwards every surviving table entry has
# the same calls in its windows as since its creation, every latency
# histogram's last bucket equals its calls, entries stay within capacity,
# and each database's tenant rows add up to exactly the statements run.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 'test/t/lib';
use ObservaTest;

my $node = observa_node('store_concurrency',
	"observa.max_entries = 20\nobserva.max_tenants = 30\nmax_connections = 40\n");
$node->safe_psql('postgres', 'CREATE DATABASE other');
# a database without tenants to read from: its statements take no tenant row
$node->safe_psql('postgres', 'CREATE DATABASE reader');
$node->safe_psql('reader', 'CREATE EXTENSION observa');
for my $db ('postgres', 'other')
{
	$node->safe_psql($db, q{
		CREATE EXTENSION IF NOT EXISTS observa;
		CREATE TABLE tt (id int PRIMARY KEY, tenant_id int);
		INSERT INTO tt SELECT g, g % 200 FROM generate_series(1, 2000) g;
		SELECT format('CREATE TABLE c_%s (a int)', g) FROM generate_series(1, 100) g \gexec
		ANALYZE;});
}
$node->safe_psql('reader', 'SELECT observa.reset()');

my $dir = PostgreSQL::Test::Utils::tempdir;
open my $f, '>', "$dir/q.sql" or die;
print $f "\\set t random(0, 199)\n\\set c random(1, 100)\n"
  . "SELECT count(*) FROM tt WHERE tenant_id = :t;\n"
  . "SELECT count(*) FROM c_:c;\n";
close $f;
for my $db ('postgres', 'other')
{
	$node->command_ok(
		[ 'pgbench', '-n', '-c', 8, '-j', 4, '-t', 250, '-f', "$dir/q.sql",
		  '-h', $node->host, '-p', $node->port, $db ],
		"8 clients on $db");
}

# each database ran 8 * 250 tenant statements (and as many without tenant)
my $want = 'other=4000 postgres=4000';
ok($node->poll_query_until('reader', qq{
	SELECT string_agg(datname || '=' || n, ' ' ORDER BY datname) = '$want'
	  FROM (SELECT datname, sum(calls) n FROM observa.tenant_stats GROUP BY datname) s}),
	'tenant rows of each database add up to every statement run there, evictions and all')
  or diag($node->safe_psql('reader', q{
	SELECT string_agg(datname || '=' || n, ' ' ORDER BY datname)
	  FROM (SELECT datname, sum(calls) n FROM observa.tenant_stats GROUP BY datname) s}));
is($node->safe_psql('reader', q{
	SELECT sum(calls) FILTER (WHERE tenant IS NOT NULL) || '/' || count(*) FILTER (WHERE tenant IS NULL)
	  FROM observa.tenant_stats}),
	'4000/2', 'tenant statements 2 x 2000 (named and other); one NULL row per database');
my ($trows, $tev) = split /\|/, $node->safe_psql('reader', q{
	SELECT (SELECT count(*) FROM observa.tenant_stats),
	       (SELECT value FROM observa.info WHERE section = 'tenant_stats' AND name = 'evictions')});
ok($trows <= 30 && $tev > 0, "the tenant store stayed within 30 rows and evicted ($trows rows, $tev evictions)");
is($node->safe_psql('reader', q{
	SELECT sum(calls) FROM observa.tenant_stats('1 hour')}),
	$node->safe_psql('reader', q{SELECT sum(calls) FROM observa.tenant_stats}),
	'the windowed tenant rows add up to the same total');

my ($entries, $evictions) = split /\|/, $node->safe_psql('reader', q{
	SELECT (SELECT value FROM observa.info WHERE section = 'table_stats' AND name = 'entries'),
	       (SELECT value FROM observa.info WHERE section = 'table_stats' AND name = 'evictions')});
ok($entries <= 20 && $evictions > 0, "the table store stayed within 20 entries and evicted ($entries, $evictions)");
is($node->safe_psql('reader', q{
	SELECT count(*) FROM observa.table_stats t
	  LEFT JOIN observa.table_stats('1 hour') w USING (datname, relid, operation)
	 WHERE w.calls IS DISTINCT FROM t.calls}),
	'0', 'every surviving entry: the same calls in its windows as since it was created');
is($node->safe_psql('reader', q{
	SELECT count(*) FROM observa.table_latency_buckets(ARRAY[1]) b
	  JOIN observa.table_stats t USING (datname, relid, operation)
	 WHERE b.le_ms = 'Infinity' AND b.count <> t.calls}),
	'0', "every entry's histogram counts its calls");
is($node->safe_psql('reader', q{
	SELECT value FROM observa.info WHERE section = 'table_stats' AND name = 'sketch_counts_dropped'}),
	'0', 'no latency was left out of a sketch');
$node->stop;
done_testing();

# Index advisor, determinism: identical traffic gives identical
# recommendations (column order, names, the chosen set) whatever order the
# advisor sampled it in.  The same few hundred statements of the saas
# fixture's workload (literal values, a fixed pseudo-random sequence) run
# in two identical databases: in one session in order in the first, in
# four concurrent sessions in reverse order in the second; and again in the
# first database, four sessions, after reset_advisor().  The outputs are
# compared but for planner costs (the UPDATEs' order moves tuples between
# pages) and queryids (they depend on table OIDs).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use ObservaTest;
use SaasTraffic;

my $node = observa_node('advisor_determinism', qq{
observa.advisor_sample_rate = 1.0
observa.advisor_max_queries = 200
autovacuum = off
});
my $fixture = "\\set scale 0.05\n" . slurp_file(observa_src() . '/test/fixtures/saas.sql');
for my $db ('d1', 'd2')
{
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, 'CREATE EXTENSION observa');
	$node->safe_psql($db, $fixture);
	$node->safe_psql($db, 'SELECT observa.reset(), observa.reset_advisor()');
}

my @traffic = SaasTraffic::statements(400);

# run the traffic in one session, in order
sub run_in_order
{
	my ($db) = @_;
	$node->safe_psql($db, join(";\n", @traffic) . ";\n");
}

# run the traffic in four concurrent sessions, each its share in reverse
sub run_concurrently
{
	my ($db) = @_;
	my @h;
	for my $s (0 .. 3)
	{
		my $file = $node->basedir . "/traffic_${db}_$s.sql";
		my @mine = grep { $_ % 4 == $s } 0 .. $#traffic;
		open(my $fh, '>', $file) or die "cannot write $file: $!";
		print $fh join(";\n", map { $traffic[$_] } reverse @mine), ";\n";
		close($fh);
		push @h, IPC::Run::start(
			[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr($db), '-f', $file ],
			'>', '/dev/null', '2>', \my $err);
	}
	$_->finish for @h;
	return;
}

# the answer but for what the traffic's UPDATEs change with their order
# (the pages HOT chains take, hence the planner's costs) and the queryids
# (they contain table OIDs): the set, its names and column order, the
# statements and executions each serves, the tenants tried, the HOT loss
my $answer = q{
SELECT relname, array_to_string(columns, ','), index_def, tenant_column, tenant_leading,
       cardinality(queries), calls, substring(reason from 'tenants tried: [^;.]*'),
       update_overhead_pct
  FROM observa.recommend_indexes() ORDER BY index_def COLLATE "C"};

run_in_order('d1');
run_concurrently('d2');
my $a1 = $node->safe_psql('d1', $answer);
my $a2 = $node->safe_psql('d2', $answer);
ok($a1 ne '', 'the traffic gives recommendations');
is($a2, $a1, 'the same traffic in another order and four sessions gives the same answer');
is($node->safe_psql('d2', q{SELECT string_agg(index_def, ' / ') FILTER (WHERE NOT tenant_leading) FROM observa.recommend_indexes()}),
	'', 'every recommended index is tenant-led');

# the same database, the same traffic again, concurrently: the same set
my $set = q{SELECT string_agg(index_def, E'\n' ORDER BY index_def COLLATE "C") FROM observa.recommend_indexes()};
my $s1 = $node->safe_psql('d1', $set);
$node->safe_psql('d1', 'SELECT observa.reset_advisor()');
run_concurrently('d1');
is($node->safe_psql('d1', $set), $s1,
	'running the same traffic twice in one database gives the same set, names and column order');

done_testing();

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

# the traffic: a fixed sequence (linear congruential), tenants Zipf-like
my $seed = 12345;
sub rnd { $seed = ($seed * 1103515245 + 12345) % 2147483648; return $seed / 2147483648; }
sub tenant { return 1 + int(200 * rnd()**3); }
sub user_tenant
{
	my ($g) = @_;
	my $t = 1 + int(200 * ((($g * 7919 + 17) % 100003) / 100003.0)**3);
	return $t > 200 ? 200 : $t;
}
my @traffic;
for my $i (1 .. 400)
{
	my $k = $i % 12;
	my $t = tenant();
	my $d = int(rnd() * 130);
	my $u = 1 + int(rnd() * 1000);
	my $id = 1 + int(rnd() * 10000);
	push @traffic,
	  $k == 0 ? "SELECT id, subject, opened_at FROM saas.tickets WHERE tenant_id = $t AND status IN ('open', 'pending') ORDER BY opened_at DESC LIMIT 20"
	  : $k == 1 ? "SELECT id, status, opened_at FROM saas.tickets WHERE tenant_id = $t AND opened_at >= timestamptz '2026-01-01' + $d * interval '1 day' AND opened_at < timestamptz '2026-01-01' + ($d + 7) * interval '1 day' ORDER BY opened_at LIMIT 50"
	  : $k == 2 ? "SELECT t.id, t.subject FROM saas.users u JOIN saas.tickets t ON t.tenant_id = u.tenant_id WHERE u.id = $u AND t.status = 'open' ORDER BY t.opened_at DESC LIMIT 10"
	  : $k == 3 ? "SELECT id, at, severity, message FROM saas.events WHERE tenant_id = $t ORDER BY at DESC LIMIT 50"
	  : $k == 4 ? "SELECT id, at, message FROM saas.events WHERE tenant_id = $t AND severity = 'error' AND at >= timestamptz '2026-01-01' + " . ($d * 12) . " * interval '1 hour' AND at < timestamptz '2026-01-01' + (" . ($d * 12) . " + 6) * interval '1 hour'"
	  : $k == 5 ? "SELECT id, name FROM saas.users WHERE tenant_id = " . user_tenant($u) . " AND email = 'u$u\@example.com'"
	  : $k == 6 ? "SELECT at, actor, action FROM saas.audit WHERE tenant_id = $t AND at >= timestamptz '2026-01-01' + $d * interval '1 day' AND at < timestamptz '2026-01-01' + ($d + 1) * interval '1 day' ORDER BY at DESC LIMIT 20"
	  : $k == 7 ? "UPDATE saas.tickets SET priority = " . ($i % 5) . " WHERE id = $id"
	  : $k == 8 ? "UPDATE saas.tickets SET status = CASE status WHEN 'open' THEN 'pending' ELSE 'open' END WHERE id = $id AND status IN ('open', 'pending')"
	  : $k == 9 && $i % 120 == 9 ? "SELECT status, count(*) FROM saas.tickets GROUP BY status"
	  : "INSERT INTO saas.events (tenant_id, at, severity, message) VALUES ($t, timestamptz '2026-06-01' + $i * interval '1 s', 'info', 'event')";
}

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
is($node->safe_psql('d2', 'SELECT count(*) FILTER (WHERE NOT tenant_leading) FROM observa.recommend_indexes()'),
	'0', 'every recommended index is tenant-led');

# the same database, the same traffic again, concurrently: the same set
my $set = q{SELECT string_agg(index_def, E'\n' ORDER BY index_def COLLATE "C") FROM observa.recommend_indexes()};
my $s1 = $node->safe_psql('d1', $set);
$node->safe_psql('d1', 'SELECT observa.reset_advisor()');
run_concurrently('d1');
is($node->safe_psql('d1', $set), $s1,
	'running the same traffic twice in one database gives the same set, names and column order');

done_testing();

# The index advisor's sampling decision is backend-local and per statement
# shape: a hot statement is captured at most once per
# observa.advisor_sample_interval in each backend, and each capture counts
# the executions since the previous one, so the advisor's calls stay exact
# while its shared lock is taken about once a second instead of on every
# sampled statement.  Samples are counted through rows_removed: every
# captured execution of the statement scans 100 rows and keeps one.  The
# rate is just below 1 (a rate of 1 captures every execution, whatever the
# interval), so that random draws practically never skip a capture.
use strict;
use warnings;
use lib 'test/t/lib';
use ObservaTest;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = observa_node('advisor_sampling', "observa.advisor_sample_rate = 0.999999\n");
$node->safe_psql('postgres', q{
	CREATE TABLE adv_s (id int PRIMARY KEY, v int);
	INSERT INTO adv_s SELECT g, g FROM generate_series(1, 100) g;
	ANALYZE adv_s;
});

# n executions of the shape in one session, a pause of 1.1 s, one more,
# then the workload row of column v; returns (calls, samples, seconds the
# first n took)
sub run_workload
{
	my ($n, $interval) = @_;
	my $sql = "SET observa.advisor_sample_interval = '$interval';\n"
	  . "SELECT observa.reset_advisor();\n"
	  . "SELECT v FROM adv_s WHERE v = 5;\n" x $n
	  . "SELECT pg_sleep(1.1);\nSELECT v FROM adv_s WHERE v = 5;\n"
	  . "SELECT calls || ' ' || rows_removed FROM observa.advisor_workload()"
	  . " WHERE relname = 'adv_s' AND column_name = 'v';\n";
	my $t0 = time;
	my $out = $node->safe_psql('postgres', $sql);
	my $secs = time - $t0 - 1.1;
	my ($calls, $removed) = split / /, (split /\n/, $out)[-1];
	return ($calls, $removed / 99, $secs);
}

my ($calls, $samples, $secs) = run_workload(300, '1s');
is($calls, 301, 'every execution is counted (301 calls) although few are captured');
# one capture at the first execution, at most one per started second after
# it, and the one after the pause
cmp_ok($samples, '<=', 2 + int($secs + 1),
	sprintf('at most one capture per second: %d captures in %.1f s', $samples, $secs));
cmp_ok($samples, '>=', 2, 'the first execution and the one after the pause are captured');

($calls, $samples) = run_workload(50, '0');
is($calls, 51, 'interval 0: 51 calls');
is($samples, 51, 'interval 0: the rate alone decides');


# each backend decides for itself: two sessions each capture the shape
my $two = $node->safe_psql('postgres', q{
	SET observa.advisor_sample_interval = '1h';
	SELECT observa.reset_advisor();
	SELECT v FROM adv_s WHERE v = 5;
	SELECT v FROM adv_s WHERE v = 5;});
$two = $node->safe_psql('postgres', q{
	SET observa.advisor_sample_interval = '1h';
	SELECT v FROM adv_s WHERE v = 5;
	SELECT calls || ' ' || rows_removed FROM observa.advisor_workload()
	 WHERE relname = 'adv_s' AND column_name = 'v';});
my ($c2, $r2) = split / /, (split /\n/, $two)[-1];
is($r2 / 99, 2, 'a second backend captures the shape on its own first execution');
is($c2, 2, 'executions not yet captured are not counted (the first backend\'s second one)');

# a rate of 1 captures every execution whatever the interval
$node->safe_psql('postgres', 'ALTER SYSTEM SET observa.advisor_sample_rate = 1; SELECT pg_reload_conf()');
($calls, $samples) = run_workload(20, '1h');
is("$calls $samples", '21 21', 'rate 1: every execution is captured');

# bad values are refused
my ($rc, $stdout, $stderr) = $node->psql('postgres', q{SET observa.advisor_sample_interval = -1});
like($stderr, qr/-1 .*outside the valid range/, 'a negative interval is refused');
($rc, $stdout, $stderr) = $node->psql('postgres', q{SET observa.advisor_sample_interval = '2h'});
like($stderr, qr/outside the valid range/, 'an interval over one hour is refused');
($rc, $stdout, $stderr) = $node->psql('postgres', q{SET observa.advisor_sample_interval = 'soon'});
like($stderr, qr/invalid value for parameter/, 'a non-time value is refused');

$node->stop;
done_testing();

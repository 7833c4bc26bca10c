# Persistence of observa's statistics: a clean restart keeps them; a crash
# (a backend killed with SIGKILL) or an immediate stop starts clean; a
# truncated, corrupt or foreign file is ignored with a LOG line; with
# observa.save = off nothing is kept.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;
use IPC::Run;

my $node = observa_node('persistence', "restart_after_crash = on\n");
$node->safe_psql('postgres', q{
	CREATE TABLE pe_t (id int PRIMARY KEY, v int);
	INSERT INTO pe_t SELECT g, g FROM generate_series(1, 100) g;
	SELECT observa.reset();
});
my $file = $node->data_dir . '/pg_stat/observa_table_stats.stat';

sub run_selects
{
	my ($n) = @_;
	my $sql = join('', map { "SELECT v FROM pe_t WHERE id = $_;\n" } 1 .. $n);
	$node->safe_psql('postgres', $sql);
}

sub stats
{
	return $node->safe_psql('postgres', q{
		SELECT calls || '|' || rows || '|' || (p95_ms > 0) FROM observa.table_stats
		 WHERE relname = 'pe_t' AND operation = 'SELECT'});
}

run_selects(30);
my $before = stats();
is($before, '30|30|true', 'statistics before the restart');
my $p = $node->safe_psql('postgres', q{
	SELECT p50_ms || '|' || p99_ms || '|' || total_time_ms FROM observa.table_stats
	 WHERE relname = 'pe_t' AND operation = 'SELECT'});

# 1. clean restart (fast stop): kept, histogram included
$node->restart(mode => 'fast');
is(stats(), '30|30|true', 'a clean restart keeps the counts');
is($node->safe_psql('postgres', q{
	SELECT p50_ms || '|' || p99_ms || '|' || total_time_ms FROM observa.table_stats
	 WHERE relname = 'pe_t' AND operation = 'SELECT'}), $p, 'and the percentiles and times');
ok(!-e $file, 'the file is removed once loaded');
like($node->safe_psql('postgres',
	q{SELECT value FROM observa.info WHERE section = 'table_stats' AND name = 'persistence'}),
	qr/^loaded (\d+) of \1 entries/, 'observa.info says what was loaded');
run_selects(5);
is(stats(), '35|35|true', 'counting goes on after the restart');

# 2. a backend crash: the postmaster reinitialises shared memory
$node->stop('fast');
$node->start;
is(stats(), '35|35|true', 'kept across a second clean restart');
my $pid = $node->safe_psql('postgres', 'SELECT pg_backend_pid()');
my ($bg_in, $bg_out) = ('', '');
my $bg = IPC::Run::start(['psql', '-X', '-d', $node->connstr('postgres')],
	'<', \$bg_in, '>', \$bg_out);
$bg_in = "SELECT pg_backend_pid();\n";
$bg->pump until $bg_out =~ /(\d+)/;
my $victim = $1;
kill 'KILL', $victim;
$bg->finish;
$node->poll_query_until('postgres', 'SELECT true') or die 'server did not come back';
is(stats(), '', 'after a crash restart the statistics start empty');
ok(!-e $file, 'no stale file resurrects old statistics');

# 3. an immediate stop is not a clean shutdown either
run_selects(7);
is(stats(), '7|7|true', 'new statistics after the crash');
$node->stop('immediate');
$node->start;
is(stats(), '', 'after an immediate stop the statistics start empty');
ok($node->log_contains('previous shutdown was not clean') || !-e $file,
	'the file of an unclean shutdown is ignored');

# 4. corrupt, truncated and foreign files are ignored with a LOG line
run_selects(3);
$node->stop('fast');
ok(-e $file, 'a clean stop writes the file');
my $good = slurp_file($file);
my %bad = (
	'truncated' => substr($good, 0, length($good) - 100),
	'corrupt'   => substr($good, 0, 60) . ('x' x 10) . substr($good, 70),
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
	is(stats(), '', "a $kind file is ignored: statistics start empty");
	ok($node->log_contains(qr/observa: table_stats statistics file .*: ignored/, $logstart),
		"a $kind file is reported in the log");
	is($node->safe_psql('postgres', 'SELECT 1'), '1', "server up after a $kind file");
	$node->stop('fast');
}

# 5. observa.save = off: nothing is kept
$node->append_conf('postgresql.conf', 'observa.save = off');
$node->start;
run_selects(4);
$node->stop('fast');
ok(!-e $file, 'with observa.save = off no file is written');
$node->start;
is(stats(), '', 'and nothing is loaded');
$node->stop;
done_testing();

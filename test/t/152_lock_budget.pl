# The hot path's lock budget (docs/performance.md): in steady select-only
# traffic a tracked statement takes no shared LWLock and no spinlock; only
# batched publishing does.  observa counts its own acquisitions per room
# (observa.info, every section); this test runs 2 000 statements after a
# warm-up, in the simple and in the extended (prepared) protocol, and
# asserts at most 10 acquisitions (LWLocks in either mode and spinlocks,
# all rooms together) per 1 000 statements.  pg_stat_statements takes an
# LWLock and a spinlock per statement: at least 2 000 per 1 000.
#
# Counting: a backend publishes its counts with its statistics (each
# flush), at exit and before it reads observa.info.  pgbench runs one
# client in the background; after a warm-up one reader session reads the
# totals twice, a few seconds apart: the difference is what the pgbench
# backend published meanwhile (its statements and its locks, published
# together) plus what the reader's first read took, which counts too: the
# budget holds with it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);
use lib 'test/t/lib';
use ObservaTest;

my $node = observa_node('lock_budget');
$node->command_ok(
	[ 'pgbench', '-i', '-q', '-s', '1', '-p', $node->port, '-h', $node->host, 'postgres' ],
	'pgbench -i');

my $reader = $node->background_psql('postgres');

# every counter of every room, the samples the hooks dispatched, and the
# counters room by room (one read: reads take locks too)
sub totals
{
	my $row = $reader->query_safe(q{
		SELECT coalesce(sum(value::bigint) FILTER (WHERE name IN
				('lwlock_shared_acquisitions', 'lwlock_exclusive_acquisitions',
				 'spinlock_acquisitions')), 0)
			   || ' ' ||
			   coalesce(sum(value::bigint) FILTER (WHERE section = 'core'
				 AND name = 'statements_recorded'), 0)
			   || ' ' ||
			   string_agg(section || '.' || name || '=' || value, ',' ORDER BY section, name)
				 FILTER (WHERE name IN ('lwlock_shared_acquisitions',
						 'lwlock_exclusive_acquisitions', 'spinlock_acquisitions'))
		  FROM observa.info});
	chomp $row;
	return split / /, $row;
}

# pgbench select-only, one client, in the background for up to 60 s
sub start_pgbench
{
	my ($mode) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'pgbench', '-n', '-S', '-c', '1', '-T', '60', '-M', $mode,
		  '-p', $node->port, '-h', $node->host, 'postgres' ],
		'>', \$out, '2>', \$err);
	return $h;
}

for my $mode ('simple', 'prepared')
{
	my $h = start_pgbench($mode);

	# warm-up: entries, texts and the backend-local caches exist afterwards,
	# and the backend has published at least once
	sleep 2;
	my ($l0, $s0, $before) = totals();

	# steady state: at least 2 000 statements, 20 000 when the machine
	# runs them within 12 s; the reader reads rarely, as its reads take
	# locks too (counted in the budget)
	my ($l1, $s1, $after);
	for my $round (1 .. 3)
	{
		sleep 6;
		($l1, $s1, $after) = totals();
		last if $s1 - $s0 >= 20000 || ($round >= 2 && $s1 - $s0 >= 2000);
	}
	$h->kill_kill;
	my $stmts = $s1 - $s0;
	my $locks = $l1 - $l0;
	my %b = map { split /=/ } split /,/, $before;
	my %a = map { split /=/ } split /,/, $after;
	diag "$mode: " . join(' ', map { "$_ +" . ($a{$_} - $b{$_}) }
			grep { $a{$_} != $b{$_} } sort keys %a);
	cmp_ok($stmts, '>=', 2000, "$mode: at least 2000 statements after warm-up ($stmts)");
	my $per_1000 = $locks * 1000 / ($stmts || 1);
	cmp_ok($per_1000, '<=', 10,
		sprintf("$mode: at most 10 lock acquisitions per 1000 statements, all rooms (%.1f: %d for %d)",
			$per_1000, $locks, $stmts));
}

# the counters do count: a reset takes exclusive locks, seen at once by
# the backend that reads next
my ($l0) = totals();
$reader->query_safe('SELECT observa.reset()');
my ($l1) = totals();
cmp_ok($l1 - $l0, '>', 0, 'a reset is counted (' . ($l1 - $l0) . ' acquisitions)');

$reader->quit;
done_testing();

# Time windows roll over with no background process: with 1-second
# windows, table_stats(since) and statement_stats(since) see only the
# windows covering the interval; windows older than observa.windows leave
# the finest level but stay in the coarser one up to observa.window_history,
# and each row's covered_since says from when its numbers are complete;
# without coarser levels old windows are dropped; the since-reset totals
# keep everything.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;
use Time::HiRes qw(sleep time);
use lib 'test/t/lib';
use ObservaTest;

my $node = observa_node('windows', "observa.window = 1s\nobserva.windows = 5\n");
$node->safe_psql('postgres', q{
	CREATE TABLE w_t (i int);
	INSERT INTO w_t VALUES (1);
	SELECT observa.reset();
});
is($node->safe_psql('postgres', q{SELECT value FROM observa.info WHERE section = 'table_stats' AND name = 'window'}),
	'1 s', 'window length is reported');
is($node->safe_psql('postgres', q{SELECT value FROM observa.info WHERE section = 'table_stats' AND name = 'window_levels'}),
	'5 x 1 s (5 s), 6 x 10 min (1 h)', 'the levels: 5 one-second windows, then six of 10 minutes up to an hour');

sub calls
{
	my ($since) = @_;
	my $from = defined $since ? "observa.table_stats('$since')" : 'observa.table_stats';
	return $node->safe_psql('postgres',
		"SELECT coalesce(sum(calls), 0) FROM $from WHERE relname = 'w_t' AND operation = 'SELECT'");
}

# 5 statements now, then (in another window) 3 more
$node->safe_psql('postgres', "SELECT * FROM w_t;\n" x 5);
sleep(2.2);
# the 3 statements and the read of the current window in one session, so
# that a loaded machine does not let the window roll over in between
my ($recent, $own) = split /\|/, $node->safe_psql('postgres', "SELECT * FROM w_t;\n" x 3 . q{
	SELECT calls, p95_ms <= max_time_ms FROM observa.table_stats('0.5 s')
	 WHERE relname = 'w_t' AND operation = 'SELECT'});
$recent = (split /\n/, $recent)[-1] if defined $recent;
is(calls(undef), '8', 'since reset: all 8');
is(calls('1 hour'), '8', 'the last hour holds all 8');
is($recent // '', '3', 'the last half second: only the current window (3)');
is($own // '', 't', 'a window has its own percentiles');

# after more than observa.windows windows the old ones leave the finest
# level: a short interval no longer sees them, the hour still does
sleep(6);
is(calls('3 s'), '0', 'windows older than observa.windows leave the finest level');
is(calls('1 hour'), '8', 'the coarser level keeps them for the hour');
is(calls(undef), '8', 'the since-reset totals keep them');
# the hour is asked for, but statistics only exist since the reset: the
# rows say so
is($node->safe_psql('postgres', q{
	SELECT covered_since >= (SELECT value::timestamptz FROM observa.info
	                          WHERE section = 'table_stats' AND name = 'stats_reset')
	   AND covered_since < now() - interval '6 s'
	  FROM observa.table_stats('1 hour') WHERE relname = 'w_t' AND operation = 'SELECT'}),
	't', 'covered_since: complete since the reset, not the whole hour');
is($node->safe_psql('postgres', q{
	SELECT covered_since > now() - interval '2 s'
	  FROM observa.table_stats('0.5 s') WHERE relname = 'w_t'}),
	'', 'no row for an interval with no statement');
my $one = $node->safe_psql('postgres', "SELECT * FROM w_t;\n" . q{
	SELECT sum(calls) FROM observa.table_stats('0.5 s') WHERE relname = 'w_t'});
is((split /\n/, $one)[-1], '1', 'a new window starts with the next statement');
is(calls('1 hour'), '9', 'and adds to the coarser window too');
is($node->safe_psql('postgres', q{
	SELECT count(*) > 0 AND bool_and(covered_since IS NOT NULL)
	  FROM observa.statement_stats('1 hour') WHERE relations = '{w_t}'::regclass[]}),
	't', 'statement_stats(since) uses the same windows and says what it covers');

# without coarser levels (observa.window_history no longer than the finest
# windows), windows older than observa.windows are dropped
$node->append_conf('postgresql.conf', "observa.window_history = 5s\n");
$node->restart;
is($node->safe_psql('postgres', q{SELECT value FROM observa.info WHERE section = 'table_stats' AND name = 'window_levels'}),
	'5 x 1 s (5 s)', 'one level only');
$node->safe_psql('postgres', "SELECT * FROM w_t;\n" x 2);
is(calls('1 hour'), '2', 'the new windows');
my ($cov) = $node->safe_psql('postgres', q{
	SELECT covered_since > now() - interval '1 hour' FROM observa.table_stats('1 hour') WHERE relname = 'w_t'});
is($cov, 't', 'an hour is asked for, five seconds are kept: covered_since says so');
sleep(6);
is(calls('1 hour'), '0', 'windows older than observa.windows are dropped');
is(calls(undef), '11', 'the since-reset totals (saved across the restart) keep them');
$node->stop;
done_testing();

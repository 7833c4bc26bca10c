# Time windows roll over with no background process: with 1-second
# windows, table_stats(since) and statement_stats(since) see only the
# windows overlapping the interval, windows older than observa.windows are
# dropped, and the since-reset totals keep everything.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;
use Time::HiRes qw(sleep time);

my $node = observa_node('windows', "observa.window = 1s\nobserva.windows = 5\n");
$node->safe_psql('postgres', q{
	CREATE TABLE w_t (i int);
	INSERT INTO w_t VALUES (1);
	SELECT observa.reset();
});
is($node->safe_psql('postgres', q{SELECT value FROM observa.info WHERE section = 'table_stats' AND name = 'window'}),
	'1 s', 'window length is reported');

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
is(calls('1 hour'), '8', 'the 5 windows kept still hold all 8');
is($recent // '', '3', 'the last half second: only the current window (3)');
is($own // '', 't', 'a window has its own percentiles');

# after more than observa.windows windows the old ones are gone from the
# windowed view, but not from the totals
sleep(6);
is(calls('1 hour'), '0', 'windows older than observa.windows are dropped');
is(calls(undef), '8', 'the since-reset totals keep them');
$node->safe_psql('postgres', "SELECT * FROM w_t;\n");
is(calls('1 hour'), '1', 'a new window starts with the next statement');
is($node->safe_psql('postgres', q{
	SELECT count(*) > 0 FROM observa.statement_stats('1 hour') WHERE relations = '{w_t}'::regclass[]}),
	't', 'statement_stats(since) uses the same windows');
$node->stop;
done_testing();

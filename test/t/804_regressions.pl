# observa.regressions(): an index dropped mid-run.  Fast point lookups, a
# window boundary, DROP INDEX, then the same statement as sequential
# scans.  The statement and its (SELECT, table) pair are found, against an
# interval baseline answered at a coarser level (merge minus recent), at
# the same level (earlier windows) and against a snapshot; the regression
# starts in the first window after the boundary, the plan fingerprint
# changed and the last slow-query entry carries the new plan.  A statement
# whose latency is random but alike in both phases is never reported (the
# noise check), bad arguments raise SQLSTATE 22023 and a role without
# pg_read_all_stats may not call it.  Nothing here asserts a duration.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;

my $node = observa_node('regressions', q{
observa.window = '1s'
observa.windows = 60
observa.window_history = '240s'
observa.advisor_sample_rate = 1.0
observa.advisor_sample_interval = 0
observa.slow_query_threshold = '4ms'
observa.slow_query_plan = text
});
$node->safe_psql('postgres', q{
CREATE TABLE rt (id int PRIMARY KEY, v int);
INSERT INTO rt SELECT g, g FROM generate_series(1, 600000) g;
CREATE INDEX rt_v ON rt (v);
ANALYZE rt;
SELECT observa.reset(); SELECT observa.reset_slow_queries(); SELECT observa.reset_advisor();
});

# the lookup: an index scan, then (no index) a sequential scan of 600 000
# rows, which must cross the 4 ms slow-query threshold on any machine: it
# takes about 40 ms here, 100 000 rows took 6.5 ms, under 4 ms on a faster
# machine
my $dir = $PostgreSQL::Test::Utils::tmp_check;
open(my $fh, '>', "$dir/lookup.sql") or die;
print $fh "\\set x random(1, 600000)\nSELECT id AS \"<b>id</b>\" FROM rt WHERE v = :x;\n";
close($fh);
# a statement whose latency is random (2 to 4 ms) and alike in both phases
open($fh, '>', "$dir/noise.sql") or die;
print $fh "\\set r random(2000, 4000)\nSELECT pg_sleep(:r / 1000000.0);\n";
close($fh);

sub traffic
{
	my ($n) = @_;
	my ($out, $err) = ('', '');
	my $ok = IPC::Run::run(
		[
			'pgbench', '-n', '-c', '2', '-t', $n, '-h', $node->host, '-p', $node->port,
			'-f', "$dir/lookup.sql", '-f', "$dir/noise.sql", 'postgres'
		],
		'>', \$out, '2>', \$err);
	ok($ok, "pgbench ran $n transactions per client") or diag($err);
}

# fast phase, then wait for a new window (1 s) so that no window holds both
traffic(400);
my $fast_end = $node->safe_psql('postgres', 'SELECT clock_timestamp()');
$node->safe_psql('postgres', qq{SELECT observa.snapshot('before')});
$node->poll_query_until('postgres',
	qq{SELECT date_trunc('second', clock_timestamp()) > date_trunc('second', '$fast_end'::timestamptz)})
  or die 'the clock did not move';
my $cut = $node->safe_psql('postgres', 'SELECT date_trunc(\'second\', clock_timestamp())');
$node->safe_psql('postgres', 'DROP INDEX rt_v');
traffic(80);

my $qid = $node->safe_psql('postgres',
	q{SELECT queryid FROM observa.statement_stats WHERE query LIKE 'SELECT id AS "<b>id</b>" FROM rt WHERE v = %'});
my $noise = $node->safe_psql('postgres',
	q{SELECT queryid FROM observa.statement_stats WHERE query LIKE 'SELECT pg_sleep(%'});
ok($qid && $noise, 'both statements are recorded');

# recent: from the cut on (the window of now - recent is the cut's)
my $recent = qq{clock_timestamp() - '$cut'::timestamptz};
# the regression starts in the first window after the cut that holds the
# statement (the DROP INDEX and pgbench's start may take a window or two)
my $first = $node->safe_psql('postgres', qq{
	SELECT min(s) FROM observa.window_latency(interval '1 min') w, unnest(w.window_starts) s
	 WHERE w.kind = 'statement' AND w.queryid = $qid AND s >= '$cut'});
ok($first, "the statement ran after the cut (first window $first)");
for my $case (
	[ 'coarser level (10 min)', q{interval '10 min'} ],
	[ 'same level (50 s)',      q{interval '50 s'} ],
	[ 'snapshot',               q{'snapshot:before'} ])
{
	my ($name, $baseline) = @$case;
	my $rows = $node->safe_psql('postgres', qq{
		SELECT kind, coalesce(queryid::text, relname), regressed_on, recent_calls >= 50, baseline_calls >= 50,
		       started_at = '$first'::timestamptz, slow_windows >= 1, plan_changed,
		       fingerprint_before <> fingerprint_now, slow_query_plan LIKE '%Seq Scan on rt%',
		       recent_p95_ms > baseline_p95_ms, recent_mean_ms > 1.5 * baseline_mean_ms
		  FROM observa.regressions(recent => $recent, baseline => $baseline)
		 ORDER BY kind, 2});
	my %got = map { my @f = split /\|/; ("$f[0]|$f[1]" => \@f) } split /\n/, $rows;
	my $s = $got{"statement|$qid"};
	ok($s, "$name: the statement is a regression") or diag($rows);
	next unless $s;
	like($s->[2], qr/mean/, "$name: on the mean (and maybe p95: $s->[2])");
	is(join(',', @$s[3 .. 4]), 't,t', "$name: min_calls on both sides");
	is($s->[5], 't', "$name: it started in the first window after the cut that holds it")
	  or diag("cut $cut, first $first\n" . $node->safe_psql('postgres', qq{
		SELECT r.started_at, r.slow_windows, r.baseline_mean_ms, r.baseline_p95_ms, w.window_starts, w.window_mean_ms, w.window_p95_ms
		  FROM observa.regressions(recent => $recent, baseline => $baseline) r, observa.window_latency(interval '1 min') w
		 WHERE r.queryid = $qid AND w.queryid = $qid}));
	is($s->[6], 't', "$name: slow windows counted");
	is($s->[7], 't', "$name: the plan changed");
	is($s->[8], 't', "$name: from one fingerprint to another");
	is($s->[9], 't', "$name: the last slow query shows the sequential scan");
	is(join(',', @$s[10 .. 11]), 't,t', "$name: recent p95 and mean above the baseline's");
	my $t = $got{"table|rt"};
	ok($t, "$name: (SELECT, rt) is a regression too") or diag($rows);
	is($t->[7], 't', "$name: with a changed plan (of a statement on it)") if $t;
	ok(!$got{"statement|$noise"}, "$name: the random but unchanged statement is not reported");
}

# the HTML report's sections: the regression with its plan, escaped (the
# statement's text is client-supplied), and the timeline of the windows
my $html = $node->safe_psql('postgres',
	qq{SELECT observa.report_html_regressions(recent => $recent, baseline => '50 s')});
like($html, qr/&lt;b&gt;id&lt;\/b&gt;&quot; FROM rt WHERE v = \$1/, 'report_html_regressions(): the statement, escaped');
unlike($html, qr/<b>/, 'no element from the statement text');
like($html, qr/<details class="slow">.*Seq Scan on rt/s, 'with its last slow query and plan');
like($html, qr/changed [0-9a-f]{16} → [0-9a-f]{16}/, 'and the plan change');
my $tl = $node->safe_psql('postgres', q{SELECT observa.report_html_timeline()});
like($tl, qr/<svg .*<polyline class="line"[^>]* points="[\d.]+,[\d.]+ [\d.]+,[\d.]+/s,
	'report_html_timeline(): a line of p95 per window');
like($tl, qr/SELECT public\.rt/, 'for the table');
like($node->safe_psql('postgres', q{SELECT observa.report_html()}),
	qr/<section id="regressions"><h2>Regressions<\/h2>(<p class="none">No regression|<table>)/,
	'report_html() has the regressions section (default periods)');

# fingerprints: the index scan before the cut, the sequential scan after
is($node->safe_psql('postgres', qq{
	SELECT count(DISTINCT fingerprint) FROM observa.plan_fingerprints()
	 WHERE queryid = $qid AND (last_seen < '$cut' OR first_seen >= '$cut')}),
	'2', 'two fingerprints, one on each side of the cut');

is($node->safe_psql('postgres', q{
	SELECT count(*) FROM observa.regressions(recent => interval '15 min', baseline => interval '1 day', min_calls => 1000000)}),
	'0', 'nothing without min_calls on both sides');

# window_latency(): the raw windows the rule reads
is($node->safe_psql('postgres', qq{
	SELECT bool_and(cardinality(window_starts) = cardinality(window_p95_ms)
	                AND window_length = interval '1 s'
	                AND recent_calls <= (SELECT sum(c) FROM unnest(window_calls) c))
	  FROM observa.window_latency(interval '5 s', interval '50 s')}),
	't', 'window_latency: one p95 per window, at the 1 s resolution');

# bad arguments: SQLSTATE 22023, a clear message
for my $bad (
	[ q{recent => interval '-1 min'},                                   'recent must be a positive interval' ],
	[ q{recent => interval '0'},                                        'recent must be a positive interval' ],
	[ q{recent => interval '1 h', baseline => interval '1 h'},          'baseline must be longer than recent' ],
	[ q{recent => interval '1 h', baseline => '10 min'},                'baseline must be longer than recent' ],
	[ q{baseline => interval '-1 day', recent => interval '1 min'},     'baseline must be a positive interval' ],
	[ q{min_ratio => 1},                                                'min_ratio must be a finite number greater than 1' ],
	[ q{min_ratio => 0.5},                                              'min_ratio must be a finite number greater than 1' ],
	[ q{min_ratio => 'NaN'},                                            'min_ratio must be a finite number greater than 1' ],
	[ q{min_calls => 0},                                                'min_calls must be at least 1' ],
	[ q{baseline => 'snapshot:nope'},                                   'snapshot "nope" does not exist' ],
	[ q{baseline => 'yesterday-ish'},                                   'is neither an interval nor snapshot:LABEL' ])
{
	my ($args, $msg) = @$bad;
	my ($ret, $out, $err) = $node->psql('postgres',
		"\\set VERBOSITY verbose\nSELECT * FROM observa.regressions($args)");
	like($err, qr/ERROR:  22023: .*\Q$msg\E/, "bad argument ($args): $msg");
}
my ($ret, $out, $err) = $node->psql('postgres',
	"\\set VERBOSITY verbose\nSELECT * FROM observa.window_latency(interval '-5 s')");
like($err, qr/ERROR:  22023: interval must be positive/, 'window_latency: negative interval refused');

# privileges: readers of all statistics only
$node->safe_psql('postgres', q{CREATE ROLE attacker LOGIN; CREATE ROLE watcher LOGIN IN ROLE pg_read_all_stats});
for my $f ('observa.regressions()', 'observa.window_latency(interval \'1 min\')', 'observa.metrics_regressions()')
{
	($ret, $out, $err) = $node->psql('postgres', "SELECT * FROM $f", extra_params => [ '-U', 'attacker' ]);
	like($err, qr/permission denied for function/, "attacker may not call $f");
	($ret, $out, $err) = $node->psql('postgres', "SELECT count(*) FROM $f", extra_params => [ '-U', 'watcher' ]);
	is($ret, 0, "pg_read_all_stats may call $f") or diag($err);
}

# the Prometheus gauge
like($node->safe_psql('postgres', 'SELECT observa.prometheus()'),
	qr/^observa_regressions\{datname="postgres",kind="statement"\} \d+$/m, 'prometheus exports the regressions gauge');

$node->stop;
done_testing();

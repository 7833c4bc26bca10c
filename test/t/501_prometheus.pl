# End to end with the real tools: a cluster with observa preloaded runs a
# workload whose latencies spread over several Prometheus buckets; Debian's
# prometheus-postgres-exporter, given integrations/postgres_exporter/
# queries.yaml, serves observa_query_duration_seconds; promtool accepts the
# series; a prometheus server scrapes the exporter, and histogram_quantile()
# over the scraped buckets agrees with observa.table_stats' p95 (to bucket
# resolution) and exactly with the interpolation of observa's own buckets.
# Both daemons listen on loopback ports and are stopped by PID.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;
use JSON::PP;
use Time::HiRes qw(usleep time);

observa_require_commands('prometheus', 'promtool', 'prometheus-postgres-exporter', 'curl');
my $src = observa_src();
my $yaml = "$src/integrations/postgres_exporter/queries.yaml";
ok(-f $yaml, 'queries.yaml is in integrations/postgres_exporter');
my $started = time;

# Only the workload's session captures slow statements (it sets the
# threshold itself): the exporter's and this test's own queries, slow or
# not under load, must not move the counter between the scrape and the
# comparison below.
my $node = observa_node('prom', "observa.slow_query_threshold = -1\n");
$node->safe_psql('postgres', q{
CREATE TABLE e2e (id int PRIMARY KEY, v int);
INSERT INTO e2e VALUES (1, 1);
});
# a second database with observa: the exporter discovers it, and
# "master: true" keeps it from exporting the same series again
$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('other', 'CREATE EXTENSION observa');

my $has_slow = $node->safe_psql('postgres',
	q{SELECT to_regprocedure('observa.slow_queries(integer)') IS NOT NULL}) eq 't';

# 100 statements on e2e sleeping 0.3 ms .. 30 ms (uniform): buckets 1, 5,
# 10 and 25 ms are partly filled, the p95 (~28.5 ms) lies in (25 ms, 50 ms];
# with the slow-query ring, the statements over 20 ms are captured
sub workload
{
	my $sql = join('', map { sprintf("SELECT pg_sleep(%.4f) FROM e2e WHERE id = 1;\n", 0.0003 * $_) } 1 .. 100);
	$sql = "SET observa.slow_query_threshold = '20ms';\n$sql" if $has_slow;
	$node->safe_psql('postgres', $sql);
}
workload();
# one statement on e2e that fails in the executor
my ($rc) = $node->psql('postgres', 'SELECT 1 / (v - 1) FROM e2e WHERE id = 1');
isnt($rc, 0, 'the failing statement failed');

ok( $node->poll_query_until('postgres',
		q{SELECT calls >= 101 FROM observa.table_stats WHERE relname = 'e2e' AND operation = 'SELECT'}),
	'observa.table_stats has the workload');

# curl on loopback; returns the body ('' on failure)
sub http_get
{
	my ($url, @data) = @_;
	my @cmd = ('curl', '-s', '-m', '5', '-G', $url);
	push @cmd, '--data-urlencode', $_ foreach @data;
	my ($out, $err) = run_command(\@cmd);
	return $out // '';
}

# start a daemon, output to a log file; returns its PID
sub daemon
{
	my ($log, $env, @cmd) = @_;
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		$ENV{$_} = $env->{$_} foreach keys %$env;
		open(STDOUT, '>', $log) or die;
		open(STDERR, '>&', \*STDOUT) or die;
		exec(@cmd) or die "exec $cmd[0]: $!";
	}
	return $pid;
}

sub wait_for
{
	my ($what, $timeout, $check) = @_;
	my $until = time + $timeout;
	while (time < $until)
	{
		my $v = $check->();
		return $v if $v;
		usleep(200_000);
	}
	diag("timed out waiting for $what");
	return undef;
}

my $tmp = PostgreSQL::Test::Utils::tempdir;
my @pids;

# the exporter, on a free loopback port, observa's queries only, with
# every database discovered; the shipped queries.yaml, its results cached
# for 1 s instead of 15 s so that the test need not wait for fresh counts
my $export_port = PostgreSQL::Test::Cluster::get_free_port();
my $dsn = sprintf('host=%s port=%d user=%s dbname=postgres sslmode=disable',
	$node->host, $node->port, scalar getpwuid($<));
(my $test_yaml = slurp_file($yaml)) =~ s/^(\s*cache_seconds:) \d+/$1 1/mg;
open(my $yfh, '>', "$tmp/queries.yaml") or die;
print $yfh $test_yaml;
close $yfh;
push @pids, daemon("$tmp/exporter.log", { DATA_SOURCE_NAME => $dsn },
	'prometheus-postgres-exporter', "--web.listen-address=127.0.0.1:$export_port",
	"--extend.query-path=$tmp/queries.yaml", '--auto-discover-databases',
	'--disable-default-metrics', '--disable-settings-metrics', '--log.level=warn');

my $body = wait_for('the exporter', 20, sub {
	my $b = http_get("http://127.0.0.1:$export_port/metrics");
	return $b =~ /^observa_query_duration_seconds_bucket\{.*table="e2e"/m ? $b : undef;
});
ok($body, 'the exporter serves observa_query_duration_seconds for table e2e')
  or diag(slurp_file("$tmp/exporter.log"));
$body //= '';

my @observa = grep { /^(# (HELP|TYPE) )?observa_/ } split /\n/, $body;
my @e2e_count = grep { /^observa_query_duration_seconds_count\{.*operation="SELECT".*table="e2e"/ } @observa;
is(scalar(@e2e_count), 1, 'with two databases discovered, e2e\'s series is exported once (master: true)')
  or diag(join("\n", @e2e_count));
open(my $fh, '>', "$tmp/observa.prom") or die;
print $fh join("\n", @observa), "\n";
close $fh;
my ($lint, $lint_err) = run_command([ 'sh', '-c', "promtool check metrics < '$tmp/observa.prom' 2>&1; echo rc=\$?" ]);
like($lint, qr/rc=0\s*$/, 'promtool check metrics accepts the exporter\'s observa series')
  or diag($lint);
like($body, qr/^# TYPE observa_query_duration_seconds histogram$/m, 'exported as a histogram');
like($body, qr/^# TYPE observa_query_errors_total counter$/m, 'errors exported as a counter');
like($body, qr/^# TYPE observa_statement_calls_total counter$/m, 'per-statement calls exported as a counter');
# the e2e statement's call count, exported per queryid, is observa's
my ($e2e_qid, $e2e_calls) = split /\|/, $node->safe_psql('postgres', q{
	SET observa.track = 'none';
	SELECT queryid::text || '|' || calls FROM observa.statement_stats
	 WHERE relations = '{e2e}'::regclass[] AND operation = 'SELECT' ORDER BY calls DESC LIMIT 1});
my ($e2e_exported) = $body =~ /^observa_statement_calls_total\{[^}]*queryid="\Q$e2e_qid\E"[^}]*\} (\S+)$/m;
is($e2e_exported // 'missing', $e2e_calls, "observa_statement_calls_total of the e2e statement ($e2e_qid) is its calls");

# every e2e sample of the exporter equals what observa.metrics says
my %exported;
foreach my $l (@observa)
{
	next unless $l =~ /^(observa_\w+)\{(.*)\} (\S+)$/;
	my ($name, $labels, $value) = ($1, $2, $3);
	next unless $labels =~ /table="e2e"/ && $labels =~ /operation="SELECT"/;
	my ($le) = $labels =~ /(?:^|,)le="([^"]+)"/;
	$exported{ $name . (defined $le ? "|$le" : '') } = $value;
}
# (read untimed: on a loaded machine this read can itself be a slow statement,
# which would make observa's slow-query count pass the one exported above)
my @expected = split /\n/, $node->safe_psql('postgres', q{
	SET observa.track = 'none';
	SELECT metric || coalesce('|' || le, '') || ' ' || value
	  FROM observa.metrics WHERE "table" = 'e2e' AND operation = 'SELECT' AND metric <> 'observa_query_duration_seconds_sum'});
ok(scalar(@expected) == 15, 'observa.metrics has 13 buckets, count and errors for e2e');
my $mismatch = 0;
foreach my $e (@expected)
{
	my ($k, $v) = split / /, $e;
	my $got = $exported{$k};
	(my $pk = $k) =~ s/\|Infinity$/|+Inf/;
	$got //= $exported{$pk};
	unless (defined $got && $got == $v)
	{
		diag("$k: observa $v, exporter " . ($got // 'missing'));
		$mismatch++;
	}
}
is($mismatch, 0, 'the exporter\'s e2e samples equal observa.metrics');
is($exported{'observa_query_errors_total'}, 1, 'the failed statement is counted in observa_query_errors_total');

# the slow-query counter: there and equal to observa's with the ring
# (about 34 of the statements took over 20 ms), absent without it
my ($slow_exported) = $body =~ /^observa_slow_queries_total(?:\{[^}]*\})? (\S+)$/m;
if ($has_slow)
{
	my $slow_sql = $node->safe_psql('postgres', 'SELECT total FROM observa.metrics_slow_queries()');
	ok(defined $slow_exported && $slow_exported == $slow_sql && $slow_sql >= 30,
		'observa_slow_queries_total counts the slow statements (' . ($slow_exported // 'none') . " exported, $slow_sql in observa)");
}
else
{
	ok(!defined $slow_exported, 'no observa_slow_queries_total without the slow-query ring');
}

# the text exposition of observa.prometheus() is valid too
my $text = $node->safe_psql('postgres', 'SELECT observa.prometheus()');
open($fh, '>', "$tmp/own.prom") or die;
print $fh $text, "\n";
close $fh;
($lint) = run_command([ 'sh', '-c', "promtool check metrics < '$tmp/own.prom' 2>&1; echo rc=\$?" ]);
like($lint, qr/rc=0\s*$/, 'promtool check metrics accepts observa.prometheus()') or diag($lint);

# a prometheus server scraping the exporter every second
my $prom_port = PostgreSQL::Test::Cluster::get_free_port();
open($fh, '>', "$tmp/prometheus.yml") or die;
print $fh <<"CONF";
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: observa
    static_configs:
      - targets: ['127.0.0.1:$export_port']
CONF
close $fh;
mkdir "$tmp/tsdb";
push @pids, daemon("$tmp/prometheus.log", {}, 'prometheus', "--config.file=$tmp/prometheus.yml",
	"--storage.tsdb.path=$tmp/tsdb", "--web.listen-address=127.0.0.1:$prom_port", '--log.level=warn');

sub prom_query
{
	my ($q) = @_;
	my $b = http_get("http://127.0.0.1:$prom_port/api/v1/query", "query=$q");
	my $j = eval { decode_json($b) };
	return undef unless $j && $j->{status} eq 'success' && @{ $j->{data}{result} };
	return $j->{data}{result}[0]{value}[1];
}

my $sel = 'observa_query_duration_seconds_bucket{table="e2e",operation="SELECT"}';
my $q95 = wait_for('prometheus to scrape', 30,
	sub { prom_query("histogram_quantile(0.95, sum by (le, datname, operation, table) ($sel))") });
ok(defined $q95, 'prometheus answers histogram_quantile(0.95, ...) over the scraped buckets')
  or diag(slurp_file("$tmp/prometheus.log"));
$q95 //= 'NaN';

# what observa says: its p95, and the linear interpolation inside the
# bucket where the 95th percentile falls, computed from observa's buckets
my ($p95_ms, $lo, $hi, $interp) = split /\|/, $node->safe_psql('postgres', q{
	WITH h AS (SELECT * FROM observa.metrics_histograms() WHERE "table" = 'e2e' AND operation = 'SELECT'),
	b AS (SELECT u.le, u.c, coalesce(lag(u.le) OVER (ORDER BY u.o), 0) AS prev_le,
	             coalesce(lag(u.c) OVER (ORDER BY u.o), 0) AS prev_c, h.duration_seconds_count AS n
	        FROM h, unnest(h.duration_seconds, h.duration_seconds_bucket) WITH ORDINALITY u(le, c, o)),
	hit AS (SELECT * FROM b WHERE c >= 0.95 * n ORDER BY le LIMIT 1)
	SELECT t.p95_ms, hit.prev_le, hit.le,
	       hit.prev_le + (hit.le - hit.prev_le) * (0.95 * hit.n - hit.prev_c) / (hit.c - hit.prev_c)
	  FROM hit, observa.table_stats t WHERE t.relname = 'e2e' AND t.operation = 'SELECT'});
note("observa p95 $p95_ms ms, bucket ($lo s, $hi s], prometheus $q95 s, interpolation $interp s");
ok($q95 > $lo && $q95 <= $hi, "prometheus' p95 ($q95 s) lies in observa's p95 bucket ($lo s, $hi s]");
ok(abs($q95 - $interp) <= 1e-9 * $hi, 'and equals the interpolation of observa\'s buckets');
my $err = 0.02;    # observa's sketch error (1 %) with margin
ok($p95_ms / 1000 > $lo * (1 - $err) && $p95_ms / 1000 <= $hi * (1 + $err),
	"observa.table_stats' p95 ($p95_ms ms) lies in the same bucket");
ok($p95_ms > 27 && $p95_ms < 40, "the p95 is near the 28.5 ms of the workload ($p95_ms ms)");

# the Grafana dashboard: every expression is valid PromQL over the scraped
# series, and its p95 panel (a rate over 5 minutes), given a second
# identical batch, puts e2e's p95 in the same bucket (Grafana's
# $__rate_interval stands for 5 minutes here)
my $dash = decode_json(slurp_file("$src/integrations/grafana/observa.json"));
my %expr;
foreach my $p (@{ $dash->{panels} })
{
	$expr{ $p->{title} . ' ' . $_->{refId} } = $_->{expr} foreach @{ $p->{targets} };
}
my $bad = 0;
foreach my $k (sort keys %expr)
{
	(my $x = $expr{$k}) =~ s/\$(instance|datname|operation|table)\b/.*/g;
	$x =~ s/\$__rate_interval/5m/g;
	my $b = http_get("http://127.0.0.1:$prom_port/api/v1/query", "query=$x");
	my $j = eval { decode_json($b) };
	next if $j && $j->{status} eq 'success';
	diag("$k: $b");
	$bad++;
}
ok(scalar(keys %expr) >= 8, 'the dashboard has its panels: ' . join(', ', sort keys %expr));
is($bad, 0, 'prometheus accepts every expression of the dashboard');

my ($p95_panel) = grep { /^p95 latency/ } keys %expr;
(my $panel_q = $expr{$p95_panel // ''} // '') =~ s/\$(instance|datname)\b/.*/g;
$panel_q =~ s/\$__rate_interval/5m/g;
$panel_q =~ s/\$operation/SELECT/;
$panel_q =~ s/\$table/e2e/;
workload();
my $q95r = wait_for('a scrape after the second batch', 20, sub {
	# a scrape after the whole batch (the rate then covers all of it)
	my $n = prom_query("sum(observa_query_duration_seconds_count{table=\"e2e\",operation=\"SELECT\"})");
	return undef unless defined $n && $n >= 201;
	return prom_query($panel_q);
});
ok(defined $q95r && $q95r > $lo && $q95r <= $hi,
	"the dashboard's p95 panel puts e2e in the same bucket (" . ($q95r // 'none') . ' s)');

foreach my $pid (@pids)
{
	kill 'TERM', $pid;
	waitpid($pid, 0);
}
$node->stop;
note(sprintf('took %.1f s', time - $started));
ok(time - $started < 60, 'the end-to-end test takes less than a minute');
done_testing();

# Hot standby: observa's statistics are per node.  A streaming replica
# records the statements it runs and shows them in every view (and the
# primary does not); what needs a write (snapshot(), drop_snapshot(),
# create_index(), create_recommended_indexes()) refuses on the standby with
# 25006 and a hint instead of failing inside; recommend_indexes() works
# read-only there; and after a promotion the new primary keeps its
# statistics and can do all of it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;

my $conf = q{
observa.slow_query_threshold = '40ms'
observa.advisor_sample_rate = 1
max_worker_processes = 12
};
my $primary = observa_node('primary', $conf, { init => { allows_streaming => 1 } });
$primary->safe_psql('postgres', q{
CREATE TABLE sb_t (id int PRIMARY KEY, tenant_id int, v int);
INSERT INTO sb_t SELECT g, g % 50, g % 97 FROM generate_series(1, 20000) g;
ANALYZE sb_t;
SELECT observa.snapshot('on_primary');
});
$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');

# ---- the standby's own workload ----
$standby->safe_psql('postgres', 'SELECT count(*) AS sb_marker FROM sb_t WHERE tenant_id = 7 AND v = 3')
  for 1 .. 6;
$standby->safe_psql('postgres', 'SELECT pg_sleep(0.06) AS sb_slow_marker');
$standby->poll_query_until('postgres', q{
SELECT coalesce(sum(calls), 0) FROM observa.table_stats WHERE relname = 'sb_t' AND operation = 'SELECT'}, '6')
  or diag('the standby never showed its 6 statements on sb_t');

# every view of the extension answers on the standby; the statistics views
# show the standby's statements
my @views = split /\n/, $standby->safe_psql('postgres', q{
SELECT c.relname FROM pg_class c JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'observa') AND d.deptype = 'e'
   AND c.relkind = 'v' ORDER BY 1});
my %own = (
	table_stats => q{SELECT calls FROM observa.table_stats WHERE relname = 'sb_t' AND operation = 'SELECT'},
	statement_stats => q{SELECT sum(calls) FROM observa.statement_stats
		WHERE query LIKE '%sb_marker%' AND query NOT LIKE '%observa.%'},
	slow_queries => q{SELECT count(*) FROM observa.slow_queries
		WHERE query LIKE '%sb_slow_marker%' AND query NOT LIKE '%observa.%'},
	tenant_stats => q{SELECT calls FROM observa.tenant_stats WHERE tenant = '7'},
	metrics => q{SELECT value FROM observa.metrics
		WHERE metric = 'observa_query_duration_seconds_count' AND "table" = 'sb_t' AND operation = 'SELECT'},
	info => q{SELECT count(*) > 0 FROM observa.info WHERE section = 'table_stats'},
	snapshots => q{SELECT string_agg(label, ',') FROM observa.snapshots},
	pg_stat_statements => q{SELECT sum(calls) FROM observa.pg_stat_statements
		WHERE query LIKE '%sb_marker%' AND query NOT LIKE '%observa.%'},
	pg_stat_statements_info => q{SELECT stats_reset IS NOT NULL FROM observa.pg_stat_statements_info},
);
my %want = (table_stats => 6, statement_stats => 6, slow_queries => 1, tenant_stats => 6,
	metrics => 6, info => 't', snapshots => 'on_primary', pg_stat_statements => 6,
	pg_stat_statements_info => 't');
for my $v (@views)
{
	my ($rc, $out, $err) = $standby->psql('postgres', "SELECT count(*) FROM observa.$v");
	is($rc, 0, "view observa.$v answers on the standby") or diag($err);
	if (!exists $own{$v})
	{
		fail("702_standby.pl does not know what view observa.$v should show on a standby: add it to %own");
		next;
	}
	is($standby->safe_psql('postgres', $own{$v}), $want{$v},
		"observa.$v on the standby shows " . ($v eq 'snapshots' ? "the primary's snapshots (replicated tables)" : 'its own statements'));
}
is($standby->safe_psql('postgres', q{
SELECT count(*) > 0 FROM observa.advisor_workload() WHERE relname = 'sb_t' AND column_name = 'tenant_id'}),
	't', "advisor_workload() on the standby shows the standby's predicates");
my $report = $standby->safe_psql('postgres', q{SELECT observa.performance_report()::text});
like($report, qr/"sb_t"/, "performance_report() on the standby has the standby's statements");
like($standby->safe_psql('postgres', 'SELECT observa.prometheus()'), qr/table="sb_t"/,
	"prometheus() on the standby exports the standby's series");
like($standby->safe_psql('postgres', q{SELECT count(*) FROM observa.compare('on_primary')}), qr/^[1-9]/,
	"compare() on the standby compares the primary's snapshot with the standby's statistics");

# statistics are per node: the primary saw none of it
is($primary->safe_psql('postgres', q{
SELECT coalesce(sum(calls), 0) FROM observa.table_stats WHERE relname = 'sb_t' AND operation = 'SELECT'}),
	'0', "the primary does not show the standby's statements");

# ---- writes refuse with 25006 and a hint ----
my %refuse = (
	'snapshot()' => q{SELECT observa.snapshot('on_standby')},
	'drop_snapshot()' => q{SELECT observa.drop_snapshot('on_primary')},
	'create_index()' => q{SELECT * FROM observa.create_index('CREATE INDEX CONCURRENTLY sb_t_v ON sb_t (v)')},
	'create_recommended_indexes()' => q{SELECT * FROM observa.create_recommended_indexes()},
	'create_recommended_indexes(false)' => q{SELECT * FROM observa.create_recommended_indexes(false)},
);
for my $f (sort keys %refuse)
{
	my ($rc, $out, $err) = $standby->psql('postgres', $refuse{$f},
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	my ($name) = $f =~ /^(\w+)/;
	like($err, qr/ERROR:  25006: observa\.$name\(\) cannot run on a standby/,
		"$f on the standby: 25006, saying why");
	like($err, qr/HINT:  .*primary/, "$f on the standby: the hint names the primary");
}
is($standby->safe_psql('postgres', 'SELECT string_agg(label, \',\') FROM observa.snapshots'),
	'on_primary', 'the refused calls changed nothing');

# observa.check_primary(what, hint), the helper behind them: any role may
# call it; null arguments get a generic wording; on the primary it does nothing
my ($crc, $cout, $cerr) = $standby->psql('postgres',
	q{SELECT observa.check_primary('my_job()', 'Run my_job() on the primary.')},
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($cerr, qr/ERROR:  25006: my_job\(\) cannot run on a standby.*HINT:  Run my_job\(\) on the primary\./s,
	'check_primary() raises 25006 with the given hint on a standby');
($crc, $cout, $cerr) = $standby->psql('postgres', q{SELECT observa.check_primary(NULL, NULL)},
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($cerr, qr/ERROR:  25006: this function cannot run on a standby.*HINT:  Run it on the primary\./s,
	'check_primary(NULL, NULL): the same error, in generic words');
is($primary->safe_psql('postgres', q{
CREATE ROLE sb_plain;
SET ROLE sb_plain;
SELECT 'returned' FROM (SELECT observa.check_primary('x', NULL)) s}), 'returned',
	'on the primary it returns, for any role');

# ---- recommend_indexes() works read-only on the standby ----
my ($rc, $out, $err) = $standby->psql('postgres', q{
SELECT index_def FROM observa.recommend_indexes() WHERE relname = 'sb_t'});
is($rc, 0, 'recommend_indexes() runs on the standby') or diag($err);
like($out, qr/ON public\.sb_t USING btree \(tenant_id/,
	"it recommends the tenant-leading index the standby's workload needs");

# ---- a clean restart of the standby keeps its statistics ----
$standby->restart;
$standby->poll_query_until('postgres', 'SELECT pg_is_in_recovery()')
  or die 'the standby did not come back';
is($standby->safe_psql('postgres', $own{table_stats}), '6',
	'a clean restart of the standby keeps its statistics (shut down in recovery counts as clean)');

# ---- promotion: the new primary keeps its statistics and can write ----
$primary->stop;
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'the standby was not promoted';
is($standby->safe_psql('postgres', $own{table_stats}), '6',
	'after the promotion the statistics recorded as a standby are still there');
$standby->safe_psql('postgres', 'SELECT count(*) AS sb_marker FROM sb_t WHERE tenant_id = 7 AND v = 3');
$standby->poll_query_until('postgres', $own{table_stats}, '7')
  or diag('the promoted node does not count new statements');
is($standby->safe_psql('postgres', $own{table_stats}), '7', 'and new statements count on');
ok($standby->safe_psql('postgres', q{SELECT observa.snapshot('after_promotion') IS NOT NULL}) eq 't',
	'snapshot() works on the promoted node');
is($standby->safe_psql('postgres', q{
SELECT string_agg(status, ',') FROM observa.create_recommended_indexes(false, 1)}),
	'queued', 'create_recommended_indexes() queues the recommended index on the promoted node');
is($standby->safe_psql('postgres', q{SELECT status FROM observa.create_index('CREATE INDEX CONCURRENTLY sb_t_v ON public.sb_t (v)')}),
	'queued', 'create_index() queues a build on the promoted node');
ok($standby->poll_query_until('postgres',
		q{SELECT count(*) FILTER (WHERE state = 'created') || '/' || count(*) FROM observa.index_builds()}, '2/2'),
	'and its background worker builds both indexes');
$standby->safe_psql('postgres', q{SELECT observa.drop_snapshot('after_promotion')});
is($standby->safe_psql('postgres', 'SELECT string_agg(label, \',\' ORDER BY label) FROM observa.snapshots'),
	'on_primary', 'drop_snapshot() works on the promoted node');

$standby->stop;
done_testing();

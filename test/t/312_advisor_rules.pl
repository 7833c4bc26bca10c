# Index advisor, the rules of docs/advisor.md on the saas fixture's
# workload (test/t/lib/SaasTraffic.pm): every key tenant-led; the
# low-cardinality columns (status, severity) never lead and never precede
# the range or sort column; the status IN-list with ORDER BY ... LIMIT gets
# a partial (tenant_id, opened_at DESC) index, and the join that supplies
# the tenant at run time is served by a partial index its predicate
# implies; the write-heavy log table gets one composite for its two reads;
# nothing serves the report; reason names the tenants tried; write and
# update overhead per index and for the set.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;
use SaasTraffic;

my $node = observa_node('advisor_rules', qq{
observa.advisor_sample_rate = 1.0
autovacuum = off
});
$node->safe_psql('postgres',
	"\\set scale 0.05\n" . slurp_file(observa_src() . '/test/fixtures/saas.sql'));
$node->safe_psql('postgres', 'SELECT observa.reset(), observa.reset_advisor()');
$node->safe_psql('postgres', join(";\n", SaasTraffic::statements(400)) . ";\n");

my $q = sub { return $node->safe_psql('postgres', $_[0]); };
# the queryid of the captured statement whose text matches a pattern
my $qid = sub {
	return $q->(qq{SELECT queryid FROM observa.statement_stats
	               WHERE datname = current_database() AND query ~ '$_[0]'});
};

is($q->(q{SELECT count(*) FILTER (WHERE NOT tenant_leading) || '/' || count(*) FROM observa.recommend_indexes()}),
	'0/6', 'six recommendations, every one tenant-led');

# key order: status and severity neither lead nor precede opened_at / at
is($q->(q{
SELECT count(*) FROM observa.recommend_indexes() r,
       LATERAL (SELECT min(o) FILTER (WHERE k ~ '^(status|severity|priority)') AS low,
                       max(o) FILTER (WHERE k ~ '^(opened_at|at)( DESC)?$') AS ord
                  FROM unnest(r.columns) WITH ORDINALITY u(k, o)) x
 WHERE x.low = 1 OR x.low < x.ord}), '0',
	'no low-cardinality column leads or precedes a range or sort column');

# the partial index of the IN-list with ORDER BY ... LIMIT
my $open = $qid->('status IN \(\$2, \$3\) ORDER BY opened_at DESC');
is($q->(qq{SELECT count(*) FROM observa.recommend_indexes()
            WHERE relname = 'tickets' AND columns = '{tenant_id,"opened_at DESC"}'
              AND index_def ~ 'WHERE \\(status = ANY \\(''\\{open,pending\\}''::text\\[\\]\\)\\)\$'
              AND $open = ANY (queries)}), '1',
	'(tenant_id, opened_at DESC) WHERE status IN (open, pending) serves the open-ticket list');
# the join supplying the tenant is served by a partial index it implies
my $join = $qid->('JOIN saas\.tickets');
like($q->(qq{SELECT index_def || ' | ' || reason FROM observa.recommend_indexes()
              WHERE $join = ANY (queries) AND relname = 'tickets'}),
	qr/\(tenant_id, opened_at DESC\) WHERE \(status = .*open.*\| Partial index .*a join supplies the tenant at run time/,
	'the join that supplies the tenant at run time is served by a tenant-led partial index');

# the write-heavy log table: one composite serves both reads
is($q->(q{SELECT string_agg(array_to_string(columns, ','), ' / ') FROM observa.recommend_indexes()
           WHERE relname = 'events'}), 'tenant_id,at DESC,severity',
	'one (tenant_id, at DESC, severity) on the log table');
like($q->(q{SELECT reason FROM observa.recommend_indexes() WHERE relname = 'events'}),
	qr/serving 2 statements .*one composite for 2 candidates on this write-heavy table, each statement within 10% of its cost with separate indexes/,
	'reason: it serves both reads and was merged within the tolerance');
is($q->(q{SELECT write_heavy FROM observa.recommend_indexes_overhead() WHERE relname = 'events'}), 't',
	'the log table is write-heavy per observa.table_stats');

# with merging off, no composite is made (the redundancy rule may still
# keep only one of the two reads' own indexes)
$node->safe_psql('postgres', 'ALTER SYSTEM SET observa.advisor_merge_tolerance = 0');
$node->reload;
is($q->(q{SELECT count(*) FILTER (WHERE reason ~ 'one composite' OR columns = '{tenant_id,"at DESC",severity}')
           FROM observa.recommend_indexes() WHERE relname = 'events'}), '0',
	'observa.advisor_merge_tolerance = 0: no composite on the log table');
$node->safe_psql('postgres', 'ALTER SYSTEM RESET observa.advisor_merge_tolerance');
$node->reload;

# nothing for the report
my $report = $qid->('GROUP BY status');
is($q->(qq{SELECT count(*) FROM observa.recommend_indexes() WHERE $report = ANY (queries)}), '0',
	'nothing is recommended for the whole-table report');

# the tenants tried, in reason
like($q->(q{SELECT reason FROM observa.recommend_indexes() WHERE relname = 'users'}),
	qr/tenants tried: 1 \(heaviest, 1\d\.\d% of rows\) and \d+ \(small, 0\.\d% of rows\)/,
	'reason names the heaviest and the small tenant tried');

# write and update overhead
is($q->(q{SELECT bool_and(write_overhead > 0) FROM observa.recommend_indexes() WHERE relname = 'events'}), 't',
	'an index on the log table has a write overhead');
is($q->(q{SELECT bool_and(write_overhead IS NULL) FROM observa.recommend_indexes() WHERE relname IN ('users', 'audit')}),
	't', 'tables the workload never writes have none (NULL)');
is($q->(q{SELECT string_agg(DISTINCT (update_overhead_pct > 0)::text, ',' ORDER BY (update_overhead_pct > 0)::text)
           FROM observa.recommend_indexes() WHERE relname = 'tickets' AND index_def ~ 'WHERE'}), 'true',
	'the partial indexes on status lose HOT for the status UPDATEs');
is($q->(q{SELECT update_overhead_pct FROM observa.recommend_indexes()
           WHERE relname = 'tickets' AND index_def !~ 'WHERE'}), '0',
	'the full tickets index loses no HOT update');
is($q->(q{SELECT o.indexes = (SELECT count(*) FROM observa.recommend_indexes())
              AND o.est_size_bytes = (SELECT sum(est_size_bytes) FROM observa.recommend_indexes())
              AND o.write_overhead > 0 AND o.update_overhead_pct > 0
           FROM observa.recommend_indexes_overhead() o WHERE o.schemaname IS NULL}), 't',
	'the set: all its indexes, their bytes, write and update overhead');

# across the tenant distribution: an index on opened_at alone serves a
# tenant's newest tickets for the heaviest tenant (its rows are everywhere)
# but not for a small one; the tenant-led index serves both, so it is
# recommended for that statement although the other one serves the
# heaviest tenant well enough
$node->safe_psql('postgres', q{
SELECT observa.reset_advisor();
SELECT id FROM saas.tickets WHERE tenant_id = 1 ORDER BY opened_at DESC LIMIT 10;
SELECT id FROM saas.tickets WHERE tenant_id = 1 ORDER BY opened_at DESC LIMIT 10;
SELECT id, subject FROM saas.tickets ORDER BY opened_at DESC LIMIT 10;
});
my $newest = $qid->('WHERE tenant_id = \$1 ORDER BY opened_at DESC LIMIT \$2');
like($q->(qq{SELECT array_to_string(columns, ',') || ' | ' || reason FROM observa.recommend_indexes()
              WHERE $newest = ANY (queries) AND tenant_leading}),
	qr/^tenant_id,opened_at DESC \| .*tenants tried: 1 \(heaviest, .*\) and \d+ \(small, /,
	'the tenant-led index is recommended for the statement the heaviest tenant alone would not need it for');
is($q->(qq{SELECT array_to_string(columns, ',') || ' ' || ($newest = ANY (queries))
             FROM observa.recommend_indexes() WHERE NOT tenant_leading}),
	'opened_at DESC false',
	'the newest tickets of every tenant get their own index, which serves only statements that do not filter by tenant');

done_testing();

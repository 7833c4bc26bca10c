# Index advisor, partitioned tables: scans of a time-partitioned tenant
# table's partitions are captured as scans of the parent; one index is
# recommended on the parent; index_build_steps() and create_index() build
# it as a DBA does (CREATE INDEX ... ON ONLY the parent, CONCURRENTLY on
# each partition, ALTER INDEX ... ATTACH PARTITION each) and end with a
# valid parent index the planner uses; a build that fails part-way drops
# every index it created; a role that does not own every partition may not
# create one.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;

my $node = observa_node('advisor_partitioned', qq{
observa.advisor_sample_rate = 1.0
max_worker_processes = 12
autovacuum = off
});
$node->safe_psql('postgres',
	"\\set scale 0.05\n" . slurp_file(observa_src() . '/test/fixtures/saas.sql'));
$node->safe_psql('postgres', 'SELECT observa.reset_advisor()');

# wait until index_builds() shows the build of $name finished; its state
sub build_state
{
	my ($name) = @_;
	$node->poll_query_until('postgres',
		qq{SELECT state IN ('created', 'failed') FROM observa.index_builds()
		   WHERE index_name = '$name' ORDER BY queued_at DESC LIMIT 1})
	  or return 'timeout';
	return $node->safe_psql('postgres',
		qq{SELECT state || ': ' || coalesce(detail, '') FROM observa.index_builds()
		   WHERE index_name = '$name' ORDER BY queued_at DESC LIMIT 1});
}

# the workload: a tenant's day of audit lines, newest first, for tenants
# large and small and days in different months (different partitions)
for my $t (1, 2, 7, 40, 150)
{
	for my $d (3, 45, 100)
	{
		$node->safe_psql('postgres', qq{
SELECT at, actor, action FROM saas.audit
 WHERE tenant_id = $t AND at >= timestamptz '2026-01-01' + $d * interval '1 day'
   AND at < timestamptz '2026-01-01' + ($d + 1) * interval '1 day'
 ORDER BY at DESC LIMIT 20});
	}
}

# capture: the scans are the parent's
is($node->safe_psql('postgres', q{
SELECT string_agg(DISTINCT relname, ',') FROM observa.advisor_workload() WHERE schemaname = 'saas'}),
	'audit', 'scans of the partitions are captured as scans of the parent');

# one recommendation, on the parent, tenant-led
my $rec = $node->safe_psql('postgres', q{
SELECT relname || '|' || array_to_string(columns, ',') || '|' || tenant_leading || '|' ||
       (reason ~ 'partitioned table \(6 partitions\)')
  FROM observa.recommend_indexes() WHERE schemaname = 'saas'});
like($rec, qr/^audit\|tenant_id,at( DESC)?\|true\|true$/,
	'one tenant-led index on the parent, the reason says it is partitioned');
my $def = $node->safe_psql('postgres',
	q{SELECT index_def FROM observa.recommend_indexes() WHERE relname = 'audit'});
my ($name) = $def =~ /EXISTS (\S+) ON/;

# the steps a DBA runs
my @steps = split /\n/, $node->safe_psql('postgres',
	qq{SELECT * FROM observa.index_build_steps(\$\$$def\$\$)});
is(scalar @steps, 13, 'steps: one parent index, six partition builds, six attaches');
like($steps[0], qr/^CREATE INDEX IF NOT EXISTS $name ON ONLY saas\.audit USING btree \(tenant_id, at( DESC)?\)$/,
	'first the parent index, ON ONLY (no CONCURRENTLY, it builds nothing)');
is(scalar(grep { /^CREATE INDEX CONCURRENTLY IF NOT EXISTS \S+ ON saas\.audit_2026_0[1-6] / } @steps),
	6, 'then CONCURRENTLY on each partition');
is(scalar(grep { /^ALTER INDEX saas\.$name ATTACH PARTITION saas\.\S+$/ } @steps[7 .. 12]),
	6, 'then each partition index attached to the parent index');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'obs\_%'}),
	'0', 'index_build_steps() builds nothing itself');

# the worker runs the steps
is($node->safe_psql('postgres', "SELECT status FROM observa.create_index(\$\$$def\$\$)"),
	'queued', 'create_index() queues the build of a partitioned table\'s index');
is(build_state($name), 'created: index built concurrently on 6 partitions and attached to the parent',
	'the worker built it on each partition');
is($node->safe_psql('postgres', qq{
SELECT i.indisvalid, c.relkind FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE c.relname = '$name'}), 't|I', 'the parent index is valid');
is($node->safe_psql('postgres', qq{
SELECT count(*) FILTER (WHERE ix.indisvalid) FROM pg_inherits h JOIN pg_index ix ON ix.indexrelid = h.inhrelid
 WHERE h.inhparent = 'saas.$name'::regclass}), '6', 'six valid partition indexes are attached to it');
like($node->safe_psql('postgres', q{
EXPLAIN (COSTS OFF) SELECT at FROM saas.audit
 WHERE tenant_id = 40 AND at >= '2026-02-10' AND at < '2026-02-11' ORDER BY at DESC LIMIT 20}),
	qr/Index (Only )?Scan( Backward)? using obs_audit_2026_02_\w+ on audit_2026_02/,
	'the planner uses the partition\'s index');
is($node->safe_psql('postgres', "SELECT status FROM observa.create_index(\$\$$def\$\$)"),
	'exists', 'asking again finds the valid parent index');
is($node->safe_psql('postgres', q{SELECT count(*) FROM observa.recommend_indexes() WHERE relname = 'audit'}),
	'0', 'the parent index now serves the workload: nothing more is recommended');

# a failure part-way (division by zero in the second partition) drops
# everything the build created: the parent index, the first partition's
# index and the second's invalid one
$node->safe_psql('postgres', q{
CREATE TABLE saas.pt (tenant_id int, at timestamptz, d int) PARTITION BY RANGE (at);
CREATE TABLE saas.pt1 PARTITION OF saas.pt FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE saas.pt2 PARTITION OF saas.pt FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
CREATE TABLE saas.pt3 PARTITION OF saas.pt FOR VALUES FROM ('2026-03-01') TO ('2026-04-01');
INSERT INTO saas.pt VALUES (1, '2026-01-05', 1), (1, '2026-02-05', 0), (1, '2026-03-05', 2);
});
$node->safe_psql('postgres',
	q{SELECT observa.create_index('CREATE INDEX CONCURRENTLY IF NOT EXISTS pt_bad ON saas.pt (tenant_id, (100 / d))')});
like(build_state('pt_bad'),
	qr/^failed: division by zero \(at step 3 of 7: CREATE INDEX CONCURRENTLY IF NOT EXISTS obs_pt2_\w+ ON saas\.pt2 .*\); the 3 indexes it had created were dropped$/,
	'a build failing on the second partition says where, and that it cleaned up');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'saas' AND c.relkind IN ('i', 'I') AND c.relname ~ '^(pt_bad|obs_pt)'}),
	'0', 'no index of the failed build is left, valid or not');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM pg_index WHERE NOT indisvalid}), '0', 'no invalid index anywhere');

# privileges: every partition must be the caller's
$node->safe_psql('postgres', q{
CREATE ROLE part_owner LOGIN;
CREATE ROLE other_owner;
GRANT USAGE, CREATE ON SCHEMA saas TO part_owner;
GRANT EXECUTE ON FUNCTION observa.create_index(text) TO part_owner;
CREATE TABLE saas.mixed (tenant_id int, at timestamptz) PARTITION BY RANGE (at);
CREATE TABLE saas.mixed1 PARTITION OF saas.mixed FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE saas.mixed2 PARTITION OF saas.mixed FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
ALTER TABLE saas.mixed OWNER TO part_owner;
ALTER TABLE saas.mixed1 OWNER TO part_owner;
ALTER TABLE saas.mixed2 OWNER TO other_owner;
});
my ($rc, $out, $err) = $node->psql('postgres', q{
SET ROLE part_owner;
SELECT * FROM observa.create_index('CREATE INDEX CONCURRENTLY IF NOT EXISTS m_i ON saas.mixed (tenant_id)')});
like($err, qr/must be owner of table mixed2/,
	'the owner of the parent who does not own a partition may not create the index');
is($node->safe_psql('postgres', q{SELECT count(*) FROM observa.index_builds() WHERE index_name = 'm_i'}),
	'0', 'nothing was queued');
($rc, $out, $err) = $node->psql('postgres', q{
SET ROLE part_owner;
SELECT * FROM observa.recommend_indexes_overhead()});
like($err, qr/permission denied for function recommend_indexes_overhead/,
	'the overhead of the recommendations is not for every role');

done_testing();

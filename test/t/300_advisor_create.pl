# Index advisor, creation: observa.create_index() queues CREATE INDEX
# CONCURRENTLY in a background worker running as the calling role; the
# build waits for the caller's transaction, a failed build's invalid index
# is dropped, identifiers stay quoted (a table named x"; DROP TABLE y; --),
# only the table's owner may create, and advisor_index_effect() shows the
# statements' latency before and after.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;

my $src = observa_src();
my $node = observa_node('advisor_create', q{
observa.advisor_sample_rate = 1.0
max_worker_processes = 12
});
$node->safe_psql('postgres', slurp_file("$src/test/fixtures/tenants.sql"));
# the bulk load is not the workload: its writes would weigh against indexes
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

# the workload: a tenant's latest tickets, slow without an index
my $q = q{SELECT id FROM app.tickets WHERE tenant_id = 5 ORDER BY created_at DESC LIMIT 10};
$node->safe_psql('postgres', "$q;") for 1 .. 5;
my $def = $node->safe_psql('postgres',
	q{SELECT index_def FROM observa.recommend_indexes()
	  WHERE relname = 'tickets' AND columns[1] = 'tenant_id' ORDER BY index_def LIMIT 1});
like($def, qr/^CREATE INDEX CONCURRENTLY IF NOT EXISTS (obs_tickets_\w+) ON app\.tickets USING btree \(tenant_id, created_at DESC\)$/,
	'recommends (tenant_id, created_at DESC) for the tickets workload');
my ($name) = $def =~ /EXISTS (\S+) ON/;

# queued from inside a transaction: the build waits for it to end
my $row = $node->safe_psql('postgres', "SELECT status FROM observa.create_index('$def')");
is($row, 'queued', 'create_index queues the build');
is(build_state($name), 'created: index built concurrently', 'the worker built the index');
is($node->safe_psql('postgres',
	qq{SELECT indisvalid FROM pg_index WHERE indexrelid = 'app.$name'::regclass}),
	't', 'the index is valid');
is($node->safe_psql('postgres', "SELECT status FROM observa.create_index('$def')"),
	'exists', 'a second request does not duplicate it');
is($node->safe_psql('postgres',
	q{SELECT count(*) FROM observa.recommend_indexes() WHERE relname = 'tickets'
	  AND columns = ARRAY['tenant_id', 'created_at DESC'] AND index_def !~ 'WHERE'}),
	'0', 'the index is not recommended any more');

# effect: the statement's sampled latency before and after
$node->safe_psql('postgres', "$q;") for 1 .. 5;
my $effect = $node->safe_psql('postgres',
	qq{SELECT calls_before > 0, calls_after >= 5, mean_ms_after < mean_ms_before
	   FROM observa.advisor_index_effect() WHERE index_name = '$name'
	   ORDER BY calls_after DESC LIMIT 1});
is($effect, 't|t|t', 'advisor_index_effect shows the statement faster after the index');

# a failing build (duplicate values under UNIQUE): failed, invalid index dropped
$node->safe_psql('postgres',
	q{SELECT observa.create_index('CREATE UNIQUE INDEX CONCURRENTLY tickets_status_u ON app.tickets (status)')});
like(build_state('tickets_status_u'), qr/^failed: could not create unique index.*invalid index it left was dropped/,
	'a failed build reports the error and drops its invalid index');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_class WHERE relname = 'tickets_status_u'}),
	'0', 'no invalid index is left behind');

# a hostile table name stays an identifier
$node->safe_psql('postgres', q{
CREATE TABLE app.y (id int);
CREATE TABLE app."x""; DROP TABLE app.y; --" (tenant_id int, n int);
INSERT INTO app."x""; DROP TABLE app.y; --" SELECT g % 40, g FROM generate_series(1, 30000) g;
ANALYZE app."x""; DROP TABLE app.y; --";
SELECT observa.reset_advisor();
});
$node->safe_psql('postgres', q{SELECT count(*) FROM app."x""; DROP TABLE app.y; --" WHERE tenant_id = 3 AND n = 77;}) for 1 .. 3;
my $xdef = $node->safe_psql('postgres',
	q{SELECT index_def FROM observa.recommend_indexes() WHERE relname = 'x"; DROP TABLE app.y; --'});
like($xdef, qr/ON app\."x""; DROP TABLE app\.y; --" USING btree \(tenant_id, n\)$/,
	'the hostile table name is quoted in index_def');
my ($xname) = $xdef =~ /EXISTS (\S+) ON/;
$node->safe_psql('postgres', q{SELECT observa.create_index(index_def) FROM observa.recommend_indexes()
	WHERE relname = 'x"; DROP TABLE app.y; --'});
like(build_state($xname), qr/^created/, 'the index on the hostile table is built');
is($node->safe_psql('postgres', q{SELECT to_regclass('app.y') IS NOT NULL}), 't',
	'table y still exists');

# only the owner may create, and the worker runs as the caller
$node->safe_psql('postgres', q{
CREATE ROLE alice LOGIN;
CREATE ROLE bob LOGIN;
GRANT USAGE, CREATE ON SCHEMA app TO alice, bob;
GRANT EXECUTE ON FUNCTION observa.create_index(text) TO alice, bob;
GRANT pg_read_all_stats TO alice, bob;
SET ROLE alice;
CREATE TABLE app.alice_t AS SELECT g AS tenant_id, g AS n FROM generate_series(1, 1000) g;
});
my ($rc, $out, $err) = $node->psql('postgres',
	q{SELECT observa.create_index('CREATE INDEX CONCURRENTLY IF NOT EXISTS bob_i ON app.alice_t (n)')},
	extra_params => [ '-U', 'bob' ]);
isnt($rc, 0, 'a role that does not own the table cannot create');
like($err, qr/must be owner of table alice_t/, '... and is told why');
$node->safe_psql('postgres',
	q{SELECT observa.create_index('CREATE INDEX CONCURRENTLY IF NOT EXISTS alice_i ON app.alice_t (n)')},
	extra_params => [ '-U', 'alice' ]);
like(build_state('alice_i'), qr/^created/, 'the owner can');
is($node->safe_psql('postgres',
	q{SELECT role FROM observa.index_builds() WHERE index_name = 'alice_i'}),
	'alice', 'the build ran as the calling role');
is($node->safe_psql('postgres',
	q{SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'alice_i'}),
	'alice', 'the index belongs to the table owner');

# a table owned by a role that cannot log in, reached with SET ROLE
$node->safe_psql('postgres', q{
CREATE ROLE app_owner NOLOGIN;
GRANT app_owner TO alice;
GRANT USAGE, CREATE ON SCHEMA app TO app_owner;
GRANT EXECUTE ON FUNCTION observa.create_index(text) TO app_owner;
SET ROLE app_owner;
CREATE TABLE app.owned AS SELECT g AS tenant_id, g AS n FROM generate_series(1, 1000) g;
});
$node->safe_psql('postgres',
	q{SET ROLE app_owner; SELECT observa.create_index('CREATE INDEX CONCURRENTLY IF NOT EXISTS owned_i ON app.owned (n)')},
	extra_params => [ '-U', 'alice' ]);
like(build_state('owned_i'), qr/^created/, 'a NOLOGIN owner reached through SET ROLE can create');
is($node->safe_psql('postgres',
	q{SELECT role FROM observa.index_builds() WHERE index_name = 'owned_i'}),
	'app_owner', 'that build ran as the current role, not the login role');

# create_recommended_indexes(false) queues every recommendation
$node->safe_psql('postgres', q{SELECT count(*) FROM app.events WHERE org_id = 4 AND kind = 'edit';}) for 1 .. 3;
my $n = $node->safe_psql('postgres',
	q{SELECT count(*) FROM observa.create_recommended_indexes(dry_run => false) WHERE status = 'queued'});
ok($n >= 1, "create_recommended_indexes queued $n builds");
$node->poll_query_until('postgres',
	q{SELECT count(*) = 0 FROM observa.index_builds() WHERE state IN ('queued', 'building')});
is($node->safe_psql('postgres',
	q{SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
	  WHERE c.relname LIKE 'obs\_%' AND NOT i.indisvalid}),
	'0', 'no invalid observa index anywhere');
is($node->safe_psql('postgres',
	q{SELECT count(*) FROM observa.recommend_indexes() WHERE relname = 'events'}),
	'0', 'events served after the batch');

$node->stop;
done_testing();

# Security, recorders never fail a statement (src/guard.c, docs/security.md):
# a superuser-made type "evil" whose output function always raises ("cannot
# display a value of a shell type") is used as a tenant value, as a bind
# parameter and as a constant in a plan.  With the slow-query ring capturing
# parameters and plans, the advisor sampling every statement and tenant
# statistics on, each statement succeeds with its result; the rendering
# errors are LOG lines; the transaction around them is not aborted.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;

my $node = observa_node('security_recorders', qq{
observa.slow_query_threshold = 0
observa.slow_query_params = on
observa.slow_query_plan = text
observa.advisor_sample_rate = 1.0
observa.tenant_columns = 'tenant_id'
});
$node->safe_psql('postgres', q{
CREATE TYPE evil;
CREATE FUNCTION evil_in(cstring) RETURNS evil LANGUAGE internal IMMUTABLE STRICT AS 'int4in';
CREATE FUNCTION evil_out(evil) RETURNS cstring LANGUAGE internal IMMUTABLE STRICT AS 'shell_out';
CREATE TYPE evil (INPUT = evil_in, OUTPUT = evil_out, LIKE = int4);
CREATE FUNCTION evil_eq(evil, evil) RETURNS boolean LANGUAGE internal IMMUTABLE STRICT AS 'int4eq';
CREATE OPERATOR = (LEFTARG = evil, RIGHTARG = evil, FUNCTION = evil_eq, MERGES, RESTRICT = eqsel);
CREATE TABLE et (id int, tenant_id evil);
INSERT INTO et SELECT g, ((g % 10)::text)::evil FROM generate_series(1, 100) g;
});
my ($rc, $out, $err) = $node->psql('postgres', q{SELECT tenant_id FROM et LIMIT 1});
like($err, qr/cannot display a value of a shell type/, 'the type\'s output function raises');

# one statement with a tenant: from then on the database's statements
# without one count under its NULL row (a database without tenants takes
# no rows)
$node->safe_psql('postgres', q{/* tenant=seed */ SELECT 1});
my $offset = -s $node->logfile;
my @cases = (
	[ 'a constant in the plan and the tenant filter',
	  q{SELECT count(*) FROM et WHERE tenant_id = '5'::evil} ],
	[ 'a bind parameter (PREPARE / EXECUTE)',
	  q{PREPARE p(evil) AS SELECT count(*) FROM et WHERE tenant_id = $1; EXECUTE p('5')} ],
	[ 'inside a transaction block',
	  q{BEGIN; SELECT count(*) FROM et WHERE tenant_id = '5'::evil; SELECT 'still in the transaction'; COMMIT} ],
	[ 'a parameter inside a transaction block',
	  q{BEGIN; PREPARE q(evil) AS SELECT count(*) FROM et WHERE tenant_id = $1; EXECUTE q('5'); EXECUTE q('5'); COMMIT} ],
);
for my $c (@cases)
{
	my ($name, $sql) = @$c;
	($rc, $out, $err) = $node->psql('postgres', $sql);
	is($rc, 0, "$name: the statement succeeds");
	like($out, qr/^10$/m, "$name: with its result");
	is($err, '', "$name: and no error or warning reaches the client");
}
like($out, qr/^10\n10$/, 'both executions in the block returned their result');
($rc, $out, $err) = $node->psql('postgres',
	q{BEGIN; SELECT count(*) FROM et WHERE tenant_id = '5'::evil; SELECT 'still in the transaction'; COMMIT});
like($out, qr/still in the transaction/, 'the transaction was not aborted by the recorders');

my $log = slurp_file($node->logfile, $offset);
like($log, qr/LOG:  observa could not render the plan of a statement: cannot display a value of a shell type/,
	'the plan\'s rendering error is a LOG line');
like($log, qr/LOG:  observa could not render the bind parameters of a statement: cannot display a value of a shell type/,
	'so is the parameters\' error');
like($log, qr/LOG:  observa could not render the example's bind parameters of a statement/,
	'and the advisor example\'s');
like($log, qr/LOG:  observa does not render tenant values of type evil: its output function is not built in/,
	'tenant values of the type are not rendered, said in the log');
unlike($log, qr/ERROR:  cannot display a value of a shell type/, 'no statement failed with the error');

# what was recorded
is($node->safe_psql('postgres', q{
SELECT count(*) FILTER (WHERE params = '<not captured>') > 0 AND count(*) FILTER (WHERE plan IS NULL) > 0
  FROM observa.slow_queries WHERE query LIKE '%FROM et WHERE tenant_id%'}),
	't', 'the slow-query ring kept the statements, without parameters or plan');
is($node->safe_psql('postgres', q{SELECT count(*) FROM observa.slow_queries
                                   WHERE query LIKE '%FROM et WHERE tenant_id%' AND error IS NOT NULL}), '0',
	'none is recorded as failed');
is($node->safe_psql('postgres', q{SELECT coalesce(sum(calls), 0) > 0 FROM observa.tenant_stats WHERE tenant IS NULL}),
	't', 'the statements count under no tenant');
is($node->safe_psql('postgres', q{SELECT count(*) FROM observa.statement_stats
                                   WHERE query LIKE '%FROM et WHERE tenant_id%' AND errors > 0}), '0',
	'statement statistics count no error');

# a domain over int keeps its tenant value (rendered as its base type)
$node->safe_psql('postgres', q{
CREATE DOMAIN tenant_dom AS int;
CREATE TABLE dt (id int, tenant_id tenant_dom);
INSERT INTO dt SELECT g, (g % 10)::tenant_dom FROM generate_series(1, 100) g;
SELECT observa.reset_tenant_stats();
});
$node->safe_psql('postgres', q{SELECT count(*) FROM dt WHERE tenant_id = 7::tenant_dom});
is($node->safe_psql('postgres', q{SELECT calls FROM observa.tenant_stats WHERE tenant = '7'}), '1',
	'a tenant column of a domain over int is rendered as its base type');

$node->stop;
done_testing();

# Security, what may go into an index observa recommends or builds
# (src/advisor/trust.c, docs/security.md): only functions, operators and
# domains owned by a superuser or by the table's owner.  An unprivileged
# role m filters on its own function and operator; the advisor drops those
# candidates and says why; create_index() refuses such a definition (also
# when the caller's search_path makes an unqualified name resolve to m's
# function); the build worker checks again what it is about to run: a
# function that changed hands while the build was queued, a table swapped
# under the queued name, and the caller's standard_conforming_strings.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;

my $node = observa_node('security_trust', qq{
observa.advisor_sample_rate = 1.0
max_worker_processes = 12
});
$node->safe_psql('postgres', q{
CREATE TABLE t (id int PRIMARY KEY, tenant_id int, v text);
INSERT INTO t SELECT g, g % 50, md5(g::text) FROM generate_series(1, 30000) g;
ANALYZE t;
CREATE ROLE m LOGIN;
GRANT SELECT ON t TO m;
CREATE SCHEMA m_s AUTHORIZATION m;
-- the table owner's own function is trusted
CREATE ROLE app_owner LOGIN;
CREATE SCHEMA app AUTHORIZATION app_owner;
SET ROLE app_owner;
CREATE TABLE app.u (id int PRIMARY KEY, tenant_id int, v text);
INSERT INTO app.u SELECT g, g % 50, md5(g::text) FROM generate_series(1, 30000) g;
ANALYZE app.u;
-- plpgsql: an SQL function this simple would be inlined into lower(v)
CREATE FUNCTION app.norm(x text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS 'BEGIN RETURN lower(x); END';
GRANT USAGE ON SCHEMA app TO m;
GRANT SELECT ON app.u TO m;
GRANT EXECUTE ON FUNCTION app.norm(text) TO m;
RESET ROLE;
SET ROLE m;
CREATE FUNCTION m_s.fold(x text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS 'BEGIN RETURN lower(x); END';
CREATE FUNCTION m_s.eq(a text, b text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS 'BEGIN RETURN a = b; END';
CREATE OPERATOR m_s.=== (LEFTARG = text, RIGHTARG = text, FUNCTION = m_s.eq, RESTRICT = eqsel);
-- shadows pg_catalog.lower(text) for a caller whose search_path puts m_s first
CREATE FUNCTION m_s.lower(x varchar) RETURNS text LANGUAGE plpgsql IMMUTABLE AS 'BEGIN RETURN pg_catalog.lower(x); END';
RESET ROLE;
SELECT observa.reset_advisor();
});

my @workload = (
	q{SELECT count(*) FROM t WHERE m_s.fold(v) = 'abc'},
	q{SELECT count(*) FROM t WHERE tenant_id = 5 AND v OPERATOR(m_s.===) ANY ('{abc,def}')},
	q{SELECT count(*) FROM t WHERE lower(v) = 'abc'},
	q{SELECT count(*) FROM app.u WHERE app.norm(v) = 'abc'},
);
for my $q (@workload)
{
	$node->safe_psql('postgres', "$q;" x 3, extra_params => [ '-U', 'm' ]);
}

my ($out, $err) = ('', '');
$node->psql('postgres', q{SELECT index_def FROM observa.recommend_indexes() ORDER BY 1},
	stdout => \$out, stderr => \$err, on_error_die => 1);
unlike($out, qr/m_s/, 'no recommended index uses m\'s function or operator');
like($out, qr/ON public\.t USING btree \(\(lower\(v\)\)\)/, 'a pg_catalog function is recommended (lower(v))');
like($out, qr/ON app\.u USING btree \(\(app\.norm\(v\)\)\)/, 'the table owner\'s own function is recommended');
like($err, qr/NOTICE:  observa advisor skipped a candidate index on table public\.t\nDETAIL:  Its key or predicate uses function m_s\.fold\(text\), owned by role m, which is neither a superuser nor the owner of the table\./,
	'the advisor says why it skipped the key on m_s.fold(v)');
like($err, qr/DETAIL:  Its key or predicate uses operator m_s\.===\(text, text\), owned by role m/,
	'and the partial predicate with m\'s operator');
like($err, qr/HINT:  An index runs its functions for every row written to the table/, 'with a hint');

# building every recommendation puts none of m's objects into an index
$node->safe_psql('postgres', q{SELECT count(*) FROM observa.create_recommended_indexes(dry_run => false)});
$node->poll_query_until('postgres',
	q{SELECT count(*) = 0 FROM observa.index_builds() WHERE state IN ('queued', 'building')})
  or die 'builds did not finish';
my $uses_m = q{SELECT count(*) FROM pg_depend d JOIN pg_class c ON c.oid = d.objid AND c.relkind = 'i'
               WHERE d.classid = 'pg_class'::regclass AND (
                     (d.refclassid = 'pg_proc'::regclass AND d.refobjid IN
                       (SELECT p.oid FROM pg_proc p WHERE p.proowner = 'm'::regrole))
                  OR (d.refclassid = 'pg_operator'::regclass AND d.refobjid IN
                       (SELECT o.oid FROM pg_operator o WHERE o.oprowner = 'm'::regrole)))};
is($node->safe_psql('postgres', $uses_m), '0', 'no index depends on a function or operator of m');
ok($node->safe_psql('postgres', q{SELECT count(*) FROM pg_indexes WHERE indexdef LIKE '%lower(v)%'}) >= 1,
	'the trusted recommendation was built');

# create_index() refuses an untrusted definition, whoever asks
sub create_err
{
	my ($sql, $pre) = @_;
	my ($o, $e) = ('', '');
	$node->psql('postgres', ($pre // '') . "SELECT observa.create_index(\$q\$$sql\$q\$)",
		stdout => \$o, stderr => \$e);
	return $e;
}
my $e = create_err(q{CREATE INDEX CONCURRENTLY bad_fold ON t (m_s.fold(v))});
like($e, qr/ERROR:  index_def uses a function, operator or domain that observa does not put in an index/,
	'create_index() refuses an index on m\'s function');
like($e, qr/DETAIL:  The index uses function m_s\.fold\(text\), owned by role m/, 'and names it');
like(create_err(q{CREATE INDEX CONCURRENTLY bad_op ON t (id) WHERE v OPERATOR(m_s.===) 'x'}),
	qr/The index uses operator m_s\.===\(text, text\)/, 'and a predicate with m\'s operator');
like(create_err(q{CREATE INDEX CONCURRENTLY bad_lower ON t (lower(v::varchar))}, 'SET search_path = m_s, public; '),
	qr/The index uses function m_s\.lower\(character varying\)/,
	'and an unqualified name that the caller\'s search_path resolves to m\'s function');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_class WHERE relname LIKE 'bad\_%'}), '0',
	'no such index exists');

# the worker checks again: a function that changed hands while queued
$node->safe_psql('postgres', q{
CREATE FUNCTION public.norm2(x text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS 'BEGIN RETURN lower(x); END';
CREATE TABLE t2 AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 1000) g;
});
my $blocker = $node->background_psql('postgres');
$blocker->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
$blocker->query_safe('SELECT 1');
# the first build waits for the blocker's snapshot; the second waits its turn
$node->safe_psql('postgres', q{SELECT observa.create_index('CREATE INDEX CONCURRENTLY first_i ON t (tenant_id)')});
$node->poll_query_until('postgres',
	q{SELECT state = 'building' FROM observa.index_builds() WHERE index_name = 'first_i'})
  or die 'first build did not start';
is($node->safe_psql('postgres',
	q{SELECT status FROM observa.create_index('CREATE INDEX CONCURRENTLY norm2_i ON t2 (public.norm2(v))')}),
	'queued', 'a build on a trusted function is queued');
$node->safe_psql('postgres', q{ALTER FUNCTION public.norm2(text) OWNER TO m});
$blocker->query_safe('COMMIT');
$blocker->quit;
$node->poll_query_until('postgres',
	q{SELECT count(*) = 0 FROM observa.index_builds() WHERE state IN ('queued', 'building')})
  or die 'builds did not finish';
like($node->safe_psql('postgres', q{SELECT state || ': ' || detail FROM observa.index_builds() WHERE index_name = 'norm2_i'}),
	qr/^failed: the queued index build was not run: it uses function public\.norm2\(text\), owned by role m/,
	'the worker refuses a function that is no longer trusted');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_class WHERE relname = 'norm2_i'}), '0',
	'and builds nothing');

# the worker checks the table: the queued name now names another table
$node->safe_psql('postgres', q{
CREATE TABLE swap_t AS SELECT g AS id FROM generate_series(1, 1000) g;
BEGIN;
SELECT observa.create_index('CREATE INDEX CONCURRENTLY swap_i ON swap_t (id)');
ALTER TABLE swap_t RENAME TO swap_old;
CREATE TABLE swap_t (id int);
COMMIT;
});
$node->poll_query_until('postgres',
	q{SELECT count(*) = 0 FROM observa.index_builds() WHERE state IN ('queued', 'building')})
  or die 'builds did not finish';
like($node->safe_psql('postgres', q{SELECT detail FROM observa.index_builds() WHERE index_name = 'swap_i'}),
	qr/its table is no longer the table it was queued for/, 'the worker refuses a swapped table');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_class WHERE relname = 'swap_i'}), '0',
	'and builds no index on the new one');

# the worker reads the definition under the caller's standard_conforming_strings:
# with it off, 'x\' OR v IS NULL --' is one string; with it on it would be
# the string 'x\' followed by OR v IS NULL
$node->safe_psql('postgres', q{
SET standard_conforming_strings = off;
SET escape_string_warning = off;
SELECT observa.create_index($d$CREATE INDEX CONCURRENTLY scs_i ON t2 (id) WHERE v = 'x\' OR v IS NULL --'$d$);
});
$node->poll_query_until('postgres',
	q{SELECT count(*) = 0 FROM observa.index_builds() WHERE state IN ('queued', 'building')})
  or die 'builds did not finish';
is($node->safe_psql('postgres', q{SELECT pg_get_expr(indpred, indrelid) FROM pg_index WHERE indexrelid = 'scs_i'::regclass}),
	q{(v = 'x'' OR v IS NULL --'::text)}, 'the predicate is the one the caller wrote');

$node->stop;
done_testing();

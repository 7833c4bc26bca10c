# Security, the advisor's sandbox (sandbox.c, docs/security.md): an
# unprivileged role m gets statements captured whose IMMUTABLE functions try,
# while a superuser's recommend_indexes() re-plans them, to leave state in the
# superuser's session: a setting (search_path), a temporary table, a prepared
# statement (and DEALLOCATE ALL of the superuser's), a session advisory lock,
# a notification, a LISTEN, a WARNING to the superuser's client.  Each
# function first writes a LOG line, so the test knows it ran; then the
# superuser's session must be exactly as before.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;

my $node = observa_node('security_sandbox', "observa.advisor_sample_rate = 1.0\n");
$node->safe_psql('postgres', q{
CREATE TABLE t (id int PRIMARY KEY, tenant_id int, v text);
INSERT INTO t SELECT g, g % 50, md5(g::text) FROM generate_series(1, 20000) g;
ANALYZE t;
CREATE ROLE m LOGIN;
GRANT SELECT ON t TO m;
CREATE SCHEMA m_s AUTHORIZATION m;
SET ROLE m;
-- what each attack does, in a VOLATILE function (a non-volatile one may not
-- run utility statements), called from an IMMUTABLE one the planner folds
CREATE FUNCTION m_s.v_guc() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('search_path', 'm_s, pg_catalog, public', false);
  PERFORM set_config('m.flag', 'planted', false);
END $$;
CREATE FUNCTION m_s.v_temp() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE 'CREATE TEMP TABLE IF NOT EXISTS m_tmp (x int)';
END $$;
CREATE FUNCTION m_s.v_prep() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_prepared_statements WHERE name = 'm_p') THEN
    EXECUTE 'PREPARE m_p AS SELECT 1';
  END IF;
END $$;
CREATE FUNCTION m_s.v_dealloc() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE 'DEALLOCATE ALL';
END $$;
CREATE FUNCTION m_s.v_lock() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_try_advisory_lock(4242);
  PERFORM pg_try_advisory_xact_lock(4243);
END $$;
CREATE FUNCTION m_s.v_notify() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('m_chan', 'from m');
END $$;
CREATE FUNCTION m_s.v_listen() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE 'LISTEN m_other';
END $$;
CREATE FUNCTION m_s.v_warn() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  RAISE WARNING 'm says: run SELECT m_s.fix() now';
END $$;
DO $$
DECLARE f text;
BEGIN
  FOREACH f IN ARRAY ARRAY['guc','temp','prep','dealloc','lock','notify','listen','warn'] LOOP
    EXECUTE format($f$
      CREATE FUNCTION m_s.f_%1$s(x text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $b$
      BEGIN
        RAISE LOG 'f_%1$s ran as %%', current_user;
        PERFORM m_s.v_%1$s();
        RETURN x;
      END $b$ $f$, f);
  END LOOP;
END $$;
RESET ROLE;
});

my @attacks = qw(guc temp prep dealloc lock notify listen warn);
for my $f (@attacks)
{
	my $q = "SELECT count(*) FROM t WHERE tenant_id = 5 AND v = m_s.f_$f('abc');";
	$node->safe_psql('postgres', $q x 3, extra_params => [ '-U', 'm' ]);
}
my $captured = $node->safe_psql('postgres',
	q{SELECT count(*) FROM observa.advisor_workload() WHERE relname = 't' AND column_name = 'v'});
ok($captured >= 1, 'the attacker\'s statements were captured');

# the superuser's session: state before, recommend_indexes(), state after
my $state = q{
SELECT 'search_path=' || current_setting('search_path');
SELECT 'flag=' || coalesce(nullif(current_setting('m.flag', true), ''), '<unset>');
SELECT 'temp_schema=' || pg_my_temp_schema()::oid::int;
SELECT 'm_tmp=' || (to_regclass('m_tmp') IS NOT NULL);
SELECT 'prepared=' || coalesce(string_agg(name, ',' ORDER BY name), '') FROM pg_prepared_statements;
SELECT 'advisory=' || count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();
SELECT 'listening=' || coalesce(string_agg(c, ',' ORDER BY c), '') FROM pg_listening_channels() c;
};
my $log_offset = -s $node->logfile;
my ($out, $err) = ('', '');
$node->psql('postgres', qq{
PREPARE dba_p AS SELECT 1;
LISTEN m_chan;
$state
SELECT 'recommendations=' || count(*) FROM observa.recommend_indexes();
SELECT 'after';
$state
}, stdout => \$out, stderr => \$err, on_error_die => 1);
my ($before, $after) = split /^after$/m, $out;
my %b = $before =~ /^(\w+)=(.*)$/mg;
my %a = $after =~ /^(\w+)=(.*)$/mg;

my $log = slurp_file($node->logfile, $log_offset);
for my $f (@attacks)
{
	like($log, qr/f_$f ran as m\b/, "the $f attack ran, as m, while re-planning");
}
unlike($log, qr/ran as postgres/, 'no attacker function ran as the superuser');

is($a{search_path}, $b{search_path}, 'GUC: search_path unchanged (SHOW search_path)');
is($a{search_path}, '"$user", public', 'GUC: search_path is the default');
is($a{flag}, '<unset>', 'GUC: no setting planted');
is($a{temp_schema}, '0', 'temp objects: pg_my_temp_schema() still 0');
is($a{m_tmp}, 'false', 'temp objects: no temporary table m_tmp');
is($a{prepared}, 'dba_p', 'prepared statements: m_p not created, dba_p not deallocated');
is($a{advisory}, '0', 'advisory locks: none left in the superuser\'s session');
is($a{listening}, 'm_chan', 'LISTEN: the session listens only where it asked to');
unlike($out, qr/Asynchronous notification/, 'notifications: none sent from the superuser\'s session');
unlike($err, qr/m says/, 'messages: the attacker\'s WARNING did not reach the superuser\'s client');
is($err, '', 'recommend_indexes() printed nothing on the superuser\'s client');

# a session holding an advisory lock is refused before anything runs (the
# attacker could release it with pg_advisory_unlock_all()), and keeps it
($out, $err) = ('', '');
$node->psql('postgres', q{
SELECT pg_advisory_lock(77);
SELECT count(*) FROM observa.recommend_indexes();
SELECT 'held=' || count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND objid = 77;
}, stdout => \$out, stderr => \$err, on_error_stop => 0);
like($err, qr/ERROR:  observa does not re-plan captured statements in a session that holds advisory locks/,
	'a session holding advisory locks is refused');
like($err, qr/HINT:  Release them with pg_advisory_unlock_all\(\)/, 'with a hint');
like($out, qr/held=1/, 'and keeps its lock');
unlike(slurp_file($node->logfile, $log_offset), qr/ran as postgres/,
	'no attacker function ran as the superuser');

$node->stop;
done_testing();

# Index advisor, re-planning: recommend_indexes() plans captured statements
# again, and planning can run functions (constant folding).  They must run
# as the role that issued the statement, not as the role asking for
# recommendations, and nothing they do may stay in the caller's session
# (sandbox.c; test/t/601_security_sandbox.pl tries each kind of state); a
# statement whose role is gone is skipped.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;

my $src = observa_src();
my $node = observa_node('advisor_replan', "observa.advisor_sample_rate = 1.0\n");
$node->safe_psql('postgres', slurp_file("$src/test/fixtures/tenants.sql"));
$node->safe_psql('postgres', q{
CREATE ROLE mallory LOGIN;
GRANT USAGE ON SCHEMA app TO mallory;
GRANT SELECT ON app.tickets TO mallory;
-- says who ran it, and tries to leave that in a session setting
CREATE FUNCTION public.tenant_of(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RAISE LOG 'tenant_of ran as %', current_user;
  PERFORM set_config('observa_test.who', current_user, false);
  RETURN $1;
END $$;
SELECT observa.reset_advisor();
});

my $q = q{SELECT id FROM app.tickets WHERE tenant_id = public.tenant_of(5) ORDER BY created_at DESC LIMIT 10};
$node->safe_psql('postgres', "$q;", extra_params => [ '-U', 'mallory' ]) for 1 .. 3;

my $log_offset = -s $node->logfile;
my ($out, $notices) = ('', '');
$node->psql('postgres', q{
SELECT count(*) FROM observa.recommend_indexes() WHERE relname = 'tickets';
SELECT coalesce(nullif(current_setting('observa_test.who', true), ''), '<unset>');
}, stdout => \$out, stderr => \$notices, on_error_die => 1);
my ($n, $who) = split /\n/, $out;
ok($n >= 1, 'the statement was re-planned and helped');
my $log = slurp_file($node->logfile, $log_offset);
like($log, qr/tenant_of ran as mallory/,
	'functions folded while re-planning ran as the statement\'s role');
unlike($log, qr/tenant_of ran as postgres/,
	'and never as the role asking for recommendations');
is($who, '<unset>',
	'the setting the function made did not stay in the caller\'s session');

# the role is dropped: its statement is skipped, no error
$node->safe_psql('postgres', q{
REVOKE ALL ON app.tickets FROM mallory;
REVOKE ALL ON SCHEMA app FROM mallory;
DROP ROLE mallory;
});
my ($rc, $stdout, $stderr) = $node->psql('postgres',
	q{SELECT count(*) FROM observa.recommend_indexes() WHERE relname = 'tickets'});
is($rc, 0, 'recommend_indexes() works after the role is dropped');
is($stdout, '0', 'the dropped role\'s statement is skipped');

$node->stop;
done_testing();

# Security, tenant values are client-supplied (docs/security.md): the
# superuser setting observa.tenant_sources names the sources trusted.  A
# client claims a tenant three ways at once (SET observa.tenant, a
# /* tenant=... */ comment, the WHERE filter); only trusted sources count.
# An ordinary role cannot change the setting; bad values are refused.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;

# the client works in database tdb; SET and RESET are not counted
my $node = observa_node('security_tenant_sources',
	"observa.tenant_columns = 'tenant_id'\nobserva.track_utility = off\n");
$node->safe_psql('postgres', 'CREATE DATABASE tdb');
$node->safe_psql('tdb', q{
CREATE TABLE tt (id int, tenant_id int);
INSERT INTO tt SELECT g, g % 10 FROM generate_series(1, 100) g;
CREATE ROLE app LOGIN;
GRANT SELECT ON tt TO app;
});

is($node->safe_psql('postgres', 'SHOW observa.tenant_sources'), 'setting, comment, filter',
	'by default every source is trusted');

# the client's three claims; returns the tenant rows "tenant:calls"
sub claims
{
	my ($sources) = @_;
	$node->safe_psql('postgres', qq{ALTER SYSTEM SET observa.tenant_sources = '$sources'; SELECT pg_reload_conf(); SELECT observa.reset_tenant_stats()});
	# a new session sees the reloaded value
	$node->poll_query_until('postgres', qq{SELECT current_setting('observa.tenant_sources') = '$sources'});
	$node->safe_psql('tdb', q{
SET observa.tenant = 'from-setting';
/* tenant=from-comment */ SELECT count(*) FROM tt WHERE tenant_id = 7;
RESET observa.tenant;
/* tenant=from-comment */ SELECT count(*) FROM tt WHERE tenant_id = 7;
SELECT count(*) FROM tt WHERE tenant_id = 7;
}, extra_params => [ '-U', 'app' ]);
	return $node->safe_psql('postgres', q{
SELECT string_agg(coalesce(tenant, '<none>') || ':' || calls, ' ' ORDER BY tenant COLLATE "C" NULLS FIRST)
  FROM observa.tenant_stats WHERE datname = 'tdb' AND calls > 0 AND NOT is_other});
}

is(claims('setting, comment, filter'), '7:1 from-comment:1 from-setting:1',
	'all trusted: the setting wins, then the comment, then the filter');
is(claims('filter'), '7:3', 'filter only: SET observa.tenant and comments are ignored');
is(claims('comment, filter'), '7:1 from-comment:2', 'without setting: SET observa.tenant is ignored');
is(claims('setting'), '<none>:2 from-setting:1', 'setting only: comments and filters are ignored');
# (no statement has a tenant: the database takes no rows, see tenant_stats.md)
is(claims(''), '', 'none trusted: no statement counts under a tenant');

my ($rc, $out, $err) = $node->psql('postgres', q{SET observa.tenant_sources = 'comment'},
	extra_params => [ '-U', 'app' ]);
like($err, qr/permission denied to set parameter "observa.tenant_sources"/,
	'an ordinary role cannot choose the trusted sources');
($rc, $out, $err) = $node->psql('postgres', q{SET observa.tenant_sources = 'setting, header'});
like($err, qr/ERROR:  invalid value for parameter "observa.tenant_sources": "setting, header"\nDETAIL:  Unknown tenant source "header"\.\nHINT:  The sources are setting, comment and filter\./,
	'an unknown source is refused with the list of sources');
($rc, $out, $err) = $node->psql('postgres', q{SET observa.tenant_sources = 'setting,,comment'});
like($err, qr/invalid value for parameter "observa.tenant_sources"/, 'a malformed list is refused');
is($node->safe_psql('postgres', 'SHOW observa.tenant_sources'), '', 'and the setting is unchanged');

$node->stop;
done_testing();

# SaasTraffic: a fixed sequence of the saas fixture's workload statements
# (test/fixtures/saas.sql, test/fixtures/saas_workload) with literal
# values, for TAP tests that need the same traffic every time.
#
#   use SaasTraffic;
#   my @statements = SaasTraffic::statements(400);   # fixture at scale 0.05
#
# Tenants are Zipf-like (1 + 200 u^3), values come from a linear
# congruential sequence with a fixed seed; every twelfth statement kind
# cycles through the workload: the open-ticket list, a week's range, the
# join that supplies the tenant, the newest log lines, errors in a window,
# a login, a day of the partitioned audit table, two UPDATEs, a rare
# report, and inserts into the log.
package SaasTraffic;

use strict;
use warnings;

my $seed;
sub rnd { $seed = ($seed * 1103515245 + 12345) % 2147483648; return $seed / 2147483648; }
sub tenant { return 1 + int(200 * rnd()**3); }

# the tenant of user g, as test/fixtures/saas.sql assigns it
sub user_tenant
{
	my ($g) = @_;
	my $t = 1 + int(200 * ((($g * 7919 + 17) % 100003) / 100003.0)**3);
	return $t > 200 ? 200 : $t;
}

sub statements
{
	my ($n) = @_;
	$seed = 12345;
	my @traffic;
	for my $i (1 .. $n)
	{
		my $k = $i % 12;
		my $t = tenant();
		my $d = int(rnd() * 130);
		my $u = 1 + int(rnd() * 1000);
		my $id = 1 + int(rnd() * 10000);
		push @traffic,
		  $k == 0 ? "SELECT id, subject, opened_at FROM saas.tickets WHERE tenant_id = $t AND status IN ('open', 'pending') ORDER BY opened_at DESC LIMIT 20"
		  : $k == 1 ? "SELECT id, status, opened_at FROM saas.tickets WHERE tenant_id = $t AND opened_at >= timestamptz '2026-01-01' + $d * interval '1 day' AND opened_at < timestamptz '2026-01-01' + ($d + 7) * interval '1 day' ORDER BY opened_at LIMIT 50"
		  : $k == 2 ? "SELECT t.id, t.subject FROM saas.users u JOIN saas.tickets t ON t.tenant_id = u.tenant_id WHERE u.id = $u AND t.status = 'open' ORDER BY t.opened_at DESC LIMIT 10"
		  : $k == 3 ? "SELECT id, at, severity, message FROM saas.events WHERE tenant_id = $t ORDER BY at DESC LIMIT 50"
		  : $k == 4 ? "SELECT id, at, message FROM saas.events WHERE tenant_id = $t AND severity = 'error' AND at >= timestamptz '2026-01-01' + " . ($d * 12) . " * interval '1 hour' AND at < timestamptz '2026-01-01' + (" . ($d * 12) . " + 6) * interval '1 hour'"
		  : $k == 5 ? "SELECT id, name FROM saas.users WHERE tenant_id = " . user_tenant($u) . " AND email = 'u$u\@example.com'"
		  : $k == 6 ? "SELECT at, actor, action FROM saas.audit WHERE tenant_id = $t AND at >= timestamptz '2026-01-01' + $d * interval '1 day' AND at < timestamptz '2026-01-01' + ($d + 1) * interval '1 day' ORDER BY at DESC LIMIT 20"
		  : $k == 7 ? "UPDATE saas.tickets SET priority = " . ($i % 5) . " WHERE id = $id"
		  : $k == 8 ? "UPDATE saas.tickets SET status = CASE status WHEN 'open' THEN 'pending' ELSE 'open' END WHERE id = $id AND status IN ('open', 'pending')"
		  : $k == 9 && $i % 120 == 9 ? "SELECT status, count(*) FROM saas.tickets GROUP BY status"
		  : "INSERT INTO saas.events (tenant_id, at, severity, message) VALUES ($t, timestamptz '2026-06-01' + $i * interval '1 s', 'info', 'event')";
	}
	return @traffic;
}

1;

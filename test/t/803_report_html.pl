# observa.report_html(): one self-contained page over the demo's
# multi-tenant workload, with a hostile statement text and a hostile tenant
# value (both client-supplied, both must appear as text).  The page is
# checked as written (sections, SVG, escaping, nothing fetched, no script)
# and as Chromium renders it (--dump-dom), and a screenshot is taken:
# tmp_check/report.png, copied to $OBSERVA_SCREENSHOT when that is set
# (docs/img/report.png in the repository is made this way).
use strict;
use warnings;
use File::Copy;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;

my $src = observa_src();
my $node = observa_node('report_html', qq{
observa.slow_query_threshold = '20ms'
observa.slow_query_plan = text
observa.advisor_sample_rate = 0.5
});
$node->safe_psql('postgres', slurp_file("$src/demo/schema.sql"));
$node->safe_psql('postgres', q{
CREATE TABLE app.notes (tenant_id text, body text);
INSERT INTO app.notes SELECT 't' || g % 7, 'note ' || g FROM generate_series(1, 500) g;
CREATE INDEX notes_tenant ON app.notes (tenant_id);
CREATE INDEX notes_tenant_dup ON app.notes (tenant_id);
ANALYZE;
SELECT observa.reset(); SELECT observa.reset_slow_queries();
SELECT observa.reset_tenant_stats(); SELECT observa.reset_advisor();
});

# the demo's workload, briefly
my $w = "$src/demo/workload";
my ($out, $err) = ('', '');
my $ok = IPC::Run::run(
	[
		'pgbench', '-n', '-c', '4', '-j', '2', '-T', '6', '-M', 'prepared',
		'-h', $node->host, '-p', $node->port,
		'-f', "$w/lookup_user.sql\@4", '-f', "$w/open_tickets.sql\@4",
		'-f', "$w/new_ticket.sql\@2", '-f', "$w/close_ticket.sql\@2",
		'-f', "$w/recent_events.sql\@1", 'postgres'
	],
	'>', \$out, '2>', \$err);
ok($ok, 'the demo workload ran') or diag($err);

# client-supplied hostile values: a statement text and a tenant value
my $hostile_text = '<script>alert(1)</script>';
my $hostile_tenant = q{<img src=x onerror=alert(2)>&'"};
(my $tenant_sql = $hostile_tenant) =~ s/'/''/g;
$node->safe_psql('postgres', qq{SELECT pg_sleep(0.3) AS "$hostile_text"});
$node->safe_psql('postgres',
	qq{SELECT pg_sleep(0.6), count(*) FROM app.notes WHERE tenant_id = '$tenant_sql'})
  for 1 .. 2;

my $html = $node->safe_psql('postgres', 'SELECT observa.report_html()');
my $dir = $PostgreSQL::Test::Utils::tmp_check;
my $file = "$dir/report.html";
open(my $fh, '>', $file) or die "cannot write $file: $!";
print $fh $html;
close($fh);
chmod 0644, $file;

like($html, qr/^<!DOCTYPE html>/, 'a complete HTML document');
for my $id (qw(latency timeline tenants slow-queries regressions indexes recommendations hygiene))
{
	like($html, qr/id="$id"/, "section $id is there");
}
cmp_ok(scalar(() = $html =~ /<svg /g), '>=', 3, 'charts are inline SVG');
like($html, qr/<details class="slow"><summary>/, 'slow queries are collapsible');
like($html, qr/<dt>plan<\/dt><dd><pre>[^<]*(Scan|Result|Limit)/, 'with their plan');
unlike($html, qr/<script/i, 'no script element, the hostile text included');
like($html, qr/&lt;script&gt;alert\(1\)&lt;\/script&gt;/, 'the hostile statement text appears escaped');
unlike($html, qr/<img/i, 'the hostile tenant value does not become an element');
like($html, qr/&lt;img src=x onerror=alert\(2\)&gt;&amp;&#39;&quot;/,
	'the hostile tenant value appears escaped in the tenants table');
unlike($html, qr/(?:src|href)\s*=\s*"(?!#)|url\(|\@import/i, 'nothing is loaded: no src, no external href, no url()');
like($html, qr/Content-Security-Policy" content="default-src 'none'/, 'and the page forbids it');
like($html, qr/notes_tenant_dup/, 'index hygiene lists the planted duplicate');

SKIP:
{
	my $chromium = `command -v chromium 2>/dev/null`;
	chomp $chromium;
	skip 'chromium is not installed (test/lib.sh installs Debian\'s chromium package)', 6
	  unless $chromium;
	my @flags = (
		'--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
		'--disable-background-networking', '--disable-component-update', '--disable-sync');
	my $profile = "$dir/chromium-profile";
	my ($dom, $cerr) = ('', '');
	IPC::Run::run(
		[ 'timeout', '120', $chromium, @flags, "--user-data-dir=$profile-1", '--dump-dom', "file://$file" ],
		'>', \$dom, '2>', \$cerr);
	like($dom, qr/<section id="latency">.*<section id="timeline">.*<section id="tenants">.*<section id="slow-queries">.*<section id="regressions">.*<section id="indexes">/s,
		'Chromium\'s DOM has every section, in order') or diag($cerr);
	cmp_ok(scalar(() = $dom =~ /<svg /g), '>=', 3, 'and the SVG charts');
	like($dom, qr/<details class="slow">/, 'and the collapsible slow queries');
	unlike($dom, qr/<script/i, 'the DOM has no script element');
	like($dom, qr/&lt;script&gt;alert\(1\)&lt;\/script&gt;/, 'the hostile text is text in the DOM');

	my $png = "$dir/report.png";
	IPC::Run::run(
		[ 'timeout', '120', $chromium, @flags, "--user-data-dir=$profile-2", '--window-size=1280,1500',
		  '--hide-scrollbars', "--screenshot=$png", "file://$file" ],
		'>', \$out, '2>', \$cerr);
	ok(-s $png && -s $png > 10000, 'Chromium took a screenshot of the page') or diag($cerr);
	copy($png, $ENV{OBSERVA_SCREENSHOT}) if $ENV{OBSERVA_SCREENSHOT} && -s $png;
}

$node->stop;
done_testing();

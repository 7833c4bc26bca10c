# The monitoring integration's files, checked without the tools (which
# 501_prometheus.pl runs for real when they are installed):
#  - integrations/grafana/observa.json: the datasource is a variable that
#    every panel and target uses; there is an instance variable; every
#    series selector of every query filters by $instance; every rate()
#    window is $__rate_interval (no hard-coded [5m]); per-table panels keep
#    the instance in their grouping, so servers are never summed together;
#  - integrations/postgres_exporter/queries.yaml: every query has
#    master: true (run once, not once per discovered database) and a
#    cache_seconds.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;
use JSON::PP;

my $src = observa_src();
my $dash = decode_json(slurp_file("$src/integrations/grafana/observa.json"));
my %vars = map { $_->{name} => $_ } @{ $dash->{templating}{list} // [] };

is($vars{datasource}{type} // '', 'datasource', 'the datasource is a dashboard variable');
is($vars{datasource}{query} // '', 'prometheus', '... of Prometheus datasources');
ok(exists $vars{instance}, 'there is an instance variable');
like($vars{instance}{query}{query} // $vars{instance}{query} // '', qr/label_values\(\w+, instance\)/,
	'... listing the scraped servers');
ok(!grep({ ($_->{datasource}{uid} // '${datasource}') ne '${datasource}' }
		grep { $_->{type} eq 'query' } values %vars),
	'every query variable reads the datasource variable');

# each selector of an observa series: name{labels} or name followed by [ or )
sub selectors
{
	my ($expr) = @_;
	my @sel;
	while ($expr =~ /\b(observa_\w+)(\{[^}]*\})?/g)
	{
		push @sel, [ $1, $2 // '' ];
	}
	return @sel;
}

my ($panels, $targets) = (0, 0);
for my $p (@{ $dash->{panels} })
{
	next if ($p->{type} // '') eq 'row';
	$panels++;
	my $title = $p->{title} // '(untitled)';
	is($p->{datasource}{uid} // '', '${datasource}', "panel \"$title\": datasource is the variable");
	for my $t (@{ $p->{targets} // [] })
	{
		$targets++;
		my $e = $t->{expr} // '';
		my $id = "panel \"$title\" $t->{refId}";
		is($t->{datasource}{uid} // '', '${datasource}', "$id: datasource is the variable");
		my @sel = selectors($e);
		ok(@sel > 0, "$id: queries observa series");
		my @unfiltered = grep { $_->[1] !~ /\binstance=~"\$instance"/ } @sel;
		is(scalar(@unfiltered), 0, "$id: every selector filters by \$instance")
		  or diag("$e");
		unlike($e, qr/\[\d+[smhd]\]/, "$id: no hard-coded rate window");
		my @windows = $e =~ /\[([^\]]+)\]/g;
		ok(!grep({ $_ ne '$__rate_interval' } @windows), "$id: rate windows are \$__rate_interval");
		if ($e =~ /\bsum by \(([^)]*)\)/ && ($t->{legendFormat} // '') =~ /\{\{table\}\}/)
		{
			my @by = map { split /\s*,\s*/ } $e =~ /\bsum by \(([^)]*)\)/g;
			ok((grep { $_ eq 'instance' } @by), "$id: per-table series keep the instance apart");
		}
	}
}
cmp_ok($panels, '>=', 8, "the dashboard has its panels ($panels)");
cmp_ok($targets, '>=', $panels, "every panel has a query ($targets)");

# queries.yaml: top-level keys are queries; each has master: true and cache_seconds
my $yaml = slurp_file("$src/integrations/postgres_exporter/queries.yaml");
my (%q, $cur);
for my $line (split /\n/, $yaml)
{
	next if $line =~ /^\s*(#|$)/;
	if ($line =~ /^(\w+):\s*$/) { $cur = $1; $q{$cur} = {}; next; }
	$q{$cur}{$1} = $2 if defined $cur && $line =~ /^  (\w+):\s*(\S.*?)\s*$/;
}
ok(keys %q >= 2, 'queries.yaml has its queries: ' . join(', ', sort keys %q));
for my $name (sort keys %q)
{
	is($q{$name}{master} // '', 'true', "$name: master: true (once per server, not per database)");
	like($q{$name}{cache_seconds} // '', qr/^[1-9]\d*$/, "$name: cache_seconds is set");
}
done_testing();

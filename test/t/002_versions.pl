# One version everywhere: observa.control's default_version, META.json
# (both "version" and provides.observa.version), the install script's file
# name, and what the built library reports.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;
use JSON::PP;

my $src = observa_src();
my $control = slurp_file("$src/observa.control");
my ($version) = $control =~ /^default_version\s*=\s*'([^']+)'/m;
ok(defined $version, "observa.control has a default_version");

my $meta = decode_json(slurp_file("$src/META.json"));
# PGXN wants SemVer: control file "X.Y" is META.json "X.Y.0"
my $semver = $version =~ /^\d+\.\d+$/ ? "$version.0" : $version;
is($meta->{version}, $semver, 'META.json version is the control file version in SemVer');
is($meta->{provides}{observa}{version}, $semver, 'META.json provides.observa.version matches');
is($meta->{'meta-spec'}{version}, '1.0.0', 'META.json follows meta-spec 1.0.0');
for my $k (qw(name abstract maintainer license provides meta-spec))
{
	ok(exists $meta->{$k}, "META.json has required key $k");
}
ok(-f "$src/sql/observa--$version.sql", "install script observa--$version.sql exists");
ok(-f "$src/$meta->{provides}{observa}{file}", 'META.json names an existing file');

my $node = observa_node('versions');
is($node->safe_psql('postgres', 'SELECT observa.version()'), $version,
	'the loaded library reports the same version');
is($node->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'observa'}),
	$version, 'pg_extension reports the same version');
$node->stop;
done_testing();

# Release artefacts, tried as a packager and a DBA would: the release
# archive (make dist, a git archive zip that make test builds and names in
# OBSERVA_DIST) holds a buildable tree; dpkg-buildpackage -us -uc builds
# postgresql-15-observa from it (its build-time test runs the regression
# suite against pg_virtualenv's server preloading observa); the package
# unpacked into a fresh copy of PostgreSQL (dpkg-deb -x: nothing is
# installed system-wide) serves CREATE EXTENSION, the 1.0 -> 1.1 update and
# the API; apt accepts it ("apt install ./<deb>", simulated); and
# "make installcheck" of the archive's tree, with its own preloaded
# servers, passes against the package's files.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename;
use File::Copy;
use ObservaTest;
use JSON::PP;

my $dist = $ENV{OBSERVA_DIST} // '';
plan skip_all => 'no release archive: make test builds one with "make dist" in a git checkout and names it in OBSERVA_DIST'
  unless $dist ne '' && -f $dist;
observa_require_commands('unzip', 'dpkg-buildpackage', 'dpkg-deb', 'pg_buildext', 'dh', 'pg_virtualenv');

my $version = observa_default_version();
(my $semver = $version) =~ s/^(\d+\.\d+)$/$1.0/;
my ($major) = `pg_config --version` =~ /PostgreSQL (\d+)/;
$major = 15 unless $major =~ /^\d+$/;
my $tmp = PostgreSQL::Test::Utils::tempdir;

# ---- the archive ----
is(basename($dist), "observa-$semver.zip", "make dist names the archive observa-$semver.zip");
my ($out, $err) = run_command([ 'unzip', '-q', $dist, '-d', "$tmp/zip" ]);
my $top = "$tmp/zip/observa-$semver";
ok(-d $top, "every file of the archive is under observa-$semver/");
for my $f (qw(Makefile observa.control META.json sql/observa--1.0.sql sql/observa--1.0--1.1.sql
	debian/control debian/control.in debian/rules debian/pgversions debian/tests/control))
{
	ok(-f "$top/$f", "the archive has $f");
}
ok(!-e "$top/.git", 'the archive has no .git');
is(decode_json(slurp_file("$top/META.json"))->{version}, $semver, "its META.json is version $semver");

# ---- dpkg-buildpackage -us -uc ----
# the build-time test's pg_virtualenv server takes the port in PGPORT
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $rc = system("cd '$top' && PGPORT=$port dpkg-buildpackage -us -uc > '$tmp/build.log' 2>&1");
my $log = slurp_file("$tmp/build.log");
is($rc, 0, 'dpkg-buildpackage -us -uc builds the package')
  or diag(join("\n", (split /\n/, $log)[-60 .. -1]));
like($log, qr/^### End $major installcheck ###$/m,
	'its build-time test (installcheck on a preloaded pg_virtualenv server) passed');
my ($deb) = grep { !/dbgsym/ } glob("$tmp/zip/postgresql-$major-observa_${semver}_*.deb");
ok(defined $deb, "it made postgresql-$major-observa_${semver}_<arch>.deb") or BAIL_OUT('no package');
ok(-f "$tmp/zip/observa_$semver.dsc", 'and the source package');

my ($info) = run_command([ 'dpkg-deb', '-f', $deb, 'Package', 'Version', 'Depends' ]);
like($info, qr/^Package: postgresql-$major-observa$/m, 'package name postgresql-<major>-observa');
like($info, qr/^Version: \Q$semver\E$/m, "version $semver");
like($info, qr/^Depends: .*postgresql-$major\b/m, "it depends on postgresql-$major");
unlike($info, qr/jit-llvm/, 'it ships no JIT bitcode (and needs no LLVM)');
my ($contents) = run_command([ 'dpkg-deb', '-c', $deb ]);
my @files = sort map { (split ' ', $_)[5] =~ s{^\./}{/}r } grep { !/\/$/ } split /\n/, $contents;
my @ext = grep { m{/(extension|lib)/[^/]+$} } @files;
is_deeply(\@ext, [ sort "/usr/lib/postgresql/$major/lib/observa.so",
	map { "/usr/share/postgresql/$major/extension/$_" } 'observa.control',
	map { basename($_) } glob("$top/sql/observa--*.sql") ],
	'it installs the library, the control file and every install and upgrade script');
ok((grep { m{/usr/share/doc/postgresql-$major-observa/examples/queries.yaml} } @files),
	'with the postgres_exporter queries and the Grafana dashboard as examples');

SKIP:
{
	skip 'apt-get is not installed', 1 unless observa_command_path('apt-get');
	my ($sim, $simerr) = run_command([ 'apt-get', '-s', '-o', 'Debug::NoLocking=1', 'install', $deb ]);
	like($sim, qr/^(Inst|Conf) postgresql-$major-observa /m,
		'apt install ./<deb> resolves its dependencies on this machine (simulated)')
	  or diag($sim . $simerr);
}

# ---- the package in a fresh copy of PostgreSQL ----
my $root = "$tmp/pg";
for my $d ("/usr/lib/postgresql/$major", "/usr/share/postgresql/$major")
{
	my $dest = "$root$d";
	system('mkdir', '-p', dirname($dest)) == 0 or die;
	system('cp', '-a', $d, dirname($dest)) == 0 or die "cannot copy $d";
}
# whatever observa the machine has installed is not ours to test
unlink glob("$root/usr/lib/postgresql/$major/lib/observa.so $root/usr/share/postgresql/$major/extension/observa*");
system('mkdir', '-p', "$root/usr/include/postgresql");
symlink("/usr/include/postgresql/$major", "$root/usr/include/postgresql/$major");
($out, $err) = run_command([ 'dpkg-deb', '-x', $deb, $root ]);
ok(-f "$root/usr/lib/postgresql/$major/lib/observa.so", 'dpkg-deb -x unpacks it into the copy') or diag($err);

my $node = observa_node('pkg', undef,
	{ install_path => "$root/usr/lib/postgresql/$major", create_extension => 0 });
($rc, $out, $err) = $node->psql('postgres', 'CREATE EXTENSION observa');
is($rc, 0, 'CREATE EXTENSION observa works from the package') or diag($err);
is($node->safe_psql('postgres', 'SELECT observa.version()'), $version, "the packaged library is $version");
$node->safe_psql('postgres', 'CREATE TABLE pkg_t (id int); INSERT INTO pkg_t VALUES (1)');
$node->safe_psql('postgres', 'SELECT * FROM pkg_t') for 1 .. 3;
ok($node->poll_query_until('postgres',
		q{SELECT calls FROM observa.table_stats WHERE relname = 'pkg_t' AND operation = 'SELECT'}, '3'),
	'the packaged observa records statements');
$node->safe_psql('postgres', 'CREATE DATABASE upg');
$node->safe_psql('upg', q{CREATE EXTENSION observa VERSION '1.0'});
($rc, $out, $err) = $node->psql('upg', 'ALTER EXTENSION observa UPDATE');
is($rc, 0, 'the packaged upgrade script updates a 1.0 installation') or diag($err);
is($node->safe_psql('upg', q{SELECT extversion FROM pg_extension WHERE extname = 'observa'}),
	$version, "to $version");
$node->stop;

# ---- make installcheck of the archive's tree, against the package's files ----
# (its own preloaded servers; one TAP file shows that the TAP suite runs)
my @tests = map { basename($_) =~ s/\.(sql|spec)$//r } glob("$top/test/sql/*.sql $top/test/specs/*.spec");
$rc = system("cd '$top' && make installcheck PG_CONFIG='$root/usr/lib/postgresql/$major/bin/pg_config'"
	  . " PROVE_TESTS=test/t/001_not_preloaded.pl > '$tmp/installcheck.log' 2>&1");
$log = slurp_file("$tmp/installcheck.log");
is($rc, 0, 'make installcheck passes with its own preloaded servers')
  or diag(join("\n", (split /\n/, $log)[-60 .. -1]));
my $passed = () = $log =~ /^(?:test )?\s*\S+\s+\.\.\. ok/mg;
is($passed, scalar(@tests), 'every regression file and isolation spec passed (' . scalar(@tests) . ')');
like($log, qr/^All tests successful\./m, 'and the TAP file');

# against a running server that does not preload observa, installcheck
# stops before any test, saying why
my $plain = observa_node('plain', undef,
	{ install_path => "$root/usr/lib/postgresql/$major", preload => '', create_extension => 0 });
$rc = system("cd '$top' && PGHOST='" . $plain->host . "' PGPORT=" . $plain->port
	  . " make installcheck OBSERVA_SERVER=running PG_CONFIG='$root/usr/lib/postgresql/$major/bin/pg_config'"
	  . " > '$tmp/running.log' 2>&1");
$log = slurp_file("$tmp/running.log");
isnt($rc, 0, 'make installcheck OBSERVA_SERVER=running refuses a server without observa preloaded');
like($log, qr/does not preload observa/, '... saying so');
unlike($log, qr/\.\.\. (ok|FAILED)/, '... before any test ran');
$plain->stop;

done_testing();

# Release metadata, checked against the rules of the PGXN Meta Spec 1.0.0
# (https://pgxn.org/spec/): the required keys and their types, SemVer
# versions (the control file's "X.Y" is "X.Y.0"), a maintainer with an
# e-mail address, a known license, prereqs by phase and relation, tags and
# resources; plus the Debian changelog's version and the layout rule that
# every expected output lives in test/expected.  No server is needed.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;
use JSON::PP;

my $src = observa_src();
my $version = observa_default_version();
(my $semver = $version) =~ s/^(\d+\.\d+)$/$1.0/;
my $meta = decode_json(slurp_file("$src/META.json"));

# SemVer 2.0.0, as PGXN reads it: no leading zeros, optional pre-release
my $semver_re = qr/^(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;
# a "term": at least two characters, no whitespace, slash, backslash or control character
my $term_re = qr{^[^\s/\\\x00-\x1f]{2,}$};
my %licenses = map { $_ => 1 } qw(agpl_3 apache_1_1 apache_2_0 artistic_1 artistic_2 bsd
  freebsd gfdl_1_2 gfdl_1_3 gpl_1 gpl_2 gpl_3 lgpl_2_1 lgpl_3_0 mit mozilla_1_0 mozilla_1_1
  openssl perl_5 postgresql qpl_1_0 ssleay sun zlib open_source restricted unrestricted unknown);
my %known = map { $_ => 1 } qw(name abstract description version maintainer license
  provides meta-spec prereqs release_status resources generated_by tags no_index);

like($semver, $semver_re, "the control file's version maps to SemVer ($version -> $semver)");
for my $k (qw(name abstract maintainer license provides meta-spec version))
{
	ok(exists $meta->{$k}, "required key $k is there");
}
my @unknown = grep { !$known{$_} && !/^[xX]_/ } keys %$meta;
is_deeply(\@unknown, [], 'no key outside the spec (custom keys start with x_)');
like($meta->{name}, $term_re, 'name is a term');
is($meta->{name}, 'observa', 'name is observa');
ok(!ref $meta->{abstract} && length $meta->{abstract}, 'abstract is a string');
like($meta->{version}, $semver_re, "version ($meta->{version}) is SemVer");
is($meta->{version}, $semver, 'version is the control file version in SemVer');
is(ref $meta->{'meta-spec'}, 'HASH', 'meta-spec is an object');
is($meta->{'meta-spec'}{version}, '1.0.0', 'meta-spec version 1.0.0');
like($meta->{'meta-spec'}{url} // '', qr{^https?://pgxn\.org/meta/spec\.txt$}, 'meta-spec url');

my @maint = ref $meta->{maintainer} ? @{ $meta->{maintainer} } : ($meta->{maintainer});
ok(@maint >= 1, 'at least one maintainer');
for my $m (@maint)
{
	like($m, qr/^[^<>]+ <[^<>@\s]+@[^<>@\s]+\.[^<>@\s]+>$/, "maintainer \"$m\" has a name and an e-mail address");
}
my @lic = ref $meta->{license} eq 'HASH' ? keys %{ $meta->{license} }
  : ref $meta->{license} ? @{ $meta->{license} } : ($meta->{license});
ok(@lic && !grep({ !$licenses{$_} } @lic), 'license is one the spec knows (' . join(',', @lic) . ')');

is(ref $meta->{provides}, 'HASH', 'provides is an object');
ok(exists $meta->{provides}{observa}, 'provides the extension observa');
for my $ext (sort keys %{ $meta->{provides} })
{
	my $p = $meta->{provides}{$ext};
	like($ext, $term_re, "provides.$ext is a term");
	like($p->{version} // '', $semver_re, "provides.$ext.version is SemVer");
	is($p->{version}, $semver, "provides.$ext.version is the control file version");
	ok(defined $p->{file} && -f "$src/$p->{file}", "provides.$ext.file ($p->{file}) exists");
	ok(!defined $p->{docfile} || -f "$src/$p->{docfile}", "provides.$ext.docfile exists");
}

if (exists $meta->{prereqs})
{
	my %phases = map { $_ => 1 } qw(configure build test runtime develop);
	my %rels = map { $_ => 1 } qw(requires recommends suggests conflicts);
	for my $ph (sort keys %{ $meta->{prereqs} })
	{
		ok($phases{$ph}, "prereqs phase $ph is one of the spec's");
		for my $rel (sort keys %{ $meta->{prereqs}{$ph} })
		{
			ok($rels{$rel}, "prereqs.$ph relation $rel is one of the spec's");
			for my $dep (sort keys %{ $meta->{prereqs}{$ph}{$rel} })
			{
				my $v = $meta->{prereqs}{$ph}{$rel}{$dep};
				# "0" (any), a SemVer, or comparisons joined by commas
				my $ok = $v eq '0' || !grep {
					(my $x = $_) =~ s/^\s*(?:[<>]=?|==|!=)?\s*//;
					$x =~ s/\s+$//;
					$x !~ $semver_re
				} split /,/, $v;
				ok($ok, "prereqs.$ph.$rel.$dep ($v) is a version or version range");
			}
		}
	}
	is($meta->{prereqs}{runtime}{requires}{PostgreSQL}, '15.0.0',
		'it requires PostgreSQL 15 (the version tested)');
}
if (exists $meta->{tags})
{
	for my $t (@{ $meta->{tags} })
	{
		ok(length($t) >= 2 && length($t) <= 255 && $t !~ m{[/\\\x00-\x1f]}, "tag \"$t\" is valid");
	}
}
if (exists $meta->{release_status})
{
	like($meta->{release_status}, qr/^(stable|testing|unstable)$/, 'release_status is valid');
}
for my $r (sort keys %{ $meta->{resources} // {} })
{
	ok(grep({ $_ eq $r } qw(homepage bugtracker repository)), "resources.$r is one of the spec's");
	my $v = $meta->{resources}{$r};
	for my $u (ref $v ? grep { $_ ne 'type' } sort keys %$v : ())
	{
		like($v->{$u}, $u eq 'mailto' ? qr/^[^@\s]+@\S+$/ : qr{^https?://\S+$}, "resources.$r.$u is a URI");
	}
}

# the Debian package has the same version
my ($deb_version) = slurp_file("$src/debian/changelog") =~ /^observa \(([^)]+)\)/;
is($deb_version, $semver, 'debian/changelog has the same version');

# expected outputs live in one place
ok(!-e "$src/expected", 'no top-level expected/ directory (every expected output is in test/expected)');
for my $t (glob("$src/test/sql/*.sql"), glob("$src/test/specs/*.spec"))
{
	(my $name = $t) =~ s{.*/([^/]+)\.(?:sql|spec)$}{$1};
	ok(-f "$src/test/expected/$name.out", "test/expected/$name.out exists");
}
done_testing();

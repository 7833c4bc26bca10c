# ObservaTest: the one preamble of observa's TAP tests.
#
#   use lib 'test/t/lib';    # (prove -I test/t/lib does this too)
#   use ObservaTest;
#   my $node = observa_node('name', "observa.window = 2s\n");
#
# observa_node() initialises a PostgreSQL::Test::Cluster node with observa
# preloaded and compute_query_id on, appends the extra postgresql.conf
# lines, starts it and runs CREATE EXTENSION observa in database postgres.
# A hash of options as the third argument changes that:
#   create_extension => 0       do not create the extension
#   extension_version => '1.0'  CREATE EXTENSION observa VERSION '1.0'
#   preload => 'a,b'            shared_preload_libraries (default observa)
#   init => { ... }             arguments of PostgreSQL::Test::Cluster::init
#   install_path => DIR         run the server binaries of DIR/bin (a
#                               PostgreSQL copy with a package unpacked)
#   start => 0                  configure only; the test starts the node
#
# observa_src() is the source tree (for fixtures and integrations/),
# observa_default_version() the default_version of observa.control, and
# observa_require_commands('prometheus', ...) skips the whole test file,
# saying which command is missing, when an optional tool is not installed.
#
# Every module here only starts throwaway nodes under the test's tmp_check
# directory; nothing outside it is changed.
package ObservaTest;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(observa_node observa_src observa_default_version
  observa_require_commands observa_command_path);

sub observa_src
{
	return $ENV{OBSERVA_SRC} // '.';
}

sub observa_default_version
{
	my $control = observa_src() . '/observa.control';
	open(my $fh, '<', $control) or die "cannot read $control: $!";
	while (my $line = <$fh>)
	{
		return $1 if $line =~ /^default_version\s*=\s*'([^']+)'/;
	}
	die "no default_version in $control";
}

# The path of an executable, looked up in PATH and in the directories
# Debian installs daemons to, or undef.
sub observa_command_path
{
	my ($cmd) = @_;
	for my $dir (split(/:/, $ENV{PATH} // ''), '/usr/sbin', '/usr/bin', '/sbin', '/bin')
	{
		return "$dir/$cmd" if $dir ne '' && -x "$dir/$cmd" && !-d "$dir/$cmd";
	}
	return undef;
}

# Skip the whole test file, with the reason, unless every command exists.
# Each argument is a command name or an array ref of alternatives (the
# first one found counts).
sub observa_require_commands
{
	my @missing;
	for my $want (@_)
	{
		my @alts = ref $want ? @$want : ($want);
		push @missing, join(' or ', @alts)
		  unless grep { defined observa_command_path($_) } @alts;
	}
	plan skip_all => 'optional tool not installed: ' . join(', ', @missing)
	  if @missing;
	return;
}

sub observa_node
{
	my ($name, $extra, $opts) = @_;
	$opts //= {};
	my $node = PostgreSQL::Test::Cluster->new($name,
		defined $opts->{install_path} ? (install_path => $opts->{install_path}) : ());
	$node->init(%{ $opts->{init} // {} });
	my $preload = $opts->{preload} // 'observa';
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = '$preload'
compute_query_id = on
});
	$node->append_conf('postgresql.conf', $extra) if defined $extra;
	return $node if defined $opts->{start} && !$opts->{start};
	$node->start;
	if ($opts->{create_extension} // 1)
	{
		my $version = $opts->{extension_version};
		$node->safe_psql('postgres',
			'CREATE EXTENSION observa'
			  . (defined $version ? " VERSION '$version'" : ''));
	}
	return $node;
}

1;

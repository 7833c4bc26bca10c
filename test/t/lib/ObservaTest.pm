# ObservaTest: the one preamble of observa's TAP tests.
#
#   use lib 'test/t/lib';    # (prove -I test/t/lib does this too)
#   use ObservaTest;
#   my $node = observa_node('name', "observa.window = 2s\n");
#
# observa_node() initialises a PostgreSQL::Test::Cluster node with observa
# preloaded and compute_query_id on, appends the extra postgresql.conf
# lines, starts it and runs CREATE EXTENSION observa in database postgres
# (pass { create_extension => 0 } as a third argument to skip that).
# observa_src() is the source tree (for fixtures).
package ObservaTest;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;

our @EXPORT = qw(observa_node observa_src);

sub observa_src
{
	return $ENV{OBSERVA_SRC} // '.';
}

sub observa_node
{
	my ($name, $extra, $opts) = @_;
	$opts //= {};
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%{ $opts->{init} // {} });
	my $preload = $opts->{preload} // 'observa';
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = '$preload'
compute_query_id = on
});
	$node->append_conf('postgresql.conf', $extra) if defined $extra;
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION observa')
	  if $opts->{create_extension} // 1;
	return $node;
}

1;

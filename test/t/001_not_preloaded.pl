# Without shared_preload_libraries, CREATE EXTENSION observa still works,
# and every observa view and function refuses with a hint naming
# shared_preload_libraries: no crash, no silent empty result.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;

my $node = observa_node('not_preloaded', undef, { preload => '', create_extension => 0 });

my ($rc, $out, $err) = $node->psql('postgres', 'CREATE EXTENSION observa');
is($rc, 0, 'CREATE EXTENSION works without the preload');

# every view of the schema
my @views = split /\n/, $node->safe_psql('postgres',
	q{SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	  WHERE n.nspname = 'observa' AND c.relkind = 'v' ORDER BY 1});
ok(scalar(@views) >= 1, 'the extension has views: ' . join(',', @views));
foreach my $v (@views)
{
	($rc, $out, $err) = $node->psql('postgres', "SELECT * FROM observa.$v");
	isnt($rc, 0, "observa.$v fails without the preload");
	like($err, qr/must be loaded via shared_preload_libraries/, "observa.$v says why");
	like($err, qr/HINT:.*shared_preload_libraries/, "observa.$v hints at the fix");
}

# every C function of the schema, called with NULL-free dummy arguments
# where it has none; functions with arguments are called with NULLs, which
# STRICT functions answer with NULL and others must refuse clearly.
my @funcs = split /\n/, $node->safe_psql('postgres',
	q{SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
	  WHERE n.nspname = 'observa' AND p.pronargs = 0 AND p.prokind = 'f' ORDER BY 1});
foreach my $f (@funcs)
{
	(my $call = $f) =~ s/\(\)$//;
	($rc, $out, $err) = $node->psql('postgres', "SELECT * FROM $call()");
	isnt($rc, 0, "$f fails without the preload");
	like($err, qr/shared_preload_libraries/, "$f names shared_preload_libraries");
}

# the backend survived all of it
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'server still answers');
($rc, $out, $err) = $node->psql('postgres', q{LOAD 'observa'; SELECT 1});
is($rc, 0, 'LOAD observa outside the preload is harmless');

$node->stop;
done_testing();

# The layers of docs/architecture.md, checked on the built objects: for
# every object, the symbols it uses (nm: U) are looked up among the
# symbols the other objects define (T, D, B, R), and a use must point at a
# layer the object's layer may call.  Also: no two objects call each other
# through any chain (no import circle), every object belongs to a layer
# (a new file must be placed), hooks.o and observa.o reach the rooms only
# through the room table, and the base layer calls nothing of observa's.
use strict;
use warnings;
use Test::More;
use File::Find;
use lib 'test/t/lib';
use ObservaTest;

my $src = observa_src();

# object (relative to src/) -> layer
my %layer_of = (
	'core.o'      => 'base',
	'persist.o'   => 'base',
	'relations.o' => 'base',
	'sandbox.o'   => 'base',
	'utility_id.o' => 'base',
	'guard.o'     => 'base',
	'io_counters.o' => 'base',
	'histogram.o' => 'store',
	'store.o'     => 'store',
	'table_stats.o'     => 'room',
	'statement_stats.o' => 'room',
	'tenant_stats.o'    => 'room',
	'query_text.o'      => 'room',
	'slow_ring.o'       => 'room',
	'slow_sql.o'        => 'room',
	'regressions.o'     => 'room',
	'rooms.o'     => 'table',
	'hooks.o'     => 'hooks',
	'observa.o'   => 'entry',
);
# every file of the advisor is a room file
my %may_call = (
	base  => [qw(base)],
	store => [qw(store base)],
	room  => [qw(room store base)],
	table => [qw(room)],
	hooks => [qw(table base)],
	entry => [qw(hooks table store base)],
);

my @objs;
find(sub { push @objs, $File::Find::name if /\.o$/ }, "$src/src");
@objs = sort @objs;
ok(scalar(@objs) >= 10, 'found the built objects (' . scalar(@objs) . ')');

my (%defs, %undef);
foreach my $o (@objs)
{
	(my $rel = $o) =~ s{^\Q$src\E/src/}{};
	foreach my $line (split /\n/, `nm '$o'`)
	{
		my @p = split ' ', $line;
		if (@p == 3 && $p[1] =~ /^[TDBR]$/) { $defs{ $p[2] } //= $rel; }
		elsif (@p == 2 && $p[0] eq 'U') { $undef{$rel}{ $p[1] } = 1; }
	}
}

my @rels = map { (my $r = $_) =~ s{^\Q$src\E/src/}{}; $r } @objs;
my @unplaced;
foreach my $r (@rels)
{
	$layer_of{$r} //= 'room' if $r =~ m{^advisor/};
	push @unplaced, $r unless defined $layer_of{$r};
}
is(join(' ', @unplaced), '', 'every object belongs to a layer');

# calls between objects
my (%edge, @upward);
foreach my $r (@rels)
{
	next unless defined $layer_of{$r};
	my %allowed = map { $_ => 1 } @{ $may_call{ $layer_of{$r} } };
	foreach my $sym (sort keys %{ $undef{$r} // {} })
	{
		my $to = $defs{$sym};
		next unless defined $to && $to ne $r && defined $layer_of{$to};
		$edge{$r}{$to} = 1;
		push @upward, "$r ($layer_of{$r}) uses $sym of $to ($layer_of{$to})"
		  unless $allowed{ $layer_of{$to} };
	}
}
is(join("\n", @upward), '', 'no object calls a layer it may not call')
  or diag(join("\n", @upward));

# no circle: an object reaching itself through its calls
my @circle;
foreach my $r (@rels)
{
	my %seen;
	my @todo = keys %{ $edge{$r} // {} };
	while (my $w = pop @todo)
	{
		next if $seen{$w}++;
		push @todo, keys %{ $edge{$w} // {} };
	}
	push @circle, $r if $seen{$r};
}
is(join(' ', @circle), '', 'no import circle between the objects');

# the base layer and the store know no room
my @base_up = grep { m{^(core|persist|relations|sandbox|utility_id|guard|io_counters|histogram|store)\.o } } @upward;
is(scalar(@base_up), 0, 'base and store call nothing above them');

# hooks.o and observa.o name no room: their uses of room objects go
# through the room table
my @direct = grep { $layer_of{$_} eq 'room' }
  map { keys %{ $edge{$_} // {} } } qw(hooks.o);
is(join(' ', @direct), '', 'hooks.o reaches the rooms only through the room table');
ok(!grep({ m{^(table_stats|statement_stats|tenant_stats|query_text|slow_ring)\.o$} } keys %{ $edge{'observa.o'} // {} }),
	'observa.o calls no room directly');
ok($edge{'hooks.o'}{'rooms.o'}, 'hooks.o uses the room table');

done_testing();

# Snapshots survive pg_dump / pg_restore (their tables are extension
# configuration tables) and a restart; compare() works on the restored
# copy; a role without privileges can neither take nor read snapshots.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;

my $node = observa_node('snapdump');
$node->safe_psql('postgres', q{
CREATE TABLE sd (id int PRIMARY KEY, v int);
INSERT INTO sd SELECT g, g FROM generate_series(1, 100) g;
});
$node->safe_psql('postgres', join('', map { "SELECT v FROM sd WHERE id = $_;\n" } 1 .. 10));
$node->safe_psql('postgres', q{SELECT observa.snapshot('before')});
$node->safe_psql('postgres', join('', map { "SELECT v FROM sd WHERE id = $_;\n" } 11 .. 14));
$node->safe_psql('postgres', q{SELECT observa.snapshot('after')});

my $cmp_sql = q{SELECT calls_a || ' ' || calls_b || ' ' || calls_delta FROM observa.compare('before', 'after')
                 WHERE kind = 'table' AND relname = 'sd' AND operation = 'SELECT'};
my $cmp = $node->safe_psql('postgres', $cmp_sql);
is($cmp, '10 14 4', 'compare(before, after): 10, then 14 calls, 4 between');
my $rows = $node->safe_psql('postgres',
	q{SELECT (SELECT count(*) FROM observa.snapshot_table_stats) || '/' || (SELECT count(*) FROM observa.snapshot_statement_stats)});

# dump and restore into another database
my $dump = $node->basedir . '/snap.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('postgres'), '-f', $dump ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'pg_restore', '-d', $node->connstr('restored'), $dump ], 'pg_restore');
is($node->safe_psql('restored', q{SELECT string_agg(label, ',' ORDER BY taken_at) FROM observa.snapshots}),
	'before,after', 'the restored database has both snapshots');
is($node->safe_psql('restored',
	q{SELECT (SELECT count(*) FROM observa.snapshot_table_stats) || '/' || (SELECT count(*) FROM observa.snapshot_statement_stats)}),
	$rows, 'with all their rows');
is($node->safe_psql('restored', $cmp_sql), '10 14 4', 'compare() on the restored copy gives the same answer');

# a restart keeps them (they are ordinary tables)
$node->restart;
is($node->safe_psql('postgres', q{SELECT count(*) FROM observa.snapshots}), '2', 'snapshots survive a restart');

# privileges: a plain role cannot write or read snapshots; pg_monitor reads
$node->safe_psql('postgres', q{CREATE ROLE plain LOGIN; CREATE ROLE mon LOGIN IN ROLE pg_monitor});
my ($rc, $out, $err) = $node->psql('postgres', q{SELECT observa.snapshot('mine')}, extra_params => [ '-U', 'plain' ]);
like($err, qr/permission denied for function snapshot/, 'a plain role cannot take a snapshot');
($rc, $out, $err) = $node->psql('postgres', q{SELECT * FROM observa.snapshot_statement_stats}, extra_params => [ '-U', 'plain' ]);
like($err, qr/permission denied/, 'nor read the stored statements');
($rc, $out, $err) = $node->psql('postgres', q{SELECT observa.drop_snapshot('before')}, extra_params => [ '-U', 'mon' ]);
like($err, qr/permission denied for function drop_snapshot/, 'pg_monitor cannot drop a snapshot');
($rc, $out, $err) = $node->psql('postgres', $cmp_sql, extra_params => [ '-U', 'mon' ]);
is($out, '10 14 4', 'pg_monitor compares snapshots');
$node->safe_psql('postgres', q{GRANT EXECUTE ON FUNCTION observa.snapshot(text) TO mon});
($rc, $out, $err) = $node->psql('postgres', q{SELECT observa.snapshot('by_mon') IS NOT NULL}, extra_params => [ '-U', 'mon' ]);
is($out, 't', 'a role granted EXECUTE on snapshot() takes snapshots');

$node->stop;
done_testing();

# Saved files are read with bounded memory and never trusted: a file with
# more entries than the store now holds loads what fits; a file whose entry
# count is hostile (but whose CRC is valid) and a file larger than 1 GB are
# ignored; each start-up writes exactly one LOG line for the file and the
# server comes up.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 'test/t/lib';
use ObservaTest;

my $node = observa_node('persist_bounds', "observa.max_entries = 1000\n");
my $file = $node->data_dir . '/pg_stat/observa_table_stats.stat';

# 300 tables, one SELECT each: 300 table_stats entries
$node->safe_psql('postgres', q{
DO $$ BEGIN FOR i IN 1..300 LOOP EXECUTE format('CREATE TABLE pb_%s (a int)', i); END LOOP; END $$;
SELECT observa.reset();
});
$node->safe_psql('postgres', join('', map { "SELECT count(*) FROM pb_$_;\n" } 1 .. 300));

sub entries
{
	return $node->safe_psql('postgres',
		q{SELECT count(*) || '/' || coalesce(sum(calls) FILTER (WHERE relname LIKE 'pb\_%'), 0) FROM observa.table_stats});
}

sub log_lines
{
	my ($from) = @_;
	my $log = slurp_file($node->logfile);
	my @l = substr($log, $from) =~ /(observa: table_stats statistics file [^\n]*)/g;
	return @l;
}

ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 300 FROM observa.table_stats WHERE relname LIKE 'pb\_%'}),
	'300 entries recorded');

# 1. more entries saved than the store holds now: 100 are loaded
# (the file also holds the entries of the reads above: observa's views)
$node->stop('fast');
ok(-e $file, 'a clean stop writes the file');
my $good = slurp_file($file);
my $saved = unpack('q', substr($good, 24, 8));
cmp_ok($saved, '>=', 300, "the file holds the 300 entries ($saved)");
$node->append_conf('postgresql.conf', 'observa.max_entries = 100');
my $from = -s $node->logfile;
$node->start;
like(entries(), qr{^100/}, 'a file of 300 entries fills the 100 entries of the smaller store');
my @lines = log_lines($from);
is(scalar(@lines), 1, 'one LOG line');
like($lines[0] // '', qr/loaded 100 of $saved entries/, 'which says how many were loaded');
$node->stop('fast');

# CRC-32C (Castagnoli), as PostgreSQL computes it
my @table;
for my $i (0 .. 255)
{
	my $c = $i;
	$c = ($c & 1) ? (($c >> 1) ^ 0x82F63B78) : ($c >> 1) for 1 .. 8;
	$table[$i] = $c;
}
sub crc32c
{
	my $crc = 0xFFFFFFFF;
	$crc = $table[($crc ^ $_) & 0xFF] ^ ($crc >> 8) for unpack('C*', $_[0]);
	return $crc ^ 0xFFFFFFFF;
}

# the header: magic, file format, pg major, format, layout, record size
# (six uint32; 0: records of variable length), then the record count
# (int64 at offset 24)
my ($magic) = unpack('L', $good);
is($magic, 0x4F425356, 'the file starts with the observa magic');
my $payload = substr($good, 0, length($good) - 4);
is(unpack('L', substr($good, -4)), crc32c($payload), 'the CRC-32C of the file is what this test computes');

# 2. hostile counts, CRC recomputed so that only the count is wrong
my %hostile = (
	'huge'     => 2**62,
	'wrapping' => int(2**64 / 1000) + $saved,
	'negative' => -5,
	'one more' => $saved + 1,
);
foreach my $kind (sort keys %hostile)
{
	my $bad = $payload;
	substr($bad, 24, 8) = pack('q', $hostile{$kind});
	$bad .= pack('L', crc32c($bad));
	open(my $fh, '>', $file) or die;
	binmode $fh;
	print $fh $bad;
	close $fh;
	$from = -s $node->logfile;
	$node->start;
	is(entries(), '0/0', "a $kind entry count with a valid CRC is ignored");
	@lines = log_lines($from);
	is(scalar(@lines), 1, "one LOG line for the $kind count");
	like($lines[0] // '', qr/ignored: truncated or wrong length/, "which says why ($kind)");
	ok(!-e $file, "the $kind file is removed");
	$node->stop('fast');
}

# 3. a file larger than 1 GB (sparse): a whole-file read would fail to
# allocate and stop every start-up; it is rejected without being read
open(my $fh, '>', $file) or die;
binmode $fh;
print $fh $good;
truncate($fh, 1100 * 1024 * 1024) or die "truncate: $!";
close $fh;
$from = -s $node->logfile;
$node->start;
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server starts with a saved file of 1.1 GB');
is(entries(), '0/0', 'the oversized file is ignored');
@lines = log_lines($from);
is(scalar(@lines), 1, 'one LOG line for the oversized file');
like($lines[0] // '', qr/ignored: (truncated or wrong length|checksum mismatch)/, 'which says why');
ok(!-e $file, 'the oversized file is removed');
$node->stop;

done_testing();

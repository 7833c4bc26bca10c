# observa.index_hygiene() and standbys: each server counts its own index
# scans.  An index scanned only on a standby is "unused" on the primary,
# and the reason says that a standby's scans are not counted there (and how
# many standbys are connected); on the standby the scanned index is not
# listed, and the reason of an unused one says that the primary's scans
# are not counted on a standby.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;

my $primary = observa_node('hyg_primary', undef, { init => { allows_streaming => 1 } });
$primary->safe_psql('postgres', q{
CREATE TABLE s (a int, b int);
INSERT INTO s SELECT g, g FROM generate_series(1, 5000) g;
CREATE INDEX s_a ON s (a);
CREATE INDEX s_b ON s (b);
ANALYZE s;
});
$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('hyg_standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby);

# scan s_a on the standby only
$standby->safe_psql('postgres', q{
SET enable_seqscan = off; SET enable_bitmapscan = off;
SELECT count(*) FROM s WHERE a = 7;
SELECT pg_stat_force_next_flush();
});
is($standby->safe_psql('postgres', q{SELECT idx_scan > 0 FROM pg_stat_user_indexes WHERE indexrelname = 's_a'}),
	't', 'the standby counted its scan of s_a');
is($primary->safe_psql('postgres', q{SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 's_a'}),
	'0', 'the primary did not');

my $row = $primary->safe_psql('postgres',
	q{SELECT kind || '|' || reason FROM observa.index_hygiene() WHERE indexname = 's_a'});
like($row, qr/^unused\|/, 'on the primary, s_a (scanned only on the standby) is listed as unused');
like($row, qr/Scans on a standby are counted only on that standby, not here/,
	'the reason says that a standby\'s scans are not counted on the primary');
like($row, qr/\(1 connected now\)/, 'and how many standbys are connected');

is($standby->safe_psql('postgres',
		q{SELECT count(*) FROM observa.index_hygiene() WHERE indexname = 's_a'}),
	'0', 'on the standby, s_a is scanned and not listed');
like($standby->safe_psql('postgres',
		q{SELECT reason FROM observa.index_hygiene() WHERE indexname = 's_b'}),
	qr/This server is a standby: scans on the primary and on other standbys are not counted here/,
	'on the standby, the reason of an unused index says the primary\'s scans are not counted there');

$standby->stop;
$primary->stop;
done_testing();

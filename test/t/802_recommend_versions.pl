# recommend_indexes() gained "replaces", "write_overhead" and
# "update_overhead_pct" in 1.1.  The new library still serves a 1.0
# installation its 13 columns until ALTER EXTENSION UPDATE, then 16; a
# declaration whose columns match neither entry point
# is refused with a hint instead of returning misaligned rows.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;

my $node = observa_node('rec_versions', "observa.advisor_sample_rate = 1.0\n",
	{ create_extension => 0 });
$node->safe_psql('postgres', q{
CREATE EXTENSION observa VERSION '1.0';
CREATE TABLE u (id int PRIMARY KEY, tenant_id int, v int, pad text);
INSERT INTO u SELECT g, g % 50, g, repeat('x', 50) FROM generate_series(1, 50000) g;
CREATE INDEX u_tenant ON u (tenant_id);
ANALYZE u;
});
# (the setup's INSERT is not part of the workload: its write cost would
# outweigh two reads)
my $workload = q{
SELECT observa.reset_advisor();
SELECT id FROM u WHERE tenant_id = 7 ORDER BY v DESC LIMIT 10;
SELECT id FROM u WHERE tenant_id = 9 ORDER BY v DESC LIMIT 10;
};
$node->safe_psql('postgres', $workload);

is($node->safe_psql('postgres',
		q{SELECT count(*) FROM json_object_keys((SELECT row_to_json(r) FROM observa.recommend_indexes() r LIMIT 1))}),
	'13', '1.0: recommend_indexes() returns 13 columns from the 1.1 library');

$node->safe_psql('postgres', q{ALTER EXTENSION observa UPDATE TO '1.1'});
$node->safe_psql('postgres', $workload);
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM json_object_keys((SELECT row_to_json(r) FROM observa.recommend_indexes() r LIMIT 1))}),
	'16', '1.1: recommend_indexes() returns 16 columns');
is($node->safe_psql('postgres',
		q{SELECT replaces::text FROM observa.recommend_indexes() WHERE relname = 'u'}),
	'{u_tenant}', 'after the upgrade, the recommendation names the index it replaces');

# a declaration with the wrong column count: refused, not misread
$node->safe_psql('postgres', q{
CREATE FUNCTION public.bad_recommend(OUT a text, OUT b text) RETURNS SETOF record
AS '$libdir/observa', 'observa_recommend_indexes_1_1' LANGUAGE C STRICT;
});
my ($rc, $out, $err) = $node->psql('postgres', 'SELECT * FROM public.bad_recommend()');
isnt($rc, 0, 'a mismatched declaration fails');
like($err, qr/ERROR:  observa function bad_recommend\(\) is declared with 2 result columns, but the library.s entry point returns 16/,
	'with a message naming both column counts');
like($err, qr/HINT:  Run ALTER EXTENSION observa UPDATE/, 'and a hint');

$node->stop;
done_testing();

# The slow-query ring keeps texts, parameters, plans and errors in a byte
# arena sized by observa.slow_query_memory: with 64 kB and 200 slow
# statements of about 1 kB of text each, the newest entries keep their
# text, the oldest lose it (query NULL) but keep every other field, and no
# entry ever shows another statement's text.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 'test/t/lib';
use ObservaTest;

my $node = observa_node('slow_arena',
	"observa.slow_query_memory = 64kB\nobserva.slow_query_threshold = 0\nobserva.slow_query_text_limit = 2000\n");
is(rd(q{SELECT value FROM observa.info WHERE section = 'slow_queries' AND name = 'arena_bytes'}),
	'65536', 'the arena has the size asked for');
rd('SELECT observa.reset_slow_queries()');

# statement i: "SELECT <i>, '<i repeated>'" padded to about 1 kB
my $sql = '';
for my $i (1 .. 200)
{
	my $pad = "s$i-" x int(1000 / length("s$i-"));
	$sql .= "SELECT $i AS n, '$pad' AS pad;\n";
}
$node->safe_psql('postgres', $sql);

# reads are not timed, so they are not slow statements of the ring
sub rd
{
	return $node->safe_psql('postgres', "SET observa.track = 'none';\n" . $_[0]);
}

my ($with, $without, $wrong) = split /\|/, rd(q{
	WITH e AS (SELECT query, substring(query FROM 'SELECT (\d+) AS n') AS n
	             FROM observa.slow_queries WHERE operation = 'SELECT' AND rows = 1
	            ORDER BY seq DESC LIMIT 200)
	SELECT count(*) FILTER (WHERE query IS NOT NULL),
	       count(*) FILTER (WHERE query IS NULL),
	       count(*) FILTER (WHERE query IS NOT NULL
	                          AND position('''s' || n || '-s' || n || '-' IN query) = 0)
	  FROM e});
ok($with > 0 && $with < 200, "the newest entries keep their text ($with)");
ok($without > 0, "the oldest lost it to newer ones ($without)");
is($with + $without, 200, 'every statement has its entry');
is(rd(q{
	SELECT count(*) FROM (SELECT query FROM observa.slow_queries WHERE operation = 'SELECT' AND rows = 1
	                       ORDER BY seq DESC LIMIT 200) e
	 WHERE query IS NOT NULL AND query NOT LIKE 'SELECT % AS n, %'}),
	'0', 'the 200 newest are the statements run');
is($wrong, '0', 'no entry shows another statement\'s text');
is(rd(q{
	SELECT query LIKE 'SELECT 200 AS n%' FROM observa.slow_queries
	 WHERE operation = 'SELECT' AND rows = 1 ORDER BY seq DESC LIMIT 1}),
	't', 'the newest entry has its own text');
is(rd(q{
	SELECT bool_and(duration_ms >= 0 AND username IS NOT NULL AND pid > 0)
	  FROM observa.slow_queries WHERE query IS NULL}),
	't', 'entries without their bytes keep their other fields');
$node->stop;
done_testing();

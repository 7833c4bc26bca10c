# The text store is bounded: texts longer than observa.max_query_text are
# cut at a character boundary and end with "...", and with more distinct
# statements than observa.max_query_texts the least recently used texts are
# evicted (counted in observa.info) while a statement in use keeps its text.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;

my $node = observa_node('qt_limits', q{
observa.max_query_text = 64
observa.max_query_texts = 20
restart_after_crash = on
}, { init => { extra => [ '--encoding=UTF8', '--locale=C' ] } });
$node->safe_psql('postgres', <<'SQL');
CREATE FUNCTION qid(q text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE l text;
BEGIN
    FOR l IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || q LOOP
        IF l LIKE 'Query Identifier:%' THEN
            RETURN substring(l FROM '(-?[0-9]+)$')::bigint;
        END IF;
    END LOOP;
    RETURN NULL;
END $$;
SQL

sub info
{
	my ($name) = @_;
	return $node->safe_psql('postgres',
		"SELECT value FROM observa.info WHERE section = 'query_text' AND name = '$name'");
}

is(info('max_query_text'), '64', 'observa.max_query_text is reported');
is(info('capacity'), '20', 'observa.max_query_texts is reported');

# truncation: an ASCII text and texts whose cut falls inside a two-byte
# character, at both parities
my $long = 'SELECT 1 AS a_rather_long_column_alias, 2 AS another_long_column_alias, 3 AS third_one';
$node->safe_psql('postgres', $long);
my $t = $node->safe_psql('postgres', "SELECT observa.statement_text(qid('$long'))");
is($t, 'SELECT $1 AS a_rather_long_column_alias, $2 AS another_long_c...',
	'a long text is cut at 64 bytes and ends with the marker');
for my $pad ('', 'x')
{
	my $q = "SELECT 1 AS \"$pad" . ('é' x 40) . '"';
	$node->safe_psql('postgres', $q);
	my $row = $node->safe_psql('postgres',
		"SELECT octet_length(t) <= 64, t LIKE '%...', convert_from(convert_to(t, 'UTF8'), 'UTF8') = t
		   FROM observa.statement_text(qid(\$q\$$q\$q\$)) t");
	is($row, 't|t|t', "multibyte text cut on a character boundary (pad '$pad')");
}
cmp_ok(info('truncated'), '>=', 3, 'truncated texts are counted');
is($node->safe_psql('postgres', 'SHOW server_encoding'), 'UTF8', 'the multibyte checks ran in UTF8');

# eviction: 60 distinct statements (one more column each) through a store
# of 20, while a "hot" statement keeps running
my $hot = "SELECT count(*) FROM pg_class WHERE relname = 'hot'";
my $sql = '';
for my $k (1 .. 60)
{
	$sql .= 'SELECT ' . join(', ', map { "$_" } 1 .. $k) . ";\n";
	$sql .= "$hot;\n" if $k % 3 == 0;
}
$node->safe_psql('postgres', $sql);

cmp_ok(info('entries'), '<=', 20, 'never more texts than observa.max_query_texts');
cmp_ok(info('evictions'), '>=', 40, 'evictions are counted (' . info('evictions') . ')');
is($node->safe_psql('postgres', q{SELECT observa.statement_text(qid('SELECT 1, 2')) IS NULL}),
	't', 'an old, unused text was evicted');
my $last = 'SELECT ' . join(', ', 1 .. 60);
like($node->safe_psql('postgres', "SELECT observa.statement_text(qid('$last'))"),
	qr/^SELECT \$1, \$2, .*\.\.\.$/, 'the newest text is stored');
is($node->safe_psql('postgres', "SELECT observa.statement_text(qid(\$q\$$hot\$q\$))"),
	'SELECT count(*) FROM pg_class WHERE relname = $1', 'a text in use is not evicted');

# the store keeps working after evictions: a new statement gets its text
$node->safe_psql('postgres', 'SELECT 42 AS fresh');
is($node->safe_psql('postgres', q{SELECT observa.statement_text(qid('SELECT 1 AS fresh'))}),
	'SELECT $1 AS fresh', 'new texts are stored after evictions');

# concurrency: 4 clients run 40 statement shapes through the 20-slot store,
# so lookups, inserts and evictions race; the store stays within bounds and
# keeps serving texts
my @scripts;
for my $k (1 .. 40)
{
	my $f = $node->basedir . "/shape$k.sql";
	open(my $fh, '>', $f) or die $!;
	print $fh 'SELECT ' . join(' + ', map { "$_" } 1 .. $k) . " AS s$k;\n";
	close $fh;
	push @scripts, '-f', $f;
}
$node->command_ok(
	[ 'pgbench', '-n', '-c', '4', '-j', '2', '-t', '150', @scripts, '-p', $node->port, '-h', $node->host, 'postgres' ],
	'pgbench races 40 statement shapes through a store of 20');
cmp_ok(info('entries'), '<=', 20, 'still within observa.max_query_texts after the race');
cmp_ok(info('evictions'), '>', 60, 'the race evicted texts');
my $shape = 'SELECT ' . join(' + ', 1 .. 7) . ' AS s7';
$node->safe_psql('postgres', $shape);
is($node->safe_psql('postgres', "SELECT observa.statement_text(qid('$shape'))"),
	'SELECT ' . join(' + ', map { "\$$_" } 1 .. 7) . ' AS s7', 'texts are still stored and intact');
my $bytes = info('text_bytes');
cmp_ok($bytes, '>', 0, "text_bytes accounted ($bytes)");
cmp_ok($bytes, '<=', 20 * 64, 'text_bytes within entries x max_query_text');

# persistence: a restart keeps the texts (truncation flag included); a
# backend crash, which resets shared memory, brings back nothing stale
$node->safe_psql('postgres', $long);
my $entries = info('entries');
my $ntrunc = info('truncated');
$node->restart;
is($node->safe_psql('postgres', "SELECT observa.statement_text(qid('$shape'))"),
	'SELECT ' . join(' + ', map { "\$$_" } 1 .. 7) . ' AS s7', 'a text survives a clean restart');
is(info('entries'), $entries, 'every text survives a clean restart');
is($node->safe_psql('postgres', "SELECT observa.statement_text(qid('$long'))"),
	'SELECT $1 AS a_rather_long_column_alias, $2 AS another_long_c...',
	'a truncated text comes back with one marker');
is(info('truncated'), $ntrunc, "truncated texts are still counted as such ($ntrunc)");
# the backend kills itself: the postmaster resets shared memory
$node->psql('postgres', q{COPY (SELECT 1) TO PROGRAM 'kill -9 $PPID'});
$node->poll_query_until('postgres', 'SELECT 1', '1') or die 'no restart after the crash';
is($node->safe_psql('postgres', "SELECT observa.statement_text(qid('$shape')) IS NULL"),
	't', 'after a crash no saved texts are reloaded');
cmp_ok(info('entries'), '<', 5, 'the store starts empty after a crash');

$node->stop;
done_testing();

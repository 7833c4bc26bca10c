# Slow-query ring on a 16-slot ring: wrap-around keeps exactly the newest
# entries, pgbench -M prepared parameters are captured, 8 concurrent
# writers wrap the ring many times while a reader checks that every entry's
# fields belong together and none is duplicated, and the log lines.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;
use IPC::Run;

my $node = observa_node('slow_ring', "observa.slow_query_ring_size = 16\n");
$node->safe_psql('postgres', q{
CREATE TABLE w (id int PRIMARY KEY);
INSERT INTO w SELECT generate_series(1, 100);
});

sub info
{
	my ($name) = @_;
	return $node->safe_psql('postgres',
		"SELECT value FROM observa.info WHERE section = 'slow_queries' AND name = '$name'");
}

is(info('capacity'), '16', 'the ring has observa.slow_query_ring_size slots');

# 1. wrap-around: the reset statement itself and 40 numbered statements go
# through a 16-slot ring; exactly the newest 16 (25..40) remain.
my $wrap = "SET observa.slow_query_threshold = 0;\nSELECT observa.reset_slow_queries();\n"
  . join('', map { "SELECT $_ AS wrap_no;\n" } 1 .. 40);
$node->safe_psql('postgres', $wrap);
is( $node->safe_psql('postgres', q{
	SELECT count(*) || ' ' || min(substring(query from '(\d+) AS wrap_no')::int) || ' ' ||
	       max(substring(query from '(\d+) AS wrap_no')::int) || ' ' ||
	       (max(seq) - min(seq))
	  FROM observa.slow_queries}),
	'16 25 40 15', 'wrap-around keeps exactly the newest 16 of 41, consecutive');
is( $node->safe_psql('postgres', q{
	SELECT string_agg(substring(query from '(\d+) AS wrap_no'), ',')
	  FROM observa.slow_queries}),
	join(',', reverse(25 .. 40)), 'newest first');
is(info('slow_queries_captured'), '41', 'captured counts every slow statement since the reset');
is(info('slow_queries_dropped'), '25', 'dropped counts the overwritten ones');
is(info('entries'), '16', 'the ring is full');

# 2. parameters of pgbench -M prepared
my $dir = PostgreSQL::Test::Utils::tempdir;
PostgreSQL::Test::Utils::append_to_file("$dir/prep.sql",
	"\\set id random(1, 100)\nSELECT :id AS prep_marker, id FROM w WHERE id = :id;\n");
$node->safe_psql('postgres', 'SELECT observa.reset_slow_queries()');
{
	local $ENV{PGOPTIONS} = '-c observa.slow_query_threshold=0';
	$node->command_ok(
		[ 'pgbench', '-n', '-c', '2', '-t', '5', '-M', 'prepared', '-f', "$dir/prep.sql", 'postgres' ],
		'pgbench -M prepared runs');
}
is( $node->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE params ~ '^\$1 = ''(\d+)'', \$2 = ''\1''$' AND rows = 1)
	       || '/' || count(*)
	  FROM observa.slow_queries WHERE query LIKE 'SELECT $1 AS prep_marker%'}),
	'10/10', 'every prepared execution kept both its parameters, which agree');

# 3. eight concurrent writers wrap the ring many times while a reader loops.
# Every statement embeds its client, a duration class k (it sleeps k ms and
# returns k rows) and a random tag; the reader checks within each snapshot
# that text, parameters, rows, duration, application name and pid agree.
PostgreSQL::Test::Utils::append_to_file("$dir/simple.sql", q{SET application_name = c:client_id
\set k random(1, 5)
\set u random(1, 1000000000)
SELECT :client_id AS cid, :k AS k, :k * 10 AS k10, :u AS u, pg_sleep(0.001 * :k) FROM generate_series(1, :k);
});
PostgreSQL::Test::Utils::append_to_file("$dir/prepared.sql", q{\set k random(1, 5)
\set u random(1, 1000000000)
SELECT :client_id AS cid, :k AS k, :k AS k2, :u AS u, pg_sleep(0.001 * :k) FROM generate_series(1, :k);
});
$node->safe_psql('postgres', q{
CREATE FUNCTION slow_reader(secs float8, OUT iterations int, OUT seen bigint, OUT bad bigint,
                            OUT dups bigint, OUT split_apps bigint, OUT most int)
LANGUAGE plpgsql AS $$
DECLARE
    stop timestamptz := clock_timestamp() + secs * interval '1 second';
    n bigint; b bigint; d bigint; s bigint;
BEGIN
    iterations := 0; seen := 0; bad := 0; dups := 0; split_apps := 0; most := 0;
    WHILE clock_timestamp() < stop LOOP
        WITH snap AS MATERIALIZED (SELECT * FROM observa.slow_queries),
        simple AS (
            SELECT snap.*, regexp_match(query,
                   '^SELECT (\d+) AS cid, (\d+) AS k, (\d+) \* 10 AS k10, (\d+) AS u, ') AS m
              FROM snap WHERE query LIKE 'SELECT % AS cid, %' AND query NOT LIKE '%$1%'),
        prep AS (
            SELECT snap.*, regexp_match(params,
                   '^\$1 = ''(\d+)'', \$2 = ''(\d+)'', \$3 = ''(\d+)'', \$4 = ''(\d+)'', \$5 = ''(\d+)'', \$6 = ''(\d+)''$') AS m
              FROM snap WHERE query LIKE 'SELECT $1 AS cid, $2 AS k, $3 AS k2, $4 AS u, %'),
        checked AS (
            SELECT pid, application_name, m[4] AS u,
                   m IS NULL OR m[2] <> m[3] OR rows <> m[2]::int OR duration_ms < m[2]::int
                   OR application_name <> 'c' || m[1] OR error IS NOT NULL
                   OR operation <> 'SELECT' AS bad
              FROM simple
            UNION ALL
            SELECT pid, application_name, m[4],
                   m IS NULL OR m[2] <> m[3] OR m[2] <> m[5] OR m[2] <> m[6]
                   OR rows <> m[2]::int OR duration_ms < m[2]::int
                   OR application_name <> 'prep' OR error IS NOT NULL
              FROM prep)
        SELECT count(*), count(*) FILTER (WHERE checked.bad),
               count(*) - count(DISTINCT (pid, u)),
               (SELECT count(*) FROM (SELECT application_name FROM checked
                                       WHERE application_name LIKE 'c%'
                                       GROUP BY 1 HAVING count(DISTINCT pid) > 1) x)
          INTO n, b, d, s FROM checked;
        iterations := iterations + 1;
        seen := seen + n;
        bad := bad + b;
        dups := dups + d;
        split_apps := split_apps + s;
        most := greatest(most, (SELECT count(*) FROM observa.slow_queries)::int);
    END LOOP;
END
$$;
SELECT observa.reset_slow_queries();
});

my @pgbench = ('pgbench', '-n', '-c', '4', '-j', '1', '-T', '5',
	'-h', $node->host, '-p', $node->port, 'postgres');
my ($out1, $err1, $out2, $err2) = ('', '', '', '');
my ($h1, $h2);
{
	local $ENV{PGOPTIONS} = '-c observa.slow_query_threshold=0';
	$h1 = IPC::Run::start([ @pgbench, '-M', 'simple', '-f', "$dir/simple.sql" ],
		'>', \$out1, '2>', \$err1);
	local $ENV{PGAPPNAME} = 'prep';
	$h2 = IPC::Run::start([ @pgbench, '-M', 'prepared', '-f', "$dir/prepared.sql" ],
		'>', \$out2, '2>', \$err2);
}
my $res = $node->safe_psql('postgres',
	q{SELECT iterations || ' ' || seen || ' ' || bad || ' ' || dups || ' ' || split_apps || ' ' || most
	    FROM slow_reader(4)});
ok($h1->finish, 'simple-protocol writers finished') or diag($err1);
ok($h2->finish, 'extended-protocol writers finished') or diag($err2);
my ($iterations, $seen, $bad, $dups, $split, $most) = split / /, $res;
note("reader: $iterations snapshots, $seen marked entries checked");
cmp_ok($iterations, '>', 20, 'the reader took many snapshots');
cmp_ok($seen, '>', 100, 'the reader checked many entries');
is($bad, 0, 'no entry mixes fields of two statements (text, params, rows, duration, application)');
is($dups, 0, 'no entry appears twice in a snapshot');
is($split, 0, 'each client\'s entries carry one pid');
cmp_ok($most, '<=', 16, 'a snapshot never holds more than the ring size');
my $captured = info('slow_queries_captured');
cmp_ok($captured, '>', 10 * 16, "the writers wrapped the ring many times ($captured captured)");
like($out1, qr/number of failed transactions: 0/, 'no simple-protocol transaction failed');
like($out2, qr/number of failed transactions: 0/, 'no extended-protocol transaction failed');

# 4. logging: one line per slow statement, parameters only when asked
my $offset = -s $node->logfile;
$node->psql('postgres', q{
SET observa.slow_query_threshold = '10ms';
SET observa.slow_query_log = 'log';
SELECT pg_sleep(0.02), id AS log_marker FROM w WHERE id = 1;
PREPARE lp(int) AS SELECT pg_sleep(0.02), id AS log_prepared FROM w WHERE id = $1;
EXECUTE lp(5);
SET observa.slow_query_log_params = on;
EXECUTE lp(6);
SET statement_timeout = '30ms';
SELECT pg_sleep(1) AS log_timeout;
});
my $log = slurp_file($node->logfile, $offset);
like($log,
	qr/LOG:  slow query: [\d.]+ ms queryid=-?\d+ operation=SELECT rows=1 tables=w statement: SELECT pg_sleep\(0\.02\), id AS log_marker FROM w WHERE id = 1\n/,
	'a slow statement is logged with duration, queryid, operation, rows, tables and text');
like($log, qr/log_prepared FROM w WHERE id = \$1\n/, 'parameters are not logged by default');
like($log, qr/log_prepared FROM w WHERE id = \$1 parameters: \$1 = '6'\n/,
	'observa.slow_query_log_params adds them');
like($log, qr/slow query: [\d.]+ ms .* sqlstate=57014 statement: SELECT pg_sleep\(1\) AS log_timeout/,
	'a statement failing after the threshold is logged from the error path');

my ($rc, $stdout, $stderr) = $node->psql('postgres', q{
SET observa.slow_query_threshold = '10ms';
SET observa.slow_query_log = 'warning';
SELECT pg_sleep(0.02) AS warn_marker;
});
like($stderr, qr/WARNING:  slow query: [\d.]+ ms .*warn_marker/, 'warning level reaches the client');

$node->stop;
done_testing();

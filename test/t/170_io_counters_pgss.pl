# I/O, WAL, JIT and planning counters next to pg_stat_statements: for
# every statement of a mixed workload (reads that miss the cache, updates,
# a sort that spills to temp, COPY in both directions, a temporary table,
# nested statements, a prepared statement, JIT), observa's buffer, temp,
# WAL, JIT and planning counts equal pg_stat_statements' for the same
# (queryid, userid, dbid, toplevel), in observa.statement_stats and in
# observa.pg_stat_statements; with observa loaded first and last.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;

my $node = observa_node('io_pgss', q{
shared_buffers = 16MB
work_mem = 64kB
track_io_timing = on
jit = on
jit_above_cost = 10000000
jit_inline_above_cost = 10000000
jit_optimize_above_cost = 10000000
observa.track = all
observa.track_planning = on
pg_stat_statements.track = all
pg_stat_statements.track_planning = on
pg_stat_statements.track_utility = on
}, { preload => 'pg_stat_statements,observa', create_extension => 0 });
$node->safe_psql('postgres', 'CREATE EXTENSION observa; CREATE EXTENSION pg_stat_statements');

my $copy_file = $node->basedir . '/io_copy.txt';
$node->safe_psql('postgres', qq{
CREATE TABLE io_big (id int PRIMARY KEY, pad text);
INSERT INTO io_big SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 100000) g;
CREATE TABLE io_copy (id int, pad text);
CREATE FUNCTION io_nested(n int) RETURNS bigint LANGUAGE plpgsql AS \$\$
DECLARE c bigint;
BEGIN
	UPDATE io_big SET pad = pad || 'n' WHERE id <= n;
	SELECT count(*) INTO c FROM io_big WHERE id <= n * 100;
	RETURN c;
END \$\$;
VACUUM ANALYZE io_big;
CHECKPOINT;
});

my $jit = $node->safe_psql('postgres', 'SELECT pg_jit_available()') eq 't';

# the workload: one statement per request (psql sends a script that way)
sub workload
{
	$node->safe_psql('postgres', 'SELECT observa.reset(); SELECT pg_stat_statements_reset()');
	$node->safe_psql('postgres', qq{
SELECT count(*) FROM io_big WHERE pad LIKE '%zz%';
UPDATE io_big SET pad = pad || 'x' WHERE id % 50 = 0;
SELECT id FROM io_big ORDER BY pad DESC LIMIT 5 OFFSET 50000;
COPY (SELECT * FROM io_big WHERE id <= 20000) TO '$copy_file';
COPY io_copy FROM '$copy_file';
DELETE FROM io_copy WHERE id % 3 = 0;
SELECT io_nested(7);
INSERT INTO io_copy SELECT id, pad FROM io_big WHERE id BETWEEN 30000 AND 31000;
CREATE TEMP TABLE io_tmp AS SELECT id, pad FROM io_big WHERE id <= 5000;
UPDATE io_tmp SET pad = 'y' WHERE id % 2 = 0;
SELECT count(*) FROM io_tmp WHERE pad <> 'y';
PREPARE io_p(int) AS SELECT pad FROM io_big WHERE id = \$1;
EXECUTE io_p(1);
EXECUTE io_p(2);
EXECUTE io_p(3);
EXECUTE io_p(4);
EXECUTE io_p(5);
EXECUTE io_p(6);
EXECUTE io_p(7);
SET jit_above_cost = 0;
SELECT sum(length(pad)) FROM io_big WHERE id % 7 = 0;
RESET jit_above_cost;
SELECT count(*) FROM io_big WHERE pad LIKE '%zz%';
});
}

my @ints = qw(calls plans rows shared_blks_hit shared_blks_read shared_blks_dirtied
  shared_blks_written local_blks_hit local_blks_read local_blks_dirtied
  local_blks_written temp_blks_read temp_blks_written wal_records wal_fpi wal_bytes
  jit_functions jit_inlining_count jit_optimization_count jit_emission_count);
my @times = qw(blk_read_time blk_write_time temp_blk_read_time temp_blk_write_time);

# rows of pg_stat_statements for the workload, and how many differ from
# observa's: in the view (pg_stat_statements' names) or in statement_stats
#
# $lookup: observa runs inside pg_stat_statements' hooks, whose counts of
# a utility statement naming a table (COPY io_copy FROM) then include
# observa's lookup of that name before the statement (a few catalog blocks
# when the catalog cache is cold): those rows may show up to 16 more
# shared blocks hit + read in pg_stat_statements, nothing else different
sub compare
{
	my ($label, $lookup) = @_;
	my $ours = 'observa.pg_stat_statements';
	my $pairs = join(', ', map { "p.$_ - o.$_" } @ints);
	my $tpairs = join(' OR ', map { "abs(p.$_ - o.$_) > 1e-6" } @times);
	my $workload = q{p.query !~ 'pg_stat_statements|observa\.' AND p.query !~* '^SET '};
	my $n = $node->safe_psql('postgres', qq{
		SELECT count(*) FROM public.pg_stat_statements p
		  JOIN $ours o USING (userid, dbid, queryid, toplevel) WHERE $workload});
	my $pgss_n = $node->safe_psql('postgres', qq{
		SELECT count(*) FROM public.pg_stat_statements p WHERE $workload});
	is($n, $pgss_n, "$label: every pg_stat_statements row of the workload has an observa row ($n)");
	my $exact = $lookup ? q{AND p.query !~ '^COPY io_copy FROM'} : '';
	my $diff = $node->safe_psql('postgres', qq{
		SELECT string_agg(format('%s [%s]', left(p.query, 50), concat_ws(' ', $pairs)), '; ')
		  FROM public.pg_stat_statements p
		  JOIN $ours o USING (userid, dbid, queryid, toplevel)
		 WHERE $workload $exact
		   AND ((${\ join(', ', map { "p.$_" } @ints)}) IS DISTINCT FROM
		        (${\ join(', ', map { "o.$_" } @ints)}) OR $tpairs)});
	is($diff, '', "$label: buffer, temp, WAL, JIT, plan and I/O-time counters equal pg_stat_statements'");
	if ($lookup)
	{
		my @rest = grep { $_ ne 'shared_blks_hit' && $_ ne 'shared_blks_read' } @ints;
		is($node->safe_psql('postgres', qq{
			SELECT count(*) FILTER (WHERE
			         (p.shared_blks_hit + p.shared_blks_read) - (o.shared_blks_hit + o.shared_blks_read)
			           BETWEEN 0 AND 16
			         AND (${\ join(', ', map { "p.$_" } @rest)}) IS NOT DISTINCT FROM
			             (${\ join(', ', map { "o.$_" } @rest)}))
			       || '/' || count(*)
			  FROM public.pg_stat_statements p
			  JOIN $ours o USING (userid, dbid, queryid, toplevel)
			 WHERE p.query ~ '^COPY io_copy FROM'}),
			'1/1', "$label: COPY FROM a table differs by observa's name lookup only (0 to 16 shared blocks)");
	}

	# the same numbers under observa's own names
	my $named = $node->safe_psql('postgres', q{
		SELECT count(*) FROM observa.statement_stats s
		  JOIN observa.pg_stat_statements o USING (userid, dbid, queryid, toplevel)
		 WHERE (s.calls, s.plans, s.shared_blks_hit, s.shared_blks_read, s.shared_blks_dirtied,
		        s.shared_blks_written, s.local_blks_hit, s.local_blks_read, s.local_blks_dirtied,
		        s.local_blks_written, s.temp_blks_read, s.temp_blks_written, s.wal_records,
		        s.wal_fpi, s.wal_bytes, s.jit_functions, s.blk_read_time_ms, s.total_plan_time_ms)
		       IS DISTINCT FROM
		       (o.calls, o.plans, o.shared_blks_hit, o.shared_blks_read, o.shared_blks_dirtied,
		        o.shared_blks_written, o.local_blks_hit, o.local_blks_read, o.local_blks_dirtied,
		        o.local_blks_written, o.temp_blks_read, o.temp_blks_written, o.wal_records,
		        o.wal_fpi, o.wal_bytes, o.jit_functions, o.blk_read_time, o.total_plan_time)});
	is($named, '0', "$label: statement_stats has the view's numbers");
	return;
}

workload();
compare('pg_stat_statements first');

# the workload exercised what the counters are about
my %kind = (
	'reads that missed the cache' => q{query ~ '^SELECT count' AND shared_blks_read > 1000},
	'an update that dirtied and wrote WAL' => q{query ~ '^UPDATE io_big' AND shared_blks_dirtied > 0 AND wal_bytes > 0 AND wal_records > 0},
	'a sort that spilled to temp' => q{query ~ 'ORDER BY pad' AND temp_blks_written > 0 AND temp_blks_read > 0},
	'COPY FROM that wrote WAL' => q{query ~ '^COPY io_copy' AND wal_records > 0 AND rows = 20000},
	'temporary-table blocks' => q{query ~ 'io_tmp' AND local_blks_hit + local_blks_read + local_blks_dirtied > 0},
	'nested statements' => q{NOT toplevel AND query ~ '^UPDATE io_big SET pad = pad' AND wal_bytes > 0},
	'I/O timing' => q{blk_read_time > 0},
	'planning timed for a prepared statement' => q{query ~ 'WHERE id = \$1' AND calls = 7 AND plans BETWEEN 1 AND 7 AND total_plan_time > 0});
$kind{'JIT compiled'} = q{query ~ 'sum\(length' AND jit_functions > 0 AND jit_emission_count = 1 AND jit_generation_time > 0}
  if $jit;
for my $k (sort keys %kind)
{
	is($node->safe_psql('postgres', "SELECT count(*) > 0 FROM observa.pg_stat_statements WHERE $kind{$k}"),
		't', "workload has $k");
}

# plan times: min <= mean <= max, stddev 0 for one plan, sums consistent
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM observa.statement_stats
	 WHERE plans > 0 AND NOT (min_plan_time_ms <= mean_plan_time_ms + 1e-9
	   AND mean_plan_time_ms <= max_plan_time_ms + 1e-9
	   AND abs(mean_plan_time_ms * plans - total_plan_time_ms) < 1e-6
	   AND stddev_plan_time_ms >= 0 AND (plans > 1 OR stddev_plan_time_ms = 0))}),
	'0', 'plan time: min <= mean <= max and mean * plans = total');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM observa.statement_stats
	 WHERE plans = 0 AND (min_plan_time_ms IS NOT NULL OR total_plan_time_ms <> 0)}),
	'0', 'no plan: min/max/mean plan time NULL, total 0');

# observa loaded before pg_stat_statements: its hooks run inside
$node->stop;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'observa,pg_stat_statements'\n");
$node->start;
workload();
compare('observa first', 1);

done_testing();

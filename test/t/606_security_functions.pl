# Security, every SQL function against hostile input (docs/security.md): the
# test walks pg_proc for the functions of the extension (so a new function
# cannot be forgotten: an argument type without hostile values fails the
# test) and calls each one with hostile identifiers and labels, huge, empty,
# NULL-holding and multi-dimensional arrays, NaN and infinities, extreme
# integers and intervals -- one argument at a time, the others benign --
# as an unprivileged role, as a monitoring role (pg_read_all_stats) and as a
# superuser.  Every call either succeeds or fails with a clear SQLSTATE of
# an expected class; no call reaches an internal error or crashes the
# server; nothing is injected (a victim table survives); a plain role is
# refused what it is not granted; the caller's session is unchanged.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;

my $node = observa_node('security_functions', qq{
observa.advisor_sample_rate = 1.0
observa.slow_query_threshold = 0
max_worker_processes = 16
});
$node->safe_psql('postgres', q{
CREATE TABLE public.victim (id int);
INSERT INTO public.victim VALUES (1);
CREATE ROLE m LOGIN;
CREATE ROLE mon LOGIN IN ROLE pg_read_all_stats;
GRANT SELECT ON public.victim TO m, mon;
-- some workload, so that the functions have rows to render
SELECT count(*) FROM public.victim WHERE id = 1;
SELECT observa.snapshot('before');

-- hostile values per argument type (SQL expressions), the first is benign
CREATE TABLE public.fuzz_values (type text, ord int, expr text);
INSERT INTO public.fuzz_values VALUES
 ('text', 0, $$'before'$$), ('text', 1, 'NULL'), ('text', 2, $$''$$),
 ('text', 3, $$'x"; DROP TABLE public.victim; --'$$),
 ('text', 4, $$'''); DROP TABLE public.victim; --'$$),
 ('text', 5, $$'<script>alert(1)</script>"\n'$$), ('text', 6, $$repeat('x', 100000)$$),
 ('text', 7, $$E'back\\slash\ttab'$$), ('text', 8, $$'%s%n$1 ü'$$), ('text', 9, $$'   '$$),
 ('boolean', 0, 'true'), ('boolean', 1, 'NULL'), ('boolean', 2, 'false'),
 ('integer', 0, '10'), ('integer', 1, 'NULL'), ('integer', 2, '-1'), ('integer', 3, '0'),
 ('integer', 4, '2147483647'), ('integer', 5, '(-2147483648)'),
 ('bigint', 0, '1'), ('bigint', 1, 'NULL'), ('bigint', 2, '-1'), ('bigint', 3, '0'),
 ('bigint', 4, '9223372036854775807'), ('bigint', 5, '(-9223372036854775808)'),
 ('double precision', 0, '0.5'), ('double precision', 1, 'NULL'),
 ('double precision', 2, $$'NaN'::float8$$), ('double precision', 3, $$'Infinity'::float8$$),
 ('double precision', 4, $$'-Infinity'::float8$$), ('double precision', 5, '-1'),
 ('double precision', 6, '0'), ('double precision', 7, '1e308'),
 ('interval', 0, $$'1 hour'$$), ('interval', 1, 'NULL'), ('interval', 2, $$'-1 day'$$),
 ('interval', 3, $$'0'$$), ('interval', 4, $$'1000 years'$$), ('interval', 5, $$'1 microsecond'$$),
 ('jsonb', 0, $$'{}'$$), ('jsonb', 1, 'NULL'), ('jsonb', 2, $$'[]'$$), ('jsonb', 3, $$'"x"'$$),
 ('jsonb', 4, $$'{"a": "<script>", "le": [1, "x"], "cum": null}'$$), ('jsonb', 5, $$'null'$$),
 ('jsonb', 6, $$'[{"a": 1}, 2, "<b>"]'$$),
 ('double precision[]', 0, $$'{0.5}'$$), ('double precision[]', 1, 'NULL'),
 ('double precision[]', 2, $$'{}'$$), ('double precision[]', 3, $$'{NULL}'$$),
 ('double precision[]', 4, $$'{NaN}'$$), ('double precision[]', 5, $$'{Infinity,-Infinity}'$$),
 ('double precision[]', 6, $$'{{0.1,0.2},{0.3,0.4}}'$$), ('double precision[]', 7, $$'{-1,2}'$$),
 ('double precision[]', 8, $$array_fill(0.5::float8, ARRAY[100000])$$),
 ('double precision[]', 9, $$'[5:6]={0.1,0.2}'$$),
 ('bigint[]', 0, $$'{1}'$$), ('bigint[]', 1, 'NULL'), ('bigint[]', 2, $$'{}'$$),
 ('bigint[]', 3, $$'{NULL}'$$), ('bigint[]', 4, $$'{{1,2},{3,4}}'$$), ('bigint[]', 5, $$'{-1}'$$),
 ('bigint[]', 6, $$array_fill(1::bigint, ARRAY[100000])$$),
 ('text[]', 0, $$'{a}'$$), ('text[]', 1, 'NULL'), ('text[]', 2, $$'{}'$$), ('text[]', 3, $$'{NULL}'$$),
 ('text[]', 4, $$ARRAY['x"; DROP TABLE public.victim; --', '<script>']$$),
 ('text[]', 5, $$'{{a,b},{c,d}}'$$), ('text[]', 6, $$array_fill('x'::text, ARRAY[100000])$$);

-- call every function of the extension: one row per call
CREATE FUNCTION public.fuzz_observa()
RETURNS TABLE (fn text, benign boolean, callsql text, state text, message text)
LANGUAGE plpgsql AS $fuzz$
DECLARE
  p record;
  i int;
  v record;
  args text[];
  c text;
BEGIN
  FOR p IN
    SELECT pr.oid, pr.proname::text AS name, pr.pronargs,
           array(SELECT format_type(t, NULL) FROM unnest(pr.proargtypes) t) AS types
      FROM pg_proc pr
      JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = pr.oid AND d.deptype = 'e'
      JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'observa'
     ORDER BY pr.proname, pr.pronargs
  LOOP
    FOR i IN 0 .. p.pronargs LOOP     -- i = 0: all benign; i > 0: argument i hostile
      FOR v IN SELECT fv.expr FROM public.fuzz_values fv
                WHERE i > 0 AND fv.type = p.types[i] AND fv.ord > 0
                UNION ALL SELECT NULL WHERE i = 0 ORDER BY 1 LOOP
        args := array(SELECT CASE WHEN k = i THEN v.expr
                                  ELSE (SELECT fv.expr FROM public.fuzz_values fv
                                         WHERE fv.type = p.types[k] AND fv.ord = 0) END
                        FROM generate_series(1, p.pronargs) k);
        IF array_position(args, NULL) IS NOT NULL THEN
          fn := p.name; benign := (i = 0); callsql := 'argument types ' || array_to_string(p.types, ', ');
          state := 'NOVAL'; message := 'no hostile values for an argument type';
          RETURN NEXT;
          CONTINUE;
        END IF;
        c := format('observa.%I(%s)', p.name, array_to_string(args, ', '));
        fn := p.name; benign := (i = 0); callsql := left(c, 200);
        BEGIN
          EXECUTE format('SELECT count(*) FROM (SELECT * FROM %s) s', c);
          state := '00000'; message := '';
        EXCEPTION WHEN OTHERS THEN
          GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
        END;
        RETURN NEXT;
      END LOOP;
    END LOOP;
  END LOOP;
END
$fuzz$;
GRANT SELECT ON public.fuzz_values TO m, mon;
});

my $session_state = q{
SELECT current_setting('search_path') || '|' || pg_my_temp_schema()::int || '|' ||
       (SELECT count(*) FROM pg_prepared_statements) || '|' ||
       (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid());
};

# classes of SQLSTATE a clear refusal may have: 22 data exception, 42501 no
# privilege, 42704 unknown object, 54 limit exceeded, 55 prerequisite
# state, 53 resources (too many builds), 0A not supported, 23 constraint
my $expected_class = qr/^(00000|22...|42501|42704|42710|54...|55...|53...|0A...|23...)$/;
# the functions whose argument is SQL by design may see a syntax error
my %takes_sql = (create_index => 1, index_build_steps => 1, report_part => 1);

for my $role (qw(m mon postgres))
{
	my ($rc, $out, $err) = $node->psql('postgres',
		"SET client_min_messages = warning; SET statement_timeout = '60s';\n$session_state\n"
		  . q{SELECT fn || E'\t' || state || E'\t' || replace(message, E'\n', ' ') || E'\t' || benign || E'\t' || callsql FROM public.fuzz_observa();}
		  . "\n$session_state",
		extra_params => [ '-U', $role ]);
	is($rc, 0, "$role: the walk over every function completed");
	my @lines = split /\n/, $out;
	my ($before, $after) = (shift @lines, pop @lines);
	my @calls = map { [ split /\t/, $_, 5 ] } @lines;
	ok(@calls > 300, "$role: " . scalar(@calls) . ' calls made');
	my %fns = map { $_->[0] => 1 } @calls;
	ok(keys(%fns) >= 50, "$role: " . scalar(keys %fns) . ' functions called');
	my @noval = grep { $_->[1] eq 'NOVAL' } @calls;
	is(scalar(@noval), 0, "$role: every argument type has hostile values")
	  or diag(join "\n", map { "$_->[0]: $_->[4]" } @noval);
	my @bad = grep {
		$_->[1] ne 'NOVAL' && $_->[1] !~ $expected_class
		  && !($takes_sql{ $_->[0] } && $_->[1] =~ /^42/)
	} @calls;
	is(scalar(@bad), 0, "$role: every refusal has an expected SQLSTATE (no internal error, no syntax error)")
	  or diag(join "\n", map { "$_->[0] $_->[1] $_->[2] :: $_->[4]" } @bad[0 .. ($#bad < 20 ? $#bad : 19)]);
	is($after, $before, "$role: the session is unchanged (search_path, temp schema, prepared statements, advisory locks)");
	if ($role eq 'm')
	{
		# (a STRICT function called with a NULL constant is folded away before
		# its EXECUTE privilege is checked: judge the benign calls)
		my @granted = sort keys %{ { map { $_->[0] => 1 } grep { $_->[1] eq '00000' && $_->[3] eq 't' } @calls } };
		my @allowed = qw(info slow_queries statement_percentiles statement_stats table_latency_buckets
		  table_percentiles table_stats top_statements version);
		my %ok = map { $_ => 1 } @allowed;
		my @extra = grep { !$ok{$_} } @granted;
		is("@extra", '', 'm succeeds only with the functions granted to PUBLIC');
		ok(!grep({ $_->[0] =~ /^reset/ && $_->[1] ne '42501' } @calls), 'm is refused every reset');
	}
}

ok($node->safe_psql('postgres', 'SELECT 1') eq '1', 'the server is up');
is($node->safe_psql('postgres', q{SELECT count(*) FROM public.victim}), '1', 'the victim table survived: nothing was injected');
my $log = slurp_file($node->logfile);
unlike($log, qr/server process .* was terminated by signal|TRAP:|PANIC/, 'no backend crashed');

# no text, parameter or address of the superuser leaked to m
$node->safe_psql('postgres', q{SELECT count(*) FROM public.victim WHERE id = 424242 /* dba-secret */});
is($node->safe_psql('postgres', q{
SELECT count(*) FROM observa.statement_stats WHERE query LIKE '%dba-secret%'
 UNION ALL SELECT count(*) FROM observa.slow_queries WHERE query LIKE '%dba-secret%' OR params LIKE '%424242%'},
	extra_params => [ '-U', 'm' ]), "0\n0", 'm sees no text or parameter of the superuser');

$node->stop;
done_testing();

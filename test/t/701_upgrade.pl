# Upgrade path (pg_stat_statements' oldextversions approach): observa 1.0's
# frozen install script, served by this library, records data; ALTER
# EXTENSION observa UPDATE keeps that data and every function works before
# and after; and the catalog objects an update leaves (functions with their
# signatures, return types, volatility, strictness, bodies and C symbols;
# views with their definitions; tables; grants; comments; configuration
# tables) are the same as a fresh install of the default version's.
#
# This test also catches an SQL change made to sql/observa--<new>.sql but
# not to sql/observa--1.0--<new>.sql (or made differently): the failing
# assertion names the object and the property that differs.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;

my $new = observa_default_version();
my $node = observa_node('upgrade', qq{
observa.slow_query_threshold = '40ms'
observa.advisor_sample_rate = 1
}, { create_extension => 0 });
$node->safe_psql('postgres', 'CREATE DATABASE upg');
$node->safe_psql('postgres', 'CREATE DATABASE fresh');

$node->safe_psql('upg', q{CREATE EXTENSION observa VERSION '1.0'});
is($node->safe_psql('upg', q{SELECT extversion FROM pg_extension WHERE extname = 'observa'}),
	'1.0', 'the frozen 1.0 script installs');
isnt($new, '1.0', "the default version ($new) is newer than 1.0");

$node->safe_psql('upg', q{
CREATE TABLE upg_t (id int PRIMARY KEY, tenant_id int, v int);
INSERT INTO upg_t SELECT g, g % 5, g FROM generate_series(1, 2000) g;
ANALYZE upg_t;
});

# ---- every function of the installed SQL, called ----
# Arguments for functions that need meaningful ones; any other function is
# called with a value of each argument's type (so that a function added
# later is still called).
my %args = (
	'observa.table_stats(interval)' => q{'1 hour'},
	'observa.statement_stats(interval)' => q{'1 hour'},
	'observa.tenant_stats(interval)' => q{'1 hour'},
	'observa.table_percentiles(double precision[])' => q{'{0.5,0.9}'},
	'observa.statement_percentiles(double precision[])' => q{'{0.5,0.9}'},
	'observa.table_latency_buckets(double precision[])' => q{'{1,10,100}'},
	'observa.top_statements(text,integer)' => q{'total_time', 5},
	'observa.statement_text(bigint)' =>
	  q{(SELECT queryid FROM observa.statement_stats LIMIT 1)},
	'observa.slow_queries(integer)' => q{10},
	'observa.create_index(text)' =>
	  q{'CREATE INDEX CONCURRENTLY upg_t_v_%s ON public.upg_t (v)'},
	'observa.create_recommended_indexes(boolean,integer)' => q{true, 2},
	'observa.index_build_steps(text)' =>
	  q{'CREATE INDEX CONCURRENTLY upg_steps_%s ON public.upg_t (v)'},
	'observa.check_snapshot_label(text,boolean)' => q{'snap_%s', true},
	'observa.snapshot(text)' => q{'snap_%s'},
	'observa.drop_snapshot(text)' => q{'snap_%s'},
	'observa.compare(text,text)' => q{'snap_%s', NULL},
	'observa.check_bounds(double precision[])' => q{'{0.1,1}'},
	'observa.metrics_histograms(double precision[])' => q{'{0.1,1}'},
	'observa.metrics(double precision[])' => q{'{0.1,1}'},
	'observa.prometheus(double precision[])' => q{'{0.1,1}'},
	'observa.report_part(boolean,text)' => q{true, 'SELECT ''{}''::jsonb'},
	'observa.report_line(text,integer)' => q{'select  1', 5},
	'observa.regressions(interval,interval,double precision,bigint)' => q{'1 min', '1 hour', 1.5, 50},
	'observa.regressions(interval,text,double precision,bigint)' => q{'1 min', '1 hour', 1.5, 50},
	'observa.report_html_regressions(interval,text)' => q{'1 min', '1 hour'},
	'observa.window_latency(interval,interval)' => q{'1 min', '1 hour'},
);
# the order of the calls: snapshot() before drop_snapshot(), the resets last
my %rank = ('observa.snapshot(text)' => -1, 'observa.drop_snapshot(text)' => 1,
	map { $_ => 2 } qw(observa.reset() observa.reset_slow_queries()
	  observa.reset_advisor() observa.reset_tenant_stats()));
my %sample = (
	'text' => q{'x'}, 'integer' => '1', 'bigint' => '1', 'boolean' => 'true',
	'interval' => q{'1 min'}, 'double precision' => '1', 'numeric' => '1',
	'double precision[]' => q{'{0.5}'}, 'text[]' => q{'{x}'}, 'oid' => '0',
	'name' => q{'x'}, 'jsonb' => q{'{}'}, 'timestamp with time zone' => 'now()',
);

sub call_every_function
{
	my ($db, $tag) = @_;
	my @fns = split /\n/, $node->safe_psql($db, q{
SET search_path = pg_catalog;
SELECT p.oid::regprocedure || '|' || oidvectortypes(p.proargtypes)
  FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'observa')
 ORDER BY 1});
	my $rank = sub { $rank{ (split /\|/, $_[0])[0] } // 0 };
	for my $line (sort { $rank->($a) <=> $rank->($b) || $a cmp $b } @fns)
	{
		my ($sig, $types) = split /\|/, $line, 2;
		my $fname = $sig =~ s/\(.*//r;
		my $a = $args{$sig};
		$a //= join(', ', map { $sample{$_} // 'NULL' } split(/, /, $types));
		$a = sprintf($a, $tag) if $a =~ /%s/;
		my ($rc, $out, $err) = $node->psql($db,
			"SELECT count(*) FROM (SELECT $fname($a)) s", on_error_stop => 1);
		ok($rc == 0, "$tag: $fname($a) runs")
		  or diag("$sig: $err");
	}
	return scalar @fns;
}

ok(call_every_function('upg', 'v10') > 40, '1.0 SQL on this library: every function was called');

# the column-count check of the versioned entry points: a declaration of
# the wrong shape bound to a symbol is refused with a hint, not misread
my ($rc, $out, $err) = $node->psql('upg', q{
CREATE FUNCTION public.bad_info(OUT a text, OUT b text) RETURNS SETOF record
  AS '$libdir/observa', 'observa_info_1_1' LANGUAGE C;
SELECT * FROM public.bad_info()}, on_error_stop => 1, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/42804: observa function bad_info\(\) is declared with 2 result columns, but the library's entry point returns 4/,
	'a declaration with the wrong column count is refused (42804)');
like($err, qr/HINT:  Run ALTER EXTENSION observa UPDATE/, '... with a hint');
($rc, $out, $err) = $node->psql('upg', q{
CREATE FUNCTION public.bad_create(text, OUT a text, OUT b text) RETURNS record
  AS '$libdir/observa', 'observa_create_index' LANGUAGE C;
SELECT * FROM public.bad_create('CREATE INDEX ON upg_t (v)')}, on_error_stop => 1);
like($err, qr/bad_create\(\) is declared with 2 result columns, but the library's entry point returns 3/,
	'a composite result of the wrong shape is refused as well');
$node->safe_psql('upg', 'DROP FUNCTION public.bad_info(); DROP FUNCTION public.bad_create(text)');

# ---- data recorded under 1.0's SQL (after the resets of the calls) ----
$node->safe_psql('upg', 'SELECT v AS upg_marker FROM upg_t WHERE tenant_id = 3 AND v = 43')
  for 1 .. 7;
$node->safe_psql('upg', 'SELECT pg_sleep(0.06) AS upg_slow_marker');
$node->poll_query_until('upg', q{
SELECT coalesce(sum(calls), 0) FROM observa.table_stats
 WHERE relname = 'upg_t' AND operation = 'SELECT'}, '7')
  or die 'the workload never reached observa.table_stats';
$node->safe_psql('upg', q{SELECT observa.snapshot('before_update')});

# what must survive the update: each query's result before and after
my %kept = (
	'table_stats' => q{SELECT operation, calls, rows FROM observa.table_stats
		WHERE relname = 'upg_t' AND operation = 'SELECT'},
	'statement_stats' => q{SELECT calls, rows FROM observa.statement_stats
		WHERE query LIKE '%upg_marker%' AND query NOT LIKE '%statement_stats%'},
	'slow_queries' => q{SELECT count(*) FROM observa.slow_queries
		WHERE query LIKE '%upg_slow_marker%' AND query NOT LIKE '%observa.%'},
	'tenant_stats' => q{SELECT tenant, calls FROM observa.tenant_stats
		WHERE datname = 'upg' AND tenant = '3'},
	'advisor_workload' => q{SELECT relname, column_name, predicate_class, statements
		FROM observa.advisor_workload() WHERE relname = 'upg_t'
		ORDER BY column_name COLLATE "C", predicate_class COLLATE "C"},
	'snapshots' => q{SELECT label, table_rows, statement_rows FROM observa.snapshots},
	'snapshot rows' => q{SELECT count(*) FROM observa.snapshot_table_stats
		WHERE label = 'before_update'},
);
my %before = map { $_ => $node->safe_psql('upg', $kept{$_}) } keys %kept;
is($before{table_stats}, 'SELECT|7|7', '1.0: table_stats counts the workload');
is($before{slow_queries}, '1', '1.0: the slow statement is in the ring');
is($before{tenant_stats}, '3|7', '1.0: tenant 3 has its 7 statements');
isnt($before{advisor_workload}, '', '1.0: the advisor captured the predicates');
like($before{snapshots}, qr/^before_update\|[1-9]/, '1.0: the snapshot is stored');

# ---- the update ----
($rc, $out, $err) = $node->psql('upg', 'ALTER EXTENSION observa UPDATE');
is($rc, 0, 'ALTER EXTENSION observa UPDATE succeeds') or diag($err);
is($node->safe_psql('upg', q{SELECT extversion FROM pg_extension WHERE extname = 'observa'}),
	$new, "the update reaches $new");
for my $what (sort keys %kept)
{
	is($node->safe_psql('upg', $kept{$what}), $before{$what}, "$what kept across the update");
}
ok(call_every_function('upg', 'v11') > 40, "$new SQL after the update: every function was called");

# ---- the catalog after the update equals a fresh install ----
$node->safe_psql('fresh', 'CREATE EXTENSION observa');
my %upd = catalog('upg');
my %fresh = catalog('fresh');
for my $obj (sort keys %{ { %upd, %fresh } })
{
	if (!exists $fresh{$obj})
	{
		fail("$obj: only after the update (not in a fresh install of $new)");
		next;
	}
	if (!exists $upd{$obj})
	{
		fail("$obj: only in a fresh install of $new (the update does not create it)");
		next;
	}
	my $d = describe_difference($upd{$obj}, $fresh{$obj});
	ok($d eq '', "$obj: the update and a fresh install agree") or diag($d);
}
cmp_ok(scalar(keys %fresh), '>', 40, 'the comparison saw the objects of the extension');

# the comparison does not depend on the session's settings ...
{
	local $ENV{PGOPTIONS} = '-c search_path=public,observa -c DateStyle=SQL,DMY -c extra_float_digits=3';
	my %again = catalog('fresh');
	is_deeply(\%again, \%fresh, 'the catalog description does not depend on search_path or DateStyle');
}
# ... and it sees a changed comment, grant, volatility or view
$node->safe_psql('fresh', q{
COMMENT ON FUNCTION observa.version() IS 'changed';
GRANT SELECT ON observa.table_stats TO pg_monitor;
ALTER FUNCTION observa.pct_change(float8, float8) STABLE;
CREATE OR REPLACE VIEW observa.info AS
    SELECT section, name, value, description FROM observa.info() WHERE name <> '';
});
my %changed = catalog('fresh');
like(describe_difference($upd{'function observa.version()'}, $changed{'function observa.version()'}),
	qr/comment differs/, 'a changed comment is reported');
like(describe_difference($upd{'view observa.table_stats'}, $changed{'view observa.table_stats'}),
	qr/privileges differs:.*pg_monitor SELECT/s, 'a changed grant is reported');
like(describe_difference($upd{'function observa.pct_change(double precision,double precision)'},
	$changed{'function observa.pct_change(double precision,double precision)'}),
	qr/volatility differs/, 'a changed volatility is reported');
like(describe_difference($upd{'view observa.info'}, $changed{'view observa.info'}),
	qr/definition differs/, 'a changed view definition is reported');

$node->stop;
done_testing();

# One line of text per extension object: "kind identity" => "property:
# value" lines.  search_path is pinned so that names print the same way
# whatever the session's settings; privileges are compared as sets, with
# the default written out.
sub catalog
{
	my ($db) = @_;
	my $rows = $node->safe_psql($db, <<'SQL');
SET search_path = pg_catalog;
SET DateStyle = ISO;
SET extra_float_digits = 0;
CREATE FUNCTION pg_temp.acl(a aclitem[]) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(x, ', ' ORDER BY x), '(none)')
    FROM (SELECT CASE WHEN e.grantee = 0 THEN 'PUBLIC' ELSE e.grantee::regrole::text END
                 || ' ' || e.privilege_type || CASE WHEN e.is_grantable THEN ' WITH GRANT' ELSE '' END AS x
            FROM aclexplode(a) e) s $$;
CREATE FUNCTION pg_temp.cmt(c oid, o oid, s int) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce((SELECT description FROM pg_description
                    WHERE classoid = c AND objoid = o AND objsubid = s), '(none)') $$;
CREATE FUNCTION pg_temp.initprivs(c oid, o oid, s int) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce((SELECT privtype::text || ' ' || pg_temp.acl(initprivs) FROM pg_init_privs
                    WHERE classoid = c AND objoid = o AND objsubid = s), '(none)') $$;
WITH m AS (
  SELECT d.classid, d.objid, d.objsubid, i.type, i.identity
    FROM pg_depend d, pg_identify_object(d.classid, d.objid, d.objsubid) i
   WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
     AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'observa')
),
fn AS (
  SELECT m.classid, m.objid, concat_ws(E'\n',
    'kind: ' || p.prokind::text,
    'arguments: ' || pg_get_function_arguments(p.oid),
    'result: ' || coalesce(pg_get_function_result(p.oid), '(none)'),
    'language: ' || l.lanname,
    'volatility: ' || p.provolatile::text,
    'strict: ' || p.proisstrict,
    'parallel: ' || p.proparallel::text,
    'security definer: ' || p.prosecdef,
    'leakproof: ' || p.proleakproof,
    'cost: ' || p.procost || ', rows: ' || p.prorows,
    'settings: ' || coalesce(array_to_string(p.proconfig, ', '), '(none)'),
    'library: ' || coalesce(p.probin, '(none)'),
    'symbol or body: ' || p.prosrc,
    'privileges: ' || pg_temp.acl(coalesce(p.proacl, acldefault('f', p.proowner))),
    'initial privileges: ' || pg_temp.initprivs(m.classid, m.objid, 0)) AS detail
    FROM m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
    JOIN pg_language l ON l.oid = p.prolang
),
rel AS (
  SELECT m.classid, m.objid, concat_ws(E'\n',
    'relkind: ' || c.relkind::text || ', persistence: ' || c.relpersistence::text,
    'options: ' || coalesce(array_to_string(c.reloptions, ', '), '(none)'),
    'columns: ' || coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                    || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
                    || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')
                    || coalesce(' privileges ' || pg_temp.acl(a.attacl), '')
                    || ' comment ' || pg_temp.cmt('pg_class'::regclass, c.oid, a.attnum),
                    '; ' ORDER BY a.attnum)
                   FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '(none)'),
    'definition: ' || CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) ELSE '(none)' END,
    'indexes: ' || coalesce((SELECT string_agg(pg_get_indexdef(x.indexrelid), '; ' ORDER BY 1)
                   FROM pg_index x WHERE x.indrelid = c.oid), '(none)'),
    'constraints: ' || coalesce((SELECT string_agg(k.conname || ' ' || pg_get_constraintdef(k.oid), '; ' ORDER BY 1)
                   FROM pg_constraint k WHERE k.conrelid = c.oid), '(none)'),
    'triggers: ' || coalesce((SELECT string_agg(pg_get_triggerdef(t.oid), '; ' ORDER BY 1)
                   FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal), '(none)'),
    'privileges: ' || pg_temp.acl(coalesce(c.relacl, acldefault((CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::"char", c.relowner))),
    'initial privileges: ' || pg_temp.initprivs(m.classid, m.objid, 0)) AS detail
    FROM m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
),
nsp AS (
  SELECT m.classid, m.objid, concat_ws(E'\n',
    'privileges: ' || pg_temp.acl(coalesce(n.nspacl, acldefault('n', n.nspowner))),
    'initial privileges: ' || pg_temp.initprivs(m.classid, m.objid, 0)) AS detail
    FROM m JOIN pg_namespace n ON m.classid = 'pg_namespace'::regclass AND n.oid = m.objid
),
typ AS (
  SELECT m.classid, m.objid, concat_ws(E'\n',
    'type: ' || t.typtype::text || ', base: ' || format_type(t.typbasetype, t.typtypmod),
    'labels: ' || coalesce((SELECT string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder)
                   FROM pg_enum e WHERE e.enumtypid = t.oid), '(none)'),
    'privileges: ' || pg_temp.acl(coalesce(t.typacl, acldefault('T', t.typowner)))) AS detail
    FROM m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
)
SELECT m.type || ' ' || m.identity || '|' || encode(convert_to(concat_ws(E'\n',
         coalesce(fn.detail, rel.detail, nsp.detail, typ.detail),
         'comment: ' || pg_temp.cmt(m.classid, m.objid, m.objsubid)), 'UTF8'), 'hex')
  FROM m
  LEFT JOIN fn ON fn.classid = m.classid AND fn.objid = m.objid
  LEFT JOIN rel ON rel.classid = m.classid AND rel.objid = m.objid
  LEFT JOIN nsp ON nsp.classid = m.classid AND nsp.objid = m.objid
  LEFT JOIN typ ON typ.classid = m.classid AND typ.objid = m.objid
UNION ALL
SELECT 'extension observa|' || encode(convert_to(concat_ws(E'\n',
         'version: ' || e.extversion || ', schema: ' || e.extnamespace::regnamespace || ', relocatable: ' || e.extrelocatable,
         'configuration tables: ' || coalesce((SELECT string_agg(u.t::regclass || ' ' || quote_literal(u.cond), ', ' ORDER BY 1)
                   FROM unnest(e.extconfig, e.extcondition) AS u(t, cond)), '(none)')), 'UTF8'), 'hex')
  FROM pg_extension e WHERE e.extname = 'observa'
UNION ALL
SELECT 'schema ' || e.extnamespace::regnamespace || '|' || encode(convert_to(concat_ws(E'\n',
         'privileges: ' || pg_temp.acl(coalesce(n.nspacl, acldefault('n', n.nspowner))),
         'comment: ' || pg_temp.cmt('pg_namespace'::regclass, n.oid, 0)), 'UTF8'), 'hex')
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE e.extname = 'observa'
   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass
                      AND d.objid = n.oid AND d.refobjid = e.oid AND d.deptype = 'e')
SQL
	my %cat;
	for my $line (split /\n/, $rows)
	{
		my $bar = rindex($line, '|');
		$cat{ substr($line, 0, $bar) } = pack('H*', substr($line, $bar + 1));
	}
	return %cat;
}

# "" when equal, else the properties that differ, each with both values
sub describe_difference
{
	my ($a, $b) = @_;
	return '' if $a eq $b;
	my (%pa, %pb, @keys, $k);
	for ([ $a, \%pa ], [ $b, \%pb ])
	{
		my ($text, $h) = @$_;
		$k = '';
		for my $line (split /\n/, $text)
		{
			if ($line =~ /^([a-z][a-z ,]*?): (.*)$/) { $k = $1; $h->{$k} = $2; push @keys, $k unless grep { $_ eq $k } @keys; }
			else { $h->{$k} .= "\n$line"; }
		}
	}
	my $out = '';
	for my $p (@keys)
	{
		my ($va, $vb) = ($pa{$p} // '(missing)', $pb{$p} // '(missing)');
		next if $va eq $vb;
		$out .= "  $p differs:\n    after the update: $va\n    fresh install:    $vb\n";
	}
	return $out;
}

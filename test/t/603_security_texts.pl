# Security, what one role may read of another's statements (docs/security.md):
# statement texts are kept per role (comments included) and shown to their
# own role, members of it and pg_read_all_stats only; the saved text file
# keeps the role across a clean restart, and a file of format 1 (observa
# 1.0, texts without their role) is ignored; observa.slow_queries hides
# another role's text, parameters, plan, error, client_addr and queryid, as
# pg_stat_activity hides them.  Sessions connect over TCP so that
# client_addr is set.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use ObservaTest;

my $node = observa_node('security_texts', qq{
listen_addresses = '127.0.0.1'
observa.slow_query_threshold = 0
observa.slow_query_params = on
observa.slow_query_plan = text
});
my $port = $node->port;
$node->safe_psql('postgres', q{
CREATE TABLE t (id int PRIMARY KEY, v text);
INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 100) g;
CREATE ROLE m LOGIN;
CREATE ROLE n LOGIN;
CREATE ROLE reader LOGIN;
CREATE ROLE n_member LOGIN IN ROLE n;
GRANT pg_read_all_stats TO reader;
GRANT SELECT ON t TO m, n;
});

# run sql over TCP as a role; returns stdout
sub tcp
{
	my ($role, $sql) = @_;
	return $node->safe_psql('postgres', $sql,
		connstr => "host=127.0.0.1 port=$port dbname=postgres user=$role");
}

tcp('m', q{/* owner=m-secret */ SELECT count(*) FROM t WHERE id = 1});
tcp('n', q{/* owner=n-private */ SELECT count(*) FROM t WHERE id = 2});
# a slow-query row with a parameter
tcp('m', q{PREPARE q(text) AS SELECT count(*) FROM t WHERE v = $1; EXECUTE q('m-param-value');});

sub texts_seen_by
{
	my ($role) = @_;
	return tcp($role, q{
SELECT (SELECT count(*) FROM observa.statement_stats WHERE query LIKE '%m-secret%') || ' ' ||
       (SELECT count(*) FROM observa.statement_stats WHERE query LIKE '%n-private%')});
}

is(texts_seen_by('n'), '0 1', 'n sees its own text with its comment, not m\'s of the same shape');
is(texts_seen_by('m'), '1 0', 'm sees its own text, not n\'s');
is(texts_seen_by('n_member'), '0 1', 'a member of n sees n\'s text (it has n\'s privileges), not m\'s');
is(texts_seen_by('reader'), '1 1', 'pg_read_all_stats sees both texts');
is(tcp('n', q{SELECT count(*) FROM observa.statement_stats
               WHERE username = 'm' AND query = '<insufficient privilege>'}) > 0 ? 'hidden' : 'shown',
	'hidden', 'n sees m\'s rows with the text hidden');
is(tcp('reader', q{SELECT count(DISTINCT query) FROM observa.statement_stats
                    WHERE query LIKE '%SELECT count(*) FROM t WHERE id = $1%'}),
	'2', 'the same shape from two roles keeps two texts');

my ($rc, $out, $err) = $node->psql('postgres', q{SELECT observa.statement_text(1)},
	extra_params => [ '-U', 'n' ]);
like($err, qr/permission denied for function statement_text/,
	'observa.statement_text() is not for PUBLIC');
my $qid = tcp('reader', q{SELECT queryid FROM observa.statement_stats WHERE query LIKE '%n-private%'});
like(tcp('reader', "SELECT observa.statement_text($qid)"), qr/owner=(m-secret|n-private)/,
	'pg_read_all_stats reads any role\'s text with statement_text()');

# slow queries: m's row as n sees it, and as reader sees it
my $row = q{SELECT coalesce(host(client_addr), '<null>') || '|' || coalesce(queryid::text, '<null>')
                   || '|' || query || '|' || coalesce(params, '<null>') || '|' || left(coalesce(plan, '<null>'), 12)
              FROM observa.slow_queries WHERE username = 'm' AND params IS NOT NULL};
my $as_n = tcp('n', $row);
my $as_reader = tcp('reader', $row);
my $as_m = tcp('m', $row);
like($as_reader, qr/^127\.0\.0\.1\|-?\d+\|[^|]*v = \$1\|\$1 = 'm-param-value'\|Aggregate/,
	'pg_read_all_stats sees m\'s address, queryid, text and parameters');
like($as_m, qr/^127\.0\.0\.1\|-?\d+\|/, 'm sees its own address and queryid');
is($as_n, '<null>|<null>|<insufficient privilege>|<insufficient privilege>|<insufficien',
	'n sees none of m\'s address, queryid, text, parameters or plan');
is(tcp('n', q{SELECT count(*) FROM observa.slow_queries WHERE username = 'm' AND client_addr IS NOT NULL}),
	'0', 'no other role\'s client_addr is visible to n');
ok(tcp('n', q{SELECT count(*) FROM observa.slow_queries WHERE username = 'n' AND client_addr = '127.0.0.1'}) > 0,
	'n sees its own client_addr');
unlike(tcp('n', q{SELECT string_agg(coalesce(query, '') || coalesce(params, '') || coalesce(plan, ''), ' ')
                    FROM observa.slow_queries WHERE username = 'm'}), qr/m-param-value|m-secret|v = \$1|Aggregate/,
	'no text, parameter or plan of m leaks into n\'s view');

# a clean restart keeps the texts with their roles (format 2)
$node->restart;
is(texts_seen_by('n'), '0 1', 'after a clean restart n still sees only its own text');
is(texts_seen_by('reader'), '1 1', 'and pg_read_all_stats both');

# a format 1 file (observa 1.0: no roles) is ignored with a LOG line
$node->stop;
my $file = $node->data_dir . '/pg_stat/observa_query_text.stat';
my $text = 'SELECT old_text_of_unknown_role';
my $dbid = 5;    # postgres database of a fresh cluster
open my $fh, '>:raw', $file or die "open $file: $!";
print $fh pack('LLl', 0x4F425154, 1, 1);
print $fh pack('LQlC', $dbid, 42, length($text), 0), $text;
close $fh;
my $offset = -s $node->logfile;
$node->start;
like(slurp_file($node->logfile, $offset),
	qr/observa ignored file "pg_stat\/observa_query_text.stat": its statement texts \(format 1\) do not say which role ran them/,
	'a format 1 text file is ignored with a LOG line');
ok(!-e $file, 'and removed');
is($node->safe_psql('postgres', q{SELECT coalesce(observa.statement_text(42), '<none>')}),
	'<none>', 'no text of it was loaded');
unlike($node->safe_psql('postgres', q{SELECT coalesce(string_agg(query, ' '), '') FROM observa.statement_stats}),
	qr/old_text_of_unknown_role/, 'its text is shown nowhere');

$node->stop;
done_testing();

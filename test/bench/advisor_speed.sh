#!/usr/bin/env bash
# test/bench/advisor_speed.sh: how long observa.recommend_indexes() takes
# for 1 000 captured statements.  In one run, on a throwaway cluster with
# observa preloaded: 50 tenant tables (Zipf-sized tenants, 2 000 rows each)
# and 20 statement shapes per table (equalities, IN lists, ranges, ORDER BY
# ... LIMIT, LIKE prefixes, expressions, a report, an UPDATE), each run
# twice with literal values at observa.advisor_sample_rate = 1; then
# recommend_indexes() is timed RUNS times (median printed) next to the
# time of a baseline in the same run: planning each executed statement
# text once (EXPLAIN, 2 per captured statement), about what any advisor
# that re-plans its examples must spend.
# Not part of test/run.sh.  As root on Debian 12.
#   TABLES=50   SHAPES=20 (at most 20)   RUNS=5
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/test/lib.sh"
TABLES=${TABLES:-50}
SHAPES=${SHAPES:-20}
RUNS=${RUNS:-5}

obs_install_packages
obs_workdir bench-advisor-speed
trap obs_cleanup EXIT
obs_stage "$here"
obs_cluster_start bench "shared_preload_libraries = 'observa'
compute_query_id = on
autovacuum = off
observa.advisor_max_queries = $((TABLES * SHAPES + 100))
observa.advisor_sample_rate = 1"

obs_psql -d postgres -c "CREATE DATABASE bench" >/dev/null
obs_psql -d bench -c "CREATE EXTENSION observa" >/dev/null
obs_psql -d bench >/dev/null <<SQL
SET client_min_messages = warning;
CREATE SCHEMA s;
DO \$\$
BEGIN
  FOR k IN 1..$TABLES LOOP
    EXECUTE format('CREATE TABLE s.t%s (id bigint PRIMARY KEY, tenant_id int NOT NULL, a int, b int,
                    c text, d timestamptz, status text, e int)', k);
    EXECUTE format('INSERT INTO s.t%s SELECT g, least(50, 1 + floor(50 * power(((g * 7919 + %s) %% 10007) / 10007.0, 3))::int),
                    g %% 97, g %% 13, ''v'' || (g %% 500), timestamptz ''2026-01-01'' + g * interval ''1 hour'',
                    (ARRAY[''open'',''new'',''closed'',''closed''])[1 + g %% 4], g %% 1000
                    FROM generate_series(1, 2000) g', k, k);
  END LOOP;
END \$\$;
ANALYZE;
SQL

# the statements: SHAPES per table, each with different literals twice
gen() {
	local k v
	for k in $(seq 1 "$TABLES"); do
		for v in 1 2; do
			cat <<SQL | head -n "$SHAPES"
SELECT id FROM s.t$k WHERE tenant_id = $v AND a = $((v * 7));
SELECT id, a FROM s.t$k WHERE tenant_id = $v AND b = $v;
SELECT id, b FROM s.t$k WHERE tenant_id = $v AND c = 'v$v';
SELECT id, c FROM s.t$k WHERE tenant_id = $v ORDER BY d DESC LIMIT 10;
SELECT id, d FROM s.t$k WHERE tenant_id = $v AND d >= '2026-01-0$v' AND d < '2026-01-0$((v + 2))';
SELECT id, status FROM s.t$k WHERE tenant_id = $v AND status IN ('open', 'new') ORDER BY d DESC LIMIT 10;
SELECT id, e FROM s.t$k WHERE tenant_id = $v AND e = $((v * 3));
SELECT a, b FROM s.t$k WHERE tenant_id = $v AND a = $v AND b = $v;
SELECT id, tenant_id FROM s.t$k WHERE a = $((v + 10));
SELECT a FROM s.t$k WHERE tenant_id = $v AND a > $((v * 20)) ORDER BY a LIMIT 5;
SELECT d FROM s.t$k WHERE tenant_id = $v AND status = 'open' ORDER BY d LIMIT 10;
SELECT c, d FROM s.t$k WHERE tenant_id = $v AND lower(c) = 'v$v';
SELECT c, e FROM s.t$k WHERE tenant_id = $v AND c LIKE 'v$v%';
SELECT count(*) FROM s.t$k WHERE tenant_id = $v;
SELECT e, a FROM s.t$k WHERE tenant_id = $v AND e > $v AND e < $((v + 50));
SELECT status, count(*) FROM s.t$k GROUP BY status;
SELECT b, c FROM s.t$k WHERE tenant_id = $v AND b IN (1, 2, $((v + 4)));
SELECT id, a, b FROM s.t$k WHERE tenant_id = $v ORDER BY a LIMIT 10;
SELECT max(e) FROM s.t$k WHERE tenant_id = $v AND d > '2026-02-01';
UPDATE s.t$k SET e = e + 1 WHERE id = $((v * 11));
SQL
		done
	done
}
gen >"$OBS_W/statements.sql"
obs_psql -d bench -c "SELECT observa.reset_advisor()" >/dev/null
obs_psql -d bench -f "$OBS_W/statements.sql" >/dev/null
captured=$(obs_psql -d bench -Atc "SELECT value FROM observa.info WHERE section = 'advisor' AND name = 'entries'")
obs_log "captured statements: $captured"

# server time of a script, in ms (psql's \timing, summed), median of RUNS
median_ms() {
	local file=$1 i
	for i in $(seq 1 "$RUNS"); do
		(echo '\timing on'; cat "$file") |
			"$OBS_BIN/psql" -X -q -h "$OBS_HOST" -p "$OBS_PORT" -U postgres -d bench 2>&1 |
			sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | awk '{ s += $1 } END { print s }'
	done | sort -n | awk '{ a[NR] = $1 } END { printf "%.0f\n", a[int((NR + 1) / 2)] }'
}
# baseline: plan each captured statement text once (EXPLAIN, no execution)
sed 's/^/EXPLAIN /' "$OBS_W/statements.sql" >"$OBS_W/explain.sql"
echo 'SELECT count(*) FROM observa.recommend_indexes();' >"$OBS_W/recommend.sql"
base_ms=$(median_ms "$OBS_W/explain.sql")
rec_ms=$(median_ms "$OBS_W/recommend.sql")
n=$(obs_psql -d bench -Atc "SELECT count(*) FROM observa.recommend_indexes()")
echo "advisor speed benchmark: $captured captured statements, $n indexes recommended"
echo "recommend_indexes(): ${rec_ms} ms (median of $RUNS); planning the captured texts once (EXPLAIN): ${base_ms} ms"
awk -v r="$rec_ms" -v b="$base_ms" 'BEGIN { printf "ratio recommend / plan-once: %.1fx; target under 1000 ms: %s\n", r / b, (r < 1000) ? "met" : "NOT met" }'

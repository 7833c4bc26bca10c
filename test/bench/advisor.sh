#!/usr/bin/env bash
# test/bench/advisor.sh: does applying observa's index recommendations make
# a multi-tenant workload faster?  In one run, on a throwaway cluster with
# observa preloaded: load test/fixtures/tenants.sql, run a pgbench workload
# of tenant-filtered statements (random tenants, bind parameters), ask
# observa.recommend_indexes(), apply its index_defs with the psql \gexec
# idiom, run the same workload again, and print TPS before, after and the
# ratio.  Not part of test/run.sh.  As root on Debian 12.
#   DURATION=seconds per phase (default 15)   CLIENTS=pgbench clients (default 2)
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/test/lib.sh"
DURATION=${DURATION:-15}
CLIENTS=${CLIENTS:-2}

obs_install_packages
obs_workdir bench-advisor
trap obs_cleanup EXIT
obs_stage "$here"
obs_cluster_start bench "shared_preload_libraries = 'observa'
compute_query_id = on
observa.advisor_sample_rate = 0.2"

obs_psql -d postgres -c "CREATE DATABASE bench" >/dev/null
obs_psql -d bench -c "CREATE EXTENSION observa" >/dev/null
obs_psql -d bench -f "$here/test/fixtures/tenants.sql" >/dev/null
obs_psql -d bench -c "SELECT observa.reset_advisor()" >/dev/null

cat >"$OBS_W/workload.sql" <<'SQL'
\set t random(1, 40)
\set u random(1, 20000)
\set o random(1, 50)
SELECT id, subject FROM app.tickets WHERE tenant_id = :t ORDER BY created_at DESC LIMIT 10;
SELECT id FROM app.tickets WHERE tenant_id = :t AND status IN ('active','acknowledged') ORDER BY created_at DESC LIMIT 20;
SELECT id FROM app.users WHERE tenant_id = :t AND lower(email) = lower('User' || :u || '@example.com');
SELECT count(*) FROM app.events WHERE org_id = :o AND kind = 'edit';
SELECT t.id, c.body FROM app.tickets t JOIN app.comments c ON c.ticket_id = t.id AND c.tenant_id = t.tenant_id
 WHERE t.tenant_id = :t AND t.status = 'active' ORDER BY t.created_at DESC LIMIT 20;
SQL
chown postgres: "$OBS_W/workload.sql"

run_phase() {
	obs_as_pg "$OBS_BIN/pgbench" -n -M prepared -h "$OBS_HOST" -p "$OBS_PORT" -U postgres \
		-c "$CLIENTS" -j "$CLIENTS" -T "$DURATION" -f "$OBS_W/workload.sql" bench 2>&1 |
		sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1
}

obs_log "phase 1: workload without the recommended indexes (${DURATION}s, $CLIENTS clients)"
before=$(run_phase)
obs_log "recommendations"
obs_psql -d bench -c "SELECT relname, columns, tenant_leading, est_improvement_pct, calls FROM observa.recommend_indexes()"
echo 'SELECT index_def FROM observa.recommend_indexes() \gexec' | obs_psql -d bench >/dev/null
obs_psql -d bench -c "ANALYZE" >/dev/null
n=$(obs_psql -d bench -Atc "SELECT count(*) FROM pg_indexes WHERE schemaname = 'app' AND indexname LIKE 'obs\_%'")
obs_log "phase 2: same workload with the $n indexes applied"
after=$(run_phase)
echo "advisor benchmark: tps before $before, after $after ($n indexes applied)"
awk -v b="$before" -v a="$after" 'BEGIN { printf "ratio after/before: %.1fx\n", a / b }'

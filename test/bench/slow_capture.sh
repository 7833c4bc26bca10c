#!/usr/bin/env bash
# test/bench/slow_capture.sh: what capturing a slow statement costs.
#
# One server with observa preloaded.  In one backend, a PL/pgSQL loop runs N
# statements "SELECT abalance FROM pgbench_accounts WHERE aid = $1" through
# EXECUTE ... USING (so each has a bind parameter to render), with
# observa.track = all so that each one is a tracked statement, and returns
# the microseconds per statement.  Configurations (set per connection):
#   off          threshold -1: nothing captured (baseline)
#   capture      threshold 0: every statement captured (text, params)
#   plan_text    threshold 0 + EXPLAIN text of every statement
#   plan_json    threshold 0 + EXPLAIN json of every statement
#   analyze_idle threshold 1h + plan_analyze: row counting on every statement,
#                none captured (what plan_analyze costs statements under the threshold)
#   plan_analyze threshold 0 + EXPLAIN text with actual rows
# Running inside one backend avoids client round trips; configurations are
# interleaved in rounds and the best (lowest) time of each is kept, the
# estimator least disturbed by other load on a shared machine.  Prints
# us/statement, the extra cost per captured statement and the ratio.
# Not part of test/run.sh.  Usage: bash test/bench/slow_capture.sh [statements] [rounds]
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/test/lib.sh"
n=${1:-20000}
rounds=${2:-5}

obs_install_packages
obs_workdir bench
trap obs_cleanup EXIT
obs_stage "$here"
obs_cluster_start bench "shared_preload_libraries = 'observa'
compute_query_id = on"
obs_as_pg "$OBS_BIN/pgbench" -h "$OBS_HOST" -p "$OBS_PORT" -U postgres -i -q -s 1 postgres >/dev/null 2>&1 ||
	obs_die "pgbench -i failed"
obs_psql -d postgres >/dev/null <<'SQL'
CREATE EXTENSION observa;
CREATE FUNCTION bench_loop(n int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
    b int;
BEGIN
    FOR i IN 1..n LOOP
        EXECUTE 'SELECT abalance FROM pgbench_accounts WHERE aid = $1' INTO b USING (i % 100000) + 1;
    END LOOP;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6 / n;
END
$$;
SQL

declare -A opts=(
	[off]="-c observa.slow_query_threshold=-1"
	[capture]="-c observa.slow_query_threshold=0"
	[plan_text]="-c observa.slow_query_threshold=0 -c observa.slow_query_plan=text"
	[plan_json]="-c observa.slow_query_threshold=0 -c observa.slow_query_plan=json"
	[analyze_idle]="-c observa.slow_query_threshold=3600000 -c observa.slow_query_plan=text -c observa.slow_query_plan_analyze=on"
	[plan_analyze]="-c observa.slow_query_threshold=0 -c observa.slow_query_plan=text -c observa.slow_query_plan_analyze=on"
)
order="off capture plan_text plan_json analyze_idle plan_analyze"
declare -A best

obs_log "$n statements per run, $rounds rounds"
for r in $(seq 1 "$rounds"); do
	for c in $order; do
		t=$(PGOPTIONS="-c observa.track=all ${opts[$c]}" obs_psql -d postgres -At -c "SELECT bench_loop($n)") ||
			obs_die "run failed for $c"
		best[$c]=$(awk -v a="${best[$c]:-}" -v b="$t" 'BEGIN {print (a == "" || b < a) ? b : a}')
	done
done

base=${best[off]}
printf '%-14s %12s %14s %8s\n' config us_per_stmt extra_us ratio
for c in $order; do
	awk -v c="$c" -v m="${best[$c]}" -v b="$base" 'BEGIN {printf "%-14s %12.2f %14.2f %8.3f\n", c, m, m - b, m / b}'
done
obs_psql -d postgres -At -c "SELECT name || '=' || value FROM observa.info WHERE section = 'slow_queries' AND name IN ('slot_bytes', 'shared_memory_bytes', 'slow_queries_captured')"

#!/usr/bin/env bash
# test/bench/slow_capture.sh: what capturing a slow statement costs.
#
# One server with observa preloaded; pgbench's select-only transaction
# (-S -M prepared, so each statement has a bind parameter to render) run by
# one client under settings passed per connection (PGOPTIONS):
#   off          threshold -1: nothing captured (baseline)
#   capture      threshold 0: every statement captured (text, params)
#   plan_text    threshold 0 + EXPLAIN text of every statement
#   plan_json    threshold 0 + EXPLAIN json of every statement
#   analyze_idle threshold 1h + plan_analyze: row counting on every statement,
#                none captured (what plan_analyze costs statements under the threshold)
#   plan_analyze threshold 0 + EXPLAIN text with actual rows
# Configurations are interleaved in rounds; the median TPS of each is printed
# with its ratio to the baseline and the extra microseconds per statement.
# Not part of test/run.sh.  Usage: bash test/bench/slow_capture.sh [seconds] [rounds]
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/test/lib.sh"
secs=${1:-5}
rounds=${2:-3}

obs_install_packages
obs_workdir bench
trap obs_cleanup EXIT
obs_stage "$here"
obs_cluster_start bench "shared_preload_libraries = 'observa'
compute_query_id = on"
obs_as_pg "$OBS_BIN/pgbench" -h "$OBS_HOST" -p "$OBS_PORT" -U postgres -i -q -s 1 postgres >/dev/null 2>&1 ||
	obs_die "pgbench -i failed"
obs_psql -d postgres -c "CREATE EXTENSION observa" >/dev/null

declare -A opts=(
	[off]="-c observa.slow_query_threshold=-1"
	[capture]="-c observa.slow_query_threshold=0"
	[plan_text]="-c observa.slow_query_threshold=0 -c observa.slow_query_plan=text"
	[plan_json]="-c observa.slow_query_threshold=0 -c observa.slow_query_plan=json"
	[analyze_idle]="-c observa.slow_query_threshold=3600000 -c observa.slow_query_plan=text -c observa.slow_query_plan_analyze=on"
	[plan_analyze]="-c observa.slow_query_threshold=0 -c observa.slow_query_plan=text -c observa.slow_query_plan_analyze=on"
)
order="off capture plan_text plan_json analyze_idle plan_analyze"
declare -A tps

obs_log "pgbench -S -M prepared -c 1, ${secs}s per run, $rounds rounds"
for r in $(seq 1 "$rounds"); do
	for c in $order; do
		t=$(obs_as_pg env PGOPTIONS="${opts[$c]}" "$OBS_BIN/pgbench" -h "$OBS_HOST" -p "$OBS_PORT" -U postgres \
			-n -S -M prepared -c 1 -j 1 -T "$secs" postgres 2>/dev/null |
			sed -n 's/^tps = \([0-9.]*\).*/\1/p')
		[ -n "$t" ] || obs_die "pgbench failed for $c"
		tps[$c]="${tps[$c]:-} $t"
	done
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
base=$(echo "${tps[off]}" | median)
printf '%-14s %12s %8s %16s\n' config median_tps ratio extra_us_per_stmt
for c in $order; do
	m=$(echo "${tps[$c]}" | median)
	awk -v c="$c" -v m="$m" -v b="$base" 'BEGIN {printf "%-14s %12.0f %8.3f %16.1f\n", c, m, m / b, 1e6 / m - 1e6 / b}'
done
obs_psql -d postgres -At -c "SELECT name || '=' || value FROM observa.info WHERE section = 'slow_queries' AND name IN ('slot_bytes', 'shared_memory_bytes')"

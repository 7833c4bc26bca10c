#!/usr/bin/env bash
# test/bench/profile.sh: where the backends' CPU goes, by library and by
# function, under one pgbench workload.  Not part of test/run.sh.  As root:
#
#   bash test/bench/profile.sh [config] [workload] [seconds]
#
# config: observa (default) | pgss | none; workload as in overhead.sh
# (select-prepared-2, select-simple-50, savepoint-8, dml-churn-8, ...).
# Builds observa into a private PostgreSQL copy (test/lib.sh), starts a
# cluster with that configuration, runs the workload for seconds + 6 s
# and, after a 3 s warm-up, records the backends' CPU samples with
#   perf record -F 999 -g -p <pids of the pgbench backends>
# then prints `perf report --sort dso` (share per library) and the
# functions of observa.so and of the extension's libraries by self time.
# OBS_PROFILE_SETTINGS adds postgresql.conf lines (e.g. observa.track = none).
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/test/lib.sh"

config=${1:-observa}
workload=${2:-select-prepared-2}
secs=${3:-10}
scale=${OBS_BENCH_SCALE:-10}
command -v perf >/dev/null || obs_die "perf is needed (apt-get install linux-perf)"

case $config in
none) preload="" ;;
pgss) preload="pg_stat_statements" ;;
observa) preload="observa" ;;
*) obs_die "config: none, pgss or observa" ;;
esac

obs_install_packages
obs_workdir profile
trap obs_cleanup EXIT
obs_stage "$here"
obs_cluster_start prof "shared_preload_libraries = '$preload'
max_connections = 70
shared_buffers = 256MB
${OBS_PROFILE_SETTINGS:-}"
"$OBS_BIN/pgbench" -q -i -s "$scale" -h "$OBS_HOST" -p "$OBS_PORT" -U postgres postgres >/dev/null 2>&1 ||
	obs_die "pgbench -i failed"

kind=${workload%-*}
n=${workload##*-}
args="-n -c $n -j $(( n < 2 ? 1 : 2 )) -h $OBS_HOST -p $OBS_PORT -U postgres"
obs_bench_workload_setup
case $kind in
select-prepared) args="$args -S -M prepared" ;;
select-simple) args="$args -S -M simple" ;;
tpcb-prepared) args="$args -M prepared" ;;
savepoint) args="$args -M simple -f $OBS_W/scripts/savepoint.sql" ;;
dml-churn) args="$args -M simple $OBS_CHURN_ARGS" ;;
*) obs_die "unknown workload $workload" ;;
esac

"$OBS_BIN/pgbench" $args -T $((secs + 6)) postgres >"$OBS_W/pgbench.out" 2>&1 &
pb=$!
sleep 3
pids=$(obs_psql -d postgres -At -c "SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE application_name = 'pgbench'")
[ -n "$pids" ] || obs_die "no pgbench backends"
perf record -q -F 999 -g -o "$OBS_W/perf.data" -p "$pids" -- sleep "$secs" >/dev/null 2>&1
wait $pb
echo "== $config, $workload, $secs s, $(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$OBS_W/pgbench.out" | head -1) tps, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== share of the backends' samples per library"
perf report -i "$OBS_W/perf.data" --no-children -g none --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -12
echo "== functions of the extensions, self time (share of all backend samples)"
perf report -i "$OBS_W/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null |
	grep -E '^ +[0-9].*(observa|pg_stat_statements|libm)' | head -40
echo "== inclusive time of the hooks (children)"
perf report -i "$OBS_W/perf.data" --children --sort symbol --stdio 2>/dev/null |
	grep -E '^ +[0-9].*(obs_|pgss_)' | head -20

#!/usr/bin/env bash
# test/bench/query_text.sh: cost of capturing statement texts.  Runs
# pgbench -S (simple protocol: every statement is parsed, so the text
# hook runs on each) against one server restarted with no extension, with
# pg_stat_statements, and with observa, interleaved in rounds; prints the
# median TPS of each and its ratio to no extension.  Not part of test/run.sh.
#   bash test/bench/query_text.sh [rounds] [seconds] [clients]
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/test/lib.sh"
rounds=${1:-3}
secs=${2:-5}
clients=${3:-2}

obs_install_packages
obs_workdir bench
trap obs_cleanup EXIT
obs_stage "$here"
obs_cluster_start bench "compute_query_id = on"
obs_as_pg "$OBS_BIN/pgbench" -i -q -s 2 -h "$OBS_HOST" -p "$OBS_PORT" -U postgres postgres >/dev/null 2>&1 ||
	obs_die "pgbench -i failed"

declare -A tps
configs="none pgss observa"
for r in $(seq 1 "$rounds"); do
	for c in $configs; do
		case $c in
			none) libs='' ;;
			pgss) libs='pg_stat_statements' ;;
			observa) libs='observa' ;;
		esac
		echo "shared_preload_libraries = '$libs'" >"$OBS_DATA/postgresql.auto.conf"
		obs_as_pg "$OBS_BIN/pg_ctl" -D "$OBS_DATA" -l "$OBS_W/bench.log" -w -t 60 restart >/dev/null ||
			obs_die "restart failed"
		t=$(obs_as_pg "$OBS_BIN/pgbench" -n -S -M simple -c "$clients" -j "$clients" -T "$secs" \
			-h "$OBS_HOST" -p "$OBS_PORT" -U postgres postgres 2>/dev/null |
			sed -n 's/^tps = \([0-9.]*\).*/\1/p')
		tps[$c]="${tps[$c]:-} $t"
		obs_log "round $r $c: $t tps"
	done
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
base=$(echo "${tps[none]}" | median)
printf '%-10s %12s %8s\n' config median_tps ratio
for c in $configs; do
	m=$(echo "${tps[$c]}" | median)
	awk -v c="$c" -v m="$m" -v b="$base" 'BEGIN { printf "%-10s %12.1f %8.3f\n", c, m, m / b }'
done

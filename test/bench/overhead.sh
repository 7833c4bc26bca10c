#!/usr/bin/env bash
# test/bench/overhead.sh: observa's overhead against no extension and
# pg_stat_statements.  Not part of test/run.sh.  As root:
#
#   bash test/bench/overhead.sh [rounds] [seconds] [clients] [scale]
#
# Builds a private copy like test/lib.sh does, starts one cluster, and for
# each round restarts it with shared_preload_libraries = '' /
# 'pg_stat_statements' / 'observa' (order rotated every round) and runs
# pgbench select-only -M prepared, select-only -M simple and tpcb-like
# (-M prepared) for the given seconds each.  Prints the median TPS of each
# configuration and its ratio to no extension.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/test/lib.sh"

rounds=${1:-3}
secs=${2:-10}
clients=${3:-2}
scale=${4:-5}

obs_install_packages
obs_workdir bench
trap obs_cleanup EXIT
obs_stage "$here"
obs_cluster_start bench "include_if_exists = 'preload.conf'
max_connections = 20"
obs_log "cluster on port $OBS_PORT; pgbench scale $scale, $clients clients, $secs s x $rounds rounds"
"$OBS_BIN/pgbench" -q -i -s "$scale" -h "$OBS_HOST" -p "$OBS_PORT" -U postgres postgres >/dev/null 2>&1 ||
	obs_die "pgbench -i failed"

configs="none pgss observa"
workloads="select-prepared select-simple tpcb-prepared"
results=$OBS_W/results.txt
: >"$results"

set_config() {
	case $1 in
	none) echo "shared_preload_libraries = ''" ;;
	pgss) printf "shared_preload_libraries = 'pg_stat_statements'\ncompute_query_id = on\n" ;;
	observa) printf "shared_preload_libraries = 'observa'\ncompute_query_id = on\n" ;;
	esac >"$OBS_DATA/preload.conf"
	chown postgres: "$OBS_DATA/preload.conf"
	obs_as_pg "$OBS_BIN/pg_ctl" -D "$OBS_DATA" -l "$OBS_W/bench.log" -w -t 60 restart >/dev/null ||
		obs_die "restart with $1 failed"
}

run_one() {
	local wl=$1 opts
	case $wl in
	select-prepared) opts="-S -M prepared" ;;
	select-simple) opts="-S -M simple" ;;
	tpcb-prepared) opts="-M prepared" ;;
	esac
	"$OBS_BIN/pgbench" -n $opts -c "$clients" -j "$clients" -T "$secs" \
		-h "$OBS_HOST" -p "$OBS_PORT" -U postgres postgres 2>/dev/null |
		sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1
}

for r in $(seq 1 "$rounds"); do
	# rotate the order of the configurations every round
	order=$(echo $configs | tr ' ' '\n' | awk -v r="$r" '{a[NR]=$0} END {for (i=0;i<NR;i++) print a[(i+r-1)%NR+1]}')
	for c in $order; do
		set_config "$c"
		for wl in $workloads; do
			tps=$(run_one "$wl")
			echo "$r $c $wl ${tps:-0}" >>"$results"
			obs_log "round $r $c $wl: $tps tps"
		done
	done
done

echo
echo "median TPS over $rounds rounds ($secs s each, $clients clients, scale $scale)"
printf '%-16s %12s %12s %12s %10s %10s\n' workload none pgss observa pgss/none observa/none
for wl in $workloads; do
	med() { awk -v c="$1" -v w="$wl" '$2==c && $3==w {print $4}' "$results" | sort -n |
		awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
	n=$(med none); p=$(med pgss); o=$(med observa)
	awk -v wl="$wl" -v n="$n" -v p="$p" -v o="$o" \
		'BEGIN {printf "%-16s %12.0f %12.0f %12.0f %10.3f %10.3f\n", wl, n, p, o, p/n, o/n}'
done

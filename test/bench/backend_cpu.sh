#!/usr/bin/env bash
# test/bench/backend_cpu.sh: CPU time the server backend spends per
# statement, with no extension, with pg_stat_statements and with observa,
# interleaved in rounds.  Not part of test/run.sh.  As root:
#
#   bash test/bench/backend_cpu.sh [rounds] [transactions]
#
# One pgbench client runs a fixed number of select-only transactions
# (-M prepared, then -M simple); `perf stat -e task-clock` attached to its
# backend measures the backend's CPU time.  CPU time of one backend is far
# less sensitive to other load on a shared machine than TPS is.  Prints
# the median microseconds per transaction and the ratio to no extension
# (lower is better; 1.00 = no overhead).
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/test/lib.sh"

rounds=${1:-5}
xacts=${2:-60000}

command -v perf >/dev/null || { apt-get install -y -qq linux-perf >/dev/null 2>&1 || obs_die "perf is needed"; }
obs_install_packages
obs_workdir cpu
trap obs_cleanup EXIT
obs_stage "$here"
obs_cluster_start cpu "include_if_exists = 'preload.conf'
max_connections = 20"
"$OBS_BIN/pgbench" -q -i -s 2 -h "$OBS_HOST" -p "$OBS_PORT" -U postgres postgres >/dev/null 2>&1 ||
	obs_die "pgbench -i failed"

configs=${CONFIGS:-"none pgss observa observa_noadvisor"}
set_config() {
	case $1 in
	none) echo "shared_preload_libraries = ''" ;;
	pgss) printf "shared_preload_libraries = 'pg_stat_statements'\ncompute_query_id = on\n" ;;
	observa) printf "shared_preload_libraries = 'observa'\ncompute_query_id = on\n" ;;
	observa_noadvisor) printf "shared_preload_libraries = 'observa'\ncompute_query_id = on\nobserva.advisor_sample_rate = 0\n" ;;
	observa_tracknone) printf "shared_preload_libraries = 'observa'\ncompute_query_id = on\nobserva.track = none\n" ;;
	esac >"$OBS_DATA/preload.conf"
	chown postgres: "$OBS_DATA/preload.conf"
	obs_as_pg "$OBS_BIN/pg_ctl" -D "$OBS_DATA" -l "$OBS_W/cpu.log" -w -t 60 restart >/dev/null ||
		obs_die "restart with $1 failed"
}

# one measured run: prints microseconds of backend CPU per transaction
measure() {
	local mode=$1 pid ms
	"$OBS_BIN/pgbench" -n -S -M "$mode" -c 1 -t "$xacts" -h "$OBS_HOST" -p "$OBS_PORT" -U postgres \
		postgres >/dev/null 2>&1 &
	local pb=$!
	pid=""
	for _ in $(seq 1 200); do
		pid=$(obs_psql -d postgres -At -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgbench' ORDER BY backend_start DESC LIMIT 1")
		[ -n "$pid" ] && break
		sleep 0.02
	done
	[ -n "$pid" ] || obs_die "no pgbench backend"
	ms=$(perf stat -x, -e task-clock -p "$pid" 2>&1 >/dev/null | awk -F, '/task-clock/ {print $1}')
	wait $pb
	awk -v ms="$ms" -v n="$xacts" 'BEGIN { printf "%.2f", ms * 1000 / n }'
}

results=$OBS_W/results.txt
: >"$results"
for r in $(seq 1 "$rounds"); do
	# rotate the order so no configuration always runs first
	order=$(echo $configs | tr ' ' '\n' | awk -v r="$r" '{a[NR]=$0} END {for (i=0;i<NR;i++) print a[(i+r)%NR+1]}')
	for c in $order; do
		set_config "$c"
		for mode in prepared simple; do
			us=$(measure "$mode")
			echo "$c $mode $us" >>"$results"
			obs_log "round $r $c $mode: $us us/xact"
		done
	done
done

echo
echo "median backend CPU per select-only transaction over $rounds rounds ($xacts transactions each, 1 client)"
printf '%-20s %10s %10s %12s %12s\n' config prepared simple "ratio(prep)" "ratio(simple)"
for c in $configs; do
	p=$(awk -v c="$c" '$1==c && $2=="prepared" {print $3}' "$results" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	s=$(awk -v c="$c" '$1==c && $2=="simple" {print $3}' "$results" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	echo "$c $p $s"
done | awk 'NR==1 {bp=$2; bs=$3} {printf "%-20s %10.2f %10.2f %12.3f %12.3f\n", $1, $2, $3, $2/bp, $3/bs}'

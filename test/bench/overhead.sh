#!/usr/bin/env bash
# test/bench/overhead.sh: what observa costs per transaction, against no
# extension and against pg_stat_statements, measured as CPU time.  Not part
# of test/run.sh.  As root:
#
#   bash test/bench/overhead.sh [full|short|planning]
#
# planning: observa and pg_stat_statements with track_planning off and on
# (the variants observa-planning and pgss-planning below), on the simple
# protocol (every statement planned) and the prepared one (plans cached).
#
# It builds observa into a private copy of PostgreSQL (test/lib.sh), starts
# one cluster and runs every workload under every configuration, the
# configurations interleaved in rounds (their order rotated each round, so
# drift on a shared machine hits them all alike; by default each workload
# runs under every configuration in turn, see OBS_BENCH_INTERLEAVE).  A configuration is a
# restart with other settings:
#   none      no extension preloaded
#   pgss      pg_stat_statements at its defaults
#   observa   observa at its defaults, every room on
#   base      observa built from OBS_BASELINE_REF (when set), into a second
#             private PostgreSQL copy started on the same data directory
#   <variant> from OBS_BENCH_VARIANTS (below)
#
# Measured per run: CPU time (user + system) of the whole server, i.e. the
# postmaster, every process it forked (a backend that exited during the run
# is in the postmaster's cutime/cstime once reaped) plus pgbench's own CPU
# time, divided by the transactions pgbench completed.  CPU time does not
# depend on how much of the machine other processes take, which TPS does.
# Printed: median microseconds of CPU per transaction and the median of the
# per-round ratios CPU/tx(none) / CPU/tx(config), so 1.000 = free and 0.900
# = the configuration costs 11 % more CPU per transaction.  With a baseline
# build, also observa against base (above 1.000: the new build is cheaper).
#
# Workloads (name = kind-clients; pgbench scale OBS_BENCH_SCALE, default 10):
#   select-prepared-N  pgbench -S -M prepared, N clients
#   select-simple-N    pgbench -S -M simple, N clients
#   savepoint-N        BEGIN; SAVEPOINT sp_:k; SELECT ...; RELEASE SAVEPOINT
#                      sp_:k; END; with k random: a new savepoint name per
#                      transaction, as ORMs do (-M simple)
#   dml-churn-N        10 000 distinct UPDATE statements (100 scripts of 100,
#                      pgbench picks one per transaction), more than
#                      observa.max_statements and pg_stat_statements.max, so
#                      eviction and text storage run all the time (-M simple)
#   tpcb-prepared-N    pgbench's default script, -M prepared
#
# Environment (defaults for full / short):
#   OBS_BENCH_ROUNDS     rounds (5 / 3); medians need at least 5
#   OBS_BENCH_SECS       seconds per measured run (10 / 3), after a warm-up
#                        run of OBS_BENCH_WARMUP seconds (2 / 1) that fills
#                        the statistics stores
#   OBS_BENCH_WORKLOADS  (select-prepared-2 select-prepared-50
#                        select-simple-2 select-simple-50 savepoint-8
#                        dml-churn-8 / select-prepared-2 select-simple-2
#                        savepoint-8 dml-churn-8)
#   OBS_BENCH_CONFIGS    (none pgss observa, plus base with a baseline)
#   OBS_BASELINE_REF     a git ref of this repository to compare against,
#                        e.g. main or a commit: "no regression in the same run"
#   OBS_BENCH_VARIANTS   extra configurations, space separated, each
#                        name=config:setting[,setting...], for example
#                        "observa-planning=observa:observa.track_planning=on
#                         pgss-planning=pgss:pg_stat_statements.track_planning=on"
#   OBS_BENCH_INTERLEAVE workload (default): per round, each workload runs
#                        under every configuration in turn (a restart per
#                        run, the compared runs close in time); config: per
#                        round, each configuration runs every workload
#   OBS_BENCH_SCALE      pgbench scale (10)
#   OBS_KEEP=1           keep the work directory (results.txt has every run)
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/test/lib.sh"

mode=${1:-full}
d_variants=""
case $mode in
full) d_rounds=5 d_secs=10 d_warm=2
	d_workloads="select-prepared-2 select-prepared-50 select-simple-2 select-simple-50 savepoint-8 dml-churn-8" ;;
short) d_rounds=3 d_secs=3 d_warm=1
	d_workloads="select-prepared-2 select-simple-2 savepoint-8 dml-churn-8" ;;
planning) d_rounds=5 d_secs=5 d_warm=1
	d_workloads="select-simple-2 select-prepared-2 tpcb-prepared-2"
	d_variants="observa-planning=observa:observa.track_planning=on pgss-planning=pgss:pg_stat_statements.track_planning=on" ;;
*) obs_die "usage: overhead.sh [full|short|planning]" ;;
esac
rounds=${OBS_BENCH_ROUNDS:-$d_rounds}
secs=${OBS_BENCH_SECS:-$d_secs}
warm=${OBS_BENCH_WARMUP:-$d_warm}
workloads=${OBS_BENCH_WORKLOADS:-$d_workloads}
scale=${OBS_BENCH_SCALE:-10}
baseline=${OBS_BASELINE_REF:-}
variants=${OBS_BENCH_VARIANTS:-$d_variants}
configs=${OBS_BENCH_CONFIGS:-"none pgss observa${baseline:+ base}"}
interleave=${OBS_BENCH_INTERLEAVE:-workload}
for v in $variants; do configs="$configs ${v%%=*}"; done
clk_tck=$(getconf CLK_TCK)

obs_install_packages
obs_workdir bench
trap obs_cleanup EXIT
obs_stage "$here"
cur_bin=$OBS_BIN
base_bin=""

# the baseline: git archive of the ref, built and installed into a second
# private copy of PostgreSQL under $OBS_W/base (same server binaries)
if [ -n "$baseline" ]; then
	rev=$(git -C "$here" rev-parse --verify --short "$baseline^{commit}") ||
		obs_die "OBS_BASELINE_REF=$baseline is not a commit of $here"
	mkdir -p "$OBS_W/base/tree"
	git -C "$here" archive "$rev" | tar -C "$OBS_W/base/tree" -xf - ||
		obs_die "git archive $rev failed"
	chown -R postgres: "$OBS_W/base"
	base_bin=$(OBS_W=$OBS_W/base; obs_stage "$OBS_W/tree" >&2 && echo "$OBS_BIN") ||
		obs_die "building the baseline $baseline ($rev) failed"
	obs_log "baseline: $baseline = $rev"
fi

obs_cluster_start bench "include_if_exists = 'preload.conf'
max_connections = 70
shared_buffers = 256MB"
obs_log "cluster on port $OBS_PORT; scale $scale, $rounds rounds of $secs s (+ $warm s warm-up)"
obs_log "configs: $configs; workloads: $workloads"
"$OBS_BIN/pgbench" -q -i -s "$scale" -h "$OBS_HOST" -p "$OBS_PORT" -U postgres postgres >/dev/null 2>&1 ||
	obs_die "pgbench -i failed"

# the churn workloads' scripts and table
obs_bench_workload_setup
churn_args=$OBS_CHURN_ARGS
obs_psql -d postgres -c "CREATE EXTENSION pg_prewarm" -c "VACUUM ANALYZE" >/dev/null || obs_die "churn setup failed"

# configuration -> lines of preload.conf, and which binaries run it
config_settings() {
	local c=$1 v
	case $c in
	none) echo "shared_preload_libraries = ''" ;;
	pgss) printf "shared_preload_libraries = 'pg_stat_statements'\npg_stat_statements.save = off\n" ;;
	observa | base) printf "shared_preload_libraries = 'observa'\nobserva.save = off\n" ;;
	*)
		for v in $variants; do
			[ "${v%%=*}" = "$c" ] || continue
			v=${v#*=}
			config_settings "${v%%:*}"
			echo "${v#*:}" | tr ',' '\n'
			return 0
		done
		obs_die "unknown configuration $c"
		;;
	esac
}
config_bin() { if [ "$1" = base ]; then echo "$base_bin"; else echo "$OBS_BIN"; fi; }

set_config() {
	local c=$1 bin
	bin=$(config_bin "$c")
	config_settings "$c" >"$OBS_DATA/preload.conf" || exit 1
	chown postgres: "$OBS_DATA/preload.conf"
	obs_as_pg "$cur_bin/pg_ctl" -D "$OBS_DATA" -w -t 60 stop >/dev/null ||
		obs_die "stop failed"
	obs_as_pg "$bin/pg_ctl" -D "$OBS_DATA" -l "$OBS_W/bench.log" -w -t 60 start >/dev/null ||
		{ tail -20 "$OBS_W/bench.log" >&2; obs_die "start with $c failed"; }
	cur_bin=$bin
	obs_psql -d postgres -At -c "SELECT pg_prewarm('pgbench_accounts'), pg_prewarm('pgbench_accounts_pkey'), pg_prewarm('churn')" >/dev/null ||
		obs_die "prewarm failed"
}

# CPU clock ticks of the server so far: the postmaster (with its reaped
# children) and every live child with its own reaped children
server_ticks() {
	perl -e '
		my ($pm, $t, $n) = (shift, 0, 0);
		opendir(my $d, "/proc") or die;
		for my $p (grep { /^\d+$/ } readdir $d) {
			open(my $f, "<", "/proc/$p/stat") or next;
			my $s = <$f>;
			close $f;
			next unless defined $s;
			$s =~ s/^.*\)\s+//;			# pid and (comm)
			my @f = split " ", $s;		# $f[0] = state, $f[1] = ppid
			next unless $p == $pm || $f[1] == $pm;
			$t += $f[11] + $f[12] + $f[13] + $f[14];
			$n++ if $p != $pm;
		}
		print "$t $n\n";' "$1"
}

# run pgbench; prints "transactions pgbench-cpu-ticks tps"
pgbench_cpu() {
	perl -MPOSIX -e '
		my $pid = fork() // die "fork: $!";
		if (!$pid) { exec(@ARGV) or die "exec: $!"; }
		waitpid($pid, 0);
		my @t = POSIX::times();
		print STDERR "CHILD_TICKS ", $t[3] + $t[4], "\n";
		exit($? >> 8);' "$@" 2>"$OBS_W/pgbench.err" >"$OBS_W/pgbench.out"
	local rc=$? tx ticks tps
	tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$OBS_W/pgbench.out")
	tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$OBS_W/pgbench.out" | head -1)
	ticks=$(sed -n 's/^CHILD_TICKS //p' "$OBS_W/pgbench.err")
	if [ "$rc" != 0 ] || [ -z "$tx" ]; then
		grep -v '^CHILD_TICKS' "$OBS_W/pgbench.err" | tail -5 >&2
		echo "0 0 0"
		return
	fi
	echo "$tx $ticks ${tps:-0}"
}

pgbench_args() {
	local kind=${1%-*} n=${1##*-}
	local common="-n -c $n -j $(( n < 2 ? 1 : 2 )) -h $OBS_HOST -p $OBS_PORT -U postgres"
	case $kind in
	select-prepared) echo "$common -S -M prepared" ;;
	select-simple) echo "$common -S -M simple" ;;
	savepoint) echo "$common -M simple -f $OBS_W/scripts/savepoint.sql" ;;
	dml-churn) echo "$common -M simple $churn_args" ;;
	tpcb-prepared) echo "$common -M prepared" ;;
	*) obs_die "unknown workload $1" ;;
	esac
}

# wait (up to 10 s) until the postmaster has at most $2 children again:
# the backends of a finished run have exited and been reaped
wait_children() {
	local s n
	for _ in $(seq 1 200); do
		read -r s n < <(server_ticks "$1")
		[ "$n" -le "$2" ] && return 0
		sleep 0.05
	done
}

# one measured run: prints "tx server-ticks client-ticks tps"
measure() {
	local args pm s0 s1 n0 r
	args=$(pgbench_args "$1")
	pm=$(head -1 "$OBS_DATA/postmaster.pid")
	read -r s0 n0 < <(server_ticks "$pm")
	# warm-up: the statistics stores reach their steady state
	if [ "$warm" -gt 0 ]; then
		pgbench_cpu "$OBS_BIN/pgbench" $args -T "$warm" postgres >/dev/null
		wait_children "$pm" "$n0"
	fi
	read -r s0 n0 < <(server_ticks "$pm")
	r=$(pgbench_cpu "$OBS_BIN/pgbench" $args -T "$secs" postgres)
	wait_children "$pm" "$n0"
	read -r s1 _ < <(server_ticks "$pm")
	set -- $r
	echo "$1 $((s1 - s0)) $2 $3"
}

results=$OBS_W/results.txt
: >"$results"
nconf=$(echo $configs | wc -w)
rotate() { echo $configs | tr ' ' '\n' | awk -v r="$1" '{a[NR]=$0} END {for (i=0;i<NR;i++) print a[(i+r-1)%NR+1]}'; }
run_one() {
	read -r tx st ct tps < <(measure "$3")
	echo "$1 $2 $3 $tx $st $ct $tps" >>"$results"
	obs_log "round $1/$rounds $2 $3: $tx tx, $tps tps, server $st + pgbench $ct ticks"
}
cur_config=""
for r in $(seq 1 "$rounds"); do
	if [ "$interleave" = workload ]; then
		# every workload runs under each configuration in turn (a restart
		# each), so the runs compared are at most a few runs apart
		w=0
		for wl in $workloads; do
			w=$((w + 1))
			for c in $(rotate $((r + w))); do
				[ "$c" = "$cur_config" ] || set_config "$c"
				cur_config=$c
				run_one "$r" "$c" "$wl"
			done
		done
	else
		for c in $(rotate "$r"); do
			set_config "$c"
			for wl in $workloads; do run_one "$r" "$c" "$wl"; done
		done
	fi
done
obs_as_pg "$cur_bin/pg_ctl" -D "$OBS_DATA" -w -t 60 stop >/dev/null
OBS_CLUSTERS=""

# report: CPU/tx per run, medians, per-round ratios
echo
echo "overhead.sh $mode: $rounds rounds, $secs s per run, scale $scale, $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
[ -n "$baseline" ] && echo "baseline: $baseline ($rev)"
awk -v tck="$clk_tck" -v configs="$configs" -v workloads="$workloads" -v base="$baseline" '
function median(arr, n,    i, j, t) {
	for (i = 2; i <= n; i++) { t = arr[i]; for (j = i - 1; j >= 1 && arr[j] > t; j--) arr[j + 1] = arr[j]; arr[j + 1] = t }
	if (n == 0) return 0
	return (n % 2) ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
}
{ if ($4 > 0) us[$1, $2, $3] = ($5 + $6) * 1e6 / tck / $4; rounds[$1] = 1 }
END {
	nc = split(configs, cs, " "); nw = split(workloads, ws, " ")
	printf "\nCPU per transaction, microseconds (median over rounds)\n%-20s", "workload"
	for (i = 1; i <= nc; i++) printf " %12s", cs[i]
	printf "\n"
	for (w = 1; w <= nw; w++) {
		printf "%-20s", ws[w]
		for (i = 1; i <= nc; i++) {
			n = 0; for (r in rounds) if ((r, cs[i], ws[w]) in us) a[++n] = us[r, cs[i], ws[w]]
			printf " %12.1f", median(a, n)
		}
		printf "\n"
	}
	printf "\nratio CPU/tx(none) / CPU/tx(config), median of per-round ratios (1.000 = free)\n%-20s", "workload"
	for (i = 1; i <= nc; i++) if (cs[i] != "none") printf " %12s", cs[i]
	if (base != "") printf " %14s", "base/observa"
	printf "\n"
	for (w = 1; w <= nw; w++) {
		printf "%-20s", ws[w]
		for (i = 1; i <= nc; i++) {
			if (cs[i] == "none") continue
			n = 0
			for (r in rounds)
				if (((r, "none", ws[w]) in us) && ((r, cs[i], ws[w]) in us) && us[r, cs[i], ws[w]] > 0)
					a[++n] = us[r, "none", ws[w]] / us[r, cs[i], ws[w]]
			printf " %12.3f", median(a, n)
		}
		if (base != "") {
			n = 0
			for (r in rounds)
				if (((r, "base", ws[w]) in us) && ((r, "observa", ws[w]) in us) && us[r, "observa", ws[w]] > 0)
					a[++n] = us[r, "base", ws[w]] / us[r, "observa", ws[w]]
			printf " %14.3f", median(a, n)
		}
		printf "\n"
	}
}' "$results"

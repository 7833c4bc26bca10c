#!/usr/bin/env bash
# test/bench/instructions.sh: instructions a backend executes per
# transaction, counted by valgrind's callgrind, with no extension, with
# pg_stat_statements and with observa.  Not part of test/run.sh.  As root:
#
#   bash test/bench/instructions.sh [workload ...]
#
# Workloads (one client each): select-simple, select-prepared (pgbench -S
# -M simple / prepared), savepoint (BEGIN; SAVEPOINT sp_:k; SELECT ...;
# RELEASE SAVEPOINT sp_:k; END; with k random), dml-churn (10 000
# distinct UPDATE statements in 100 scripts of 100, as in overhead.sh:
# more than observa.max_statements and pg_stat_statements.max, so entries
# are evicted and texts released all the time; a transaction is one
# script of 100 statements, and the runs are OBS_INSN_CHURN_TX1 (default
# 20) and OBS_INSN_CHURN_TX2 (default 60) transactions, after a warm-up of
# 30 that fills the stores).  Default: all but dml-churn.
#
# Why: CPU time per transaction (overhead.sh) is the cost that matters,
# but on a shared 2-core machine a median of rounds still moves by 5 to
# 20 % between runs.  An instruction count does not depend on the load:
# the same binary, settings and statements give the same count within a
# fraction of a percent, so differences of 1 % between configurations can
# be seen, and callgrind says in which functions they are (PostgreSQL's
# own code that an extension calls included, which a sampling profile of
# the extension's library misses).  Instructions are not time (cache
# misses and lock waits are not counted): this complements overhead.sh,
# it does not replace it.
#
# Method: the postmaster runs under callgrind (each backend writes its own
# profile when it exits); per configuration and workload, pgbench runs
# OBS_INSN_TX1 (default 300) and then OBS_INSN_TX2 (default 1300)
# transactions in two new connections, after a warm-up connection; the
# difference of the two backends' instruction counts divided by the
# difference of transactions is the count per transaction, free of
# connection start and exit, and of what the postmaster executed before it
# forked the backend (its _PG_init and shared-memory set-up), which
# callgrind counts again in every backend.  Printed: instructions per transaction, the
# ratio to no extension (1.000 = free, as in overhead.sh) and, per
# extension, the functions where the extra instructions are (inclusive
# function, against no extension, with PostgreSQL's own functions that an
# extension calls; OBS_INSN_KEEP=1 keeps the profiles in the work
# directory for callgrind_annotate).
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/test/lib.sh"

workloads=${*:-select-simple select-prepared savepoint}
tx1=${OBS_INSN_TX1:-300}
tx2=${OBS_INSN_TX2:-1300}
scale=${OBS_BENCH_SCALE:-1}
command -v valgrind >/dev/null || obs_die "valgrind is needed (apt-get install valgrind)"
command -v callgrind_annotate >/dev/null || obs_die "callgrind_annotate is needed (valgrind)"

obs_install_packages
obs_workdir insn
[ -n "${OBS_INSN_KEEP:-}" ] && OBS_KEEP=1
trap obs_cleanup EXIT
obs_stage "$here"

# a normal cluster for initdb and pgbench -i, then restarted under callgrind
obs_cluster_start insn "max_connections = 20
shared_buffers = 64MB
autovacuum = off
include_if_exists = 'preload.conf'"
"$OBS_BIN/pgbench" -q -i -s "$scale" -h "$OBS_HOST" -p "$OBS_PORT" -U postgres postgres >/dev/null 2>&1 ||
	obs_die "pgbench -i failed"
obs_psql -d postgres -c 'CREATE EXTENSION pg_stat_statements' >/dev/null
obs_bench_workload_setup
churn_args=$OBS_CHURN_ARGS
obs_as_pg "$OBS_BIN/pg_ctl" -D "$OBS_DATA" -w -m fast stop >/dev/null
OBS_CLUSTERS=""


pgbench_args() {
	case $1 in
	select-simple) echo "-S -M simple" ;;
	select-prepared) echo "-S -M prepared" ;;
	savepoint) echo "-M simple -f $OBS_W/scripts/savepoint.sql" ;;
	dml-churn) echo "-M simple $churn_args" ;;
	*) obs_die "unknown workload $1" ;;
	esac
}

config_settings() {
	case $1 in
	none) echo "shared_preload_libraries = ''" ;;
	pgss) printf "shared_preload_libraries = 'pg_stat_statements'\npg_stat_statements.save = off\n" ;;
	observa) printf "shared_preload_libraries = 'observa'\nobserva.save = off\n" ;;
	esac
}

# run pgbench with the arguments given and print the profile its client
# backend wrote when it exited: of the files that are new afterwards, the
# one that counts the most instructions (pgbench also opens a short
# connection of its own first; the other processes write theirs at
# shutdown)
run_profiled() {
	local want=$1 before new n0=-1 n1 stable=0
	shift
	before=$(ls "$OBS_W/cg")
	"$OBS_BIN/pgbench" "$@" postgres >"$OBS_W/pgbench.out" 2>&1 || { cat "$OBS_W/pgbench.out" >&2; return 1; }
	# want: how many connections the run makes (0: unknown, wait until no
	# new profile appeared for 5 s); valgrind writes a large profile slowly
	for _ in $(seq 1 120); do
		sleep 1
		new=$(ls "$OBS_W/cg" | grep -vxF -f <(echo "$before"))
		n1=$(echo "$new" | grep -c .)
		[ "$want" -gt 0 ] && [ "$n1" -ge "$want" ] && break
		if [ "$n1" = "$n0" ]; then stable=$((stable + 1)); else stable=0; fi
		[ "$want" = 0 ] && [ "$n1" -gt 0 ] && [ "$stable" -ge 5 ] && break
		n0=$n1
	done
	[ -n "$new" ] || return 1
	for f in $new; do echo "$(total_ir "$OBS_W/cg/$f") $OBS_W/cg/$f"; done | sort -n | tail -1 | cut -d' ' -f2
}

total_ir() { sed -n 's/^summary: *\([0-9]*\).*/\1/p;s/^totals: *\([0-9]*\).*/\1/p' "$1" 2>/dev/null | head -1; }

# where a configuration's extra instructions are: per function (any
# library, PostgreSQL's own included), the exclusive instructions per
# transaction of (config's long run - its short run) minus (the same for
# no extension), the 15 largest differences
per_tx_diff() {
	perl -e '
		my ($nl, $ns, $cl, $cs, $n) = @ARGV;
		my %c;
		for my $f ([$cl, 1], [$cs, -1], [$nl, -1], [$ns, 1]) {
			open(my $h, "-|", "callgrind_annotate", "--threshold=100", $f->[0]) or die;
			while (<$h>) {
				next unless /^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S+?):(\S+)\s+\[(\S+)\]/;
				my ($ir, $fn, $obj) = ($1, $3, $4);
				$obj =~ s|.*/||;
				$ir =~ s/,//g;
				$c{"$fn ($obj)"} += $f->[1] * $ir;
			}
		}
		my @k = sort { abs($c{$b}) <=> abs($c{$a}) } keys %c;
		printf "%10.0f  %s\n", $c{$_} / $n, $_ for @k[0 .. ($#k < 14 ? $#k : 14)];
	' "$@"
}

declare -A insn txs
for c in none pgss observa; do
	config_settings "$c" >"$OBS_DATA/preload.conf"
	chown postgres: "$OBS_DATA/preload.conf"
	rm -rf "$OBS_W/cg"
	mkdir -p "$OBS_W/cg" && chown postgres: "$OBS_W/cg"
	obs_as_pg valgrind --tool=callgrind --quiet --trace-children=no \
		--callgrind-out-file="$OBS_W/cg/cg.%p" \
		"$OBS_BIN/postgres" -D "$OBS_DATA" >"$OBS_W/valgrind-$c.log" 2>&1 &
	vg=$!
	for _ in $(seq 1 120); do
		"$OBS_BIN/pg_isready" -q -h "$OBS_HOST" -p "$OBS_PORT" && break
		sleep 1
	done
	"$OBS_BIN/pg_isready" -q -h "$OBS_HOST" -p "$OBS_PORT" || { tail "$OBS_W/valgrind-$c.log" >&2; obs_die "no server under valgrind"; }
	# pg_isready's connections write profiles too: let them land first
	n0=-1
	for _ in $(seq 1 30); do
		sleep 2
		n1=$(ls "$OBS_W/cg" | wc -l)
		[ "$n1" = "$n0" ] && break
		n0=$n1
	done
	for w in $workloads; do
		args="-n -c 1 -h $OBS_HOST -p $OBS_PORT -U postgres $(pgbench_args "$w")"
		warm=100 t1=$tx1 t2=$tx2
		[ "$w" = dml-churn ] && warm=30 t1=${OBS_INSN_CHURN_TX1:-20} t2=${OBS_INSN_CHURN_TX2:-60}
		txs[$w]="$t1 $t2"
		run_profiled 0 $args -t "$warm" >"$OBS_W/warm" || obs_die "pgbench ($c, $w) failed"
		nconn=$(ls "$OBS_W/cg" | wc -l)
		run_profiled 0 $args -t "$warm" >/dev/null || obs_die "pgbench ($c, $w) failed"
		nconn=$(( $(ls "$OBS_W/cg" | wc -l) - nconn ))
		for t in $t1 $t2; do
			p=$(run_profiled "$nconn" $args -t "$t") || obs_die "pgbench ($c, $w, $t transactions) failed"
			mv "$p" "$OBS_W/$c-$w-$t.cg"
		done
		i1=$(total_ir "$OBS_W/$c-$w-$t1.cg")
		i2=$(total_ir "$OBS_W/$c-$w-$t2.cg")
		insn[$c,$w]=$(( (i2 - i1) / (t2 - t1) ))
		obs_log "$c $w: ${insn[$c,$w]} instructions per transaction"
	done
	obs_as_pg "$OBS_BIN/pg_ctl" -D "$OBS_DATA" -w -m fast stop >/dev/null 2>&1
	wait $vg 2>/dev/null
done

printf "\ninstructions per transaction (callgrind, one client; the difference of two runs of\n%d and %d transactions, dml-churn: %s)\n" "$tx2" "$tx1" "${OBS_INSN_CHURN_TX2:-60} and ${OBS_INSN_CHURN_TX1:-20}"
printf "%-18s %12s %12s %12s %8s %8s\n" workload none pgss observa pgss observa
for w in $workloads; do
	n=${insn[none,$w]}
	printf "%-18s %12d %12d %12d %8.3f %8.3f\n" "$w" "$n" "${insn[pgss,$w]}" "${insn[observa,$w]}" \
		"$(echo "$n / ${insn[pgss,$w]}" | bc -l)" "$(echo "$n / ${insn[observa,$w]}" | bc -l)"
done
printf "(ratios: none / config, 1.000 = free)\n"

# where the extensions' instructions go
for w in $workloads; do
	set -- ${txs[$w]}
	for c in pgss observa; do
		echo "== $c, $w: extra instructions per transaction by function (exclusive, against no extension)"
		per_tx_diff "$OBS_W/none-$w-$2.cg" "$OBS_W/none-$w-$1.cg" "$OBS_W/$c-$w-$2.cg" "$OBS_W/$c-$w-$1.cg" $(($2 - $1))
	done
done

#!/usr/bin/env bash
# test/bench/lock_count.sh: LWLock acquisitions per statement, counted
# with uprobes, with no extension, with pg_stat_statements and with observa.
# Not part of test/run.sh.  As root:
#
#   bash test/bench/lock_count.sh [seconds]
#
# Builds observa into a private PostgreSQL copy (test/lib.sh), puts two
# uprobes on that copy's postgres binary (LWLockAcquire and ExecutorStart),
# and for each configuration runs one pgbench client (select-only,
# -M prepared) and counts, with `perf stat -p` on its backend for the given
# seconds after a 2 s warm-up, how often each function ran.  Prints
# LWLockAcquire calls per ExecutorStart call (per statement) and the
# difference to no extension: the locks an extension adds per statement.
# Spinlocks are inline and cannot be counted this way (pg_stat_statements
# takes its entry's spinlock once per statement, by its code).  observa's
# own counters (observa.info, every room) are printed for comparison.
# The probes are removed at exit.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/test/lib.sh"

secs=${1:-4}
command -v perf >/dev/null || obs_die "perf is needed (apt-get install linux-perf)"
obs_install_packages
obs_workdir locks
group=obs_locks_$$
cleanup() {
	perf probe -q -d "$group:*" >/dev/null 2>&1
	obs_cleanup
}
trap cleanup EXIT
obs_stage "$here"
obs_cluster_start locks "include_if_exists = 'preload.conf'"
"$OBS_BIN/pgbench" -q -i -s 1 -h "$OBS_HOST" -p "$OBS_PORT" -U postgres postgres >/dev/null 2>&1 ||
	obs_die "pgbench -i failed"
perf probe -q -x "$OBS_BIN/postgres" --add "$group:lwlock=LWLockAcquire" >/dev/null 2>&1 &&
	perf probe -q -x "$OBS_BIN/postgres" --add "$group:stmt=ExecutorStart" >/dev/null 2>&1 ||
	obs_die "perf probe failed (uprobes not available?)"

observa_locks() {
	obs_psql -d postgres -c "CREATE EXTENSION IF NOT EXISTS observa" >/dev/null 2>&1
	obs_psql -d postgres -At -c "SELECT coalesce(sum(value::bigint), 0) FROM observa.info
		WHERE name LIKE '%_acquisitions'" 2>/dev/null || echo 0
}

printf '%-10s %14s %14s %16s %20s\n' config statements lwlocks "lwlocks/stmt" "added by extension"
base=""
for c in none pgss observa; do
	case $c in
	none) echo "shared_preload_libraries = ''" ;;
	pgss) echo "shared_preload_libraries = 'pg_stat_statements'" ;;
	observa) echo "shared_preload_libraries = 'observa'" ;;
	esac >"$OBS_DATA/preload.conf"
	chown postgres: "$OBS_DATA/preload.conf"
	obs_as_pg "$OBS_BIN/pg_ctl" -D "$OBS_DATA" -l "$OBS_W/locks.log" -w restart >/dev/null || obs_die "restart failed"
	"$OBS_BIN/pgbench" -n -S -M prepared -c 1 -T $((secs + 4)) -h "$OBS_HOST" -p "$OBS_PORT" -U postgres \
		postgres >/dev/null 2>&1 &
	pb=$!
	sleep 2
	pid=$(obs_psql -d postgres -At -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgbench'")
	[ -n "$pid" ] || obs_die "no pgbench backend"
	perf stat -x, -e "$group:lwlock,$group:stmt" -p "$pid" -- sleep "$secs" 2>"$OBS_W/stat.txt" >/dev/null
	# OBS_LOCKS_CALLERS=1: which functions called LWLockAcquire (a second sample)
	if [ -n "${OBS_LOCKS_CALLERS:-}" ] && [ "$c" != none ]; then
		perf record -q -e "$group:lwlock" -g -p "$pid" -o "$OBS_W/callers.data" -- sleep 1 >/dev/null 2>&1
		perf report -i "$OBS_W/callers.data" --no-children --stdio -G --sort symbol 2>/dev/null |
			grep -E '^ +[0-9]|--[0-9.]+%--' | head -30 >"$OBS_W/callers-$c.txt"
	fi
	wait $pb
	locks=$(awk -F, '/:lwlock/ {print $1}' "$OBS_W/stat.txt")
	stmts=$(awk -F, '/:stmt/ {print $1}' "$OBS_W/stat.txt")
	per=$(awk -v l="$locks" -v s="$stmts" 'BEGIN {printf "%.3f", (s > 0 ? l / s : 0)}')
	[ -z "$base" ] && base=$per
	printf '%-10s %14s %14s %16s %20s\n' "$c" "$stmts" "$locks" "$per" \
		"$(awk -v p="$per" -v b="$base" 'BEGIN {printf "%+.3f", p - b}')"
	[ -s "$OBS_W/callers-$c.txt" ] && { echo "-- callers of LWLockAcquire under $c:"; cat "$OBS_W/callers-$c.txt"; }
	[ "$c" = observa ] && obs_log "observa's own counters (every room, whole server so far): $(observa_locks) acquisitions"
done

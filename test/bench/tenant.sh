#!/usr/bin/env bash
# test/bench/tenant.sh: cost of per-tenant statistics.  As root: builds
# observa into a private PostgreSQL copy, starts a preloaded cluster on a
# free port and runs short pgbench rounds (prepared protocol, select-only,
# primary-key lookups), configurations interleaved round by round so drift
# on a shared machine hits them all alike:
#   none/plain   observa.track = none, table without a tenant column (baseline)
#   top/plain    observa.track = top,  table without a tenant column
#   none/tenant  observa.track = none, table with tenant_id, filtered on it
#   off/tenant   observa.track = top,  observa.tenant_columns = '' (no extraction)
#   top/tenant   observa.track = top,  tenant extracted from the plan
# (the loop part adds off/plain: observa.tenant_columns = '' on the plain
# table, so all/plain - off/plain is the tenant-column check alone)
# Prints the median tps per configuration and the ratios that matter.
# Then, because tps on a loaded shared machine is noisy, the per-statement
# cost in one backend: a PL/pgSQL loop of N primary-key lookups timed with
# observa.track = none / all, interleaved, the minimum of LOOPS runs kept
# (the run least disturbed by other load), printed in microseconds.
# Env: ROUNDS (default 3), SECS per run (default 5), CLIENTS (default 2),
#      LOOPS (default 15), N (default 20000).
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/test/lib.sh"
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-5}
CLIENTS=${CLIENTS:-2}
LOOPS=${LOOPS:-15}
N=${N:-20000}

obs_install_packages
obs_workdir bench
trap obs_cleanup EXIT
obs_stage "$here"
obs_cluster_start bench "shared_preload_libraries = 'observa'
compute_query_id = on"

obs_psql -d postgres <<'SQL' >/dev/null
CREATE EXTENSION observa;
CREATE TABLE bench_plain (id int PRIMARY KEY, org int, v int);
INSERT INTO bench_plain SELECT g, g % 100, g FROM generate_series(1, 100000) g;
CREATE TABLE bench_ten (id int PRIMARY KEY, tenant_id int, v int);
INSERT INTO bench_ten SELECT g, g % 100, g FROM generate_series(1, 100000) g;
VACUUM ANALYZE bench_plain, bench_ten;
-- microseconds per lookup over n lookups, each a statement of its own
CREATE FUNCTION bench_loop(tbl text, n int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
    t int;
BEGIN
    IF tbl = 'plain' THEN
        FOR i IN 1..n LOOP
            PERFORM v FROM bench_plain WHERE id = i;
        END LOOP;
    ELSE
        FOR i IN 1..n LOOP
            t := i % 100;
            PERFORM v FROM bench_ten WHERE tenant_id = t AND id = i;
        END LOOP;
    END IF;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6 / n;
END
$$;
SQL

printf '\\set id random(1, 100000)\nSELECT v FROM bench_plain WHERE id = :id;\n' >"$OBS_W/plain.sql"
printf '\\set id random(1, 100000)\n\\set t :id %% 100\nSELECT v FROM bench_ten WHERE tenant_id = :t AND id = :id;\n' >"$OBS_W/tenant.sql"
chmod 644 "$OBS_W"/*.sql

run() {	# run CONFIG SCRIPT PGOPTIONS -> tps
	PGOPTIONS="$3" "$OBS_BIN/pgbench" -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T "$SECS" \
		-h "$OBS_HOST" -p "$OBS_PORT" -U postgres -f "$OBS_W/$2.sql" postgres 2>/dev/null |
		sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}

configs="none/plain top/plain none/tenant off/tenant top/tenant"
declare -A results
for r in $(seq 1 "$ROUNDS"); do
	for c in $configs; do
		case $c in
		none/plain) tps=$(run "$c" plain "-c observa.track=none") ;;
		top/plain) tps=$(run "$c" plain "-c observa.track=top") ;;
		none/tenant) tps=$(run "$c" tenant "-c observa.track=none") ;;
		off/tenant) tps=$(run "$c" tenant "-c observa.track=top -c observa.tenant_columns=") ;;
		top/tenant) tps=$(run "$c" tenant "-c observa.track=top") ;;
		esac
		results[$c]="${results[$c]:-} $tps"
		obs_log "round $r $c: $tps tps"
	done
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
declare -A med
echo "per-tenant statistics benchmark: $ROUNDS rounds x ${SECS}s, $CLIENTS clients, -M prepared"
for c in $configs; do
	med[$c]=$(echo "${results[$c]}" | median)
	printf '%-12s median %10.1f tps   (runs:%s)\n' "$c" "${med[$c]}" "${results[$c]}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", a / b}'; }
echo "top/plain  / none/plain  = $(ratio "${med[top/plain]}" "${med[none/plain]}")  (observa on a table without tenant column)"
echo "top/tenant / off/tenant  = $(ratio "${med[top/tenant]}" "${med[off/tenant]}")  (cost of extracting the tenant)"
echo "top/tenant / none/tenant = $(ratio "${med[top/tenant]}" "${med[none/tenant]}")  (observa with tenant extraction vs none)"

# per-statement cost in one backend, minimum of LOOPS interleaved runs.
# Both the wall time the loop measures itself and the backend's CPU time
# (utime + stime from /proc, in clock ticks) are kept: CPU time is far less
# disturbed by other load on a shared machine.
TICK=$(getconf CLK_TCK)
loop() {	# loop TABLE SETTINGS -> "wall_us cpu_us" per statement
	local pid before after wall
	coproc PSQL { obs_psql -d postgres -At 2>&1; }
	echo "$2; SELECT pg_backend_pid();" >&"${PSQL[1]}"
	read -r pid <&"${PSQL[0]}"
	before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	echo "SELECT round(bench_loop('$1', $N)::numeric, 3);" >&"${PSQL[1]}"
	read -r wall <&"${PSQL[0]}"
	after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	echo '\q' >&"${PSQL[1]}"
	wait "$PSQL_PID" 2>/dev/null
	awk -v w="$wall" -v b="$before" -v a="$after" -v t="$TICK" -v n="$N" \
		'BEGIN{printf "%s %.3f", w, (a - b) * 1e6 / t / n}'
}
lconfigs="none/plain off/plain all/plain none/tenant off/tenant all/tenant"
declare -A best bestcpu
for r in $(seq 1 "$LOOPS"); do
	for c in $lconfigs; do
		case $c in
		none/plain) out=$(loop plain "SET observa.track = none") ;;
		off/plain) out=$(loop plain "SET observa.track = 'all'; SET observa.tenant_columns = ''") ;;
		all/plain) out=$(loop plain "SET observa.track = 'all'") ;;
		none/tenant) out=$(loop tenant "SET observa.track = none") ;;
		off/tenant) out=$(loop tenant "SET observa.track = 'all'; SET observa.tenant_columns = ''") ;;
		all/tenant) out=$(loop tenant "SET observa.track = 'all'") ;;
		esac
		us=${out% *}
		cpu=${out#* }
		if [ -z "${best[$c]:-}" ] || awk -v a="$us" -v b="${best[$c]}" 'BEGIN{exit !(a < b)}'; then
			best[$c]=$us
		fi
		if [ -z "${bestcpu[$c]:-}" ] || awk -v a="$cpu" -v b="${bestcpu[$c]}" 'BEGIN{exit !(a < b)}'; then
			bestcpu[$c]=$cpu
		fi
	done
done
echo "per-statement cost in one backend: min of $LOOPS loops of $N lookups (microseconds per statement)"
printf '%-12s %10s %10s\n' config wall_us cpu_us
for c in $lconfigs; do
	printf '%-12s %10.3f %10.3f\n' "$c" "${best[$c]}" "${bestcpu[$c]}"
done
delta() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%+.3f us (%+.1f %%)", a - b, 100 * (a - b) / b}'; }
for pair in "all/plain none/plain all of observa, table without tenant column" \
	"all/plain off/plain checking the relations for a tenant column" \
	"all/tenant off/tenant extracting the tenant from the plan" \
	"all/tenant none/tenant all of observa, tenant extracted"; do
	set -- $pair
	a=$1 b=$2
	shift 2
	echo "$a - $b: wall $(delta "${best[$a]}" "${best[$b]}"), cpu $(delta "${bestcpu[$a]}" "${bestcpu[$b]}")  ($*)"
done

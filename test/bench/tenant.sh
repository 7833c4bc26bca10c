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

# per-statement cost in one backend, minimum of LOOPS interleaved runs
loop() {	# loop TABLE SETTINGS -> microseconds per statement
	obs_psql -d postgres -At -c "$2" -c "SELECT round(bench_loop('$1', $N)::numeric, 3)" | tail -1
}
lconfigs="none/plain off/plain all/plain none/tenant off/tenant all/tenant"
declare -A best
for r in $(seq 1 "$LOOPS"); do
	for c in $lconfigs; do
		case $c in
		none/plain) us=$(loop plain "SET observa.track = none") ;;
		off/plain) us=$(loop plain "SET observa.track = 'all'; SET observa.tenant_columns = ''") ;;
		all/plain) us=$(loop plain "SET observa.track = 'all'") ;;
		none/tenant) us=$(loop tenant "SET observa.track = none") ;;
		off/tenant) us=$(loop tenant "SET observa.track = 'all'; SET observa.tenant_columns = ''") ;;
		all/tenant) us=$(loop tenant "SET observa.track = 'all'") ;;
		esac
		if [ -z "${best[$c]:-}" ] || awk -v a="$us" -v b="${best[$c]}" 'BEGIN{exit !(a < b)}'; then
			best[$c]=$us
		fi
	done
done
echo "per-statement cost in one backend: min of $LOOPS loops of $N lookups (microseconds per statement)"
for c in $lconfigs; do
	printf '%-12s %8.3f us\n' "$c" "${best[$c]}"
done
delta() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%+.3f us (%.1f %%)", a - b, 100 * (a - b) / b}'; }
echo "all/plain  - none/plain  = $(delta "${best[all/plain]}" "${best[none/plain]}")  (all of observa, table without tenant column)"
echo "all/plain  - off/plain   = $(delta "${best[all/plain]}" "${best[off/plain]}")  (checking the relations for a tenant column)"
echo "all/tenant - off/tenant  = $(delta "${best[all/tenant]}" "${best[off/tenant]}")  (extracting the tenant from the plan)"
echo "all/tenant - none/tenant = $(delta "${best[all/tenant]}" "${best[none/tenant]}")  (all of observa, tenant extracted)"

#!/usr/bin/env bash
# demo/run.sh: observa's demo (make demo).  As root on Debian 12: installs
# what is missing, builds observa, starts a throwaway cluster with observa
# preloaded, loads a multi-tenant schema, drives a short pgbench workload,
# prints observa's report and writes its HTML form to $DEMO_HTML (default
# /tmp/observa-report.html).  Everything else is removed at the end.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/test/lib.sh"
DEMO_SECONDS=${DEMO_SECONDS:-20}
DEMO_HTML=${DEMO_HTML:-/tmp/observa-report.html}

obs_install_packages
obs_workdir demo
trap obs_cleanup EXIT
obs_stage "$here"
obs_cluster_start demo "shared_preload_libraries = 'observa'
compute_query_id = on
observa.slow_query_threshold = '20ms'
observa.slow_query_plan = text"

obs_log "loading the multi-tenant schema (500 tenants, ~400k rows, skewed)"
obs_psql -d postgres -f "$OBS_SRC/demo/schema.sql" >/dev/null || obs_die "schema failed"
obs_psql -d postgres -c "CREATE EXTENSION observa" >/dev/null || obs_die "CREATE EXTENSION failed"
# report the workload only, not the schema load: reset every store this
# build has
obs_psql -d postgres >/dev/null <<'SQL' || obs_die "reset failed"
DO $$
DECLARE f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['reset', 'reset_slow_queries', 'reset_tenant_stats', 'reset_advisor'] LOOP
        IF to_regprocedure(format('observa.%s()', f)) IS NOT NULL THEN
            EXECUTE format('SELECT observa.%s()', f);
        END IF;
    END LOOP;
END
$$;
SQL

obs_log "running pgbench for ${DEMO_SECONDS}s with 4 clients"
w=$OBS_SRC/demo/workload
"$OBS_BIN/pgbench" -h "$OBS_HOST" -p "$OBS_PORT" -U postgres -n -c 4 -j 2 -T "$DEMO_SECONDS" -M prepared \
	-f "$w/lookup_user.sql@4" -f "$w/open_tickets.sql@4" -f "$w/new_ticket.sql@2" \
	-f "$w/close_ticket.sql@2" -f "$w/recent_events.sql@1" postgres 2>&1 |
	grep -E '^(number of transactions actually processed|tps|latency average)' || obs_die "pgbench failed"

obs_log "observa's report"
obs_psql -d postgres -At -c "SELECT * FROM observa.report()" || obs_die "report failed"

obs_psql -d postgres -At -c "SELECT observa.report_html()" >"$DEMO_HTML" || obs_die "report_html failed"
chmod 644 "$DEMO_HTML"
obs_log "the same report as one HTML page: $DEMO_HTML"

# test/lib.sh: shared by test/run.sh, demo/run.sh and test/bench/*.sh.
# Source it.  It installs the Debian packages observa's tests need, builds
# observa into a private, relocated copy of PostgreSQL (so parallel runs
# from different checkouts never overwrite each other's installed files),
# and runs throwaway clusters owned by the postgres user.

OBS_PGMAJOR=${OBS_PGMAJOR:-15}
OBS_PACKAGES="postgresql-$OBS_PGMAJOR postgresql-server-dev-$OBS_PGMAJOR postgresql-contrib
 postgresql-$OBS_PGMAJOR-pgtap pgtap postgresql-$OBS_PGMAJOR-hypopg libipc-run-perl
 make gcc python3 util-linux procps iproute2 curl prometheus-postgres-exporter prometheus chromium
 git unzip dpkg-dev debhelper postgresql-server-dev-all"

obs_log() { printf '== %s\n' "$*" >&2; }
obs_die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# obs_install_packages: apt-get the packages that are missing (root only).
# Nothing else on the machine is changed: when installing the server
# package creates Debian's default cluster (it does on a fresh machine), the
# cluster is dropped again, so no server but ours runs; the configuration
# in /etc/postgresql-common is left as it was.
obs_install_packages() {
	local missing="" p had_main=""
	for p in $OBS_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	[ "$(id -u)" = 0 ] || obs_die "missing packages:$missing (run as root to install them)"
	obs_log "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	[ -e "/etc/postgresql/$OBS_PGMAJOR/main" ] && had_main=1
	apt-get update -qq >/dev/null || obs_die "apt-get update failed"
	apt-get install -y -qq --no-install-recommends $missing >/dev/null || obs_die "apt-get install failed"
	if [ -z "$had_main" ] && [ -e "/etc/postgresql/$OBS_PGMAJOR/main" ]; then
		obs_log "dropping the default cluster $OBS_PGMAJOR/main the server package created"
		pg_dropcluster --stop "$OBS_PGMAJOR" main >/dev/null 2>&1 ||
			obs_log "could not drop cluster $OBS_PGMAJOR/main (pg_dropcluster --stop $OBS_PGMAJOR main)"
	fi
	# Debian starts services on install; ours start their own
	systemctl stop prometheus prometheus-postgres-exporter >/dev/null 2>&1 || true
}

# obs_workdir: a temporary directory the postgres user owns -> $OBS_W
obs_workdir() {
	OBS_W=$(mktemp -d "/tmp/observa-${1:-run}.XXXXXX")
	chmod 755 "$OBS_W"
	chown postgres: "$OBS_W"
}

obs_as_pg() { runuser -u postgres -- "$@"; }

# obs_stage SRC: copy PostgreSQL and the observa sources under $OBS_W,
# build observa there as postgres and install it into that copy.
# Sets OBS_BIN (server binaries with observa installed), OBS_SRC, OBS_PGCONFIG.
obs_stage() {
	local src=$1 sysbin
	sysbin=/usr/lib/postgresql/$OBS_PGMAJOR/bin
	[ -x "$sysbin/postgres" ] || obs_die "no PostgreSQL $OBS_PGMAJOR server in $sysbin"
	mkdir -p "$OBS_W/pg/usr/lib/postgresql" "$OBS_W/pg/usr/share/postgresql" "$OBS_W/pg/usr/include/postgresql"
	cp -a "/usr/lib/postgresql/$OBS_PGMAJOR" "$OBS_W/pg/usr/lib/postgresql/"
	cp -a "/usr/share/postgresql/$OBS_PGMAJOR" "$OBS_W/pg/usr/share/postgresql/"
	ln -s "/usr/include/postgresql/$OBS_PGMAJOR" "$OBS_W/pg/usr/include/postgresql/$OBS_PGMAJOR"
	mkdir -p "$OBS_W/src"
	(cd "$src" && tar --exclude=.git --exclude='*.o' --exclude='*.so' --exclude=results \
		--exclude=tmp_check --exclude=output_iso -cf - .) | tar -C "$OBS_W/src" -xf -
	chown -R postgres: "$OBS_W/pg" "$OBS_W/src"
	OBS_BIN=$OBS_W/pg/usr/lib/postgresql/$OBS_PGMAJOR/bin
	OBS_PGCONFIG=$OBS_BIN/pg_config
	OBS_SRC=$OBS_W/src
	obs_log "building observa (warnings are errors)"
	obs_as_pg make -C "$OBS_SRC" -s PG_CONFIG="$OBS_PGCONFIG" OBSERVA_WERROR=1 >"$OBS_W/build.log" 2>&1 &&
		obs_as_pg make -C "$OBS_SRC" -s PG_CONFIG="$OBS_PGCONFIG" install >>"$OBS_W/build.log" 2>&1 ||
		{ cat "$OBS_W/build.log" >&2; obs_die "build failed"; }
}

# obs_free_port: a TCP port nobody listens on
obs_free_port() {
	local p
	for p in $(shuf -i 20000-29999 -n 50); do
		ss -ltnH "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return 0; }
	done
	obs_die "no free port"
}

# obs_cluster_start NAME "extra postgresql.conf lines": start a cluster in
# $OBS_W/NAME on a free port; sets OBS_PORT, OBS_HOST (socket dir), OBS_DATA.
obs_cluster_start() {
	local name=$1 extra=${2:-}
	OBS_DATA=$OBS_W/$name
	OBS_HOST=$OBS_W
	OBS_PORT=$(obs_free_port)
	obs_as_pg "$OBS_BIN/initdb" -D "$OBS_DATA" -A trust -U postgres --no-sync >"$OBS_W/initdb-$name.log" 2>&1 ||
		{ cat "$OBS_W/initdb-$name.log" >&2; obs_die "initdb failed"; }
	cat >>"$OBS_DATA/postgresql.conf" <<CONF
port = $OBS_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$OBS_HOST'
fsync = off
max_connections = 60
shared_buffers = 128MB
$extra
CONF
	obs_as_pg "$OBS_BIN/pg_ctl" -D "$OBS_DATA" -l "$OBS_W/$name.log" -w -t 60 start >/dev/null ||
		{ tail -30 "$OBS_W/$name.log" >&2; obs_die "server did not start"; }
	OBS_CLUSTERS="${OBS_CLUSTERS:-} $OBS_DATA"
}

# obs_cleanup: stop every cluster we started (by its data directory's
# postmaster.pid, i.e. only our own processes) and remove the work dir
obs_cleanup() {
	local d
	for d in ${OBS_CLUSTERS:-}; do
		[ -f "$d/postmaster.pid" ] && obs_as_pg "$OBS_BIN/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1
	done
	OBS_CLUSTERS=""
	[ -n "${OBS_KEEP:-}" ] && { obs_log "kept $OBS_W"; return 0; }
	[ -n "${OBS_W:-}" ] && rm -rf "$OBS_W"
}

obs_psql() { "$OBS_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$OBS_HOST" -p "$OBS_PORT" -U postgres "$@"; }

# obs_bench_workload_setup: the benchmarks' churn workloads (test/bench/):
# writes $OBS_W/scripts/savepoint.sql (a new savepoint name per
# transaction) and churn1..100.sql (100 scripts of 100 distinct UPDATE
# statements: 10 000 in all), creates their table churn in database
# postgres of the running cluster, and sets OBS_CHURN_ARGS to pgbench's -f
# options for the 100 scripts
obs_bench_workload_setup() {
	local i j f
	mkdir -p "$OBS_W/scripts"
	printf '%s\n' '\set aid random(1, 100000 * :scale)' '\set k random(1, 1000000000)' 'BEGIN;' \
		'SAVEPOINT sp_:k;' 'SELECT abalance FROM pgbench_accounts WHERE aid = :aid;' \
		'RELEASE SAVEPOINT sp_:k;' 'END;' >"$OBS_W/scripts/savepoint.sql"
	obs_psql -d postgres -c "CREATE TABLE churn (id int PRIMARY KEY, $(seq -s, -f 'c%g int' 1 100)) WITH (fillfactor = 50)" \
		-c "INSERT INTO churn (id) SELECT g FROM generate_series(1, 10000) g" >/dev/null ||
		obs_die "churn setup failed"
	OBS_CHURN_ARGS=""
	for i in $(seq 1 100); do
		f=$OBS_W/scripts/churn$i.sql
		{
			echo '\set id random(1, 10000)'
			for j in $(seq 1 100); do echo "UPDATE churn SET c$i = c$j + 1 WHERE id = :id;"; done
		} >"$f"
		OBS_CHURN_ARGS="$OBS_CHURN_ARGS -f $f"
	done
	chown -R postgres: "$OBS_W/scripts"
}

#!/usr/bin/env bash
# test/acceptance.sh NAME: run ../shared/acceptance/NAME (the issues' floor
# checks) against a private, relocated copy of PostgreSQL on a free port, so
# that several checkouts can run them at once without overwriting the
# system's installed observa.  Example: bash test/acceptance.sh 03-table-stats
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/test/lib.sh"
name=${1:?usage: test/acceptance.sh NAME}
adir=${ACCEPTANCE_DIR:-$here/../shared/acceptance}
[ -d "$adir" ] || adir=/work/shared/acceptance
script=$adir/$name
[ -x "$script" ] || [ -f "$script" ] || obs_die "no acceptance check $script"
obs_workdir acc
trap obs_cleanup EXIT
sysbin=/usr/lib/postgresql/$OBS_PGMAJOR/bin
mkdir -p "$OBS_W/pg/usr/lib/postgresql" "$OBS_W/pg/usr/share/postgresql" "$OBS_W/pg/usr/include/postgresql"
cp -a "/usr/lib/postgresql/$OBS_PGMAJOR" "$OBS_W/pg/usr/lib/postgresql/"
cp -a "/usr/share/postgresql/$OBS_PGMAJOR" "$OBS_W/pg/usr/share/postgresql/"
ln -s "/usr/include/postgresql/$OBS_PGMAJOR" "$OBS_W/pg/usr/include/postgresql/$OBS_PGMAJOR"
OBS_BIN=$OBS_W/pg/usr/lib/postgresql/$OBS_PGMAJOR/bin
cd "$here"
PATH="$OBS_BIN:$PATH" PGBIN="$OBS_BIN" BAR_PORT=$(obs_free_port) bash "$script"

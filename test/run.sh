#!/usr/bin/env bash
# test/run.sh: observa's one test command (make test).  As root on Debian 12:
# installs missing packages, builds observa with -Werror into a private copy
# of PostgreSQL, starts a throwaway cluster with observa preloaded, runs the
# pg_regress, isolation, pgTAP and TAP suites, tears everything down even on
# failure, and ends with one line "N passed, N failed".
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/test/lib.sh"

obs_install_packages
# what must not change: the system's PostgreSQL configuration (checked at
# the end; the package installation above may have changed it)
outside_state() {
	find /etc/postgresql-common /etc/postgresql -type f -exec md5sum {} + 2>/dev/null | sort
}
before=$(outside_state)
obs_workdir test
trap obs_cleanup EXIT
obs_stage "$here"
cd "$OBS_SRC"
# the release archive (make dist: git archive of HEAD) for the package
# tests; none when the checkout is not a git repository
OBS_DIST=""
if git -C "$here" rev-parse --verify -q HEAD >/dev/null 2>&1; then
	mkdir -p "$OBS_W/dist"
	OBS_DIST=$(make -s -C "$here" dist DISTDIR="$OBS_W/dist" 2>"$OBS_W/dist.log" | tail -n 1)
	[ -f "$OBS_DIST" ] && chown -R postgres: "$OBS_W/dist" || { cat "$OBS_W/dist.log" >&2; OBS_DIST=""; }
fi

# settings every suite's main cluster shares
conf=$(cat "$OBS_SRC/test/cluster.conf")
obs_cluster_start main "$conf"
obs_log "cluster on port $OBS_PORT with: $(echo $conf | tr '\n' ' ')"

# OBS_SUITES (default "regress isolation pgtap tap") picks suites; OBS_TAP
# (a glob under test/t, default "*.pl") and OBS_REGRESS (test names) narrow
# the TAP and pg_regress suites, e.g. OBS_SUITES=tap OBS_TAP='6*.pl' make test
suites=${OBS_SUITES:-regress isolation pgtap tap}
want() { case " $suites " in *" $1 "*) return 0 ;; esac; return 1; }

pass=0
fail=0
count() { pass=$((pass + $1)); fail=$((fail + $2)); }
pgxs=$(dirname "$(dirname "$(dirname "$("$OBS_PGCONFIG" --pgxs)")")")

# count "ok N" / "not ok N" lines of verbose TAP output; a failed run that
# printed no failure still counts as one
tap_count() {
	local out=$1 rc=$2 ok nok
	ok=$(grep -cE '^[[:space:]]*ok [0-9]' "$out")
	nok=$(grep -cE '^[[:space:]]*not ok [0-9]' "$out")
	if [ "$rc" != 0 ] && [ "$nok" = 0 ]; then
		nok=$(grep -c 'Dubious' "$out")
		[ "$nok" = 0 ] && nok=1
	fi
	count "$ok" "$nok"
	[ "$nok" != 0 ] && note_failures "$out"
}

# remember which tests failed, so that the last lines of the run name them
# (CI shows only the end of its output)
failures=""
note_failures() {
	failures="$failures$(awk '
		/^[^[:space:]].*\.(pl|sql) \.\./ { f = $1 }
		/^[[:space:]]*not ok [0-9]/ || /\.\.\. FAILED/ || /Dubious/ {
			sub(/^[[:space:]]+/, ""); print "  " (f != "" ? f ": " : "") substr($0, 1, 200)
		}' "$1")
"
}

# 1. pg_regress: each file alone, in a database of its own made afresh
# (pg_regress drops and creates it), so that no file depends on another
tests=${OBS_REGRESS:-$(cd test/sql && ls *.sql 2>/dev/null | sed 's/\.sql$//' | sort)}
if want regress && [ -n "$tests" ]; then
	obs_log "pg_regress, each file alone: $(echo $tests)"
	: >"$OBS_W/regress.out"
	for t in $tests; do
		obs_as_pg "$pgxs/src/test/regress/pg_regress" --inputdir=test --bindir="$OBS_BIN" \
			--host="$OBS_HOST" --port="$OBS_PORT" --dbname=contrib_regression \
			"$t" >"$OBS_W/regress-$t.out" 2>&1
		rc=$?
		cat "$OBS_W/regress-$t.out" >>"$OBS_W/regress.out"
		grep -E '^(not ok|ok) |^test |\.\.\. ' "$OBS_W/regress-$t.out"
		if [ "$rc" != 0 ]; then
			grep -qE '\.\.\. FAILED|^not ok' "$OBS_W/regress-$t.out" || cat "$OBS_W/regress-$t.out"
			[ -f regression.diffs ] && cat regression.diffs
			failures="$failures  pg_regress $t
"
			count 0 1
		else
			count 1 0
		fi
	done
fi

# 2. isolation
specs=$(cd test/specs 2>/dev/null && ls *.spec 2>/dev/null | sed 's/\.spec$//' | sort)
if want isolation && [ -n "$specs" ]; then
	obs_log "isolation: $(echo $specs)"
	obs_as_pg "$pgxs/src/test/isolation/pg_isolation_regress" --inputdir=test --outputdir=output_iso \
		--bindir="$OBS_BIN" --host="$OBS_HOST" --port="$OBS_PORT" \
		--dbname=isolation_regression --load-extension=observa \
		$specs >"$OBS_W/iso.out" 2>&1
	rc=$?
	cat "$OBS_W/iso.out"
	n=$(grep -cE '^(not ok|ok) |^test |^     [a-z_0-9]+ +\.\.\.' "$OBS_W/iso.out")
	nf=$(grep -cE '\.\.\. FAILED|^not ok' "$OBS_W/iso.out")
	[ "$rc" != 0 ] && [ "$nf" = 0 ] && nf=1 && n=$((n + 1))
	count $((n - nf)) "$nf"
	[ "$nf" != 0 ] && note_failures "$OBS_W/iso.out"
	[ -f output_iso/regression.diffs ] && [ "$nf" != 0 ] && cat output_iso/regression.diffs
fi

# 3. pgTAP, through the Makefile's target (make pgtap)
if want pgtap && ls test/pgtap/*.sql >/dev/null 2>&1; then
	obs_log "pgTAP: $(cd test/pgtap && echo *.sql)"
	obs_as_pg env PGHOST="$OBS_HOST" PGPORT="$OBS_PORT" PGUSER=postgres \
		make -s PG_CONFIG="$OBS_PGCONFIG" pgtap >"$OBS_W/pgtap.out" 2>&1
	rc=$?
	cat "$OBS_W/pgtap.out"
	tap_count "$OBS_W/pgtap.out" $rc
fi

# 4. TAP (PostgreSQL::Test::Cluster); these start their own clusters
tapglob=${OBS_TAP:-*.pl}
if want tap && ls test/t/$tapglob >/dev/null 2>&1; then
	obs_log "TAP: $(cd test/t && echo $tapglob)"
	mkdir -p tmp_check && chown postgres: tmp_check
	obs_as_pg env PATH="$OBS_BIN:$PATH" TESTDIR="$OBS_SRC" PG_REGRESS="$pgxs/src/test/regress/pg_regress" \
		OBSERVA_SRC="$OBS_SRC" OBSERVA_DIST="$OBS_DIST" PGPORT="$(obs_free_port)" \
		prove -v -I "$pgxs/src/test/perl" -I test/t/lib test/t/$tapglob >"$OBS_W/tap.out" 2>&1
	rc=$?
	cat "$OBS_W/tap.out"
	tap_count "$OBS_W/tap.out" $rc
	# the end of the TAP log of each failed file (not of every file)
	for f in $(grep -oE '^[^[:space:]]+\.pl \.\..*' "$OBS_W/tap.out" | awk '{print $1}' | sort -u); do
		grep -A 100000 -F "$f .." "$OBS_W/tap.out" | sed 1d | sed '/^[^[:space:]].*\.pl \.\./,$d' |
			grep -qE '^[[:space:]]*not ok [0-9]|Dubious|Failed' || continue
		b=$(basename "$f" .pl)
		echo "--- the last lines of tmp_check/log/regress_log_$b"
		tail -n 40 "tmp_check/log/regress_log_$b" 2>/dev/null
	done
fi

# 5. nothing outside the temporary directories changed
if [ "$(outside_state)" = "$before" ]; then
	echo "ok - /etc/postgresql-common and /etc/postgresql are as before"
	count 1 0
else
	echo "not ok - make test changed files outside its temporary directories:"
	failures="$failures  files outside the temporary directories changed
"
	diff <(echo "$before") <(outside_state) | head -20
	count 0 1
fi

if [ -n "$failures" ]; then
	echo "failed tests:"
	printf '%s' "$failures"
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]

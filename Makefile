# observa: PGXS build.  The version lives in observa.control only; it is
# handed to C with -D so the library, META.json and the install script agree
# (test/t/002_versions.pl and test/t/704_meta.pl check them).
#
# Targets besides PGXS's all / install / installcheck:
#   make test       every suite, as root on Debian 12 (test/run.sh)
#   make demo       the demo (demo/run.sh)
#   make pgtap      the pgTAP suites against the server PGHOST/PGPORT name
#   make dist       observa-<semver>.zip of the committed tree (git archive)
#
# VPATH builds work (pg_buildext builds in build-<major>/): every path below
# is relative to the directory of this Makefile.

EXTENSION   = observa
obs_srcdir := $(patsubst %/,%,$(dir $(firstword $(MAKEFILE_LIST))))
EXTVERSION := $(shell sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" $(obs_srcdir)/observa.control)
# PGXN and the Debian package want SemVer: control "X.Y" is "X.Y.0"
EXTSEMVER  := $(shell echo '$(EXTVERSION)' | sed -E 's/^([0-9]+\.[0-9]+)$$/\1.0/')

MODULE_big  = observa
OBJS        = $(patsubst $(obs_srcdir)/%.c,%.o,$(sort $(wildcard $(obs_srcdir)/src/*.c $(obs_srcdir)/src/advisor/*.c)))
DATA        = $(patsubst $(obs_srcdir)/%,%,$(sort $(wildcard $(obs_srcdir)/sql/observa--*.sql)))
PGFILEDESC  = "observa - statement latency, slow queries and index advice"
# no LLVM bitcode: observa has no JIT-relevant code paths ("override", or
# the server's Makefile.global, included below, would turn it back on)
override with_llvm = no

PG_CPPFLAGS = -I$(obs_srcdir)/src -DOBSERVA_VERSION=\"$(EXTVERSION)\"
ifdef OBSERVA_WERROR
PG_CFLAGS   += -Werror
endif

# Tests: inputs under test/ (pg_regress in test/sql, isolation specs in
# test/specs, TAP in test/t, pgTAP in test/pgtap) and every expected output
# in test/expected.  Each regression file creates what it uses and passes
# alone.
#
# installcheck tests the installed observa.  By default pg_regress and
# pg_isolation_regress each start a throwaway server of their own that
# preloads observa (--temp-instance with test/cluster.conf), so
# "make install && make installcheck" needs no configured server; like
# every PostgreSQL server, those refuse to run as root.  With
# OBSERVA_SERVER=running they use the server that PGHOST/PGPORT name instead
# (the Debian package's tests, through pg_virtualenv); it must preload
# observa, which installcheck checks first.
REGRESS      = $(sort $(basename $(notdir $(wildcard $(obs_srcdir)/test/sql/*.sql))))
ISOLATION    = $(sort $(basename $(notdir $(wildcard $(obs_srcdir)/test/specs/*.spec))))
ifeq ($(OBSERVA_SERVER),running)
REGRESS_OPTS   = --inputdir=$(obs_srcdir)/test
ISOLATION_OPTS = --inputdir=$(obs_srcdir)/test --load-extension=observa
else
REGRESS_OPTS   = --inputdir=$(obs_srcdir)/test --temp-instance=tmp_regress \
                 --temp-config=$(obs_srcdir)/test/cluster.conf
ISOLATION_OPTS = --inputdir=$(obs_srcdir)/test --temp-instance=tmp_isolation \
                 --temp-config=$(obs_srcdir)/test/cluster.conf --load-extension=observa
# the TAP suite starts its own nodes (PostgreSQL::Test::Cluster); a test
# whose optional tool (prometheus, ...) is missing skips with the reason
TAP_TESTS   = 1
PROVE_TESTS = $(obs_srcdir)/test/t/*.pl
PROVE_FLAGS = -I $(obs_srcdir)/test/t/lib
endif

EXTRA_CLEAN = results output_iso tmp_check tmp_regress tmp_isolation \
              regression.diffs regression.out observa-*.zip

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(wildcard $(PGXS)),)
include $(PGXS)
else
# A fresh machine has no server headers yet: "make test" and "make demo"
# install them; the PGXS targets say what is missing.
all install installcheck:
	@echo "PGXS not found: install postgresql-server-dev-15 (make test does)"; exit 1
endif

# VPATH builds: object files go to the build directory's src/.
ifdef VPATH
$(OBJS): | obs-objdirs
.PHONY: obs-objdirs
obs-objdirs:
	@mkdir -p src/advisor
endif

.PHONY: installcheck-ready
installcheck: installcheck-ready
installcheck-ready:
ifeq ($(OBSERVA_SERVER),running)
	@"$(bindir)/psql" -XAtq -d postgres -c "SHOW shared_preload_libraries" 2>/dev/null | \
	  tr ',' '\n' | sed 's/^ *//; s/ *$$//' | grep -qx observa || { \
	  echo "make installcheck OBSERVA_SERVER=running: the server at PGHOST=$${PGHOST:-(default)} PGPORT=$${PGPORT:-(default)} does not preload observa (or cannot be reached)."; \
	  echo "Add observa to its shared_preload_libraries and restart it, or run plain 'make installcheck' (as a non-root user), which starts its own servers."; \
	  exit 1; }
else
	@if [ "$$(id -u)" = 0 ]; then \
	  echo "make installcheck starts its own PostgreSQL servers, which refuse to run as root."; \
	  echo "Run it as an ordinary user (for instance: runuser -u postgres -- make installcheck), or against a running server preloading observa: make installcheck OBSERVA_SERVER=running."; \
	  exit 1; fi
endif

# The two commands of README.md.  Both run as root on Debian 12: they install
# what they need, build, and start their own throwaway cluster.
.PHONY: test demo pgtap dist
test:
	bash $(obs_srcdir)/test/run.sh

demo:
	bash $(obs_srcdir)/demo/run.sh

# pgTAP: the suites under test/pgtap, with pg_prove, in database observa_tap
# (created if missing) of the server PGHOST/PGPORT name; it must preload
# observa and have the pgtap extension available (postgresql-15-pgtap).
PGTAP_DB ?= observa_tap
pgtap:
	@"$(bindir)/psql" -XAtq -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$(PGTAP_DB)'" | grep -q 1 || \
	  "$(bindir)/psql" -Xq -d postgres -c "CREATE DATABASE $(PGTAP_DB)"
	pg_prove -v -d $(PGTAP_DB) $(obs_srcdir)/test/pgtap/*.sql

# make dist: the committed tree (HEAD) as observa-<semver>.zip, every file
# under observa-<semver>/, which is what PGXN expects.  DISTDIR says where
# to write it (default: here).
DISTDIR ?= .
dist:
	git -C $(obs_srcdir) archive --format=zip --prefix=$(EXTENSION)-$(EXTSEMVER)/ \
	  -o $(abspath $(DISTDIR))/$(EXTENSION)-$(EXTSEMVER).zip HEAD
	@echo "$(abspath $(DISTDIR))/$(EXTENSION)-$(EXTSEMVER).zip"

# observa: PGXS build.  The version lives in observa.control only; it is
# handed to C with -D so the library, META.json and the install script agree
# (test/sql/version.sql and test/t/001_layout.pl check them).

EXTENSION   = observa
EXTVERSION := $(shell sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" $(dir $(firstword $(MAKEFILE_LIST)))observa.control)

MODULE_big  = observa
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c src/advisor/*.c)))
DATA        = $(sort $(wildcard sql/observa--*.sql))
PGFILEDESC  = "observa - statement latency, slow queries and index advice"
# no LLVM bitcode: observa has no JIT-relevant code paths
with_llvm   = no

PG_CPPFLAGS = -I$(srcdir)/src -DOBSERVA_VERSION=\"$(EXTVERSION)\"
ifdef OBSERVA_WERROR
PG_CFLAGS   += -Werror
endif

# pg_regress: inputs in test/sql, expected output in the top-level expected/
# (pg_regress looks in ./expected before --inputdir).
REGRESS      = $(sort $(basename $(notdir $(wildcard test/sql/*.sql))))
REGRESS_OPTS = --inputdir=test --load-extension=observa
# isolation specs and their expected output live under test/
ISOLATION      = $(sort $(basename $(notdir $(wildcard test/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test --load-extension=observa
TAP_TESTS   = 1
PROVE_TESTS = test/t/*.pl

EXTRA_CLEAN = results output_iso tmp_check regression.diffs regression.out

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

# The two commands of README.md.  Both run as root on Debian 12: they install
# what they need, build, and start their own throwaway cluster.
.PHONY: test demo
test:
	bash test/run.sh

demo:
	bash demo/run.sh

# Makefile — build metaetl with PGXS; `make test` and `make demo` drive test/harness.
EXTENSION  = metaetl
EXTVERSION = 0.2.0
MODULE_big = metaetl

# C sources: every .c under src/ (two levels deep, e.g. src/connectors/formats/)
# except the client programs (src/cli, src/api), which are built as programs.
SRCS = $(sort $(filter-out src/cli/% src/api/%,$(wildcard src/*.c src/*/*.c src/*/*/*.c)))
OBJS = $(SRCS:.c=.o)

# The install script is assembled from per-subsystem fragments, in name order.
# Upgrade scripts are assembled the same way from sql/upgrade/A--B/*.sql (a
# fragment that only creates new objects is a symlink to its install
# fragment).  Released install scripts (sql/metaetl--0.1.0.sql) are kept as
# they shipped, so that `CREATE EXTENSION metaetl VERSION '0.1.0'` and the
# upgrade test work.
SQL_PARTS     = $(sort $(wildcard sql/install/*.sql))
UPGRADE_DIRS  = $(sort $(wildcard sql/upgrade/*--*))
UPGRADES      = $(patsubst sql/upgrade/%,sql/$(EXTENSION)--%.sql,$(UPGRADE_DIRS))
DATA_built    = sql/$(EXTENSION)--$(EXTVERSION).sql $(UPGRADES)
DATA          = sql/$(EXTENSION)--0.1.0.sql

# `make installcheck` runs the pg_regress suite against an installed server
# (with shared_preload_libraries = 'metaetl,pg_cron'), as contrib modules do;
# `make test` runs it, and everything else, on a throwaway cluster.
REGRESS      = $(sort $(basename $(notdir $(wildcard test/sql/*.sql))))
REGRESS_OPTS = --inputdir=test

PG_CPPFLAGS = -I$(srcdir)/src -DMETAETL_VERSION='"$(EXTVERSION)"' $(shell xml2-config --cflags 2>/dev/null)
PG_CPPFLAGS += -I$(shell $(PG_CONFIG) --includedir)   # connectors: libpq-fe.h
# PostgreSQL's own headers trip -Wunused-parameter, -Wsign-compare and
# -Wmissing-field-initializers under -Wextra, and -Wclobbered gives false
# positives inside PG_TRY blocks; everything else is an error.
PG_CFLAGS   = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare \
              -Wno-missing-field-initializers -Wno-clobbered
# one line per subsystem that links a library
SHLIB_LINK  = -lyaml -lcurl -lcrypto -lpcre2-8
SHLIB_LINK += -lz -lzstd -lsnappy     # connectors: compressed files, Parquet codecs
SHLIB_LINK += -lzip -lxml2            # connectors: xlsx, SOAP/XML
SHLIB_LINK += -lpq                    # connectors: libpq COPY bulk path

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PARTS)
	cat $(SQL_PARTS) > $@

# sql/metaetl--A--B.sql from the fragments in sql/upgrade/A--B/
.SECONDEXPANSION:
$(UPGRADES): sql/$(EXTENSION)--%.sql: $$(sort $$(wildcard sql/upgrade/%/*.sql))
	cat $^ > $@

.PHONY: test demo unit fuzz
test:
	bash test/harness/test.sh
demo:
	bash test/harness/demo.sh
unit:
	bash test/harness/unit.sh
fuzz:
	bash test/fuzz/run.sh

# The metaetl CLI (src/cli) and the metaetl-api server (src/api) are client
# programs (libpq; libmicrohttpd), built by their own Makefiles with the same
# pg_config and installed next to PostgreSQL's programs by `make install`.
PROGRAM_DIRS = src/cli $(wildcard src/api)
PROGRAM_ARGS = PG_CONFIG='$(PG_CONFIG)' METAETL_VERSION='$(EXTVERSION)'
.PHONY: programs install-programs clean-programs
all: programs
install: install-programs
clean: clean-programs
programs:
	@for d in $(PROGRAM_DIRS); do $(MAKE) -C $$d $(PROGRAM_ARGS) || exit 1; done
install-programs: programs
	@for d in $(PROGRAM_DIRS); do $(MAKE) -C $$d $(PROGRAM_ARGS) install || exit 1; done
clean-programs:
	@for d in $(PROGRAM_DIRS); do $(MAKE) -C $$d $(PROGRAM_ARGS) clean || exit 1; done

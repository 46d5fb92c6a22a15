# Makefile — build metaetl with PGXS; `make test` and `make demo` drive test/harness.
EXTENSION  = metaetl
EXTVERSION = 0.1.0
MODULE_big = metaetl

# C sources: every .c under src/ except the client programs (src/cli, src/api).
SRCS = $(sort $(filter-out src/cli/% src/api/%,$(wildcard src/*.c src/*/*.c)))
OBJS = $(SRCS:.c=.o)

# The install script is assembled from per-subsystem fragments, in name order.
SQL_PARTS  = $(sort $(wildcard sql/install/*.sql))
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql
DATA       = $(filter-out $(DATA_built),$(wildcard sql/$(EXTENSION)--*--*.sql))

PG_CPPFLAGS = -I$(srcdir)/src -DMETAETL_VERSION='"$(EXTVERSION)"'
# PostgreSQL's own headers trip -Wunused-parameter, -Wsign-compare and
# -Wmissing-field-initializers under -Wextra, and -Wclobbered gives false
# positives inside PG_TRY blocks; everything else is an error.
PG_CFLAGS   = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare \
              -Wno-missing-field-initializers -Wno-clobbered
SHLIB_LINK  = -lyaml -lcurl -lcrypto -lpcre2-8

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PARTS)
	cat $(SQL_PARTS) > $@

.PHONY: test demo unit fuzz
test:
	bash test/harness/test.sh
demo:
	bash test/harness/demo.sh
unit:
	bash test/harness/unit.sh
fuzz:
	bash test/fuzz/run.sh

# SRE-Space: a plain Makefile, no autotools.
#
#   make            build libsre.a and every tool in place (bin/sre-NAME)
#   make check      deps, lint, lint-man, the fuzz corpus under ASan, unit
#                   tests and bats suites, then the same suites again under
#                   ASan+UBSan; ends "N passed, N failed"
#   make demo       the closed loop, end to end, narrated (examples/demo/run)
#   make bench      speed and quality benchmarks (bench/*/run)
#   make fuzz       libFuzzer targets (clang)
#   make install    PREFIX, DESTDIR, BINDIR, MANDIR honoured

VERSION   = 0.1.0
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
DESTDIR  ?=

CC       ?= cc
CFLAGS   ?= -O2 -g
# Appended so that a user's CFLAGS cannot drop them.  Warnings are errors
# here and in CI; a user whose newer compiler warns where ours does not can
# still build with `make WERROR=`.
WERROR   ?= -Werror
WARN      = -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wimplicit-fallthrough -Wvla $(WERROR)
HARDEN    = -D_FORTIFY_SOURCE=2 -fstack-protector-strong
PKGS      = libbsd libcurl hiredis rdkafka lmdb yaml-0.1 libmicrohttpd \
            libsodium
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# lib/ in layers, lowest first, as lib/LAYERS lists them (tests/layers,
# run by `make lint`, checks that a folder includes only itself and the
# folders below it).  Includes stay bare ("store.h"): every folder is on
# the include path.
LIB_DIRS := $(shell sed 's/\#.*//' lib/LAYERS)
LIB_INC   = $(LIB_DIRS:%=-Ilib/%)
ALL_CFLAGS = $(CFLAGS) $(WARN) $(HARDEN) -D_GNU_SOURCE \
             -DSRE_VERSION='"$(VERSION)"' $(LIB_INC) $(PKG_CFLAGS) -MMD -MP

# Per-library link flags; tools pick what they use below.
L_BSD     = $(shell pkg-config --libs libbsd 2>/dev/null)
L_JQ      = -ljq
L_CURL    = $(shell pkg-config --libs libcurl 2>/dev/null)
L_REDIS   = $(shell pkg-config --libs hiredis 2>/dev/null)
L_KAFKA   = $(shell pkg-config --libs rdkafka 2>/dev/null)
L_LMDB    = $(shell pkg-config --libs lmdb 2>/dev/null)
L_YAML    = $(shell pkg-config --libs yaml-0.1 2>/dev/null)
L_MHD     = $(shell pkg-config --libs libmicrohttpd 2>/dev/null)
L_SODIUM  = $(shell pkg-config --libs libsodium 2>/dev/null)
L_BASE    = $(L_JQ) $(L_BSD) -lz -lm

# Build output for the sanitizer variant lives under build/asan.
O        ?= .

LIB_SRC   = $(sort $(foreach d,$(LIB_DIRS),$(wildcard lib/$(d)/*.c)))
LIB_OBJ   = $(LIB_SRC:%.c=$(O)/%.o)
LIBSRE    = $(O)/lib/libsre.a

TOOL_SRC  = $(sort $(wildcard bin/sre-*.c))
TOOLS     = $(TOOL_SRC:%.c=$(O)/%)
UNIT_SRC  = $(sort $(wildcard tests/unit/test-*.c))
UNITS     = $(UNIT_SRC:%.c=$(O)/%)

# Link list per tool: the base, plus what a tool needs (set by name).
# L_SODIUM: the tools that sign or verify control events (lib/core/mac.c).
LIBS_sre-bus    = $(L_SODIUM)
LIBS_sre-scout  = -lpthread
LIBS_sre-jules  = $(L_LMDB) $(L_YAML)
LIBS_sre-brain  = $(L_CURL) $(L_LMDB) $(L_YAML) $(L_SODIUM)
LIBS_sre-replay =
LIBS_sre-curate = $(L_LMDB) $(L_SODIUM)
LIBS_sre-cag    = $(L_LMDB) $(L_SODIUM)
LIBS_sre-guard  = $(L_LMDB) $(L_YAML) $(L_SODIUM)
LIBS_sre-fix    = $(L_LMDB) $(L_YAML) $(L_CURL) $(L_SODIUM)
LIBS_sre-escalate = $(L_LMDB) $(L_YAML) $(L_CURL) $(L_SODIUM)
LIBS_sre-serve  = $(O)/proto/otlp.pb-c.o -lprotobuf-c -lsnappy -lz \
                  $(L_MHD) $(L_LMDB) -lpthread
BUS_sre-serve   = $(BUS_ALL)
# lib/serve's ingest test reaches the protobuf decoders and the daemon.
LIBS_test-serve-ingest = $(LIBS_sre-serve)

# Bus back-ends a tool links: all by default; BUS_sre-NAME picks fewer
# (a URL for a back-end a tool lacks is a configuration error).
BUS_REDIS = $(O)/lib/io/bus-redis.o $(L_REDIS)
BUS_KAFKA = $(O)/lib/io/bus-kafka.o $(L_KAFKA)
BUS_ALL   = $(BUS_REDIS) $(BUS_KAFKA)
BUS_OBJ   = $(O)/lib/io/bus-redis.o $(O)/lib/io/bus-kafka.o

.DEFAULT_GOAL := all

# Extra programs (examples, benchmarks, helpers) add themselves here.
EXTRA_PROGS =
-include examples/*/build.mk bench/*/build.mk tests/helpers/build.mk \
    tests/mock/build.mk

all: $(TOOLS) $(UNITS) $(EXTRA_PROGS)
tools: $(TOOLS)
units: $(UNITS)

$(O)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBSRE): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

$(O)/bin/%: bin/%.c $(LIBSRE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(or $(BUS_$*),$(BUS_ALL)) \
	    $(LIBSRE) $(LIBS_$*) $(L_BASE)

$(O)/tests/unit/%: tests/unit/%.c $(LIBSRE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBSRE) $(LIBS_$*) \
	    $(L_CURL) $(L_REDIS) $(L_KAFKA) $(L_LMDB) $(L_YAML) $(L_SODIUM) \
	    $(L_BASE)

-include $(LIB_OBJ:.o=.d) $(TOOLS:=.d) $(UNITS:=.d)

# sre-serve's protobuf decoders: protoc-c writes them from proto/otlp.proto
# into the build tree; lib/telemetry/serve-pb.c includes the header.
$(O)/proto/otlp.pb-c.c $(O)/proto/otlp.pb-c.h &: proto/otlp.proto
	@mkdir -p $(O)/proto
	protoc-c --c_out=$(O) proto/otlp.proto
$(O)/proto/otlp.pb-c.o: $(O)/proto/otlp.pb-c.c
	$(CC) $(CFLAGS) $(HARDEN) -I$(O) -c -o $@ $<
$(O)/lib/telemetry/serve-pb.o: $(O)/proto/otlp.pb-c.h
$(O)/lib/telemetry/serve-pb.o: ALL_CFLAGS += -I$(O)/proto
$(O)/bin/sre-serve: $(O)/proto/otlp.pb-c.o
$(O)/tests/unit/test-serve-ingest: $(O)/proto/otlp.pb-c.o

# ---- tests -----------------------------------------------------------

deps:
	@sh deps/install.sh deps/build.txt

ASAN_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=all

asan:
	+$(MAKE) O=build/asan CFLAGS='$(ASAN_FLAGS)' \
	    LDFLAGS='-fsanitize=address,undefined' tools units

# The builds run two jobs at a time (CHECK_JOBS): the machine we aim at
# has two cores, and the serial builds were a third of `make check`.
CHECK_JOBS ?= 2
check: deps
	sh tests/lint
	$(MAKE) -j$(CHECK_JOBS) all
	$(MAKE) lint-man
	$(MAKE) -j$(CHECK_JOBS) asan
	$(MAKE) -C fuzz regress
	sh tests/run

lint-man:
	@if ls man/*.[0-9] >/dev/null 2>&1; then \
	    out=$$(mandoc -Tlint -W warning man/*.[0-9] 2>&1); \
	    if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; \
	    echo "lint-man: $$(ls man/*.[0-9] | wc -l) pages clean"; fi

lint: lint-man
	sh tests/lint

# The closed loop end to end on embedded defaults (examples/demo/run);
# FAULT=KIND injects another fault kind of the marketplace (make demo
# FAULT=pool).
demo: deps
	$(MAKE) all
	SRE_DEMO_FAULT='$(FAULT)' sh examples/demo/run

bench: all
	@for r in bench/*/run; do [ -x "$$r" ] && "$$r" || exit 1; done

fuzz:
	$(MAKE) -C fuzz

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	for t in $(TOOLS); do install -m 755 $$t $(DESTDIR)$(BINDIR)/; done
	install -m 755 tests/mock/kafka-mock $(DESTDIR)$(BINDIR)/sre-kafka-mock
	for m in man/*.[0-9]; do s=$${m##*.}; \
	    install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	$(MAKE) install-dashboard

# sre-serve's dashboard: static files under $(PREFIX)/share/sre/dashboard.
install-dashboard:
	mkdir -p $(DESTDIR)$(PREFIX)/share/sre/dashboard
	install -m 644 share/dashboard/* $(DESTDIR)$(PREFIX)/share/sre/dashboard/

# systemd units (systemd/), apart from `make install`: make install-systemd
# [UNITDIR=...].  /usr/local in the units becomes $(PREFIX); the example
# EnvironmentFiles and pipelines/*.sh go to $(PREFIX)/share/sre.
UNITDIR  ?= $(PREFIX)/lib/systemd/system
SRE_UNITS = $(wildcard systemd/*.service systemd/*.timer systemd/*.target \
            systemd/*.slice)
install-systemd:
	mkdir -p $(DESTDIR)$(UNITDIR) $(DESTDIR)$(PREFIX)/share/sre/pipelines
	for u in $(SRE_UNITS); do d=$(DESTDIR)$(UNITDIR)/$${u##*/}; \
	    sed -e 's|/usr/local/bin|$(BINDIR)|g' -e 's|/usr/local|$(PREFIX)|g' \
	    $$u > $$d && chmod 644 $$d || exit 1; done
	install -m 600 systemd/sre.env $(DESTDIR)$(PREFIX)/share/sre/sre.env
	install -m 644 systemd/sre-tool.env $(DESTDIR)$(PREFIX)/share/sre/sre-tool.env
	install -m 644 systemd/pipeline.env $(DESTDIR)$(PREFIX)/share/sre/pipeline.env
	$(MAKE) install-dashboard
	for p in pipelines/*.sh; do [ ! -f $$p ] || \
	    install -m 755 $$p $(DESTDIR)$(PREFIX)/share/sre/pipelines/ || exit 1; done

uninstall-systemd:
	for u in $(SRE_UNITS); do rm -f $(DESTDIR)$(UNITDIR)/$${u##*/}; done

.PHONY: install-systemd uninstall-systemd install-dashboard

uninstall:
	for t in $(TOOLS); do rm -f $(DESTDIR)$(BINDIR)/$${t##*/}; done
	rm -f $(DESTDIR)$(BINDIR)/sre-kafka-mock
	for m in man/*.[0-9]; do s=$${m##*.}; \
	    rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; done
	rm -rf $(DESTDIR)$(PREFIX)/share/sre/dashboard

format-check:
	clang-format --dry-run -Werror lib/*/*.[ch] bin/*.c

clean:
	rm -rf build lib/*/*.o lib/*/*.d lib/libsre.a $(TOOLS) $(TOOLS:=.d) \
	    proto/*.pb-c.[cho] \
	    $(UNITS) $(UNITS:=.d) $(EXTRA_PROGS) $(EXTRA_PROGS:=.d)

.PHONY: all tools units deps demo asan check lint-man lint bench fuzz install uninstall \
        format-check clean

# SPDX-License-Identifier: ISC
# Makefile: builds Bulwark.  Hand-written; includes config.mk, which
# ./configure writes (and which this Makefile makes, running configure and,
# if it finds something missing, contrib/install-deps.sh first).
#
#   make [SANITIZE=1]	build everything (ASan + UBSan with SANITIZE=1)
#   make check		unit, lint and integration tests
#   make run		a development instance in ./run (see README)
#   make install	PREFIX=/usr/local DESTDIR=
#   make fuzz		libFuzzer targets (clang) in $(BUILD)/fuzz
#   make clean

# clean and distclean alone need no configuration.
ifneq ($(MAKECMDGOALS),)
ifeq ($(filter-out clean distclean,$(MAKECMDGOALS)),)
SKIP_CONFIG = 1
endif
endif
ifndef SKIP_CONFIG
include config.mk
endif

PREFIX ?= $(prefix)
SBINDIR = $(PREFIX)/sbin
LIBEXECDIR = $(PREFIX)/libexec/bulwark
MANDIR = $(PREFIX)/share/man
EXAMPLEDIR = $(PREFIX)/share/examples/bulwark
SYSCONFDIR ?= /etc
RUNDIR ?= /var/run
DBDIR ?= /var/db

WARN = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wmissing-prototypes \
	-Wstrict-prototypes -Wformat=2 -Wno-format-nonliteral
ifeq ($(SANITIZE),1)
BUILD ?= build/san
SAN = -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
OPT = -O1 -g -DBULWARK_SANITIZE=1
else
BUILD ?= build/rel
SAN =
OPT = -O2 -g
endif

BW_CPPFLAGS = -I. -Ilib -include config.h $(CPPFLAGS) \
	-DBULWARK_LIBEXECDIR='"$(LIBEXECDIR)"' \
	-DBULWARK_CONFFILE='"$(SYSCONFDIR)/bulwark/bulwark.conf"' \
	-DBULWARK_RUNDIR='"$(RUNDIR)/bulwark"' \
	-DBULWARK_DBDIR='"$(DBDIR)/bulwark"'
BW_CFLAGS = $(WARN) $(SAN) -MMD -MP -std=gnu11
BW_LDFLAGS = $(SAN) $(LDFLAGS)

LIB_SRCS = $(wildcard lib/*.c)
MASTER_SRCS = $(wildcard master/*.c)
CTL_SRCS = $(wildcard master/ctl/*.c)
STORE_SRCS = $(wildcard store/*.c)
WORKERS = $(notdir $(wildcard workers/*))
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
FUZZ_SRCS = $(wildcard tests/fuzz/fuzz_*.c)
BENCH_SRCS = $(wildcard bench/*/bench_*.c)
TOOL_SRCS = $(wildcard tests/tools/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIBBW = $(BUILD)/libbulwark.a
# bulwarkctl reads bulwark.conf to find the admin socket.
CONF_OBJS = $(call obj,master/parse.c master/conf.c)

PROGS = $(BUILD)/bulwarkd $(BUILD)/bulwarkctl $(BUILD)/storaged \
	$(addprefix $(BUILD)/,$(WORKERS))
UNITS = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
BENCHES = $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))
TOOLS = $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(TOOL_SRCS))

all: $(PROGS) $(UNITS) $(BENCHES) $(TOOLS)

ifeq ($(V),1)
Q =
else
Q = @
endif

$(BUILD)/obj/%.o: %.c config.h
	@mkdir -p $(@D)
	@test "$(V)" = 1 || echo "  CC      $<"
	$(Q)$(CC) $(BW_CPPFLAGS) $(BW_CFLAGS) $(CFLAGS) $(OPT) -c -o $@ $<

$(LIBBW): $(call obj,$(LIB_SRCS))
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/bulwarkd: $(call obj,$(MASTER_SRCS)) $(LIBBW)
	$(CC) $(BW_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bulwarkctl: $(call obj,$(CTL_SRCS)) $(CONF_OBJS) $(LIBBW)
	$(CC) $(BW_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/storaged: $(call obj,$(STORE_SRCS)) $(LIBBW)
	$(CC) $(BW_LDFLAGS) -o $@ $^ $(LIBS)

define WORKER_template
$(BUILD)/$(1): $(call obj,$(wildcard workers/$(1)/*.c)) $(LIBBW)
	$$(CC) $$(BW_LDFLAGS) -o $$@ $$^ $$(LIBS)
endef
$(foreach w,$(WORKERS),$(eval $(call WORKER_template,$(w))))

# Unit tests link the module they test from the store or master when they
# need it: tests/unit/test_X.c may list extra sources on a line
# "/* unit-deps: store/foo.c master/bar.c */".
unit_deps = $(call obj,$(shell sed -n 's|.*unit-deps: \(.*\) \*/.*|\1|p' $(1)))
define UNIT_template
$(BUILD)/tests/$(1): $(call obj,tests/unit/$(1).c tests/unit/harness.c) $(call unit_deps,tests/unit/$(1).c) $(LIBBW)
	@mkdir -p $$(@D)
	$$(CC) $$(BW_LDFLAGS) -o $$@ $$^ $$(LIBS)
endef
$(foreach u,$(patsubst tests/unit/%.c,%,$(UNIT_SRCS)),$(eval $(call UNIT_template,$(u))))

define BENCH_template
$(BUILD)/bench/$(1): $(call obj,bench/$(1).c) $(LIBBW)
	@mkdir -p $$(@D)
	$$(CC) $$(BW_LDFLAGS) -o $$@ $$^ $$(LIBS)
endef
$(foreach b,$(patsubst bench/%.c,%,$(BENCH_SRCS)),$(eval $(call BENCH_template,$(b))))

# Test tools (tests/tools/X.c, used by integration tests) link worker
# sources listed on a line "/* tool-deps: workers/foo/bar.c */".
tool_deps = $(call obj,$(shell sed -n 's|.*tool-deps: \(.*\) \*/.*|\1|p' $(1)))
define TOOL_template
$(BUILD)/tests/tools/$(1): $(call obj,tests/tools/$(1).c) $(call tool_deps,tests/tools/$(1).c) $(LIBBW)
	@mkdir -p $$(@D)
	$$(CC) $$(BW_LDFLAGS) -o $$@ $$^ $$(LIBS)
endef
$(foreach t,$(patsubst tests/tools/%.c,%,$(TOOL_SRCS)),$(eval $(call TOOL_template,$(t))))

# libFuzzer targets: the parser sources compiled again with clang.
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -I. -Ilib -Istore -DBULWARK_FUZZ=1 \
	-include config.h
fuzz_deps = $(shell sed -n 's|.*fuzz-deps: \(.*\) \*/.*|\1|p' $(1))
FUZZERS = $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
fuzz: $(FUZZERS)
$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_SRCS) $(MASTER_SRCS) $(STORE_SRCS) \
    $(wildcard workers/*/*.c) config.h
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $< $(call fuzz_deps,$<) $(LIB_SRCS) $(LIBS)

config.h: config.mk
config.mk: configure config.mk.in
	./configure --prefix=/usr/local || \
	    { sh contrib/install-deps.sh && ./configure --prefix=/usr/local; }

configure: configure.ac
	@command -v autoconf >/dev/null 2>&1 || sh contrib/install-deps.sh
	autoconf && autoheader && touch configure

check: all
	@if [ -z "$(PYTHON3)" ] || [ -z "$(OPENSSL)" ] || [ -z "$(MANDOC)" ]; then \
	    sh contrib/install-deps.sh || exit 1; fi
	sh tests/run.sh $(BUILD)

run: all
	sh contrib/devrun.sh $(BUILD)

install: $(PROGS)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBEXECDIR) \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(EXAMPLEDIR)
	install -m 0755 $(BUILD)/bulwarkd $(BUILD)/bulwarkctl $(DESTDIR)$(SBINDIR)
	install -m 0755 $(BUILD)/storaged $(addprefix $(BUILD)/,$(WORKERS)) \
	    $(DESTDIR)$(LIBEXECDIR)
	install -m 0644 man/*.5 $(DESTDIR)$(MANDIR)/man5
	install -m 0644 man/*.8 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 etc/bulwark.conf $(DESTDIR)$(EXAMPLEDIR)

clean:
	rm -rf build

distclean: clean
	rm -rf config.mk config.h config.log config.status configure \
	    config.h.in autom4te.cache run

.PHONY: all check run install clean distclean fuzz

-include $(shell find build -name '*.d' 2>/dev/null)

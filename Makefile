# sockconf: `make conformance` sets up and certifies a target; `make test` runs every test.
# Set-up is part of both: missing system packages are installed with apt-get when run as root
# (otherwise the exact apt-get line is printed), Python packages go into .venv/.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
B := harness/build
TARGET ?= ref
PYTEST_ARGS ?=
VERSION := 0.1.0

SYS_PKGS := gcc clang make pkg-config python3 python3-venv liblwip-dev libslirp-dev libglib2.0-dev iproute2
WARN := -std=c99 -Wall -Wextra -Werror
CFLAGS ?= -O2
CORE := harness/hn_wire.c harness/hn_agent.c
HOST := ref/rf_sem.c ref/rf_dns.c ref/rf_kernel.c
LINK := harness/host/hn_hostlink.c
RB := ref/build
ORACLE := ref/rf_sem.c ref/rf_dns.c ref/rf_lwip.c ref/rf_net.c ref/rf_tap.c ref/rf_main.c
LWIP_CFLAGS = $(shell pkg-config --cflags lwip slirp)
LWIP_LIBS = $(shell pkg-config --libs lwip slirp) -lpthread
HDRS := $(wildcard harness/*.h harness/host/*.h harness/test/*.h ref/*.h) harness/ops.def
SAN := -g -fsanitize=address,undefined -fno-sanitize-recover=all

.PHONY: conformance test deps sysdeps build c-test py-test clean

conformance: deps build
	$(VPY) -m pytest conformance/cases --target=$(TARGET) -ra $(PYTEST_ARGS)

test: deps build c-test py-test

# ---- set-up ----

deps: sysdeps $(VENV)/.installed

sysdeps:
	@missing=""; \
	for c in gcc clang make pkg-config; do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	PATH="$$PATH:/usr/sbin:/sbin" command -v ip >/dev/null 2>&1 || missing="$$missing iproute2"; \
	pkg-config --exists lwip slirp 2>/dev/null || missing="$$missing liblwip-dev/libslirp-dev"; \
	$(PYTHON) -c 'import venv, ensurepip' >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "sockconf: missing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYS_PKGS); \
	  else \
	    echo "sockconf: run this, then make again: sudo apt-get install -y $(SYS_PKGS)"; exit 1; \
	  fi; \
	fi

$(VENV)/.installed: conformance/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --disable-pip-version-check -r conformance/requirements.txt
	touch $@

# ---- the C harness: host build, tests, and a warning check with both compilers ----

build: $(B)/sockconf-harness $(RB)/sockconf-ref

$(B):
	mkdir -p $@

$(B)/sockconf-harness: $(CORE) $(HOST) $(LINK) harness/host/hn_host.c $(HDRS) | $(B)
	gcc $(WARN) $(CFLAGS) -Iharness -DHN_VERSION='"$(VERSION)"' -o $@ $(CORE) $(HOST) $(LINK) harness/host/hn_host.c

# ---- the oracle: the harness over the semantics layer on lwIP, through libslirp ----

$(RB):
	mkdir -p $@

$(RB)/sockconf-ref: $(CORE) $(ORACLE) $(LINK) $(HDRS) | $(RB)
	gcc $(WARN) $(CFLAGS) -Iharness $(LWIP_CFLAGS) -DHN_VERSION='"$(VERSION)"' -o $@ $(CORE) $(ORACLE) $(LINK) $(LWIP_LIBS)

$(B)/hn_test_wire: harness/hn_wire.c harness/test/hn_test_wire.c $(HDRS) | $(B)
	gcc $(WARN) $(SAN) -Iharness -o $@ harness/hn_wire.c harness/test/hn_test_wire.c

$(B)/hn_vectors: $(CORE) $(HOST) harness/test/hn_vectors.c $(HDRS) | $(B)
	gcc $(WARN) $(SAN) -Iharness -o $@ $(CORE) $(HOST) harness/test/hn_vectors.c

$(B)/hn_test_agent: $(CORE) harness/test/hn_test_agent.c $(HDRS) | $(B)
	gcc $(WARN) $(SAN) -O1 -Iharness -o $@ $(CORE) harness/test/hn_test_agent.c

$(B)/clang.stamp: $(CORE) $(HOST) $(ORACLE) $(LINK) harness/host/hn_host.c $(wildcard harness/test/*.c) $(HDRS) | $(B)
	clang $(WARN) -O2 -Iharness -o $(B)/sockconf-harness-clang $(CORE) $(HOST) $(LINK) harness/host/hn_host.c
	clang $(WARN) -O2 -Iharness -o $(B)/hn_vectors-clang $(CORE) $(HOST) harness/test/hn_vectors.c
	clang $(WARN) -O2 -Iharness -o $(B)/hn_test_wire-clang harness/hn_wire.c harness/test/hn_test_wire.c
	clang $(WARN) -O2 -Iharness -o $(B)/hn_test_agent-clang $(CORE) harness/test/hn_test_agent.c
	clang $(WARN) -O2 -Iharness $(LWIP_CFLAGS) -o $(B)/sockconf-ref-clang $(CORE) $(ORACLE) $(LINK) $(LWIP_LIBS)
	touch $@

# ---- the semantics layer against real host peers on loopback, over the kernel and the oracle ----

RT_SRC := $(sort $(HOST) $(filter-out ref/rf_main.c,$(ORACLE))) ref/test/rf_peer.c ref/test/rf_test_sem.c

$(RB)/rf_test_sem: $(CORE) $(RT_SRC) ref/test/rf_peer.h $(HDRS) | $(RB)
	gcc $(WARN) $(SAN) -O1 -Iharness $(LWIP_CFLAGS) -o $@ $(CORE) $(RT_SRC) $(LWIP_LIBS)

$(RB)/rf_test_sem-clang: $(CORE) $(RT_SRC) ref/test/rf_peer.h $(HDRS) | $(RB)
	clang $(WARN) -O2 -Iharness $(LWIP_CFLAGS) -o $@ $(CORE) $(RT_SRC) $(LWIP_LIBS)

HOSTILE_LINES ?= 200000

c-test: $(B)/hn_test_wire $(B)/hn_vectors $(B)/hn_test_agent $(B)/clang.stamp $(RB)/rf_test_sem $(RB)/rf_test_sem-clang
	$(B)/hn_test_wire > $(B)/hn_test_wire.tap || { grep -v '^ok' $(B)/hn_test_wire.tap; exit 1; }
	@tail -n 1 $(B)/hn_test_wire.tap
	$(B)/hn_vectors vectors/protocol/*.vec > $(B)/hn_vectors.tap || { grep -v '^ok' $(B)/hn_vectors.tap; exit 1; }
	@tail -n 1 $(B)/hn_vectors.tap
	$(B)/hn_vectors-clang vectors/protocol/*.vec > /dev/null
	$(B)/hn_test_agent $(HOSTILE_LINES) vectors/protocol/*.vec > $(B)/hn_test_agent.tap || { grep -v '^ok' $(B)/hn_test_agent.tap; exit 1; }
	@grep '^# .* lines:' $(B)/hn_test_agent.tap; tail -n 1 $(B)/hn_test_agent.tap
	$(RB)/rf_test_sem > $(RB)/rf_test_sem.tap || { grep -v '^ok' $(RB)/rf_test_sem.tap; exit 1; }
	@grep '^# ' $(RB)/rf_test_sem.tap; tail -n 1 $(RB)/rf_test_sem.tap
	$(RB)/rf_test_sem-clang > $(RB)/rf_test_sem-clang.tap || { grep -v '^ok' $(RB)/rf_test_sem-clang.tap; exit 1; }

# ---- Python: host client self-tests, vectors on the Python side, and the conformance run ----

py-test: deps build
	$(VPY) -m pytest conformance --target=$(TARGET) -q -ra $(PYTEST_ARGS)
	$(VPY) -m pytest conformance/cases --target=harness -q -ra $(PYTEST_ARGS)
	$(VPY) -m pytest conformance/cases conformance/selftest/test_backends.py --target=ref-tap -q -ra $(PYTEST_ARGS)

clean:
	rm -rf $(B) $(RB)

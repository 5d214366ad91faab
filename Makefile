# sockconf: `make conformance` sets up and certifies a target; `make test` runs every test.
# Set-up is part of both: missing system packages are installed with apt-get when run as root
# (otherwise the exact apt-get line is printed), Python packages go into .venv/.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
SOCKCONF := $(VENV)/bin/sockconf
B := harness/build
TARGET ?= ref
PROFILE ?=
RESULTS ?=
PYTEST_ARGS ?=
VERSION := 0.1.0

SYS_PKGS := gcc clang make pkg-config python3 python3-venv liblwip-dev libslirp-dev libglib2.0-dev iproute2 libclang-rt-dev strace mtools
WARN := -std=c99 -Wall -Wextra -Werror
CFLAGS ?= -O2
CORE := harness/hn_wire.c harness/hn_agent.c
HOST := ref/rf_sem.c ref/rf_dns.c ref/rf_kernel.c
LINK := harness/host/hn_hostlink.c
RB := ref/build
ORACLE := ref/rf_sem.c ref/rf_dns.c ref/rf_lwip.c ref/rf_net.c ref/rf_tap.c ref/rf_main.c
LWIP_CFLAGS = $(shell pkg-config --cflags lwip slirp)
LWIP_LIBS = $(shell pkg-config --libs lwip slirp) -lpthread
HN_HDRS := $(wildcard harness/*.h harness/host/*.h harness/test/*.h) harness/ops.def
HDRS := $(HN_HDRS) $(wildcard ref/*.h ref/test/*.h)
SAN := -g -fsanitize=address,undefined -fno-sanitize-recover=all

.PHONY: conformance test deps sysdeps browser-deps build c-test py-test coverage record clean micropython-check \
	matrix certificate baseline-diff junit bench bench-deps fuzz fuzz-ci

# certify a target: TARGET=ref|ref-tap|harness|cmd:COMMAND|a target file, PROFILE=name, RESULTS=file.json
conformance: deps build
	$(SOCKCONF) run '$(TARGET)' $(if $(PROFILE),--profile=$(PROFILE)) $(if $(RESULTS),--results=$(RESULTS)) \
	  -ra $(PYTEST_ARGS)

test: deps browser-deps build c-test fuzz-ci py-test

# ---- set-up ----

deps: sysdeps $(VENV)/.installed

sysdeps:
	@missing=""; \
	for c in gcc clang make pkg-config; do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	PATH="$$PATH:/usr/sbin:/sbin" command -v ip >/dev/null 2>&1 || missing="$$missing iproute2"; \
	command -v strace >/dev/null 2>&1 || missing="$$missing strace"; \
	command -v mformat >/dev/null 2>&1 || missing="$$missing mtools"; \
	pkg-config --exists lwip slirp 2>/dev/null || missing="$$missing liblwip-dev/libslirp-dev"; \
	echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' | \
	  clang -fsanitize=fuzzer -x c - -o /dev/null >/dev/null 2>&1 || missing="$$missing libclang-rt-dev"; \
	$(PYTHON) -c 'import venv, ensurepip' >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "sockconf: missing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYS_PKGS); \
	  else \
	    echo "sockconf: run this, then make again: sudo apt-get install -y $(SYS_PKGS)"; exit 1; \
	  fi; \
	fi

# the matrix page's browser test: Debian's chromium and its driver, selenium in the venv
BROWSER_PKGS := chromium chromium-driver

browser-deps: $(VENV)/.browser
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PKGS); \
	  else \
	    echo "sockconf: the matrix page's browser test will skip; to run it: sudo apt-get install -y $(BROWSER_PKGS)"; \
	  fi; \
	fi

$(VENV)/.browser: conformance/requirements-browser.txt $(VENV)/.installed
	$(VPY) -m pip install -q --disable-pip-version-check -r conformance/requirements-browser.txt
	touch $@

# the pinned requirements, then conformance/ itself as an editable package: the `sockconf` command and
# the plugin's pytest11 entry point, over this working tree's sources
$(VENV)/.installed: conformance/requirements.txt conformance/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --disable-pip-version-check -r conformance/requirements.txt
	$(VPY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e ./conformance
	touch $@

# ---- the C harness (nothing in harness/ needs ref/): its tests, with both compilers ----

$(B):
	mkdir -p $@

$(B)/hn_test_wire: harness/hn_wire.c harness/test/hn_test_wire.c $(HN_HDRS) | $(B)
	gcc $(WARN) $(SAN) -Iharness -o $@ harness/hn_wire.c harness/test/hn_test_wire.c

$(B)/hn_test_agent: $(CORE) harness/test/hn_test_agent.c $(HN_HDRS) | $(B)
	gcc $(WARN) $(SAN) -O1 -Iharness -o $@ $(CORE) harness/test/hn_test_agent.c

$(B)/clang.stamp: $(CORE) $(wildcard harness/test/*.c) $(HN_HDRS) | $(B)
	clang $(WARN) -O2 -Iharness -o $(B)/hn_test_wire-clang harness/hn_wire.c harness/test/hn_test_wire.c
	clang $(WARN) -O2 -Iharness -o $(B)/hn_test_agent-clang $(CORE) harness/test/hn_test_agent.c
	touch $@

# ---- the harness over the semantics layer: target `harness` on the host kernel's sockets
# (ref/rf_host.c), the oracle on lwIP through libslirp (ref/rf_main.c); the vectors against the first ----

build: $(RB)/sockconf-harness $(RB)/sockconf-ref

$(RB):
	mkdir -p $@

$(RB)/sockconf-harness: $(CORE) $(HOST) $(LINK) ref/rf_host.c $(HDRS) | $(RB)
	gcc $(WARN) $(CFLAGS) -Iharness -DHN_VERSION='"$(VERSION)"' -o $@ $(CORE) $(HOST) $(LINK) ref/rf_host.c

$(RB)/sockconf-ref: $(CORE) $(ORACLE) $(LINK) $(HDRS) | $(RB)
	gcc $(WARN) $(CFLAGS) -Iharness $(LWIP_CFLAGS) -DHN_VERSION='"$(VERSION)"' -o $@ $(CORE) $(ORACLE) $(LINK) $(LWIP_LIBS)

$(RB)/rf_vectors: $(CORE) $(HOST) ref/test/rf_vectors.c $(HDRS) | $(RB)
	gcc $(WARN) $(SAN) -Iharness -o $@ $(CORE) $(HOST) ref/test/rf_vectors.c

$(RB)/clang.stamp: $(CORE) $(HOST) $(ORACLE) $(LINK) ref/rf_host.c ref/test/rf_vectors.c $(HDRS) | $(RB)
	clang $(WARN) -O2 -Iharness -o $(RB)/sockconf-harness-clang $(CORE) $(HOST) $(LINK) ref/rf_host.c
	clang $(WARN) -O2 -Iharness -o $(RB)/rf_vectors-clang $(CORE) $(HOST) ref/test/rf_vectors.c
	clang $(WARN) -O2 -Iharness $(LWIP_CFLAGS) -o $(RB)/sockconf-ref-clang $(CORE) $(ORACLE) $(LINK) $(LWIP_LIBS)
	touch $@

# ---- the semantics layer against real host peers on loopback, over the kernel and the oracle ----

RT_SRC := $(sort $(HOST) $(filter-out ref/rf_main.c,$(ORACLE))) ref/test/rf_peer.c ref/test/rf_test_sem.c

$(RB)/rf_test_sem: $(CORE) $(RT_SRC) ref/test/rf_peer.h $(HDRS) | $(RB)
	gcc $(WARN) $(SAN) -O1 -Iharness $(LWIP_CFLAGS) -o $@ $(CORE) $(RT_SRC) $(LWIP_LIBS)

$(RB)/rf_test_sem-clang: $(CORE) $(RT_SRC) ref/test/rf_peer.h $(HDRS) | $(RB)
	clang $(WARN) -O2 -Iharness $(LWIP_CFLAGS) -o $@ $(CORE) $(RT_SRC) $(LWIP_LIBS)

# ---- libFuzzer over the agent's parser and dispatch (ASan + UBSan), seeded from the vectors ----

FUZZ_RUNS ?= 2000000
FUZZ_JOBS ?= 1
FUZZ_CI_RUNS ?= 20000
FZ := $(B)/fuzz

# (a pump or sink makes at most 256 calls here, not 65,536: one line of them stays well inside the
# fuzzer's per-input timeout)
$(B)/hn_fuzz: $(CORE) harness/test/hn_fuzz.c $(HN_HDRS) | $(B)
	clang $(WARN) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -DHN_BULKCALLS=256 -Iharness \
	  -o $@ $(CORE) harness/test/hn_fuzz.c

$(FZ)/hn_fuzz.dict: harness/test/hn_fuzz_seeds.py harness/test/hn_fuzz.dict harness/ops.def $(wildcard vectors/protocol/*.vec) $(wildcard harness/test/hn_fuzz_regress/*) $(VENV)/.installed
	mkdir -p $(FZ)
	PYTHONPATH=conformance $(VPY) harness/test/hn_fuzz_seeds.py vectors/protocol harness/test/hn_fuzz.dict $(FZ)

# a bounded session: prints executions, coverage and crashes (FUZZ_RUNS, FUZZ_JOBS)
fuzz: $(B)/hn_fuzz $(FZ)/hn_fuzz.dict
	harness/test/hn_fuzz.sh $(B)/hn_fuzz $(FUZZ_RUNS) $(FZ) $(FUZZ_JOBS)

# the short one make test runs
fuzz-ci: $(B)/hn_fuzz $(FZ)/hn_fuzz.dict
	harness/test/hn_fuzz.sh $(B)/hn_fuzz $(FUZZ_CI_RUNS) $(FZ) 1 fresh

HOSTILE_LINES ?= 200000

c-test: $(B)/hn_test_wire $(RB)/rf_vectors $(B)/hn_test_agent $(B)/clang.stamp $(RB)/clang.stamp \
	  $(RB)/rf_test_sem $(RB)/rf_test_sem-clang
	$(B)/hn_test_wire > $(B)/hn_test_wire.tap || { grep -v '^ok' $(B)/hn_test_wire.tap; exit 1; }
	@tail -n 1 $(B)/hn_test_wire.tap
	$(RB)/rf_vectors vectors/protocol/*.vec > $(RB)/rf_vectors.tap || { grep -v '^ok' $(RB)/rf_vectors.tap; exit 1; }
	@tail -n 1 $(RB)/rf_vectors.tap
	$(RB)/rf_vectors-clang vectors/protocol/*.vec > /dev/null
	$(B)/hn_test_agent $(HOSTILE_LINES) vectors/protocol/*.vec > $(B)/hn_test_agent.tap || { grep -v '^ok' $(B)/hn_test_agent.tap; exit 1; }
	@grep '^# .* lines:' $(B)/hn_test_agent.tap; tail -n 1 $(B)/hn_test_agent.tap
	$(RB)/rf_test_sem > $(RB)/rf_test_sem.tap || { grep -v '^ok' $(RB)/rf_test_sem.tap; exit 1; }
	@grep '^# ' $(RB)/rf_test_sem.tap; tail -n 1 $(RB)/rf_test_sem.tap
	$(RB)/rf_test_sem-clang > $(RB)/rf_test_sem-clang.tap || { grep -v '^ok' $(RB)/rf_test_sem-clang.tap; exit 1; }

# ---- Python: host client self-tests, vectors on the Python side, and the conformance run ----

ORACLE_RECORD := vectors/oracle/ref.json
# the real MicroPython unix port (the pinned wheel's command): its verdicts are recorded too, and
# every run must give the same (the regression gate for verdicts on a real port)
MP := $(VENV)/bin/micropython
MP_RECORD := vectors/oracle/micropython.json
MP_RUN = $(VPY) -m pytest conformance/cases --target=micropython:$(MP) --profile=micropython -q \
	  --results=$(B)/micropython-results.json

py-test: deps build
	$(VPY) -m pytest conformance --target=ref -q -ra --results=$(B)/ref-results.json $(PYTEST_ARGS)
	cd conformance && ../$(VPY) -m sockconf.record check ../$(B)/ref-results.json ../$(ORACLE_RECORD)
	$(VPY) -m pytest conformance/cases --target=harness -q -ra $(PYTEST_ARGS)
	$(VPY) -m pytest conformance/cases conformance/selftest/test_backends.py --target=ref-tap -q -ra $(PYTEST_ARGS)
	$(MAKE) --no-print-directory micropython-check
	$(MAKE) --no-print-directory coverage

# the whole suite against real MicroPython, compared with its record: statuses and normative
# observations (its FAILs are expected: the record says which; a change names the case)
micropython-check: deps build
	@rm -f $(B)/micropython-results.json
	@$(MP_RUN) > $(B)/micropython-run.txt 2>&1; grep -E '^cases ' $(B)/micropython-run.txt || tail -n 20 $(B)/micropython-run.txt
	cd conformance && ../$(VPY) -m sockconf.record check ../$(B)/micropython-results.json ../$(MP_RECORD)

# which cases cover each clause; fails when a testable clause of any of the four documents has
# neither a case nor a same_as link to a canonical clause that has one
coverage: deps | $(B)
	cd conformance && ../$(VPY) -m sockconf.coverage --strict-all > ../$(B)/coverage.txt; \
	  status=$$?; tail -n 4 ../$(B)/coverage.txt; grep -E '^(problem|.*UNTESTED)' ../$(B)/coverage.txt; exit $$status

# regenerate the recorded results (vectors/oracle/ref.json: the oracle's; micropython.json: the real
# MicroPython unix port's) from fresh runs
record: deps build
	$(VPY) -m pytest conformance/cases --target=ref -q --results=$(B)/ref-results.json $(PYTEST_ARGS)
	cd conformance && ../$(VPY) -m sockconf.record write ../$(B)/ref-results.json ../$(ORACLE_RECORD)
	@rm -f $(B)/micropython-results.json
	-$(MP_RUN) | grep -E '^(cases|FAILED|ERROR) '
	cd conformance && ../$(VPY) -m sockconf.record write ../$(B)/micropython-results.json ../$(MP_RECORD)

# ---- benchmarks (not tests): a table with the goals, and BENCH_OUT=file.json ----

BENCH_OUT ?=

bench: deps build bench-deps
	$(SOCKCONF) bench $(if $(BENCH_OUT),--out $(abspath $(BENCH_OUT)))

# the footprint figure cross-compiles the harness core for Cortex-M4
bench-deps:
	@if ! command -v arm-none-eabi-gcc >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-arm-none-eabi; \
	  else \
	    echo "sockconf: the footprint figure will be n/a; to measure it: sudo apt-get install -y gcc-arm-none-eabi"; \
	  fi; \
	fi

# ---- reports over results files (conformance/sockconf/reports; sockconf matrix|certificate|... ) ----

OUT ?= $(B)/reports
OLD ?=
NEW ?=
need = @test -n '$($(1))' || { echo 'make $@: set $(1)=$(2)'; exit 2; }

# RESULTS="a.json b.json ..." OUT=DIR: DIR/matrix.html and DIR/matrix.md
matrix: $(VENV)/.installed
	$(call need,RESULTS,"a.json b.json ...")
	$(SOCKCONF) matrix --out '$(OUT)' $(RESULTS)

# RESULTS=a.json OUT=DIR: DIR/certificate.md and DIR/certificate.json
certificate: $(VENV)/.installed
	$(call need,RESULTS,a.json)
	$(SOCKCONF) certificate $(RESULTS) --out '$(OUT)'

# OLD=a.json NEW=b.json: the diff; non-zero exit only on a regression
baseline-diff: $(VENV)/.installed
	$(call need,OLD,a.json)
	$(call need,NEW,b.json)
	$(SOCKCONF) baseline-diff '$(OLD)' '$(NEW)'

# RESULTS=a.json OUT=DIR: DIR/junit.xml (FAIL failure, UNRESOLVED error, DEVIATION/UNSUPPORTED skipped)
junit: $(VENV)/.installed
	$(call need,RESULTS,a.json)
	mkdir -p '$(OUT)' && $(SOCKCONF) junit $(RESULTS) '$(OUT)/junit.xml'

clean:
	rm -rf $(B) $(RB)

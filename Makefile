# The two commands a newcomer runs: `make serve` and `make test`.
# Both work on a fresh Debian 12 machine that has only python3 and make.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Debian packages the end-to-end tests and benchmarks talk to (real peers, real clients).
TEST_DEBS := unbound nsd bind9 dnsmasq-base knot-dnsutils bind9-dnsutils dnsperf chromium fonts-wqy-microhei prometheus dnsdist systemd kea-dhcp4-server nftables
# What compiling the query path needs: a C compiler, the C library's headers and Python.h for /usr/bin/python3.
NATIVE_DEBS := gcc libc6-dev python3-dev

.PHONY: serve test venv test-env debs native clean

# The query path's modules (the scorer's, the DNS codec and replay memo, the Bloom filter) compiled by mypyc
# (deploy/native.py) into the venv: nothing compiled lands in the source tree, and each package loads its
# build only while its stamp matches the package's sources (an edited source runs as Python until this
# rebuilds it; scoring/README.md). `make serve` installs no packages: without a compiler it says so in one
# line and serves in pure Python, which passes the same tests. `make native` stops on any failure;
# `make test` on a failed build: a run that quietly fell back would test the fallback twice and never the
# compiled modules people run. Only a compiler that
# `make test` could not install (not root) is left to the tests, as a missing peer is:
# tests/scoring/test_native.py skips then, and fails under FRAUDWALL_REQUIRE_PEERS=1 (CI).
NATIVE := $(VENV)/fraudwall-native/fraudwall/scoring/sources.stamp

# The demo's store, query log, reports and CA stay in the checkout's .state/, whoever runs it: never
# /var/lib/fraudwall, where a production config keeps its own (`export FRAUDWALL_STATE_DIR=$PWD/.state`
# lets `fraudwall block`, `check` and `report` in another shell work on the same store).
STATE_DIR ?= $(CURDIR)/.state

serve: $(VENV)/.installed $(NATIVE)
	FRAUDWALL_STATE_DIR=$(STATE_DIR) $(BIN)/fraudwall serve $(ARGS)

# A FRAUDWALL_STATE_DIR exported for `make serve` would move the defaults the tests check: unset here.
test: test-env
	@FRAUDWALL_STATE_DIR= $(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests; that is a failure" >&2; exit 1; fi; \
	exit $$rc

venv: $(VENV)/.installed
# The compiler comes with the debs, so the query path is compiled after them (see NATIVE for why a failure stops it).
test-env: $(VENV)/.installed-test debs
	@$(MAKE) --no-print-directory native NATIVE_REQUIRED=--required=build

$(VENV)/bin/python:
	@if ! $(PYTHON) -c 'import venv, ensurepip' 2>/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv; \
	  else echo "python3's venv module is missing: run 'sudo apt-get install python3-venv' and try again" >&2; exit 1; fi; \
	fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(VENV)/bin/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/bin/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed

# Installs the peers (and the compiler) only when one is missing, and only as root; otherwise the
# end-to-end tests skip (or fail, with FRAUDWALL_REQUIRE_PEERS=1) naming what is missing.
debs:
	@missing=""; for p in $(TEST_DEBS) $(NATIVE_DEBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	  else echo "not root: cannot install$$missing; the tests that need them will skip" >&2; fi; \
	fi

native: NATIVE_REQUIRED := --required
native: $(NATIVE)
	@:
$(NATIVE): $(VENV)/.installed $(wildcard scoring/*.py resolver/dns/*.py blocklists/*.py) deploy/native.py
	@$(BIN)/python deploy/native.py $(NATIVE_REQUIRED)

clean:
	rm -rf $(VENV) build *.egg-info

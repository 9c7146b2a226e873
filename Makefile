# CodeRunner. Two commands do everything on a fresh machine:
#   make run    install what is missing, build, serve on http://localhost:8080
#   make test   run every test (Go with -race on SQLite and PostgreSQL, the
#               dashboard's unit tests, and its end-to-end tests in Chromium)
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

GO ?= go
BUF := frontend/node_modules/.bin/buf
# buf/validate/validate.proto comes from this Go module (buf.build's registry
# is not used); `make generate` copies it into the git-ignored .build/.
PROTOVALIDATE_MODULE := github.com/bufbuild/protovalidate
PROTOVALIDATE_VERSION := v1.2.2
PROTOVALIDATE_PROTO := .build/protovalidate/buf/validate/validate.proto

# PostgreSQL for the tests; each test makes its own schema in it.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
export TEST_DATABASE_URL
# The machine's Redis, for tests of apps' Redis databases through --apps-redis-url.
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
export TEST_REDIS_URL

.PHONY: run build frontend-build deps go-deps frontend-deps sandbox-deps apps-deps test-deps generate checkgenerate lint test bench clean

## run: install what is missing, build and start CodeRunner on :8080 (SQLite in ./data)
run: deps build
	./bin/coderunner serve

## build: the dashboard (frontend/dist) and bin/coderunner, which embeds it,
## and bin/coderunner-manifest, the manifest runtime alone (it starts faster)
build: frontend-build
	$(GO) build -o bin/coderunner ./server/cmd/coderunner
	$(GO) build -o bin/coderunner-manifest ./server/cmd/coderunner-manifest

# The dashboard's production build; server/api embeds frontend/dist.
frontend-build: frontend-deps
	cd frontend && npm run --silent build

deps: go-deps frontend-deps sandbox-deps apps-deps

go-deps:
	$(GO) mod download

frontend-deps: frontend/node_modules/.package-lock.json

# npm writes node_modules/.package-lock.json on every install, so this
# re-runs exactly when package.json or the lockfile changed.
frontend/node_modules/.package-lock.json: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $@

# The local sandbox driver needs bubblewrap, and slirp4netns for sandboxes
# with network (builds). node-gyp, which compiles npm packages with native
# code in the build sandbox, needs python3, make and g++ in /usr/bin (the
# sandbox sees the host's /usr, not the rest of PATH). As root they are
# installed; other users are told how.
sandbox-deps:
	@if ! command -v bwrap >/dev/null || ! command -v slirp4netns >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing bubblewrap and slirp4netns (sandbox driver)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap slirp4netns >/dev/null; \
	  else \
	    echo "WARNING: bubblewrap or slirp4netns is missing; deployments cannot run until you install them: sudo apt-get install bubblewrap slirp4netns" >&2; \
	  fi; \
	fi
	@if [ ! -x /usr/bin/python3 ] || [ ! -x /usr/bin/make ] || [ ! -x /usr/bin/g++ ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing python3, make and g++ (native npm modules)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 make g++ >/dev/null; \
	  else \
	    echo "WARNING: /usr/bin/python3, make or g++ is missing; npm packages with native code cannot build until you install them: sudo apt-get install python3 make g++" >&2; \
	  fi; \
	fi

# Deployments get their own PostgreSQL database and Redis; with no external
# server configured CodeRunner runs them from the system's binaries
# (server/appdb/pgembed runs a private cluster on a unix socket in the data
# dir, never the machine's own server on 5432). As root they are installed;
# other users are told how. policy-rc.d keeps apt from starting the Debian
# services on the machine's ports: CodeRunner starts its own instances.
apps-deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v redis-server >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing postgresql and redis-server (app databases)"; \
	    policy=/usr/sbin/policy-rc.d; had_policy=; [ -e $$policy ] && had_policy=1; \
	    [ -n "$$had_policy" ] || { printf '#!/bin/sh\nexit 101\n' > $$policy; chmod 0755 $$policy; }; \
	    status=0; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql redis-server >/dev/null || status=$$?; \
	    [ -n "$$had_policy" ] || rm -f $$policy; \
	    exit $$status; \
	  else \
	    echo "WARNING: postgresql or redis-server is missing; apps cannot get a database until you install them: sudo apt-get install postgresql redis-server" >&2; \
	  fi; \
	fi

# The tests also need Prometheus (promtool checks the monitoring kit, and a
# real Prometheus scrapes a test server), Chromium (the dashboard's
# end-to-end tests) and jq (TestReadme runs the README's curl examples).
# Installed as root; other users are told how.
TEST_PACKAGES := prometheus:prometheus promtool:prometheus chromium:chromium jq:jq
test-deps:
	@missing=""; for pair in $(TEST_PACKAGES); do \
	  command -v "$${pair%%:*}" >/dev/null || missing="$$missing $${pair##*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing$$missing (test dependencies)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$(echo $$missing | tr ' ' '\n' | sort -u) >/dev/null; \
	  else \
	    echo "ERROR: the tests need:$$missing; install with: sudo apt-get install$$missing" >&2; exit 1; \
	  fi; \
	fi

$(PROTOVALIDATE_PROTO):
	@dir=$$($(GO) mod download -json $(PROTOVALIDATE_MODULE)@$(PROTOVALIDATE_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	test -n "$$dir" || { echo "could not download $(PROTOVALIDATE_MODULE)@$(PROTOVALIDATE_VERSION)" >&2; exit 1; }; \
	mkdir -p $(@D); install -m 0644 "$$dir/proto/protovalidate/buf/validate/validate.proto" $@

## generate: lint and format the protos, regenerate gen/ and frontend/src/gen/
generate: frontend-deps $(PROTOVALIDATE_PROTO)
	$(BUF) lint
	$(BUF) format -w
	$(BUF) generate

## checkgenerate: fail if the committed generated code is stale
checkgenerate: generate
	@if [ -n "$$(git status --porcelain -- proto gen frontend/src/gen)" ]; then \
	  echo "generated code is stale; run 'make generate' and commit:" >&2; \
	  git status --porcelain -- proto gen frontend/src/gen >&2; \
	  exit 1; \
	fi

# golangci-lint, built once from the Go module proxy into a cache outside
# the clone (a few minutes the first time), then reused.
GOLANGCI_LINT_VERSION := v2.15.0
TOOLS_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/coderunner/tools
GOLANGCI_LINT := $(TOOLS_CACHE)/golangci-lint-$(GOLANGCI_LINT_VERSION)

$(GOLANGCI_LINT):
	@echo "building golangci-lint $(GOLANGCI_LINT_VERSION) into $(TOOLS_CACHE) (once)"
	@mkdir -p $(TOOLS_CACHE)/bin-$(GOLANGCI_LINT_VERSION)
	GOBIN=$(TOOLS_CACHE)/bin-$(GOLANGCI_LINT_VERSION) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(TOOLS_CACHE)/bin-$(GOLANGCI_LINT_VERSION)/golangci-lint $@

## lint: buf lint, go vet, golangci-lint (.golangci.yml) and ESLint (frontend/eslint.config.js)
lint: frontend-deps $(PROTOVALIDATE_PROTO) $(GOLANGCI_LINT)
	$(BUF) lint
	$(GO) vet ./...
	$(GOLANGCI_LINT) run ./...
	cd frontend && npm run --silent lint

## test: every test, with the race detector, on SQLite and PostgreSQL
test: deps test-deps $(PROTOVALIDATE_PROTO) build
	$(GO) vet ./...
	cd frontend && ./node_modules/.bin/tsc -p .
	BUF_BIN=$(abspath $(BUF)) $(GO) test -race -count=1 -timeout 25m ./...
	cd frontend && npm run --silent test
	cd frontend && CODERUNNER_BIN=$(abspath bin/coderunner) npm run --silent e2e

clean:
	rm -rf bin .build

## bench: the performance benchmarks whose figures the README reports
bench: deps $(PROTOVALIDATE_PROTO)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null; } || echo "wrk missing: BenchmarkManifestGetByIDWrk will skip (apt-get install wrk)"
	$(GO) test -run '^$$' -bench . -benchtime 10x -count 1 ./server/api/
	$(GO) test -run '^$$' -bench . -benchtime 3x -count 1 ./server/logs/
	$(GO) test -run '^$$' -bench . -count 1 ./server/manifest/
	$(GO) test -run '^$$' -bench . -benchtime 20x -count 1 ./server/usage/

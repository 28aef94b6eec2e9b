# Gatehouse — see README.md.
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
ADDR    ?= :8000

.PHONY: all build server wasm run run-pg serve-pg test e2e screenshots vet fmt-check wasm-check bench storm rss fuzz deps clean

all: build

## build: the frontend (web/app.wasm, with its brotli and gzip copies beside it)
## and the gatehouse command in bin/
build: wasm server

# Without cgo: one static binary, which starts without the C library (1.5 MB
# less resident) and runs on any Linux.
server:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/gatehouse ./server/cmd/gatehouse

# The compressed copies are made in Go (brotli quality 11: most of a minute)
# and kept while they hold exactly app.wasm, so an unchanged wasm costs a hash.
wasm:
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags "-s -w" -o web/app.wasm ./app/wasm
	$(GO) run ./server/cmd/precompress web/app.wasm

## run: build and serve on SQLite in ./data (the first start prints the admin password)
run: build
	GATEHOUSE_ADDR=$(ADDR) ./bin/gatehouse serve

# run-pg and serve-pg use the database gatehouse on the local PostgreSQL,
# created when missing. Instances started from this directory share the
# generated signing secret in ./data.
PG_SERVER ?= postgres://postgres@127.0.0.1:5432
PG_RUN_URL ?= $(PG_SERVER)/gatehouse?sslmode=disable

## run-pg: build and serve on PostgreSQL (start more instances with serve-pg)
run-pg: build serve-pg

## serve-pg: serve the last build on PostgreSQL, e.g. make serve-pg ADDR=:8001
serve-pg:
	@psql "$(PG_SERVER)/postgres?sslmode=disable" -XAtqc "SELECT 1 FROM pg_database WHERE datname = 'gatehouse'" | grep -q 1 || \
		psql "$(PG_SERVER)/postgres?sslmode=disable" -Xqc "CREATE DATABASE gatehouse"
	GATEHOUSE_ADDR=$(ADDR) GATEHOUSE_DATABASE_URL="$(PG_RUN_URL)" ./bin/gatehouse serve

# The browser tests drive the binary and the wasm built once by build.
E2E_ENV := GATEHOUSE_E2E_BIN=$(CURDIR)/bin/gatehouse GATEHOUSE_E2E_WEB=$(CURDIR)/web

# The PostgreSQL tests use GATEHOUSE_TEST_DATABASE_URL, else the local
# server at PG_URL when it answers; each test creates and drops a database.
PG_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable

## test: formatting, vet (host and js/wasm), then every test with the race detector,
## the browser and PostgreSQL tests included (skipped, saying so, when Chromium
## or PostgreSQL is absent)
test: fmt-check vet wasm-check build
	@command -v chromium >/dev/null 2>&1 || echo "NOTE: browser tests (app/e2e) will be skipped: chromium not found; run make deps"
	@url="$${GATEHOUSE_TEST_DATABASE_URL:-}"; \
	if [ -z "$$url" ] && command -v psql >/dev/null 2>&1 && psql "$(PG_URL)" -XAtqc 'SELECT 1' >/dev/null 2>&1; then url="$(PG_URL)"; fi; \
	if [ -z "$$url" ]; then echo "NOTE: PostgreSQL tests will be skipped: no server at $(PG_URL); set GATEHOUSE_TEST_DATABASE_URL"; \
	else echo "PostgreSQL tests run against $$url"; fi; \
	GATEHOUSE_TEST_DATABASE_URL="$$url" $(E2E_ENV) $(GO) test -race -count=1 ./...

## e2e: only the browser tests, verbosely
e2e: build
	$(E2E_ENV) $(GO) test -count=1 -v ./app/e2e/

## screenshots: retake the README's pictures (web/screenshots/) with the
## browser tests that make them
screenshots: build
	GATEHOUSE_E2E_README_SHOTS=1 $(E2E_ENV) $(GO) test -count=1 -run 'TestMainPagesAtTwoWidthsLightAndDark|TestOfflineShowsCachedUsers|TestStepUpSavesARoleChange|TestStepUpResetsAnotherUsersMFAAndLiftsALockout|TestMFAScreensAtTwoWidthsLightAndDark' ./app/e2e/

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

## wasm-check: shared/ and the browser side of app/ must compile for js/wasm
## (app/e2e drives a browser from the host and is left out)
wasm-check:
	GOOS=js GOARCH=wasm $(GO) vet ./shared/... ./app/client/... ./app/ui/... ./app/wasm/...

# The memory benchmark measures the binary and web directory built by build.
BENCH_ENV := GATEHOUSE_BENCH_BIN=$(CURDIR)/bin/gatehouse GATEHOUSE_BENCH_WEB=$(CURDIR)/web

## bench: benchmarks (figures are ratios measured side by side in one run),
## the sign-in storm (see storm) and the server's memory (see rss) among them
bench: build
	$(BENCH_ENV) $(GO) test -run='^$$' -bench=. -benchmem -count=1 ./...
	GATEHOUSE_LOAD_FIGURES=1 $(E2E_ENV) $(GO) test -count=1 -run='^TestLoadFigures$$' -v ./app/e2e/ | grep -Ev '^(=== RUN|    harness|    .*screenshot)'

## storm: 100 sign-ins at once (bcrypt cost 12) while a load generator reads
## /api/users/me on a fixed number of connections; prints its p99 idle and
## during the storm, and the errors on the authenticated side
storm:
	$(GO) test -run='^$$' -bench='^BenchmarkSignInStorm$$' -benchtime=1x -count=1 -v ./server/integration/

## rss: the resident memory of bin/gatehouse serve on SQLite, idle after a
## first visit and at its peak while 256 connections read /api/users/me
rss: build
	$(BENCH_ENV) $(GO) test -run='^$$' -bench='^BenchmarkRSS$$' -benchtime=1x -count=1 -v ./server/cmd/gatehouse/

## fuzz: every fuzz target for FUZZTIME each (a crash found is saved under
## testdata/fuzz and becomes a regression test of the normal test run). The
## budget is a count of inputs, not a duration: Go 1.26's coordinator can
## report a spurious "context deadline exceeded" when a duration runs out
## while a worker is busy (go.dev/issue/75804, fixed in 1.27).
FUZZTIME ?= 300000x
FUZZ_TARGETS := \
	./server/auth:FuzzVerify ./server/auth:FuzzRefreshToken ./server/auth:FuzzDeviceToken \
	./server/api:FuzzTokenForms ./server/api:FuzzJSONBodies ./server/api:FuzzAppendUser
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$name ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$$name$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	done

## deps: download Go modules and install Debian's Chromium for the browser tests
deps:
	$(GO) mod download
	@if ! command -v chromium >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else echo "install Chromium for the browser tests: sudo apt-get install chromium"; fi; \
	fi

clean:
	rm -rf bin web/app.wasm web/app.wasm.br web/app.wasm.gz

# Gatehouse — see README.md.
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
ADDR    ?= :8000

.PHONY: all build run test vet fmt-check wasm-check bench deps clean

all: build

## build: the gatehouse command in bin/
build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/gatehouse ./server/cmd/gatehouse

## run: build and serve on SQLite in ./data (the first start prints the admin password)
run: build
	GATEHOUSE_ADDR=$(ADDR) ./bin/gatehouse serve

## test: formatting, vet (host and js/wasm), and every test with the race detector
test: fmt-check vet wasm-check
	$(GO) test -race -count=1 ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

## wasm-check: shared/ and app/ must compile for the browser
wasm-check:
	GOOS=js GOARCH=wasm $(GO) vet ./shared/... ./app/...

## bench: benchmarks (figures are ratios measured side by side in one run)
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 ./...

## deps: download Go modules
deps:
	$(GO) mod download

clean:
	rm -rf bin

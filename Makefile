# sitedns developer targets. Everything is plain go tooling; nothing here
# needs network access beyond the Go module proxy.
#
#   make build    static ./sitedns with the version from git
#   make test     unit and integration tests, with -race
#   make lint     gofmt -l and go vet
#   make fuzz     every Fuzz target for FUZZTIME (default 10s) each
#   make bench    every benchmark, with allocations
#   make e2e      the end-to-end tests (real dig, dnsperf, prometheus)
#   make image    the container image (needs a Docker engine)

GO        ?= go
BINARY    ?= sitedns
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.revision=$(REVISION)
FUZZTIME  ?= 10s
BENCHTIME ?= 1s
IMAGE     ?= sitedns:$(VERSION)

.PHONY: all build test lint fuzz bench e2e image release-snapshot clean

all: lint test build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BINARY) ./cmd/sitedns

test:
	$(GO) test -race ./...

lint:
	@out=$$(gofmt -l .); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Each Fuzz target of each package runs on its own: "go test -fuzz" takes
# one target at a time.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
			$(GO) test -run='^$$' -fuzz="^$$f\$$" -fuzztime=$(FUZZTIME) $$pkg; \
		done; \
	done

bench:
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) ./...

e2e:
	$(GO) test -race -count=1 ./e2e/

image:
	docker build -f deploy/docker/Dockerfile \
		--build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) \
		-t $(IMAGE) .

release-snapshot:
	goreleaser release --snapshot --clean

clean:
	rm -rf $(BINARY) dist/

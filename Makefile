# sitedns developer targets. Everything is plain go tooling; nothing here
# needs network access beyond the Go module proxy.
#
#   make build    static ./sitedns with the version from git
#   make test     unit and integration tests, with -race
#   make lint     gofmt -l and go vet
#   make fuzz     every Fuzz target for FUZZTIME (default 10s) each
#   make bench    every benchmark, with allocations
#   make e2e      the end-to-end tests (real dig, dnsperf, prometheus)
#   make image    the container image, with podman or docker (no registry needed)

GO        ?= go
BINARY    ?= sitedns
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.revision=$(REVISION)
FUZZTIME  ?= 10s
BENCHTIME ?= 1s
# The image the Kubernetes manifests and deploy/docker-compose.yml run
# (deploy/image_test.go keeps the three in step); make image also tags it
# with the version.
IMAGE_REPO    ?= ghcr.io/sitedns/sitedns
IMAGE_TAG     ?= latest
IMAGE         ?= $(IMAGE_REPO):$(IMAGE_TAG)
ENGINE        ?= $(shell command -v podman 2>/dev/null || command -v docker 2>/dev/null)
ENGINE_FLAGS  ?=
IMAGE_CONTEXT ?= dist/image
CA_BUNDLE     ?= /etc/ssl/certs/ca-certificates.crt
SETCAP        ?= setcap

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

# The files deploy/docker/Containerfile names, then the engine's build on
# them. setcap needs CAP_SETFCAP: run as root, or with SETCAP="sudo setcap".
image:
	@test -n "$(ENGINE)" || { echo "make image: neither podman nor docker is installed" >&2; exit 1; }
	rm -rf $(IMAGE_CONTEXT) && mkdir -p $(IMAGE_CONTEXT)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(IMAGE_CONTEXT)/sitedns ./cmd/sitedns
	$(SETCAP) cap_net_bind_service=+ep $(IMAGE_CONTEXT)/sitedns
	cp deploy/docker/passwd deploy/docker/group $(IMAGE_CONTEXT)/
	cp $(CA_BUNDLE) $(IMAGE_CONTEXT)/ca-certificates.crt
	$(ENGINE) $(ENGINE_FLAGS) build -f deploy/docker/Containerfile \
		--build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) \
		-t $(IMAGE) -t $(IMAGE_REPO):$(VERSION) $(IMAGE_CONTEXT)
	@echo "image $(IMAGE): $$($(ENGINE) $(ENGINE_FLAGS) image inspect --format '{{.Size}}' $(IMAGE)) bytes"

release-snapshot:
	goreleaser release --snapshot --clean

clean:
	rm -rf $(BINARY) dist/

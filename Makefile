# advanced-backend: variants are declared once, in internal/groupspec; this
# Makefile includes variants.mk, generated from that table (a test keeps it
# current), instead of restating them or running `go run` on every call.

# The toolchain every target builds and tests with: go.mod's go line. The go
# command fetches it through the module proxy when the machine has another.
# GNU make 4.3 does not hand exported variables to $(shell ...), so GO
# carries it itself: every $(shell) and recipe that runs go gets it, also in
# a shell where GOTOOLCHAIN is unset and go.env says local.
GO_TOOLCHAIN := $(shell sed -n 's/^go \([0-9][0-9.]*\)$$/go\1/p' go.mod)
ifeq ($(GO_TOOLCHAIN),)
$(error cannot read the go version from go.mod (run make in the repository root))
endif
export GOTOOLCHAIN := $(GO_TOOLCHAIN)
GO       := GOTOOLCHAIN=$(GO_TOOLCHAIN) go
PKG      := github.com/advanced-backend/advanced-backend
VERSION  ?= $(shell git describe --tags --dirty 2>/dev/null || echo "$$(cat VERSION)-dev")
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
-include variants.mk
ifeq ($(strip $(VARIANTS)),)
$(error variants.mk is missing or declares no variants; regenerate it: GOTOOLCHAIN=$(GO_TOOLCHAIN) go run ./cmd/variants make -w variants.mk)
endif
# tags_of,V: V's build tags; an unknown variant stops make.
tags_of   = $(or $(VARIANT_TAGS_$(1)),$(error unknown variant "$(1)" (known: $(VARIANTS))))
# Release builds are stripped; DEBUG=1 keeps symbols (for go tool nm).
STRIP    := $(if $(DEBUG),,-s -w)
LDFLAGS  := $(STRIP) -X $(PKG)/internal/version.Version=$(VERSION) -X $(PKG)/internal/version.Commit=$(COMMIT)
BUILD    := CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)"
TAGS     ?=

.PHONY: all variants $(VARIANTS) build run test test-short test-deploy deps clean fuzz generate

all: variants

variants: $(VARIANTS)

$(VARIANTS):
	@echo "build $@ (tags $(call tags_of,$@))"
	$(BUILD) -tags "$(call tags_of,$@)" -o dist/$@/advanced-backend ./cmd/advanced-backend

# A custom set of groups: make build TAGS="llm vector"
build:
	@tags="$(BASE_TAGS),$$(echo $(TAGS) | tr ' ' ',')" && echo "build custom (tags $$tags)" && \
	$(BUILD) -tags "$$tags" -o dist/custom/advanced-backend ./cmd/advanced-backend

# The lean variant on the default address (127.0.0.1:8000).
run: lean
	./dist/lean/advanced-backend serve

# Everything the tests need is installed by scripts/test-deps.sh (as root,
# with apt-get) when missing; then vet, the race-enabled tests, and the rest.
# TEST_STRICT=1 (internal/testkit/testtool): a test whose tool is missing fails
# instead of skipping, so nothing is skipped silently here or in CI.
# Vetting for Windows too catches a Unix-only call in a test here rather
# than in ci.yml's Windows job (which vets every package).
test:
	./scripts/test-deps.sh
	$(GO) vet ./...
	GOOS=windows $(GO) vet ./...
	TEST_STRICT=1 $(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) test-deploy

# The deploy kit (deploy/): Kubernetes manifests decoded strictly into the
# API types, the systemd unit verified, values checked against the settings.
# A module of its own, so the Kubernetes modules stay out of the service's go.mod.
test-deploy:
	cd deploy/check && TEST_STRICT=1 $(GO) test -count=1 ./...


# The inner loop: no external tools, no variant builds.
test-short:
	$(GO) test -short -count=1 ./...

# Rewrite every file generated from the code's own declarations (each has a
# test that fails when it is stale): variants.mk, .goreleaser.yaml's builds,
# README.md's settings table and .env.example. (BUILD.md's variant tables:
# go run ./cmd/variants markdown, pasted between its markers.)
generate:
	$(GO) run ./cmd/variants make -w variants.mk
	$(GO) run ./cmd/variants goreleaser -w .goreleaser.yaml
	$(GO) run ./cmd/settingsdoc -w .
	$(GO) run web/gzip_dashboard.go

# Fuzz targets (package:Func), each run for FUZZTIME; seeds are committed
# under the package's testdata/fuzz/<Func>. New failures land there too.
FUZZTIME     ?= 10s
FUZZ_TARGETS := ./internal/auth:FuzzVerify ./internal/auth:FuzzParseUsers ./features/optional:FuzzParse ./features/llm/openaicompat:FuzzSetTopLevel ./features/vector/store/durable:FuzzRecovery
fuzz:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$fn ($$pkg) for $(FUZZTIME)"; \
	  $(GO) test $$pkg -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) || exit 1; \
	done

# Regenerate the checked-in package list of every variant (deps/<variant>.txt).
deps:
	@set -e; $(foreach v,$(VARIANTS),tags=$(call tags_of,$(v)); v=$(v); \
	  GOOS=linux GOARCH=amd64 $(GO) list -deps -tags "$$tags" -f '{{if not .Standard}}{{.ImportPath}}{{end}}' ./cmd/advanced-backend > deps/$$v.txt; \
	  echo "deps/$$v.txt: $$(wc -l < deps/$$v.txt) packages";)

clean:
	rm -rf dist build-reports

# --- release and ops (goreleaser, actionlint, govulncheck: pinned in tools/go.mod) ---
TOOL             := $(GO) tool -modfile=tools/go.mod
# goreleaser's snapshot would version a tree without a tag (or without a
# remote) as 0.0.1; the Makefile's version goes in instead (without its v).
RELEASE_VERSION  := $(patsubst v%,%,$(VERSION))

.PHONY: release-snapshot release-check lint-workflows sizes backendctl image release-images \
	release-snapshot-linux release-verify release-test release-test-linux

# Every variant for every OS/arch into dist/release, nothing published.
release-snapshot:
	RELEASE_VERSION=$(RELEASE_VERSION) RELEASE_COMMIT=$(COMMIT) $(TOOL) goreleaser release --snapshot --clean

# The same for linux (amd64, arm64) only, from a configuration derived from
# .goreleaser.yaml (builds restricted to linux): what .ci/run can afford.
release-snapshot-linux:
	@mkdir -p dist
	$(GO) run ./cmd/releasecheck config --goos linux .goreleaser.yaml > dist/goreleaser-linux.yaml
	RELEASE_VERSION=$(RELEASE_VERSION) RELEASE_COMMIT=$(COMMIT) $(TOOL) goreleaser release --snapshot --clean -f dist/goreleaser-linux.yaml

# Check the snapshot in dist/release for RELEASE_GOOS: checksums, archive
# contents, build info, executable format, SBOMs; every linux binary runs
# (linux/arm64 under qemu-aarch64-static) and passes backendctl probe.
RELEASE_GOOS ?= linux,darwin,windows
release-verify: backendctl
	$(GO) run ./cmd/releasecheck verify --dir dist/release --version $(RELEASE_VERSION) --goos $(RELEASE_GOOS) --backendctl dist/backendctl

# Snapshot, verify, and build the images from the snapshot's binaries; the
# image `make image` builds from source must be the archive's bytes.
# release-test: every OS (CI workflows); release-test-linux: .ci/run.
# The version and commit are handed down: the snapshot was stamped with them.
release-test: release-snapshot
	$(MAKE) --no-print-directory release-verify release-images same-bytes VERSION=$(VERSION) COMMIT=$(COMMIT)
release-test-linux: release-snapshot-linux
	$(MAKE) --no-print-directory release-verify release-images same-bytes VERSION=$(VERSION) COMMIT=$(COMMIT) RELEASE_GOOS=linux

# Validate .goreleaser.yaml, then build every variant for this host only.
release-check:
	$(TOOL) goreleaser check
	RELEASE_VERSION=$(RELEASE_VERSION) RELEASE_COMMIT=$(COMMIT) $(TOOL) goreleaser build --snapshot --single-target --clean

# --- container images (Dockerfile, scripts/image.sh; docker or podman) ---
IMAGE   ?= advanced-backend
VARIANT ?= lean
ARCH    ?= $(shell $(GO) env GOARCH)

# One variant's image for linux/$(ARCH), from the release build of that
# variant (same flags as goreleaser: the same bytes as the archive's binary),
# tagged $(IMAGE):<version>-<variant> and $(IMAGE):<variant>.
image:
	@echo "build $(VARIANT) for linux/$(ARCH) (tags $(call tags_of,$(VARIANT)))"
	GOOS=linux GOARCH=$(ARCH) $(BUILD) -tags "$(call tags_of,$(VARIANT))" -o dist/image/$(VARIANT)_linux_$(ARCH)/advanced-backend ./cmd/advanced-backend
	./scripts/image.sh build $(VARIANT) dist/image/$(VARIANT)_linux_$(ARCH)/advanced-backend $(ARCH) $(VERSION) $(COMMIT) \
	  $(IMAGE):$(RELEASE_VERSION)-$(VARIANT) $(IMAGE):$(VARIANT)

# Images of every variant for linux amd64 and arm64 from the binaries of a
# snapshot in dist/release: $(IMAGE):<version>-<variant>-<arch>, and
# $(IMAGE):<version>-<variant> (a manifest list of both with podman).
release-images:
	./scripts/image.sh release dist/release $(IMAGE) $(RELEASE_VERSION) $(COMMIT)

# The Makefile's release build of lean (what `make image` packs) is
# byte-identical to goreleaser's.
.PHONY: same-bytes
same-bytes:
	GOOS=linux GOARCH=$(ARCH) $(BUILD) -tags "$(call tags_of,lean)" -o dist/image/lean_linux_$(ARCH)/advanced-backend ./cmd/advanced-backend
	cmp dist/image/lean_linux_$(ARCH)/advanced-backend dist/release/lean_linux_$(ARCH)_*/advanced-backend
	@echo "same-bytes: make image's lean binary is goreleaser's"

lint-workflows:
	$(TOOL) actionlint

backendctl:
	$(BUILD) -o dist/backendctl ./cmd/backendctl

# Size, start time and idle RSS of every variant and of lean+group/full-group
# builds (see BUILD.md); RUNS=10 for the figures in BUILD.md.
RUNS ?= 3
sizes: backendctl
	./dist/backendctl sizes --runs $(RUNS) --budget size-budget.json

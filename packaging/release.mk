# What ships, and the checks CI runs on it. Included by the Makefile.
#
#   make build            bin/otelcol-flipt: static (CGO_ENABLED=0), -trimpath, version-stamped
#   make image            container image $(IMAGE), FROM scratch, with that binary ($(CONTAINER) build)
#   make packages         dist/otelcol-flipt_$(VERSION)_$(ARCH).deb and .rpm (nfpm, pinned in tools/go.mod)
#   make dist             dist/otelcol-flipt_$(VERSION)_linux_{amd64,arm64}.tar.gz and checksums.txt
#   make check-release    everything CI proves about them (scripts/check-*.sh); needs root, podman, dpkg, rpm
#   make check-systemd    the deb's unit booted under a real systemd (root, debootstrap, systemd-nspawn)
#
# examples/ and packaging/traces-backend.yaml are run by their Go tests (go test ./examples,
# part of make test) against the same binary.
#
# The end-to-end tests run the binary `make build` made (OTELCOL_FLIPT_E2E_BINARY), so the
# distribution is compiled once and the tests exercise exactly what ships.

MANIFEST_VERSION := $(shell sed -n 's/^  version: *//p' builder-config.yaml)
# VERSION is what --version prints and what the packages and archives are named after; a
# release build sets it (make dist VERSION=1.2.3), the default is builder-config.yaml's.
VERSION   ?= $(MANIFEST_VERSION)
HOST_OS   := $(shell $(GO) env GOOS)
HOST_ARCH := $(shell $(GO) env GOARCH)
ARCH      ?= $(HOST_ARCH)
DIST      := dist
STAGE     := $(DIST)/stage
CONTAINER ?= podman
IMAGE     ?= otelcol-flipt:$(VERSION)
NFPM      := $(GO) tool -modfile=tools/go.mod nfpm
DIST_ARCHES ?= amd64 arm64

E2E_ENV := OTELCOL_FLIPT_E2E_BINARY=$(CURDIR)/$(BIN)

# release_build(output, goos, goarch). The generated main.go carries the version the builder
# wrote; a build overlay swaps in $(VERSION) without touching the committed file, which the
# manifest drift test compares with the builder's output byte for byte. The copy lives in a
# directory starting with "_", which `go vet ./...` and `go test ./...` skip.
define release_build
	@mkdir -p $(STAGE)/_version $(dir $(1))
	@sed 's/^\(\t*Version: *\)"[^"]*"/\1"$(VERSION)"/' cmd/otelcol-flipt/main.go > $(STAGE)/_version/main.go
	@grep -q 'Version: *"$(VERSION)"' $(STAGE)/_version/main.go || { echo "cannot stamp version $(VERSION) into main.go"; exit 1; }
	@printf '{"Replace":{"%s":"%s"}}\n' "$(CURDIR)/cmd/otelcol-flipt/main.go" "$(CURDIR)/$(STAGE)/_version/main.go" > $(STAGE)/_version/overlay.json
	CGO_ENABLED=0 GOOS=$(2) GOARCH=$(3) $(GO) build -trimpath -overlay=$(STAGE)/_version/overlay.json \
	  -ldflags='-s -w' -o $(1) ./cmd/otelcol-flipt
endef

# The linux binary for ARCH: on a linux host of that ARCH it is bin/otelcol-flipt itself,
# otherwise it is cross-compiled beside the stage.
ifeq ($(HOST_OS)/$(ARCH),linux/$(HOST_ARCH))
ARCH_BIN := $(BIN)
else
ARCH_BIN := $(STAGE)/linux_$(ARCH)/otelcol-flipt
endif

.PHONY: image packages dist check-release check-version check-image check-packages check-systemd check-dist
.PHONY: packaged-config binary-linux

## packaged-config: config/default.yaml with the audit file at an absolute path under /var/lib/otelcol-flipt
packaged-config:
	@mkdir -p $(STAGE)
	packaging/packaged-config.sh config/default.yaml > $(STAGE)/config.yaml

binary-linux: $(if $(filter $(ARCH_BIN),$(BIN)),build)
ifneq ($(ARCH_BIN),$(BIN))
	$(call release_build,$(ARCH_BIN),linux,$(ARCH))
endif

## image: the container image, FROM scratch: bin/otelcol-flipt as UID 10001, config at /etc/otelcol-flipt/config.yaml
image: build packaged-config
	@rm -rf $(STAGE)/image && mkdir -p $(STAGE)/image/data
	cp $(BIN) $(STAGE)/config.yaml packaging/traces-backend.yaml $(STAGE)/image/
	cp /etc/ssl/certs/ca-certificates.crt $(STAGE)/image/
	$(CONTAINER) build --build-arg VERSION=$(VERSION) -t $(IMAGE) -f Dockerfile $(STAGE)/image

## packages: the .deb and .rpm for ARCH (default: this machine's)
packages: binary-linux packaged-config
	@mkdir -p $(DIST)
	NFPM_BINARY=$(ARCH_BIN) VERSION=$(VERSION) ARCH=$(ARCH) $(NFPM) package -f packaging/nfpm.yaml -p deb -t $(DIST)/
	NFPM_BINARY=$(ARCH_BIN) VERSION=$(VERSION) ARCH=$(ARCH) $(NFPM) package -f packaging/nfpm.yaml -p rpm -t $(DIST)/

## dist: release archives for linux $(DIST_ARCHES) (binary, LICENSE, README, CHANGELOG, configs) and SHA-256 checksums
dist: build packaged-config
	@set -e; for a in $(DIST_ARCHES); do $(MAKE) --no-print-directory dist-archive ARCH=$$a; done
	cd $(DIST) && sha256sum $(foreach a,$(DIST_ARCHES),otelcol-flipt_$(VERSION)_linux_$(a).tar.gz) > checksums.txt
	@cat $(DIST)/checksums.txt

.PHONY: dist-archive
dist-archive: binary-linux
	@rm -rf $(STAGE)/otelcol-flipt_$(VERSION)_linux_$(ARCH)
	@mkdir -p $(STAGE)/otelcol-flipt_$(VERSION)_linux_$(ARCH)
	cp $(ARCH_BIN) LICENSE README.md CHANGELOG.md $(STAGE)/config.yaml packaging/traces-backend.yaml \
	  $(STAGE)/otelcol-flipt_$(VERSION)_linux_$(ARCH)/
	tar -C $(STAGE) --owner=0 --group=0 --numeric-owner --sort=name --mtime=@0 -czf \
	  $(DIST)/otelcol-flipt_$(VERSION)_linux_$(ARCH).tar.gz otelcol-flipt_$(VERSION)_linux_$(ARCH)

## check-release: what CI proves about the archives, the packages and the image
check-release: check-version check-dist check-packages check-image

# The version is the build's: one built with another VERSION prints that one.
check-version:
	@$(MAKE) --no-print-directory build BIN=$(STAGE)/version-check/otelcol-flipt VERSION=$(VERSION)-check.1
	@got=$$($(STAGE)/version-check/otelcol-flipt --version); \
	  if [ "$$got" != "otelcol-flipt version $(VERSION)-check.1" ]; then echo "FAIL  a build with VERSION=$(VERSION)-check.1 printed '$$got'"; exit 1; fi; \
	  git diff --quiet -- cmd/otelcol-flipt/main.go || { echo "FAIL  the build changed cmd/otelcol-flipt/main.go"; exit 1; }; \
	  echo "ok    a build with VERSION=$(VERSION)-check.1 prints it; cmd/otelcol-flipt/main.go untouched"

check-dist: dist
	scripts/check-dist.sh $(DIST) $(VERSION)

check-packages: packages
	scripts/check-packages.sh $(DIST) $(VERSION) $(ARCH)

check-systemd: packages
	scripts/check-systemd.sh $(DIST)/otelcol-flipt_$(VERSION)_$(ARCH).deb

check-image: image
	CONTAINER=$(CONTAINER) scripts/check-image.sh $(IMAGE) $(VERSION)

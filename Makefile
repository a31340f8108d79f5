# The README's two commands are `make run` and `make test`; everything else
# here is what they call.

GO       ?= go
BIN      := bin/otelcol-flipt
BUILDER  := $(GO) tool -modfile=tools/go.mod builder
MDATAGEN := $(GO) tool -modfile=$(CURDIR)/tools/go.mod mdatagen
# components whose metadata.yaml mdatagen turns into code and documentation.md
COMPONENTS := receiver/fliptaudit processor/cachemetrics connector/evaluationmetrics exporter/auditfile extension/fliptencodingextension

.PHONY: run build test lint generate generated-check mdatagen validate bench bench-report rules-test

## run: build the collector and run it on its embedded default pipeline
run: build
	./$(BIN)

## build: compile bin/otelcol-flipt, static and version-stamped: the one binary tests, image, packages and archives share
build:
	$(call release_build,$(BIN),$(HOST_OS),$(HOST_ARCH))

## test: everything CI checks (lint, race tests incl. end-to-end, manifest drift, config validation, Prometheus rules)
test: lint validate rules-test
	$(E2E_ENV) $(GO) test -race -count=1 ./...

## lint: gofmt on every Go file (the generated ones too), vet and staticcheck
lint: generated-check
	@out=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool -modfile=tools/go.mod staticcheck ./...
	cd bench && $(GO) vet ./...

## validate: every shipped config passes `otelcol-flipt validate`
validate: build
	./$(BIN) validate
	@for f in config/*.yaml; do echo "validate $$f"; ./$(BIN) validate --config $$f || exit 1; done

## rules-test: promtool checks the Prometheus config and rules in dashboards/prometheus and runs their unit tests
## (without promtool it skips with a message, except in CI, i.e. CI=true, where it fails)
rules-test:
	@if ! command -v promtool >/dev/null 2>&1; then \
	  if [ "$${CI:-}" = true ]; then echo "rules-test: promtool not found; install Debian's prometheus package"; exit 1; fi; \
	  echo "rules-test: skipped, promtool not found (apt-get install prometheus)"; exit 0; \
	fi; \
	cd dashboards/prometheus && promtool check config prometheus.yml && promtool test rules otelcol-flipt.rules.test.yml

## generate: regenerate cmd/otelcol-flipt from builder-config.yaml, and mdatagen code
generate: mdatagen
	$(BUILDER) --config builder-config.yaml --skip-get-modules --skip-compilation
	gofmt -w cmd/otelcol-flipt/main.go cmd/otelcol-flipt/main_others.go cmd/otelcol-flipt/main_windows.go cmd/otelcol-flipt/components.go

mdatagen:
	@for d in $(COMPONENTS); do (cd $$d && $(MDATAGEN) metadata.yaml) || exit 1; done

## generated-check: mdatagen's code and documentation.md match each metadata.yaml (regenerates, and fails if anything changed)
generated-check:
	@t=$$(mktemp -d); find $(COMPONENTS) -type f | sort | xargs sha256sum >$$t/before; \
	$(MAKE) --no-print-directory mdatagen || exit 1; \
	find $(COMPONENTS) -type f | sort | xargs sha256sum >$$t/after; \
	if ! cmp -s $$t/before $$t/after; then echo "generated code was stale: mdatagen rewrote these; review and commit them:"; \
	  diff $$t/before $$t/after | sed -n 's/^> [0-9a-f]*  /  /p'; rm -r $$t; exit 1; fi; rm -r $$t

## bench: the component benchmarks beside their contrib counterparts (see BENCHMARKS.md)
bench:
	cd bench && $(GO) test -run '^$$' -bench . -benchmem ./...

## bench-report: rerun every comparison of BENCHMARKS.md in one bounded run (under 10 minutes) and rewrite it
bench-report:
	cd bench && $(GO) run ./report -out ../BENCHMARKS.md

# image, packages, dist and their checks (check-image, check-packages,
# check-dist, check-release): packaging/release.mk
include packaging/release.mk

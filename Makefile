# alter-go — developer tasks. Everything installs what it needs through the Go module proxy.
SHELL := /bin/bash
GO ?= go
GOLANGCI_LINT_VERSION := v2.15.0
export GOTOOLCHAIN ?= local
# The nested modules (own go.mod, `replace` to this tree): the bridges whose dependencies are
# heavy or third-party, kept out of the SDK's module. test, lint and check-gen cover each.
MODULES := alteraws alterlangchain altermcp alterotel examples/bridges bench

.PHONY: gen check-gen test fuzz bench lint demo conformance

## gen: regenerate every generated file from openapi.yaml
gen:
	$(GO) generate ./...
	gofmt -l gen >/dev/null

## check-gen: fail when regeneration or `go mod tidy` would change the tree
check-gen: gen
	@git diff --exit-code --stat -- . ':(exclude)go.sum' || { echo "generated code is stale: run 'make gen' and commit"; exit 1; }
	@test -z "$$(git status --porcelain --untracked-files=all -- gen internal/emu)" || { git status --short -- gen internal/emu; echo "untracked generated files: run 'make gen' and commit"; exit 1; }
	$(GO) mod tidy -diff
	@for m in $(MODULES); do (cd $$m && $(GO) mod tidy -diff) || { echo "$$m: run 'go mod tidy' there"; exit 1; }; done

## test: vet, run every test with the race detector, then fuzz briefly
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	@for m in $(MODULES); do (cd $$m && $(GO) vet ./... && $(GO) test -race -count=1 ./...) || exit 1; done
	@$(MAKE) --no-print-directory fuzz

# Fuzz targets run by `make fuzz`, as <package dir>:<target> (go test -fuzz takes one at a time).
# Every fuzz target of the repo (grep -rn '^func Fuzz' --include=*_test.go), listed so CI is deterministic.
FUZZ_TARGETS := facade:FuzzRetryAfter facade:FuzzExpandURL facade:FuzzBearerChallenge facade:FuzzParseCredential \
	facade:FuzzDecodeVaultError vaulttest:FuzzHandler internal/signing:FuzzCanonicalPath \
	internal/signing:FuzzVerifyNeverPanics internal/apikey:FuzzValid internal/reliability:FuzzRequestInputs \
	facade:FuzzContentMatchRule facade:FuzzRuleBody vaulttest:FuzzRequestRule identity:FuzzVerifyNeverPanics
# A count, not a duration: Go 1.26's fuzz coordinator can report a spurious "context deadline
# exceeded" when a duration ends while a worker is busy (go.dev/issue/75804); a count never races.
FUZZTIME ?= 4000x

## fuzz: run each fuzz target for FUZZTIME executions (seeds and testdata/fuzz regressions also run in `go test`)
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) ./$${t%%:*} || exit 1; \
	done

## bench: the facade, a hand-written net/http floor and the official Python SDK on altervault-dev
## (client CPU, p50/p99, throughput, allocations, connections, RSS, heap; concurrency 1-256, answers
## 1 KB-8 MB), facade vs floor on lean loopback servers, and altervault-dev's own CPU per call and
## RSS over 100k calls; table, bench/out/ (markdown, SVG chart), summary line. Figures are
## reported, not asserted. ALTER_BENCH_QUICK=1 for a short run.
bench:
	GO=$(GO) ./bench/run.sh

## lint: golangci-lint (pinned), generated code excluded
lint:
	$(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) run ./...
	@for m in $(MODULES); do (cd $$m && $(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) run ./...) || exit 1; done

## demo: start cmd/altervault-dev on a free port, run every example against it, stop it
demo:
	GO=$(GO) ./scripts/demo.sh

## conformance: the official Python SDK (conformance/requirements.txt) against cmd/altervault-dev, in a venv
conformance:
	GO=$(GO) ./conformance/run.sh

# Sotto: one binary, llama.cpp linked in through cgo.
#
#   make run     build, then start the server on the default model
#   make test    vet, staticcheck and the whole test suite
#   make llama-cpu / make build   build bin/sotto for this CPU
#
# llama.cpp and ggml come from the pinned github.com/ollama/ollama module
# (see third_party/README.md). Their headers are not on cgo's default path,
# and without -O3 and the SIMD flags ggml compiles scalar code, so every Go
# command that builds llama/ must run with the environment below: use the
# make targets, or `eval "$$(make -s env)"` in a shell first.

GO            ?= go
GOARCH_HOST   := $(shell $(GO) env GOARCH)
OLLAMA_MODULE := github.com/ollama/ollama
OLLAMA_DIR    := $(shell $(GO) mod download $(OLLAMA_MODULE) >/dev/null 2>&1; $(GO) list -m -f '{{.Dir}}' $(OLLAMA_MODULE))

ifeq ($(GOARCH_HOST),amd64)
LLAMA_CPU_FLAGS ?= -mavx2 -mfma -mf16c
else
LLAMA_CPU_FLAGS ?=
endif

export CGO_ENABLED  := 1
export CGO_CPPFLAGS := -I$(OLLAMA_DIR)/llama/llama.cpp/include -I$(OLLAMA_DIR)/ml/backend/ggml/ggml/include -DGGML_USE_CPU_REPACK
export CGO_CFLAGS   := -O3 $(LLAMA_CPU_FLAGS)
export CGO_CXXFLAGS := -O3 $(LLAMA_CPU_FLAGS)

STATICCHECK_VERSION := v0.8.2
TOOLS   := $(CURDIR)/bin/tools
BIN     := bin/sotto
TESTFLAGS ?=
# The suite's wall clock on 2 cores is dominated by the llama.cpp tests;
# keep the timeout generous but finite.
TESTTIMEOUT ?= 25m

.PHONY: all build llama-cpu run test vet staticcheck nocgo env model clean fuzz bench sdk-ts

all: build

build llama-cpu:
	@test -n "$(OLLAMA_DIR)" || { echo "cannot find $(OLLAMA_MODULE) in the module cache (go mod download failed?)"; exit 1; }
	$(GO) build -o $(BIN) ./cmd/sotto

# Release build: no local paths (-trimpath), no VCS stamp, no build id, so
# the same source, toolchain (Go, gcc) and module cache path give the same
# bytes. Dockerfile.build pins all three; docs/deployment.md says how to
# verify a release.
RELEASE_DIR   ?= bin/release
RELEASE_BIN   := sotto-linux-$(GOARCH_HOST)
RELEASE_FLAGS := -trimpath -buildvcs=false -ldflags='-s -w -buildid='

release:
	@test -n "$(OLLAMA_DIR)" || { echo "cannot find $(OLLAMA_MODULE) in the module cache (go mod download failed?)"; exit 1; }
	@mkdir -p $(RELEASE_DIR)
	$(GO) build $(RELEASE_FLAGS) -o $(RELEASE_DIR)/$(RELEASE_BIN) ./cmd/sotto
	cd $(RELEASE_DIR) && sha256sum $(RELEASE_BIN) > SHA256SUMS && cat SHA256SUMS

# Build the release twice, from copies of the tree in two different
# directories, each with an empty build cache (REPRO_SHARED_CACHE=1 reuses
# the normal cache: faster, but then llama.cpp is compiled only once), and
# compare the hashes. Needs no Docker.
reproducible:
	./build/reproducible.sh

run: build
	./scripts/run.sh

env:
	@echo 'export CGO_ENABLED=$(CGO_ENABLED)'
	@echo "export CGO_CPPFLAGS='$(CGO_CPPFLAGS)'"
	@echo "export CGO_CFLAGS='$(CGO_CFLAGS)'"
	@echo "export CGO_CXXFLAGS='$(CGO_CXXFLAGS)'"

vet:
	$(GO) vet ./...

$(TOOLS)/staticcheck:
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

staticcheck: $(TOOLS)/staticcheck
	$(TOOLS)/staticcheck ./...

# Everything but llama.cpp's binding and what links it (the binary, the
# composition root) builds, vets and unit-tests without cgo: the HTTP edge
# and the router must never need llama.cpp.
NOCGO_EXCLUDE := -e '/llama$$' -e '/cmd/sotto$$' -e '/internal/node$$'
nocgo:
	CGO_ENABLED=0 $(GO) vet $$($(GO) list ./... | grep -v $(NOCGO_EXCLUDE))
	CGO_ENABLED=0 $(GO) test $(TESTFLAGS) ./server/... ./client/... ./internal/engine ./internal/lint

# TestObserver (server) measures what a network observer learns from the
# timing of shaped streams, so it runs alone, after the rest: beside the
# other packages' tests (go test runs them in parallel) it would measure
# their CPU contention.
test: vet staticcheck nocgo
	$(GO) test -timeout $(TESTTIMEOUT) $(TESTFLAGS) -skip '^TestObserver$$' ./...
	$(GO) test -timeout $(TESTTIMEOUT) $(TESTFLAGS) -run '^TestObserver$$' ./server
	$(MAKE) sdk-ts

# The TypeScript SDK and the browser chat (sdk/ts): npm ci and npm test,
# against bin/sotto (skips without Node.js outside CI; scripts/sdk-ts-test.sh).
sdk-ts: build
	./scripts/sdk-ts-test.sh

# make soak: opt-in, not in make test. $(SOAK) (default 10 minutes) of open-loop
# load on sotto serve, a third of the clients leaving mid-stream; fails when RSS,
# goroutines, locked bytes or file descriptors grew (cmd/sotto/soak_test.go).
.PHONY: soak
SOAK ?= 10m
soak:
	SOTTO_SOAK=$(SOAK) $(GO) test -timeout 30m -run 'TestSoak$$' -count=1 -v ./cmd/sotto

# make model: download and verify the default instruct model into
# $(MODELS_DIR) (sotto model pull; see docs/models.md).
MODELS_DIR ?= models
model: build
	./$(BIN) model pull --dir $(MODELS_DIR)

clean:
	rm -rf bin

# dnsdist-ts: the two commands are `make run` and `make test`; both set up
# a fresh machine first (scripts/bootstrap.sh is idempotent).
SHELL := /bin/bash
NODE_PREFIX := $(shell node -p "path.dirname(path.dirname(process.execPath))")
export COREPACK_ENABLE_DOWNLOAD_PROMPT := 0

BPF_CFLAGS := -target bpf -O2 -g -Wall -Werror -I/usr/include/x86_64-linux-gnu
BPF_SRCS := $(shell find packages contrib test -name '*.bpf.c' -not -path '*/node_modules/*' 2>/dev/null)
BPF_OBJS := $(BPF_SRCS:.bpf.c=.bpf.o)
ADDON := packages/bpf/build/Release/dnsdist_bpf.node
ADDON_SRCS := $(wildcard packages/bpf/native/*) packages/bpf/binding.gyp
PROXY_ADDON := packages/proxy/build/Release/dnsdist_udp.node
PROXY_ADDON_SRCS := $(wildcard packages/proxy/native/*) packages/proxy/binding.gyp

.PHONY: all bootstrap build native bpf ts check lint typecheck test test-only run bench bench-bpf bench-bpf-filter bench-xdp bench-xdp-flood bench-proxy conformance clean

all: build

bootstrap:
	@scripts/bootstrap.sh

build: bootstrap native bpf ts

native: $(ADDON) $(PROXY_ADDON)
$(ADDON): $(ADDON_SRCS)
	cd packages/bpf && ./node_modules/.bin/node-gyp rebuild --nodedir="$(NODE_PREFIX)" --loglevel=warn
$(PROXY_ADDON): $(PROXY_ADDON_SRCS)
	cd packages/proxy && ./node_modules/.bin/node-gyp rebuild --nodedir="$(NODE_PREFIX)" --loglevel=warn

bpf: $(BPF_OBJS)
.SECONDEXPANSION:
# A BPF object also depends on the headers beside its source.
%.bpf.o: %.bpf.c $$(wildcard $$(dir $$*)*.h)
	clang $(BPF_CFLAGS) -c $< -o $@

ts:
	pnpm run build

typecheck:
	pnpm run typecheck

lint:
	pnpm run lint

check: typecheck lint

# REQUIRE_BPF=1 turns "BPF unavailable" skips into failures (CI sets it).
test: build check test-only

test-only:
	pnpm run test

run: build
	scripts/run-demo.sh

# dnsdist 1.7.3's own regression tests against bin/dnsdist-ts, one table row per file (not part of
# `make test`; needs ../shared beside the clone). CONFORMANCE_FILES, CONFORMANCE_BIN: see the script.
conformance: build
	scripts/conformance.sh

bench: bench-bpf bench-bpf-filter bench-xdp bench-proxy
bench-bpf: build
	pnpm run bench:bpf
bench-bpf-filter: build
	pnpm run bench:bpf-filter
bench-xdp: build
	pnpm run bench:xdp
bench-xdp-flood: build
	pnpm run bench:xdp-flood
bench-proxy: build
	pnpm run bench:proxy

clean:
	rm -rf packages/*/dist packages/*/build $(BPF_OBJS) packages/*/*.tsbuildinfo

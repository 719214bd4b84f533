# dnsdist-ts: the two commands are `make run` and `make test`; both set up
# a fresh machine first (scripts/bootstrap.sh is idempotent).
SHELL := /bin/bash
NODE_PREFIX := $(shell node -p "path.dirname(path.dirname(process.execPath))")
export COREPACK_ENABLE_DOWNLOAD_PROMPT := 0

# -Ipackages: a BPF source includes another package's header by its path there
# (contrib/xdp-filter: "bpf-filter/bpf/dnsdist-maps.h").
BPF_CFLAGS := -target bpf -O2 -g -Wall -Werror -I/usr/include/x86_64-linux-gnu -Ipackages
BPF_SRCS := $(shell find packages contrib test -name '*.bpf.c' -not -path '*/node_modules/*' 2>/dev/null)
BPF_OBJS := $(BPF_SRCS:.bpf.c=.bpf.o)
ADDON := packages/bpf/build/Release/dnsdist_bpf.node
ADDON_SRCS := $(wildcard packages/bpf/native/*) packages/bpf/binding.gyp
PROXY_ADDON := packages/dataplane/build/Release/dnsdist_udp.node
PROXY_ADDON_SRCS := $(wildcard packages/dataplane/native/*) packages/dataplane/binding.gyp

.PHONY: all bootstrap build native bpf layouts ts check lint typecheck test test-only run demo-attack pack bench bench-bpf bench-bpf-filter bench-xdp bench-xdp-flood bench-proxy conformance clean

all: build

bootstrap:
	@scripts/bootstrap.sh

build: bootstrap native bpf ts

native: $(ADDON) $(PROXY_ADDON)
$(ADDON): $(ADDON_SRCS)
	cd packages/bpf && ./node_modules/.bin/node-gyp rebuild --nodedir="$(NODE_PREFIX)" --loglevel=warn
$(PROXY_ADDON): $(PROXY_ADDON_SRCS)
	cd packages/dataplane && ./node_modules/.bin/node-gyp rebuild --nodedir="$(NODE_PREFIX)" --loglevel=warn

bpf: $(BPF_OBJS)
# clang lists the headers each object includes (-MMD, into foo.bpf.d): a change
# to any of them, beside the source or shared (dnsdist-maps.h), rebuilds it.
%.bpf.o: %.bpf.c
	clang $(BPF_CFLAGS) -MMD -MP -c $< -o $@
-include $(BPF_OBJS:.o=.d)

# The TypeScript view of packages/bpf-filter/bpf/dnsdist-maps.h, generated from
# its BTF; packages/bpf-filter/test/layouts.test.ts fails while it is stale.
layouts:
	pnpm exec tsx scripts/gen-layouts.ts

ts:
	pnpm run build

typecheck:
	pnpm run typecheck

lint:
	pnpm run lint

check: typecheck lint

# REQUIRE_BPF=1 turns skips for lack of BPF/root/native addons into failures; REQUIRE_ALL=1 does so for
# every requirement, tools included, and fails a run that skipped anything (.ci/run sets both).
test: build check test-only

# Then the proxy's end-to-end files again with two data-plane workers (scripts/test-two-workers.mjs lists the
# files that need one worker, with the reason).
test-only:
	pnpm run test
	pnpm run test:two-workers

run: build
	scripts/run-demo.sh

# dnsdist 1.7.3's own regression tests against bin/dnsdist-ts, one table row per file (not part of
# `make test`; needs ../shared beside the clone). CONFORMANCE_FILES, CONFORMANCE_BIN: see the script.
conformance: build
	scripts/conformance.sh

# Against a running `make run`: a flood above the demo's dynamic-block rate, and where the block landed.
demo-attack:
	scripts/demo-attack.sh

# npm tarballs of the CLI package and the workspace packages it depends on (docs/install.md).
PACKED := packages/dns packages/bpf packages/bpf-filter contrib/xdp-filter packages/dataplane packages/console packages/dynblocks packages/ebpf packages/web packages/integrations packages/lua packages/workers packages/proxy
pack: build
	rm -rf dist-packages && mkdir -p dist-packages
	for p in $(PACKED); do (cd $$p && pnpm pack --pack-destination $(CURDIR)/dist-packages) || exit 1; done

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
	rm -rf dist-packages packages/*/dist packages/*/build $(BPF_OBJS) $(BPF_OBJS:.o=.d) packages/*/*.tsbuildinfo

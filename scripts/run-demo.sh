#!/usr/bin/env bash
# `make run`: the demo backend in the background, the proxy in the foreground
# on conf/dnsdist.conf. Ctrl-C (or SIGTERM) stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
node packages/proxy/dist/demo/main.js 127.0.0.1:5301 &
demo=$!
trap 'kill "$demo" 2>/dev/null || true' EXIT
echo "dnsdist-ts: try  dig @127.0.0.1 -p 5300 www.example.test" >&2
bin/dnsdist-ts --supervised -C conf/dnsdist.conf "$@"

#!/usr/bin/env bash
# `make run`: the demo backend and the proxy (in front of it, on
# conf/dnsdist.conf) until Ctrl-C or SIGTERM, which stops both. The configuration
# says on one line whether blocks are enforced in the kernel (and why not).
set -euo pipefail
cd "$(dirname "$0")/.."
node packages/proxy/dist/demo/main.js 127.0.0.1:5301 &
demo=$!
proxy=
# A signal to this script (not only Ctrl-C, which reaches the whole group) stops both.
trap 'kill $demo $proxy 2>/dev/null || true' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
echo "dnsdist-ts: try  dig @127.0.0.1 -p 5300 www.example.test  (then, in another terminal, make demo-attack)" >&2
bin/dnsdist-ts --supervised -C conf/dnsdist.conf "$@" &
proxy=$!
wait "$proxy"

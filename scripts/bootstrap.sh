#!/usr/bin/env bash
# One-time (idempotent) machine set-up shared by `make run`, `make test` and
# CI: Debian packages, bpffs, pnpm through corepack, JS dependencies.
# Building the addon and BPF objects is the Makefile's job right after this.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'bootstrap: %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }

# Debian packages: installed only when missing, so a ready machine pays nothing.
# Every tool a test needs is here (test/support/requirements.ts names them, and
# test/support/require.test.ts checks this list has each one's package): under
# REQUIRE_ALL=1 (CI) a missing one fails its tests instead of skipping them.
packages=(
  clang llvm libbpf-dev bpftool pkg-config libelf-dev zlib1g-dev make python3
  iproute2 util-linux  # ip, tc, unshare: namespaces, veth pairs, the rate-limited loopback (tests)
  g++         # the libstdc++ sort replay (test) and the benchmarks' C helpers
  libssl-dev  # the benchmarks' TLS handshake client (test/bench/proxy/tls-handshake-client.c)
  dnsdist     # Debian's dnsdist 1.7.3: interop and parity peer (tests)
  dnsperf bind9-dnsutils knot-dnsutils ethtool  # dnsperf, dig, kdig (tests, benchmarks)
  nghttp2-client  # h2load: the DoH row of the proxy benchmark
  netsniff-ng     # trafgen: the attacker of the flood benchmarks (test/bench/flood)
  openssl     # certificates per TLS test run, OCSP responses, s_client (tests, generateOCSPResponse)
  xdp-tools   # xdp-loader: the XDP filter loaded the libxdp way (test)
  chromium    # headless browser for the dashboard test
  prometheus  # promtool checks /metrics and the Grafana queries (test)
  redis-server redis-tools  # fleet-wide dynamic blocks (setDynBlocksSync) against a real Redis (tests)
  systemd     # systemd-analyze verify checks packaging/systemd/dnsdist-ts.service (test)
  crowdsec    # the CrowdSec Local API and cscli: the bouncer (setCrowdSecBouncer) against a real LAPI (tests)
)
# crowdsec's post-install registers with CrowdSec's online service and fails
# offline; its README.Debian's way to skip that is a credentials file holding
# only a comment, made before the install. Tests run their own Local API.
if ! dpkg-query -W -f='${Status}' crowdsec 2>/dev/null | grep -q 'install ok installed' &&
  [ ! -s /etc/crowdsec/online_api_credentials.yaml ]; then
  as_root mkdir -p /etc/crowdsec
  echo '# no online registration: dnsdist-ts tests run their own Local API (scripts/bootstrap.sh)' |
    as_root tee /etc/crowdsec/online_api_credentials.yaml >/dev/null
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Debian starts dnsdist, prometheus, redis-server and crowdsec as services on
# install; tests start their own dnsdist, Redis and CrowdSec, and promtool is
# all we use of prometheus.
for svc in dnsdist prometheus redis-server crowdsec; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
    as_root systemctl disable --now "$svc" >/dev/null 2>&1 || true
  fi
done

# bpffs: pinned maps live there.
if ! mount | grep -q ' /sys/fs/bpf type bpf'; then
  log "mounting bpffs at /sys/fs/bpf"
  as_root mount -t bpf bpf /sys/fs/bpf || log "could not mount bpffs (BPF tests will need it)"
fi

# pnpm at the exact version (and hash) package.json pins.
export COREPACK_ENABLE_DOWNLOAD_PROMPT=0
if ! command -v pnpm >/dev/null || [ "$(pnpm --version 2>/dev/null)" != "$(node -p "require('./package.json').packageManager.split('@')[1].split('+')[0]")" ]; then
  log "enabling pnpm through corepack"
  as_root corepack enable
fi
log "pnpm $(pnpm --version)"

if [ ! -f node_modules/.modules.yaml ] || [ pnpm-lock.yaml -nt node_modules/.modules.yaml ]; then
  log "installing JS dependencies"
  pnpm install --frozen-lockfile
fi

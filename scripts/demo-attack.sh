#!/usr/bin/env bash
# `make demo-attack`: flood the demo proxy (`make run`, in another terminal)
# from a second loopback address above the shipped dynamic-block rate
# (300 queries/s over 10 s) while 127.0.0.1 sends a legitimate trickle,
# then show where the block landed: the XDP filter's drop counter,
# showDynBlocks(), the legitimate queries all answered. See docs/demo.md.
set -euo pipefail
cd "$(dirname "$0")/.."
server=127.0.0.1
port=5300
attacker=127.0.0.66
rate=1000
seconds=6
pins=/sys/fs/bpf/dnsdist-demo
name=www.example.test

# The first answer, or nothing when there is none (a timeout is an outcome here, not an error).
# (dig +short prints its ";; timed out" on stdout: left out.)
ask() { { dig @"$server" -p "$port" +short +tries=1 +timeout=1 "$@" "$name" A 2>/dev/null || true; } | sed '/^;/d' | head -1; }
console() { bin/dnsdist-ts -C conf/dnsdist.conf -c -e "$1"; }
# The XDP filter's address-drop total, or nothing when it is not attached to lo (kernel enforcement off).
xdp_drops() {
	bin/xdp-filter status --iface lo --pin-dir "$pins" --json 2>/dev/null |
		node -e 'const s = JSON.parse(require("fs").readFileSync(0, "utf8")); if (s.xdpFilter && s.totals) console.log(s.totals.DropAddress);' ||
		true
}

if [ -z "$(ask)" ]; then
	echo "demo-attack: the demo proxy does not answer on $server:$port: start it with 'make run' first" >&2
	exit 1
fi
before=$(xdp_drops)
queries=$(mktemp)
legit_out=$(mktemp)
trap 'rm -f "$queries" "$legit_out"' EXIT
echo "$name A" >"$queries"

# dnsperf's three totals, each line prefixed with who sent the queries.
totals() { sed -n "s/^ *\(Queries sent\|Queries completed\|Queries lost\): *\(.*\)/  $1: \1: \2/p"; }

echo "Flooding $server:$port from $attacker at $rate queries/s for $seconds s (the demo blocks a client above 300 queries/s over 10 s),"
echo "while you (127.0.0.1) send 20 queries/s..."
dnsperf -s "$server" -p "$port" -a 127.0.0.1 -d "$queries" -Q 20 -l "$seconds" -t 1 >"$legit_out" &
legit_pid=$!
dnsperf -s "$server" -p "$port" -a "$attacker" -d "$queries" -Q "$rate" -l "$seconds" -t 1 -q 1000 | totals attacker
wait "$legit_pid"
totals "you     " <"$legit_out"

echo
echo "showDynBlocks() (also on the dashboard, http://127.0.0.1:8083/, password dnsdist-ts-demo):"
console 'showDynBlocks()' | sed 's/^/  /'
echo
after=$(xdp_drops)
if [ -n "$after" ]; then
	echo "XDP filter on lo: $((after - ${before:-0})) of the attacker's queries dropped in the kernel, before the proxy read them"
	echo "  (bin/xdp-filter status --iface lo --pin-dir $pins; the maps: bin/xdp-filter list --pin-dir $pins)"
else
	echo "Kernel enforcement is off (the proxy's start-up line says why): the proxy dropped the attacker's queries itself"
fi
legit=$(ask)
echo "Your own queries from $server are still answered: dig @$server -p $port $name -> ${legit:-NO ANSWER}"
after_block=$(ask -b "$attacker")
echo "The attacker ($attacker) is not: dig -b $attacker -> ${after_block:-no answer (blocked for 60 s)}"

#!/usr/bin/env bash
# `make conformance`: dnsdist 1.7.3's own regression tests (PowerDNS
# regression-tests.dnsdist) against bin/dnsdist-ts, summarised per file.
#
# The tests are not part of this repository: they are run by
# ../shared/tools/dnsdist-regress.sh (beside the clone, as CI lays it out).
#
# Environment:
#   CONFORMANCE_FILES    test files to run, space-separated (default: the core set below)
#   CONFORMANCE_BIN      binary under test (default: bin/dnsdist-ts; /usr/bin/dnsdist runs the reference)
#   CONFORMANCE_REGRESS  the runner (default: ../shared/tools/dnsdist-regress.sh from the repository root)
#   CONFORMANCE_OUT      where the full log and the table are written (default: test-artifacts/conformance)
#   CONFORMANCE_WORKERS  run dnsdist-ts with --workers N (default: unset, the configuration's count);
#                        ignored for another CONFORMANCE_BIN
#   CONFORMANCE_STARTUP_DELAY  seconds the harness waits after starting the binary, instead of its fixed 2 s
#                        (scripts/regress_startup_delay.py; a loaded machine needs 4-6)
# Everything dnsdist-regress.sh reads (PYTEST_K, REGRESS_TIMEOUT, ...) is passed through.
#
# Prints a Markdown table (file | passed | failed | skipped), as docs/compatibility.md keeps it.
# Exit status: the runner's (0 only when no test failed).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

CORE_FILES="test_Basics.py test_CheckConfig.py test_Console.py test_Responses.py test_Routing.py
test_RulesActions.py test_Spoofing.py test_HealthChecks.py test_TCPLimits.py test_DynBlocks.py
test_API.py test_Prometheus.py"
FILES=${CONFORMANCE_FILES:-$CORE_FILES}
BIN=${CONFORMANCE_BIN:-bin/dnsdist-ts}
REGRESS=${CONFORMANCE_REGRESS:-../shared/tools/dnsdist-regress.sh}
OUT=${CONFORMANCE_OUT:-test-artifacts/conformance}

if [ ! -f "$REGRESS" ]; then
  echo "conformance: $REGRESS not found." >&2
  echo "conformance: the dnsdist regression runner lives in shared/tools beside this repository" >&2
  echo "conformance: (clone or copy shared/ next to the repository, or set CONFORMANCE_REGRESS=/path/to/dnsdist-regress.sh)." >&2
  exit 2
fi
if [ ! -x "$BIN" ]; then
  echo "conformance: $BIN is not an executable file (run \`make build\`, or set CONFORMANCE_BIN)." >&2
  exit 2
fi
case "$BIN" in /*) ;; *) BIN=$PWD/$BIN ;; esac
WORKERS=${CONFORMANCE_WORKERS:-}
if [ -n "$WORKERS" ] && [ "$(basename "$BIN")" = dnsdist-ts ]; then
  case "$WORKERS" in *[!0-9]* | '') echo "conformance: CONFORMANCE_WORKERS must be a number, got '$WORKERS'" >&2; exit 2 ;; esac
  # The runner starts the binary itself with dnsdist's arguments: a wrapper adds ours in front.
  WRAP_DIR=$(mktemp -d /tmp/dts-conformance.XXXXXX)
  trap 'rm -rf "$WRAP_DIR"' EXIT
  printf '#!/bin/sh\nexec %q --workers %s "$@"\n' "$BIN" "$WORKERS" > "$WRAP_DIR/dnsdist-ts"
  chmod 755 "$WRAP_DIR" "$WRAP_DIR/dnsdist-ts"
  BIN=$WRAP_DIR/dnsdist-ts
  echo "conformance: dnsdist-ts with --workers $WORKERS" >&2
fi

DELAY=${CONFORMANCE_STARTUP_DELAY:-}
if [ -n "$DELAY" ]; then
  case "$DELAY" in *[!0-9.]* | '' | .) echo "conformance: CONFORMANCE_STARTUP_DELAY must be a number of seconds, got '$DELAY'" >&2; exit 2 ;; esac
  # A pytest plugin (scripts/regress_startup_delay.py) raises the harness's wait; the runner passes PYTEST_ARGS to pytest.
  export CONFORMANCE_STARTUP_DELAY=$DELAY
  export PYTHONPATH="$PWD/scripts${PYTHONPATH:+:$PYTHONPATH}"
  export PYTEST_ARGS="${PYTEST_ARGS:+$PYTEST_ARGS }-p regress_startup_delay"
  echo "conformance: start-up wait raised to $DELAY s" >&2
fi

mkdir -p "$OUT"
LOG=$OUT/regress.log
TABLE=$OUT/table.md
# shellcheck disable=SC2206
SELECTED=($FILES)
echo "conformance: ${#SELECTED[@]} file(s) against $BIN; full log in $LOG" >&2

# REGRESS_KEEP=1: the runner keeps its directory (configs, the proxy's logs, junit.xml) for failures.
REGRESS_KEEP=${REGRESS_KEEP:-1} DNSDISTBIN=$BIN bash "$REGRESS" "${SELECTED[@]}" 2>&1 | tee "$LOG"
RC=${PIPESTATUS[0]}

# The runner prints one line per file that ran:
#   regress-file: test_Basics.py  run=18 passed=16 failed=2 skipped=0
# A requested file without such a line did not run (missing at the tag, or pytest never reached it).
{
  echo "| file | passed | failed | skipped |"
  echo "|---|---:|---:|---:|"
  awk -v files="${SELECTED[*]}" '
    /^regress-file: / {
      f = $2
      for (i = 3; i <= NF; i++) { split($i, kv, "="); v[f, kv[1]] = kv[2] }
      seen[f] = 1
    }
    END {
      n = split(files, want, " ")
      for (i = 1; i <= n; i++) {
        f = want[i]; sub(/::.*/, "", f); if (f !~ /\.py$/) f = f ".py"; if (f !~ /^test_/) f = "test_" f
        if (f in seen) {
          printf "| %s | %d | %d | %d |\n", f, v[f, "passed"], v[f, "failed"], v[f, "skipped"]
          p += v[f, "passed"]; x += v[f, "failed"]; s += v[f, "skipped"]
        } else {
          printf "| %s | – | – | – (did not run) |\n", f
        }
      }
      printf "| **total** | **%d** | **%d** | **%d** |\n", p, x, s
    }' "$LOG"
} > "$TABLE"

echo
echo "conformance: dnsdist 1.7.3 regression suite against $BIN"
cat "$TABLE"
grep '^regress: ' "$LOG" | tail -1
exit "$RC"

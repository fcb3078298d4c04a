#!/usr/bin/env bash
# The load check: does the README's test command hold on a busy machine?
#
# Starts CPU-bound burners (two by default: as many as a 2-core machine has cores), runs the
# README test command RUNS times in a row beside them, stops the burners, and reports each run.
# Exit 0 only when every run passed. Logs go to $LOG_DIR (default: a fresh temp folder).
#
#   scripts/load-check.sh              # 2 burners, 3 runs
#   BURNERS=4 RUNS=1 scripts/load-check.sh
set -u

BURNERS="${BURNERS:-2}"
RUNS="${RUNS:-3}"
PNPM="npx -y pnpm@12.21.0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOG_DIR="${LOG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/agentgate-load-check-XXXXXX")}"
mkdir -p "$LOG_DIR" || exit 2
cd "$ROOT" || exit 2

burners=()
stop_burners() {
  for pid in "${burners[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${burners[@]}"; do wait "$pid" 2>/dev/null; done
  burners=()
}
trap stop_burners EXIT
trap 'exit 130' INT TERM # the EXIT trap then stops the burners

for _ in $(seq "$BURNERS"); do
  node -e 'for (;;) {}' &
  burners+=("$!")
done
echo "load-check: ${#burners[@]} CPU burners (pids ${burners[*]}), load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime)"

results=()
failed=0
for run in $(seq "$RUNS"); do
  log="$LOG_DIR/run-$run.log"
  started=$(date +%s)
  # The README's test command. --force: turbo would otherwise replay a cached pass.
  if $PNPM install --frozen-lockfile >"$log" 2>&1 && $PNPM test --force >>"$log" 2>&1; then
    verdict="PASS"
  else
    verdict="FAIL"
    failed=$((failed + 1))
  fi
  seconds=$(($(date +%s) - started))
  # Per package "Tests  N passed (N)" from vitest, and each example's "N passed, M failed".
  summary=$(sed -E 's/\x1b\[[0-9;]*m//g' "$log" |
    grep -E "Tests +[0-9]+ (passed|failed)|[0-9]+ passed, [0-9]+ failed" |
    sed -E 's/^([^:]+):test: +(Tests +)?/\1 /; s/ \([0-9]+\)$//' | paste -sd ';' -)
  results+=("run $run: $verdict in ${seconds}s (load $(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')) [$summary] log: $log")
  echo "load-check: ${results[-1]}"
done

stop_burners
echo "load-check: summary"
printf '  %s\n' "${results[@]}"
[ "$failed" -eq 0 ] && echo "load-check: all $RUNS runs passed" || echo "load-check: $failed of $RUNS runs failed"
exit $((failed > 0))
